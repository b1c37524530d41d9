//! The accounts function: list, create, show, update and delete accounts, the caller's own
//! account (`/accounts/me`), lookup by external id, and invitations (join, resend). The
//! standard routes are the generic handlers of `Accounts`; the others extract their inputs,
//! make one call to `usecase::accounts` or `usecase::invitations`, and render the answer.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, patch, post};
use iam_shared::auth::Principal;
use iam_shared::http::handlers::{create, index, remove, show, update};
use iam_shared::http::{ActionBody, ResourceId, show_response};
use iam_shared::model::account;
use iam_shared::resource::ResourceDef;
use iam_shared::usecase::resources::Accounts;
use iam_shared::usecase::{accounts, invitations};
use iam_shared::{AppState, Result};

const DEF: &ResourceDef = &account::RESOURCE;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/accounts", get(index::<Accounts>).post(create::<Accounts>))
        .route("/api/v3/iam/accounts/me", get(me))
        .route("/api/v3/iam/accounts/external/{external_id}", get(by_external_id))
        .route("/api/v3/iam/accounts/{id}", get(show::<Accounts>).patch(update::<Accounts>).delete(remove::<Accounts>))
        // `{id}` is the invitation token here: one parameter name per position keeps the
        // router (and API Gateway) unambiguous.
        .route("/api/v3/iam/accounts/{id}/join", patch(join))
        .route("/api/v3/iam/accounts/{id}/resend_invitation", post(resend))
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
