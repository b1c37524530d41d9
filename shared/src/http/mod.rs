//! The HTTP layer, the top of the stack: the service every function's router becomes (request
//! ids, JSON:API 404/405 fallbacks, `no-store` for authenticated responses), what handlers
//! extract from requests (`extract`), the documents they answer with (`render`), and the one
//! mapping of errors to responses (`errors`).

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

async fn with_request_id(request: Request, next: Next) -> Response {
    let id = uuid::Uuid::now_v7().to_string();
    let mut response = request_id::scope(id.clone(), next.run(request)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

async fn not_found() -> Error {
    Error::NotFound
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

/// Turns a function's routes (or every function's, merged) into the service that answers
/// requests: JSON:API 404/405 fallbacks and a request id on every response.
pub fn service(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
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
