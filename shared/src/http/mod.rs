//! The HTTP layer, the top of the stack: the service every function's router becomes (request
//! ids, access lines, JSON:API 404/405 fallbacks, `no-store` for authenticated responses), what
//! handlers extract from requests (`extract`), the documents they answer with (`render`), the
//! one mapping of errors to responses (`errors`), and what browsers may do (`cors`).

pub mod cors;
mod errors;
pub mod extract;
pub mod handlers;
pub mod render;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::app::AppState;
use crate::error::Error;
use crate::jsonapi::MEDIA_TYPE;
use crate::request_id;
use crate::routes;
use tracing::Instrument;

pub use crate::jsonapi::ActionBody;
pub use extract::{ClientIp, FlatBody, JsonBody, ResourceId};
pub use render::{list, resource_response, show_response};

/// A JSON body answered as `application/vnd.api+json`.
pub struct JsonApi(pub Value);

impl IntoResponse for JsonApi {
    fn into_response(self) -> Response {
        let mut r = axum::Json(self.0).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
        r
    }
}

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// API Gateway's id of the request, which the Lambda adapter puts in the request's extensions.
#[derive(Debug, Clone)]
pub struct GatewayRequestId(pub String);

/// The id a caller sent in `X-Request-Id`, if it is one we may echo and log: 1 to 128 of
/// letters, digits and `-_.:=+/` (a UUID, API Gateway's, a trace id), nothing that could forge
/// a log line or a header.
fn sane_request_id(request: &Request) -> Option<String> {
    let id = request.headers().get("x-request-id")?.to_str().ok()?;
    let sane =
        (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:=+/".contains(&b));
    sane.then(|| id.to_string())
}

/// Names the request (the caller's id, else API Gateway's, else a new one), runs it in a span
/// carrying that id so that every log line of the request names it, answers with the id, and
/// writes one access line: method, route template (never the path or query, which may carry
/// tokens), status and duration.
async fn with_request_id(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let id = sane_request_id(&request)
        .or_else(|| request.extensions().get::<GatewayRequestId>().map(|g| g.0.clone()))
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let method = request.method().clone();
    let route = routes::of_request(method.as_str(), request.uri().path()).map_or("-", |r| r.path);
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = request_id::scope(id.clone(), next.run(request)).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            target: "iam::access",
            method = %method,
            route,
            status = response.status().as_u16(),
            // Microseconds' precision, written as milliseconds (`6.872`).
            duration_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        );
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// No route takes the request: 405 with `Allow` when the route table knows its path with other
/// methods, else 404. The table is global, so a function answers for routes it does not serve
/// (it may be API Gateway's `$default` route), and locally alike.
async fn unmatched(request: Request) -> Response {
    match routes::unmatched(request.uri().path()) {
        None => Error::NotFound.into_response(),
        Some(methods) => {
            let mut response = Error::MethodNotAllowed.into_response();
            if let Ok(allow) = HeaderValue::from_str(&methods.join(", ")) {
                response.headers_mut().insert(header::ALLOW, allow);
            }
            response
        }
    }
}

/// Turns a function's routes (or every function's, merged) into the service that answers
/// requests: JSON:API 404/405 fallbacks, a request id and an access line for every request.
pub fn service(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(unmatched)
        .method_not_allowed_fallback(unmatched)
        .layer(middleware::from_fn(no_store_when_authenticated))
        .layer(middleware::from_fn(with_request_id))
        .with_state(state)
}

/// A response to a request that carried credentials is the caller's alone: no shared cache or
/// browser may keep it (RFC 9111 `no-store`; OWASP ASVS 5.0 §14.3).
async fn no_store_when_authenticated(request: Request, next: Next) -> Response {
    let authenticated = request.headers().contains_key(header::AUTHORIZATION);
    let mut response = next.run(request).await;
    if authenticated {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
