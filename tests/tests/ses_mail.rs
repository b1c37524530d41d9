//! The SES v2 mail adapter against moto's server: it sends only from the verified identity,
//! and an invitation sent through it carries a join link that works.

use std::sync::Arc;

use http::{Method, StatusCode};
use iam_shared::mail::Mailer;
use iam_shared::mail::address::Address;
use iam_shared::mail::header::Sender;
use iam_shared::mail::ses::SesMailer;
use iam_shared::mail::templates::{self, Kind, Templates};
use iam_tests::app::{PASSWORD, PUBLIC_URL};
use iam_tests::{TestApp, moto};
use serde_json::json;

const SENDER: &str = "no-reply@iam.test";

/// moto's endpoint with the sender verified, or `None` when moto is absent and not required.
async fn ses_endpoint() -> Option<&'static str> {
    let endpoint = moto::endpoint_for("SES")?;
    moto::ses_client(endpoint).create_email_identity().email_identity(SENDER).send().await.expect("identity");
    Some(endpoint)
}

/// The token of a `page` link in an HTML body.
fn token_in(html: &str, page: &str) -> Option<String> {
    let prefix = format!("href=\"{PUBLIC_URL}/{page}?token=");
    let start = html.find(&prefix)? + prefix.len();
    Some(html[start..].split('"').next()?.to_string())
}

#[tokio::test]
async fn the_ses_adapter_sends_both_parts_from_the_configured_identity() {
    let Some(endpoint) = ses_endpoint().await else { return };
    let mailer = SesMailer::new(moto::ses_client(endpoint), Sender::parse(SENDER).unwrap());
    let link = templates::join_link(PUBLIC_URL, "t0ken");
    let to = Address::parse("ses-one@acme.test").unwrap();
    let message =
        Templates::load(None).unwrap().render(Kind::Invitation, None, &to, None, &link, "2026-11-30T10:00:00Z");
    mailer.send(&message).await.unwrap();
    let sent = moto::sent_to(endpoint, "ses-one@acme.test").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["source"], SENDER);
    assert_eq!(sent[0]["subject"], "You are invited");
    assert_eq!(token_in(sent[0]["body"].as_str().unwrap(), "join").as_deref(), Some("t0ken"));
}

/// A sender's display name that is not ASCII reaches SES as RFC 2047 encoded words, as SES
/// requires, and the verified address is what SES checks.
#[tokio::test]
async fn a_display_name_goes_to_ses_encoded() {
    let Some(endpoint) = ses_endpoint().await else { return };
    let sender = Sender::parse(&format!("Zoë's Accounts <{SENDER}>")).unwrap();
    let mailer = SesMailer::new(moto::ses_client(endpoint), sender.clone());
    let link = templates::reset_link(PUBLIC_URL, "x");
    let to = Address::parse("ses-four@acme.test").unwrap();
    mailer
        .send(&Templates::load(None).unwrap().render(Kind::PasswordReset, None, &to, None, &link, "t"))
        .await
        .unwrap();
    let sent = moto::sent_to(endpoint, "ses-four@acme.test").await;
    assert_eq!(sent.len(), 1);
    let source = sent[0]["source"].as_str().unwrap();
    assert_eq!(source, sender.header());
    assert!(source.starts_with("=?utf-8?B?") && source.ends_with(&format!("<{SENDER}>")), "{source}");
}

#[tokio::test]
async fn an_unverified_sender_is_an_error_not_a_silent_loss() {
    let Some(endpoint) = ses_endpoint().await else { return };
    let mailer = SesMailer::new(moto::ses_client(endpoint), Sender::parse("stranger@elsewhere.test").unwrap());
    let link = templates::reset_link(PUBLIC_URL, "x");
    let sent = mailer
        .send(&Templates::load(None).unwrap().render(
            Kind::PasswordReset,
            None,
            &Address::parse("ses-two@acme.test").unwrap(),
            None,
            &link,
            "t",
        ))
        .await;
    assert!(sent.is_err(), "SES refuses an unverified sender and the adapter says so");
    assert!(moto::sent_to(endpoint, "ses-two@acme.test").await.is_empty());
}

#[tokio::test]
async fn an_invitation_sent_through_ses_carries_a_working_join_link() {
    let Some(endpoint) = ses_endpoint().await else { return };
    let mut app = TestApp::new().await;
    app.swap_mailer(Arc::new(SesMailer::new(moto::ses_client(endpoint), Sender::parse(SENDER).unwrap())));
    let org = app.create_org("Acme").await;
    app.create("accounts", json!({"email": "ses-three@acme.test", "organization_id": org})).await;
    assert!(app.outbox().await.is_empty(), "SES, not the outbox, sent it");
    let sent = moto::sent_to(endpoint, "ses-three@acme.test").await;
    assert_eq!(sent.len(), 1);
    let token = token_in(sent[0]["body"].as_str().unwrap(), "join").expect("a join link");
    let path = format!("/api/v3/iam/accounts/{token}/join");
    let joined = app.action(Method::PATCH, &path, None, json!({"password": PASSWORD})).await;
    assert_eq!(joined.status, StatusCode::NO_CONTENT, "{:?}", joined.body);
    app.login("ses-three@acme.test", PASSWORD).await;
}
