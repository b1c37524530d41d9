//! Authentication and authorization: password hashing, secret tokens, signed access tokens,
//! sessions with refresh rotation, single-use tokens, brute-force throttling, second factors
//! (TOTP and the key its secrets are sealed under), and the principal of a request with its
//! permissions.

pub mod factor_key;
pub mod jwt;
pub mod password;
pub mod policy;
pub mod principal;
pub mod session;
pub mod single_use;
pub mod throttle;
pub mod tokens;
pub mod totp;

// The vocabulary lives below the models (their guards name permissions); it is re-exported here
// because callers think of it as part of auth.
pub use crate::permissions::{self, Permission};
pub use principal::Principal;
