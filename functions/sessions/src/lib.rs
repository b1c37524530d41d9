//! The sessions function: the OAuth 2.0 token endpoint (password and refresh_token grants),
//! revocation, the public keys and discovery document other services verify tokens with, and
//! the health check; and `/account_sessions`, where users and admins see and end sessions.
//! Failed logins are counted per email and per client address (`auth::throttle`).

mod account_sessions;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use iam_shared::auth::session::{self, Origin};
use iam_shared::auth::{Principal, jwt, throttle};
use iam_shared::http::{ClientIp, FlatBody};
use iam_shared::model::account::{self, Email};
use iam_shared::records;
use iam_shared::store::Item;
use iam_shared::store::schema::ACCOUNTS;
use iam_shared::{AppState, Error, Result};
use serde_json::{Map, Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/auth/token", post(token))
        .route("/api/v3/iam/auth/revoke", post(revoke))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/.well-known/openid-configuration", get(openid_configuration))
        .route("/health", get(health))
        .route("/api/v3/iam/account_sessions", get(account_sessions::list))
        .route("/api/v3/iam/account_sessions/{id}", get(account_sessions::show).delete(account_sessions::remove))
}

fn string_param<'a>(body: &'a Map<String, Value>, names: &[&str]) -> Result<&'a str> {
    names
        .iter()
        .find_map(|n| body.get(*n))
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::invalid_request(format!("{} is required", names[0])))
}

fn origin(headers: &HeaderMap, ip: Option<Extension<ClientIp>>) -> Origin {
    let user_agent =
        headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|ua| ua.chars().take(512).collect());
    Origin { user_agent, ip: ip.map(|Extension(ClientIp(ip))| ip) }
}

/// `POST /auth/token` (RFC 6749 §4.3 and §6).
async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: Option<Extension<ClientIp>>,
    FlatBody(body): FlatBody,
) -> Result<Response> {
    let origin = origin(&headers, ip);
    let client_address = origin.ip.clone();
    check_client(&body)?;
    let (account_id, session, refresh_token) = match string_param(&body, &["grant_type"])? {
        "password" => password_grant(&state, &body, origin, client_address).await?,
        "refresh_token" => refresh_grant(&state, &body, origin).await?,
        _ => {
            return Err(Error::OAuth {
                status: StatusCode::BAD_REQUEST,
                error: "unsupported_grant_type",
                description: Some("grant_type must be password or refresh_token".into()),
            });
        }
    };
    let session_id = records::id_of(&session).to_string();
    let access_token = state.keys.issue(&account_id, &session_id, state.now())?;
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": state.keys.ttl.whole_seconds(),
        "refresh_token": refresh_token,
        "session_id": session_id,
    });
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// A public client may name itself (RFC 6749 §3.2.1); we serve one, and refuse any other name
/// rather than mint tokens whose `client_id` says what the caller wished.
fn check_client(body: &Map<String, Value>) -> Result<()> {
    match body.get("client_id") {
        None => Ok(()),
        Some(id) if id.as_str() == Some(jwt::CLIENT_ID) => Ok(()),
        Some(_) => Err(Error::OAuth {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: Some("client_id names no client of this service".into()),
        }),
    }
}

/// Wrong password, unknown email, disabled, pending or expired account: one answer, after one
/// argon2 verification either way, so neither the body nor the time tells them apart. The
/// attempt takes its slots under the limits of the email and the client address before
/// anything else (`throttle::PasswordAttempt`): past either limit, 429 comes first, whatever
/// the password.
async fn password_grant(
    state: &AppState,
    body: &Map<String, Value>,
    origin: Origin,
    client_address: Option<String>,
) -> Result<(String, Item, String)> {
    let email = string_param(body, &["email", "username"])?;
    let password = string_param(body, &["password"])?;
    let now = state.now();
    let store = state.store.as_ref();
    let attempt = throttle::PasswordAttempt::begin(store, &state.config, email, client_address.as_deref(), now).await?;
    let account = match Email::parse(email) {
        Some(email) => account::find_by_email(store, &email).await?,
        None => None,
    };
    let usable = account.filter(|a| account::may_log_in(a, now));
    let hash = usable.as_ref().and_then(|a| a.get("password_hash")).and_then(Value::as_str);
    if !attempt.verify(store, &state.passwords, password, hash).await? {
        return Err(Error::invalid_grant());
    }
    let account = usable.ok_or_else(Error::invalid_grant)?;
    let account_id = records::id_of(&account).to_string();
    record_login(state, &account).await;
    let (session, refresh) = session::start(state, &account, origin).await?;
    Ok((account_id, session, refresh))
}

/// Keeps `last_login_at` true; losing a race with an admin's edit must not fail the login.
async fn record_login(state: &AppState, account: &Item) {
    let mut updated = account.clone();
    updated.insert("last_login_at".into(), json!(state.timestamp()));
    let uniques = account::uniques(account);
    if let Err(e) = records::replace(state.store.as_ref(), &ACCOUNTS, account, updated, &uniques, &uniques).await {
        tracing::warn!(error = %e, "could not record last_login_at");
    }
}

async fn refresh_grant(state: &AppState, body: &Map<String, Value>, origin: Origin) -> Result<(String, Item, String)> {
    let presented = string_param(body, &["refresh_token"])?;
    let (session, refresh) = session::refresh(state, presented, origin).await?;
    let account_id = session.get("account_id").and_then(Value::as_str).unwrap_or_default().to_string();
    let account = state.store.get(&ACCOUNTS, &account_id).await?;
    if !account.as_ref().is_some_and(|a| account::may_log_in(a, state.now())) {
        session::end(state, records::id_of(&session)).await?;
        return Err(Error::invalid_grant());
    }
    Ok((account_id, session, refresh))
}

/// `POST /auth/revoke`: ends the caller's session.
async fn revoke(State(state): State<AppState>, principal: Principal) -> Result<StatusCode> {
    session::end(&state, &principal.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.keys.jwks()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

async fn openid_configuration(State(state): State<AppState>) -> Json<Value> {
    let public = &state.config.public_url;
    Json(json!({
        "issuer": state.keys.issuer,
        "jwks_uri": format!("{public}/.well-known/jwks.json"),
        "token_endpoint": format!("{}/auth/token", state.base_url()),
        "revocation_endpoint": format!("{}/auth/revoke", state.base_url()),
        "grant_types_supported": ["password", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
    }))
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}
