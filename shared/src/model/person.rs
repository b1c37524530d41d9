//! People: the human behind one or more accounts (a password account and an SSO account of one
//! employee), within one organization. Accounts point at their person (`person_id`); a person
//! counts its accounts so that it cannot be deleted while one still points at it.

use serde_json::{Map, Value, json};

use super::account::Email;
use super::attributes::{Attributes, Given, Text};
use crate::error::{Error, Problem, Result};
use crate::permissions::Permission;
use crate::records::Unique;
use crate::resource::{Field, FieldType as T, Guard, Relationship, ResourceDef, Source};
use crate::store::schema::{ACCOUNTS, ACCOUNTS_BY_PERSON, PEOPLE};
use crate::store::{Condition, Item, Store, Write};

pub const RESOURCE: ResourceDef = ResourceDef {
    type_name: "people",
    path: "/people",
    table: &PEOPLE,
    fields: &[
        Field::id(),
        Field::new("name", T::String).filter().sort().text().required().required_on_create().limits(NAME),
        Field::new("first_name", T::String).limits(PART_NAME),
        Field::new("last_name", T::String).limits(PART_NAME),
        Field::new("email", T::String).filter().limits(EMAIL).format("email"),
        Field::new("external_id", T::String).filter().unique().limits(EXTERNAL_ID),
        Field::new("state", T::String).filter().one_of(STATES).not_null(),
        // Defaults to the caller's organization; a person stays in it (its accounts are there).
        Field::new("organization_id", T::String).filter().holds_ids().fixed().not_null().limits(ID),
        Field::new("created_at", T::Timestamp).filter().sort().read_only().required().in_id_order(),
        Field::new("updated_at", T::Timestamp).filter().read_only().required(),
    ],
    relationships: &[
        Relationship::to_one("organization", "organizations", "organization_id"),
        Relationship {
            name: "accounts",
            target: "accounts",
            source: Source::Linked { table: &ACCOUNTS, index: &ACCOUNTS_BY_PERSON, key: "id" },
            along: &[],
        },
    ],
    guard: Guard {
        read: Permission::PeopleRead,
        write: Permission::PeopleWrite,
        organization: Some("organization_id"),
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

const NAME: Text = Text { min: 1, max: 200, single_line: true };
const PART_NAME: Text = Text { min: 0, max: 100, single_line: true };
const EMAIL: Text = Text { min: 3, max: 254, single_line: true };
const EXTERNAL_ID: Text = Text { min: 1, max: 256, single_line: true };
const ID: Text = Text { min: 1, max: 64, single_line: true };
const STATES: &[&str] = &["active", "inactive"];

/// External ids (an HR number) are unique across the service, case-insensitively, as an
/// account's are.
pub fn uniques(item: &Item) -> Vec<Unique> {
    item.get("external_id")
        .and_then(Value::as_str)
        .map(|v| vec![Unique::new("people.external_id", "external_id", v)])
        .unwrap_or_default()
}

/// A stored person as the code reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    /// Every person has one (a create requires it); `None` only on a corrupt item.
    pub organization_id: Option<String>,
}

impl Person {
    pub fn parse(item: &Item) -> Person {
        let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
        Person { id: text("id").unwrap_or_default(), organization_id: text("organization_id") }
    }
}

/// The attributes a create and an update share.
fn apply(a: &mut Attributes, item: &mut Item, creating: bool) {
    let name = a.text("name", NAME, creating);
    if name == Given::Null {
        a.problem("name", "required", "name cannot be null");
    }
    name.write_to(item, "name");
    for (field, limits) in [("first_name", PART_NAME), ("last_name", PART_NAME), ("external_id", EXTERNAL_ID)] {
        a.text(field, limits, false).write_to(item, field);
    }
    match a.text("email", EMAIL, false) {
        Given::Value(raw) => match Email::accept(&raw) {
            Some(e) => {
                item.insert("email".into(), json!(e.as_str()));
            }
            None => a.problem("email", "invalid_email", "email must be one address like ann@example.com"),
        },
        other => other.write_to(item, "email"),
    }
    let state = a.one_of("state", STATES);
    if state == Given::Null {
        a.problem("state", "required", "state cannot be null");
    }
    state.write_to(item, "state");
}

/// A new person; `organization_id` defaults to the caller's organization.
pub fn create(attributes: Map<String, Value>, id: String, now: &str, default_org: Option<&str>) -> Result<Item> {
    let mut a = Attributes::new(&RESOURCE, attributes);
    let org = a.organization_on_create(ID, default_org);
    let item = json!({"id": id, "organization_id": org, "state": "active", "created_at": now, "updated_at": now});
    let mut item = item.as_object().cloned().unwrap_or_default();
    apply(&mut a, &mut item, true);
    a.finish()?;
    Ok(item)
}

/// The person after a partial update; a person stays in its organization.
pub fn update(old: &Item, attributes: Map<String, Value>, now: &str) -> Result<Item> {
    let mut a = Attributes::new(&RESOURCE, attributes);
    a.organization_kept(ID, Person::parse(old).organization_id.as_deref(), "a person");
    let mut item = old.clone();
    apply(&mut a, &mut item, false);
    a.finish()?;
    item.insert("updated_at".into(), json!(now));
    Ok(item)
}

/// 422 on `person_id`: it names no person the caller can see.
pub fn unknown_person() -> Error {
    Error::Validation(vec![Problem::attribute("person_id", "unknown_person", "person_id names no person you can see")])
}

/// 422 on `person_id`: the person is in another organization than the account.
pub fn organization_mismatch() -> Error {
    Error::Validation(vec![Problem::attribute(
        "person_id",
        "person_organization_mismatch",
        "the account and the person are in different organizations; uncorrelate the account (person_id null) first",
    )])
}

/// The check, joining a write that correlates an account with person `id`, that the person
/// still exists when the write commits.
pub fn still_exists(id: &str) -> Write {
    Write::Check { table: &PEOPLE, id: id.to_string(), condition: Condition::Exists }
}

/// The person `id`, if stored.
pub async fn find(store: &dyn Store, id: &str) -> Result<Option<Item>> {
    Ok(store.get(&PEOPLE, id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn codes(e: Error) -> Vec<String> {
        let Error::Validation(problems) = e else { panic!("{e:?}") };
        problems.into_iter().map(|p| p.code).collect()
    }

    #[test]
    fn a_create_reports_every_problem() {
        let e = create(
            attrs(json!({"email": "not-an-email", "state": "gone", "created_at": "x", "x": 1})),
            "1".into(),
            "t",
            None,
        )
        .unwrap_err();
        let mut codes = codes(e);
        codes.sort();
        assert_eq!(codes, ["invalid_email", "invalid_value", "read_only", "required", "required", "unknown_attribute"]);
    }

    #[test]
    fn a_person_is_active_in_the_callers_organization_unless_told() {
        let p = create(attrs(json!({"name": " Ann Lee "})), "1".into(), "t", Some("org")).unwrap();
        assert_eq!(
            (p["name"].as_str(), p["state"].as_str(), p["organization_id"].as_str()),
            (Some("Ann Lee"), Some("active"), Some("org"))
        );
        let p = create(
            attrs(json!({"name": "Ann", "organization_id": "o2", "state": "inactive"})),
            "1".into(),
            "t",
            Some("org"),
        )
        .unwrap();
        assert_eq!((p["state"].as_str(), p["organization_id"].as_str()), (Some("inactive"), Some("o2")));
    }

    #[test]
    fn an_update_changes_what_it_names_and_never_the_organization() {
        let old = create(
            attrs(json!({"name": "Ann", "email": "ann@x.io", "external_id": "E1"})),
            "1".into(),
            "t0",
            Some("o"),
        )
        .unwrap();
        let new = update(&old, attrs(json!({"email": null, "state": "inactive"})), "t1").unwrap();
        assert_eq!(
            (new["name"].as_str(), new.get("email"), new["state"].as_str()),
            (Some("Ann"), None, Some("inactive"))
        );
        assert_eq!(codes(update(&old, attrs(json!({"organization_id": "o2"})), "t1").unwrap_err()), ["not_updatable"]);
        assert!(update(&old, attrs(json!({"organization_id": "o"})), "t1").is_ok(), "the same organization is no move");
        assert_eq!(
            codes(update(&old, attrs(json!({"name": null, "state": null})), "t1").unwrap_err()),
            ["required", "required"]
        );
    }

    #[test]
    fn external_ids_are_unique_case_insensitively() {
        let a = create(attrs(json!({"name": "A", "external_id": "HR-1"})), "1".into(), "t", Some("o")).unwrap();
        let b = create(attrs(json!({"name": "B", "external_id": "hr-1"})), "2".into(), "t", Some("o")).unwrap();
        assert_eq!(uniques(&a)[0].marker_id(), uniques(&b)[0].marker_id());
        let c = create(attrs(json!({"name": "C"})), "3".into(), "t", Some("o")).unwrap();
        assert!(uniques(&c).is_empty());
    }
}
