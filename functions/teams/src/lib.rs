//! The teams function: teams (`/teams`) and who is in them (`/team_memberships`), through
//! `usecase::teams`. A membership is written together with its account; deleting a team
//! removes its memberships and the roles held in it.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use iam_shared::auth::Principal;
use iam_shared::http::{JsonBody, ResourceId, list, resource_response, show_readable};
use iam_shared::model::{team, team_membership};
use iam_shared::resource::ResourceDef;
use iam_shared::usecase::load::IfMatch;
use iam_shared::usecase::teams;
use iam_shared::{AppState, Result};

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
    list(&state, &principal, TEAM, raw.as_deref(), |_| Ok(())).await
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
    let item = teams::create(&state, &principal, &body).await?;
    Ok(resource_response(StatusCode::CREATED, TEAM, &item, &state))
}

async fn update_team(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    if_match: IfMatch,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let item = teams::update(&state, &principal, &id, &if_match, &body).await?;
    Ok(resource_response(StatusCode::OK, TEAM, &item, &state))
}

async fn remove_team(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    if_match: IfMatch,
) -> Result<StatusCode> {
    teams::remove(&state, &principal, &id, &if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_memberships(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    list(&state, &principal, MEMBERSHIP, raw.as_deref(), teams::by_team_or_account).await
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
    let item = teams::add_member(&state, &principal, &body).await?;
    Ok(resource_response(StatusCode::CREATED, MEMBERSHIP, &item, &state))
}

async fn remove_membership(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
) -> Result<StatusCode> {
    teams::remove_member(&state, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
