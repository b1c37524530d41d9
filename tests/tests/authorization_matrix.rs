//! The authorization matrix: every route of the API, called by each kind of caller against
//! objects of organization A, must answer exactly the status written in the table below.
//! Listings must also show the object of A exactly to those who may see it (`200+`) and to no
//! one else (`200-`). A handler that forgets a check changes a cell and fails this test, and a
//! route missing from the table fails it too.

use std::collections::BTreeSet;

use http::Method;
use iam_shared::routes::ROUTES;
use iam_tests::TestApp;
use iam_tests::app::PASSWORD;
use serde_json::{Value, json};

/// An account of organization A holding the global `root_admin` role.
const GLOBAL_EMAIL: &str = "global@a.test";

/// The callers, in the order of the table's columns.
const CALLERS: [&str; 6] = ["anonymous", "member_a", "helpdesk_a", "org_admin_a", "org_admin_b", "root_admin"];

/// Method, path (objects of A in braces), and the status each caller gets. `200+` / `200-`:
/// a listing that does / does not contain the object of A.
#[rustfmt::skip]
const MATRIX: &[(&str, &str, [&str; 6])] = &[
    //                                                    anon   member  helpdesk org_admin_a org_admin_b root
    ("GET",    "/api/v3/iam/accounts",                    ["401", "200-", "200+", "200+", "200-", "200+"]),
    ("POST",   "/api/v3/iam/accounts",                    ["401", "403",  "403",  "201",  "422",  "201"]),
    ("GET",    "/api/v3/iam/accounts/me",                 ["401", "200",  "200",  "200",  "200",  "200"]),
    ("GET",    "/api/v3/iam/accounts/external/{ext}",     ["401", "404",  "200",  "200",  "404",  "200"]),
    ("GET",    "/api/v3/iam/accounts/{x}",                ["401", "404",  "200",  "200",  "404",  "200"]),
    ("PATCH",  "/api/v3/iam/accounts/{x}",                ["401", "404",  "403",  "200",  "404",  "200"]),
    ("DELETE", "/api/v3/iam/accounts/{x}",                ["401", "404",  "403",  "204",  "404",  "204"]),
    ("GET",    "/api/v3/iam/organizations",               ["401", "200+", "200+", "200+", "200-", "200+"]),
    ("POST",   "/api/v3/iam/organizations",               ["401", "403",  "403",  "403",  "403",  "201"]),
    ("GET",    "/api/v3/iam/organizations/{a}",           ["401", "200",  "200",  "200",  "404",  "200"]),
    ("PATCH",  "/api/v3/iam/organizations/{a}",           ["401", "403",  "403",  "200",  "404",  "200"]),
    // A still has accounts: the root admin passes authorization and meets the 409.
    ("DELETE", "/api/v3/iam/organizations/{a}",           ["401", "403",  "403",  "403",  "404",  "409"]),
    ("GET",    "/api/v3/iam/roles",                       ["401", "403",  "403",  "200+", "200+", "200+"]),
    ("POST",   "/api/v3/iam/roles",                       ["401", "403",  "403",  "403",  "403",  "201"]),
    ("GET",    "/api/v3/iam/roles/{c}",                   ["401", "403",  "403",  "200",  "200",  "200"]),
    ("PATCH",  "/api/v3/iam/roles/{c}",                   ["401", "403",  "403",  "403",  "403",  "200"]),
    ("DELETE", "/api/v3/iam/roles/{c}",                   ["401", "403",  "403",  "403",  "403",  "204"]),
    ("GET",    "/api/v3/iam/role_assignments",            ["401", "200-", "200+", "200+", "200-", "200+"]),
    ("POST",   "/api/v3/iam/role_assignments",            ["401", "403",  "403",  "201",  "422",  "201"]),
    ("GET",    "/api/v3/iam/role_assignments/{r}",        ["401", "404",  "200",  "200",  "404",  "200"]),
    ("DELETE", "/api/v3/iam/role_assignments/{r}",        ["401", "404",  "403",  "204",  "404",  "204"]),
    ("GET",    "/api/v3/iam/teams",                       ["401", "200+", "200-", "200+", "200-", "200+"]),
    ("POST",   "/api/v3/iam/teams",                       ["401", "403",  "403",  "201",  "422",  "201"]),
    ("GET",    "/api/v3/iam/teams/{t}",                   ["401", "200",  "404",  "200",  "404",  "200"]),
    ("PATCH",  "/api/v3/iam/teams/{t}",                   ["401", "403",  "404",  "200",  "404",  "200"]),
    ("DELETE", "/api/v3/iam/teams/{t}",                   ["401", "403",  "404",  "204",  "404",  "204"]),
    ("GET",    "/api/v3/iam/team_memberships",            ["401", "200+", "200-", "200+", "200-", "200+"]),
    ("POST",   "/api/v3/iam/team_memberships",            ["401", "403",  "403",  "201",  "422",  "201"]),
    ("GET",    "/api/v3/iam/team_memberships/{m}",        ["401", "200",  "404",  "200",  "404",  "200"]),
    ("DELETE", "/api/v3/iam/team_memberships/{m}",        ["401", "403",  "404",  "204",  "404",  "204"]),
    // People: org_admin reads and writes them, helpdesk reads them, a member sees none.
    ("GET",    "/api/v3/iam/people",                      ["401", "200-", "200+", "200+", "200-", "200+"]),
    ("POST",   "/api/v3/iam/people",                      ["401", "403",  "403",  "201",  "422",  "201"]),
    ("GET",    "/api/v3/iam/people/{h}",                  ["401", "404",  "200",  "200",  "404",  "200"]),
    ("PATCH",  "/api/v3/iam/people/{h}",                  ["401", "404",  "403",  "200",  "404",  "200"]),
    ("DELETE", "/api/v3/iam/people/{h}",                  ["401", "404",  "403",  "204",  "404",  "204"]),
    ("PATCH",  "/api/v3/iam/accounts/{k}/join",          ["204", "204",  "204",  "204",  "204",  "204"]),
    ("POST",   "/api/v3/iam/accounts/{p}/resend_invitation", ["401", "404", "204", "204",  "404",  "204"]),
    // The caller's own second factor: a wrong current password; no enrolment to confirm; none to remove.
    ("POST",   "/api/v3/iam/accounts/me/mfa/totp",        ["401", "422",  "422",  "422",  "422",  "422"]),
    ("POST",   "/api/v3/iam/accounts/me/mfa/totp/confirm", ["401", "409", "409",  "409",  "409",  "409"]),
    ("DELETE", "/api/v3/iam/accounts/me/mfa/totp",        ["401", "409",  "409",  "409",  "409",  "409"]),
    // An admin's reset of another account's second factor: accounts:write where it is.
    ("DELETE", "/api/v3/iam/accounts/{x}/mfa",            ["401", "404",  "403",  "204",  "404",  "204"]),
    ("POST",   "/api/v3/iam/account/passwords/request_reset", ["204", "204", "204", "204", "204",  "204"]),
    // A made-up token: public, and nothing to reset.
    ("POST",   "/api/v3/iam/account/passwords/reset",     ["422", "422",  "422",  "422",  "422",  "422"]),
    ("GET",    "/api/v3/iam/account/passwords/token_valid", ["200", "200", "200", "200",  "200",  "200"]),
    // A wrong current password: authenticated, and refused.
    ("POST",   "/api/v3/iam/account/passwords/change",    ["401", "422",  "422",  "422",  "422",  "422"]),
    ("GET",    "/api/v3/iam/account_sessions",            ["401", "200-", "200+", "200+", "200-", "200+"]),
    ("GET",    "/api/v3/iam/account_sessions/{s}",        ["401", "404",  "200",  "200",  "404",  "200"]),
    ("DELETE", "/api/v3/iam/account_sessions/{s}",        ["401", "404",  "204",  "204",  "404",  "204"]),
    // A session of an account of A that holds a global role: seen as the account is, and
    // ended only by a caller with a global grant.
    ("GET",    "/api/v3/iam/account_sessions/{g}",        ["401", "404",  "200",  "200",  "404",  "200"]),
    ("DELETE", "/api/v3/iam/account_sessions/{g}",        ["401", "404",  "403",  "403",  "404",  "204"]),
    ("POST",   "/api/v3/iam/auth/token",                  ["200", "200",  "200",  "200",  "200",  "200"]),
    ("POST",   "/api/v3/iam/auth/revoke",                 ["401", "204",  "204",  "204",  "204",  "204"]),
    // Only a global grant carries tokens:introspect.
    ("POST",   "/api/v3/iam/auth/introspect",             ["401", "403",  "403",  "403",  "403",  "200"]),
    ("GET",    "/.well-known/jwks.json",                  ["200", "200",  "200",  "200",  "200",  "200"]),
    ("GET",    "/.well-known/openid-configuration",       ["200", "200",  "200",  "200",  "200",  "200"]),
    ("GET",    "/.well-known/oauth-authorization-server", ["200", "200",  "200",  "200",  "200",  "200"]),
    ("GET",    "/health",                                 ["200", "200",  "200",  "200",  "200",  "200"]),
    ("GET",    "/openapi.json",                           ["200", "200",  "200",  "200",  "200",  "200"]),
];

/// Fresh objects of organization A for one cell (deletes and updates must not meet the
/// leftovers of another cell), and a fresh member of A who is in team `t`.
struct World {
    a: String,
    /// An account of A (with external id `ext`), member of team `t`, holding `member` as `r`.
    x: String,
    ext: String,
    member_email: String,
    /// Another account of A, in no team (for membership creation).
    y: String,
    t: String,
    m: String,
    r: String,
    /// A custom role.
    c: String,
    /// A session of `x`.
    s: String,
    /// A session of the account of A that holds a global role (`GLOBAL_EMAIL`).
    g: String,
    /// An invited account of A, and the token of its join link.
    p: String,
    k: String,
    /// A person of A, no account correlated.
    h: String,
}

impl World {
    async fn new(app: &TestApp, a: &str, n: usize) -> World {
        let ext = format!("ext-{n}");
        let x = app
            .create(
                "accounts",
                json!({"email": format!("x{n}@a.test"), "password": PASSWORD, "organization_id": a, "external_id": ext}),
            )
            .await;
        let member_email = format!("member{n}@a.test");
        let member = app.create_account(&member_email, a).await;
        let y = app.create_account(&format!("y{n}@a.test"), a).await;
        let t = app.create("teams", json!({"name": format!("team {n}"), "organization_id": a})).await;
        let m = app.create("team_memberships", json!({"team_id": t, "account_id": x})).await;
        app.create("team_memberships", json!({"team_id": t, "account_id": member})).await;
        let r = app.create("role_assignments", json!({"account_id": x, "role_name": "member", "scope_id": a})).await;
        app.create("role_assignments", json!({"account_id": member, "role_name": "member", "scope_id": a})).await;
        let c = app
            .create("roles", json!({"name": format!("custom-{n}"), "scope": "team", "permissions": ["teams:read"]}))
            .await;
        let s = app.login(&format!("x{n}@a.test"), PASSWORD).await["session_id"].as_str().unwrap().to_string();
        let g = app.login(GLOBAL_EMAIL, PASSWORD).await["session_id"].as_str().unwrap().to_string();
        let invited = format!("invited{n}@a.test");
        let p = app.create("accounts", json!({"email": invited, "organization_id": a})).await;
        let k = app.mailed_token(&invited, "join").await.expect("an invitation");
        let h = app.create("people", json!({"name": format!("Person {n}"), "organization_id": a})).await;
        World { a: a.into(), x, ext, member_email, y, t, m, r, c, s, g, p, k, h }
    }

    fn path(&self, template: &str) -> String {
        template
            .replace("{ext}", &self.ext)
            .replace("{x}", &self.x)
            .replace("{a}", &self.a)
            .replace("{c}", &self.c)
            .replace("{r}", &self.r)
            .replace("{t}", &self.t)
            .replace("{m}", &self.m)
            .replace("{s}", &self.s)
            .replace("{g}", &self.g)
            .replace("{p}", &self.p)
            .replace("{k}", &self.k)
            .replace("{h}", &self.h)
    }

    /// The object of A a listing should or should not show.
    fn listed(&self, path: &str) -> &str {
        match path.rsplit('/').next().unwrap_or_default() {
            "accounts" => &self.x,
            "organizations" => &self.a,
            "roles" => &self.c,
            "role_assignments" => &self.r,
            "teams" => &self.t,
            "account_sessions" => &self.s,
            "people" => &self.h,
            _ => &self.m,
        }
    }

    /// A valid request body for a create or update, and the query a listing needs.
    fn request(&self, method: &str, path: &str, n: usize) -> (String, Option<Value>) {
        let doc = |type_name: &str, id: Option<&str>, attributes: Value| {
            let mut data = json!({"type": type_name, "attributes": attributes});
            if let Some(id) = id {
                data["id"] = json!(id);
            }
            Some(json!({"data": data}))
        };
        let path = self.path(path);
        let body = match (method, path.as_str()) {
            (_, p) if p.ends_with("/join") => Some(json!({"password": PASSWORD})),
            ("POST", "/api/v3/iam/accounts") => {
                doc("accounts", None, json!({"email": format!("new{n}@a.test"), "organization_id": self.a}))
            }
            ("PATCH", p) if p.contains("/accounts/") => doc("accounts", Some(&self.x), json!({"name": "Renamed"})),
            ("POST", "/api/v3/iam/organizations") => doc("organizations", None, json!({"name": format!("Org {n}")})),
            ("PATCH", p) if p.contains("/organizations/") => {
                doc("organizations", Some(&self.a), json!({"description": format!("edit {n}")}))
            }
            ("POST", "/api/v3/iam/roles") => {
                doc("roles", None, json!({"name": format!("new-{n}"), "scope": "organization", "permissions": []}))
            }
            ("PATCH", p) if p.contains("/roles/") => doc("roles", Some(&self.c), json!({"description": "edited"})),
            ("POST", "/api/v3/iam/role_assignments") => doc(
                "role_assignments",
                None,
                json!({"account_id": self.y, "role_name": "helpdesk", "scope_id": self.a}),
            ),
            ("POST", "/api/v3/iam/teams") => {
                doc("teams", None, json!({"name": format!("new team {n}"), "organization_id": self.a}))
            }
            ("PATCH", p) if p.contains("/teams/") => doc("teams", Some(&self.t), json!({"description": "edited"})),
            ("POST", "/api/v3/iam/people") => {
                doc("people", None, json!({"name": format!("New person {n}"), "organization_id": self.a}))
            }
            ("PATCH", p) if p.contains("/people/") => doc("people", Some(&self.h), json!({"state": "inactive"})),
            ("POST", "/api/v3/iam/team_memberships") => {
                doc("team_memberships", None, json!({"team_id": self.t, "account_id": self.y}))
            }
            (_, p) if p.ends_with("/request_reset") => Some(json!({"email": format!("x{n}@a.test")})),
            (_, p) if p.ends_with("/introspect") => Some(json!({"token": "made-up"})),
            (_, p) if p.ends_with("/passwords/reset") => Some(json!({"token": "made-up", "password": PASSWORD})),
            (_, p) if p.ends_with("/mfa/totp/confirm") => Some(json!({"code": "000000"})),
            (_, p) if p.ends_with("/mfa/totp") => Some(json!({"current_password": "Not!The0ne", "code": "000000"})),
            (_, p) if p.ends_with("/change") => {
                Some(json!({"current_password": "Not!The0ne", "password": "An0ther!Password"}))
            }
            _ => None,
        };
        let path = if method == "GET" && path.ends_with("/team_memberships") {
            format!("{path}?filter[team_id]={}", self.t)
        } else if path.ends_with("/token_valid") {
            format!("{path}?token=made-up")
        } else {
            path
        };
        (path, body)
    }
}

/// The caller's access token for a cell (a fresh session: `revoke` ends it).
async fn token_of(app: &TestApp, caller: &str, world: &World) -> Option<String> {
    let email = match caller {
        "anonymous" => return None,
        "member_a" => world.member_email.clone(),
        "root_admin" => iam_tests::app::ADMIN_EMAIL.into(),
        other => format!("{other}@matrix.test"),
    };
    let password = if caller == "root_admin" { iam_tests::app::ADMIN_PASSWORD } else { PASSWORD };
    Some(app.login(&email, password).await["access_token"].as_str().expect("token").to_string())
}

#[tokio::test]
async fn every_route_answers_each_kind_of_caller_as_the_table_says() {
    let app = TestApp::new().await;
    let a = app.create_org("Org A").await;
    let b = app.create_org("Org B").await;
    for (caller, org, role) in
        [("helpdesk_a", &a, "helpdesk"), ("org_admin_a", &a, "org_admin"), ("org_admin_b", &b, "org_admin")]
    {
        app.account_with_role(&format!("{caller}@matrix.test"), Some(org), Some((role, Some(org)))).await;
    }
    app.account_with_role(GLOBAL_EMAIL, Some(&a), Some(("root_admin", None))).await;
    let mut mismatches = Vec::new();
    let mut n = 0;
    for (method, template, expected) in MATRIX {
        for (caller, want) in CALLERS.iter().zip(expected) {
            n += 1;
            let world = World::new(&app, &a, n).await;
            let token = token_of(&app, caller, &world).await;
            let (path, body) = world.request(method, template, n);
            let reply = if *template == "/api/v3/iam/auth/token" {
                app.token(json!({"grant_type": "password", "email": format!("x{n}@a.test"), "password": PASSWORD}))
                    .await
            } else {
                app.call(Method::from_bytes(method.as_bytes()).unwrap(), &path, token.as_deref(), body).await
            };
            let got = match (reply.status.as_u16(), want.len()) {
                (200, 4) => {
                    let shown = reply.ids().iter().any(|id| id == world.listed(template));
                    format!("200{}", if shown { '+' } else { '-' })
                }
                (status, _) => status.to_string(),
            };
            if got != *want {
                mismatches.push(format!("{method} {template} as {caller}: expected {want}, got {got} {}", reply.body));
            }
        }
    }
    assert!(mismatches.is_empty(), "{} cells differ:\n{}", mismatches.len(), mismatches.join("\n"));
}

#[test]
fn the_table_covers_every_route_once() {
    let table: Vec<(&str, &str)> = MATRIX.iter().map(|(m, p, _)| (*m, *p)).collect();
    let unique: BTreeSet<_> = table.iter().collect();
    assert_eq!(unique.len(), table.len(), "a route appears twice");
    let normalise =
        |p: &str| p.split('/').map(|s| if s.starts_with('{') { "{}" } else { s }).collect::<Vec<_>>().join("/");
    let covered: BTreeSet<_> = table.iter().map(|(m, p)| (m.to_string(), normalise(p))).collect();
    let routes: BTreeSet<_> = ROUTES.iter().map(|r| (r.method.to_string(), normalise(r.path))).collect();
    assert_eq!(covered, routes);
}
