//! The roles function: the role catalog (`/roles`: built-in roles, read-only, and custom ones)
//! and role assignments (`/role_assignments`: who holds which role where), through
//! `usecase::roles`.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use iam_shared::auth::{Permission, Principal};
use iam_shared::http::{JsonBody, ResourceId, list, resource_response, show_readable, show_response};
use iam_shared::model::{role, role_assignment};
use iam_shared::resource::ResourceDef;
use iam_shared::usecase::load::IfMatch;
use iam_shared::usecase::roles;
use iam_shared::{AppState, Result};

const ROLE: &ResourceDef = &role::RESOURCE;
const ASSIGNMENT: &ResourceDef = &role_assignment::RESOURCE;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/roles", get(list_roles).post(create_role))
        .route("/api/v3/iam/roles/{id}", get(show_role).patch(update_role).delete(remove_role))
        .route("/api/v3/iam/role_assignments", get(list_assignments).post(create_assignment))
        .route("/api/v3/iam/role_assignments/{id}", get(show_assignment).delete(remove_assignment))
}

async fn list_roles(State(state): State<AppState>, principal: Principal, RawQuery(raw): RawQuery) -> Result<Response> {
    principal.require(Permission::RolesRead)?;
    list(&state, &principal, ROLE, raw.as_deref(), |_| Ok(())).await
}

async fn show_role(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let item = roles::load(&state, &principal, &id).await?;
    show_response(ROLE, &item, &state, &principal, raw.as_deref()).await
}

async fn create_role(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let item = roles::create(&state, &principal, &body).await?;
    Ok(resource_response(StatusCode::CREATED, ROLE, &item, &state))
}

async fn update_role(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    if_match: IfMatch,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let item = roles::update(&state, &principal, &id, &if_match, &body).await?;
    Ok(resource_response(StatusCode::OK, ROLE, &item, &state))
}

async fn remove_role(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    if_match: IfMatch,
) -> Result<StatusCode> {
    roles::remove(&state, &principal, &id, &if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_assignments(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    list(&state, &principal, ASSIGNMENT, raw.as_deref(), |_| Ok(())).await
}

async fn show_assignment(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    show_readable(ASSIGNMENT, &id, &state, &principal, raw.as_deref()).await
}

async fn create_assignment(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let item = roles::assign(&state, &principal, &body).await?;
    Ok(resource_response(StatusCode::CREATED, ASSIGNMENT, &item, &state))
}

/// Revoking needs the right to grant the same role there; the last root admin stays.
async fn remove_assignment(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
) -> Result<StatusCode> {
    roles::revoke(&state, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
