//! Role assignments: an account holds a role globally, in its organization, or in one of its
//! organization's teams. Each assignment is also embedded in its account (see `links`), and
//! carries the account's organization, so that an organization's admin lists them by key.

use serde_json::{Map, Value, json};

use super::attributes::{Attributes, Given, Text};
use crate::error::Result;
use crate::links;
use crate::permissions::Permission;
use crate::permissions::{BuiltInRole, Scope, ScopeKind};
use crate::records;
use crate::resource::{Field, FieldType as T, Guard, Relationship, ResourceDef};
use crate::store::schema::{ROLE_ASSIGNMENTS, ROLE_ASSIGNMENTS_BY_ROLE};
use crate::store::{Condition, Item, Query, Store, Write};

pub const RESOURCE: ResourceDef = ResourceDef {
    type_name: "role_assignments",
    path: "/role_assignments",
    table: &ROLE_ASSIGNMENTS,
    fields: &[
        Field::id(),
        Field::new("account_id", T::String).filter().holds_ids().required().required_on_create().fixed().limits(ID),
        Field::new("role_name", T::String).filter().required().required_on_create().fixed().limits(ID),
        // The organization or team the role is held in; none for a global role.
        Field::new("scope_id", T::String).filter().holds_ids().fixed().limits(ID),
        Field::new("organization_id", T::String).filter().holds_ids().read_only(),
        Field::new("created_at", T::Timestamp).filter().sort().read_only().required().in_id_order(),
    ],
    relationships: &[
        Relationship::to_one("account", "accounts", "account_id"),
        Relationship::to_one("role", "roles", "role_id"),
    ],
    guard: Guard {
        read: Permission::AccountsRead,
        write: Permission::AccountsWrite,
        organization: Some("organization_id"),
        team: None,
        owner: Some("account_id"),
        global_only: Some(is_global),
        owner_writes: false,
    },
    derive: None,
    lapses_at: None,
    counts: None,
    listed_by: &[],
    catalog: super::all,
};

fn is_global(item: &Item) -> bool {
    item.get("scope").and_then(Value::as_str) == Some("global")
}

/// What a create request asks for.
#[derive(Debug)]
pub struct Request {
    pub account_id: String,
    pub role_name: String,
    pub scope_id: Option<String>,
}

const ID: Text = Text { min: 1, max: 64, single_line: true };

pub fn parse_request(attributes: Map<String, Value>) -> Result<Request> {
    let mut a = Attributes::new(&RESOURCE, attributes);
    let account_id = a.text("account_id", ID, true);
    let role_name = a.text("role_name", ID, true);
    let scope_id = a.text("scope_id", ID, false);
    a.finish()?;
    let text = |g: Given<String>| match g {
        Given::Value(v) => Some(v),
        _ => None,
    };
    Ok(Request {
        account_id: text(account_id).unwrap_or_default(),
        role_name: text(role_name).unwrap_or_default(),
        scope_id: text(scope_id),
    })
}

/// One assignment, ready to be written.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub id: String,
    pub account_id: String,
    pub role_id: String,
    pub role_name: String,
    pub scope: ScopeKind,
    pub scope_id: Option<String>,
    /// The account's organization.
    pub organization_id: Option<String>,
}

impl Assignment {
    /// The built-in `role` for an account being created (bootstrap, fixtures).
    pub fn of_built_in(id: String, account: &Item, role: &BuiltInRole, scope_id: Option<&str>) -> Assignment {
        Assignment {
            id,
            account_id: records::id_of(account).to_string(),
            role_id: role.id.into(),
            role_name: role.name.into(),
            scope: role.scope,
            scope_id: scope_id.map(str::to_string),
            organization_id: account.get("organization_id").and_then(Value::as_str).map(str::to_string),
        }
    }

    pub fn item(&self, now: &str) -> Item {
        let mut item = json!({
            "id": self.id, "account_id": self.account_id, "role_id": self.role_id, "role_name": self.role_name,
            "scope": self.scope.name(), "created_at": now,
        });
        if let Some(s) = &self.scope_id {
            item["scope_id"] = json!(s);
        }
        if let Some(o) = &self.organization_id {
            item["organization_id"] = json!(o);
        }
        item.as_object().cloned().unwrap_or_default()
    }

    /// What the account embeds.
    pub fn entry(&self) -> Map<String, Value> {
        let mut entry =
            json!({"id": self.id, "role_id": self.role_id, "role_name": self.role_name, "scope": self.scope.name()});
        if let Some(s) = &self.scope_id {
            entry["scope_id"] = json!(s);
        }
        entry.as_object().cloned().unwrap_or_default()
    }

    /// Embeds the assignment in an account not yet written, and returns the writes of the
    /// assignment itself, for the transaction that creates the account.
    pub fn on_new_account(&self, account: &mut Item, now: &str) -> Vec<Write> {
        let mut list: Vec<Value> = links::entries(account, &links::ROLES).cloned().map(Value::Object).collect();
        list.push(Value::Object(self.entry()));
        account.insert(links::ROLES.list.into(), Value::Array(list));
        let mut item = self.item(now);
        item.insert("version".into(), json!(1));
        vec![
            (links::ROLES.unique)(&self.account_id, &self.entry()).claim(&self.id),
            Write::Put { table: &ROLE_ASSIGNMENTS, item, condition: Some(Condition::NotExists) },
        ]
    }
}

/// A stored assignment as the code reads it: who holds which role, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub id: String,
    pub account_id: String,
    pub role_id: String,
    pub role_name: String,
    pub scope: Scope,
}

impl Held {
    pub fn parse(item: &Item) -> Held {
        let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let scope_id = item.get("scope_id").and_then(Value::as_str).map(str::to_string);
        let scope = match (ScopeKind::parse(&text("scope")), scope_id) {
            (Some(ScopeKind::Organization), Some(org)) => Scope::Organization(org),
            (Some(ScopeKind::Team), Some(team)) => Scope::Team(team, text("organization_id")),
            _ => Scope::Global,
        };
        Held {
            id: text("id"),
            account_id: text("account_id"),
            role_id: text("role_id"),
            role_name: text("role_name"),
            scope,
        }
    }
}

/// Up to `limit` assignments of a role (one index query).
pub async fn holders(store: &dyn Store, role_name: &str, limit: usize) -> Result<Vec<Item>> {
    let query = Query::partition(&ROLE_ASSIGNMENTS, &ROLE_ASSIGNMENTS_BY_ROLE, role_name).with_limit(limit);
    Ok(store.query(query).await?.items)
}

/// Does anyone hold this role? (one item read at most)
pub async fn anyone_holds(store: &dyn Store, role_name: &str) -> Result<bool> {
    Ok(!holders(store, role_name, 1).await?.is_empty())
}

/// The role whose last global holder may not go.
pub const ROOT_ADMIN: &str = "root_admin";

/// Does the account (as stored) hold `root_admin` globally?
pub fn is_root_admin(account: &Item) -> bool {
    links::roles_of(account).iter().any(|e| e.role_name == ROOT_ADMIN && e.is_global())
}

/// Does the account hold any global role?
pub fn holds_global_role(account: &Item) -> bool {
    links::roles_of(account).iter().any(links::RoleEntry::is_global)
}
