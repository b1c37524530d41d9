//! The roles function: the role catalog (`/roles`: built-in roles, read-only, and custom ones)
//! and role assignments (`/role_assignments`: who holds which role where), through
//! `usecase::roles`. Nobody grants more than it holds; revoking needs the right to grant the
//! same role there; the last root admin stays.

use axum::Router;
use axum::routing::get;
use iam_shared::AppState;
use iam_shared::http::handlers::{create, index, remove, show, update};
use iam_shared::usecase::resources::{RoleAssignments, Roles};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/roles", get(index::<Roles>).post(create::<Roles>))
        .route("/api/v3/iam/roles/{id}", get(show::<Roles>).patch(update::<Roles>).delete(remove::<Roles>))
        .route("/api/v3/iam/role_assignments", get(index::<RoleAssignments>).post(create::<RoleAssignments>))
        .route("/api/v3/iam/role_assignments/{id}", get(show::<RoleAssignments>).delete(remove::<RoleAssignments>))
}
