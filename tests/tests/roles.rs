//! Roles and role assignments end to end: the built-in roles, custom roles (validation,
//! uniqueness, immutability of built-ins, deletion and renaming while assigned), assignments
//! (scopes, no escalation, the last root admin), role changes applying on the next request,
//! and the role filters and `include=roles` of `/accounts`.

use http::{Method, StatusCode};
use iam_tests::TestApp;
use iam_tests::app::PASSWORD;
use serde_json::{Value, json};

const ROLES: &str = "/api/v3/iam/roles";
const ASSIGNMENTS: &str = "/api/v3/iam/role_assignments";
const ACCOUNTS: &str = "/api/v3/iam/accounts";

fn patch(type_name: &str, id: &str, attributes: Value) -> Value {
    json!({"data": {"type": type_name, "id": id, "attributes": attributes}})
}

fn pointers(reply: &iam_tests::Reply) -> Vec<String> {
    reply.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["source"]["pointer"].as_str().map(String::from))
        .collect()
}

async fn role_id(app: &TestApp, name: &str) -> String {
    let reply = app.get(&format!("{ROLES}?filter[name]={name}")).await;
    reply.ids().first().cloned().unwrap_or_else(|| panic!("no role {name}"))
}

async fn assign(app: &TestApp, token: &str, account: &str, role: &str, scope: Option<&str>) -> iam_tests::Reply {
    app.post(token, "role_assignments", json!({"account_id": account, "role_name": role, "scope_id": scope})).await
}

async fn token_of(app: &TestApp, email: &str) -> String {
    app.login(email, PASSWORD).await["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_built_in_roles_exist_from_the_first_start_and_cannot_be_changed() {
    let app = TestApp::new().await;
    let reply = app.get(&format!("{ROLES}?filter[built_in]=true&sort=name")).await;
    let names: Vec<&str> =
        reply.body["data"].as_array().unwrap().iter().map(|r| r["attributes"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["helpdesk", "member", "org_admin", "root_admin"]);
    let member = &reply.body["data"][1]["attributes"];
    assert_eq!(
        (member["scope"].as_str(), member["permissions"].clone()),
        (Some("organization"), json!(["organizations:read"]))
    );
    let root = role_id(&app, "root_admin").await;
    let token = app.admin_token.clone();
    let edit = app
        .call(
            Method::PATCH,
            &format!("{ROLES}/{root}"),
            Some(&token),
            Some(patch("roles", &root, json!({"description": "x"}))),
        )
        .await;
    assert_eq!(edit.status, StatusCode::FORBIDDEN);
    let delete = app.call(Method::DELETE, &format!("{ROLES}/{root}"), Some(&token), None).await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&format!("{ROLES}/{root}")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_custom_role_is_validated_and_its_name_is_unique() {
    let app = TestApp::new().await;
    let token = app.admin_token.clone();
    let bad = app
        .post(&token, "roles", json!({"name": "has space", "permissions": ["accounts:read", "nope"], "built_in": true}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut problems = pointers(&bad);
    problems.sort();
    problems.dedup();
    assert_eq!(
        problems,
        [
            "/data/attributes/built_in",
            "/data/attributes/name",
            "/data/attributes/permissions",
            "/data/attributes/scope"
        ]
    );
    let team_role =
        app.post(&token, "roles", json!({"name": "lead", "scope": "team", "permissions": ["accounts:write"]})).await;
    assert_eq!(team_role.error_codes(), ["not_at_scope"]);
    let created = app
        .post(&token, "roles", json!({"name": "Auditor", "scope": "organization", "permissions": ["accounts:read"]}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["data"]["attributes"]["built_in"], false);
    let again = app.post(&token, "roles", json!({"name": "auditor", "scope": "global", "permissions": []})).await;
    assert_eq!((again.status, pointers(&again)), (StatusCode::CONFLICT, vec!["/data/attributes/name".to_string()]));
    let custom = app.get(&format!("{ROLES}?filter[built_in]=false")).await;
    assert_eq!(custom.ids().len(), 1);
}

#[tokio::test]
async fn a_role_change_applies_on_the_next_request_and_an_assigned_role_stays() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let other = app.create_org("Other").await;
    let auditor = app
        .create("roles", json!({"name": "auditor", "scope": "organization", "permissions": ["accounts:read"]}))
        .await;
    let user = app.create_account("user@acme.test", &org).await;
    let colleague = app.create_account("colleague@acme.test", &org).await;
    app.create_account("stranger@other.test", &other).await;
    let token = token_of(&app, "user@acme.test").await;
    assert_eq!(app.call(Method::GET, ACCOUNTS, Some(&token), None).await.ids(), vec![user.clone()]);
    let assigned = assign(&app, &app.admin_token, &user, "auditor", Some(&org)).await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{:?}", assigned.body);
    // Same token, next request: the new grant applies.
    let mut seen = app.call(Method::GET, ACCOUNTS, Some(&token), None).await.ids();
    seen.sort();
    let mut expected = vec![user.clone(), colleague.clone()];
    expected.sort();
    assert_eq!(seen, expected);
    let admin = app.admin_token.clone();
    let delete = app.call(Method::DELETE, &format!("{ROLES}/{auditor}"), Some(&admin), None).await;
    assert_eq!((delete.status, delete.error_codes()), (StatusCode::CONFLICT, vec!["role_assigned".to_string()]));
    let rename = app
        .call(
            Method::PATCH,
            &format!("{ROLES}/{auditor}"),
            Some(&admin),
            Some(patch("roles", &auditor, json!({"name": "reader"}))),
        )
        .await;
    assert_eq!(rename.status, StatusCode::CONFLICT);
    let narrowed = app
        .call(
            Method::PATCH,
            &format!("{ROLES}/{auditor}"),
            Some(&admin),
            Some(patch("roles", &auditor, json!({"permissions": []}))),
        )
        .await;
    assert_eq!(narrowed.status, StatusCode::OK);
    assert_eq!(app.call(Method::GET, ACCOUNTS, Some(&token), None).await.ids(), vec![user.clone()]);
    let id = assigned.body["data"]["id"].as_str().unwrap();
    assert_eq!(
        app.call(Method::DELETE, &format!("{ASSIGNMENTS}/{id}"), Some(&admin), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call(Method::DELETE, &format!("{ROLES}/{auditor}"), Some(&admin), None).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn an_assignment_must_fit_its_roles_scope_and_the_accounts_organization() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let other = app.create_org("Other").await;
    let user = app.create_account("user@acme.test", &org).await;
    let team_elsewhere = app.create("teams", json!({"name": "Ops", "organization_id": other})).await;
    app.create("roles", json!({"name": "lead", "scope": "team", "permissions": ["teams:write"]})).await;
    let root = app.admin_token.clone();
    let cases = [
        ("root_admin", Some(org.as_str()), "not_scoped"),
        ("helpdesk", Some(other.as_str()), "scope_mismatch"),
        ("lead", None, "required"),
        ("lead", Some(team_elsewhere.as_str()), "scope_mismatch"),
        ("nobody", Some(org.as_str()), "unknown_role"),
    ];
    for (role, scope, code) in cases {
        let reply = assign(&app, &root, &user, role, scope).await;
        assert_eq!(
            (reply.status, reply.error_codes()),
            (StatusCode::UNPROCESSABLE_ENTITY, vec![code.to_string()]),
            "{role} at {scope:?}"
        );
    }
    let unknown = assign(&app, &root, "no-such-account", "helpdesk", Some(&org)).await;
    assert_eq!(unknown.error_codes(), ["unknown_account"]);
    // The organization scope defaults to the account's organization.
    let ok = assign(&app, &root, &user, "helpdesk", None).await;
    assert_eq!(
        (ok.status, ok.body["data"]["attributes"]["scope_id"].as_str()),
        (StatusCode::CREATED, Some(org.as_str()))
    );
    let twice = assign(&app, &root, &user, "helpdesk", Some(&org)).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn nobody_grants_more_than_it_holds() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let admin_token = app.account_with_role("admin@acme.test", Some(&org), Some(("org_admin", Some(&org)))).await;
    let user = app.create_account("user@acme.test", &org).await;
    app.create(
        "roles",
        json!({"name": "account_manager", "scope": "organization", "permissions": ["accounts:read", "accounts:write"]}),
    )
    .await;
    let manager = app.create_account("manager@acme.test", &org).await;
    assert_eq!(assign(&app, &admin_token, &manager, "account_manager", Some(&org)).await.status, StatusCode::CREATED);
    let manager_token = token_of(&app, "manager@acme.test").await;
    // org_admin carries teams:write and more, which the manager does not hold.
    let escalation = assign(&app, &manager_token, &user, "org_admin", Some(&org)).await;
    assert_eq!(escalation.status, StatusCode::FORBIDDEN);
    assert_eq!(assign(&app, &manager_token, &user, "account_manager", Some(&org)).await.status, StatusCode::CREATED);
    // An organization's admin never grants a global role.
    assert_eq!(assign(&app, &admin_token, &user, "root_admin", None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(assign(&app, &admin_token, &user, "helpdesk", Some(&org)).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_last_root_admin_cannot_lose_the_role() {
    let app = TestApp::new().await;
    let root = app.admin_token.clone();
    let first = app.get(&format!("{ASSIGNMENTS}?filter[role_name]=root_admin")).await.ids();
    assert_eq!(first.len(), 1);
    let refused = app.call(Method::DELETE, &format!("{ASSIGNMENTS}/{}", first[0]), Some(&root), None).await;
    assert_eq!((refused.status, refused.error_codes()), (StatusCode::CONFLICT, vec!["last_root_admin".to_string()]));
    let org = app.create_org("Acme").await;
    let second = app.create_account("second@acme.test", &org).await;
    assert_eq!(assign(&app, &root, &second, "root_admin", None).await.status, StatusCode::CREATED);
    let removed = app.call(Method::DELETE, &format!("{ASSIGNMENTS}/{}", first[0]), Some(&root), None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    // The old token is refused nothing, but it is no longer a root admin's.
    assert_eq!(
        app.call(
            Method::POST,
            "/api/v3/iam/organizations",
            Some(&root),
            Some(json!({"data": {"type": "organizations", "attributes": {"name": "X"}}}))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn assignments_list_by_account_and_role_and_include_both() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let ann = app.create_account("ann@acme.test", &org).await;
    let bob = app.create_account("bob@acme.test", &org).await;
    let root = app.admin_token.clone();
    for (who, role) in [(&ann, "helpdesk"), (&ann, "member"), (&bob, "member")] {
        assert_eq!(assign(&app, &root, who, role, Some(&org)).await.status, StatusCode::CREATED);
    }
    assert_eq!(app.get(&format!("{ASSIGNMENTS}?filter[account_id]={ann}")).await.ids().len(), 2);
    let members = app.get(&format!("{ASSIGNMENTS}?filter[role_name]=member&include=account,role")).await;
    assert_eq!(members.ids().len(), 2);
    let included: Vec<(&str, &str)> = members.body["included"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["type"].as_str().unwrap(), o["id"].as_str().unwrap()))
        .collect();
    assert_eq!(included.iter().filter(|(t, _)| *t == "accounts").count(), 2);
    assert_eq!(included.iter().filter(|(t, _)| *t == "roles").count(), 1);
    assert_eq!(app.get(&format!("{ASSIGNMENTS}?filter[scope_id]={org}&filter[account_id]={bob}")).await.ids().len(), 1);
    assert_eq!(app.get(&format!("{ASSIGNMENTS}?filter[role_id]=x")).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn accounts_filter_by_role_name_scope_kind_and_scope_and_include_their_roles() {
    let app = TestApp::new().await;
    let acme = app.create_org("Acme").await;
    let other = app.create_org("Other").await;
    let ann = app.create_account("ann@acme.test", &acme).await;
    let bob = app.create_account("bob@acme.test", &acme).await;
    let eve = app.create_account("eve@other.test", &other).await;
    let root = app.admin_token.clone();
    for (who, role, scope) in [(&ann, "helpdesk", &acme), (&bob, "org_admin", &acme), (&eve, "helpdesk", &other)] {
        assert_eq!(assign(&app, &root, who, role, Some(scope)).await.status, StatusCode::CREATED);
    }
    let ids = |r: iam_tests::Reply| {
        let mut ids = r.ids();
        ids.sort();
        ids
    };
    let mut helpdesk = vec![ann.clone(), eve.clone()];
    helpdesk.sort();
    assert_eq!(ids(app.get(&format!("{ACCOUNTS}?filter[role_name]=helpdesk")).await), helpdesk);
    assert_eq!(
        ids(app.get(&format!("{ACCOUNTS}?filter[role_name]=helpdesk&filter[organization_id]={other}")).await),
        vec![eve.clone()]
    );
    assert_eq!(app.get(&format!("{ACCOUNTS}?filter[role_scope]=global")).await.ids().len(), 1, "the root admin");
    let mut acme_holders = vec![ann.clone(), bob.clone()];
    acme_holders.sort();
    assert_eq!(ids(app.get(&format!("{ACCOUNTS}?filter[with_role_scope]={acme}")).await), acme_holders);
    let either = app
        .get(&format!("{ACCOUNTS}?filters=role_name%20eq%20%22org_admin%22%20or%20role_name%20eq%20%22helpdesk%22"))
        .await;
    assert_eq!(either.ids().len(), 3);
    assert_eq!(
        ids(app.get(&format!("{ACCOUNTS}?filter[role_name__ne]=helpdesk&filter[organization_id]={acme}")).await),
        vec![bob.clone()]
    );
    let shown = app.get(&format!("{ACCOUNTS}/{ann}?include=roles")).await;
    let linkage = &shown.body["data"]["relationships"]["roles"]["data"];
    assert_eq!(linkage.as_array().unwrap().len(), 1);
    let types: Vec<&str> =
        shown.body["included"].as_array().unwrap().iter().map(|o| o["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"role_assignments") && types.contains(&"roles"), "{types:?}");
    assert!(shown.body["data"]["attributes"].get("role_name").is_none(), "link fields are not attributes");
}

#[tokio::test]
async fn a_role_filter_pages_by_cursor_through_its_holders() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let root = app.admin_token.clone();
    let mut holders = Vec::new();
    for i in 0..7 {
        let id = app.create_account(&format!("h{i}@acme.test"), &org).await;
        assert_eq!(assign(&app, &root, &id, "helpdesk", Some(&org)).await.status, StatusCode::CREATED);
        holders.push(id);
        app.create_account(&format!("n{i}@acme.test"), &org).await;
    }
    let first = format!("{ACCOUNTS}?filter[role_name]=helpdesk&page[size]=3&page[after]=");
    let seen = app.every_page(&first, &app.admin_token).await;
    assert_eq!(seen, holders, "every holder once, in id order");
    let descending = app.get(&format!("{ACCOUNTS}?filter[role_name]=helpdesk&sort=-id&page[size]=2")).await;
    assert_eq!(descending.ids(), [holders[6].clone(), holders[5].clone()]);
}

/// A built-in role stored by an older build shows what the code grants once the store is
/// bootstrapped again (`org_admin` gained `people:read` and `people:write`).
#[tokio::test]
async fn built_in_roles_stored_by_an_older_build_are_brought_up_to_date() {
    use iam_shared::model::role::ensure_built_in;
    use iam_shared::store::schema::ROLES as ROLES_TABLE;
    let app = TestApp::new().await;
    let store = app.state.store.as_ref();
    let id = "00000000-0000-7000-8000-000000000002";
    let mut old = store.get(&ROLES_TABLE, id).await.unwrap().expect("org_admin is stored");
    old.insert("permissions".into(), json!(["accounts:read", "accounts:write"]));
    store.put_many(&ROLES_TABLE, vec![old]).await.unwrap();
    assert_eq!(ensure_built_in(store, "2026-12-04T10:00:00Z").await.unwrap(), 1, "one role rewritten");
    let shown = app.get(&format!("{ROLES}/{id}")).await;
    let permissions = shown.body["data"]["attributes"]["permissions"].as_array().unwrap().clone();
    assert!(
        permissions.contains(&json!("people:write")) && permissions.contains(&json!("teams:write")),
        "{permissions:?}"
    );
    assert_eq!(ensure_built_in(store, "2026-12-04T10:00:00Z").await.unwrap(), 0, "nothing left to rewrite");
}
