//! Second factors (`usecase::mfa`): a user's own TOTP enrolment, confirmation and removal
//! under `/accounts/me/mfa/totp`, and an admin's reset of an account's second factor. Served
//! by the function that verifies codes at login, so that only it holds the key the secrets
//! are sealed under.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{delete, post};
use axum::{Extension, Json, Router};
use iam_shared::auth::Principal;
use iam_shared::http::{ActionBody, ClientIp, ResourceId};
use iam_shared::usecase::mfa::{self, Enrollee};
use iam_shared::{AppState, Result};
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/accounts/me/mfa/totp", post(enrol).delete(remove))
        .route("/api/v3/iam/accounts/me/mfa/totp/confirm", post(confirm))
        .route("/api/v3/iam/accounts/{id}/mfa", delete(reset))
}

/// The enrolling caller: `Authorization: MFA <mfa_token>` (an enrolment its organization
/// requires, before any session exists), else the bearer's account.
enum Caller {
    Token(String),
    Bearer(Principal),
}

async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller> {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Some(token) = authorization.and_then(|h| h.strip_prefix("MFA ").or_else(|| h.strip_prefix("mfa "))) {
        return Ok(Caller::Token(token.trim().to_string()));
    }
    Ok(Caller::Bearer(Principal::authenticate(state.store.as_ref(), &state.keys, authorization, state.now()).await?))
}

impl Caller {
    fn enrollee(&self) -> Enrollee<'_> {
        match self {
            Caller::Token(token) => Enrollee::Token(token),
            Caller::Bearer(principal) => Enrollee::Bearer(principal),
        }
    }
}

fn address(ip: Option<Extension<ClientIp>>) -> Option<String> {
    ip.map(|Extension(ClientIp(ip))| ip)
}

/// `POST /accounts/me/mfa/totp` → 201 with the secret and its `otpauth://` URI, shown once.
async fn enrol(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: Option<Extension<ClientIp>>,
    body: ActionBody,
) -> Result<(StatusCode, Json<Value>)> {
    let caller = caller(&state, &headers).await?;
    let enrolment = mfa::enrol(&state, caller.enrollee(), &body, address(ip).as_deref()).await?;
    let answer = json!({"secret": enrolment.secret, "otpauth_uri": enrolment.otpauth_uri});
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `POST /accounts/me/mfa/totp/confirm` → 200 with the ten recovery codes, shown once.
async fn confirm(State(state): State<AppState>, headers: HeaderMap, body: ActionBody) -> Result<Json<Value>> {
    let caller = caller(&state, &headers).await?;
    let codes = mfa::confirm(&state, caller.enrollee(), &body).await?;
    Ok(Json(json!({"recovery_codes": codes})))
}

/// `DELETE /accounts/me/mfa/totp` (bearer, `current_password` and `code` or `recovery_code`).
async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ip: Option<Extension<ClientIp>>,
    body: ActionBody,
) -> Result<StatusCode> {
    mfa::remove_own(&state, &principal, &body, address(ip).as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /accounts/{id}/mfa` (`accounts:write` where the account is): resets its second
/// factor and ends its sessions.
async fn reset(State(state): State<AppState>, principal: Principal, ResourceId(id): ResourceId) -> Result<StatusCode> {
    mfa::reset(&state, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
