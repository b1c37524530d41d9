//! The route table: every route of the API and the function that serves it. The local gateway,
//! the tests of each function's router and the test of `infra/template.yaml` all read it, so
//! that code and infrastructure cannot drift apart.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// API Gateway syntax, which is also axum's: `/api/v3/iam/organizations/{id}`.
    pub path: &'static str,
    /// The function crate (and Lambda) serving it.
    pub function: &'static str,
    /// Reachable without a bearer token.
    pub public: bool,
}

const fn route(method: &'static str, path: &'static str, function: &'static str) -> Route {
    Route { method, path, function, public: false }
}

const fn public(method: &'static str, path: &'static str, function: &'static str) -> Route {
    Route { method, path, function, public: true }
}

pub const ROUTES: &[Route] = &[
    route("GET", "/api/v3/iam/accounts", "accounts"),
    route("POST", "/api/v3/iam/accounts", "accounts"),
    route("GET", "/api/v3/iam/accounts/me", "accounts"),
    route("GET", "/api/v3/iam/accounts/external/{external_id}", "accounts"),
    route("GET", "/api/v3/iam/accounts/{id}", "accounts"),
    route("PATCH", "/api/v3/iam/accounts/{id}", "accounts"),
    route("DELETE", "/api/v3/iam/accounts/{id}", "accounts"),
    // `{id}` is the invitation token (one parameter name per position keeps routers simple).
    public("PATCH", "/api/v3/iam/accounts/{id}/join", "accounts"),
    route("POST", "/api/v3/iam/accounts/{id}/resend_invitation", "accounts"),
    public("POST", "/api/v3/iam/account/passwords/request_reset", "passwords"),
    public("POST", "/api/v3/iam/account/passwords/reset", "passwords"),
    public("GET", "/api/v3/iam/account/passwords/token_valid", "passwords"),
    route("POST", "/api/v3/iam/account/passwords/change", "passwords"),
    route("GET", "/api/v3/iam/account_sessions", "sessions"),
    route("GET", "/api/v3/iam/account_sessions/{id}", "sessions"),
    route("DELETE", "/api/v3/iam/account_sessions/{id}", "sessions"),
    route("GET", "/api/v3/iam/organizations", "organizations"),
    route("POST", "/api/v3/iam/organizations", "organizations"),
    route("GET", "/api/v3/iam/organizations/{id}", "organizations"),
    route("PATCH", "/api/v3/iam/organizations/{id}", "organizations"),
    route("DELETE", "/api/v3/iam/organizations/{id}", "organizations"),
    route("GET", "/api/v3/iam/roles", "roles"),
    route("POST", "/api/v3/iam/roles", "roles"),
    route("GET", "/api/v3/iam/roles/{id}", "roles"),
    route("PATCH", "/api/v3/iam/roles/{id}", "roles"),
    route("DELETE", "/api/v3/iam/roles/{id}", "roles"),
    route("GET", "/api/v3/iam/role_assignments", "roles"),
    route("POST", "/api/v3/iam/role_assignments", "roles"),
    route("GET", "/api/v3/iam/role_assignments/{id}", "roles"),
    route("DELETE", "/api/v3/iam/role_assignments/{id}", "roles"),
    route("GET", "/api/v3/iam/teams", "teams"),
    route("POST", "/api/v3/iam/teams", "teams"),
    route("GET", "/api/v3/iam/teams/{id}", "teams"),
    route("PATCH", "/api/v3/iam/teams/{id}", "teams"),
    route("DELETE", "/api/v3/iam/teams/{id}", "teams"),
    route("GET", "/api/v3/iam/team_memberships", "teams"),
    route("POST", "/api/v3/iam/team_memberships", "teams"),
    route("GET", "/api/v3/iam/team_memberships/{id}", "teams"),
    route("DELETE", "/api/v3/iam/team_memberships/{id}", "teams"),
    public("POST", "/api/v3/iam/auth/token", "sessions"),
    // Public in RFC 7009's form (a `token` in the body); with a bearer, it ends the caller's session.
    public("POST", "/api/v3/iam/auth/revoke", "sessions"),
    route("POST", "/api/v3/iam/auth/introspect", "sessions"),
    public("GET", "/.well-known/jwks.json", "sessions"),
    public("GET", "/.well-known/openid-configuration", "sessions"),
    public("GET", "/.well-known/oauth-authorization-server", "sessions"),
    public("GET", "/health", "sessions"),
    // The smallest HTTP function serves the contract: the document's generator is ~140 KB.
    public("GET", "/openapi.json", "passwords"),
];

/// The function crates that serve HTTP routes, each one Lambda.
pub const FUNCTIONS: &[&str] = &["accounts", "organizations", "passwords", "roles", "sessions", "teams"];

/// The function crates run by schedules and streams instead of HTTP, each one Lambda.
pub const BACKGROUND: &[&str] = &["cleanup", "mailer"];

pub fn of_function(function: &str) -> impl Iterator<Item = &'static Route> + '_ {
    ROUTES.iter().filter(move |r| r.function == function)
}
