//! The schemas every operation shares: resource objects and documents of each catalog, request
//! documents, and the two error bodies (JSON:API errors, OAuth errors).

use serde_json::{Map, Value, json};

use crate::jsonapi::MEDIA_TYPE;
use crate::model;
use crate::resource::{Field, FieldType, ResourceDef, Source};
use crate::routes::ROUTES;

/// The component name of a resource type: `account_sessions` → `AccountSession`.
pub fn name(def: &ResourceDef) -> String {
    let singular = def.type_name.strip_suffix('s').unwrap_or(def.type_name);
    singular
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

pub fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A JSON:API body, as requests send it and responses carry it.
pub fn jsonapi_content(schema: Value) -> Value {
    json!({MEDIA_TYPE: {"schema": schema}})
}

/// The JSON Schema of one value of `f`, as a request sends it (`writing`: with its limits).
fn value(f: &Field, writing: bool) -> Value {
    let mut s = match f.ty {
        FieldType::String => json!({"type": "string"}),
        FieldType::Integer => json!({"type": "integer"}),
        FieldType::Boolean => json!({"type": "boolean"}),
        FieldType::Timestamp => json!({"type": "string", "format": "date-time"}),
    };
    if !f.input.values.is_empty() {
        s["enum"] = json!(f.input.values);
    }
    if let Some(format) = f.input.format {
        s["format"] = json!(format);
    }
    if writing && let Some(limits) = f.input.limits {
        s["minLength"] = json!(limits.min);
        s["maxLength"] = json!(limits.max);
    }
    if f.input.list {
        s = json!({"type": "array", "items": s});
    }
    s
}

/// `schema` or null.
fn nullable(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "null"}]})
}

/// An attribute as responses render it: null when the item has no value.
fn rendered(f: &Field) -> Value {
    let mut s = value(f, false);
    if f.read_only {
        s["readOnly"] = json!(true);
    }
    if f.required { s } else { nullable(s) }
}

fn linkage(target: &str) -> Value {
    json!({"type": "object", "required": ["type", "id"],
        "properties": {"type": {"const": target}, "id": {"type": "string"}}})
}

/// The resource object of a catalog.
fn resource(def: &ResourceDef) -> Value {
    let attributes: Map<String, Value> =
        def.attributes().filter(|f| f.alias_of.is_none()).map(|f| (f.name.to_string(), rendered(f))).collect();
    let relationships: Map<String, Value> = def
        .relationships
        .iter()
        .filter_map(|r| {
            let data = match r.source {
                Source::Attr(_) => nullable(linkage(r.target)),
                Source::Embedded { .. } => json!({"type": "array", "items": linkage(r.target)}),
                Source::Linked { .. } => return None,
            };
            Some((r.name.to_string(), json!({"type": "object", "properties": {"data": data}})))
        })
        .collect();
    json!({
        "type": "object",
        "required": ["type", "id", "attributes", "links"],
        "properties": {
            "type": {"const": def.type_name},
            "id": {"type": "string"},
            "attributes": {"type": "object", "properties": attributes,
                "description": "Sparse fieldsets (`fields[TYPE]`) leave attributes out."},
            "relationships": {"type": "object", "properties": relationships},
            "links": {"type": "object", "required": ["self"], "properties": {"self": {"type": "string"}}},
        },
    })
}

/// The attributes a create (`creating`) or update request may send.
fn request(def: &ResourceDef, creating: bool) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for f in def.fields.iter().filter(|f| f.writable() && (creating || !f.input.fixed && !f.input.write_only)) {
        let mut s = value(f, true);
        if f.input.write_only {
            s["writeOnly"] = json!(true);
        }
        if f.input.nullable && !creating {
            s = nullable(s);
        }
        properties.insert(f.name.to_string(), s);
        if creating && f.input.required {
            required.push(f.name);
        }
    }
    let mut attributes = json!({"type": "object", "properties": properties.clone(), "additionalProperties": false});
    let mut data_required = vec!["type"];
    if !required.is_empty() {
        attributes["required"] = json!(required);
        data_required.push("attributes");
    }
    let mut data = json!({
        "type": "object",
        "required": data_required,
        "properties": {"type": {"const": def.type_name}, "attributes": attributes},
    });
    if !creating {
        data["properties"]["id"] = json!({"type": "string", "description": "When given, the id in the path."});
    }
    // The to-one relationships that set a writable attribute (`jsonapi::request_attributes`).
    let relationships: Map<String, Value> = def
        .relationships
        .iter()
        .filter_map(|r| match r.source {
            Source::Attr(attr) => properties.get(attr).map(|_| r),
            _ => None,
        })
        .map(|r| {
            let data = json!({"type": "object", "required": ["data"], "properties": {"data": nullable(linkage(r.target))},
                "description": "Another spelling of the attribute holding its id (null clears it)."});
            (r.name.to_string(), data)
        })
        .collect();
    if !relationships.is_empty() {
        data["properties"]["relationships"] =
            json!({"type": "object", "properties": relationships, "additionalProperties": false});
    }
    json!({"type": "object", "required": ["data"], "properties": {"data": data}})
}

fn links() -> Value {
    let link = json!({"type": ["string", "null"]});
    json!({"type": "object", "properties": {"self": link, "first": link, "prev": link, "next": link, "last": link}})
}

/// Every schema the operations refer to.
pub fn components() -> Value {
    let mut schemas = Map::new();
    let any_resource: Vec<Value> = model::all().iter().map(|d| reference(&name(d))).collect();
    schemas.insert("Resource".into(), json!({"anyOf": any_resource}));
    for def in model::all() {
        let n = name(def);
        schemas.insert(n.clone(), resource(def));
        schemas.insert(
            format!("{n}Document"),
            json!({"type": "object", "required": ["data"], "properties": {
                "data": reference(&n),
                "included": {"type": "array", "items": reference("Resource")},
                "links": links(),
            }}),
        );
        let page = json!({"type": ["integer", "null"], "minimum": 1});
        schemas.insert(
            format!("{n}Collection"),
            json!({"type": "object", "required": ["data", "links"], "properties": {
                "data": {"type": "array", "items": reference(&n)},
                "included": {"type": "array", "items": reference("Resource")},
                "links": links(),
                "meta": {"type": "object", "properties": {
                    "count": {"type": "integer", "minimum": 0},
                    "pagination": {"type": "object", "properties": {
                        "current_page": {"type": "integer", "minimum": 1},
                        "next_page": page, "prev_page": page,
                        "total_pages": {"type": "integer"}, "total_count": {"type": "integer"},
                    }},
                }},
            }}),
        );
        // Request schemas only for the requests the routes take.
        let collection = format!("{}{}", super::BASE_PATH, def.path);
        let routed = |method: &str, path: &str| ROUTES.iter().any(|r| r.method == method && r.path == path);
        if routed("POST", &collection) {
            schemas.insert(format!("{n}Create"), request(def, true));
        }
        if routed("PATCH", &format!("{collection}/{{id}}")) {
            schemas.insert(format!("{n}Update"), request(def, false));
        }
    }
    schemas.insert(
        "Errors".into(),
        json!({"type": "object", "required": ["errors"], "properties": {"errors": {"type": "array", "minItems": 1,
        "items": {"type": "object", "required": ["status", "code"], "properties": {
            "status": {"type": "string"},
            "code": {"type": "string", "description": "Stable, for programs: `invalid_email`, `required`, ..."},
            "title": {"type": "string"},
            "detail": {"type": "string"},
            "id": {"type": "string", "description": "The request id, on a 5xx."},
            "source": {"type": "object", "properties": {
                "pointer": {"type": "string", "description": "RFC 6901, into the request body."},
                "parameter": {"type": "string", "description": "The query parameter."},
            }},
        }}}}}),
    );
    schemas.insert(
        "OAuthError".into(),
        json!({"type": "object", "required": ["error"], "properties": {
            "error": {"type": "string", "enum": ["invalid_request", "invalid_grant", "unsupported_grant_type",
                "invalid_client", "too_many_attempts", "invalid_token", "insufficient_scope"]},
            "error_description": {"type": "string"},
        }}),
    );
    Value::Object(schemas)
}

/// What each error status means here (API.md §1).
fn describe(status: u16) -> &'static str {
    match status {
        400 => "Malformed JSON or an unknown or malformed query parameter.",
        401 => "Missing, malformed, expired or revoked bearer token (or bad credentials).",
        403 => "The caller's roles do not allow it.",
        404 => "No such resource, or one the caller cannot see.",
        409 => "A uniqueness or dependency conflict, or a concurrent change.",
        412 => "`If-Match` given and the resource's ETag differs.",
        413 => "The body is larger than 1 MiB.",
        415 => "Unsupported `Content-Type`.",
        422 => "Invalid attributes (every problem listed), a weak password or an unusable token.",
        429 => "Too many attempts; `Retry-After` says when to try again.",
        503 => "The store is unavailable for a moment; `Retry-After` says when to try again.",
        _ => "Unexpected failure; the body is opaque and carries the request id.",
    }
}

/// Which statuses carry `Retry-After`.
fn retries(status: u16) -> bool {
    matches!(status, 429 | 503)
}

/// The reusable error responses: `E400` ... (JSON:API) and `OAuth400` ... (token endpoint).
pub fn error_responses() -> Value {
    let mut out = Map::new();
    for status in [400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 500, 503] {
        let mut headers = json!({"X-Request-Id": {"schema": {"type": "string"}}});
        if retries(status) {
            headers["Retry-After"] = json!({"schema": {"type": "integer"}, "description": "Seconds."});
        }
        if status == 401 {
            headers["WWW-Authenticate"] = json!({"schema": {"type": "string"},
                "description": "`Bearer`, or `Bearer error=\"invalid_token\"` when the token sent does not work."});
        }
        let jsonapi = json!({"description": describe(status), "headers": headers,
            "content": jsonapi_content(reference("Errors"))});
        out.insert(format!("E{status}"), jsonapi);
        // The token endpoint answers OAuth error bodies; its 5xx are still the opaque JSON:API one.
        if status < 500 {
            let oauth = json!({"description": describe(status), "headers": headers,
                "content": {"application/json": {"schema": reference("OAuthError")}}});
            out.insert(format!("OAuth{status}"), oauth);
        }
    }
    Value::Object(out)
}

/// The response of an error status for an operation.
pub fn error_ref(status: u16, oauth: bool) -> Value {
    let name = if oauth && status < 500 { format!("OAuth{status}") } else { format!("E{status}") };
    json!({"$ref": format!("#/components/responses/{name}")})
}
