//! The query parameters of a collection `GET` (API.md §2), from its catalog: every filterable
//! field with the operators it takes, sort fields, the three paging dialects, `count`,
//! `include`, `fields[TYPE]` and `query`.

use serde_json::{Map, Value, json};

use crate::query::ast::{MAX_PAGE_SIZE, Op};
use crate::query::fields::resolve;
use crate::query::params::MAX_QUERY_TEXT;
use crate::resource::ResourceDef;

/// The operator suffixes of the JSON:API dialect, `filter[FIELD__OP]`.
const OPS: &[&str] = &["eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "match", "sw"];

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
}

/// A comma-separated list of names, each once or more (`-`-prefixed where `signed`).
fn names_pattern(names: &[&str], signed: bool) -> String {
    let one = format!("{}({})", if signed { "[-+]?" } else { "" }, names.join("|"));
    format!("^{one}(,{one})*$")
}

/// `filter[...]` as one deepObject: each filterable field, alone (equality) and with each
/// operator it takes, exactly as the parser resolves them.
fn filter(def: &ResourceDef) -> Value {
    let mut properties = Map::new();
    for f in def.fields.iter().filter(|f| f.filter && !f.secret) {
        properties.insert(f.name.to_string(), json!({"type": "string"}));
        for suffix in OPS {
            let op = Op::from_suffix(suffix).unwrap_or(Op::Eq);
            if resolve(def, f.name, op).is_ok() {
                properties.insert(format!("{}__{suffix}", f.name), json!({"type": "string"}));
            }
        }
    }
    json!({
        "name": "filter", "in": "query", "required": false, "style": "deepObject", "explode": true,
        "schema": {"type": "object", "properties": properties, "additionalProperties": false},
        "description": "`filter[FIELD]=V` (equality) or `filter[FIELD__OP]=V`; `in`/`nin` take comma-separated \
            lists; `null` compares with no value. Several filters are ANDed.",
    })
}

/// What the expression dialect takes on `def`: its syntax and the fields it may name.
fn expression_help(def: &ResourceDef) -> String {
    let fields: Vec<&str> = def.fields.iter().filter(|f| f.filter && !f.secret).map(|f| f.name).collect();
    format!(
        "The expression dialect: `FIELD OP VALUE` joined by `and`, `or`, `not` and parentheses (OP: eq, ne, in, \
         sw, co, gt, ge, lt, le, isnull; strings in double quotes, `in` takes `(\"a\",\"b\")`). Fields: {}.",
        fields.join(", ")
    )
}

/// `fields[TYPE]` as one deepObject: the attributes and relationships of each type.
pub fn fieldsets(def: &ResourceDef) -> Value {
    let mut properties = Map::new();
    for sibling in (def.catalog)() {
        let mut names: Vec<&str> = sibling.attributes().filter(|f| f.alias_of.is_none()).map(|f| f.name).collect();
        names.extend(sibling.relationships.iter().map(|r| r.name));
        properties
            .insert(sibling.type_name.to_string(), json!({"type": "string", "pattern": names_pattern(&names, false)}));
    }
    json!({
        "name": "fields", "in": "query", "required": false, "style": "deepObject", "explode": true,
        "schema": {"type": "object", "properties": properties, "additionalProperties": false},
        "description": "Sparse fieldsets: `fields[TYPE]=a,b` renders only those fields of that type.",
    })
}

/// `include` and its alias `included`, when the type has relationships.
pub fn includes(def: &ResourceDef) -> Vec<Value> {
    if def.relationships.is_empty() {
        return vec![];
    }
    let names: Vec<&str> = def.relationships.iter().map(|r| r.name).collect();
    let schema = json!({"type": "string", "pattern": names_pattern(&names, false)});
    vec![
        query("include", schema.clone(), "Related resources to add under `included`, comma-separated."),
        query("included", schema, "Another name for `include`."),
    ]
}

/// Every query parameter of the collection `GET` of `def`.
pub fn parameters(def: &ResourceDef) -> Vec<Value> {
    let sortable: Vec<&str> = def.fields.iter().filter(|f| f.sort && !f.secret).map(|f| f.name).collect();
    let sort = json!({"type": "string", "pattern": names_pattern(&sortable, true)});
    let size = json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE});
    let mut params = vec![
        filter(def),
        query("filters", json!({"type": "string"}), &expression_help(def)),
        query("sort", sort.clone(), "Sort keys, comma-separated; `-` descends. Default: `id`."),
        query("sorters", sort, "Another name for `sort` (expression dialect)."),
        query("page[number]", json!({"type": "integer", "minimum": 1}), "Page number, from 1."),
        query("page[size]", size.clone(), "Items per page."),
        query("page[after]", json!({"type": "string"}), "An opaque cursor from `links.next`."),
        query("page", json!({"type": "integer", "minimum": 1}), "Page number (page dialect)."),
        query("per_page", size.clone(), "Items per page (page dialect)."),
        query("limit", size, "Items per page (expression dialect)."),
        query("offset", json!({"type": "integer", "minimum": 0}), "Items to skip (expression dialect)."),
        query("count", json!({"type": "boolean"}), "Count the matches: `meta.count` and `X-Total-Count`."),
        fieldsets(def),
    ];
    if def.fields.iter().any(|f| f.text) {
        params.push(query(
            "query",
            json!({"type": "string", "minLength": 1, "maxLength": MAX_QUERY_TEXT}),
            "Free text: each term matches the words of the text fields that start with it.",
        ));
    }
    params.extend(includes(def));
    params
}
