//! The standard operations of a catalogued resource: list, show, create, update, delete, each
//! with the parameters, bodies, answers and error statuses the generic handlers
//! (`http::handlers`) give.

use serde_json::{Value, json};

use super::listing;
use super::schema::{jsonapi_content, name, reference};
use crate::resource::ResourceDef;

fn id_parameter(def: &ResourceDef) -> Value {
    json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"},
        "description": format!("The id of one of the {}.", def.type_name.replace('_', " "))})
}

fn if_match() -> Value {
    json!({"name": "If-Match", "in": "header", "required": false, "schema": {"type": "string"},
        "description": "The ETag last read: the change is refused with 412 if the resource changed since."})
}

fn document(def: &ResourceDef, description: &str) -> Value {
    json!({"description": description, "content": jsonapi_content(reference(&format!("{}Document", name(def)))),
        "headers": {"ETag": {"schema": {"type": "string"}}}})
}

/// The request body of a create or update (`suffix`: `Create`, `Update`). One media type: the
/// service takes `application/json` too, but generators choke on a body offered in two
/// (openapi-python-client 0.29 emits code that does not import).
fn body(def: &ResourceDef, suffix: &str) -> Value {
    let schema = reference(&format!("{}{suffix}", name(def)));
    json!({"required": true, "description": "Also accepted as `application/json`.",
        "content": jsonapi_content(schema)})
}

fn tags(def: &ResourceDef) -> Value {
    json!([def.type_name])
}

pub fn list(def: &ResourceDef) -> Value {
    let collection = reference(&format!("{}Collection", name(def)));
    let needed: Vec<String> = def.listed_by.iter().map(|f| format!("`filter[{f}]`")).collect();
    let description = match needed.is_empty() {
        true => "Filter, sort and page in any of the three dialects of API.md §2.".to_string(),
        false => format!("Needs {} (equality or `__in`): the keys its indexes serve.", needed.join(" or ")),
    };
    json!({
        "summary": format!("List {}", def.type_name.replace('_', " ")),
        "description": description,
        "tags": tags(def),
        "parameters": listing::parameters(def),
        "responses": {"200": {"description": "A page of the collection.", "content": jsonapi_content(collection),
            "headers": {"X-Total-Count": {"schema": {"type": "integer"}, "description": "With `count=true`."}}}},
        "x-errors": [400],
    })
}

pub fn show(def: &ResourceDef) -> Value {
    let mut parameters = vec![id_parameter(def), listing::fieldsets(def)];
    parameters.extend(listing::includes(def));
    json!({
        "summary": format!("Show one of the {}", def.type_name.replace('_', " ")),
        "tags": tags(def),
        "parameters": parameters,
        "responses": {"200": document(def, "The resource.")},
        "x-errors": [400, 404],
    })
}

pub fn create(def: &ResourceDef) -> Value {
    let mut created = document(def, "Created.");
    created["headers"]["Location"] = json!({"schema": {"type": "string"}});
    json!({
        "summary": format!("Create one of the {}", def.type_name.replace('_', " ")),
        "tags": tags(def),
        "requestBody": body(def, "Create"),
        "responses": {"201": created},
        "x-errors": [400, 404, 409, 413, 415, 422],
    })
}

pub fn update(def: &ResourceDef) -> Value {
    json!({
        "summary": format!("Change one of the {} (only the attributes given)", def.type_name.replace('_', " ")),
        "tags": tags(def),
        "parameters": [id_parameter(def), if_match()],
        "requestBody": body(def, "Update"),
        "responses": {"200": document(def, "The resource as changed.")},
        "x-errors": [400, 404, 409, 412, 413, 415, 422],
    })
}

pub fn delete(def: &ResourceDef) -> Value {
    json!({
        "summary": format!("Delete one of the {}", def.type_name.replace('_', " ")),
        "tags": tags(def),
        "parameters": [id_parameter(def), if_match()],
        "responses": {"204": {"description": "Deleted."}},
        "x-errors": [404, 409, 412],
    })
}
