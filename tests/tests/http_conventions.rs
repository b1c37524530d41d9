//! The conventions every response follows: a request id (the caller's when sane), JSON:API
//! 404 and 405 (with `Allow`, from any function), CORS for the configured origins, opaque 500s
//! whose cause goes to the log only, and the health check.

use axum::body::Body;
use http::{Method, Request, StatusCode};
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
    let reply = app.call(Method::PUT, "/api/v3/iam/accounts/some-id", Some(&app.admin_token), None).await;
    assert_eq!(reply.header("allow"), Some("DELETE, GET, PATCH"), "RFC 9110 §15.5.6: 405 says what is allowed");
}

/// In the cloud, API Gateway sends what no route takes to one function (the template's
/// `$default` route): that function alone answers for every other function's paths.
#[tokio::test]
async fn the_default_route_function_answers_404_and_405_for_every_path() {
    use iam_shared::routes::{DEFAULT_ROUTE_FUNCTION, ROUTES};
    use tower::ServiceExt;
    let app = TestApp::new().await;
    let routes = iam_cli::function_routes(DEFAULT_ROUTE_FUNCTION).expect("an HTTP function");
    let function = iam_shared::http::service(routes, app.state.clone());
    let ask = |method: &str, path: &str| {
        let request = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        function.clone().oneshot(request)
    };
    let unknown = ask("GET", "/api/v3/iam/nothing-here").await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(unknown.headers()["content-type"], "application/vnd.api+json");
    for route in ROUTES.iter().filter(|r| r.function != DEFAULT_ROUTE_FUNCTION) {
        let path = route.path.replace("{id}", "x1").replace("{external_id}", "x2");
        let answer = ask("PUT", &path).await.unwrap();
        assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED, "PUT {path}");
        assert!(answer.headers()["allow"].to_str().unwrap().contains(route.method), "{path}");
    }
}

#[tokio::test]
async fn a_sane_request_id_from_the_caller_is_kept_and_any_other_replaced() {
    let app = TestApp::new().await;
    let with_id = |id: &str| Request::get("/health").header("x-request-id", id).body(Body::empty()).unwrap();
    let kept = app.send(with_id("trace-0f3a:17/x=")).await;
    assert_eq!(kept.header("x-request-id"), Some("trace-0f3a:17/x="));
    for insane in ["", "a b", "line\tbreak", &"x".repeat(129), "é"] {
        let reply = app
            .send(Request::get("/health").header("x-request-id", insane.as_bytes()).body(Body::empty()).unwrap())
            .await;
        let id = reply.header("x-request-id").unwrap();
        assert!(id != insane && id.len() == 36, "{insane:?} replaced by a generated id, got {id:?}");
    }
}

const ORIGIN: &str = "https://app.example.com";

fn from_origin(method: &str, path: &str, origin: &str) -> http::request::Builder {
    Request::builder().method(method).uri(path).header("origin", origin)
}

#[tokio::test]
async fn browsers_on_a_configured_origin_may_call_the_api_and_no_other() {
    let app = TestApp::with_env(&[("IAM_CORS_ORIGINS", &format!("{ORIGIN},http://localhost:5173"))]).await;
    let preflight = app
        .send(
            from_origin("OPTIONS", "/api/v3/iam/accounts/x1", ORIGIN)
                .header("access-control-request-method", "PATCH")
                .header("access-control-request-headers", "authorization,content-type")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(preflight.status.is_success(), "{:?}", preflight.status);
    assert_eq!(preflight.header("access-control-allow-origin"), Some(ORIGIN));
    for method in ["DELETE", "GET", "PATCH", "POST"] {
        assert!(preflight.header("access-control-allow-methods").unwrap().contains(method), "{method}");
    }
    let headers = preflight.header("access-control-allow-headers").unwrap().to_ascii_lowercase();
    assert!(headers.contains("authorization") && headers.contains("content-type"), "{headers}");
    assert_eq!(preflight.header("access-control-max-age"), Some("600"));

    let mut get = from_origin("GET", "/api/v3/iam/accounts?count=true", ORIGIN).body(Body::empty()).unwrap();
    get.headers_mut().insert("authorization", format!("Bearer {}", app.admin_token).parse().unwrap());
    let listed = app.send(get).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.header("access-control-allow-origin"), Some(ORIGIN));
    let exposed = listed.header("access-control-expose-headers").unwrap().to_ascii_lowercase();
    for header in ["etag", "location", "x-request-id", "x-total-count", "retry-after"] {
        assert!(exposed.contains(header), "{header} exposed: {exposed}");
    }
    assert!(listed.header("vary").unwrap_or_default().to_ascii_lowercase().contains("origin"), "caches key on Origin");

    let stranger = app.send(from_origin("GET", "/health", "https://evil.example").body(Body::empty()).unwrap()).await;
    assert_eq!(stranger.status, StatusCode::OK, "the request itself is served; the browser withholds it");
    assert_eq!(stranger.header("access-control-allow-origin"), None);
    let stranger = app
        .send(
            from_origin("OPTIONS", "/api/v3/iam/accounts", "https://evil.example")
                .header("access-control-request-method", "POST")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(stranger.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn without_configured_origins_no_browser_is_allowed() {
    let app = TestApp::new().await;
    let reply = app.send(from_origin("GET", "/health", ORIGIN).body(Body::empty()).unwrap()).await;
    assert_eq!(reply.header("access-control-allow-origin"), None);
    let preflight = app
        .send(
            from_origin("OPTIONS", "/api/v3/iam/accounts", ORIGIN)
                .header("access-control-request-method", "POST")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(preflight.header("access-control-allow-origin"), None);
    assert_eq!(preflight.status, StatusCode::METHOD_NOT_ALLOWED);
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

/// One access line per request, in the request's span: its method, route template, status
/// and duration, never its path or query (tokens travel in both).
#[tokio::test]
async fn each_request_logs_one_access_line_naming_its_route_never_its_path() {
    let app = TestApp::new().await;
    let checked =
        app.call(Method::GET, "/api/v3/iam/account/passwords/token_valid?token=NotARealToken-123", None, None).await;
    let joined =
        app.action(Method::PATCH, "/api/v3/iam/accounts/NotAnInvitation-456/join", None, serde_json::json!({})).await;
    let nowhere = app.call(Method::GET, "/nowhere/NotAPath-789", None, None).await;
    let log = app.logs.text();
    for (reply, route, status) in [
        (checked, "/api/v3/iam/account/passwords/token_valid", 200),
        (joined, "/api/v3/iam/accounts/{id}/join", 422),
        (nowhere, "-", 404),
    ] {
        assert_eq!(reply.status.as_u16(), status, "{route}: {:?}", reply.body);
        let id = reply.header("x-request-id").unwrap();
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(id) && l.contains("iam::access")).collect();
        assert_eq!(lines.len(), 1, "one access line for {route}:\n{log}");
        let line = lines[0];
        for part in [route, &format!("status={status}"), "duration_ms=", "method="] {
            assert!(line.contains(part), "{part} in {line}");
        }
    }
    for secret in ["NotARealToken-123", "NotAnInvitation-456", "NotAPath-789"] {
        assert!(!log.contains(secret), "{secret} logged:\n{log}");
    }
}
