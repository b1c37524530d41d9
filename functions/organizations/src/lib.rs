//! The organizations function: create, read, list, update and delete organizations. Reads are
//! limited to the organizations the caller may see; an organization's admin updates it; only a
//! global role creates or deletes one (`usecase::organizations`).

use axum::Router;
use axum::routing::get;
use iam_shared::AppState;
use iam_shared::http::handlers::{create, index, remove, show, update};
use iam_shared::usecase::resources::Organizations;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v3/iam/organizations", get(index::<Organizations>).post(create::<Organizations>)).route(
        "/api/v3/iam/organizations/{id}",
        get(show::<Organizations>).patch(update::<Organizations>).delete(remove::<Organizations>),
    )
}
