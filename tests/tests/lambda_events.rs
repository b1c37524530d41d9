//! A function as Lambda runs it: an API Gateway HTTP API (v2) event parsed by lambda_http,
//! served by the function's router with the shared Lambda plumbing (client address from the
//! request context).

use http::StatusCode;
use http_body_util::BodyExt;
use iam_shared::lambda::lambda_service;
use iam_shared::store::schema::SESSIONS;
use iam_tests::TestApp;
use iam_tests::app::{ADMIN_EMAIL, ADMIN_PASSWORD};
use serde_json::{Value, json};
use tower::ServiceExt;

fn event(method: &str, path: &str, query: &str, headers: Value, body: &str) -> String {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "body": body,
        "isBase64Encoded": false,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "test"},
            "requestId": "r1", "routeKey": "$default", "stage": "$default",
            "time": "23/Nov/2026:10:00:00 +0000", "timeEpoch": 1795428000000_u64
        }
    })
    .to_string()
}

async fn invoke(router: axum::Router, event: String) -> (StatusCode, Value) {
    let request = lambda_http::request::from_str(&event).expect("a valid API Gateway v2 event");
    let response = router.oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_sessions_lambda_logs_in_from_an_api_gateway_event_and_records_the_source_ip() {
    let app = TestApp::new().await;
    let sessions = lambda_service(iam_sessions::router(), app.state.clone());
    let form = format!(
        "grant_type=password&username={}&password={}",
        ADMIN_EMAIL.replace('@', "%40"),
        ADMIN_PASSWORD.replace('!', "%21")
    );
    let headers = json!({"content-type": "application/x-www-form-urlencoded", "user-agent": "lambda-test"});
    let (status, body) = invoke(sessions, event("POST", "/api/v3/iam/auth/token", "", headers, &form)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let session = app.state.store.get(&SESSIONS, body["session_id"].as_str().unwrap()).await.unwrap().unwrap();
    assert_eq!(session["ip"], "203.0.113.7");
    assert_eq!(session["user_agent"], "lambda-test");
}

#[tokio::test]
async fn the_organizations_lambda_serves_a_listing_event_with_its_query_string() {
    let app = TestApp::new().await;
    app.create_org("Acme").await;
    app.create_org("Beta").await;
    let organizations = lambda_service(iam_organizations::router(), app.state.clone());
    let headers = json!({"authorization": format!("Bearer {}", app.admin_token)});
    let e = event("GET", "/api/v3/iam/organizations", "filter%5Bname%5D=Beta&count=true", headers, "");
    let (status, body) = invoke(organizations.clone(), e).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["meta"]["count"], 1);
    assert_eq!(body["data"][0]["attributes"]["name"], "Beta");
    let (status, _) = invoke(organizations, event("GET", "/api/v3/iam/organizations", "", json!({}), "")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_accounts_lambda_creates_from_a_json_body_and_lists_with_an_expression() {
    let app = TestApp::new().await;
    let accounts = lambda_service(iam_accounts::router(), app.state.clone());
    let auth = format!("Bearer {}", app.admin_token);
    let headers = json!({"authorization": auth, "content-type": "application/vnd.api+json"});
    let body = json!({"data": {"type": "accounts", "attributes": {"email": "ann@acme.test"}}}).to_string();
    let (status, created) = invoke(accounts.clone(), event("POST", "/api/v3/iam/accounts", "", headers, &body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let query = "filters=email%20sw%20%22ANN%22%20and%20status%20eq%20%22pending%22&count=true";
    let e = event("GET", "/api/v3/iam/accounts", query, json!({"authorization": auth}), "");
    let (status, body) = invoke(accounts, e).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["meta"]["count"], 1);
    assert_eq!(body["data"][0]["id"], created["data"]["id"]);
}

/// The request id is API Gateway's, unless the caller sent a sane one of its own; an unknown
/// path on the `$default` route's function is the JSON:API 404.
#[tokio::test]
async fn a_lambda_answers_with_api_gateways_request_id_or_the_callers() {
    let app = TestApp::new().await;
    let function = || {
        let routes = iam_cli::function_routes(iam_shared::routes::DEFAULT_ROUTE_FUNCTION).unwrap();
        lambda_service(routes, app.state.clone())
    };
    let id_of = |event: String| {
        let function = function();
        async move {
            let request = lambda_http::request::from_str(&event).expect("an event");
            let response = function.oneshot(request).await.expect("infallible");
            (response.status(), response.headers()["x-request-id"].to_str().unwrap().to_string())
        }
    };
    let (status, id) = id_of(event("GET", "/nowhere", "", json!({}), "")).await;
    assert_eq!((status, id.as_str()), (StatusCode::NOT_FOUND, "r1"), "API Gateway's id");
    let (_, id) = id_of(event("GET", "/nowhere", "", json!({"x-request-id": "client-7"}), "")).await;
    assert_eq!(id, "client-7", "the caller's id, when sane");
    let (_, id) = id_of(event("GET", "/nowhere", "", json!({"x-request-id": "bad id"}), "")).await;
    assert_eq!(id, "r1");
}
