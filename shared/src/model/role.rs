//! Roles: named sets of permissions held at a scope (global, an organization or a team). The
//! built-in roles of API.md §4 are items like any other, written at the first start, and
//! immutable; custom roles are the operators' own.

use serde_json::{Map, Value, json};

use super::attributes::{Attributes, Given, Text};
use crate::error::{Error, Result};
use crate::permissions::Permission;
use crate::permissions::{BUILT_IN_ROLES, ScopeKind, parse_all};
use crate::records::{self, Unique};
use crate::resource::{Field, FieldType as T, Guard, ResourceDef};
use crate::store::{Item, Store, schema};

pub const RESOURCE: ResourceDef = ResourceDef {
    type_name: "roles",
    path: "/roles",
    table: &schema::ROLES,
    fields: &[
        Field::id(),
        Field::new("name", T::String).filter().sort().text().required().unique().required_on_create().limits(NAME),
        Field::new("scope", T::String).filter().required_on_create().one_of(ScopeKind::NAMES),
        Field::new("permissions", T::String).required_on_create().one_of(&Permission::NAMES).list(),
        Field::new("description", T::String).text().limits(DESCRIPTION),
        Field::new("built_in", T::Boolean).filter().read_only(),
        Field::new("created_at", T::Timestamp).filter().sort().read_only().required(),
        Field::new("updated_at", T::Timestamp).filter().sort().read_only().required(),
    ],
    relationships: &[],
    guard: Guard {
        read: Permission::RolesRead,
        write: Permission::RolesWrite,
        organization: None,
        team: None,
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

const NAME: Text = Text { min: 1, max: 64, single_line: true };
const DESCRIPTION: Text = Text { min: 0, max: 2000, single_line: false };

/// Role names appear in filters and assignments: letters, digits and `_ . : -`.
fn is_role_name(name: &str) -> bool {
    name.chars().all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
}

pub fn unique_name(name: &str) -> Unique {
    Unique::new("roles.name", "name", name)
}

pub fn uniques(item: &Item) -> Vec<Unique> {
    item.get("name").and_then(Value::as_str).map(|n| vec![unique_name(n)]).unwrap_or_default()
}

/// A stored role as the code reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: String,
    pub name: String,
    /// Where it may be held; `None` only on a corrupt item.
    pub scope: Option<ScopeKind>,
    /// The known permissions it lists (names we no longer know are skipped).
    pub permissions: Vec<Permission>,
    /// One of API.md's built-in roles, which never change.
    pub built_in: bool,
}

impl Role {
    pub fn parse(item: &Item) -> Role {
        Role {
            id: records::id_of(item).to_string(),
            name: item.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
            scope: item.get("scope").and_then(Value::as_str).and_then(ScopeKind::parse),
            permissions: parse_all(item.get("permissions").unwrap_or(&Value::Null)),
            built_in: item.get("built_in").and_then(Value::as_bool) == Some(true),
        }
    }
}

/// Reads `permissions` as a list of known permission names the scope allows (deduplicated).
fn permissions(a: &mut Attributes, map: &Map<String, Value>, scope: Option<ScopeKind>, required: bool) -> Given<Value> {
    let Some(raw) = map.get("permissions") else {
        if required {
            a.problem("permissions", "required", "permissions is required (a list, possibly empty)");
        }
        return Given::Absent;
    };
    let Some(list) = raw.as_array() else {
        a.problem("permissions", "invalid_type", "permissions must be a list of permission names");
        return Given::Absent;
    };
    let mut names: Vec<&str> = Vec::new();
    for v in list {
        match v.as_str().and_then(Permission::parse) {
            Some(p) if scope.is_none_or(|s| s.allows(p)) => names.push(p.name()),
            Some(p) => a.problem(
                "permissions",
                "not_at_scope",
                format!("{} cannot be granted at {} scope", p.name(), scope.map_or("this", |s| s.name())),
            ),
            None => {
                let all: Vec<&str> = Permission::ALL.iter().map(|p| p.name()).collect();
                a.problem("permissions", "invalid_permission", format!("{v} is not one of {}", all.join(", ")));
            }
        }
    }
    names.sort();
    names.dedup();
    Given::Value(json!(names))
}

fn name(a: &mut Attributes, required: bool) -> Given<String> {
    let given = a.text("name", NAME, required);
    if given == Given::Null {
        a.problem("name", "required", "name cannot be null");
    }
    if let Given::Value(n) = &given
        && !is_role_name(n)
    {
        a.problem("name", "invalid_name", "name may hold letters, digits and _ . : - only");
    }
    given
}

/// A new custom role from a create request's attributes.
pub fn create(attributes: Map<String, Value>, id: String, now: &str) -> Result<Item> {
    let map = attributes.clone();
    let mut a = Attributes::new(&RESOURCE, attributes);
    let name = name(&mut a, true);
    let scope = a.one_of("scope", ScopeKind::NAMES);
    if !matches!(scope, Given::Value(_)) {
        a.problem("scope", "required", "scope is required: global, organization or team");
    }
    let kind = match &scope {
        Given::Value(s) => ScopeKind::parse(s),
        _ => None,
    };
    let permissions = permissions(&mut a, &map, kind, true);
    let description = a.text("description", DESCRIPTION, false);
    a.finish()?;
    let item = json!({"id": id, "built_in": false, "created_at": now, "updated_at": now});
    let mut item = item.as_object().cloned().unwrap_or_default();
    name.write_to(&mut item, "name");
    scope.write_to(&mut item, "scope");
    permissions.write_to(&mut item, "permissions");
    description.write_to(&mut item, "description");
    Ok(item)
}

/// The role after a partial update.
pub fn update(old: &Item, attributes: Map<String, Value>, now: &str) -> Result<Item> {
    let map = attributes.clone();
    let mut a = Attributes::new(&RESOURCE, attributes);
    let name = name(&mut a, false);
    let scope = a.one_of("scope", ScopeKind::NAMES);
    if scope == Given::Null {
        a.problem("scope", "required", "scope cannot be null");
    }
    let kind = match &scope {
        Given::Value(s) => ScopeKind::parse(s),
        _ => Role::parse(old).scope,
    };
    let mut permissions = permissions(&mut a, &map, kind, false);
    if permissions == Given::Absent && matches!(scope, Given::Value(_)) {
        // A new scope must still allow every permission the role carries.
        let current = json!(Role::parse(old).permissions.iter().map(|p| p.name()).collect::<Vec<_>>());
        let mut check = map.clone();
        check.insert("permissions".into(), current);
        permissions = self::permissions(&mut a, &check, kind, false);
    }
    let description = a.text("description", DESCRIPTION, false);
    a.finish()?;
    let mut item = old.clone();
    name.write_to(&mut item, "name");
    scope.write_to(&mut item, "scope");
    permissions.write_to(&mut item, "permissions");
    description.write_to(&mut item, "description");
    item.insert("updated_at".into(), json!(now));
    Ok(item)
}

/// The role named `name` (through its uniqueness marker: a strongly consistent read).
pub async fn find_by_name(store: &dyn Store, name: &str) -> Result<Option<Item>> {
    match records::owner_of(store, &unique_name(name)).await? {
        Some(id) => Ok(store.get(&schema::ROLES, &id).await?),
        None => Ok(None),
    }
}

/// Writes the built-in roles that are missing (all of them at the first start), and rewrites
/// those stored by an older build whose permissions or description changed since (`org_admin`
/// gained `people:*`): grants are read from the code, so the stored copy only shows them, and
/// must not show less than is granted. Idempotent.
pub async fn ensure_built_in(store: &dyn Store, now: &str) -> Result<usize> {
    let ids: Vec<String> = BUILT_IN_ROLES.iter().map(|r| r.id.to_string()).collect();
    let present = store.batch_get(&schema::ROLES, &ids).await?;
    let mut written = 0;
    for role in BUILT_IN_ROLES {
        let permissions: Vec<&str> = role.permissions.iter().map(|p| p.name()).collect();
        let stored = present.iter().find(|p| records::id_of(p) == role.id);
        let result = match stored {
            None => {
                let item = json!({
                    "id": role.id, "name": role.name, "scope": role.scope.name(), "permissions": permissions,
                    "description": role.description, "built_in": true, "created_at": now, "updated_at": now,
                });
                let item = item.as_object().cloned().unwrap_or_default();
                records::insert(store, &schema::ROLES, item, &[unique_name(role.name)], vec![]).await
            }
            Some(old)
                if old.get("permissions") != Some(&json!(permissions))
                    || old.get("description") != Some(&json!(role.description)) =>
            {
                let mut new = old.clone();
                new.insert("permissions".into(), json!(permissions));
                new.insert("description".into(), json!(role.description));
                new.insert("updated_at".into(), json!(now));
                records::replace(store, &schema::ROLES, old, new, &[], &[]).await
            }
            Some(_) => continue,
        };
        match result {
            Ok(_) => written += 1,
            // Another process wrote it meanwhile.
            Err(Error::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn a_custom_role_lists_known_permissions_its_scope_allows() {
        let role = create(
            attrs(
                json!({"name": "auditor", "scope": "organization", "permissions": ["accounts:read", "accounts:read"]}),
            ),
            "1".into(),
            "t",
        )
        .unwrap();
        assert_eq!(role["permissions"], json!(["accounts:read"]));
        assert_eq!(role["built_in"], json!(false));
        let e = create(
            attrs(json!({"name": "x y", "scope": "team", "permissions": ["accounts:read", "nope"], "built_in": true})),
            "1".into(),
            "t",
        )
        .unwrap_err();
        let Error::Validation(problems) = e else { panic!() };
        let codes: Vec<_> = problems.iter().map(|p| p.code.as_str()).collect();
        for code in ["invalid_name", "not_at_scope", "invalid_permission", "read_only"] {
            assert!(codes.contains(&code), "{code} missing from {codes:?}");
        }
    }

    #[test]
    fn narrowing_a_scope_must_still_allow_the_roles_permissions() {
        let role = create(
            attrs(json!({"name": "lead", "scope": "organization", "permissions": ["accounts:read"]})),
            "1".into(),
            "t",
        )
        .unwrap();
        assert!(update(&role, attrs(json!({"scope": "team"})), "t2").is_err());
        let ok = update(&role, attrs(json!({"scope": "team", "permissions": ["teams:write"]})), "t2").unwrap();
        assert_eq!(ok["scope"], "team");
    }
}
