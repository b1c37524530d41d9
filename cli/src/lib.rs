//! The local gateway: every function's router merged into one service, as `iam serve` runs it
//! and as the end-to-end tests drive it.

pub mod reference;
pub mod server;
pub mod signing_keys;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use iam_shared::AppState;
use iam_shared::http::{ClientIp, cors, service};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Every function's routes on one router (what API Gateway does in the cloud).
pub fn gateway_routes() -> Router<AppState> {
    Router::new()
        .merge(iam_accounts::router())
        .merge(iam_organizations::router())
        .merge(iam_passwords::router())
        .merge(iam_roles::router())
        .merge(iam_sessions::router())
        .merge(iam_teams::router())
        .merge(iam_people::router())
}

/// The function router that serves `function`, as its Lambda would run it.
pub fn function_routes(function: &str) -> Option<Router<AppState>> {
    match function {
        "accounts" => Some(iam_accounts::router()),
        "organizations" => Some(iam_organizations::router()),
        "passwords" => Some(iam_passwords::router()),
        "roles" => Some(iam_roles::router()),
        "sessions" => Some(iam_sessions::router()),
        "teams" => Some(iam_teams::router()),
        "people" => Some(iam_people::router()),
        _ => None,
    }
}

async fn client_ip_from_socket(mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(addr)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        request.extensions_mut().insert(ClientIp(addr.ip().to_string()));
    }
    next.run(request).await
}

/// The whole local API, with CORS for the origins of `IAM_CORS_ORIGINS` (what the template's
/// HTTP API configuration does in the cloud, from the same `http::cors` description).
pub fn gateway(state: AppState) -> Router {
    let cors = cors_layer(&state.config.cors_origins);
    let app = service(gateway_routes(), state).layer(middleware::from_fn(client_ip_from_socket));
    match cors {
        Some(cors) => app.layer(cors),
        None => app,
    }
}

/// tower-http's CORS (preflights answered, `Vary: Origin`, headers only for a listed origin),
/// or none when no origin is listed.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let values = |names: &[&str]| names.iter().filter_map(|n| n.parse().ok()).collect::<Vec<HeaderName>>();
    let methods: Vec<Method> = cors::allowed_methods().iter().filter_map(|m| m.parse().ok()).collect();
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods(methods)
            .allow_headers(values(cors::ALLOWED_HEADERS))
            .expose_headers(values(cors::EXPOSED_HEADERS))
            .max_age(std::time::Duration::from_secs(cors::MAX_AGE_SECS)),
    )
}
