//! The resources: their catalogs, validation of their attributes and their stored items.

pub mod account;
pub mod account_session;
pub mod attributes;
pub mod organization;
pub mod password;
pub mod person;
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
        &person::RESOURCE,
    ]
}

/// The catalogs' `Input` (which the OpenAPI document publishes) against what the validators
/// do: a drift between the two is a contract that lies.
#[cfg(test)]
mod input_contract {
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::error::{Error, Result, Source};
    use crate::resource::Field;

    const NOW: &str = "2026-12-03T10:00:00Z";
    const ORG: &str = "0190a0b0-0000-7000-8000-000000000001";

    type Create = fn(Map<String, Value>) -> Result<()>;

    /// Each resource that can be created: its validator, and the least a valid create sends.
    fn creates() -> Vec<(&'static ResourceDef, Create, Value)> {
        vec![
            (&organization::RESOURCE, |m| organization::create(m, "1".into(), NOW).map(drop), json!({"name": "A"})),
            (
                &account::RESOURCE,
                |m| account::create(m, "1".into(), NOW, Some(ORG)).map(drop),
                json!({"email": "ann@example.com"}),
            ),
            (
                &role::RESOURCE,
                |m| role::create(m, "1".into(), NOW).map(drop),
                json!({"name": "r", "scope": "global", "permissions": []}),
            ),
            (&team::RESOURCE, |m| team::create(m, "1".into(), NOW, Some(ORG)).map(drop), json!({"name": "T"})),
            (&person::RESOURCE, |m| person::create(m, "1".into(), NOW, Some(ORG)).map(drop), json!({"name": "P"})),
            (
                &role_assignment::RESOURCE,
                |m| role_assignment::parse_request(m).map(drop),
                json!({"account_id": ORG, "role_name": "r"}),
            ),
            (
                &team_membership::RESOURCE,
                |m| team_membership::parse_request(m).map(drop),
                json!({"team_id": ORG, "account_id": ORG}),
            ),
        ]
    }

    type Update = fn(&crate::store::Item, Map<String, Value>) -> Result<()>;

    fn updates() -> Vec<(&'static ResourceDef, Update)> {
        vec![
            (&organization::RESOURCE, |old, m| organization::update(old, m, NOW).map(drop)),
            (&account::RESOURCE, |old, m| account::update(old, m, NOW).map(drop)),
            (&role::RESOURCE, |old, m| role::update(old, m, NOW).map(drop)),
            (&team::RESOURCE, |old, m| team::update(old, m, NOW).map(drop)),
            (&person::RESOURCE, |old, m| person::update(old, m, NOW).map(drop)),
        ]
    }

    fn object(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    /// The attributes a refusal names (none when accepted).
    fn named(result: Result<()>) -> Vec<String> {
        match result {
            Ok(()) => vec![],
            Err(Error::Validation(problems)) => problems
                .into_iter()
                .filter_map(|p| match p.source {
                    Some(Source::Pointer(ptr)) => ptr.strip_prefix("/data/attributes/").map(str::to_string),
                    _ => None,
                })
                .collect(),
            Err(other) => panic!("not a validation error: {other:?}"),
        }
    }

    fn writable(def: &ResourceDef) -> impl Iterator<Item = &Field> {
        def.fields.iter().filter(|f| f.writable())
    }

    #[test]
    fn a_create_with_nothing_names_exactly_the_required_attributes() {
        for (def, create, minimal) in creates() {
            let mut names = named(create(Map::new()));
            names.sort();
            let mut required: Vec<String> =
                writable(def).filter(|f| f.input.required).map(|f| f.name.to_string()).collect();
            required.sort();
            assert_eq!(names, required, "{}", def.type_name);
            assert_eq!(named(create(object(minimal))), Vec::<String>::new(), "{}: the least create", def.type_name);
        }
    }

    #[test]
    fn a_value_outside_an_enumeration_or_past_a_length_is_refused() {
        for (def, create, minimal) in creates() {
            for f in writable(def) {
                let mut bad = Vec::new();
                if !f.input.values.is_empty() {
                    bad.push(if f.input.list { json!(["~none~"]) } else { json!("~none~") });
                }
                if let Some(limits) = f.input.limits {
                    bad.push(json!("x".repeat(limits.max + 1)));
                    if limits.min > 0 {
                        bad.push(json!(" ".repeat(limits.min)));
                    }
                }
                for value in bad {
                    let mut attributes = object(minimal.clone());
                    attributes.insert(f.name.into(), value.clone());
                    assert!(
                        named(create(attributes)).contains(&f.name.to_string()),
                        "{}.{} = {value}",
                        def.type_name,
                        f.name
                    );
                }
            }
        }
    }

    #[test]
    fn null_and_changes_of_fixed_attributes_are_refused_where_the_catalog_says() {
        for (def, update) in updates() {
            let (_, _, minimal) = creates().into_iter().find(|(d, ..)| d.type_name == def.type_name).unwrap();
            let mut old = object(minimal);
            old.insert("id".into(), json!("1"));
            old.insert("organization_id".into(), json!(ORG));
            for f in writable(def).filter(|f| !f.input.write_only) {
                let refused = named(update(&old, object(json!({f.name: null})))).contains(&f.name.to_string());
                assert_eq!(refused, !f.input.nullable, "{}.{}: null", def.type_name, f.name);
                if f.input.fixed {
                    let moved = object(json!({f.name: "0190a0b0-0000-7000-8000-000000000002"}));
                    assert!(named(update(&old, moved)).contains(&f.name.to_string()), "{}.{}", def.type_name, f.name);
                }
            }
        }
    }
}
