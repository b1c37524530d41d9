//! What a client sees when the store is under pressure, through the whole API, with the
//! failures DynamoDB answers under load injected in front of a real store (`faults::Faulty`,
//! behind the `Retrying` decorator the functions use): a transaction conflict is retried and
//! lands once; one that persists is a 409 `concurrent_modification`; throttling is a 503 with
//! `Retry-After`; anything else an opaque 500; and none of them leaves anything half-written.
//! Runs on SQLite and on DynamoDB (moto) like the other end-to-end suites.

use std::sync::Arc;

use http::{Method, StatusCode};
use iam_shared::store::Retrying;
use iam_shared::store::backoff::Backoff;
use iam_tests::TestApp;
use iam_tests::faults::{Fault, Faulty, Op};
use serde_json::{Value, json};

/// The API on a store that fails as told, behind the retries the functions have.
async fn app_with_faults() -> (TestApp, Arc<Faulty>) {
    let mut faulty = None;
    let app = TestApp::wrapping_store(|store| {
        let injected = Faulty::new(store);
        faulty = Some(injected.clone());
        Arc::new(Retrying::new(injected, Backoff::CONFLICTS))
    })
    .await;
    (app, faulty.expect("the store was wrapped"))
}

fn organization(name: &str) -> Value {
    json!({"data": {"type": "organizations", "attributes": {"name": name}}})
}

/// How many organizations have this name (searching the listing the admin console uses).
async fn named(app: &TestApp, name: &str) -> usize {
    let path = format!("/api/v3/iam/organizations?filter[name]={name}&page[size]=100");
    let reply = app.call(Method::GET, &path, Some(&app.admin_token), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.ids().len()
}

async fn create(app: &TestApp, name: &str) -> iam_tests::Reply {
    app.call(Method::POST, "/api/v3/iam/organizations", Some(&app.admin_token), Some(organization(name))).await
}

#[tokio::test]
async fn a_transaction_conflict_is_retried_and_lands_once() {
    let (app, faulty) = app_with_faults().await;
    let before = faulty.calls(Op::Transact);
    faulty.inject(Op::Transact, Fault::Contended, Some(2));
    let reply = create(&app, "Retried").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(faulty.calls(Op::Transact) - before, 3, "two conflicts, then the write");
    assert_eq!(named(&app, "Retried").await, 1);
}

#[tokio::test]
async fn a_conflict_that_persists_is_a_409_and_writes_nothing() {
    let (app, faulty) = app_with_faults().await;
    let before = faulty.calls(Op::Transact);
    faulty.inject(Op::Transact, Fault::Contended, None);
    let reply = create(&app, "Contended").await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert_eq!(reply.error_codes(), ["concurrent_modification"]);
    assert_eq!(faulty.calls(Op::Transact) - before, Backoff::CONFLICTS.attempts as usize, "bounded retries");
    faulty.clear(Op::Transact);
    assert_eq!(named(&app, "Contended").await, 0);
    // Nothing of it was kept, not even the name's uniqueness marker: the name is still free.
    assert_eq!(create(&app, "Contended").await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn throttling_is_a_503_with_retry_after_and_writes_nothing() {
    let (app, faulty) = app_with_faults().await;
    let before = faulty.calls(Op::Transact);
    faulty.inject(Op::Transact, Fault::Throttled, None);
    let reply = create(&app, "Throttled").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{}", reply.body);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(reply.error_codes(), ["service_unavailable"]);
    assert_eq!(faulty.calls(Op::Transact) - before, 1, "the SDK retried throttling already");
    faulty.clear(Op::Transact);
    assert_eq!(named(&app, "Throttled").await, 0);
    assert_eq!(create(&app, "Throttled").await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn throttled_reads_are_503_too_and_the_sign_in_endpoint_says_so() {
    let (app, faulty) = app_with_faults().await;
    faulty.inject(Op::Get, Fault::Throttled, None);
    faulty.inject(Op::Query, Fault::Throttled, None);
    let reply = app.call(Method::GET, "/api/v3/iam/accounts/me", Some(&app.admin_token), None).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{}", reply.body);
    assert_eq!(reply.header("retry-after"), Some("1"));
    let login = app.token(json!({"grant_type": "password", "email": "root@example.com", "password": "x"})).await;
    assert_eq!(login.status, StatusCode::SERVICE_UNAVAILABLE, "{}", login.body);
    assert_eq!(login.header("retry-after"), Some("1"));
}

#[tokio::test]
async fn any_other_failure_is_an_opaque_500() {
    let (app, faulty) = app_with_faults().await;
    faulty.inject(Op::Transact, Fault::Backend, None);
    let reply = create(&app, "Broken").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    let id = reply.header("x-request-id").expect("a request id");
    assert_eq!(reply.body, json!({"errors": [{"status": "500", "code": "internal", "id": id}]}));
    faulty.clear(Op::Transact);
    assert_eq!(named(&app, "Broken").await, 0);
}

/// Dozens of creates at once while a burst of conflicts hits the first of them: each answer is
/// a 201 or a 409 `concurrent_modification` (never a 500), and what exists is exactly what
/// was acknowledged, once.
#[tokio::test]
async fn parallel_writes_through_a_burst_of_conflicts_land_once_or_are_refused_whole() {
    let (app, faulty) = app_with_faults().await;
    faulty.inject(Op::Transact, Fault::Contended, Some(24));
    let names: Vec<String> = (0..32).map(|i| format!("Burst-{i:02}")).collect();
    let replies = futures_util::future::join_all(names.iter().map(|name| create(&app, name))).await;
    let mut created = 0;
    for (i, reply) in replies.iter().enumerate() {
        match reply.status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => assert_eq!(reply.error_codes(), ["concurrent_modification"], "request {i}"),
            other => panic!("request {i} answered {other}: {}", reply.body),
        }
    }
    assert!(created >= 8, "only {created} of 32 landed");
    faulty.clear(Op::Transact);
    let mut existing = 0;
    for (i, (name, reply)) in names.iter().zip(&replies).enumerate() {
        let n = named(&app, name).await;
        assert_eq!(n, usize::from(reply.status == StatusCode::CREATED), "request {i}");
        existing += n;
    }
    assert_eq!(existing, created);
}
