//! The accounts function: list, create, show, update and delete accounts, the caller's own
//! account (`/accounts/me`) and lookup by external id. Who may see and change which account
//! is decided in `access`; this file only wires requests to it and to the store.

mod access;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use iam_shared::auth::{Principal, session};
use iam_shared::http::{JsonBody, check_if_match, resource_response, show_response};
use iam_shared::jsonapi::request_attributes;
use iam_shared::model::{account, new_id, role_assignment};
use iam_shared::store::schema::{ACCOUNTS, ORGANIZATIONS, ROLE_ASSIGNMENTS};
use iam_shared::store::{Condition, Write};
use iam_shared::{AppState, Error, Result, listing, records};
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/accounts", get(list).post(create))
        .route("/api/v3/iam/accounts/me", get(me))
        .route("/api/v3/iam/accounts/external/{external_id}", get(by_external_id))
        .route("/api/v3/iam/accounts/{id}", get(show).patch(update).delete(remove))
}

async fn list(State(state): State<AppState>, principal: Principal, RawQuery(raw): RawQuery) -> Result<Response> {
    listing::respond(&state, &account::RESOURCE, raw.as_deref(), access::visible_scope(&principal)).await
}

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let item = access::load_visible(&state, &principal, &id).await?;
    show_response(&account::RESOURCE, &item, &state, raw.as_deref()).await
}

async fn me(State(state): State<AppState>, principal: Principal, RawQuery(raw): RawQuery) -> Result<Response> {
    let item = records::load(state.store.as_ref(), &ACCOUNTS, &principal.account_id).await?;
    show_response(&account::RESOURCE, &item, &state, raw.as_deref()).await
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
    let item = access::load_visible(&state, &principal, records::id_of(&found)).await?;
    show_response(&account::RESOURCE, &item, &state, raw.as_deref()).await
}

async fn create(State(state): State<AppState>, principal: Principal, JsonBody(body): JsonBody) -> Result<Response> {
    access::may_create_any(&principal)?;
    let attributes = request_attributes(&body, &account::RESOURCE, None)?;
    let new = account::create(attributes, new_id(), &state.timestamp(), principal.organization_id.as_deref())?;
    let organization = access::organization_for_write(&state, &principal, &new.item).await?;
    let mut item = new.item;
    if let Some(password) = new.password {
        item.insert("password_hash".into(), Value::String(state.passwords.hash(&password).await?));
    }
    let uniques = account::uniques(&item);
    let item =
        records::insert(state.store.as_ref(), &ACCOUNTS, item, &uniques, organization_exists(organization)).await?;
    Ok(resource_response(StatusCode::CREATED, &account::RESOURCE, &item, &state))
}

/// The organization must still exist when the account is written into it.
fn organization_exists(organization: Option<String>) -> Vec<Write> {
    organization
        .map(|id| Write::Check { table: &ORGANIZATIONS, id, condition: Condition::Exists })
        .into_iter()
        .collect()
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let old = access::load_visible(&state, &principal, &id).await?;
    access::may_change(&state, &principal, &old).await?;
    check_if_match(&headers, &old)?;
    let attributes = request_attributes(&body, &account::RESOURCE, Some(&id))?;
    let new = account::update(&old, attributes, &state.timestamp())?;
    let moved = old.get("organization_id") != new.get("organization_id");
    let organization = if moved { access::organization_for_write(&state, &principal, &new).await? } else { None };
    let (old_uniques, new_uniques) = (account::uniques(&old), account::uniques(&new));
    let checks = organization_exists(organization);
    let item =
        records::replace_with(state.store.as_ref(), &ACCOUNTS, &old, new, &old_uniques, &new_uniques, checks).await?;
    let disabled = old.get("enabled") != Some(&Value::Bool(false)) && item.get("enabled") == Some(&Value::Bool(false));
    if disabled {
        let ended = session::end_all(state.store.as_ref(), &id, None).await?;
        tracing::info!(account_id = %id, ended, "account disabled: its sessions ended");
    }
    Ok(resource_response(StatusCode::OK, &account::RESOURCE, &item, &state))
}

/// Deletes the account with its role assignments in one transaction (refused if it would
/// remove the last root admin), then ends its sessions.
async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode> {
    let item = access::load_visible(&state, &principal, &id).await?;
    access::may_change(&state, &principal, &item).await?;
    check_if_match(&headers, &item)?;
    let assignments = role_assignment::of_account(state.store.as_ref(), &id).await?;
    let mut extra: Vec<Write> = assignments
        .iter()
        .map(|a| Write::Delete { table: &ROLE_ASSIGNMENTS, id: records::id_of(a).into(), condition: None })
        .collect();
    if let Some(check) = access::another_root_admin_remains(&state, &id, &assignments).await? {
        extra.push(check);
    }
    if extra.len() + 1 + account::uniques(&item).len() > iam_shared::store::MAX_TRANSACTION_WRITES {
        return Err(Error::conflict(None, "too_many_dependents", "remove this account's role assignments first"));
    }
    records::remove(state.store.as_ref(), &ACCOUNTS, &item, &account::uniques(&item), extra).await.map_err(
        |e| match e {
            Error::Conflict(_) => Error::conflict(
                None,
                "concurrent_modification",
                "the account or the root administrators changed meanwhile; retry",
            ),
            other => other,
        },
    )?;
    let ended = session::end_all(state.store.as_ref(), &id, None).await?;
    tracing::info!(account_id = %id, ended, "account deleted");
    Ok(StatusCode::NO_CONTENT)
}
