//! The DynamoDB adapter under pressure, on the real SDK over real HTTP, against a scripted
//! endpoint that answers what moto never does: throttling, transaction conflicts, unprocessed
//! batch keys and items, and silence. Counted, not timed: how many requests each failure
//! costs shows which layer retried it and that every retry is bounded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use http::Method;
use iam_shared::store::backoff::Backoff;
use iam_shared::store::dynamodb::{self, DynamoStore, Patience};
use iam_shared::store::schema::ACCOUNTS;
use iam_shared::store::{Condition, Retrying, Store, StoreError, Write};
use iam_tests::{TestApp, moto};
use serde_json::{Value, json};

const PREFIX: &str = "t_";

/// Short enough for tests; the shape (three tries, an operation bound) is the functions'.
const PATIENCE: Patience = Patience {
    connect: Duration::from_millis(500),
    attempt: Duration::from_millis(300),
    operation: Duration::from_secs(2),
    attempts: 3,
};

/// An answer: its status and JSON body.
type Answer = (u16, Value);

/// An endpoint that answers every request with what `script` says for its operation and its
/// number (1 for the first request of that operation), counting requests per operation.
struct Scripted {
    endpoint: String,
    counts: Arc<Mutex<std::collections::HashMap<String, usize>>>,
}

impl Scripted {
    async fn start(script: impl Fn(&str, usize, &Value) -> Answer + Send + Sync + 'static) -> Scripted {
        let counts: Arc<Mutex<std::collections::HashMap<String, usize>>> = Arc::default();
        let script = Arc::new(script);
        let seen = counts.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let (script, seen) = (script.clone(), seen.clone());
            async move {
                let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
                let op = target.rsplit('.').next().unwrap_or_default().to_string();
                let n = {
                    let mut seen = seen.lock().unwrap();
                    let n = seen.entry(op.clone()).or_default();
                    *n += 1;
                    *n
                };
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let (status, answer) = script(&op, n, &request);
                let status = StatusCode::from_u16(status).unwrap();
                (status, [("content-type", "application/x-amz-json-1.0")], answer.to_string()).into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Scripted { endpoint, counts }
    }

    fn count(&self, op: &str) -> usize {
        self.counts.lock().unwrap().get(op).copied().unwrap_or(0)
    }

    fn adapter(&self) -> DynamoStore {
        DynamoStore::new(dynamodb::client(&moto::sdk_config(&self.endpoint), PATIENCE), PREFIX)
    }

    /// The adapter as the functions compose it (conflicts retried).
    fn store(&self) -> Retrying {
        Retrying::new(Arc::new(self.adapter()), Backoff::CONFLICTS)
    }
}

fn error(kind: &str, extra: Value) -> Answer {
    let mut body = json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": kind});
    body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    (400, body)
}

fn throttled() -> Answer {
    error("ProvisionedThroughputExceededException", json!({}))
}

fn cancelled(codes: &[&str]) -> Answer {
    let reasons: Vec<Value> = codes.iter().map(|c| json!({"Code": c})).collect();
    error("TransactionCanceledException", json!({"CancellationReasons": reasons}))
}

fn item(id: &str) -> Value {
    json!({"id": {"S": id}})
}

fn two_puts() -> Vec<Write> {
    let put = |id: &str| Write::Put {
        table: &ACCOUNTS,
        item: json!({"id": id}).as_object().cloned().unwrap(),
        condition: Some(Condition::NotExists),
    };
    vec![put("a"), put("b")]
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_then_reported_as_throttled() {
    let always = Scripted::start(|_, _, _| throttled()).await;
    let got = always.store().get(&ACCOUNTS, "a").await;
    assert!(matches!(got, Err(StoreError::Throttled(_))), "{got:?}");
    assert_eq!(always.count("GetItem"), PATIENCE.attempts as usize, "the SDK's bounded retries, nothing more");

    let once = Scripted::start(|_, n, _| if n == 1 { throttled() } else { (200, json!({"Item": item("a")})) }).await;
    let got = once.store().get(&ACCOUNTS, "a").await.expect("the second try answers");
    assert_eq!(got.and_then(|i| i.get("id").cloned()), Some(json!("a")));
    assert_eq!(once.count("GetItem"), 2);
}

#[tokio::test]
async fn a_transaction_conflict_is_retried_with_backoff_then_reported_as_contended() {
    let always = Scripted::start(|_, _, _| cancelled(&["None", "TransactionConflict"])).await;
    let got = always.store().transact(two_puts()).await;
    assert!(matches!(got, Err(StoreError::Contended(_))), "{got:?}");
    assert_eq!(always.count("TransactWriteItems"), Backoff::CONFLICTS.attempts as usize);

    let twice =
        Scripted::start(|_, n, _| if n <= 2 { cancelled(&["TransactionConflict", "None"]) } else { (200, json!({})) })
            .await;
    twice.store().transact(two_puts()).await.expect("the third try commits");
    assert_eq!(twice.count("TransactWriteItems"), 3);
}

#[tokio::test]
async fn a_failed_condition_names_its_write_and_is_not_retried() {
    let endpoint = Scripted::start(|_, _, _| cancelled(&["None", "ConditionalCheckFailed"])).await;
    let got = endpoint.store().transact(two_puts()).await;
    assert!(matches!(got, Err(StoreError::ConditionFailed(Some(1)))), "{got:?}");
    assert_eq!(endpoint.count("TransactWriteItems"), 1);
}

#[tokio::test]
async fn a_throttled_transaction_item_is_reported_as_throttled() {
    let endpoint = Scripted::start(|_, _, _| cancelled(&["ThrottlingError", "None"])).await;
    let got = endpoint.store().transact(two_puts()).await;
    assert!(matches!(got, Err(StoreError::Throttled(_))), "{got:?}");
    assert_eq!(endpoint.count("TransactWriteItems"), 1, "throttling is the SDK's to retry, not the decorator's");
}

#[tokio::test]
async fn an_update_conflicting_with_a_transaction_is_retried() {
    let endpoint = Scripted::start(|_, n, _| match n {
        1 => error("TransactionConflictException", json!({})),
        _ => (200, json!({"Attributes": {"id": {"S": "c"}, "count": {"N": "1"}}})),
    })
    .await;
    let update = iam_shared::store::Update::new(&ACCOUNTS, "c").add("count", 1);
    let got = endpoint.store().update(update).await.expect("the second try applies");
    assert_eq!(got.get("count"), Some(&json!(1)));
    assert_eq!(endpoint.count("UpdateItem"), 2);
}

#[tokio::test]
async fn unprocessed_batch_keys_are_sent_again_until_done_within_a_bound() {
    // The first answer returns one key and leaves the other; the second returns it.
    let partial = Scripted::start(|_, n, _| match n {
        1 => (
            200,
            json!({"Responses": {"t_accounts": [item("a")]},
                   "UnprocessedKeys": {"t_accounts": {"Keys": [{"id": {"S": "b"}}], "ConsistentRead": true}}}),
        ),
        _ => (200, json!({"Responses": {"t_accounts": [item("b")]}, "UnprocessedKeys": {}})),
    })
    .await;
    let got = partial.store().batch_get(&ACCOUNTS, &["a".into(), "b".into()]).await.expect("both");
    let mut ids: Vec<&str> = got.iter().filter_map(|i| i.get("id").and_then(Value::as_str)).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(partial.count("BatchGetItem"), 2);

    let never = Scripted::start(|_, _, request| {
        (200, json!({"Responses": {}, "UnprocessedKeys": request["RequestItems"].clone()}))
    })
    .await;
    let got = never.store().batch_get(&ACCOUNTS, &["a".into(), "b".into()]).await;
    assert!(matches!(got, Err(StoreError::Throttled(_))), "{got:?}");
    assert_eq!(never.count("BatchGetItem"), Backoff::UNPROCESSED.attempts as usize, "bounded, not endless");
}

#[tokio::test]
async fn unprocessed_batch_items_are_written_again_within_a_bound() {
    let never =
        Scripted::start(|_, _, request| (200, json!({"UnprocessedItems": request["RequestItems"].clone()}))).await;
    let items = vec![json!({"id": "a"}).as_object().cloned().unwrap()];
    let got = never.store().put_many(&ACCOUNTS, items.clone()).await;
    assert!(matches!(got, Err(StoreError::Throttled(_))), "{got:?}");
    assert_eq!(never.count("BatchWriteItem"), Backoff::UNPROCESSED.attempts as usize);

    let once = Scripted::start(|_, n, request| match n {
        1 => (200, json!({"UnprocessedItems": request["RequestItems"].clone()})),
        _ => (200, json!({"UnprocessedItems": {}})),
    })
    .await;
    once.store().put_many(&ACCOUNTS, items).await.expect("the second try writes");
    assert_eq!(once.count("BatchWriteItem"), 2);
}

/// An endpoint that accepts connections and never answers.
async fn silent_endpoint() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (endpoint, accepted)
}

#[tokio::test]
async fn a_hung_call_ends_in_an_error_not_in_the_functions_timeout() {
    let (endpoint, accepted) = silent_endpoint().await;
    let store = DynamoStore::new(dynamodb::client(&moto::sdk_config(&endpoint), PATIENCE), PREFIX);
    // The guard only keeps a broken build from hanging the suite; the bound under test is the
    // operation timeout, which ends the call long before it.
    let got = tokio::time::timeout(Duration::from_secs(30), store.get(&ACCOUNTS, "a")).await.expect("the call ended");
    match got {
        Err(StoreError::Backend(e)) => assert!(e.to_string().contains("timeout"), "{e}"),
        other => panic!("a hung call must be a backend error: {other:?}"),
    }
    assert!(accepted.load(Ordering::SeqCst) >= 2, "the attempt timeout let the SDK try again on a new connection");
}

#[tokio::test]
async fn a_hung_store_is_the_designed_opaque_500() {
    let (endpoint, _) = silent_endpoint().await;
    let mut app = TestApp::new().await;
    let store = DynamoStore::new(dynamodb::client(&moto::sdk_config(&endpoint), PATIENCE), PREFIX);
    app.swap_store(Arc::new(store));
    let reply = app.call(Method::GET, "/api/v3/iam/organizations", Some(&app.admin_token), None).await;
    assert_eq!(reply.status, http::StatusCode::INTERNAL_SERVER_ERROR);
    let id = reply.header("x-request-id").expect("a request id");
    assert_eq!(reply.body, json!({"errors": [{"status": "500", "code": "internal", "id": id}]}));
}
