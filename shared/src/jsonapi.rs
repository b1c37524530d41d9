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
    match data.get("attributes") {
        None => Ok(Map::new()),
        Some(Value::Object(a)) => Ok(a.clone()),
        Some(_) => Err(Error::Validation(vec![Problem::pointer(
            "/data/attributes",
            "invalid_type",
            "attributes must be an object",
        )])),
    }
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
