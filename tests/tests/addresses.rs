//! Email addresses as an attacker sends them: only one `addr-spec` is accepted (422 naming
//! `email`, nothing written, nothing mailed); internationalized domains are stored, compared
//! and logged in with by their ASCII form; an address stored before the rule still logs in but
//! gets no mail until it is corrected.

use http::{Method, StatusCode};
use iam_tests::TestApp;
use iam_tests::app::PASSWORD;
use serde_json::json;

const REQUEST_RESET: &str = "/api/v3/iam/account/passwords/request_reset";

/// The addresses that were once accepted and written verbatim into `To:`.
const HOSTILE: &[&str] = &[
    "victim@x.test,attacker@evil.test",
    "a@b.test;c@evil.test",
    "\"x@y\"@evil.test",
    "undisclosed:a@evil.test;",
    "a(comment)@b.test",
    "Ann <ann@b.test>",
    "a@[127.0.0.1]",
];

#[tokio::test]
async fn only_one_address_is_accepted_and_a_refusal_writes_and_mails_nothing() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let token = app.admin_token.clone();
    for email in HOSTILE {
        let reply = app.post(&token, "accounts", json!({"email": email, "organization_id": org})).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{email}: {:?}", reply.body);
        assert_eq!(reply.body["errors"][0]["source"]["pointer"], "/data/attributes/email", "{email}");
        assert_eq!(reply.body["errors"][0]["code"], "invalid_email", "{email}");
    }
    let reply = app.get(&format!("/api/v3/iam/accounts?filter[organization_id]={org}")).await;
    assert_eq!(reply.ids(), Vec::<String>::new(), "no account was written");
    assert!(app.outbox().await.is_empty(), "no invitation went anywhere");

    // An update is held to the same rule.
    let id = app.create_account("ann@acme.test", &org).await;
    for email in HOSTILE {
        let body = json!({"data": {"type": "accounts", "id": id, "attributes": {"email": email}}});
        let reply = app.call(Method::PATCH, &format!("/api/v3/iam/accounts/{id}"), Some(&token), Some(body)).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{email}: {:?}", reply.body);
    }
    app.login("ann@acme.test", PASSWORD).await;
}

#[tokio::test]
async fn an_internationalized_domain_is_one_account_under_its_ascii_form() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let id = app.create_account("Ann@Bücher.example", &org).await;
    let reply = app.get(&format!("/api/v3/iam/accounts/{id}")).await;
    assert_eq!(reply.body["data"]["attributes"]["email"], "Ann@xn--bcher-kva.example");
    let again = app.post(&app.admin_token.clone(), "accounts", json!({"email": "ann@xn--BCHER-kva.example"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "the same address in either form: {:?}", again.body);
    app.login("ann@bücher.example", PASSWORD).await;
    app.login("ann@xn--bcher-kva.example", PASSWORD).await;
    let reply = app.action(Method::POST, REQUEST_RESET, None, json!({"email": "ANN@BÜCHER.example"})).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(app.mail_to("Ann@xn--bcher-kva.example").await.len(), 1);
}

/// An account stored before the rule (here written as bootstrap writes, past the API's check)
/// keeps logging in; reset links and invitations do not go to its address until it is
/// corrected, and then they do.
#[tokio::test]
async fn an_address_stored_before_the_rule_logs_in_but_is_mailed_only_once_corrected() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let legacy = "victim@x.test,attacker@evil.test";
    let token = app.account_with_role(legacy, Some(&org), None).await;
    assert!(!token.is_empty());
    let reply = app.action(Method::POST, REQUEST_RESET, None, json!({"email": legacy})).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "the answer tells nothing");
    assert!(app.outbox().await.is_empty(), "no reset link to a list of addresses");

    let me = app.call(Method::GET, "/api/v3/iam/accounts/me", Some(&token), None).await;
    assert_eq!(me.body["data"]["attributes"]["email"], legacy, "still readable as stored");
    let id = me.body["data"]["id"].as_str().unwrap().to_string();
    let admin = app.admin_token.clone();
    let rename = json!({"data": {"type": "accounts", "id": id, "attributes": {"name": "Vic"}}});
    let reply = app.call(Method::PATCH, &format!("/api/v3/iam/accounts/{id}"), Some(&admin), Some(rename)).await;
    assert_eq!(reply.status, StatusCode::OK, "other changes go through: {:?}", reply.body);

    let fix = json!({"data": {"type": "accounts", "id": id, "attributes": {"email": "victim@x.test"}}});
    let reply = app.call(Method::PATCH, &format!("/api/v3/iam/accounts/{id}"), Some(&admin), Some(fix)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let reply = app.action(Method::POST, REQUEST_RESET, None, json!({"email": "victim@x.test"})).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(app.mail_to("victim@x.test").await.len(), 1);
    assert_eq!(app.outbox().await.len(), 1, "and to nobody else");
}
