//! Authentication and authorization: password hashing, secret tokens, signed access tokens,
//! sessions with refresh rotation, single-use tokens, brute-force throttling, and the principal of a request with its permissions.

pub mod jwt;
pub mod password;
pub mod policy;
pub mod principal;
pub mod session;
pub mod single_use;
pub mod throttle;
pub mod tokens;

// The vocabulary lives below the models (their guards name permissions); it is re-exported here
// because callers think of it as part of auth.
pub use crate::permissions::{self, Permission};
pub use principal::Principal;
