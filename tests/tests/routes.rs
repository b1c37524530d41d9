//! The route table in `shared` is what each function's router serves: every route exists on
//! its function alone, and routes not marked public refuse callers without a token.

use axum::body::Body;
use http::{Request, StatusCode};
use iam_shared::routes::{BACKGROUND, FUNCTIONS, ROUTES};
use iam_tests::TestApp;
use tower::ServiceExt;

#[tokio::test]
async fn each_route_is_served_by_its_function_and_guarded_unless_public() {
    let app = TestApp::new().await;
    for route in ROUTES {
        let routes =
            iam_cli::function_routes(route.function).unwrap_or_else(|| panic!("no router for {}", route.function));
        let service = iam_shared::http::service(routes, app.state.clone());
        let path = route.path.replace("{id}", "some-id");
        let request = Request::builder()
            .method(route.method)
            .uri(&path)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let status = service.oneshot(request).await.unwrap().status();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{} {path}", route.method);
        if route.public {
            assert_ne!(status, StatusCode::NOT_FOUND, "{} {path}", route.method);
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{} {path} is public", route.method);
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{} {path} must need a token", route.method);
        }
    }
}

#[test]
fn every_function_crate_is_in_the_table_and_serves_routes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
    let mut crates: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    crates.sort();
    let mut listed: Vec<&str> = [FUNCTIONS, BACKGROUND].concat();
    listed.sort();
    assert_eq!(crates, listed);
    for f in FUNCTIONS {
        assert!(ROUTES.iter().any(|r| r.function == *f), "{f} serves no route");
    }
}

#[test]
fn no_route_is_listed_twice() {
    let mut keys: Vec<_> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
    keys.sort();
    let before = keys.len();
    keys.dedup();
    assert_eq!(before, keys.len());
}
