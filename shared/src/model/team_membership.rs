//! Team memberships: an account in a team of its own organization. Each membership is also
//! embedded in its account (see `links`).

use serde_json::{Map, Value, json};

use super::attributes::{Attributes, Given, Text};
use crate::error::Result;
use crate::permissions::Permission;
use crate::resource::{Field, FieldType as T, Guard, Relationship, ResourceDef};
use crate::store::Item;
use crate::store::schema::TEAM_MEMBERSHIPS;

pub const RESOURCE: ResourceDef = ResourceDef {
    type_name: "team_memberships",
    path: "/team_memberships",
    table: &TEAM_MEMBERSHIPS,
    fields: &[
        Field::id(),
        Field::new("team_id", T::String).filter().holds_ids().required().required_on_create().fixed().limits(ID),
        Field::new("account_id", T::String).filter().holds_ids().required().required_on_create().fixed().limits(ID),
        Field::new("organization_id", T::String).filter().holds_ids().read_only(),
        Field::new("created_at", T::Timestamp).filter().sort().read_only().required().in_id_order(),
    ],
    relationships: &[
        Relationship::to_one("team", "teams", "team_id"),
        Relationship::to_one("account", "accounts", "account_id"),
    ],
    guard: Guard {
        read: Permission::TeamsRead,
        write: Permission::TeamsWrite,
        organization: Some("organization_id"),
        team: Some("team_id"),
        owner: Some("account_id"),
        global_only: None,
        owner_writes: false,
    },
    derive: None,
    lapses_at: None,
    counts: None,
    listed_by: &["team_id", "account_id"],
    catalog: super::all,
};

const ID: Text = Text { min: 1, max: 64, single_line: true };

/// The team and account a create request names.
pub fn parse_request(attributes: Map<String, Value>) -> Result<(String, String)> {
    let mut a = Attributes::new(&RESOURCE, attributes);
    let team = a.text("team_id", ID, true);
    let account = a.text("account_id", ID, true);
    a.finish()?;
    let text = |g: Given<String>| match g {
        Given::Value(v) => v,
        _ => String::new(),
    };
    Ok((text(team), text(account)))
}

pub fn item(id: &str, team_id: &str, account_id: &str, organization_id: &str, now: &str) -> Item {
    json!({"id": id, "team_id": team_id, "account_id": account_id, "organization_id": organization_id, "created_at": now})
        .as_object()
        .cloned()
        .unwrap_or_default()
}

/// What the account embeds.
pub fn entry(id: &str, team_id: &str) -> Map<String, Value> {
    json!({"id": id, "team_id": team_id}).as_object().cloned().unwrap_or_default()
}
