//! `iam serve` delivers the outbox in the background, as the mailer function does in the cloud:
//! a letter a previous run left unsent (it crashed before its sweep) goes out after the
//! restart, and an invitation posted by a request reaches `outbox/` without any request
//! sending it. Run against the real server binary on its own data folder.

use std::net::TcpListener;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use iam_shared::auth::single_use::{self, Purpose};
use iam_shared::mail::address::Address;
use iam_shared::mail::outbox::Letter;
use iam_shared::mail::seal::OpeningKey;
use iam_shared::mail::templates::Kind;
use iam_shared::store::Store;
use iam_shared::store::embedded::EmbeddedStore;
use serde_json::{Value, json};

/// The server, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

mod support;
use support::ADMIN;

/// One request: the status and the JSON body (the server must answer).
async fn call(addr: &str, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    support::request(addr, method, path, token, body).await.expect("an answer")
}

/// The `.eml` files in the outbox folder that are addressed to `to`, waiting up to a minute
/// for at least one (delivery is in the background).
async fn mail_to(data: &Path, to: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found: Vec<String> = std::fs::read_dir(data.join("outbox"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter(|m| m.contains(&format!("\r\nTo: {to}\r\n")))
            .collect();
        if !found.is_empty() || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sends_what_a_crash_left_and_what_requests_post() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    // A previous run posted a letter and died before delivering it.
    let store = EmbeddedStore::open(&data.join("iam.sqlite3")).expect("store");
    store.ensure_schema().await.expect("schema");
    let key = OpeningKey::load_or_create(&data.join("outbox_key")).expect("key");
    let account = json!({"id": "acc-left", "email": "left@acme.test"}).as_object().cloned().unwrap();
    let issued = single_use::issue(Purpose::PasswordReset, &account, time::OffsetDateTime::now_utc()).unwrap();
    let letter = Letter {
        kind: Kind::PasswordReset,
        account_id: "acc-left".into(),
        to: Address::parse("left@acme.test").unwrap(),
        language: None,
        name: None,
        expires_at: issued.expires_at,
        token_id: issued.write.key().1.to_string(),
    };
    let posted = letter.post(&key.sealing_key(), &issued.token).unwrap();
    store.transact(vec![issued.write, posted]).await.expect("posted");
    drop(store);

    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let _server =
        Server(support::serve_and_wait(data, &addr, &[("IAM_OUTBOX_POLL_MS", "100"), ("RUST_LOG", "warn")]).await);

    let left = mail_to(data, "left@acme.test").await;
    assert_eq!(left.len(), 1, "the letter left by the crash went out once");
    assert!(left[0].contains(&format!("/reset-password?token={}", issued.token)), "{}", left[0]);

    let login = json!({"grant_type": "password", "email": ADMIN.0, "password": ADMIN.1});
    let (status, session) = call(&addr, "POST", "/api/v3/iam/auth/token", None, Some(login)).await;
    assert_eq!(status, 200, "{session}");
    let token = session["access_token"].as_str().expect("a token");
    let org = json!({"data": {"type": "organizations", "attributes": {"name": "Acme"}}});
    let (status, org) = call(&addr, "POST", "/api/v3/iam/organizations", Some(token), Some(org)).await;
    assert_eq!(status, 201, "{org}");
    let attributes = json!({"email": "new@acme.test", "organization_id": org["data"]["id"]});
    let account = json!({"data": {"type": "accounts", "attributes": attributes}});
    let (status, body) = call(&addr, "POST", "/api/v3/iam/accounts", Some(token), Some(account)).await;
    assert_eq!(status, 201, "{body}");
    let invited = mail_to(data, "new@acme.test").await;
    assert_eq!(invited.len(), 1, "the invitation went out in the background");
    assert!(invited[0].contains("/join?token="));
}
