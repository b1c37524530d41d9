//! `TestApp`: the whole local API in process, on a real SQLite store in a temporary folder
//! (or on any store), with a manual clock and cheap password hashing.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use iam_shared::AppState;
use iam_shared::auth::permissions::built_in;
use iam_shared::bootstrap::ensure_root_admin;
use iam_shared::clock::{self, ManualClock};
use iam_shared::config::Config;
use iam_shared::mail::delivery::Postman;
use iam_shared::mail::eml::EmlFolder;
use iam_shared::mail::seal::OpeningKey;
use iam_shared::model::account::{self, Email};
use iam_shared::model::new_id;
use iam_shared::model::role_assignment::Assignment;
use iam_shared::records;
use iam_shared::store::Store;
use iam_shared::store::embedded::EmbeddedStore;
use iam_shared::store::schema::ACCOUNTS;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::logs::Captured;
use crate::moto::Serving;
use tracing::instrument::WithSubscriber;

pub const ADMIN_EMAIL: &str = "root@example.com";
pub const ADMIN_PASSWORD: &str = "R00t!Password";
pub const PASSWORD: &str = "Str0ng!Passw0rd";
pub const PUBLIC_URL: &str = "http://iam.test";

/// A response, its body parsed as JSON (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `code` of each JSON:API error.
    pub fn error_codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["code"].as_str().map(String::from))
            .collect()
    }

    /// The ids of a collection document's data, in order.
    pub fn ids(&self) -> Vec<String> {
        self.body["data"].as_array().into_iter().flatten().filter_map(|o| o["id"].as_str().map(String::from)).collect()
    }
}

/// A `POST /auth/token` request with a JSON body from client address `ip` (as the local
/// gateway sees a socket's peer).
pub fn token_request_from(ip: &str, body: Value) -> Request<Body> {
    post_from(ip, "/api/v3/iam/auth/token", body)
}

/// A JSON `POST` to `path` from the client address `ip` (as the local server sees a peer).
pub fn post_from(ip: &str, path: &str, body: Value) -> Request<Body> {
    let mut request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let addr = std::net::SocketAddr::new(ip.parse().expect("an IP address"), 40000);
    request.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    request
}

/// Percent-encodes every byte but the unreserved ones (RFC 3986), so that any text fits in a
/// URI's query.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Do the end-to-end suites run on DynamoDB (moto) rather than SQLite?
pub fn on_dynamodb() -> bool {
    std::env::var("IAM_TEST_STORE").as_deref() == Ok("dynamodb")
}

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub clock: Arc<ManualClock>,
    pub admin_token: String,
    /// Delivers the outbox as `iam serve` and the mailer function do, when a test reads mail.
    pub postman: Postman,
    /// What the app logged and the secrets it saw: dropping the app checks that none leaked.
    pub logs: Arc<Captured>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    /// Every end-to-end test ends here: no password or token it sent or received may be in a
    /// line the app logged.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let leaks = self.logs.leaks();
        assert!(leaks.is_empty(), "secrets reached the log: {leaks:?}\n{}", self.logs.text());
    }
}

impl TestApp {
    /// The API on fresh tables: SQLite by default, DynamoDB on moto's server when
    /// `IAM_TEST_STORE=dynamodb` (`make test` runs the end-to-end suites both ways).
    pub async fn new() -> TestApp {
        Self::build(|store| store, &[], Serving::Threaded).await
    }

    /// [`TestApp::new`] with configuration variables set (e.g. lower limits).
    pub async fn with_env(vars: &[(&str, &str)]) -> TestApp {
        Self::build(|store| store, vars, Serving::Threaded).await
    }

    /// [`TestApp::with_env`] for tests that race requests: on DynamoDB, against a moto that
    /// serves one request at a time (`moto::Serving::Serial`).
    pub async fn for_races(vars: &[(&str, &str)]) -> TestApp {
        Self::build(|store| store, vars, Serving::Serial).await
    }

    /// [`TestApp::new`] with the store wrapped first (e.g. to record what is read).
    pub async fn wrapping_store(wrap: impl FnOnce(Arc<dyn Store>) -> Arc<dyn Store>) -> TestApp {
        Self::build(wrap, &[], Serving::Threaded).await
    }

    async fn build(
        wrap: impl FnOnce(Arc<dyn Store>) -> Arc<dyn Store>,
        vars: &[(&str, &str)],
        serving: Serving,
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn Store> = match on_dynamodb() {
            true => {
                let endpoint = match serving {
                    Serving::Threaded => crate::moto::shared(),
                    Serving::Serial => crate::moto::shared_serial(),
                };
                let store = crate::moto::app_store_at(endpoint, &crate::moto::unique_prefix());
                store.ensure_schema().await.expect("tables");
                store
            }
            false => Arc::new(EmbeddedStore::open(&dir.path().join("iam.sqlite3")).expect("open store")),
        };
        Self::on_store_with(wrap(store), dir, vars).await
    }

    /// The API on a given store (its schema must exist).
    pub async fn on_store(store: Arc<dyn Store>, dir: tempfile::TempDir) -> TestApp {
        Self::on_store_with(store, dir, &[]).await
    }

    async fn on_store_with(store: Arc<dyn Store>, dir: tempfile::TempDir, vars: &[(&str, &str)]) -> TestApp {
        let data_dir = dir.path().to_string_lossy().to_string();
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let config = Config::from_lookup(|k| match k {
            k if vars.iter().any(|(n, _)| n == k) => vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
            "IAM_DATA_DIR" => Some(data_dir.clone()),
            "IAM_PUBLIC_URL" => Some(PUBLIC_URL.into()),
            "IAM_PASSWORD_HASH_COST" => Some("fast-insecure-for-tests".into()),
            // Tests move a clock; they do not wait out the reset endpoint's timing floor.
            "IAM_RESET_MIN_RESPONSE_MS" => Some("0".into()),
            _ => None,
        })
        .expect("config");
        let clock = Arc::new(ManualClock::new(clock::parse("2026-11-23T10:00:00Z").expect("time")));
        let eml = Arc::new(EmlFolder::new(
            dir.path().join("outbox"),
            iam_shared::mail::header::Sender::parse("IAM <no-reply@iam.test>").expect("sender"),
        ));
        let key = OpeningKey::load_or_create(&dir.path().join("outbox_key")).expect("outbox key");
        let postman = iam_shared::app::postman_with(&config, store.clone(), clock.clone(), eml, key).expect("postman");
        let state = AppState::assemble(config, store, clock.clone()).expect("state");
        ensure_root_admin(
            state.store.as_ref(),
            &state.passwords,
            &state.timestamp(),
            Some(ADMIN_EMAIL),
            Some(ADMIN_PASSWORD),
        )
        .await
        .expect("bootstrap");
        let router = iam_cli::gateway(state.clone());
        let logs = Arc::new(Captured::default());
        let mut app = TestApp { state, router, clock, admin_token: String::new(), postman, logs, _dir: dir };
        app.admin_token =
            app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await["access_token"].as_str().expect("admin token").into();
        app
    }

    /// The messages sent so far, oldest first, as RFC 5322 text: the outbox is delivered first
    /// (one sweep, as `iam serve` runs them), then its `.eml` files are read.
    pub async fn outbox(&self) -> Vec<String> {
        self.postman.sweep().with_subscriber(self.logs.dispatch().clone()).await.expect("outbox sweep");
        let dir = self.state.config.data_dir.join("outbox");
        let mut files: Vec<_> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(_) => return vec![],
        };
        files.retain(|f| f.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files.iter().map(|f| std::fs::read_to_string(f).expect("eml")).collect()
    }

    /// The messages sent to `to`, oldest first.
    pub async fn mail_to(&self, to: &str) -> Vec<String> {
        let header = format!("\r\nTo: {to}\r\n");
        self.outbox().await.into_iter().filter(|m| m.contains(&header)).collect()
    }

    /// The token of the newest link to `page` (`join`, `reset-password`) mailed to `to`, a
    /// link on the configured app URL.
    pub async fn mailed_token(&self, to: &str, page: &str) -> Option<String> {
        let prefix = format!("{}/{page}?token=", self.state.config.app_url);
        self.mail_to(to)
            .await
            .iter()
            .rev()
            .find_map(|m| m.lines().find_map(|l| l.trim().strip_prefix(prefix.as_str()).map(str::to_string)))
            .inspect(|token| self.logs.remember(token))
    }

    /// Delivers email from now on through another mail adapter (e.g. SES on moto).
    pub fn swap_mailer(&mut self, mailer: Arc<dyn iam_shared::mail::Mailer>) {
        self.postman.mailer = mailer;
    }

    /// Serves from now on through another store (e.g. one whose backend fails).
    pub fn swap_store(&mut self, store: Arc<dyn Store>) {
        self.state.store = store;
        self.router = iam_cli::gateway(self.state.clone());
    }

    /// Serves `request` (its log lines captured, the secrets it and its answer carry remembered).
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let (parts, body) = request.into_parts();
        let sent = body.collect().await.expect("request body").to_bytes();
        self.remember_secrets_of(&parts, &sent);
        let request = Request::from_parts(parts, Body::from(sent));
        let serving = self.router.clone().oneshot(request).with_subscriber(self.logs.dispatch().clone());
        let response = serving.await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        self.logs.remember_fields(&body);
        Reply { status, headers, body }
    }

    /// The bearer token, the body's secret fields, a token in the query or a join path.
    fn remember_secrets_of(&self, parts: &http::request::Parts, body: &[u8]) {
        let logs = &self.logs;
        if let Some(bearer) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            logs.remember(bearer.trim_start_matches("Bearer "));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(json) => logs.remember_fields(&json),
            Err(_) => logs.remember_form(&String::from_utf8_lossy(body)),
        }
        logs.remember_form(parts.uri.query().unwrap_or_default());
        if let Some(token) = parts.uri.path().strip_suffix("/join").and_then(|p| p.rsplit('/').next()) {
            logs.remember(token);
        }
    }

    /// A request with an optional bearer token and an optional JSON:API body.
    /// The ids of every page from `first` on, following `links.next` as `token` (each page
    /// must answer 200; more than 200 pages means paging does not end).
    pub async fn every_page(&self, first: &str, token: &str) -> Vec<String> {
        let (mut ids, mut current, mut pages) = (Vec::new(), first.to_string(), 0);
        loop {
            let reply = self.call(Method::GET, &current, Some(token), None).await;
            assert_eq!(reply.status, StatusCode::OK, "{current}: {:?}", reply.body);
            ids.extend(reply.ids());
            pages += 1;
            assert!(pages <= 200, "paging does not end: {current}");
            match reply.body["links"]["next"].as_str() {
                Some(next) => current = next.trim_start_matches(PUBLIC_URL).to_string(),
                None => return ids,
            }
        }
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = match body {
            Some(b) => {
                builder = builder.header(header::CONTENT_TYPE, "application/vnd.api+json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        self.send(builder.body(body).expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, Some(&self.admin_token.clone()), None).await
    }

    /// `POST /auth/token` with a JSON body.
    pub async fn token(&self, body: Value) -> Reply {
        let request = Request::post("/api/v3/iam/auth/token")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        self.send(request).await
    }

    /// A new access token of the root admin (after the clock moved past the old one's expiry).
    pub async fn admin_now(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await["access_token"].as_str().expect("admin token").to_string()
    }

    /// `POST /auth/token` with a JSON body from client address `ip` (as the local gateway
    /// sees a socket's peer).
    pub async fn token_from(&self, ip: &str, body: Value) -> Reply {
        self.send(token_request_from(ip, body)).await
    }

    /// A flat JSON `POST` to an action endpoint (join, passwords), with an optional token.
    pub async fn action(&self, method: Method, path: &str, token: Option<&str>, body: Value) -> Reply {
        let mut builder = Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        self.send(builder.body(Body::from(body.to_string())).expect("request")).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Value {
        let reply = self.token(json!({"grant_type": "password", "email": email, "password": password})).await;
        assert_eq!(reply.status, StatusCode::OK, "login of {email}: {:?}", reply.body);
        reply.body
    }

    /// `POST` of a JSON:API document of `type_name` with `attributes` to `/api/v3/iam/{type_name}`.
    pub async fn post(&self, token: &str, type_name: &str, attributes: Value) -> Reply {
        let body = json!({"data": {"type": type_name, "attributes": attributes}});
        self.call(Method::POST, &format!("/api/v3/iam/{type_name}"), Some(token), Some(body)).await
    }

    /// Creates a resource as the root admin; returns its id.
    pub async fn create(&self, type_name: &str, attributes: Value) -> String {
        let reply = self.post(&self.admin_token.clone(), type_name, attributes).await;
        assert_eq!(reply.status, StatusCode::CREATED, "creating {type_name}: {:?}", reply.body);
        reply.body["data"]["id"].as_str().expect("id").to_string()
    }

    /// An active account of `organization_id` created through the API; returns its id.
    pub async fn create_account(&self, email: &str, organization_id: &str) -> String {
        self.create("accounts", json!({"email": email, "password": PASSWORD, "organization_id": organization_id})).await
    }

    pub async fn create_org(&self, name: &str) -> String {
        let body = json!({"data": {"type": "organizations", "attributes": {"name": name}}});
        let reply =
            self.call(Method::POST, "/api/v3/iam/organizations", Some(&self.admin_token.clone()), Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["data"]["id"].as_str().expect("id").to_string()
    }

    /// An active account with the built-in `role` at `scope`, written to the store directly as
    /// bootstrap writes its admin (to arrange callers; the API is what tests act through).
    /// Returns its access token.
    pub async fn account_with_role(
        &self,
        email: &str,
        organization_id: Option<&str>,
        role: Option<(&str, Option<&str>)>,
    ) -> String {
        let now = self.state.timestamp();
        let email_v = Email::parse(email).expect("email");
        let id = new_id();
        let hash = self.state.passwords.hash(PASSWORD).await.expect("hash");
        let mut item = account::new_active(id.clone(), &email_v, hash, organization_id, &now);
        let extra = match role {
            Some((name, scope)) => {
                let role = built_in(name).expect("a built-in role");
                Assignment::of_built_in(new_id(), &item, role, scope).on_new_account(&mut item, &now)
            }
            None => vec![],
        };
        records::insert(self.state.store.as_ref(), &ACCOUNTS, item, &[email_v.unique()], extra).await.expect("account");
        self.login(email, PASSWORD).await["access_token"].as_str().expect("token").to_string()
    }
}

/// Sends every request at once (each on its own task) and returns the replies in order.
pub async fn all_at_once(app: &Arc<TestApp>, requests: Vec<Request<Body>>) -> Vec<Reply> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let app = app.clone();
            tokio::spawn(async move { app.send(request).await })
        })
        .collect();
    let mut replies = Vec::with_capacity(tasks.len());
    for task in tasks {
        replies.push(task.await.expect("request task"));
    }
    replies
}
