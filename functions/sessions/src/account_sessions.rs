//! `/account_sessions`: the sessions a caller may see (its own; its organization's with
//! `sessions:read`), each one ended at once by a delete (its own, or with `sessions:write`).

use axum::Router;
use axum::routing::get;
use iam_shared::AppState;
use iam_shared::http::handlers::{index, remove, show};
use iam_shared::usecase::resources::AccountSessions;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/account_sessions", get(index::<AccountSessions>))
        .route("/api/v3/iam/account_sessions/{id}", get(show::<AccountSessions>).delete(remove::<AccountSessions>))
}
