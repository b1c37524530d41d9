//! The accounts function: list, create, show, update and delete accounts, the caller's own
//! account (`/accounts/me`), lookup by external id, and invitations (join, resend). Each
//! handler extracts its inputs, makes one call to `usecase::accounts` or
//! `usecase::invitations`, and renders the answer.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, patch, post};
use iam_shared::auth::Principal;
use iam_shared::http::{ActionBody, JsonBody, ResourceId, list, resource_response, show_readable, show_response};
use iam_shared::model::account;
use iam_shared::resource::ResourceDef;
use iam_shared::usecase::load::IfMatch;
use iam_shared::usecase::{accounts, invitations};
use iam_shared::{AppState, Result};

const DEF: &ResourceDef = &account::RESOURCE;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/accounts", get(index).post(create))
        .route("/api/v3/iam/accounts/me", get(me))
        .route("/api/v3/iam/accounts/external/{external_id}", get(by_external_id))
        .route("/api/v3/iam/accounts/{id}", get(show).patch(update).delete(remove))
        // `{id}` is the invitation token here: one parameter name per position keeps the
        // router (and API Gateway) unambiguous.
        .route("/api/v3/iam/accounts/{id}/join", patch(join))
        .route("/api/v3/iam/accounts/{id}/resend_invitation", post(resend))
}

async fn index(State(state): State<AppState>, principal: Principal, RawQuery(raw): RawQuery) -> Result<Response> {
    list(&state, &principal, DEF, raw.as_deref(), |_| Ok(())).await
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
    let item = accounts::me(&state, &principal).await?;
    show_response(DEF, &item, &state, &principal, raw.as_deref()).await
}

async fn by_external_id(
    State(state): State<AppState>,
    principal: Principal,
    Path(external_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let item = accounts::by_external_id(&state, &principal, &external_id).await?;
    show_response(DEF, &item, &state, &principal, raw.as_deref()).await
}

async fn create(State(state): State<AppState>, principal: Principal, JsonBody(body): JsonBody) -> Result<Response> {
    let item = accounts::create(&state, &principal, &body).await?;
    Ok(resource_response(StatusCode::CREATED, DEF, &item, &state))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    if_match: IfMatch,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let item = accounts::update(&state, &principal, &id, &if_match, &body).await?;
    Ok(resource_response(StatusCode::OK, DEF, &item, &state))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    if_match: IfMatch,
) -> Result<StatusCode> {
    accounts::remove(&state, &principal, &id, &if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH /accounts/{token}/join` (public): accepts the invitation.
async fn join(State(state): State<AppState>, Path(token): Path<String>, body: ActionBody) -> Result<StatusCode> {
    invitations::join(&state, &token, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /accounts/{id}/resend_invitation`: a new link by email; the old ones stop working.
async fn resend(State(state): State<AppState>, principal: Principal, ResourceId(id): ResourceId) -> Result<StatusCode> {
    invitations::resend(&state, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
