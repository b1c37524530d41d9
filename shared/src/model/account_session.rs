//! Account sessions as the admin API shows them: who is logged in, from where, since when.
//! Sessions are created by the token endpoint (`auth::session`); this is their catalog.

use crate::permissions::Permission;
use crate::resource::{Field, FieldType as T, Guard, Relationship, ResourceDef};
use crate::store::schema::SESSIONS;

pub const RESOURCE: ResourceDef = ResourceDef {
    type_name: "account_sessions",
    path: "/account_sessions",
    table: &SESSIONS,
    fields: &[
        Field::id(),
        Field::new("account_id", T::String).filter().holds_ids().required().read_only(),
        // The account's organization when the session began (a move ends the sessions).
        Field::new("organization_id", T::String).filter().holds_ids().read_only(),
        Field::new("user_agent", T::String).filter().read_only(),
        Field::new("ip", T::String).filter().read_only(),
        Field::new("refresh_seq", T::Integer).filter().sort().read_only(),
        Field::new("created_at", T::Timestamp).filter().sort().read_only().required(),
        Field::new("last_used_at", T::Timestamp).filter().sort().read_only(),
        Field::new("expires_at", T::Timestamp).filter().sort().read_only().required(),
        Field::new("refresh_hash", T::String).secret(),
        Field::new("retired_hashes", T::String).secret(),
    ],
    relationships: &[Relationship::to_one("account", "accounts", "account_id")],
    guard: Guard {
        read: Permission::SessionsRead,
        write: Permission::SessionsWrite,
        organization: Some("organization_id"),
        team: None,
        owner: Some("account_id"),
        global_only: None,
        // A member sees and ends its own sessions.
        owner_writes: true,
    },
    derive: None,
    lapses_at: Some("expires_at"),
    catalog: super::all,
};
