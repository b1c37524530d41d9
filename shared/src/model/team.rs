//! Teams: named groups of accounts within one organization.

use serde_json::{Map, Value, json};

use super::attributes::{Attributes, Given, Text};
use crate::error::Result;
use crate::permissions::Permission;
use crate::records::Unique;
use crate::resource::{Field, FieldType as T, Guard, Relationship, ResourceDef, Source};
use crate::store::Item;
use crate::store::schema::{TEAM_MEMBERSHIPS, TEAM_MEMBERSHIPS_BY_TEAM, TEAMS};

pub const RESOURCE: ResourceDef = ResourceDef {
    type_name: "teams",
    path: "/teams",
    table: &TEAMS,
    fields: &[
        Field::id(),
        Field::new("name", T::String).filter().sort().text().required().required_on_create().limits(NAME),
        Field::new("description", T::String).limits(DESCRIPTION),
        // Defaults to the caller's organization.
        Field::new("organization_id", T::String).filter().holds_ids().fixed().not_null().limits(ID),
        Field::new("created_at", T::Timestamp).filter().sort().read_only().required(),
        Field::new("updated_at", T::Timestamp).filter().sort().read_only().required(),
    ],
    relationships: &[
        Relationship::to_one("organization", "organizations", "organization_id"),
        Relationship {
            name: "accounts",
            target: "accounts",
            source: Source::Linked { table: &TEAM_MEMBERSHIPS, index: &TEAM_MEMBERSHIPS_BY_TEAM, key: "account_id" },
            along: &[],
        },
    ],
    guard: Guard {
        read: Permission::TeamsRead,
        write: Permission::TeamsWrite,
        organization: Some("organization_id"),
        team: Some("id"),
        owner: None,
        global_only: None,
        owner_writes: false,
    },
    derive: None,
    lapses_at: None,
    counts: None,
    listed_by: &[],
    catalog: super::all,
};

const NAME: Text = Text { min: 1, max: 200, single_line: true };
const DESCRIPTION: Text = Text { min: 0, max: 2000, single_line: false };
const ID: Text = Text { min: 1, max: 64, single_line: true };

/// Team names are unique within their organization (case-insensitively).
pub fn uniques(item: &Item) -> Vec<Unique> {
    let text = |k: &str| item.get(k).and_then(Value::as_str);
    match (text("organization_id"), text("name")) {
        (Some(org), Some(name)) => vec![Unique::new("teams.name", "name", &format!("{org}|{name}"))],
        _ => vec![],
    }
}

/// A stored team as the code reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: String,
    /// Every team has one (a create requires it); `None` only on a corrupt item.
    pub organization_id: Option<String>,
}

impl Team {
    pub fn parse(item: &Item) -> Team {
        let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let organization_id = item.get("organization_id").and_then(Value::as_str).map(str::to_string);
        Team { id: text("id"), organization_id }
    }
}

/// A new team; `organization_id` defaults to the caller's organization.
pub fn create(attributes: Map<String, Value>, id: String, now: &str, default_org: Option<&str>) -> Result<Item> {
    let mut a = Attributes::new(&RESOURCE, attributes);
    let name = a.text("name", NAME, true);
    let description = a.text("description", DESCRIPTION, false);
    let org = a.organization_on_create(ID, default_org);
    a.finish()?;
    let item = json!({"id": id, "organization_id": org, "created_at": now, "updated_at": now});
    let mut item = item.as_object().cloned().unwrap_or_default();
    name.write_to(&mut item, "name");
    description.write_to(&mut item, "description");
    Ok(item)
}

/// The team after a partial update; a team stays in its organization.
pub fn update(old: &Item, attributes: Map<String, Value>, now: &str) -> Result<Item> {
    let mut a = Attributes::new(&RESOURCE, attributes);
    a.organization_kept(ID, Team::parse(old).organization_id.as_deref(), "a team");
    let name = a.text("name", NAME, false);
    if name == Given::Null {
        a.problem("name", "required", "name cannot be null");
    }
    let description = a.text("description", DESCRIPTION, false);
    a.finish()?;
    let mut item = old.clone();
    name.write_to(&mut item, "name");
    description.write_to(&mut item, "description");
    item.insert("updated_at".into(), json!(now));
    Ok(item)
}
