//! Invitations: a password-less account is emailed a 7-day, single-use join link; joining
//! sets the password and activates it; a resend kills the old links.

use http::{Method, StatusCode};
use iam_tests::TestApp;
use iam_tests::app::PASSWORD;
use serde_json::json;

const JOIN: &str = "join";

async fn invite(app: &TestApp, email: &str, org: &str) -> String {
    app.create("accounts", json!({"email": email, "name": "Ann <Admin>", "organization_id": org})).await
}

fn join_path(token: &str) -> String {
    format!("/api/v3/iam/accounts/{token}/join")
}

#[tokio::test]
async fn an_invited_account_joins_through_the_mailed_link_and_logs_in() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let id = invite(&app, "ann@acme.test", &org).await;
    let account = app.get(&format!("/api/v3/iam/accounts/{id}")).await;
    assert_eq!(account.body["data"]["attributes"]["status"], "pending");
    assert_eq!(account.body["data"]["attributes"]["invitation_expired_at"], "2026-11-30T10:00:00Z");

    let mail = app.mail_to("ann@acme.test").await;
    assert_eq!(mail.len(), 1, "one invitation");
    assert!(mail[0].contains("Subject: You are invited"));
    assert!(mail[0].contains("Hello,"), "a name that holds markup is not written into the email");
    assert!(!mail[0].contains("Admin"), "{}", mail[0]);
    let token = app.mailed_token("ann@acme.test", JOIN).await.expect("a join link in the text part");
    assert!(token.len() >= 43, "256 random bits");
    let before = app.token(json!({"grant_type": "password", "email": "ann@acme.test", "password": PASSWORD})).await;
    assert_eq!(before.status, StatusCode::UNAUTHORIZED, "a pending account cannot log in");

    let joined =
        app.action(Method::PATCH, &join_path(&token), None, json!({"password": PASSWORD, "name": "Ann"})).await;
    assert_eq!(joined.status, StatusCode::NO_CONTENT, "{:?}", joined.body);
    let account = app.get(&format!("/api/v3/iam/accounts/{id}")).await.body["data"]["attributes"].clone();
    assert_eq!(account["status"], "active");
    assert_eq!(account["joined_at"], "2026-11-23T10:00:00Z");
    assert_eq!(account["name"], "Ann");
    app.login("ann@acme.test", PASSWORD).await;

    let again = app.action(Method::PATCH, &join_path(&token), None, json!({"password": PASSWORD})).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.error_codes(), ["invalid_token"], "a link works once");
}

#[tokio::test]
async fn emailed_links_open_the_app_url_when_one_is_set() {
    let app = TestApp::with_env(&[("IAM_APP_URL", "https://app.example.com/")]).await;
    let org = app.create_org("Acme").await;
    invite(&app, "ann@acme.test", &org).await;
    let mail = app.mail_to("ann@acme.test").await.concat();
    assert!(mail.contains("https://app.example.com/join?token="), "{mail}");
    assert!(!mail.contains(iam_tests::app::PUBLIC_URL), "no link to the API's own URL: {mail}");
    let token = app.mailed_token("ann@acme.test", JOIN).await.expect("a join link on the app URL");
    let joined = app.action(Method::PATCH, &join_path(&token), None, json!({"password": PASSWORD})).await;
    assert_eq!(joined.status, StatusCode::NO_CONTENT, "{:?}", joined.body);
}

#[tokio::test]
async fn a_weak_password_lists_every_broken_rule_and_leaves_the_link_usable() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    invite(&app, "ann@acme.test", &org).await;
    let token = app.mailed_token("ann@acme.test", JOIN).await.unwrap();

    let weak = app.action(Method::PATCH, &join_path(&token), None, json!({"password": "abc"})).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.error_codes(), ["too_short", "missing_uppercase", "missing_digit", "missing_special"]);
    assert_eq!(weak.body["errors"][0]["source"]["pointer"], "/password", "a flat body is pointed into as sent");

    let doc = json!({"data": {"type": "accounts", "attributes": {"password": "ann@acme.test", "name": "two\nlines"}}});
    let weak = app.call(Method::PATCH, &join_path(&token), None, Some(doc)).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let pointers: Vec<_> =
        weak.body["errors"].as_array().unwrap().iter().map(|e| e["source"]["pointer"].clone()).collect();
    assert!(pointers.contains(&json!("/data/attributes/password")), "{pointers:?}");
    assert!(pointers.contains(&json!("/data/attributes/name")), "every problem at once: {pointers:?}");
    assert!(weak.error_codes().contains(&"equals_email".to_string()));

    let missing = app.action(Method::PATCH, &join_path(&token), None, json!({})).await;
    assert_eq!(missing.error_codes(), ["required"]);

    let ok = app.action(Method::PATCH, &join_path(&token), None, json!({"password": PASSWORD})).await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "failed attempts did not use the link up");
}

#[tokio::test]
async fn an_invitation_expires_after_seven_days() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let id = invite(&app, "ann@acme.test", &org).await;
    let token = app.mailed_token("ann@acme.test", JOIN).await.unwrap();
    app.clock.advance(time::Duration::days(7));
    let late = app.action(Method::PATCH, &join_path(&token), None, json!({"password": PASSWORD})).await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(late.error_codes(), ["invalid_token"]);
    let admin = app.admin_now().await;
    let account = app.call(Method::GET, &format!("/api/v3/iam/accounts/{id}"), Some(&admin), None).await;
    assert_eq!(account.body["data"]["attributes"]["status"], "expired");
}

#[tokio::test]
async fn a_resend_kills_the_old_link_and_mails_a_new_one() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let id = invite(&app, "ann@acme.test", &org).await;
    let old = app.mailed_token("ann@acme.test", JOIN).await.unwrap();
    app.clock.advance(time::Duration::days(6));
    let admin = app.admin_now().await;

    let resend = format!("/api/v3/iam/accounts/{id}/resend_invitation");
    let reply = app.call(Method::POST, &resend, Some(&admin), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
    assert_eq!(app.mail_to("ann@acme.test").await.len(), 2);
    let new = app.mailed_token("ann@acme.test", JOIN).await.unwrap();
    assert_ne!(old, new);
    let account = app.call(Method::GET, &format!("/api/v3/iam/accounts/{id}"), Some(&admin), None).await;
    assert_eq!(account.body["data"]["attributes"]["invitation_expired_at"], "2026-12-06T10:00:00Z");

    let dead = app.action(Method::PATCH, &join_path(&old), None, json!({"password": PASSWORD})).await;
    assert_eq!(dead.error_codes(), ["invalid_token"], "old links stop working");
    let joined = app.action(Method::PATCH, &join_path(&new), None, json!({"password": PASSWORD})).await;
    assert_eq!(joined.status, StatusCode::NO_CONTENT);

    let reply = app.call(Method::POST, &resend, Some(&admin), None).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.error_codes(), ["already_joined"]);
    assert_eq!(app.mail_to("ann@acme.test").await.len(), 2, "no email for a joined account");
}

#[tokio::test]
async fn a_lapsed_invitation_can_be_resent() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let id = invite(&app, "ann@acme.test", &org).await;
    app.clock.advance(time::Duration::days(8));
    let admin = app.admin_now().await;
    let resend = format!("/api/v3/iam/accounts/{id}/resend_invitation");
    assert_eq!(app.call(Method::POST, &resend, Some(&admin), None).await.status, StatusCode::NO_CONTENT);
    let account = app.call(Method::GET, &format!("/api/v3/iam/accounts/{id}"), Some(&admin), None).await;
    assert_eq!(account.body["data"]["attributes"]["status"], "pending");
    let token = app.mailed_token("ann@acme.test", JOIN).await.unwrap();
    let joined = app.action(Method::PATCH, &join_path(&token), None, json!({"password": PASSWORD})).await;
    assert_eq!(joined.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn resending_needs_invitations_write_in_the_accounts_organization() {
    let app = TestApp::new().await;
    let a = app.create_org("A").await;
    let b = app.create_org("B").await;
    let id = invite(&app, "ann@a.test", &a).await;
    let resend = format!("/api/v3/iam/accounts/{id}/resend_invitation");
    app.create("roles", json!({"name": "viewer", "scope": "organization", "permissions": ["accounts:read"]})).await;
    let viewer = app.account_with_role("viewer@a.test", Some(&a), None).await;
    let viewer_id = app.call(Method::GET, "/api/v3/iam/accounts/me", Some(&viewer), None).await.body["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.create("role_assignments", json!({"account_id": viewer_id, "role_name": "viewer", "scope_id": a})).await;
    let helpdesk = app.account_with_role("helpdesk@a.test", Some(&a), Some(("helpdesk", Some(&a)))).await;
    let other_admin = app.account_with_role("admin@b.test", Some(&b), Some(("org_admin", Some(&b)))).await;
    let member = app.account_with_role("member@a.test", Some(&a), Some(("member", Some(&a)))).await;

    let status = |token: Option<String>| {
        let (app, resend) = (&app, resend.clone());
        async move { app.call(Method::POST, &resend, token.as_deref(), None).await.status }
    };
    assert_eq!(status(None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(Some(member)).await, StatusCode::NOT_FOUND, "a member cannot see the account");
    assert_eq!(status(Some(other_admin)).await, StatusCode::NOT_FOUND, "another organization's admin neither");
    assert_eq!(status(Some(viewer)).await, StatusCode::FORBIDDEN, "seeing is not inviting");
    assert_eq!(status(Some(helpdesk)).await, StatusCode::NO_CONTENT);
    // The first link ended with the resend before it was delivered: only the new one is mailed.
    assert_eq!(app.mail_to("ann@a.test").await.len(), 1);
    let missing =
        app.call(Method::POST, "/api/v3/iam/accounts/nope/resend_invitation", Some(&app.admin_token), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn accounts_with_a_password_or_sso_get_no_invitation() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    app.create_account("pw@acme.test", &org).await;
    app.create("accounts", json!({"email": "sso@acme.test", "auth_type": "sso", "organization_id": org})).await;
    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn a_made_up_token_or_a_malformed_body_changes_nothing() {
    let app = TestApp::new().await;
    let reply = app.action(Method::PATCH, &join_path("made-up"), None, json!({"password": PASSWORD})).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.error_codes(), ["invalid_token"]);
    let request = http::Request::patch(join_path("made-up"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from("{not json"))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::BAD_REQUEST);
    let request = http::Request::patch(join_path("made-up"))
        .header(http::header::CONTENT_TYPE, "text/plain")
        .body(axum::body::Body::from("x"))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// An invitation and a reset link go out in the account's language (its tag's language, else
/// English), from the operator's template where there is one and from ours otherwise; the
/// link in either works.
#[tokio::test]
async fn emails_go_out_in_the_accounts_language_from_the_operators_templates_first() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("de")).unwrap();
    std::fs::write(dir.path().join("de/invitation.txt"), "Subject: Willkommen bei Acme\n\n{{greeting}}\n{{link}}\n")
        .unwrap();
    let app = TestApp::with_env(&[("IAM_MAIL_TEMPLATES", dir.path().to_str().unwrap())]).await;
    let org = app.create_org("Acme").await;

    let attributes = json!({"email": "zoe@acme.test", "organization_id": org, "language": "fr-CA", "name": "Zoë"});
    app.create("accounts", attributes).await;
    let mail = app.mail_to("zoe@acme.test").await;
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("Subject: =?utf-8?B?"), "a French subject is encoded: {}", mail[0]);
    assert!(mail[0].contains("Bonjour Zoë,") && mail[0].contains("Accepter l'invitation"), "{}", mail[0]);

    let attributes = json!({"email": "jan@acme.test", "organization_id": org, "language": "de", "name": "Jan"});
    app.create("accounts", attributes).await;
    let mail = app.mail_to("jan@acme.test").await;
    assert!(mail[0].contains("Subject: Willkommen bei Acme\r\n"), "the operator's subject: {}", mail[0]);
    assert!(mail[0].contains("Hallo Jan,"));
    assert!(mail[0].contains("Einladung annehmen"), "our HTML part, which the operator did not replace");
    let token = app.mailed_token("jan@acme.test", JOIN).await.expect("a join link");
    let joined = app.action(Method::PATCH, &join_path(&token), None, json!({"password": PASSWORD})).await;
    assert_eq!(joined.status, StatusCode::NO_CONTENT, "{:?}", joined.body);

    let reset = json!({"email": "jan@acme.test"});
    let reply = app.action(Method::POST, "/api/v3/iam/account/passwords/request_reset", None, reset).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let mail = app.mail_to("jan@acme.test").await;
    assert!(mail[1].contains("Neues Passwort w"), "our German reset email: {}", mail[1]);
}
