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
    // Second factors live with the function that verifies codes at login (it alone holds the
    // key their secrets are sealed under). Enrolment also takes `Authorization: MFA <mfa_token>`.
    route("POST", "/api/v3/iam/accounts/me/mfa/totp", "sessions"),
    route("POST", "/api/v3/iam/accounts/me/mfa/totp/confirm", "sessions"),
    route("DELETE", "/api/v3/iam/accounts/me/mfa/totp", "sessions"),
    route("DELETE", "/api/v3/iam/accounts/{id}/mfa", "sessions"),
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
    route("GET", "/api/v3/iam/people", "people"),
    route("POST", "/api/v3/iam/people", "people"),
    route("GET", "/api/v3/iam/people/{id}", "people"),
    route("PATCH", "/api/v3/iam/people/{id}", "people"),
    route("DELETE", "/api/v3/iam/people/{id}", "people"),
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
pub const FUNCTIONS: &[&str] = &["accounts", "organizations", "passwords", "people", "roles", "sessions", "teams"];

/// The function crates run by schedules and streams instead of HTTP, each one Lambda.
pub const BACKGROUND: &[&str] = &["cleanup", "mailer"];

pub fn of_function(function: &str) -> impl Iterator<Item = &'static Route> + '_ {
    ROUTES.iter().filter(move |r| r.function == function)
}

/// The function that answers API Gateway's `$default` route (a path or method no route has),
/// with the JSON:API 404 or 405 that [`unmatched`] decides; any function could, as each holds
/// this table.
pub const DEFAULT_ROUTE_FUNCTION: &str = "passwords";

impl Route {
    /// Does the request path `path` fall under this route's template? A `{name}` segment
    /// matches any one non-empty segment.
    pub fn matches(&self, path: &str) -> bool {
        let mut template = self.path.split('/');
        let mut given = path.split('/');
        loop {
            match (template.next(), given.next()) {
                (None, None) => return true,
                (Some(t), Some(g)) if t.starts_with('{') => {
                    if g.is_empty() {
                        return false;
                    }
                }
                (Some(t), Some(g)) if t == g => {}
                _ => return false,
            }
        }
    }

    /// How many of its segments are literal: where two templates match a path
    /// (`/accounts/me`, `/accounts/{id}`), the router takes the more literal one.
    fn literal_segments(&self) -> usize {
        self.path.split('/').filter(|s| !s.starts_with('{')).count()
    }
}

/// The route a request with `method` and `path` takes, as the routers choose it; what access
/// logs name instead of the path, which may hold a token.
pub fn of_request(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES.iter().filter(|r| r.method == method && r.matches(path)).max_by_key(|r| r.literal_segments())
}

/// Why no route takes a request: its path is unknown (`None`: 404), or it is known with other
/// methods (`Some`, those methods: 405 with `Allow`).
pub fn unmatched(path: &str) -> Option<Vec<&'static str>> {
    let mut methods: Vec<&'static str> = ROUTES.iter().filter(|r| r.matches(path)).map(|r| r.method).collect();
    methods.sort_unstable();
    methods.dedup();
    (!methods.is_empty()).then_some(methods)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_takes_the_most_literal_route_of_its_method() {
        let of = |m, p| of_request(m, p).map(|r| r.path);
        assert_eq!(of("GET", "/api/v3/iam/accounts/me"), Some("/api/v3/iam/accounts/me"));
        assert_eq!(of("GET", "/api/v3/iam/accounts/0190abc"), Some("/api/v3/iam/accounts/{id}"));
        assert_eq!(of("PATCH", "/api/v3/iam/accounts/tok3n/join"), Some("/api/v3/iam/accounts/{id}/join"));
        assert_eq!(of("PUT", "/api/v3/iam/accounts/0190abc"), None);
        assert_eq!(of("GET", "/api/v3/iam/accounts/"), None, "an empty segment is no id");
        assert_eq!(of("GET", "/api/v3/iam/accounts/a/b"), None);
        assert_eq!(of("GET", "/api/v3/iam"), None);
    }

    #[test]
    fn an_unmatched_request_is_told_the_methods_its_path_has() {
        assert_eq!(unmatched("/api/v3/iam/accounts/x"), Some(vec!["DELETE", "GET", "PATCH"]));
        assert_eq!(unmatched("/api/v3/iam/auth/token"), Some(vec!["POST"]));
        assert_eq!(unmatched("/api/v3/iam/nothing"), None);
        assert_eq!(unmatched("/"), None);
    }

    #[test]
    fn the_default_route_is_served_by_an_http_function() {
        assert!(FUNCTIONS.contains(&DEFAULT_ROUTE_FUNCTION));
    }
}
