//! The resources: their catalogs, validation of their attributes and their stored items.

pub mod account;
pub mod account_session;
pub mod attributes;
pub mod organization;
pub mod role;
pub mod role_assignment;
pub mod team;
pub mod team_membership;

/// A new time-ordered id (UUIDv7): ids sort in creation order, which is the default order.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
