//! The passwords function: forgotten passwords (request a reset link, check it, use it) and a
//! logged-in user's password change (`usecase::passwords`). Reset links are single-use, 1-hour
//! tokens stored only as hashes; a reset ends every session of the account, a change every
//! other one. It also serves the OpenAPI document of the whole API.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use iam_shared::auth::Principal;
use iam_shared::http::{ActionBody, ClientIp, JsonApi};
use iam_shared::query::params::decode_pairs;
use iam_shared::usecase::passwords;
use iam_shared::{AppState, Error, Result};
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/account/passwords/request_reset", post(request_reset))
        .route("/api/v3/iam/account/passwords/reset", post(reset))
        .route("/api/v3/iam/account/passwords/token_valid", get(token_valid))
        .route("/api/v3/iam/account/passwords/change", post(change))
        .route("/openapi.json", get(openapi))
}

/// `GET /openapi.json` (public): the contract (API.md §8), built on the first request of a
/// process. Served here because this is the smallest HTTP function (`make build`): the
/// generator's code fits under the 8 MB limit with room to spare.
async fn openapi() -> Response {
    let mut response =
        ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], iam_shared::openapi::json())
            .into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

/// `POST /account/passwords/request_reset` (public): 204 whatever the email, after the same
/// minimum time, and an email only to an account that may log in; 429 past the limits per
/// email and per client address.
async fn request_reset(
    State(state): State<AppState>,
    ip: Option<Extension<ClientIp>>,
    body: ActionBody,
) -> Result<StatusCode> {
    let address = ip.map(|Extension(ClientIp(ip))| ip);
    passwords::request_reset(&state, address.as_deref(), &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /account/passwords/reset` (public): a new password through a reset link.
async fn reset(State(state): State<AppState>, body: ActionBody) -> Result<StatusCode> {
    passwords::reset(&state, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /account/passwords/token_valid?token=T` (public): whether a reset link would work now;
/// it is not used up.
async fn token_valid(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<JsonApi> {
    let pairs = decode_pairs(raw.as_deref());
    let token = match pairs.iter().find(|(k, _)| k == "token") {
        Some((_, t)) if !t.is_empty() => t,
        _ => return Err(Error::bad_parameter("token", "required", "token is required")),
    };
    Ok(JsonApi(json!({"valid": passwords::reset_link_works(&state, token).await?})))
}

/// `POST /account/passwords/change` (bearer): the current password proves the caller is the
/// user; wrong guesses count as failed logins.
async fn change(
    State(state): State<AppState>,
    principal: Principal,
    ip: Option<Extension<ClientIp>>,
    body: ActionBody,
) -> Result<StatusCode> {
    let address = ip.map(|Extension(ClientIp(ip))| ip);
    passwords::change(&state, &principal, address.as_deref(), &body).await?;
    Ok(StatusCode::NO_CONTENT)
}
