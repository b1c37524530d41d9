//! The organizations function: create, read, list, update and delete organizations
//! (`usecase::organizations`). Reads are limited to the organizations the caller may see; an
//! organization's admin updates it; only a global role creates or deletes one.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use iam_shared::auth::Principal;
use iam_shared::http::{JsonBody, ResourceId, list, resource_response, show_readable};
use iam_shared::model::organization;
use iam_shared::resource::ResourceDef;
use iam_shared::usecase::load::IfMatch;
use iam_shared::usecase::organizations;
use iam_shared::{AppState, Result};

const DEF: &ResourceDef = &organization::RESOURCE;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/organizations", get(index).post(create))
        .route("/api/v3/iam/organizations/{id}", get(show).patch(update).delete(remove))
}

async fn index(State(state): State<AppState>, principal: Principal, RawQuery(raw): RawQuery) -> Result<Response> {
    list(&state, &principal, DEF, raw.as_deref(), |_| Ok(())).await
}

async fn create(State(state): State<AppState>, principal: Principal, JsonBody(body): JsonBody) -> Result<Response> {
    let item = organizations::create(&state, &principal, &body).await?;
    Ok(resource_response(StatusCode::CREATED, DEF, &item, &state))
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
    if_match: IfMatch,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let item = organizations::update(&state, &principal, &id, &if_match, &body).await?;
    Ok(resource_response(StatusCode::OK, DEF, &item, &state))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    if_match: IfMatch,
) -> Result<StatusCode> {
    organizations::remove(&state, &principal, &id, &if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}
