//! Account sessions as the admin API shows them: who is logged in, from where, since when.
//! Sessions are created by the token endpoint (`auth::session`); this is their catalog.

use serde_json::Value;
use time::OffsetDateTime;

use crate::clock;
use crate::permissions::Permission;
use crate::resource::{Field, FieldType as T, Guard, Relationship, ResourceDef};
use crate::store::Item;
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
        Field::new("created_at", T::Timestamp).filter().sort().read_only().required().in_id_order(),
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
    counts: None,
    listed_by: &[],
    catalog: super::all,
};

/// A stored session as the code reads it. Its refresh-token hashes stand for secrets: `Debug`
/// leaves them out.
#[derive(Clone)]
pub struct Session {
    pub id: String,
    pub account_id: String,
    pub expires_at: Option<OffsetDateTime>,
    /// The hash of the refresh token that works now.
    pub refresh_hash: String,
    /// The hashes of the tokens rotated away from, oldest first (reuse detection).
    pub retired_hashes: Vec<String>,
    pub refresh_seq: i64,
}

impl Session {
    pub fn parse(item: &Item) -> Session {
        let text = |name: &str| item.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
        Session {
            id: text("id"),
            account_id: text("account_id"),
            expires_at: item.get("expires_at").and_then(Value::as_str).and_then(clock::parse),
            refresh_hash: text("refresh_hash"),
            retired_hashes: item
                .get("retired_hashes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            refresh_seq: item.get("refresh_seq").and_then(Value::as_i64).unwrap_or(0),
        }
    }

    /// May `account_id` use the session now?
    pub fn is_live(&self, account_id: &str, now: OffsetDateTime) -> bool {
        self.account_id == account_id && self.expires_at.is_some_and(|at| at > now)
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("expires_at", &self.expires_at)
            .field("refresh_seq", &self.refresh_seq)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_session_is_live_for_its_account_until_it_expires_and_prints_no_token_hash() {
        let item = json!({"id": "s", "account_id": "a", "expires_at": "2026-11-23T10:00:00Z",
            "refresh_hash": "h-now", "retired_hashes": ["h-0", "h-1"], "refresh_seq": 2});
        let session = Session::parse(item.as_object().unwrap());
        let before = clock::parse("2026-11-23T09:59:59Z").unwrap();
        assert!(session.is_live("a", before));
        assert!(!session.is_live("b", before), "another account's token");
        assert!(!session.is_live("a", before + time::Duration::seconds(1)), "lapsed at expires_at");
        assert_eq!(session.retired_hashes, ["h-0", "h-1"]);
        let printed = format!("{session:?}");
        assert!(!printed.contains("h-now") && !printed.contains("h-0"), "{printed}");
    }
}
