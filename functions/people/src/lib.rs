//! The people function: the people behind accounts (`/people`), through `usecase::people`. A
//! person is created in an organization and stays there; deleting one is refused while an
//! account is still correlated with it.

use axum::Router;
use axum::routing::get;
use iam_shared::AppState;
use iam_shared::http::handlers::{create, index, remove, show, update};
use iam_shared::usecase::resources::People;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/people", get(index::<People>).post(create::<People>))
        .route("/api/v3/iam/people/{id}", get(show::<People>).patch(update::<People>).delete(remove::<People>))
}
