//! The organizations function: create, read, list, update and delete organizations.
//! Reads are limited to the organizations the caller may see (`auth::policy`); an
//! organization's admin updates it; only a global role creates or deletes one.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use iam_shared::auth::{Permission, Principal};
use iam_shared::counters::Dependents;
use iam_shared::http::{JsonBody, ResourceId, check_if_match, resource_response, show_readable};
use iam_shared::jsonapi::request_attributes;
use iam_shared::model::{new_id, organization};
use iam_shared::store::Query;
use iam_shared::store::schema::{ACCOUNTS, ACCOUNTS_BY_ORGANIZATION, ORGANIZATIONS, TEAMS, TEAMS_BY_ORGANIZATION};
use iam_shared::{AppState, Error, Result, listing, records};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/organizations", get(list).post(create))
        .route("/api/v3/iam/organizations/{id}", get(show).patch(update).delete(remove))
}

const DEF: &iam_shared::resource::ResourceDef = &organization::RESOURCE;

async fn load_visible(state: &AppState, principal: &Principal, id: &str) -> Result<iam_shared::store::Item> {
    principal.load_readable(state.store.as_ref(), DEF, id, state.now()).await
}

async fn list(State(state): State<AppState>, principal: Principal, RawQuery(raw): RawQuery) -> Result<Response> {
    listing::respond(&state, &principal, DEF, raw.as_deref(), |_| Ok(())).await
}

async fn create(State(state): State<AppState>, principal: Principal, JsonBody(body): JsonBody) -> Result<Response> {
    principal.require_global(Permission::OrganizationsWrite)?;
    let attributes = request_attributes(&body, &organization::RESOURCE, None)?;
    let item = organization::create(attributes, new_id(), &state.timestamp())?;
    let uniques = organization::uniques(&item);
    let item = records::insert(state.store.as_ref(), &ORGANIZATIONS, item, &uniques, vec![]).await?;
    Ok(resource_response(StatusCode::CREATED, &organization::RESOURCE, &item, &state))
}

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    show_readable(DEF, &id, &state, &principal, raw.as_deref()).await
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
    let attributes = request_attributes(&body, &organization::RESOURCE, Some(&id))?;
    let new = organization::update(&old, attributes, &state.timestamp())?;
    let (old_uniques, new_uniques) = (organization::uniques(&old), organization::uniques(&new));
    let item = records::replace(state.store.as_ref(), &ORGANIZATIONS, &old, new, &old_uniques, &new_uniques).await?;
    Ok(resource_response(StatusCode::OK, &organization::RESOURCE, &item, &state))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
) -> Result<StatusCode> {
    let item = load_visible(&state, &principal, &id).await?;
    principal.require_global(Permission::OrganizationsWrite)?;
    check_if_match(&headers, &item)?;
    if any_accounts(&state, &id).await? {
        return Err(has_accounts());
    }
    if any_teams(&state, &id).await? {
        return Err(has_teams());
    }
    // The queries above find what was written before counters existed; the counters' zero
    // conditions catch an account or team created while this delete is under way.
    let retire = vec![Dependents::OrganizationAccounts.retire(&id), Dependents::OrganizationTeams.retire(&id)];
    let store = state.store.as_ref();
    match records::remove(store, &ORGANIZATIONS, &item, &organization::uniques(&item), retire).await {
        Err(Error::Conflict(_)) if Dependents::OrganizationAccounts.count(store, &id).await? > 0 => Err(has_accounts()),
        Err(Error::Conflict(_)) if Dependents::OrganizationTeams.count(store, &id).await? > 0 => Err(has_teams()),
        other => other.map(|()| StatusCode::NO_CONTENT),
    }
}

fn has_accounts() -> Error {
    Error::conflict(None, "has_accounts", "the organization still has accounts; delete or move them first")
}

fn has_teams() -> Error {
    Error::conflict(None, "has_teams", "the organization still has teams; delete them first")
}

/// One index read of at most one item.
async fn any_teams(state: &AppState, organization_id: &str) -> Result<bool> {
    let query = Query::partition(&TEAMS, &TEAMS_BY_ORGANIZATION, organization_id).with_limit(1);
    Ok(!state.store.query(query).await?.items.is_empty())
}

/// One index read of at most one item.
async fn any_accounts(state: &AppState, organization_id: &str) -> Result<bool> {
    let query = Query::partition(&ACCOUNTS, &ACCOUNTS_BY_ORGANIZATION, organization_id).with_limit(1);
    Ok(!state.store.query(query).await?.items.is_empty())
}
