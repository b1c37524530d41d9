//! Every event in `infra/events/` (the fixtures `cargo lambda invoke --data-file` uses) run
//! through the function it names the way Lambda runs it: the JSON parsed by lambda_http's own
//! event deserializer, served by the adapter `lambda_http::run` wraps around our service, and
//! the response encoded back into an API Gateway v2 result. A fixture with the bearer
//! placeholder `ACCESS_TOKEN` gets a real token of the fixtures' admin (the suite's root admin).

use std::path::{Path, PathBuf};

use iam_cleanup::Cleanup;
use iam_shared::lambda::lambda_service;
use iam_shared::routes::{BACKGROUND, FUNCTIONS};
use iam_tests::TestApp;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service};
use serde_json::Value;

const TOKEN_PLACEHOLDER: &str = "ACCESS_TOKEN";

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/events")
}

/// The fixtures, by file name (`<function>-<what>.json`).
fn fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(events_dir())
        .expect("infra/events")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

fn function_of(fixture: &str) -> &str {
    fixture.split('-').next().expect("a function prefix")
}

/// The status each fixture must produce, and what its body must say.
fn expect(fixture: &str, status: u16, body: &Value) {
    let expected = match fixture {
        "sessions-token.json" => {
            assert!(body["access_token"].as_str().is_some_and(|t| t.split('.').count() == 3), "{body}");
            assert_eq!(body["token_type"], "Bearer");
            200
        }
        "sessions-jwks.json" => {
            assert_eq!(body["keys"][0]["kty"], "OKP", "{body}");
            assert_eq!(body["keys"][0]["crv"], "Ed25519");
            200
        }
        "accounts-me.json" => {
            assert_eq!(body["data"]["attributes"]["email"], "root@example.com", "{body}");
            200
        }
        "accounts-list.json" => {
            assert_eq!(body["meta"]["count"], 1, "{body}");
            assert_eq!(body["data"][0]["attributes"]["status"], "active");
            200
        }
        "accounts-list-secret-filter.json" => {
            assert_eq!(body["errors"][0]["source"]["parameter"], "filter[password]", "{body}");
            400
        }
        "organizations-list.json" => {
            assert_eq!(body["meta"]["count"], 0, "{body}");
            200
        }
        "organizations-create.json" => {
            assert_eq!(body["data"]["attributes"]["name"], "Acme", "{body}");
            201
        }
        "roles-list.json" => {
            let names: Vec<&str> = body["data"].as_array().unwrap().iter().filter_map(|r| r["id"].as_str()).collect();
            assert_eq!(names.len(), 4, "the four built-in roles: {body}");
            200
        }
        "teams-list.json" | "people-list.json" => {
            assert_eq!(body["meta"]["count"], 0, "{body}");
            200
        }
        "passwords-request-reset.json" => 204,
        "passwords-token-valid.json" => {
            assert_eq!(body["valid"], false, "{body}");
            200
        }
        "passwords-change.json" => 204,
        other => panic!("{other}: a fixture this test does not know; say what it must produce"),
    };
    assert_eq!(status, expected, "{fixture}: {body}");
}

/// Runs an API Gateway fixture through lambda_http's adapter around the function's service;
/// returns the encoded result (`statusCode`, `headers`, `body`, ...).
async fn invoke_http(app: &TestApp, function: &str, event: &str) -> Value {
    let routes = iam_cli::function_routes(function).expect("an HTTP function");
    let request: LambdaRequest = serde_json::from_str(event).expect("lambda_http parses the fixture");
    let mut adapter = Adapter::from(lambda_service(routes, app.state.clone()));
    let response = adapter.call(LambdaEvent::new(request, Context::default())).await.expect("infallible");
    serde_json::to_value(&response).expect("an API Gateway result")
}

#[tokio::test]
async fn every_fixture_gives_its_expected_answer_through_lambda_http() {
    for fixture in fixtures() {
        let app = TestApp::new().await;
        let raw = std::fs::read_to_string(events_dir().join(&fixture)).unwrap();
        let event = raw.replace(TOKEN_PLACEHOLDER, &app.admin_token);
        let function = function_of(&fixture);
        if BACKGROUND.contains(&function) {
            continue; // the scheduled events have their own test below
        }
        let result = invoke_http(&app, function, &event).await;
        let status = result["statusCode"].as_u64().expect("statusCode") as u16;
        let body: Value = match result["body"].as_str() {
            Some(text) if !text.is_empty() => serde_json::from_str(text).expect("a JSON body"),
            _ => Value::Null,
        };
        assert_eq!(result["isBase64Encoded"], false, "{fixture}: JSON bodies are text");
        expect(&fixture, status, &body);
    }
}

#[tokio::test]
async fn a_fixture_without_a_real_token_is_refused() {
    let app = TestApp::new().await;
    let raw = std::fs::read_to_string(events_dir().join("accounts-me.json")).unwrap();
    let result = invoke_http(&app, "accounts", &raw).await;
    assert_eq!(result["statusCode"], 401, "{result}");
    let body: Value = serde_json::from_str(result["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["errors"][0]["status"], "401", "{body}");
}

#[tokio::test]
async fn the_scheduled_event_runs_a_sweep_that_removes_what_expired() {
    let app = TestApp::new().await;
    // The admin's session (from logging in) outlives its TTL.
    app.clock.advance(time::Duration::seconds(app.state.config.session_ttl.as_secs() as i64 + 1));
    let raw = std::fs::read_to_string(events_dir().join("cleanup-scheduled.json")).unwrap();
    let payload: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(payload["detail-type"], "Scheduled Event");
    let cleanup = Cleanup { store: app.state.store.clone(), clock: app.clock.clone() };
    let event = LambdaEvent::new(payload.clone(), Context::default());
    let swept = serde_json::to_value(cleanup.handle(event.payload).await.expect("sweep")).unwrap();
    assert_eq!(swept["sessions_removed"], 1, "{swept}");
    let again = serde_json::to_value(cleanup.handle(payload).await.expect("sweep")).unwrap();
    assert_eq!(again["sessions_removed"], 0, "{again}");
}

#[test]
fn every_function_has_a_fixture_and_every_fixture_a_function() {
    let fixtures = fixtures();
    for function in FUNCTIONS.iter().chain(BACKGROUND) {
        assert!(fixtures.iter().any(|f| function_of(f) == *function), "{function} has no fixture in infra/events");
    }
    for fixture in &fixtures {
        let function = function_of(fixture);
        assert!(FUNCTIONS.contains(&function) || BACKGROUND.contains(&function), "{fixture}: no function {function}");
    }
}
