//! The OpenAPI 3.1 document of the whole API (API.md §8), generated from the route table and the
//! resource catalogs that the code runs on: every route of `routes::ROUTES` is an operation,
//! standard resource routes described by their catalog (`catalog`), the others by the
//! contracts declared in `actions`. Built once per process, on the first request for it.
//!
//! Written with `serde_json` rather than utoipa: utoipa derives schemas from Rust types, while
//! our resources are described by runtime catalogs (`resource::Field`), so its builders would
//! only wrap the same walk over the catalogs, in more code in the function that serves it.

mod actions;
mod catalog;
mod listing;
mod schema;

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::model;
use crate::resource::ResourceDef;
use crate::routes::{ROUTES, Route};

/// The path every route of the API starts with (besides discovery and health).
pub const BASE_PATH: &str = "/api/v3/iam";

/// What an operation is, so that its parameters, bodies and answers can be written.
#[derive(Debug, Clone, Copy)]
pub enum Operation {
    List(&'static ResourceDef),
    Show(&'static ResourceDef),
    Create(&'static ResourceDef),
    Update(&'static ResourceDef),
    Delete(&'static ResourceDef),
    /// A route without a catalog, described by its declared contract.
    Action(&'static actions::Action),
}

/// The operation a route is, or `None` for a route nobody described (a test fails on it).
pub fn operation_of(route: &Route) -> Option<Operation> {
    for def in model::all() {
        let collection = format!("{BASE_PATH}{}", def.path);
        let item = format!("{collection}/{{id}}");
        let op = match (route.method, route.path) {
            ("GET", p) if p == collection => Operation::List(def),
            ("POST", p) if p == collection => Operation::Create(def),
            ("GET", p) if p == item => Operation::Show(def),
            ("PATCH", p) if p == item => Operation::Update(def),
            ("DELETE", p) if p == item => Operation::Delete(def),
            _ => continue,
        };
        return Some(op);
    }
    actions::of(route.method, route.path).map(Operation::Action)
}

/// The document, serialized once: it depends on nothing but the code.
pub fn json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| document().to_string())
}

/// The document as a value.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        // A route without a contract is left out here and caught by the tests.
        let Some(op) = operation_of(route) else { continue };
        let entry = paths.entry(route.path.to_string()).or_insert_with(|| json!({}));
        entry[route.method.to_ascii_lowercase()] = operation(route, op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "IAM",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "Accounts, organizations, roles, teams, sessions and their password and invitation flows.",
            "description": "A JSON:API-style identity and access management API. Collections filter, sort and page \
                in three dialects (API.md §2); every endpoint not marked public needs a bearer access token \
                from `POST /api/v3/iam/auth/token`.",
            "license": {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"},
        },
        "servers": [{"url": "/", "description": "this service"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "An access token from the token endpoint (RFC 9068 JWT)."},
                "mfa": {"type": "http", "scheme": "mfa",
                    "description": "`Authorization: MFA <mfa_token>`: the token of a 403 `mfa_enrollment_required`, \
                        good for enrolling a second factor only."},
            },
            "schemas": schema::components(),
            "responses": schema::error_responses(),
        },
        "security": [{"bearer": []}],
    })
}

/// One operation object.
fn operation(route: &Route, op: Operation) -> Value {
    let mut o = match op {
        Operation::List(def) => catalog::list(def),
        Operation::Show(def) => catalog::show(def),
        Operation::Create(def) => catalog::create(def),
        Operation::Update(def) => catalog::update(def),
        Operation::Delete(def) => catalog::delete(def),
        Operation::Action(action) => actions::operation(action),
    };
    let mut errors: Vec<u16> =
        o["x-errors"].as_array().into_iter().flatten().filter_map(|v| v.as_u64()).map(|v| v as u16).collect();
    if let Some(map) = o.as_object_mut() {
        map.remove("x-errors");
    }
    if route.public {
        // An action may say how a public route also takes a bearer (revocation).
        if o.get("security").is_none() {
            o["security"] = json!([]);
        }
    } else {
        errors.extend([401, 403]);
    }
    // Every operation may find the store unavailable, or fail unexpectedly.
    errors.extend([500, 503]);
    errors.sort_unstable();
    errors.dedup();
    if let Operation::Create(def) = op {
        o["responses"]["201"]["links"] = links_from_create(def);
    }
    let oauth = matches!(op, Operation::Action(a) if a.oauth_errors);
    for status in errors {
        // An action may have written a status's answer itself (one form's errors are OAuth's).
        if o["responses"].get(status.to_string()).is_none() {
            o["responses"][status.to_string()] = schema::error_ref(status, oauth);
        }
    }
    o["operationId"] = json!(match op {
        Operation::List(def) => format!("list_{}", def.type_name),
        Operation::Show(def) => format!("show_{}", def.type_name),
        Operation::Create(def) => format!("create_{}", def.type_name),
        Operation::Update(def) => format!("update_{}", def.type_name),
        Operation::Delete(def) => format!("delete_{}", def.type_name),
        Operation::Action(action) => action.id.to_string(),
    });
    o
}

/// OpenAPI links from a create to the operations on the item it made (`$response.body#/data/id`),
/// so that clients and schemathesis's stateful phase can follow them.
fn links_from_create(def: &ResourceDef) -> Value {
    let item = format!("{BASE_PATH}{}/{{id}}", def.path);
    let mut links = Map::new();
    for route in ROUTES.iter().filter(|r| r.path == item) {
        let verb = match route.method {
            "GET" => "show",
            "PATCH" => "update",
            "DELETE" => "delete",
            _ => continue,
        };
        links.insert(
            verb.to_string(),
            json!({"operationId": format!("{verb}_{}", def.type_name), "parameters": {"id": "$response.body#/data/id"}}),
        );
    }
    Value::Object(links)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_route_is_an_operation_and_nothing_else_is() {
        let doc = document();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
        let routes: BTreeSet<(String, String)> = ROUTES.iter().map(|r| (r.method.into(), r.path.into())).collect();
        assert_eq!(documented, routes);
        for route in ROUTES {
            assert!(operation_of(route).is_some(), "{} {} has no contract", route.method, route.path);
        }
        for action in actions::ACTIONS {
            let routed = ROUTES.iter().any(|r| r.method == action.method && r.path == action.path);
            assert!(routed, "{} {} is described but not routed", action.method, action.path);
        }
    }

    #[test]
    fn public_routes_need_no_token_and_the_others_answer_401() {
        let doc = document();
        for route in ROUTES {
            let op = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
            // `[]`, or `[{}, ...]`: no requirement among the alternatives (inheriting is bearer).
            let requirements = op["security"].as_array();
            let anonymous = requirements.is_some_and(|r| r.is_empty() || r.iter().any(|s| s == &json!({})));
            assert_eq!(anonymous, route.public, "{} {}", route.method, route.path);
            if !route.public {
                assert!(op["responses"].get("401").is_some(), "{} {}", route.method, route.path);
            }
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let doc = document();
        let mut ids = BTreeSet::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                assert!(ids.insert(op["operationId"].as_str().unwrap().to_string()), "{}", op["operationId"]);
            }
        }
    }

    #[test]
    fn every_filterable_field_and_no_secret_is_a_filter() {
        let doc = document();
        for def in model::all() {
            let path = format!("{BASE_PATH}{}", def.path);
            let params = doc["paths"][&path]["get"]["parameters"].as_array().unwrap();
            let filter = params.iter().find(|p| p["name"] == "filter").unwrap();
            let names = filter["schema"]["properties"].as_object().unwrap();
            for f in def.fields {
                assert_eq!(names.contains_key(f.name), f.filter && !f.secret, "{}.{}", def.type_name, f.name);
            }
        }
    }

    #[test]
    fn the_document_is_built_once() {
        assert!(std::ptr::eq(json(), json()));
        let parsed: Value = serde_json::from_str(json()).unwrap();
        assert_eq!(parsed["openapi"], "3.1.0");
    }
}
