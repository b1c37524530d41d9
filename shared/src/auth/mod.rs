//! Authentication and authorization: password hashing, secret tokens, signed access tokens,
//! sessions with refresh rotation, single-use tokens, brute-force throttling, and the principal of a request with its permissions.

pub mod jwt;
pub mod password;
pub mod permissions;
pub mod policy;
pub mod principal;
pub mod session;
pub mod single_use;
pub mod throttle;
pub mod tokens;

pub use permissions::Permission;
pub use principal::Principal;
