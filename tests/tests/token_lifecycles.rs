//! Links mailed to an account end when what they were sent for changes: its address, its
//! password, its sign-in method, its being enabled. A pending account whose address changes is
//! invited again, at the new address.

use http::{Method, StatusCode};
use iam_shared::store::schema::{TOKENS, TOKENS_BY_ACCOUNT};
use iam_shared::store::{Query, query_all};
use iam_tests::TestApp;
use iam_tests::app::PASSWORD;
use serde_json::{Value, json};

const JOIN: &str = "join";
const RESET_PAGE: &str = "reset-password";

fn join_path(token: &str) -> String {
    format!("/api/v3/iam/accounts/{token}/join")
}

async fn patch_account(app: &TestApp, id: &str, attributes: Value) {
    let body = json!({"data": {"type": "accounts", "id": id, "attributes": attributes}});
    let token = app.admin_token.clone();
    let reply = app.call(Method::PATCH, &format!("/api/v3/iam/accounts/{id}"), Some(&token), Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

/// How many single-use tokens of the account are stored (the binding aside, revocation must
/// delete them: this counts what is left).
async fn tokens_held(app: &TestApp, account_id: &str) -> usize {
    let query = Query::partition(&TOKENS, &TOKENS_BY_ACCOUNT, account_id);
    query_all(app.state.store.as_ref(), query).await.expect("tokens").len()
}

async fn join(app: &TestApp, token: &str) -> StatusCode {
    app.action(Method::PATCH, &join_path(token), None, json!({"password": PASSWORD})).await.status
}

async fn reset(app: &TestApp, token: &str) -> StatusCode {
    let body = json!({"token": token, "password": "N3w!Password"});
    app.action(Method::POST, "/api/v3/iam/account/passwords/reset", None, body).await.status
}

async fn reset_link(app: &TestApp, email: &str) -> String {
    let reply =
        app.action(Method::POST, "/api/v3/iam/account/passwords/request_reset", None, json!({"email": email})).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    app.mailed_token(email, RESET_PAGE).await.expect("a reset link")
}

#[tokio::test]
async fn an_invitation_ends_with_the_address_it_was_sent_to_and_the_new_address_is_invited() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let id = app.create("accounts", json!({"email": "pend.x@acme.test", "organization_id": org})).await;
    let old_link = app.mailed_token("pend.x@acme.test", JOIN).await.expect("the first invitation");

    patch_account(&app, &id, json!({"email": "pend.y@acme.test"})).await;
    assert_eq!(tokens_held(&app, &id).await, 1, "the old link is deleted, the new one stored");
    assert_eq!(join(&app, &old_link).await, StatusCode::UNPROCESSABLE_ENTITY, "the old address's link is dead");
    let new_link = app.mailed_token("pend.y@acme.test", JOIN).await.expect("an invitation at the new address");
    assert_eq!(app.mail_to("pend.x@acme.test").await.len(), 1, "nothing more goes to the old address");
    let account = app.get(&format!("/api/v3/iam/accounts/{id}")).await.body["data"]["attributes"].clone();
    assert_eq!(account["status"], "pending");

    assert_eq!(join(&app, &new_link).await, StatusCode::NO_CONTENT);
    app.login("pend.y@acme.test", PASSWORD).await;
}

#[tokio::test]
async fn changing_only_the_case_of_the_address_keeps_the_invitation() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let id = app.create("accounts", json!({"email": "pend@acme.test", "organization_id": org})).await;
    let link = app.mailed_token("pend@acme.test", JOIN).await.unwrap();
    patch_account(&app, &id, json!({"email": "Pend@Acme.test", "name": "Pen"})).await;
    assert_eq!(app.outbox().await.len(), 1, "the same address (case-folded) is not invited again");
    assert_eq!(join(&app, &link).await, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn disabling_or_switching_to_sso_ends_the_invitation() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    for (n, change) in
        [json!({"enabled": false}), json!({"auth_type": "sso", "sso_channel": "okta"})].into_iter().enumerate()
    {
        let email = format!("pend{n}@acme.test");
        let id = app.create("accounts", json!({"email": email, "organization_id": org})).await;
        let link = app.mailed_token(&email, JOIN).await.unwrap();
        patch_account(&app, &id, change.clone()).await;
        assert_eq!(tokens_held(&app, &id).await, 0, "deleted with the change: {change}");
        assert_eq!(join(&app, &link).await, StatusCode::UNPROCESSABLE_ENTITY, "{change}");
        assert_eq!(app.mail_to(&email).await.len(), 1, "no new invitation: {change}");
    }
}

#[tokio::test]
async fn a_reset_link_ends_when_the_address_the_password_or_the_account_changes() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let changes = [
        ("address", json!({"email": "moved@acme.test"})),
        ("disabled", json!({"enabled": false})),
        ("sso", json!({"auth_type": "sso", "sso_channel": "okta"})),
    ];
    for (n, (what, change)) in changes.into_iter().enumerate() {
        let email = format!("ann{n}@acme.test");
        let id = app.create_account(&email, &org).await;
        let link = reset_link(&app, &email).await;
        patch_account(&app, &id, change).await;
        assert_eq!(tokens_held(&app, &id).await, 0, "deleted with the change: {what}");
        assert_eq!(reset(&app, &link).await, StatusCode::UNPROCESSABLE_ENTITY, "a reset link after: {what}");
    }

    // A password change (with the current one) ends the links sent before it.
    let email = "bob@acme.test";
    let bob = app.create_account(email, &org).await;
    let link = reset_link(&app, email).await;
    let token = app.login(email, PASSWORD).await["access_token"].as_str().unwrap().to_string();
    let body = json!({"current_password": PASSWORD, "password": "An0ther!Password"});
    let changed = app.action(Method::POST, "/api/v3/iam/account/passwords/change", Some(&token), body).await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{:?}", changed.body);
    assert_eq!(tokens_held(&app, &bob).await, 0, "deleted with the password change");
    assert_eq!(reset(&app, &link).await, StatusCode::UNPROCESSABLE_ENTITY, "a reset link after a password change");
    app.login(email, "An0ther!Password").await;

    // Untouched, a link works (the cases above fail for their change alone).
    let email = "cy@acme.test";
    let id = app.create_account(email, &org).await;
    let link = reset_link(&app, email).await;
    patch_account(&app, &id, json!({"name": "Cy"})).await;
    assert_eq!(reset(&app, &link).await, StatusCode::NO_CONTENT);
}
