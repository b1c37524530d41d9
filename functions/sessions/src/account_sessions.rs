//! `/account_sessions`: the sessions a caller may see (its own; its organization's with
//! `sessions:read`), each one ended at once by a delete (its own, or with `sessions:write`).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use iam_shared::auth::{Principal, session};
use iam_shared::http::{ResourceId, show_readable};
use iam_shared::model::account_session::RESOURCE;
use iam_shared::{AppState, Result, listing};

pub async fn list(State(state): State<AppState>, principal: Principal, RawQuery(raw): RawQuery) -> Result<Response> {
    listing::respond(&state, &principal, &RESOURCE, raw.as_deref(), |_| Ok(())).await
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
    let item = principal.load_readable(state.store.as_ref(), &RESOURCE, &id, state.now()).await?;
    principal.check_end_session(state.store.as_ref(), &item).await?;
    session::end(&state, &id).await?;
    tracing::info!(session_id = %id, by = %principal.account_id, "session ended by request");
    Ok(StatusCode::NO_CONTENT)
}
