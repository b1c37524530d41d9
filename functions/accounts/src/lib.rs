//! The accounts function: list, create, show, update and delete accounts, the caller's own
//! account (`/accounts/me`) and lookup by external id. Who may do what is decided by
//! `auth::policy` through the accounts catalog's guard; this file wires requests to it and to
//! the store, and keeps an account's links (role assignments, team memberships) consistent
//! when it moves or goes. Invitations (`invitations`) are sent on a password-less create.

mod invitations;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, patch, post};
use iam_shared::auth::single_use;
use iam_shared::auth::{Permission, Principal, session};
use iam_shared::counters::Dependents;
use iam_shared::http::{JsonBody, ResourceId, check_if_match, resource_response, show_readable, show_response};
use iam_shared::jsonapi::request_attributes;
use iam_shared::model::{account, new_id, organization, role_assignment};
use iam_shared::store::schema::{ACCOUNTS, ROLE_ASSIGNMENTS};
use iam_shared::store::{Item, MAX_TRANSACTION_WRITES, Write};
use iam_shared::{AppState, Error, Result, links, listing, mail, records};
use serde_json::{Map, Value, json};

const DEF: &iam_shared::resource::ResourceDef = &account::RESOURCE;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/accounts", get(list).post(create))
        .route("/api/v3/iam/accounts/me", get(me))
        .route("/api/v3/iam/accounts/external/{external_id}", get(by_external_id))
        .route("/api/v3/iam/accounts/{id}", get(show).patch(update).delete(remove))
        // `{id}` is the invitation token here: one parameter name per position keeps the
        // router (and API Gateway) unambiguous.
        .route("/api/v3/iam/accounts/{id}/join", patch(invitations::join))
        .route("/api/v3/iam/accounts/{id}/resend_invitation", post(invitations::resend))
}

async fn list(State(state): State<AppState>, principal: Principal, RawQuery(raw): RawQuery) -> Result<Response> {
    listing::respond(&state, &principal, DEF, raw.as_deref(), |_| Ok(())).await
}

async fn load_visible(state: &AppState, principal: &Principal, id: &str) -> Result<Item> {
    principal.load_readable(state.store.as_ref(), DEF, id, state.now()).await
}

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    show_readable(DEF, &id, &state, &principal, raw.as_deref()).await
}

async fn me(State(state): State<AppState>, principal: Principal, RawQuery(raw): RawQuery) -> Result<Response> {
    let item = records::load(state.store.as_ref(), &ACCOUNTS, &principal.account_id).await?;
    show_response(DEF, &item, &state, &principal, raw.as_deref()).await
}

/// One key lookup on the external-id index; 404 unless the caller may see the account.
async fn by_external_id(
    State(state): State<AppState>,
    principal: Principal,
    Path(external_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let found = account::find_by_external_id(state.store.as_ref(), &external_id).await?.ok_or(Error::NotFound)?;
    // The index is eventually consistent: answer from the item itself.
    let item = load_visible(&state, &principal, records::id_of(&found)).await?;
    show_response(DEF, &item, &state, &principal, raw.as_deref()).await
}

/// The organization an account is written into must exist, now and when the write commits;
/// the account counts in it from then on (so that it cannot be deleted under the account).
async fn organization_check(state: &AppState, item: &Item) -> Result<Vec<Write>> {
    match organization_of(item) {
        Some(org) => Ok(vec![
            organization::must_exist(state.store.as_ref(), org).await?,
            Dependents::OrganizationAccounts.change(org, 1),
        ]),
        None => Ok(vec![]),
    }
}

/// The account no longer counts in the organization it leaves.
fn leaving(item: &Item) -> Option<Write> {
    organization_of(item).map(|org| Dependents::OrganizationAccounts.change(org, -1))
}

async fn create(State(state): State<AppState>, principal: Principal, JsonBody(body): JsonBody) -> Result<Response> {
    principal.require(Permission::AccountsWrite)?;
    let attributes = request_attributes(&body, DEF, None)?;
    let new = account::create(attributes, new_id(), &state.timestamp(), principal.organization_id.as_deref())?;
    principal.check_create(DEF, &new.item)?;
    let checks = organization_check(&state, &new.item).await?;
    let mut item = new.item;
    if let Some(password) = new.password {
        item.insert("password_hash".into(), Value::String(state.passwords.hash(&password).await?));
    }
    let (mut checks, mut invitation) = (checks, None);
    if invitations::is_pending(&item) {
        let (token, message) = invitations::prepare(&state, &mut item)?;
        checks.push(token);
        invitation = Some(message);
    }
    let uniques = account::uniques(&item);
    let item = records::insert(state.store.as_ref(), &ACCOUNTS, item, &uniques, checks).await?;
    if let Some(message) = invitation {
        // The account exists either way; a lost email is fixed by resending the invitation.
        mail::deliver(state.mailer.as_ref(), &message, "invitation").await;
    }
    Ok(resource_response(StatusCode::CREATED, DEF, &item, &state))
}

fn organization_of(item: &Item) -> Option<&str> {
    item.get("organization_id").and_then(Value::as_str)
}

/// Moving an account to another organization ends what it had in the old one (its roles
/// there and its teams) and carries its global role assignments along: the writes, and the
/// account with its links updated.
async fn move_writes(state: &AppState, new: Item) -> Result<(Item, Vec<Write>)> {
    let scoped = |e: &Map<String, Value>| e.get("scope").and_then(Value::as_str) != Some("global");
    let mut writes = links::removals(&new, &links::ROLES, scoped);
    writes.extend(links::removals(&new, &links::TEAMS, |_| true));
    let global: Vec<String> = links::entries(&new, &links::ROLES)
        .filter(|e| !scoped(e))
        .filter_map(|e| e.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    let assignments =
        if global.is_empty() { vec![] } else { state.store.batch_get(&ROLE_ASSIGNMENTS, &global).await? };
    for old in assignments {
        let mut moved = old.clone();
        match organization_of(&new) {
            Some(org) => moved.insert("organization_id".into(), json!(org)),
            None => moved.remove("organization_id"),
        };
        writes.push(records::put_if_unchanged(&ROLE_ASSIGNMENTS, &old, moved));
    }
    let new = links::without(&links::without(&new, &links::ROLES, scoped), &links::TEAMS, |_| true);
    Ok((new, writes))
}

fn too_many_links() -> Error {
    Error::conflict(None, "too_many_dependents", "remove some of this account's role assignments and teams first")
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let old = load_visible(&state, &principal, &id).await?;
    principal.check_write(DEF, &old)?;
    check_if_match(&headers, &old)?;
    let attributes = request_attributes(&body, DEF, Some(&id))?;
    let mut new = account::update(&old, attributes, &state.timestamp())?;
    let mut extra = Vec::new();
    if organization_of(&old) != organization_of(&new) {
        principal.check_create(DEF, &new)?;
        extra = organization_check(&state, &new).await?;
        extra.extend(leaving(&old));
        let (moved, writes) = move_writes(&state, new).await?;
        (new, extra) = (moved, [extra, writes].concat());
    }
    let mut invitation = None;
    if invitations::ends_links(&old, &new) {
        extra.extend(single_use::revoke_every(state.store.as_ref(), &id).await?);
        if invitations::reinvites(&old, &new) {
            let (token, message) = invitations::prepare(&state, &mut new)?;
            extra.push(token);
            invitation = Some(message);
        }
    }
    if extra.len() + 6 > MAX_TRANSACTION_WRITES {
        return Err(too_many_links());
    }
    let (old_uniques, new_uniques) = (account::uniques(&old), account::uniques(&new));
    let item =
        records::replace_with(state.store.as_ref(), &ACCOUNTS, &old, new, &old_uniques, &new_uniques, extra).await?;
    if let Some(message) = invitation {
        // The change stands either way; a lost email is fixed by resending the invitation.
        mail::deliver(state.mailer.as_ref(), &message, "invitation").await;
    }
    let disabled = old.get("enabled") != Some(&Value::Bool(false)) && item.get("enabled") == Some(&Value::Bool(false));
    let moved = organization_of(&old) != organization_of(&item);
    if disabled || moved {
        // A moved account's sessions belong to its old organization's admins: they end too.
        let ended = session::end_all(state.store.as_ref(), &id, None).await?;
        tracing::info!(account_id = %id, ended, disabled, moved, "the account's sessions ended");
    }
    Ok(resource_response(StatusCode::OK, DEF, &item, &state))
}

/// Deletes the account with its role assignments and team memberships in one transaction
/// (refused if it would remove the last root admin), then ends its sessions.
async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
) -> Result<StatusCode> {
    let item = load_visible(&state, &principal, &id).await?;
    principal.check_write(DEF, &item)?;
    check_if_match(&headers, &item)?;
    let mut extra = links::removals(&item, &links::ROLES, |_| true);
    extra.extend(links::removals(&item, &links::TEAMS, |_| true));
    extra.extend(leaving(&item));
    if role_assignment::is_root_admin(&item) {
        extra.push(role_assignment::another_root_admin_remains(state.store.as_ref(), &id).await?);
    }
    let uniques = account::uniques(&item);
    if extra.len() + 1 + uniques.len() > MAX_TRANSACTION_WRITES {
        return Err(too_many_links());
    }
    records::remove(state.store.as_ref(), &ACCOUNTS, &item, &uniques, extra).await.map_err(|e| match e {
        Error::Conflict(_) => Error::conflict(
            None,
            "concurrent_modification",
            "the account or the root administrators changed meanwhile; retry",
        ),
        other => other,
    })?;
    let ended = session::end_all(state.store.as_ref(), &id, None).await?;
    let tokens = single_use::delete_all(state.store.as_ref(), &id).await?;
    tracing::info!(account_id = %id, ended, tokens, "account deleted");
    Ok(StatusCode::NO_CONTENT)
}
