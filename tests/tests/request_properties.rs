//! The whole API under arbitrary requests: bodies of any bytes or any JSON shape posted and
//! patched to every resource, and collection queries of any parameters, through the router
//! `iam serve` and the functions run. Whatever is sent, the answer is never a 5xx (a panic
//! would be one: the service answers it as an opaque 500, and a release build aborts), and
//! every 400 and 422 names the parameter or the pointer each of its problems is about. Runs on
//! SQLite and on DynamoDB (moto), where what a key or an attribute may be differs.

use http::{Method, Request, StatusCode, header};
use iam_tests::app::encode;
use iam_tests::strategies::{config, json_value, parameters};
use iam_tests::{Reply, TestApp};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};

const COLLECTIONS: [&str; 4] = ["accounts", "organizations", "roles", "teams"];

/// Cases per property: fewer on moto, whose every request is a round trip to a Python server.
fn cases() -> u32 {
    if iam_tests::app::on_dynamodb() { 150 } else { 1000 }
}

/// The reply's problems, checked: no 5xx, and a source on every problem of a 400 or 422.
fn check(what: &str, reply: &Reply) -> Result<(), TestCaseError> {
    prop_assert!(!reply.status.is_server_error(), "{what} answered {}: {}", reply.status, reply.body);
    if matches!(reply.status, StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY) {
        let errors = reply.body["errors"].as_array().cloned().unwrap_or_default();
        prop_assert!(!errors.is_empty(), "{what}: a {} without problems", reply.status);
        for e in errors {
            let source = e.get("source").and_then(Value::as_object);
            let named = source.is_some_and(|s| s.get("pointer").or(s.get("parameter")).is_some_and(Value::is_string));
            prop_assert!(named, "{what}: a problem that names nothing: {e}");
        }
    }
    Ok(())
}

/// A request document: arbitrary JSON, or a document of the right type with arbitrary parts.
fn document() -> impl Strategy<Value = (usize, Vec<u8>)> {
    let json_body = (0..COLLECTIONS.len(), json_value(), json_value()).prop_map(|(c, attributes, id)| {
        let body = json!({"data": {"type": COLLECTIONS[c], "attributes": attributes}});
        let body = if id.is_string() {
            json!({"data": {"type": COLLECTIONS[c], "id": id, "attributes": body["data"]["attributes"]}})
        } else {
            body
        };
        (c, body.to_string().into_bytes())
    });
    prop_oneof![
        json_body,
        (0..COLLECTIONS.len(), json_value()).prop_map(|(c, v)| (c, v.to_string().into_bytes())),
        (0..COLLECTIONS.len(), prop::collection::vec(any::<u8>(), 0..200)),
    ]
}

#[test]
fn arbitrary_bodies_never_get_a_5xx_and_every_problem_points_somewhere() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(TestApp::new());
    // Patches go to an account of their own: a patch that happens to be valid may change its
    // password or disable it, and the requests after must still be the admin's.
    let target = json!({"data": {"type": "accounts", "attributes": {"email": "target@example.com"}}});
    let created =
        runtime.block_on(app.call(Method::POST, "/api/v3/iam/accounts", Some(&app.admin_token), Some(target)));
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let target_id = created.body["data"]["id"].as_str().expect("an id").to_string();
    let mut runner = TestRunner::new(config(cases()));
    runner
        .run(&(document(), any::<bool>()), |((collection, body), patch)| {
            let (method, path) = match (patch, COLLECTIONS[collection]) {
                (true, "accounts") => (Method::PATCH, format!("/api/v3/iam/accounts/{target_id}")),
                (_, name) => (Method::POST, format!("/api/v3/iam/{name}")),
            };
            let request = Request::builder()
                .method(method.clone())
                .uri(&path)
                .header(header::AUTHORIZATION, format!("Bearer {}", app.admin_token))
                .header(header::CONTENT_TYPE, "application/vnd.api+json")
                .body(axum::body::Body::from(body))
                .unwrap();
            let reply = runtime.block_on(app.send(request));
            check(&format!("{method} {path}"), &reply)
        })
        .unwrap();
}

#[test]
fn arbitrary_collection_queries_never_get_a_5xx_and_every_problem_names_its_parameter() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(TestApp::new());
    let mut runner = TestRunner::new(config(cases()));
    runner
        .run(&(0..COLLECTIONS.len(), parameters()), |(collection, pairs)| {
            let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
            let path = format!("/api/v3/iam/{}?{}", COLLECTIONS[collection], query.join("&"));
            let reply = runtime.block_on(app.call(Method::GET, &path, Some(&app.admin_token), None));
            check(&path, &reply)?;
            if reply.status == StatusCode::BAD_REQUEST {
                for e in reply.body["errors"].as_array().into_iter().flatten() {
                    if let Some(p) = e["source"]["parameter"].as_str() {
                        prop_assert!(pairs.iter().any(|(k, _)| k == p), "{path}: {p:?} was not sent");
                    }
                }
            }
            Ok(())
        })
        .unwrap();
}
