//! The conventions every response follows: a request id, JSON:API 404 and 405, opaque 500s
//! whose cause goes to the log only, and the health check.

use http::{Method, StatusCode};
use iam_tests::TestApp;
use iam_tests::faults::{Fault, Faulty, Op};

#[tokio::test]
async fn every_response_carries_a_distinct_request_id() {
    let app = TestApp::new().await;
    let a = app.call(Method::GET, "/health", None, None).await;
    let b = app.call(Method::GET, "/nowhere", None, None).await;
    let (a, b) = (a.header("x-request-id").unwrap().to_string(), b.header("x-request-id").unwrap().to_string());
    assert_ne!(a, b);
    assert_eq!(a.len(), 36);
}

#[tokio::test]
async fn responses_to_authenticated_requests_are_never_stored() {
    let app = TestApp::new().await;
    for path in ["/api/v3/iam/accounts/me", "/api/v3/iam/organizations", "/api/v3/iam/nothing-here"] {
        let reply = app.call(Method::GET, path, Some(&app.admin_token), None).await;
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{path}: {:?}", reply.status);
    }
    let refused = app.call(Method::GET, "/api/v3/iam/accounts/me", Some("not-a-token"), None).await;
    assert_eq!((refused.status, refused.header("cache-control")), (StatusCode::UNAUTHORIZED, Some("no-store")));
    let jwks = app.call(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(jwks.header("cache-control"), Some("public, max-age=300"), "public keys stay cacheable");
}

#[tokio::test]
async fn health_is_public_and_ok() {
    let app = TestApp::new().await;
    let reply = app.call(Method::GET, "/health", None, None).await;
    assert_eq!((reply.status, reply.body["status"].as_str()), (StatusCode::OK, Some("ok")));
}

#[tokio::test]
async fn an_unknown_path_is_a_json_api_404() {
    let app = TestApp::new().await;
    let reply = app.call(Method::GET, "/api/v3/iam/nothing-here", Some(&app.admin_token), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_codes(), ["not_found"]);
    assert_eq!(reply.header("content-type"), Some("application/vnd.api+json"));
}

#[tokio::test]
async fn a_wrong_method_on_a_known_path_is_405() {
    let app = TestApp::new().await;
    for (method, path) in [
        (Method::PUT, "/api/v3/iam/organizations"),
        (Method::DELETE, "/api/v3/iam/organizations"),
        (Method::GET, "/api/v3/iam/auth/token"),
    ] {
        let reply = app.call(method.clone(), path, Some(&app.admin_token), None).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(reply.error_codes(), ["method_not_allowed"]);
    }
}

#[tokio::test]
async fn a_failing_backend_gives_an_opaque_500_with_the_request_id() {
    let mut broken = TestApp::new().await;
    // The backend is down: every call fails, with a cause naming a host the answer must not.
    let down = Faulty::new(broken.state.store.clone());
    for op in [Op::Get, Op::BatchGet, Op::Query, Op::Transact, Op::Update, Op::PutMany] {
        down.inject(op, Fault::Backend, None);
    }
    broken.swap_store(down);
    for (method, path) in [(Method::GET, "/api/v3/iam/organizations"), (Method::POST, "/api/v3/iam/auth/revoke")] {
        let reply = broken.call(method, path, Some(&broken.admin_token), None).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        let id = reply.header("x-request-id").unwrap();
        assert_eq!(reply.body, serde_json::json!({"errors": [{"status": "500", "code": "internal", "id": id}]}));
    }
    let login = broken.token(serde_json::json!({"grant_type": "password", "email": "a@b.co", "password": "x"})).await;
    assert_eq!(login.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!login.body.to_string().contains("secret-host"));
}
