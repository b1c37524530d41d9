//! The API reference in Markdown (`docs/API-REFERENCE.md`), rendered from the OpenAPI document:
//! one section per operation (who may call it, its parameters, body and answers) and one per
//! resource (its attributes). A test keeps the committed file equal to this rendering.

use std::fmt::Write;

use serde_json::Value;

/// The reference of `doc`, an OpenAPI 3.1 document as `iam_shared::openapi` builds it.
pub fn markdown(doc: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {} API reference\n", doc["info"]["title"].as_str().unwrap_or("API"));
    let _ = writeln!(
        out,
        "Generated from the OpenAPI document (`GET /openapi.json`, `iam openapi`) by `make docs`; do not edit.\n\
         The contract in prose, with the reasons behind it, is API.md. Every operation may also answer 500 (opaque,\n\
         with the request id) and 503 (`Retry-After`); those not marked public need `Authorization: Bearer <access token>`\n\
         and may answer 401 and 403.\n"
    );
    let _ = writeln!(out, "## Operations\n");
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            operation(&mut out, doc, &method.to_ascii_uppercase(), path, op);
        }
    }
    let _ = writeln!(out, "## Resources\n");
    for (name, schema) in doc["components"]["schemas"].as_object().into_iter().flatten() {
        if let Some(type_name) = schema["properties"]["type"]["const"].as_str()
            && schema["properties"].get("attributes").is_some()
        {
            resource(&mut out, name, type_name, schema);
        }
    }
    out
}

fn operation(out: &mut String, doc: &Value, method: &str, path: &str, op: &Value) {
    let public = op["security"] == Value::Array(vec![]);
    let _ = writeln!(out, "### `{method} {path}`\n");
    let _ = writeln!(out, "{}{}\n", op["summary"].as_str().unwrap_or_default(), if public { " (public)" } else { "" });
    if let Some(description) = op["description"].as_str() {
        let _ = writeln!(out, "{description}\n");
    }
    let _ = writeln!(out, "`operationId`: `{}`\n", op["operationId"].as_str().unwrap_or_default());
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    if !params.is_empty() {
        let _ = writeln!(out, "| parameter | in | type | |\n|---|---|---|---|");
        for p in &params {
            let name = p["name"].as_str().unwrap_or_default();
            let description = p["description"].as_str().unwrap_or_default().replace('\n', " ");
            if p["style"] == "deepObject" {
                let keys: Vec<String> = p["schema"]["properties"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| format!("`{k}`"))
                    .collect();
                let _ = writeln!(out, "| `{name}[...]` | query | {} | {description} |", keys.join(" "));
            } else {
                let _ = writeln!(
                    out,
                    "| `{name}` | {} | {} | {description} |",
                    p["in"].as_str().unwrap_or_default(),
                    type_of(&p["schema"])
                );
            }
        }
        out.push('\n');
    }
    if let Some(content) = op["requestBody"]["content"].as_object() {
        let media: Vec<String> = content.keys().map(|k| format!("`{k}`")).collect();
        let _ = writeln!(out, "Body ({}):\n", media.join(", "));
        if let Some((_, first)) = content.iter().next() {
            body(out, doc, &first["schema"]);
        }
    }
    let mut answers: Vec<String> = Vec::new();
    for (status, response) in op["responses"].as_object().into_iter().flatten() {
        let response = resolve(doc, response);
        if status.starts_with('2') || !matches!(status.as_str(), "401" | "403" | "500" | "503") {
            answers.push(format!("{status} {}", response["description"].as_str().unwrap_or_default()));
        }
    }
    let _ = writeln!(out, "Answers: {}\n", answers.join(" · "));
}

/// The request fields of a body schema: a JSON:API document's attributes, or a flat object's.
fn body(out: &mut String, doc: &Value, schema: &Value) {
    let schema = resolve(doc, schema);
    let attributes = &schema["properties"]["data"]["properties"]["attributes"];
    let (object, prefix) = if attributes.is_object() { (attributes, "data.attributes.") } else { (schema, "") };
    let required: Vec<&str> = object["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let _ = writeln!(out, "| field | type | required |\n|---|---|---|");
    for (name, field) in object["properties"].as_object().into_iter().flatten() {
        let needed = if required.contains(&name.as_str()) { "yes" } else { "" };
        let _ = writeln!(out, "| `{prefix}{name}` | {} | {needed} |", type_of(field));
    }
    out.push('\n');
}

fn resource(out: &mut String, name: &str, type_name: &str, schema: &Value) {
    let _ = writeln!(out, "### {name} (`{type_name}`)\n");
    let _ = writeln!(out, "| attribute | type | |\n|---|---|---|");
    for (attribute, field) in schema["properties"]["attributes"]["properties"].as_object().into_iter().flatten() {
        let read_only = field["readOnly"] == true || field["anyOf"][0]["readOnly"] == true;
        let _ = writeln!(out, "| `{attribute}` | {} | {} |", type_of(field), if read_only { "read-only" } else { "" });
    }
    out.push('\n');
}

/// A component a `$ref` names, or the value itself.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
        Some(pointer) => doc.pointer(&format!("/{pointer}")).unwrap_or(v),
        None => v,
    }
}

/// A schema in a few words: `string (email, 3..254)`, `one of a, b`, `array of string`, `| null`.
fn type_of(s: &Value) -> String {
    if let Some(options) = s["anyOf"].as_array() {
        let words: Vec<String> = options.iter().map(type_of).collect();
        return words.join(" \\| ");
    }
    if let Some(values) = s["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|v| format!("`{}`", v.as_str().unwrap_or_default())).collect();
        return format!("one of {}", values.join(", "));
    }
    if let Some(c) = s.get("const") {
        return format!("`{}`", c.as_str().unwrap_or_default());
    }
    let base = match &s["type"] {
        Value::String(t) if t == "array" => format!("array of {}", type_of(&s["items"])),
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" \\| "),
        _ => "any".into(),
    };
    let mut notes = Vec::new();
    if let Some(f) = s["format"].as_str() {
        notes.push(f.to_string());
    }
    match (s["minLength"].as_u64(), s["maxLength"].as_u64()) {
        (Some(min), Some(max)) => notes.push(format!("{min}..{max} chars")),
        (Some(min), None) => notes.push(format!("at least {min} chars")),
        _ => {}
    }
    match (s["minimum"].as_u64(), s["maximum"].as_u64()) {
        (Some(min), Some(max)) => notes.push(format!("{min}..{max}")),
        (Some(min), None) => notes.push(format!(">= {min}")),
        _ => {}
    }
    if notes.is_empty() { base } else { format!("{base} ({})", notes.join(", ")) }
}
