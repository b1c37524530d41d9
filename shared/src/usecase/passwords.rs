//! Passwords: setting a new one (checked against the policy, then hashed), forgotten passwords
//! (a reset link by email, checking it, using it) and a logged-in user's change.

use serde_json::{Value, json};

use super::credentials;
use super::single_use::{mail_link, redeem};
use crate::app::AppState;
use crate::auth::single_use::{self, Purpose};
use crate::auth::{Principal, session, throttle};
use crate::error::{Error, Problem, Result};
use crate::jsonapi::ActionBody;
use crate::model::account;
use crate::model::password::NewPassword;
use crate::records::{self, Change};
use crate::store::Item;
use crate::store::schema::ACCOUNTS;

/// The new password a body's `password` field holds, or every problem with it (missing, or
/// each rule it breaks for `account`).
pub fn new_password(body: &ActionBody, account: &Item) -> std::result::Result<NewPassword, Vec<Problem>> {
    let email = account.get("email").and_then(Value::as_str);
    let raw = body.string("password").map_err(|p| vec![p])?;
    NewPassword::parse(raw, email, &body.pointer("password"))
}

/// `account` with `password` hashed in as its password.
pub async fn with_password(state: &AppState, mut account: Item, password: &NewPassword) -> Result<Item> {
    account.insert("password_hash".into(), json!(state.passwords.hash(password.expose()).await?));
    Ok(account)
}

/// The account with the body's new password, or 422 with every problem of it.
async fn changed_password(state: &AppState, account: &Item, body: &ActionBody) -> Result<Item> {
    let password = new_password(body, account).map_err(Error::Validation)?;
    let mut new = with_password(state, account.clone(), &password).await?;
    new.insert("updated_at".into(), json!(state.timestamp()));
    Ok(new)
}

/// Reset requests answer after the same minimum time whether an email went out or not, and
/// are counted by email whether or not an account has it: neither the time nor a 429 tells
/// whether the account exists. They are counted by client address too, first, so that one
/// client cycling through many emails is stopped without using up those emails' own counts.
pub async fn request_reset(state: &AppState, address: Option<&str>, body: &ActionBody) -> Result<()> {
    let started = tokio::time::Instant::now();
    let email = body.string("email").map_err(|p| Error::Validation(vec![p]))?.to_string();
    let (store, config, now) = (state.store.as_ref(), &state.config, state.now());
    if let Some(ip) = address {
        throttle::reserve(store, &throttle::reset_by_address(ip), config.reset_requests_per_address, now).await?;
    }
    throttle::reserve(store, &throttle::reset_by_email(&email), config.reset_requests_per_account, now).await?;
    let outcome = send_reset_link(state, &email).await;
    tokio::time::sleep_until(started + state.config.reset_min_response).await;
    outcome
}

/// Posts a reset link to the account holding `email`, if it may log in: the token and its
/// letter in one transaction, and only the newest link works. Nothing is sent from here.
async fn send_reset_link(state: &AppState, email: &str) -> Result<()> {
    let store = state.store.as_ref();
    let now = state.now();
    let account = account::find_by_typed_email(store, email).await?;
    let Some(account) = account.filter(|a| account::may_log_in(a, now)) else { return Ok(()) };
    let Some(link) = mail_link(state, Purpose::PasswordReset, &account)? else {
        tracing::warn!(account = %records::id_of(&account), "reset link not sent: the stored email is not one address");
        return Ok(());
    };
    let mut writes = single_use::revoke_all(store, Purpose::PasswordReset, records::id_of(&account), None).await?;
    writes.extend(link.writes);
    store.transact(writes).await?;
    Ok(())
}

/// The live reset token `token` stands for and its account, if that account may still log in.
async fn redeemable(state: &AppState, token: &str) -> Result<Option<(Item, Item)>> {
    let now = state.now();
    single_use::redeemable(state.store.as_ref(), Purpose::PasswordReset, token, now, |a| account::may_log_in(a, now))
        .await
}

/// Would the reset link `token` work now? It is not used up.
pub async fn reset_link_works(state: &AppState, token: &str) -> Result<bool> {
    Ok(redeemable(state, token).await?.is_some())
}

/// A new password through a reset link; every session of the account ends.
pub async fn reset(state: &AppState, body: &ActionBody) -> Result<()> {
    let token = body.string("token").map_err(|p| Error::Validation(vec![p]))?;
    let invalid = || single_use::invalid_token(Purpose::PasswordReset);
    let (found, old) = redeemable(state, token).await?.ok_or_else(invalid)?;
    let new = changed_password(state, &old, body).await?;
    redeem(state.store.as_ref(), Purpose::PasswordReset, &found, &old, new).await?;
    let id = records::id_of(&old);
    let ended = session::end_all(state.store.as_ref(), id, None).await?;
    tracing::info!(account_id = id, ended, "password reset: every session ended");
    Ok(())
}

/// The caller's own password change: the current password proves it is the user (a wrong one
/// counts as a failed login); every other session of the account ends, and so does every
/// reset link.
pub async fn change(state: &AppState, principal: &Principal, address: Option<&str>, body: &ActionBody) -> Result<()> {
    let store = state.store.as_ref();
    let old = records::load(store, &ACCOUNTS, &principal.account_id).await?;
    let current = body.string("current_password").map_err(|p| Error::Validation(vec![p]))?;
    if !credentials::confirm(state, &old, address, current).await? {
        return Err(Error::Validation(vec![Problem::pointer(
            body.pointer("current_password"),
            "invalid_password",
            "current_password is not the account's password",
        )]));
    }
    let new = changed_password(state, &old, body).await?;
    let uniques = account::uniques(&old);
    // A reset link sent before the change must not undo it.
    let resets = single_use::revoke_all(store, Purpose::PasswordReset, &principal.account_id, None).await?;
    Change::replace(&ACCOUNTS, &old, new, &uniques, &uniques).with(resets).commit(store).await?;
    let ended = session::end_all(store, &principal.account_id, Some(&principal.session_id)).await?;
    tracing::info!(account_id = %principal.account_id, ended, "password changed: the other sessions ended");
    Ok(())
}
