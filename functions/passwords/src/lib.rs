//! The passwords function: forgotten passwords (request a reset link, check it, use it) and a
//! logged-in user's password change. Reset links are single-use, 1-hour tokens stored only as
//! hashes; a reset ends every session of the account, a change every other one.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Router};
use iam_shared::auth::password::new_password_problems;
use iam_shared::auth::single_use::{self, Purpose};
use iam_shared::auth::{Principal, session, throttle};
use iam_shared::error::Problem;
use iam_shared::http::{ActionBody, ClientIp};
use iam_shared::jsonapi::JsonApi;
use iam_shared::mail::{self, templates};
use iam_shared::model::account::{self, Email};
use iam_shared::store::Item;
use iam_shared::store::schema::ACCOUNTS;
use iam_shared::{AppState, Error, Result, clock, records};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/account/passwords/request_reset", post(request_reset))
        .route("/api/v3/iam/account/passwords/reset", post(reset))
        .route("/api/v3/iam/account/passwords/token_valid", get(token_valid))
        .route("/api/v3/iam/account/passwords/change", post(change))
}

fn invalid_token() -> Error {
    single_use::invalid_token(Purpose::PasswordReset)
}

/// `POST /account/passwords/request_reset` (public): 204 whatever the email, after the same
/// minimum time, and an email only to an account that may log in.
async fn request_reset(State(state): State<AppState>, body: ActionBody) -> Result<StatusCode> {
    let started = tokio::time::Instant::now();
    let email = body.string("email").map_err(|p| Error::Validation(vec![p]))?.to_string();
    let limit = state.config.reset_requests_per_account;
    // Counted by email whether or not an account has it: a 429 tells nothing either.
    throttle::reserve(state.store.as_ref(), &throttle::reset_by_email(&email), limit, state.now()).await?;
    let outcome = send_reset_link(&state, &email).await;
    tokio::time::sleep_until(started + state.config.reset_min_response).await;
    outcome.map(|()| StatusCode::NO_CONTENT)
}

async fn send_reset_link(state: &AppState, email: &str) -> Result<()> {
    let store = state.store.as_ref();
    let now = state.now();
    let account = match Email::parse(email) {
        Some(email) => account::find_by_email(store, &email).await?,
        None => None,
    };
    let Some(account) = account.filter(|a| account::may_log_in(a, now)) else { return Ok(()) };
    let id = records::id_of(&account);
    let issued = single_use::issue(Purpose::PasswordReset, &account, now)?;
    // Only the newest link works.
    let mut writes = single_use::revoke_all(store, Purpose::PasswordReset, id, None).await?;
    writes.push(issued.write);
    store.transact(writes).await?;
    let link = templates::reset_link(&state.config.public_url, &issued.token);
    let to = account.get("email").and_then(Value::as_str).unwrap_or(email);
    let name = account.get("name").and_then(Value::as_str);
    let message = templates::password_reset(to, name, &link, &clock::format(issued.expires_at));
    mail::deliver(state.mailer.as_ref(), &message, "password reset").await;
    Ok(())
}

/// The live reset token `token` stands for and its account, if that account may still log in.
async fn redeemable(state: &AppState, token: &str) -> Result<Option<(Item, Item)>> {
    let now = state.now();
    single_use::redeemable(state.store.as_ref(), Purpose::PasswordReset, token, now, |a| account::may_log_in(a, now))
        .await
}

/// The account with `password` as its new password, or every problem with it.
async fn with_new_password(state: &AppState, account: &Item, body: &ActionBody) -> Result<Item> {
    let email = account.get("email").and_then(Value::as_str);
    let password = body.string("password");
    let problems = new_password_problems(password.clone(), email, &body.pointer("password"));
    let password = match (problems.is_empty(), password) {
        (true, Ok(p)) => p,
        _ => return Err(Error::Validation(problems)),
    };
    let mut new = account.clone();
    new.insert("password_hash".into(), json!(state.passwords.hash(password).await?));
    new.insert("updated_at".into(), json!(state.timestamp()));
    Ok(new)
}

/// `POST /account/passwords/reset` (public): a new password through a reset link; every
/// session of the account ends.
async fn reset(State(state): State<AppState>, body: ActionBody) -> Result<StatusCode> {
    let store = state.store.as_ref();
    let token = body.string("token").map_err(|p| Error::Validation(vec![p]))?;
    let (found, old) = redeemable(&state, token).await?.ok_or_else(invalid_token)?;
    let new = with_new_password(&state, &old, &body).await?;
    let id = records::id_of(&old);
    let mut writes = vec![single_use::consume(&found)];
    writes.extend(single_use::revoke_all(store, Purpose::PasswordReset, id, Some(records::id_of(&found))).await?);
    writes.push(records::put_if_unchanged(&ACCOUNTS, &old, new));
    // The token must still exist at commit: of two resets racing with it, one wins.
    store.transact(writes).await.map_err(|_| invalid_token())?;
    let ended = session::end_all(store, id, None).await?;
    tracing::info!(account_id = id, ended, "password reset: every session ended");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /account/passwords/token_valid?token=T` (public): whether a reset link would work now;
/// it is not used up.
async fn token_valid(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<JsonApi> {
    let pairs = iam_shared::query::params::decode_pairs(raw.as_deref());
    let token = match pairs.iter().find(|(k, _)| k == "token") {
        Some((_, t)) if !t.is_empty() => t,
        _ => return Err(Error::bad_parameter("token", "required", "token is required")),
    };
    Ok(JsonApi(json!({"valid": redeemable(&state, token).await?.is_some()})))
}

/// `POST /account/passwords/change` (bearer): the current password proves the caller is the
/// user; every other session of the account ends, and so does every reset link. Wrong guesses count as failed logins.
async fn change(
    State(state): State<AppState>,
    principal: Principal,
    ip: Option<Extension<ClientIp>>,
    body: ActionBody,
) -> Result<StatusCode> {
    let store = state.store.as_ref();
    let old = records::load(store, &ACCOUNTS, &principal.account_id).await?;
    let email = old.get("email").and_then(Value::as_str).unwrap_or_default();
    let current = body.string("current_password").map_err(|p| Error::Validation(vec![p]))?;
    let address = ip.map(|Extension(ClientIp(ip))| ip);
    let attempt =
        throttle::PasswordAttempt::begin(store, &state.config, email, address.as_deref(), state.now()).await?;
    let hash = old.get("password_hash").and_then(Value::as_str);
    if !attempt.verify(store, &state.passwords, current, hash).await? {
        return Err(Error::Validation(vec![Problem::pointer(
            body.pointer("current_password"),
            "invalid_password",
            "current_password is not the account's password",
        )]));
    }
    let new = with_new_password(&state, &old, &body).await?;
    let uniques = account::uniques(&old);
    // A reset link sent before the change must not undo it.
    let resets = single_use::revoke_all(store, Purpose::PasswordReset, &principal.account_id, None).await?;
    records::replace_with(store, &ACCOUNTS, &old, new, &uniques, &uniques, resets).await?;
    let ended = session::end_all(store, &principal.account_id, Some(&principal.session_id)).await?;
    tracing::info!(account_id = %principal.account_id, ended, "password changed: the other sessions ended");
    Ok(StatusCode::NO_CONTENT)
}
