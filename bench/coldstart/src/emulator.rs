//! A minimal Lambda Runtime API (the part a runtime uses: `next`, `response`, `error`), serving
//! one event. It notes when the runtime first asks for work (the end of init, as Lambda counts
//! it) and when the answer arrives; later `next` calls wait forever, as on an idle sandbox.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use tokio::sync::oneshot;

/// What the runtime did, and when.
#[derive(Debug)]
pub struct Outcome {
    /// The first `GET /next`: initialisation is over.
    pub init_done: Instant,
    /// The answer (`/response`) or failure (`/error`, `/init/error`).
    pub answered: Instant,
    pub ok: bool,
    pub body: Bytes,
}

struct Shared {
    event: Vec<u8>,
    init_done: Mutex<Option<Instant>>,
    done: Mutex<Option<oneshot::Sender<Outcome>>>,
}

pub struct Emulator {
    pub addr: SocketAddr,
    outcome: oneshot::Receiver<Outcome>,
    server: tokio::task::JoinHandle<()>,
}

impl Emulator {
    /// Listens on a free loopback port, ready to hand `event` to the first `next`.
    pub async fn start(event: Vec<u8>) -> anyhow::Result<Emulator> {
        let (tx, rx) = oneshot::channel();
        let shared = Arc::new(Shared { event, init_done: Mutex::new(None), done: Mutex::new(Some(tx)) });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(error))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Emulator { addr, outcome: rx, server })
    }

    /// Waits for the answer (or gives up after `timeout`).
    pub async fn outcome(&mut self, timeout: std::time::Duration) -> anyhow::Result<Outcome> {
        Ok(tokio::time::timeout(timeout, &mut self.outcome).await??)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> (HeaderMap, Vec<u8>) {
    let first = {
        let mut init_done = shared.init_done.lock().unwrap();
        let first = init_done.is_none();
        init_done.get_or_insert_with(Instant::now);
        first
    };
    if !first {
        // One event per sandbox: the runtime waits here until it is killed.
        std::future::pending::<()>().await;
    }
    let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() + 30_000;
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", HeaderValue::from_static("bench-request-1"));
    headers.insert("lambda-runtime-deadline-ms", HeaderValue::from_str(&deadline.to_string()).unwrap());
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:bench"),
    );
    headers.insert("lambda-runtime-trace-id", HeaderValue::from_static("Root=1-5759e988-bd862e3fe1be46a994272793"));
    (headers, shared.event.clone())
}

fn finish(shared: &Shared, ok: bool, body: Bytes) -> StatusCode {
    let answered = Instant::now();
    let init_done = shared.init_done.lock().unwrap().unwrap_or(answered);
    if let Some(tx) = shared.done.lock().unwrap().take() {
        let _ = tx.send(Outcome { init_done, answered, ok, body });
    }
    StatusCode::ACCEPTED
}

async fn response(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    finish(&shared, true, body)
}

async fn error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    finish(&shared, false, body)
}
