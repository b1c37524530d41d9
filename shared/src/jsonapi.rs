//! JSON:API documents: rendering resource objects from items through their catalog (secrets
//! never rendered, sparse fieldsets applied), and decoding create/update request documents.

use serde_json::{Map, Value, json};

use crate::error::{self, Error, Problem};
use crate::resource::{ResourceDef, Source};
use crate::store::Item;

pub const MEDIA_TYPE: &str = "application/vnd.api+json";

/// Renders an item as a resource object. `fields` is the sparse fieldset for its type, if any.
pub fn resource_object(def: &ResourceDef, item: &Item, fields: Option<&[String]>, base_url: &str) -> Value {
    let wanted = |name: &str| fields.is_none_or(|f| f.iter().any(|w| w == name));
    let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
    let attributes: Map<String, Value> = def
        .attributes()
        .filter(|f| f.alias_of.is_none() && wanted(f.name))
        .map(|f| (f.name.to_string(), item.get(f.name).cloned().unwrap_or(Value::Null)))
        .collect();
    let mut object = json!({
        "type": def.type_name,
        "id": id,
        "attributes": attributes,
        "links": {"self": format!("{base_url}{}/{id}", def.path)},
    });
    let relationships: Map<String, Value> = def
        .relationships
        .iter()
        .filter(|r| wanted(r.name))
        .filter_map(|r| {
            let data = match r.source {
                Source::Attr(attr) => match item.get(attr) {
                    Some(Value::String(id)) => json!({"type": r.target, "id": id}),
                    _ => Value::Null,
                },
                Source::Embedded { list, key } => Value::Array(
                    item.get(list)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.get(key).and_then(Value::as_str))
                        .map(|id| json!({"type": r.target, "id": id}))
                        .collect(),
                ),
                // Unbounded (a team's members): included on request, never listed inline.
                Source::Linked { .. } => return None,
            };
            Some((r.name.to_string(), json!({"data": data})))
        })
        .collect();
    if !relationships.is_empty() {
        object["relationships"] = Value::Object(relationships);
    }
    object
}

/// The `attributes` of a request document `{"data":{"type":T,"attributes":{...}}}`. For an
/// update, `id` must match the URL's when present. Type and id mismatches are 409 (JSON:API).
pub fn request_attributes(body: &Value, def: &ResourceDef, id: Option<&str>) -> Result<Map<String, Value>, Error> {
    let Some(data) = body.get("data").and_then(Value::as_object) else {
        return Err(Error::Validation(vec![Problem::pointer("/data", "required", "the body needs a `data` object")]));
    };
    match data.get("type").and_then(Value::as_str) {
        Some(t) if t == def.type_name => {}
        Some(t) => {
            return Err(Error::conflict(
                Some("/data/type"),
                "type_mismatch",
                format!("expected type {:?}, got {t:?}", def.type_name),
            ));
        }
        None => {
            return Err(Error::Validation(vec![Problem::pointer(
                "/data/type",
                "required",
                format!("data.type must be {:?}", def.type_name),
            )]));
        }
    }
    match (id, data.get("id")) {
        (_, None) => {}
        (Some(want), Some(Value::String(got))) if want == got => {}
        (Some(_), Some(_)) => {
            return Err(Error::conflict(Some("/data/id"), "id_mismatch", "data.id does not match the URL"));
        }
        (None, Some(_)) => {
            return Err(Error::Validation(vec![Problem::pointer(
                "/data/id",
                "read_only",
                "ids are assigned by the service",
            )]));
        }
    }
    let mut attributes = match data.get("attributes") {
        None => Map::new(),
        Some(Value::Object(a)) => a.clone(),
        Some(_) => {
            return Err(Error::Validation(vec![Problem::pointer(
                "/data/attributes",
                "invalid_type",
                "attributes must be an object",
            )]));
        }
    };
    if let Some(relationships) = data.get("relationships") {
        relationship_attributes(def, relationships, &mut attributes)?;
    }
    Ok(attributes)
}

/// Reads the to-one relationships a request document sets (`"person": {"data": {"type":
/// "people", "id": "..."}}`, or `{"data": null}` to clear it) as the attributes holding their
/// ids, so that one validation serves both spellings. A relationship that is not a writable
/// to-one, a linkage of another shape or type, or one that contradicts the attribute sent
/// beside it: 422 naming it. To-many relationships change through their own resources
/// (`/role_assignments`, `/team_memberships`).
fn relationship_attributes(def: &ResourceDef, given: &Value, attributes: &mut Map<String, Value>) -> Result<(), Error> {
    let Some(given) = given.as_object() else {
        return Err(Error::Validation(vec![Problem::pointer(
            "/data/relationships",
            "invalid_type",
            "relationships must be an object",
        )]));
    };
    let mut problems = Vec::new();
    for (name, value) in given {
        let pointer = format!("/data/relationships/{name}");
        let writable = def.relationship(name).and_then(|rel| match rel.source {
            Source::Attr(attr) => def.field(attr).filter(|f| f.writable()).map(|f| (rel, f.name)),
            _ => None,
        });
        let Some((rel, attr)) = writable else {
            let detail = match def.relationship(name) {
                Some(_) => format!("{name} is not set through {}; use its own resource", def.type_name),
                None => format!("{} has no relationship {name}", def.type_name),
            };
            problems.push(Problem::pointer(&pointer, "unknown_relationship", detail));
            continue;
        };
        let id = match value.get("data") {
            Some(Value::Null) => Value::Null,
            Some(Value::Object(linkage)) => match (linkage.get("type").and_then(Value::as_str), linkage.get("id")) {
                (Some(t), Some(Value::String(id))) if t == rel.target => Value::String(id.clone()),
                _ => {
                    let detail = format!("{name}.data must be {{\"type\":\"{}\",\"id\":\"...\"}} or null", rel.target);
                    problems.push(Problem::pointer(format!("{pointer}/data"), "invalid_linkage", detail));
                    continue;
                }
            },
            _ => {
                problems.push(Problem::pointer(&pointer, "required", format!("{name} needs a `data` member")));
                continue;
            }
        };
        match attributes.get(attr) {
            Some(sent) if *sent != id => problems.push(Problem::pointer(
                &pointer,
                "conflicting_values",
                format!("{name} and the attribute {attr} name different resources"),
            )),
            _ => {
                attributes.insert(attr.to_string(), id);
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(Error::Validation(problems)) }
}

/// The body of an action endpoint (join, the password flows): a flat JSON object or form, or
/// a JSON:API document whose attributes are used. Problems point into whichever was sent.
pub struct ActionBody {
    pub fields: Map<String, Value>,
    /// `/data/attributes` for a JSON:API document, empty for a flat body.
    prefix: &'static str,
}

impl ActionBody {
    /// The attributes of a JSON:API document.
    pub fn document(fields: Map<String, Value>) -> ActionBody {
        ActionBody { fields, prefix: "/data/attributes" }
    }

    /// A flat JSON object or form.
    pub fn flat(fields: Map<String, Value>) -> ActionBody {
        ActionBody { fields, prefix: "" }
    }

    /// The JSON pointer of a field as the client sent it.
    pub fn pointer(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }

    /// A string field, or the problem with it (missing, empty or not a string).
    pub fn string(&self, name: &str) -> std::result::Result<&str, Problem> {
        match self.fields.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            None | Some(Value::Null) | Some(Value::String(_)) => {
                Err(Problem::pointer(self.pointer(name), "required", format!("{name} is required")))
            }
            Some(_) => Err(Problem::pointer(self.pointer(name), "invalid_type", format!("{name} must be a string"))),
        }
    }

    /// Re-points problems found by the JSON:API attribute validators at a flat body's fields.
    pub fn repoint(&self, error: Error) -> Error {
        let fix = |mut p: Problem| {
            if let Some(error::Source::Pointer(ptr)) = &p.source
                && let Some(name) = ptr.strip_prefix("/data/attributes/")
            {
                p.source = Some(error::Source::Pointer(self.pointer(name)));
            }
            p
        };
        match error {
            Error::Validation(problems) => Error::Validation(problems.into_iter().map(fix).collect()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::organization::RESOURCE;

    fn account_document(data: Value) -> Result<Map<String, Value>, Error> {
        request_attributes(&json!({"data": data}), &crate::model::account::RESOURCE, None)
    }

    fn pointers(e: Error) -> Vec<(String, String)> {
        let Error::Validation(problems) = e else { panic!("{e:?}") };
        problems
            .into_iter()
            .map(|p| match p.source {
                Some(error::Source::Pointer(ptr)) => (ptr, p.code),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_to_one_relationship_sets_the_attribute_holding_its_id() {
        let person = json!({"data": {"type": "people", "id": "p1"}});
        let a = account_document(
            json!({"type": "accounts", "attributes": {"email": "a@b.io"}, "relationships": {"person": person}}),
        );
        assert_eq!(a.unwrap().get("person_id"), Some(&json!("p1")));
        let cleared = account_document(json!({"type": "accounts", "relationships": {"person": {"data": null}}}));
        assert_eq!(cleared.unwrap().get("person_id"), Some(&Value::Null));
        let same = json!({"type": "accounts", "attributes": {"person_id": "p1"}, "relationships": {"person": person}});
        assert!(account_document(same).is_ok(), "both spellings of one value agree");
    }

    #[test]
    fn every_bad_relationship_is_named() {
        let e = account_document(json!({"type": "accounts", "attributes": {"person_id": "p2"}, "relationships": {
            "person": {"data": {"type": "people", "id": "p1"}},
            "organization": {"data": {"type": "teams", "id": "o1"}},
            "roles": {"data": []},
            "friends": {"data": null},
        }}))
        .unwrap_err();
        let mut got = pointers(e);
        got.sort();
        let want = [
            ("/data/relationships/friends", "unknown_relationship"),
            ("/data/relationships/organization/data", "invalid_linkage"),
            ("/data/relationships/person", "conflicting_values"),
            ("/data/relationships/roles", "unknown_relationship"),
        ];
        assert_eq!(got, want.map(|(p, c)| (p.to_string(), c.to_string())));
        let e = account_document(json!({"type": "accounts", "relationships": {"person": {"id": "p1"}}})).unwrap_err();
        assert_eq!(pointers(e), [("/data/relationships/person".to_string(), "required".to_string())]);
        let e = account_document(json!({"type": "accounts", "relationships": []})).unwrap_err();
        assert_eq!(pointers(e), [("/data/relationships".to_string(), "invalid_type".to_string())]);
    }

    #[test]
    fn sparse_fieldsets_limit_attributes() {
        let item = json!({"id": "1", "name": "A", "description": "d", "version": 3, "_all": "organizations"});
        let o = resource_object(&RESOURCE, item.as_object().unwrap(), Some(&["name".into()]), "http://x/api");
        assert_eq!(o["attributes"], json!({"name": "A"}));
        assert_eq!(o["links"]["self"], "http://x/api/organizations/1");
    }

    #[test]
    fn internal_attributes_are_never_rendered() {
        let item = json!({"id": "1", "name": "A", "version": 3, "_all": "organizations"});
        let o = resource_object(&RESOURCE, item.as_object().unwrap(), None, "");
        assert!(o["attributes"].get("version").is_none() && o["attributes"].get("_all").is_none());
        assert_eq!(o["attributes"]["description"], Value::Null);
    }

    #[test]
    fn a_document_of_another_type_is_a_conflict() {
        let body = json!({"data": {"type": "accounts", "attributes": {}}});
        assert!(matches!(request_attributes(&body, &RESOURCE, None), Err(Error::Conflict(_))));
        let body = json!({"data": {"type": "organizations", "id": "2", "attributes": {}}});
        assert!(matches!(request_attributes(&body, &RESOURCE, Some("1")), Err(Error::Conflict(_))));
        assert!(matches!(request_attributes(&json!([]), &RESOURCE, None), Err(Error::Validation(_))));
    }
}
