//! The teams function: teams (`/teams`) and who is in them (`/team_memberships`), through
//! `usecase::teams`. A membership is written together with its account; deleting a team
//! removes its memberships and the roles held in it. Memberships are listed by team or by
//! account.

use axum::Router;
use axum::routing::get;
use iam_shared::AppState;
use iam_shared::http::handlers::{create, index, remove, show, update};
use iam_shared::usecase::resources::{TeamMemberships, Teams};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/teams", get(index::<Teams>).post(create::<Teams>))
        .route("/api/v3/iam/teams/{id}", get(show::<Teams>).patch(update::<Teams>).delete(remove::<Teams>))
        .route("/api/v3/iam/team_memberships", get(index::<TeamMemberships>).post(create::<TeamMemberships>))
        .route("/api/v3/iam/team_memberships/{id}", get(show::<TeamMemberships>).delete(remove::<TeamMemberships>))
}
