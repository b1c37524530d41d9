//! Teams and team memberships end to end: names unique per organization, validation, the
//! required membership filter, organizations that must match, cascades (team delete, account
//! delete and move), what a member sees, and the `team_id` filter and team includes.

use http::{Method, StatusCode};
use iam_tests::TestApp;
use iam_tests::app::PASSWORD;
use serde_json::json;

const TEAMS: &str = "/api/v3/iam/teams";
const MEMBERSHIPS: &str = "/api/v3/iam/team_memberships";
const ACCOUNTS: &str = "/api/v3/iam/accounts";

async fn join(app: &TestApp, team: &str, account: &str) -> String {
    app.create("team_memberships", json!({"team_id": team, "account_id": account})).await
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn team_names_are_unique_within_an_organization_and_validated() {
    let app = TestApp::new().await;
    let acme = app.create_org("Acme").await;
    let other = app.create_org("Other").await;
    let root = app.admin_token.clone();
    let team = app.create("teams", json!({"name": "Ops", "organization_id": acme})).await;
    let twice = app.post(&root, "teams", json!({"name": "ops", "organization_id": acme})).await;
    assert_eq!((twice.status, twice.error_codes()), (StatusCode::CONFLICT, vec!["taken".to_string()]));
    assert_eq!(
        app.post(&root, "teams", json!({"name": "Ops", "organization_id": other})).await.status,
        StatusCode::CREATED
    );
    let invalid = app.post(&root, "teams", json!({"description": 3, "organization_id": "nope"})).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut codes = invalid.error_codes();
    codes.sort();
    assert_eq!(codes, ["invalid_type", "required"]);
    let unknown = app.post(&root, "teams", json!({"name": "X", "organization_id": "nope"})).await;
    assert_eq!(unknown.error_codes(), ["unknown_organization"]);
    let body = json!({"data": {"type": "teams", "id": team, "attributes": {"organization_id": other}}});
    let moved = app.call(Method::PATCH, &format!("{TEAMS}/{team}"), Some(&root), Some(body)).await;
    assert_eq!(moved.error_codes(), ["not_updatable"]);
    let listed = app.get(&format!("{TEAMS}?filter[organization_id]={acme}&filter[name]=Ops")).await;
    assert_eq!(listed.ids(), [team]);
    // An organization without accounts but with teams is not deleted from under them.
    let delete = app.call(Method::DELETE, &format!("/api/v3/iam/organizations/{other}"), Some(&root), None).await;
    assert_eq!((delete.status, delete.error_codes()), (StatusCode::CONFLICT, vec!["has_teams".to_string()]));
}

#[tokio::test]
async fn memberships_are_listed_by_team_or_by_account_only() {
    let app = TestApp::new().await;
    let acme = app.create_org("Acme").await;
    let team = app.create("teams", json!({"name": "Ops", "organization_id": acme})).await;
    let ann = app.create_account("ann@acme.test", &acme).await;
    let membership = join(&app, &team, &ann).await;
    let bare = app.get(MEMBERSHIPS).await;
    assert_eq!((bare.status, bare.error_codes()), (StatusCode::BAD_REQUEST, vec!["filter_required".to_string()]));
    assert_eq!(bare.body["errors"][0]["source"]["parameter"], "filter");
    assert_eq!(
        app.get(&format!("{MEMBERSHIPS}?filter[created_at__gt]=2020-01-01T00:00:00Z")).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(app.get(&format!("{MEMBERSHIPS}?filter[team_id]={team}")).await.ids(), vec![membership.clone()]);
    let by_account = app.get(&format!("{MEMBERSHIPS}?filter[account_id]={ann}&include=team,account")).await;
    assert_eq!(by_account.ids(), [membership]);
    assert_eq!(by_account.body["included"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_account_joins_a_team_of_its_own_organization_once() {
    let app = TestApp::new().await;
    let acme = app.create_org("Acme").await;
    let other = app.create_org("Other").await;
    let team = app.create("teams", json!({"name": "Ops", "organization_id": acme})).await;
    let ann = app.create_account("ann@acme.test", &acme).await;
    let eve = app.create_account("eve@other.test", &other).await;
    let root = app.admin_token.clone();
    let foreign = app.post(&root, "team_memberships", json!({"team_id": team, "account_id": eve})).await;
    assert_eq!(
        (foreign.status, foreign.error_codes()),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["organization_mismatch".to_string()])
    );
    let missing = app.post(&root, "team_memberships", json!({"team_id": "nope"})).await;
    let mut codes = missing.error_codes();
    codes.sort();
    assert_eq!(codes, ["required"]);
    join(&app, &team, &ann).await;
    let twice = app.post(&root, "team_memberships", json!({"team_id": team, "account_id": ann})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn deleting_a_team_removes_its_memberships_and_the_roles_held_in_it() {
    let app = TestApp::new().await;
    let acme = app.create_org("Acme").await;
    let team = app.create("teams", json!({"name": "Ops", "organization_id": acme})).await;
    let ann = app.create_account("ann@acme.test", &acme).await;
    let bob = app.create_account("bob@acme.test", &acme).await;
    join(&app, &team, &ann).await;
    join(&app, &team, &bob).await;
    app.create("roles", json!({"name": "lead", "scope": "team", "permissions": ["teams:write"]})).await;
    app.create("role_assignments", json!({"account_id": ann, "role_name": "lead", "scope_id": team})).await;
    let root = app.admin_token.clone();
    assert_eq!(
        app.call(Method::DELETE, &format!("{TEAMS}/{team}"), Some(&root), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&format!("{TEAMS}/{team}")).await.status, StatusCode::NOT_FOUND);
    assert!(app.get(&format!("{MEMBERSHIPS}?filter[team_id]={team}")).await.ids().is_empty());
    assert!(app.get(&format!("/api/v3/iam/role_assignments?filter[scope_id]={team}")).await.ids().is_empty());
    let shown = app.get(&format!("{ACCOUNTS}/{ann}")).await;
    assert_eq!(shown.body["data"]["relationships"]["teams"]["data"], json!([]));
    assert_eq!(shown.body["data"]["relationships"]["roles"]["data"], json!([]));
    // The team's name is free again.
    assert_eq!(
        app.post(&root, "teams", json!({"name": "Ops", "organization_id": acme})).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn accounts_filter_by_team_and_teams_and_accounts_include_each_other() {
    let app = TestApp::new().await;
    let acme = app.create_org("Acme").await;
    let ops = app.create("teams", json!({"name": "Ops", "organization_id": acme})).await;
    let dev = app.create("teams", json!({"name": "Dev", "organization_id": acme})).await;
    let ann = app.create_account("ann@acme.test", &acme).await;
    let bob = app.create_account("bob@acme.test", &acme).await;
    app.create_account("carl@acme.test", &acme).await;
    join(&app, &ops, &ann).await;
    join(&app, &ops, &bob).await;
    join(&app, &dev, &bob).await;
    assert_eq!(
        sorted(app.get(&format!("{ACCOUNTS}?filter[team_id]={ops}")).await.ids()),
        sorted(vec![ann.clone(), bob.clone()])
    );
    assert_eq!(
        app.get(&format!("{ACCOUNTS}?filter[team_id]={ops}&filter[team_id__ne]={dev}")).await.ids(),
        vec![ann.clone()]
    );
    let with_teams = app.get(&format!("{ACCOUNTS}/{bob}?include=teams")).await;
    let included: Vec<String> =
        with_teams.body["included"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(sorted(included), sorted(vec![ops.clone(), dev.clone()]));
    let team_page = app.get(&format!("{TEAMS}?filter[organization_id]={acme}&include=accounts")).await;
    let members: Vec<String> =
        team_page.body["included"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(sorted(members), sorted(vec![ann, bob]), "each member once");
}

#[tokio::test]
async fn a_member_sees_its_own_teams_and_their_members_only() {
    let app = TestApp::new().await;
    let acme = app.create_org("Acme").await;
    let mine = app.create("teams", json!({"name": "Mine", "organization_id": acme})).await;
    let theirs = app.create("teams", json!({"name": "Theirs", "organization_id": acme})).await;
    let token = app.account_with_role("me@acme.test", Some(&acme), Some(("member", Some(&acme)))).await;
    let me = app.call(Method::GET, &format!("{ACCOUNTS}/me"), Some(&token), None).await.body["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let colleague = app.create_account("colleague@acme.test", &acme).await;
    join(&app, &mine, &me).await;
    let colleagues_membership = join(&app, &mine, &colleague).await;
    join(&app, &theirs, &colleague).await;
    let get = |path: String| {
        let token = token.clone();
        let app = &app;
        async move { app.call(Method::GET, &path, Some(&token), None).await }
    };
    assert_eq!(get(TEAMS.to_string()).await.ids(), vec![mine.clone()]);
    assert_eq!(get(format!("{TEAMS}/{theirs}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(format!("{MEMBERSHIPS}?filter[team_id]={mine}")).await.ids().len(), 2);
    assert!(get(format!("{MEMBERSHIPS}?filter[team_id]={theirs}")).await.ids().is_empty());
    assert_eq!(get(format!("{MEMBERSHIPS}/{colleagues_membership}")).await.status, StatusCode::OK);
    // Its own account and teams, but not its colleague's account.
    assert_eq!(get(format!("{ACCOUNTS}/{colleague}")).await.status, StatusCode::NOT_FOUND);
    let page = get(format!("{MEMBERSHIPS}?filter[team_id]={mine}&include=account")).await;
    let included: Vec<&str> =
        page.body["included"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(included, [me.as_str()], "included accounts are filtered by what the caller may read");
    let write = app.post(&token, "team_memberships", json!({"team_id": mine, "account_id": me})).await;
    assert_eq!(write.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn deleting_or_moving_an_account_ends_its_memberships_and_roles_of_the_old_organization() {
    let app = TestApp::new().await;
    let acme = app.create_org("Acme").await;
    let other = app.create_org("Other").await;
    let team = app.create("teams", json!({"name": "Ops", "organization_id": acme})).await;
    let ann = app.create_account("ann@acme.test", &acme).await;
    let bob = app.create_account("bob@acme.test", &acme).await;
    for who in [&ann, &bob] {
        join(&app, &team, who).await;
        app.create("role_assignments", json!({"account_id": who, "role_name": "helpdesk", "scope_id": acme})).await;
    }
    let root = app.admin_token.clone();
    assert_eq!(
        app.call(Method::DELETE, &format!("{ACCOUNTS}/{ann}"), Some(&root), None).await.status,
        StatusCode::NO_CONTENT
    );
    let body = json!({"data": {"type": "accounts", "id": bob, "attributes": {"organization_id": other}}});
    let moved = app.call(Method::PATCH, &format!("{ACCOUNTS}/{bob}"), Some(&root), Some(body)).await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    assert_eq!(moved.body["data"]["relationships"]["teams"]["data"], json!([]));
    assert!(app.get(&format!("{MEMBERSHIPS}?filter[team_id]={team}")).await.ids().is_empty());
    assert!(app.get(&format!("/api/v3/iam/role_assignments?filter[scope_id]={acme}")).await.ids().is_empty());
    // Bob can still log in, now as an account of the other organization.
    app.login("bob@acme.test", PASSWORD).await;
}
