//! Accounts end to end through the local gateway: create (with and without a password),
//! validation, uniqueness, partial update with ETags, disabling and expiry, delete and the last
//! root admin, `/me`, lookup by external id, includes, and who may do what.

use http::{Method, StatusCode};
use iam_tests::TestApp;
use iam_tests::app::{ADMIN_EMAIL, PASSWORD};
use serde_json::{Value, json};

const ACCOUNTS: &str = "/api/v3/iam/accounts";

fn doc(attributes: Value) -> Value {
    json!({"data": {"type": "accounts", "attributes": attributes}})
}

fn patch(id: &str, attributes: Value) -> Value {
    json!({"data": {"type": "accounts", "id": id, "attributes": attributes}})
}

async fn create(app: &TestApp, token: &str, attributes: Value) -> iam_tests::Reply {
    app.call(Method::POST, ACCOUNTS, Some(token), Some(doc(attributes))).await
}

/// Creates an account as root and returns its id.
async fn create_ok(app: &TestApp, attributes: Value) -> String {
    let reply = create(app, &app.admin_token, attributes).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["data"]["id"].as_str().unwrap().to_string()
}

/// `GET /accounts/me` as the holder of `token`.
async fn me(app: &TestApp, token: &str) -> iam_tests::Reply {
    app.call(Method::GET, &format!("{ACCOUNTS}/me"), Some(token), None).await
}

/// The id of the account `token` belongs to.
async fn my_id(app: &TestApp, token: &str) -> String {
    me(app, token).await.body["data"]["id"].as_str().expect("an account id").to_string()
}

fn pointers(reply: &iam_tests::Reply) -> Vec<String> {
    reply.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["source"]["pointer"].as_str().or(e["source"]["parameter"].as_str()).map(String::from))
        .collect()
}

#[tokio::test]
async fn an_account_created_with_a_password_is_active_and_can_log_in() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let reply = create(
        &app,
        &app.admin_token,
        json!({"email": "Ann@Acme.test", "password": PASSWORD, "name": "Ann", "organization_id": org}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let id = reply.body["data"]["id"].as_str().unwrap();
    assert_eq!(reply.header("location").unwrap(), format!("http://iam.test{ACCOUNTS}/{id}"));
    assert_eq!(reply.header("etag"), Some("\"1\""));
    let a = &reply.body["data"]["attributes"];
    assert_eq!(a["email"], "Ann@Acme.test", "stored as given");
    assert_eq!((a["status"].as_str(), a["enabled"].as_bool()), (Some("active"), Some(true)));
    assert_eq!(
        (a["language"].as_str(), a["account_type"].as_str(), a["auth_type"].as_str()),
        (Some("en"), Some("user"), Some("password"))
    );
    assert_eq!(a["joined_at"], "2026-11-23T10:00:00Z");
    let text = reply.body.to_string();
    assert!(!text.contains(PASSWORD) && !text.contains("password_hash") && !text.contains("argon2"), "{text}");
    assert_eq!(
        reply.body["data"]["relationships"]["organization"]["data"],
        json!({"type": "organizations", "id": org})
    );
    app.login("ann@acme.test", PASSWORD).await;
}

#[tokio::test]
async fn an_account_created_without_a_password_is_pending_and_cannot_log_in() {
    let app = TestApp::new().await;
    let id = create_ok(&app, json!({"email": "bob@acme.test"})).await;
    let shown = app.get(&format!("{ACCOUNTS}/{id}")).await;
    assert_eq!(shown.body["data"]["attributes"]["status"], "pending");
    assert_eq!(shown.body["data"]["attributes"]["joined_at"], Value::Null);
    let reply = app.token(json!({"grant_type": "password", "email": "bob@acme.test", "password": PASSWORD})).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_problem_of_a_create_is_reported_and_nothing_is_written() {
    let app = TestApp::new().await;
    let reply = create(
        &app,
        &app.admin_token,
        json!({
            "email": "not-an-email", "password": "short", "account_type": "robot", "auth_type": 3,
            "language": "english!", "picture_url": "ftp://x", "enabled": "yes", "expires_at": "tomorrow",
            "status": "active", "created_at": "2026-01-01T00:00:00Z", "shoe_size": 44, "name": "a\nb",
            "username": "",
        }),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", reply.body);
    let got = pointers(&reply);
    for attr in [
        "email",
        "password",
        "account_type",
        "auth_type",
        "language",
        "picture_url",
        "enabled",
        "expires_at",
        "status",
        "created_at",
        "shoe_size",
        "name",
        "username",
    ] {
        assert!(got.contains(&format!("/data/attributes/{attr}")), "{attr} missing from {got:?}");
    }
    let codes = reply.error_codes();
    for code in ["invalid_email", "too_short", "missing_uppercase", "missing_digit", "read_only", "unknown_attribute"] {
        assert!(codes.iter().any(|c| c == code), "{code} missing from {codes:?}");
    }
    assert_eq!(app.get(ACCOUNTS).await.ids().len(), 1, "only the root admin exists");
    let missing = create(&app, &app.admin_token, json!({"name": "No Email"})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&missing), ["/data/attributes/email"]);
}

#[tokio::test]
async fn email_username_and_external_id_are_unique_on_create_and_update() {
    let app = TestApp::new().await;
    create_ok(&app, json!({"email": "ann@acme.test", "username": "Ann", "external_id": "E-1"})).await;
    for (attributes, field) in [
        (json!({"email": "ANN@acme.TEST"}), "email"),
        (json!({"email": "x@acme.test", "username": "ann"}), "username"),
        (json!({"email": "y@acme.test", "external_id": "E-1"}), "external_id"),
    ] {
        let reply = create(&app, &app.admin_token, attributes).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{field}: {:?}", reply.body);
        assert_eq!(pointers(&reply), [format!("/data/attributes/{field}")]);
    }
    let other = create_ok(&app, json!({"email": "bob@acme.test"})).await;
    let reply = app
        .call(
            Method::PATCH,
            &format!("{ACCOUNTS}/{other}"),
            Some(&app.admin_token),
            Some(patch(&other, json!({"username": "ANN"}))),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(app.get(&format!("{ACCOUNTS}/{other}")).await.body["data"]["attributes"]["username"], Value::Null);
    // Unset values are not unique: two accounts without a username are fine (bob has none).
    create_ok(&app, json!({"email": "cid@acme.test"})).await;
}

#[tokio::test]
async fn a_patch_changes_only_what_it_names_and_checks_if_match() {
    let app = TestApp::new().await;
    let id = create_ok(&app, json!({"email": "ann@acme.test", "name": "Ann", "username": "ann"})).await;
    let url = format!("{ACCOUNTS}/{id}");
    let shown = app.get(&url).await;
    assert_eq!(shown.header("etag"), Some("\"1\""));
    app.clock.advance(time::Duration::minutes(5));
    let reply = app
        .call(
            Method::PATCH,
            &url,
            Some(&app.admin_token),
            Some(patch(&id, json!({"name": "Ann Lee", "username": null, "language": "pt-BR"}))),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.header("etag"), Some("\"2\""));
    let a = &reply.body["data"]["attributes"];
    assert_eq!(
        (a["name"].as_str(), a["username"].as_str(), a["language"].as_str()),
        (Some("Ann Lee"), None, Some("pt-BR"))
    );
    assert_eq!((a["email"].as_str(), a["updated_at"].as_str()), (Some("ann@acme.test"), Some("2026-11-23T10:05:00Z")));
    let stale = http::Request::patch(&url)
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("content-type", "application/vnd.api+json")
        .header("if-match", "\"1\"")
        .body(axum::body::Body::from(patch(&id, json!({"name": "Lost"})).to_string()))
        .unwrap();
    assert_eq!(app.send(stale).await.status, StatusCode::PRECONDITION_FAILED);
    for (attributes, pointer) in [
        (json!({"email": null}), "email"),
        (json!({"status": "active"}), "status"),
        (json!({"password": PASSWORD}), "password"),
        (json!({"enabled": null}), "enabled"),
    ] {
        let reply = app.call(Method::PATCH, &url, Some(&app.admin_token), Some(patch(&id, attributes))).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(pointers(&reply), [format!("/data/attributes/{pointer}")]);
    }
    assert_eq!(app.get(&url).await.body["data"]["attributes"]["name"], "Ann Lee", "refused patches wrote nothing");
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_at_once() {
    let app = TestApp::new().await;
    let token = app.account_with_role("ann@acme.test", None, None).await;
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    let id = my_id(&app, &token).await;
    let url = format!("{ACCOUNTS}/{id}");
    let reply =
        app.call(Method::PATCH, &url, Some(&app.admin_token), Some(patch(&id, json!({"enabled": false})))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["data"]["attributes"]["status"], "disabled");
    assert_eq!(me(&app, &token).await.status, StatusCode::UNAUTHORIZED);
    let login = app.token(json!({"grant_type": "password", "email": "ann@acme.test", "password": PASSWORD})).await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
    let reply = app.call(Method::PATCH, &url, Some(&app.admin_token), Some(patch(&id, json!({"enabled": true})))).await;
    assert_eq!(reply.body["data"]["attributes"]["status"], "active");
    app.login("ann@acme.test", PASSWORD).await;
}

#[tokio::test]
async fn an_account_past_its_expiry_is_expired_and_cannot_log_in() {
    let app = TestApp::new().await;
    let token = app.account_with_role("ann@acme.test", None, None).await;
    let id = my_id(&app, &token).await;
    let url = format!("{ACCOUNTS}/{id}");
    let reply = app
        .call(
            Method::PATCH,
            &url,
            Some(&app.admin_token),
            Some(patch(&id, json!({"expires_at": "2026-11-23T11:00:00+01:00"}))),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["data"]["attributes"]["expires_at"], "2026-11-23T10:00:00Z", "stored in UTC");
    assert_eq!(reply.body["data"]["attributes"]["status"], "expired");
    let listed = app.get(&format!("{ACCOUNTS}?filter[status]=expired")).await;
    assert_eq!(listed.ids(), [id.as_str()]);
    let login = app.token(json!({"grant_type": "password", "email": "ann@acme.test", "password": PASSWORD})).await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &token).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn delete_removes_the_account_its_sessions_and_its_unique_values() {
    let app = TestApp::new().await;
    let token = app.account_with_role("ann@acme.test", None, None).await;
    let id = my_id(&app, &token).await;
    let url = format!("{ACCOUNTS}/{id}");
    assert_eq!(app.call(Method::DELETE, &url, Some(&app.admin_token), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&url).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::DELETE, &url, Some(&app.admin_token), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(me(&app, &token).await.status, StatusCode::UNAUTHORIZED);
    create_ok(&app, json!({"email": "ANN@acme.test"})).await;
}

#[tokio::test]
async fn the_last_root_admin_cannot_be_deleted_but_one_of_two_can() {
    let app = TestApp::new().await;
    let me = app.get(&format!("{ACCOUNTS}/me")).await;
    assert_eq!(me.body["data"]["attributes"]["email"], ADMIN_EMAIL);
    let root = me.body["data"]["id"].as_str().unwrap().to_string();
    let reply = app.call(Method::DELETE, &format!("{ACCOUNTS}/{root}"), Some(&app.admin_token), None).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.error_codes(), ["last_root_admin"]);
    let second = app.account_with_role("second@example.com", None, Some(("root_admin", None))).await;
    let reply = app.call(Method::DELETE, &format!("{ACCOUNTS}/{root}"), Some(&second), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
    let second_id = my_id(&app, &second).await;
    let reply = app.call(Method::DELETE, &format!("{ACCOUNTS}/{second_id}"), Some(&second), None).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_root_admin_who_cannot_sign_in_does_not_count_as_another() {
    let app = TestApp::new().await;
    let root = my_id(&app, &app.admin_token).await;
    // An invited account that never joined may hold root_admin, but cannot sign in to use it.
    let pending = create_ok(&app, json!({"email": "pending@example.com"})).await;
    let grant = json!({"account_id": pending, "role_name": "root_admin"});
    let granted = app.post(&app.admin_token, "role_assignments", grant).await;
    assert_eq!(granted.status, StatusCode::CREATED, "{:?}", granted.body);
    let url = format!("{ACCOUNTS}/{root}");
    for change in [json!({"enabled": false}), json!({"expires_at": "2000-01-01T00:00:00Z"})] {
        let reply = app.call(Method::PATCH, &url, Some(&app.admin_token), Some(patch(&root, change.clone()))).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{change}: {:?}", reply.body);
        assert_eq!(reply.error_codes(), ["last_root_admin"], "{change}");
    }
    let reply = app.call(Method::DELETE, &url, Some(&app.admin_token), None).await;
    assert_eq!(reply.error_codes(), ["last_root_admin"]);
    assert_eq!(me(&app, &app.admin_token).await.status, StatusCode::OK, "the refusals changed nothing");
    // With a second root admin who can sign in, the first may be disabled; the second not then.
    let second = app.account_with_role("second@example.com", None, Some(("root_admin", None))).await;
    let reply = app.call(Method::PATCH, &url, Some(&second), Some(patch(&root, json!({"enabled": false})))).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(me(&app, &app.admin_token).await.status, StatusCode::UNAUTHORIZED);
    let second_id = my_id(&app, &second).await;
    let own = format!("{ACCOUNTS}/{second_id}");
    let reply = app.call(Method::PATCH, &own, Some(&second), Some(patch(&second_id, json!({"enabled": false})))).await;
    assert_eq!(reply.error_codes(), ["last_root_admin"]);
    assert_eq!(me(&app, &second).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_account_is_found_by_its_external_id() {
    let app = TestApp::new().await;
    let id = create_ok(&app, json!({"email": "ann@acme.test", "external_id": "HR/00042"})).await;
    let reply = app.get(&format!("{ACCOUNTS}/external/HR%2F00042")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["data"]["id"], id);
    assert!(reply.header("etag").is_some());
    assert_eq!(app.get(&format!("{ACCOUNTS}/external/nobody")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn include_organization_makes_a_compound_document_with_each_organization_once() {
    let app = TestApp::new().await;
    let (a, b) = (app.create_org("A").await, app.create_org("B").await);
    for (email, org) in [("a1@x.test", &a), ("a2@x.test", &a), ("b1@x.test", &b)] {
        create_ok(&app, json!({"email": email, "organization_id": org})).await;
    }
    let reply = app.get(&format!("{ACCOUNTS}?filter[organization_id__in]={a},{b}&include=organization&fields[organizations]=name&fields[accounts]=email,organization")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.ids().len(), 3);
    let included = reply.body["included"].as_array().unwrap();
    let mut ids: Vec<&str> = included.iter().map(|o| o["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    let mut want = [a.as_str(), b.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    assert_eq!(included[0]["attributes"].as_object().unwrap().keys().collect::<Vec<_>>(), ["name"]);
    let first = &reply.body["data"][0];
    assert_eq!(first["attributes"].as_object().unwrap().keys().collect::<Vec<_>>(), ["email"]);
    assert!(first["relationships"]["organization"]["data"]["id"].is_string());
    let shown = app.get(&format!("{ACCOUNTS}/{}?include=organization", reply.ids()[0])).await;
    assert_eq!(shown.body["included"].as_array().map(Vec::len), Some(1));
    let bad = app.get(&format!("{ACCOUNTS}/{}?include=owner&sort=name", reply.ids()[0])).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(pointers(&bad), ["include", "sort"]);
}

#[tokio::test]
async fn secrets_cannot_be_filtered_and_bad_expressions_name_their_column() {
    let app = TestApp::new().await;
    for q in [
        "filter[password_reset_token]=x",
        "filter[password_hash__sw]=$",
        "filters=invitation_token eq \"x\"",
        "sort=password_hash",
    ] {
        let reply = app.get(&format!("{ACCOUNTS}?{}", q.replace(' ', "%20").replace('"', "%22"))).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{q}");
    }
    let reply = app.get(&format!("{ACCOUNTS}?filters=email%20sw%20%22ann%22%20and%20(enabled%20eq%20true")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["errors"][0]["source"]["parameter"], "filters");
    assert!(reply.body["errors"][0]["detail"].as_str().unwrap().contains("column 36"), "{:?}", reply.body);
}

#[tokio::test]
async fn an_org_admin_manages_its_organization_and_sees_nothing_of_another() {
    let app = TestApp::new().await;
    let (a, b) = (app.create_org("A").await, app.create_org("B").await);
    let admin_a = app.account_with_role("admin@a.test", Some(&a), Some(("org_admin", Some(&a)))).await;
    let in_b = create_ok(&app, json!({"email": "bob@b.test", "organization_id": b})).await;
    // Creates land in the caller's organization by default.
    let reply = create(&app, &admin_a, json!({"email": "new@a.test"})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["data"]["attributes"]["organization_id"], a.as_str());
    let new_id = reply.body["data"]["id"].as_str().unwrap().to_string();
    let listed = app.call(Method::GET, ACCOUNTS, Some(&admin_a), None).await;
    assert_eq!(listed.ids().len(), 2, "admin and new, both of A");
    assert!(!listed.ids().contains(&in_b));
    let filtered =
        app.call(Method::GET, &format!("{ACCOUNTS}?filter[organization_id]={b}"), Some(&admin_a), None).await;
    assert_eq!(filtered.ids(), Vec::<String>::new(), "B's accounts stay invisible even when asked for");
    for (method, body) in
        [(Method::GET, None), (Method::PATCH, Some(patch(&in_b, json!({"name": "x"})))), (Method::DELETE, None)]
    {
        let reply = app.call(method.clone(), &format!("{ACCOUNTS}/{in_b}"), Some(&admin_a), body).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} of B's account");
    }
    let reply = create(&app, &admin_a, json!({"email": "x@b.test", "organization_id": b})).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "no leak of B's existence");
    let reply = app
        .call(
            Method::PATCH,
            &format!("{ACCOUNTS}/{new_id}"),
            Some(&admin_a),
            Some(patch(&new_id, json!({"organization_id": b}))),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "cannot move an account into B");
    let reply = app
        .call(
            Method::PATCH,
            &format!("{ACCOUNTS}/{new_id}"),
            Some(&admin_a),
            Some(patch(&new_id, json!({"name": "Neo"}))),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        app.call(Method::DELETE, &format!("{ACCOUNTS}/{new_id}"), Some(&admin_a), None).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn an_org_admin_cannot_touch_a_root_admin_in_its_organization() {
    let app = TestApp::new().await;
    let a = app.create_org("A").await;
    let admin_a = app.account_with_role("admin@a.test", Some(&a), Some(("org_admin", Some(&a)))).await;
    let root_in_a = app.account_with_role("root@a.test", Some(&a), Some(("root_admin", None))).await;
    let root_id = my_id(&app, &root_in_a).await;
    let url = format!("{ACCOUNTS}/{root_id}");
    assert_eq!(app.call(Method::GET, &url, Some(&admin_a), None).await.status, StatusCode::OK);
    let reply = app.call(Method::PATCH, &url, Some(&admin_a), Some(patch(&root_id, json!({"enabled": false})))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(app.call(Method::DELETE, &url, Some(&admin_a), None).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_member_reads_only_its_own_account_and_writes_nothing() {
    let app = TestApp::new().await;
    let a = app.create_org("A").await;
    let member = app.account_with_role("mem@a.test", Some(&a), Some(("member", Some(&a)))).await;
    let other = create_ok(&app, json!({"email": "other@a.test", "organization_id": a})).await;
    let me = app.call(Method::GET, &format!("{ACCOUNTS}/me?include=organization"), Some(&member), None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["included"][0]["id"], a.as_str());
    let my_id = me.body["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(app.call(Method::GET, ACCOUNTS, Some(&member), None).await.ids(), [my_id.as_str()]);
    assert_eq!(
        app.call(Method::GET, &format!("{ACCOUNTS}/{other}"), Some(&member), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.call(Method::GET, &format!("{ACCOUNTS}/{my_id}"), Some(&member), None).await.status, StatusCode::OK);
    assert_eq!(create(&app, &member, json!({"email": "x@a.test"})).await.status, StatusCode::FORBIDDEN);
    let reply = app
        .call(Method::PATCH, &format!("{ACCOUNTS}/{my_id}"), Some(&member), Some(patch(&my_id, json!({"name": "Me"}))))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.call(Method::DELETE, &format!("{ACCOUNTS}/{my_id}"), Some(&member), None).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn without_a_token_every_account_route_is_401() {
    let app = TestApp::new().await;
    for (method, path) in [
        (Method::GET, ACCOUNTS.to_string()),
        (Method::POST, ACCOUNTS.to_string()),
        (Method::GET, format!("{ACCOUNTS}/me")),
        (Method::GET, format!("{ACCOUNTS}/external/x")),
        (Method::GET, format!("{ACCOUNTS}/x")),
        (Method::PATCH, format!("{ACCOUNTS}/x")),
        (Method::DELETE, format!("{ACCOUNTS}/x")),
    ] {
        let reply = app.call(method.clone(), &path, None, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
}
