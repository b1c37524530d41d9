//! Use-cases: what a request does, written once for every function that needs it. A handler
//! extracts its inputs, makes one call here, and renders what it gets; no function crate names
//! a table, an index or the store. Each change assembles everything it writes (the item, its
//! uniqueness markers, counters, links, revoked tokens) in one [`crate::records::Change`],
//! which commits it as one transaction within DynamoDB's limit.

pub mod accounts;
pub mod credentials;
pub mod dependents;
pub mod invitations;
pub mod load;
pub mod mfa;
pub mod organizations;
pub mod passwords;
pub mod people;
pub mod resources;
pub mod roles;
pub mod root_admins;
pub mod sessions;
pub mod single_use;
pub mod teams;
