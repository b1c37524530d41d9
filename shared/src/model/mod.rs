//! The resources: their catalogs, validation of their attributes and their stored items.

pub mod account;
pub mod account_session;
pub mod attributes;
pub mod organization;
pub mod password;
pub mod role;
pub mod role_assignment;
pub mod team;
pub mod team_membership;

// Ids are below the query engine, which checks filter values against them; models use them
// most, so they are at hand here too.
pub use crate::ids::{is_id, new_id};
use crate::resource::ResourceDef;

/// Every resource type the API serves (for `fields[TYPE]` and `include`).
pub fn all() -> &'static [&'static ResourceDef] {
    &[
        &organization::RESOURCE,
        &account::RESOURCE,
        &account_session::RESOURCE,
        &role::RESOURCE,
        &role_assignment::RESOURCE,
        &team::RESOURCE,
        &team_membership::RESOURCE,
    ]
}
