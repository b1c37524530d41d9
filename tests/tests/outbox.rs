//! The transactional outbox, counted rather than timed: requests post letters in the same
//! transaction as what they announce and never call the mail adapter; delivery sends each
//! letter once (leases hold under dozens of parallel deliveries), retries what failed, picks up
//! what a crash left, and drops letters whose link has expired. Runs on SQLite and on DynamoDB
//! (moto) like the other end-to-end suites.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use http::{Method, StatusCode};
use iam_shared::mail::delivery::{Delivery, LEASE, Round};
use iam_shared::mail::outbox::LEASE_UNTIL;
use iam_shared::mail::{Mailer, Message};
use iam_shared::store::schema::{OUTBOX, OUTBOX_BY_ID};
use iam_shared::store::{Item, Query, Update, query_all};
use iam_shared::{clock, records};
use iam_tests::TestApp;
use iam_tests::app::{PASSWORD, PUBLIC_URL};
use serde_json::json;

/// A mail adapter that fails while told to, and counts every call and every message it took.
#[derive(Default)]
struct Flaky {
    failing: AtomicBool,
    calls: AtomicUsize,
    sent: std::sync::Mutex<Vec<Message>>,
}

#[async_trait]
impl Mailer for Flaky {
    async fn send(&self, message: &Message) -> anyhow::Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            anyhow::bail!("the mail service is down");
        }
        self.sent.lock().unwrap().push(message.clone());
        Ok(())
    }
}

impl Flaky {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn sent(&self) -> Vec<Message> {
        self.sent.lock().unwrap().clone()
    }

    /// The token of the `page` link in the newest message.
    fn token(&self, page: &str) -> String {
        let prefix = format!("{PUBLIC_URL}/{page}?token=");
        let sent = self.sent();
        let text = &sent.last().expect("a message").text;
        text.lines().find_map(|l| l.trim().strip_prefix(prefix.as_str())).expect("a link").to_string()
    }
}

async fn app_with_flaky(vars: &[(&str, &str)]) -> (TestApp, Arc<Flaky>) {
    let mut app = TestApp::for_races(vars).await;
    let flaky = Arc::new(Flaky::default());
    app.swap_mailer(flaky.clone());
    (app, flaky)
}

async fn letters(app: &TestApp) -> Vec<Item> {
    let whole = OUTBOX_BY_ID.whole_table().unwrap();
    let ids = query_all(app.state.store.as_ref(), Query::partition(&OUTBOX, &OUTBOX_BY_ID, whole)).await.unwrap();
    let ids: Vec<String> = ids.iter().map(|i| records::id_of(i).to_string()).collect();
    app.state.store.batch_get(&OUTBOX, &ids).await.unwrap()
}

async fn invite(app: &TestApp, email: &str) -> String {
    let org = app.create_org(&format!("Org of {email}")).await;
    app.create("accounts", json!({"email": email, "organization_id": org})).await
}

#[tokio::test]
async fn with_the_mailer_down_an_account_is_created_and_its_invitation_goes_out_once_it_is_back() {
    let (app, flaky) = app_with_flaky(&[]).await;
    flaky.failing.store(true, Ordering::SeqCst);
    let org = app.create_org("Acme").await;
    let created =
        app.post(&app.admin_token, "accounts", json!({"email": "ann@acme.test", "organization_id": org})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(flaky.calls(), 0, "the request called no mailer");
    assert_eq!(letters(&app).await.len(), 1, "its letter is in the outbox");

    let round = app.postman.sweep().await.unwrap();
    assert_eq!(round, Round { failed: 1, ..Round::default() });
    assert_eq!(flaky.calls(), 1);
    assert_eq!(letters(&app).await.len(), 1, "a failed send keeps the letter");

    flaky.failing.store(false, Ordering::SeqCst);
    assert_eq!(app.postman.sweep().await.unwrap(), Round { sent: 1, ..Round::default() });
    assert_eq!(flaky.sent().len(), 1);
    assert_eq!(flaky.sent()[0].to.as_str(), "ann@acme.test");
    assert!(letters(&app).await.is_empty(), "a sent letter is deleted");
    assert_eq!(app.postman.sweep().await.unwrap(), Round::default(), "nothing is sent twice");
    assert_eq!(flaky.calls(), 2);

    let token = flaky.token("join");
    let path = format!("/api/v3/iam/accounts/{token}/join");
    let joined = app.action(Method::PATCH, &path, None, json!({"password": PASSWORD})).await;
    assert_eq!(joined.status, StatusCode::NO_CONTENT, "the link works: {:?}", joined.body);
}

#[tokio::test]
async fn a_reset_request_calls_no_mailer_and_a_known_email_adds_exactly_one_transaction() {
    let (app, flaky) = app_with_flaky(&[]).await;
    let org = app.create_org("Acme").await;
    app.create_account("bob@acme.test", &org).await;
    let request = |email: &str| {
        app.action(Method::POST, "/api/v3/iam/account/passwords/request_reset", None, json!({"email": email}))
    };
    let metrics = app.state.metrics.clone();
    metrics.reset();
    assert_eq!(request("nobody@acme.test").await.status, StatusCode::NO_CONTENT);
    let unknown = metrics.transactions();
    metrics.reset();
    assert_eq!(request("bob@acme.test").await.status, StatusCode::NO_CONTENT);
    let known = metrics.transactions();
    assert_eq!(known, unknown + 1, "the token and its letter are one transaction");
    assert_eq!(flaky.calls(), 0, "no request calls the mailer");
    let posted = letters(&app).await;
    assert_eq!(posted.len(), 1);

    assert_eq!(app.postman.sweep().await.unwrap().sent, 1);
    let token = flaky.token("reset-password");
    let text = serde_json::to_string(&posted).unwrap();
    assert!(!text.contains(&token), "the outbox never held the token readable: {text}");
    let reset = app
        .action(
            Method::POST,
            "/api/v3/iam/account/passwords/reset",
            None,
            json!({"token": token, "password": "N3w!Password"}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{:?}", reset.body);
}

#[tokio::test]
async fn forty_parallel_deliveries_of_one_letter_send_it_once() {
    let (app, flaky) = app_with_flaky(&[]).await;
    invite(&app, "cleo@acme.test").await;
    let id = records::id_of(&letters(&app).await[0]).to_string();
    let outcomes = futures_util::future::join_all((0..40).map(|_| app.postman.deliver(&id))).await;
    let outcomes: Vec<Delivery> = outcomes.into_iter().map(|o| o.expect("no error")).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == Delivery::Sent).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(o, Delivery::Sent | Delivery::Taken | Delivery::Gone)));
    assert_eq!(flaky.calls(), 1);
    assert_eq!(app.postman.deliver(&id).await.unwrap(), Delivery::Gone, "a redelivery sends nothing");
    assert_eq!(flaky.calls(), 1);
}

#[tokio::test]
async fn a_letter_a_crashed_delivery_held_goes_out_once_its_lease_is_over() {
    let (app, flaky) = app_with_flaky(&[]).await;
    invite(&app, "dan@acme.test").await;
    let id = records::id_of(&letters(&app).await[0]).to_string();
    // A delivery took the letter and died before sending it.
    let held = clock::format(app.state.now() + LEASE);
    app.state.store.update(Update::new(&OUTBOX, id.as_str()).set(LEASE_UNTIL, held)).await.unwrap();
    assert_eq!(app.postman.sweep().await.unwrap(), Round { taken: 1, ..Round::default() });
    assert_eq!(flaky.calls(), 0);

    app.clock.advance(LEASE + time::Duration::seconds(1));
    assert_eq!(app.postman.sweep().await.unwrap(), Round { sent: 1, ..Round::default() });
    assert_eq!(flaky.sent()[0].to.as_str(), "dan@acme.test");
}

#[tokio::test]
async fn a_letter_whose_link_expired_is_dropped_unsent() {
    let (app, flaky) = app_with_flaky(&[]).await;
    let org = app.create_org("Acme").await;
    app.create_account("eve@acme.test", &org).await;
    let reset = app
        .action(Method::POST, "/api/v3/iam/account/passwords/request_reset", None, json!({"email": "eve@acme.test"}))
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    app.clock.advance(time::Duration::hours(1));
    assert_eq!(app.postman.sweep().await.unwrap(), Round { dropped: 1, ..Round::default() });
    assert_eq!(flaky.calls(), 0, "a dead link is not mailed");
    assert!(letters(&app).await.is_empty());
}

#[tokio::test]
async fn a_failed_change_posts_no_letter() {
    let (app, flaky) = app_with_flaky(&[]).await;
    invite(&app, "fay@acme.test").await;
    let org = app.create_org("Other").await;
    // The email is taken: the whole create fails, its letter with it.
    let again = app.post(&app.admin_token, "accounts", json!({"email": "FAY@acme.test", "organization_id": org})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(letters(&app).await.len(), 1, "only the first account's letter");
    assert_eq!(app.postman.sweep().await.unwrap().sent, 1);
    assert_eq!(flaky.calls(), 1);
}

#[tokio::test]
async fn only_the_newest_link_is_mailed_when_resends_come_before_delivery() {
    let (app, flaky) = app_with_flaky(&[]).await;
    let id = invite(&app, "gus@acme.test").await;
    let resend = format!("/api/v3/iam/accounts/{id}/resend_invitation");
    for _ in 0..2 {
        let sent = app.action(Method::POST, &resend, Some(&app.admin_token), json!({})).await;
        assert_eq!(sent.status, StatusCode::NO_CONTENT, "{:?}", sent.body);
    }
    assert_eq!(letters(&app).await.len(), 3);
    assert_eq!(app.postman.sweep().await.unwrap(), Round { sent: 1, dropped: 2, ..Round::default() });
    assert_eq!(flaky.calls(), 1, "the two dead links were not mailed");
    let path = format!("/api/v3/iam/accounts/{}/join", flaky.token("join"));
    let joined = app.action(Method::PATCH, &path, None, json!({"password": PASSWORD})).await;
    assert_eq!(joined.status, StatusCode::NO_CONTENT, "the one mailed is the one that works");
}

#[tokio::test]
async fn a_letter_to_an_address_the_account_has_left_is_not_sent() {
    let (app, flaky) = app_with_flaky(&[]).await;
    let id = invite(&app, "typo@evil.test").await;
    let fixed = json!({"data": {"type": "accounts", "id": id, "attributes": {"email": "hal@acme.test"}}});
    let changed =
        app.call(Method::PATCH, &format!("/api/v3/iam/accounts/{id}"), Some(&app.admin_token), Some(fixed)).await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    assert_eq!(app.postman.sweep().await.unwrap(), Round { sent: 1, dropped: 1, ..Round::default() });
    let sent = flaky.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.as_str(), "hal@acme.test", "nothing went to the address the admin corrected");
}
