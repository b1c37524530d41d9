//! The sessions function: the OAuth 2.0 token endpoint (password and refresh_token grants),
//! revocation, the public keys and discovery document other services verify tokens with, and
//! the health check; `/account_sessions`, where users and admins see and end sessions; and
//! second factors (`mfa`), which the second step of a login verifies here. Failed logins are
//! counted per email and per client address (`usecase::credentials`).

mod account_sessions;
mod mfa;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use iam_shared::auth::Principal;
use iam_shared::auth::session::Origin;
use iam_shared::http::{ClientIp, FlatBody};
use iam_shared::usecase::sessions::{self, Outcome};
use iam_shared::{AppState, Error, Result};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/auth/token", post(token))
        .route("/api/v3/iam/auth/revoke", post(revoke))
        .route("/api/v3/iam/auth/introspect", post(introspect))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/oauth-authorization-server", get(discovery))
        .route("/health", get(health))
        .merge(account_sessions::routes())
        .merge(mfa::routes())
}

fn origin(headers: &HeaderMap, ip: Option<Extension<ClientIp>>) -> Origin {
    let user_agent =
        headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|ua| ua.chars().take(512).collect());
    Origin { user_agent, ip: ip.map(|Extension(ClientIp(ip))| ip) }
}

/// `POST /auth/token` (RFC 6749 §4.3 and §6): the password and refresh token grants, and the
/// `mfa-otp` grant that completes a login a second factor guards.
async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: Option<Extension<ClientIp>>,
    body: std::result::Result<FlatBody, Error>,
) -> Result<Response> {
    // Every error of the token endpoint is an OAuth error body (RFC 6749 §5.2), even for a
    // body it cannot read or a client past the attempt limits.
    let FlatBody(body) = body.map_err(Error::into_oauth)?;
    let granted = match sessions::grant(&state, &body, origin(&headers, ip)).await.map_err(Error::into_oauth)? {
        Outcome::Tokens(granted) => granted,
        // API.md §3: a right password with a second step due creates no session.
        Outcome::SecondStep { step, mfa_token } => {
            let body = json!({
                "error": step.error(),
                "error_description": "a second factor is required to complete this login",
                "mfa_token": mfa_token,
            });
            return Ok(no_store((StatusCode::FORBIDDEN, Json(body)).into_response()));
        }
    };
    let body = json!({
        "access_token": granted.access_token,
        "token_type": "Bearer",
        "expires_in": granted.expires_in,
        "refresh_token": granted.refresh_token,
        "session_id": granted.session_id,
    });
    Ok(no_store(Json(body).into_response()))
}

/// `POST /auth/revoke`, in two forms. With a `token` in a form or JSON body (RFC 7009, public):
/// the session of that token ends, and the answer is an empty 200 whatever the token was; its
/// errors are OAuth bodies. Otherwise the caller's bearer token names the session to end: 204.
async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: std::result::Result<FlatBody, Error>,
) -> Result<Response> {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match body {
        Ok(FlatBody(body)) if body.contains_key("token") || authorization.is_none() => {
            sessions::revoke_token(&state, &body).await.map_err(Error::into_oauth)?;
            Ok(no_store(StatusCode::OK.into_response()))
        }
        _ => {
            let principal =
                Principal::authenticate(state.store.as_ref(), &state.keys, authorization, state.now()).await?;
            sessions::revoke(&state, &principal).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

/// `POST /auth/introspect` (RFC 7662): for a bearer holding `tokens:introspect`, whether a token
/// works and whose it is. Every error is an OAuth body.
async fn introspect(
    State(state): State<AppState>,
    principal: std::result::Result<Principal, Error>,
    body: std::result::Result<FlatBody, Error>,
) -> Result<Response> {
    let principal = principal.map_err(Error::into_oauth)?;
    let FlatBody(body) = body.map_err(Error::into_oauth)?;
    let answer = sessions::introspect(&state, &principal, &body).await.map_err(Error::into_oauth)?;
    Ok(no_store(Json(answer).into_response()))
}

/// Token endpoints' answers are never cached (RFC 6749 §5.1).
fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.keys.jwks()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

/// `/.well-known/openid-configuration` and RFC 8414's `/.well-known/oauth-authorization-server`:
/// one document that claims only what the service implements: no authorization endpoint, so no
/// response type; no ID tokens, so no ID-token algorithm. Introspection takes a bearer with
/// `tokens:introspect`, which RFC 8414's registry of auth methods has no name for.
async fn discovery(State(state): State<AppState>) -> Json<Value> {
    let public = &state.config.public_url;
    Json(json!({
        "issuer": state.keys.issuer,
        "jwks_uri": format!("{public}/.well-known/jwks.json"),
        "token_endpoint": format!("{}/auth/token", state.base_url()),
        "revocation_endpoint": format!("{}/auth/revoke", state.base_url()),
        "introspection_endpoint": format!("{}/auth/introspect", state.base_url()),
        "grant_types_supported": sessions::GRANT_TYPES,
        "revocation_endpoint_auth_methods_supported": ["none"],
        "token_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": [],
        "scopes_supported": [],
    }))
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}
