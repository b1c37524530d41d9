//! `/account_sessions`: the sessions a caller may see (its own; its organization's with
//! `sessions:read`), each one ended at once by a delete (its own, or with `sessions:write`).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use iam_shared::auth::Principal;
use iam_shared::http::{ResourceId, list as list_of, show_readable};
use iam_shared::model::account_session::RESOURCE;
use iam_shared::usecase::sessions;
use iam_shared::{AppState, Result};

pub async fn list(State(state): State<AppState>, principal: Principal, RawQuery(raw): RawQuery) -> Result<Response> {
    list_of(&state, &principal, &RESOURCE, raw.as_deref(), |_| Ok(())).await
}

pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    show_readable(&RESOURCE, &id, &state, &principal, raw.as_deref()).await
}

/// Ends the session: its access and refresh tokens stop working on their next use.
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
) -> Result<StatusCode> {
    sessions::end(&state, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
