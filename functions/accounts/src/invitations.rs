//! Invitations: a password-less account gets a 7-day single-use link by email; following it
//! (`PATCH /accounts/{token}/join`) sets the password and activates the account; an admin may
//! send a new link (`POST /accounts/{id}/resend_invitation`), which kills the old ones.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use iam_shared::auth::password::new_password_problems;
use iam_shared::auth::single_use::{self, Purpose};
use iam_shared::auth::{Permission, Principal};
use iam_shared::http::{ActionBody, ResourceId};
use iam_shared::mail::{self, Message, templates};
use iam_shared::model::account;
use iam_shared::store::schema::{ACCOUNTS, INVITATION_DUE};
use iam_shared::store::{Item, Write};
use iam_shared::{AppState, Error, Result, clock, records};
use serde_json::{Map, Value, json};

/// Does a new account wait for an invitation to be accepted?
pub fn is_pending(item: &Item) -> bool {
    item.get("status").and_then(Value::as_str) == Some("pending")
}

/// May the account accept an invitation now: pending, enabled, and signing in with a password
/// (an SSO account has none to set).
pub fn may_join(item: &Item) -> bool {
    is_pending(item)
        && item.get("enabled").and_then(Value::as_bool).unwrap_or(false)
        && item.get("auth_type").and_then(Value::as_str) != Some("sso")
}

/// What of an update ends the links mailed before it: another address (case-folded), a disabled
/// account, or a switch to single sign-on. The tokens end in the update's own transaction.
pub fn ends_links(old: &Item, new: &Item) -> bool {
    let enabled = |i: &Item| i.get("enabled").and_then(Value::as_bool).unwrap_or(false);
    let sso = |i: &Item| i.get("auth_type").and_then(Value::as_str) == Some("sso");
    account::folded_email(old) != account::folded_email(new) || enabled(old) && !enabled(new) || !sso(old) && sso(new)
}

/// Is this update one that mails a new invitation: a pending account got another address, and
/// the old link ended with it.
pub fn reinvites(old: &Item, new: &Item) -> bool {
    may_join(new) && account::folded_email(old) != account::folded_email(new)
}

/// A new invitation for `account`: its invitation fields are set on the item, and the token
/// write and the email are returned (the email goes out once the writes commit).
pub fn prepare(state: &AppState, account: &mut Item) -> Result<(Write, Message)> {
    account.insert("status".into(), json!("pending"));
    let issued = single_use::issue(Purpose::Invitation, account, state.now())?;
    let expires_at = clock::format(issued.expires_at);
    account.insert("invitation_expired_at".into(), json!(expires_at));
    account.insert(INVITATION_DUE.into(), json!(expires_at));
    let link = templates::join_link(&state.config.public_url, &issued.token);
    let email = account.get("email").and_then(Value::as_str).unwrap_or_default();
    let name = account.get("name").and_then(Value::as_str);
    Ok((issued.write, templates::invitation(email, name, &link, &expires_at)))
}

fn invalid_token() -> Error {
    single_use::invalid_token(Purpose::Invitation)
}

/// `PATCH /accounts/{token}/join` (public): accepts the invitation.
pub async fn join(State(state): State<AppState>, Path(token): Path<String>, body: ActionBody) -> Result<StatusCode> {
    let store = state.store.as_ref();
    let now = state.now();
    let (found, old) =
        single_use::redeemable(store, Purpose::Invitation, &token, now, may_join).await?.ok_or_else(invalid_token)?;
    let email = old.get("email").and_then(Value::as_str);
    let password = body.string("password");
    let mut problems = new_password_problems(password.clone(), email, &body.pointer("password"));
    let mut changes = Map::new();
    if let Some(name) = body.fields.get("name") {
        changes.insert("name".into(), name.clone());
    }
    let mut new = match account::update(&old, changes, &state.timestamp()) {
        Ok(new) => new,
        Err(e) => match body.repoint(e) {
            Error::Validation(more) => {
                problems.extend(more);
                old.clone()
            }
            other => return Err(other),
        },
    };
    let password = match (problems.is_empty(), password) {
        (true, Ok(p)) => p,
        _ => return Err(Error::Validation(problems)),
    };
    new.insert("password_hash".into(), json!(state.passwords.hash(password).await?));
    new.insert("status".into(), json!("active"));
    new.insert("joined_at".into(), json!(state.timestamp()));
    new.remove(INVITATION_DUE);
    let mut writes = vec![single_use::consume(&found)];
    writes.extend(
        single_use::revoke_all(store, Purpose::Invitation, records::id_of(&old), Some(records::id_of(&found))).await?,
    );
    writes.push(records::put_if_unchanged(&ACCOUNTS, &old, new));
    // The token must still exist at commit: of two joins racing with it, one wins.
    store.transact(writes).await.map_err(|_| invalid_token())?;
    tracing::info!(account_id = records::id_of(&old), "invitation accepted");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /accounts/{id}/resend_invitation`: a new link by email; the old ones stop working.
pub async fn resend(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
) -> Result<StatusCode> {
    let store = state.store.as_ref();
    let old = principal.load_readable(store, &account::RESOURCE, &id, state.now()).await?;
    let org = old.get("organization_id").and_then(Value::as_str);
    if !principal.holds(Permission::InvitationsWrite, org, None) {
        return Err(Error::Forbidden("invitations:write is required for this account".into()));
    }
    if matches!(old.get("status").and_then(Value::as_str), Some("active")) {
        return Err(Error::conflict(None, "already_joined", "the account has accepted its invitation already"));
    }
    let mut new = old.clone();
    new.insert("updated_at".into(), json!(state.timestamp()));
    let (token, message) = prepare(&state, &mut new)?;
    let mut writes = single_use::revoke_all(store, Purpose::Invitation, &id, None).await?;
    writes.extend([token, records::put_if_unchanged(&ACCOUNTS, &old, new)]);
    store.transact(writes).await?;
    if !mail::deliver(state.mailer.as_ref(), &message, "invitation").await {
        return Err(Error::unexpected(std::io::Error::other("the invitation email could not be sent")));
    }
    Ok(StatusCode::NO_CONTENT)
}
