//! `/account_sessions` (who sees and ends which sessions, what a session records) and the
//! cleanup sweep of expired sessions, tokens and invitations.

use http::{Method, StatusCode};
use iam_shared::cleanup::{Swept, sweep};
use iam_tests::TestApp;
use iam_tests::app::PASSWORD;
use serde_json::json;

const SESSIONS: &str = "/api/v3/iam/account_sessions";

struct Org {
    admin: String,
    helpdesk: String,
    member: String,
    member_id: String,
    member_session: String,
}

async fn org_with_people(app: &TestApp, name: &str) -> Org {
    let org = app.create_org(name).await;
    let tag = name.to_lowercase();
    let admin = app.account_with_role(&format!("admin@{tag}.test"), Some(&org), Some(("org_admin", Some(&org)))).await;
    let helpdesk =
        app.account_with_role(&format!("helpdesk@{tag}.test"), Some(&org), Some(("helpdesk", Some(&org)))).await;
    let member_email = format!("member@{tag}.test");
    let member_id = app.create_account(&member_email, &org).await;
    let login = app.login(&member_email, PASSWORD).await;
    Org {
        admin,
        helpdesk,
        member: login["access_token"].as_str().unwrap().into(),
        member_id,
        member_session: login["session_id"].as_str().unwrap().into(),
    }
}

#[tokio::test]
async fn members_see_their_own_sessions_and_admins_their_organizations() {
    let app = TestApp::new().await;
    let a = org_with_people(&app, "A").await;
    let b = org_with_people(&app, "B").await;

    let mine = app.call(Method::GET, SESSIONS, Some(&a.member), None).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.ids(), vec![a.member_session.clone()]);
    let all_of_a = app.call(Method::GET, SESSIONS, Some(&a.admin), None).await;
    assert_eq!(all_of_a.ids().len(), 3, "admin, helpdesk and member of A");
    assert!(!all_of_a.ids().contains(&b.member_session));

    let filtered = format!("{SESSIONS}?filter[account_id]={}&include=account", a.member_id);
    let reply = app.call(Method::GET, &filtered, Some(&a.helpdesk), None).await;
    assert_eq!(reply.ids(), vec![a.member_session.clone()]);
    let session = &reply.body["data"][0];
    assert_eq!(session["attributes"]["account_id"], json!(a.member_id));
    assert_eq!(session["attributes"]["refresh_seq"], 0);
    assert!(session["attributes"].get("refresh_hash").is_none(), "secrets never leave");
    assert_eq!(reply.body["included"][0]["id"], json!(a.member_id));
    assert_eq!(reply.body["included"][0]["type"], "accounts");

    let other = format!("{SESSIONS}/{}", b.member_session);
    assert_eq!(app.call(Method::GET, &other, Some(&a.admin), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::GET, &other, Some(&a.member), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::GET, SESSIONS, None, None).await.status, StatusCode::UNAUTHORIZED);

    let secret = app.call(Method::GET, &format!("{SESSIONS}?filter[refresh_hash]=x"), Some(&a.admin), None).await;
    assert_eq!(secret.status, StatusCode::BAD_REQUEST);
    let unknown = app.call(Method::GET, &format!("{SESSIONS}?filter[nope]=x"), Some(&a.admin), None).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}

/// Sessions most recently used first, of one account, one organization or all, walked page by
/// page: a refresh moves a session to the front.
#[tokio::test]
async fn sessions_list_most_recently_used_first_in_every_scope() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let account_id = app.create_account("ann@acme.test", &org).await;
    let password = json!({"grant_type": "password", "email": "ann@acme.test", "password": PASSWORD});
    let mut logins = Vec::new();
    for _ in 0..4 {
        logins.push(app.token(password.clone()).await.body);
        app.clock.advance(time::Duration::minutes(1));
    }
    let refresh = json!({"grant_type": "refresh_token", "refresh_token": logins[1]["refresh_token"]});
    assert_eq!(app.token(refresh).await.status, StatusCode::OK);
    let id = |n: usize| logins[n]["session_id"].as_str().unwrap().to_string();
    let wanted = vec![id(1), id(3), id(2), id(0)];
    let admin = app.admin_now().await;
    for scope in [format!("filter[account_id]={account_id}&"), format!("filter[organization_id]={org}&")] {
        let first = format!("{SESSIONS}?{scope}sort=-last_used_at&page[size]=1&page[after]=");
        assert_eq!(app.every_page(&first, &admin).await, wanted, "{scope}");
    }
    let all = app.call(Method::GET, &format!("{SESSIONS}?sort=last_used_at"), Some(&admin), None).await;
    let ann: Vec<String> = all.ids().into_iter().filter(|s| wanted.contains(s)).collect();
    assert_eq!(ann, wanted.iter().rev().cloned().collect::<Vec<_>>(), "the reverse, over every session");
}

#[tokio::test]
async fn a_refresh_keeps_the_sessions_record_true() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    let login = app
        .token_from("192.0.2.1", json!({"grant_type": "password", "email": "ann@acme.test", "password": PASSWORD}))
        .await;
    let session_id = login.body["session_id"].as_str().unwrap().to_string();
    app.clock.advance(time::Duration::minutes(20));
    let refreshed = app
        .token_from("192.0.2.2", json!({"grant_type": "refresh_token", "refresh_token": login.body["refresh_token"]}))
        .await;
    assert_eq!(refreshed.status, StatusCode::OK);
    let admin = app.admin_now().await;
    let shown = app.call(Method::GET, &format!("{SESSIONS}/{session_id}"), Some(&admin), None).await;
    let attributes = &shown.body["data"]["attributes"];
    assert_eq!(attributes["refresh_seq"], 1);
    assert_eq!(attributes["ip"], "192.0.2.2");
    assert_eq!(attributes["created_at"], "2026-11-23T10:00:00Z");
    assert_eq!(attributes["last_used_at"], "2026-11-23T10:20:00Z");
    assert_eq!(attributes["organization_id"], json!(org));
}

#[tokio::test]
async fn a_deleted_session_stops_working_at_once() {
    let app = TestApp::new().await;
    let a = org_with_people(&app, "A").await;
    let b = org_with_people(&app, "B").await;
    let path = format!("{SESSIONS}/{}", a.member_session);
    assert_eq!(app.call(Method::DELETE, &path, Some(&b.admin), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::DELETE, &path, Some(&a.helpdesk), None).await.status, StatusCode::NO_CONTENT);
    let me = app.call(Method::GET, "/api/v3/iam/accounts/me", Some(&a.member), None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call(Method::DELETE, &path, Some(&a.helpdesk), None).await.status, StatusCode::NOT_FOUND);

    // A member ends its own sessions, and cannot touch a colleague's.
    let own = app.login("member@b.test", PASSWORD).await;
    let own_path = format!("{SESSIONS}/{}", own["session_id"].as_str().unwrap());
    let earlier = format!("{SESSIONS}/{}", b.member_session);
    let helpdesk_b = app.login("helpdesk@b.test", PASSWORD).await["session_id"].as_str().unwrap().to_string();
    let token = own["access_token"].as_str().unwrap();
    let foreign = format!("{SESSIONS}/{helpdesk_b}");
    assert_eq!(app.call(Method::DELETE, &foreign, Some(token), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::DELETE, &earlier, Some(token), None).await.status, StatusCode::NO_CONTENT, "its own");
    assert_eq!(app.call(Method::DELETE, &own_path, Some(token), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::GET, SESSIONS, Some(token), None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expired_sessions_are_gone_for_readers_before_cleanup_removes_them() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    let old = app.login("ann@acme.test", PASSWORD).await["session_id"].as_str().unwrap().to_string();
    app.clock.advance(time::Duration::days(30));
    let admin = app.admin_now().await;
    let listed = app.call(Method::GET, SESSIONS, Some(&admin), None).await.ids();
    assert_eq!(listed.len(), 1, "only the admin's new session: {listed:?}");
    assert!(!listed.contains(&old), "an expired session is not listed");
    let shown = app.call(Method::GET, &format!("{SESSIONS}/{old}"), Some(&admin), None).await;
    assert_eq!(shown.status, StatusCode::NOT_FOUND);
    let still_stored = app.state.store.get(&iam_shared::store::schema::SESSIONS, &old).await.unwrap();
    assert!(still_stored.is_some(), "only cleanup removes it");
}

#[tokio::test]
async fn cleanup_removes_what_expired_and_marks_lapsed_invitations() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    app.login("ann@acme.test", PASSWORD).await;
    let invited = app.create("accounts", json!({"email": "bob@acme.test", "organization_id": org})).await;
    app.action(Method::POST, "/api/v3/iam/account/passwords/request_reset", None, json!({"email": "ann@acme.test"}))
        .await;
    app.token(json!({"grant_type": "password", "email": "ann@acme.test", "password": "Wr0ng!pass"})).await;

    let now = sweep(app.state.store.as_ref(), app.state.now()).await.unwrap();
    assert_eq!(now, Swept::default(), "nothing has expired yet");
    app.clock.advance(time::Duration::days(31));
    let swept = sweep(app.state.store.as_ref(), app.state.now()).await.unwrap();
    // Sessions: the root admin's and Ann's; tokens: the invitation and the reset link;
    // throttles: Ann's failure and the reset request.
    assert_eq!(swept, Swept { sessions_removed: 2, tokens_removed: 2, throttles_removed: 2, invitations_expired: 1 });
    assert_eq!(sweep(app.state.store.as_ref(), app.state.now()).await.unwrap(), Swept::default(), "idempotent");

    let token = &app.admin_now().await;
    let account = app.call(Method::GET, &format!("/api/v3/iam/accounts/{invited}"), Some(token), None).await;
    assert_eq!(account.body["data"]["attributes"]["status"], "expired");
    let filtered = app.call(Method::GET, "/api/v3/iam/accounts?filter[status]=expired", Some(token), None).await;
    assert_eq!(filtered.ids(), [invited]);
}
