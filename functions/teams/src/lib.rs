//! The teams function: teams (`/teams`) and who is in them (`/team_memberships`). Who may do
//! what is decided by `auth::policy`; a membership is written together with its account
//! (`links`), and deleting a team removes its memberships and the roles held in it.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use iam_shared::auth::{Permission, Principal};
use iam_shared::counters::Dependents;
use iam_shared::http::{JsonBody, ResourceId, check_if_match, resource_response, show_readable};
use iam_shared::jsonapi::request_attributes;
use iam_shared::model::{account, new_id, organization, team, team_membership};
use iam_shared::query::{Expr, ListQuery, Op};
use iam_shared::resource::ResourceDef;
use iam_shared::store::schema::{
    ACCOUNTS, ROLE_ASSIGNMENTS, ROLE_ASSIGNMENTS_BY_SCOPE, TEAM_MEMBERSHIPS, TEAM_MEMBERSHIPS_BY_TEAM, TEAMS,
};
use iam_shared::store::{Condition, Item, Query, Write, query_all};
use iam_shared::{AppState, Error, Result, links, listing, records};

const TEAM: &ResourceDef = &team::RESOURCE;
const MEMBERSHIP: &ResourceDef = &team_membership::RESOURCE;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/teams", get(list_teams).post(create_team))
        .route("/api/v3/iam/teams/{id}", get(show_team).patch(update_team).delete(remove_team))
        .route("/api/v3/iam/team_memberships", get(list_memberships).post(create_membership))
        .route("/api/v3/iam/team_memberships/{id}", get(show_membership).delete(remove_membership))
}

async fn list_teams(State(state): State<AppState>, principal: Principal, RawQuery(raw): RawQuery) -> Result<Response> {
    listing::respond(&state, &principal, TEAM, raw.as_deref(), |_| Ok(())).await
}

async fn load_visible(state: &AppState, principal: &Principal, def: &ResourceDef, id: &str) -> Result<Item> {
    principal.load_readable(state.store.as_ref(), def, id, state.now()).await
}

async fn show_team(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    show_readable(TEAM, &id, &state, &principal, raw.as_deref()).await
}

async fn create_team(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    principal.require(Permission::TeamsWrite)?;
    let attributes = request_attributes(&body, TEAM, None)?;
    let item = team::create(attributes, new_id(), &state.timestamp(), principal.organization_id.as_deref())?;
    principal.check_create(TEAM, &item)?;
    let org = team::organization_of(&item).unwrap_or_default();
    let checks =
        vec![organization::must_exist(state.store.as_ref(), org).await?, Dependents::OrganizationTeams.change(org, 1)];
    let uniques = team::uniques(&item);
    let item = records::insert(state.store.as_ref(), &TEAMS, item, &uniques, checks).await?;
    Ok(resource_response(StatusCode::CREATED, TEAM, &item, &state))
}

async fn update_team(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let old = load_visible(&state, &principal, TEAM, &id).await?;
    principal.check_write(TEAM, &old)?;
    check_if_match(&headers, &old)?;
    let attributes = request_attributes(&body, TEAM, Some(&id))?;
    let new = team::update(&old, attributes, &state.timestamp())?;
    let (old_uniques, new_uniques) = (team::uniques(&old), team::uniques(&new));
    let item = records::replace(state.store.as_ref(), &TEAMS, &old, new, &old_uniques, &new_uniques).await?;
    Ok(resource_response(StatusCode::OK, TEAM, &item, &state))
}

/// Removes the team's memberships and the role assignments scoped to it, each with its
/// account, then the team. Interrupted, it leaves a smaller team, and a retry finishes it.
async fn remove_team(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
) -> Result<StatusCode> {
    let item = load_visible(&state, &principal, TEAM, &id).await?;
    principal.check_write(TEAM, &item)?;
    check_if_match(&headers, &item)?;
    let store = state.store.as_ref();
    let members = query_all(store, Query::partition(&TEAM_MEMBERSHIPS, &TEAM_MEMBERSHIPS_BY_TEAM, &id)).await?;
    for membership in &members {
        unlink_if_present(links::delete(store, &links::TEAMS, membership, vec![]).await)?;
    }
    let roles = query_all(store, Query::partition(&ROLE_ASSIGNMENTS, &ROLE_ASSIGNMENTS_BY_SCOPE, &id)).await?;
    for assignment in &roles {
        unlink_if_present(links::delete(store, &links::ROLES, assignment, vec![]).await)?;
    }
    let leaving = team::organization_of(&item).map(|org| Dependents::OrganizationTeams.change(org, -1));
    records::remove(store, &TEAMS, &item, &team::uniques(&item), leaving.into_iter().collect()).await?;
    tracing::info!(team_id = %id, memberships = members.len(), role_assignments = roles.len(), "team deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// A link another request removed meanwhile is as good as removed.
fn unlink_if_present(result: Result<()>) -> Result<()> {
    match result {
        Err(Error::NotFound) => Ok(()),
        other => other,
    }
}

/// Memberships are listed by team or by account, which their indexes serve.
fn by_team_or_account(q: &ListQuery) -> Result<()> {
    let keyed = q.filter.conjuncts().iter().any(|c| {
        matches!(c, Expr::Cmp { field: "team_id" | "account_id", op: Op::Eq | Op::In, values } if !values.is_empty())
    });
    if keyed {
        Ok(())
    } else {
        Err(Error::bad_parameter("filter", "filter_required", "filter[team_id] or filter[account_id] is required"))
    }
}

async fn list_memberships(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    listing::respond(&state, &principal, MEMBERSHIP, raw.as_deref(), by_team_or_account).await
}

async fn show_membership(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    show_readable(MEMBERSHIP, &id, &state, &principal, raw.as_deref()).await
}

async fn create_membership(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    principal.require(Permission::TeamsWrite)?;
    let (team_id, account_id) = team_membership::parse_request(request_attributes(&body, MEMBERSHIP, None)?)?;
    let store = state.store.as_ref();
    let unknown = |name: &str, what: &str| {
        Error::invalid_attribute(name, &format!("unknown_{what}"), format!("{name} names no {what} you can see"))
    };
    let team = store.get(&TEAMS, &team_id).await?.filter(|t| principal.may_read(TEAM, t));
    let team = team.ok_or_else(|| unknown("team_id", "team"))?;
    let account = store.get(&ACCOUNTS, &account_id).await?.filter(|a| principal.may_read(&account::RESOURCE, a));
    let account = account.ok_or_else(|| unknown("account_id", "account"))?;
    let org = team::organization_of(&team).unwrap_or_default();
    if account.get("organization_id").and_then(serde_json::Value::as_str) != Some(org) {
        return Err(Error::invalid_attribute(
            "account_id",
            "organization_mismatch",
            "the account and the team are in different organizations",
        ));
    }
    let id = new_id();
    let item = team_membership::item(&id, &team_id, &account_id, org, &state.timestamp());
    principal.check_create(MEMBERSHIP, &item)?;
    let check = Write::Check { table: &TEAMS, id: team_id.clone(), condition: Condition::Exists };
    let entry = team_membership::entry(&id, &team_id);
    let item = links::create(store, &links::TEAMS, &account, item, entry, vec![check]).await?;
    Ok(resource_response(StatusCode::CREATED, MEMBERSHIP, &item, &state))
}

async fn remove_membership(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
) -> Result<StatusCode> {
    let item = load_visible(&state, &principal, MEMBERSHIP, &id).await?;
    principal.check_write(MEMBERSHIP, &item)?;
    links::delete(state.store.as_ref(), &links::TEAMS, &item, vec![]).await?;
    Ok(StatusCode::NO_CONTENT)
}
