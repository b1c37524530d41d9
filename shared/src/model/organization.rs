//! Organizations: the tenants every account, team and role assignment belongs to.

use serde_json::{Map, Value, json};

use super::attributes::{Attributes, Given, Text};
use crate::error::{Error, Problem, Result};
use crate::permissions::Permission;
use crate::records::Unique;
use crate::resource::{Field, FieldType as T, Guard, ResourceDef};
use crate::store::{Condition, Item, Store, Write, schema};

pub const RESOURCE: ResourceDef = ResourceDef {
    type_name: "organizations",
    path: "/organizations",
    table: &schema::ORGANIZATIONS,
    fields: &[
        Field::id(),
        Field::new("name", T::String).filter().sort().text().required().unique().required_on_create().limits(NAME),
        Field::new("description", T::String).limits(DESCRIPTION),
        Field::new("mfa_required", T::Boolean).filter().not_null(),
        Field::new("created_at", T::Timestamp).filter().sort().read_only().required(),
        Field::new("updated_at", T::Timestamp).filter().sort().read_only().required(),
    ],
    relationships: &[],
    guard: Guard {
        read: Permission::OrganizationsRead,
        write: Permission::OrganizationsWrite,
        organization: Some("id"),
        team: None,
        owner: None,
        global_only: None,
        owner_writes: false,
    },
    derive: Some(derive),
    lapses_at: None,
    counts: None,
    listed_by: &[],
    catalog: super::all,
};

const NAME: Text = Text { min: 1, max: 200, single_line: true };
const DESCRIPTION: Text = Text { min: 0, max: 2000, single_line: false };

/// `mfa_required` as shown: false on organizations older than the policy.
fn derive(item: &mut Item, _now: time::OffsetDateTime) {
    let required = mfa_required(item);
    item.insert("mfa_required".into(), json!(required));
}

/// Must every account of the organization log in with a second factor?
pub fn mfa_required(item: &Item) -> bool {
    item.get("mfa_required").and_then(Value::as_bool) == Some(true)
}

/// Something is being written into organization `id`: 422 unless it exists, and the check
/// that keeps it existing until the write commits.
pub async fn must_exist(store: &dyn Store, id: &str) -> Result<Write> {
    if store.get(&schema::ORGANIZATIONS, id).await?.is_none() {
        return Err(unknown_organization());
    }
    Ok(Write::Check { table: &schema::ORGANIZATIONS, id: id.to_string(), condition: Condition::Exists })
}

/// 422 on `organization_id`: it names no organization the caller can see (whether it exists
/// or is hidden is not told).
pub fn unknown_organization() -> Error {
    Error::Validation(vec![Problem::attribute(
        "organization_id",
        "unknown_organization",
        "organization_id names no organization you can see",
    )])
}

/// The values that must be unique across organizations.
pub fn uniques(item: &Item) -> Vec<Unique> {
    item.get("name")
        .and_then(Value::as_str)
        .map(|n| vec![Unique::new("organizations.name", "name", n)])
        .unwrap_or_default()
}

/// A new organization item from a create request's attributes.
pub fn create(attributes: Map<String, Value>, id: String, now: &str) -> Result<Item> {
    let mut a = Attributes::new(&RESOURCE, attributes);
    let name = a.text("name", NAME, true);
    let description = a.text("description", DESCRIPTION, false);
    let mfa_required = mfa_policy(&mut a);
    a.finish()?;
    let mut item = json!({"id": id, "created_at": now, "updated_at": now}).as_object().cloned().unwrap_or_default();
    name.write_to(&mut item, "name");
    description.write_to(&mut item, "description");
    item.insert("mfa_required".into(), json!(mfa_required == Given::Value(true)));
    Ok(item)
}

/// The organization after a partial update (only given attributes change).
pub fn update(old: &Item, attributes: Map<String, Value>, now: &str) -> Result<Item> {
    let mut a = Attributes::new(&RESOURCE, attributes);
    let name = a.text("name", NAME, false);
    if name == Given::Null {
        a.problem("name", "required", "name cannot be null");
    }
    let description = a.text("description", DESCRIPTION, false);
    let mfa_required = mfa_policy(&mut a);
    a.finish()?;
    let mut item = old.clone();
    name.write_to(&mut item, "name");
    description.write_to(&mut item, "description");
    if let Given::Value(required) = mfa_required {
        item.insert("mfa_required".into(), json!(required));
    }
    item.insert("updated_at".into(), json!(now));
    Ok(item)
}

/// `mfa_required` as given: true or false, never null.
fn mfa_policy(a: &mut Attributes) -> Given<bool> {
    let given = a.boolean("mfa_required");
    if given == Given::Null {
        a.problem("mfa_required", "required", "mfa_required cannot be null");
    }
    given
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn every_problem_of_a_create_is_reported() {
        let e =
            create(attrs(json!({"description": 5, "created_at": "x", "owner": "me"})), "1".into(), "t").unwrap_err();
        let Error::Validation(problems) = e else { panic!("{e:?}") };
        let codes: Vec<_> = problems.iter().map(|p| p.code.as_str()).collect();
        assert_eq!(codes.len(), 4, "{codes:?}");
        for code in ["read_only", "unknown_attribute", "invalid_type", "required"] {
            assert!(codes.contains(&code), "{code} missing from {codes:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        let item = create(attrs(json!({"name": "  Acme  "})), "1".into(), "t").unwrap();
        assert_eq!(item["name"], "Acme");
        assert!(create(attrs(json!({"name": "   "})), "1".into(), "t").is_err());
        assert!(create(attrs(json!({"name": "a".repeat(201)})), "1".into(), "t").is_err());
        assert!(create(attrs(json!({"name": "line\nbreak"})), "1".into(), "t").is_err());
        for bidi in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}'] {
            assert!(create(attrs(json!({"name": format!("Ac{bidi}me")})), "1".into(), "t").is_err(), "{bidi:?}");
        }
        assert!(
            create(attrs(json!({"name": "Acme \u{05D0}\u{05D1}"})), "1".into(), "t").is_ok(),
            "right-to-left text is fine"
        );
    }

    #[test]
    fn an_update_changes_only_what_it_names() {
        let old = create(attrs(json!({"name": "Acme", "description": "d"})), "1".into(), "t0").unwrap();
        let new = update(&old, attrs(json!({"description": null})), "t1").unwrap();
        assert_eq!(new["name"], "Acme");
        assert!(new.get("description").is_none());
        assert_eq!(new["updated_at"], "t1");
        assert!(update(&old, attrs(json!({"name": null})), "t1").is_err());
        assert_eq!(old["mfa_required"], false, "no second factor required unless asked");
        let strict = update(&old, attrs(json!({"mfa_required": true})), "t1").unwrap();
        assert!(mfa_required(&strict));
        assert!(update(&old, attrs(json!({"mfa_required": null})), "t1").is_err());
        assert!(update(&old, attrs(json!({"mfa_required": "yes"})), "t1").is_err());
    }

    #[test]
    fn names_are_unique_case_insensitively() {
        let a = create(attrs(json!({"name": "Acme"})), "1".into(), "t").unwrap();
        let b = create(attrs(json!({"name": "ACME"})), "2".into(), "t").unwrap();
        assert_eq!(uniques(&a)[0].marker_id(), uniques(&b)[0].marker_id());
    }
}
