//! The generic handlers of a resource's standard routes (`GET` a collection or an item,
//! `POST`, `PATCH`, `DELETE`): each extracts its inputs, makes the one call its resource names
//! (`usecase::resources`), and renders the answer. A function's router picks them by resource,
//! e.g. `get(index::<Organizations>)`.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::extract::{JsonBody, ResourceId};
use super::render::{list, resource_response, show_response};
use crate::app::AppState;
use crate::auth::Principal;
use crate::error::Result;
use crate::usecase::load::{Edit, IfMatch};
use crate::usecase::resources::{Creates, Removes, Resource, Updates};

/// `GET /TYPE`: the listing the query string asks for, within what the caller may read.
pub async fn index<R: Resource>(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    R::may_list(&principal)?;
    list(&state, &principal, R::DEF, raw.as_deref(), R::check_query).await
}

/// `GET /TYPE/{id}`, with `include` and `fields[TYPE]`.
pub async fn show<R: Resource>(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let item = R::load(&state, &principal, &id).await?;
    show_response(R::DEF, &item, &state, &principal, raw.as_deref()).await
}

/// `POST /TYPE`: 201 with the new item, its ETag and `Location`.
pub async fn create<R: Creates>(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let item = R::create(&state, &principal, &body).await?;
    Ok(resource_response(StatusCode::CREATED, R::DEF, &item, &state))
}

/// `PATCH /TYPE/{id}`: 200 with the item as changed.
pub async fn update<R: Updates>(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    if_match: IfMatch,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let item = R::update(&state, &principal, Edit { id: &id, if_match: &if_match, body: &body }).await?;
    Ok(resource_response(StatusCode::OK, R::DEF, &item, &state))
}

/// `DELETE /TYPE/{id}`: 204.
pub async fn remove<R: Removes>(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    if_match: IfMatch,
) -> Result<StatusCode> {
    R::remove(&state, &principal, &id, &if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}
