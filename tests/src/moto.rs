//! moto's server on a free loopback port, for the DynamoDB adapter's tests. The test tooling
//! (`make test`) installs it in `.venv`; it is started here and killed when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use iam_shared::store::Store;
use iam_shared::store::dynamodb::{self, DynamoStore, Patience};

pub struct MotoServer {
    child: Child,
    pub endpoint: String,
}

/// Where moto's server is: `$MOTO_SERVER`, or the workspace's `.venv`.
pub fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MOTO_SERVER") {
        return Some(PathBuf::from(p));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server");
    venv.exists().then_some(venv)
}

/// Whether a missing moto must fail the run (`make test` sets it) rather than skip.
pub fn required() -> bool {
    std::env::var("IAM_REQUIRE_MOTO").is_ok_and(|v| v == "1")
}

/// How moto's server takes requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serving {
    /// moto's own server: a thread per request, fast, but racing transactions can lose each
    /// other's commits (no lock, and a cancelled transaction restores a table snapshot).
    Threaded,
    /// One request at a time (`tests/moto_serial.py`): what concurrency tests need, so that
    /// their outcome is the code's and not moto's.
    Serial,
}

impl MotoServer {
    pub fn start() -> anyhow::Result<MotoServer> {
        Self::start_serving(Serving::Threaded)
    }

    pub fn start_serving(serving: Serving) -> anyhow::Result<MotoServer> {
        let bin =
            binary().ok_or_else(|| anyhow::anyhow!("moto_server not found: run `make test`, which installs it"))?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let command = match serving {
            Serving::Threaded => {
                let mut c = Command::new(&bin);
                c.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                c
            }
            Serving::Serial => {
                // The Python beside moto_server in its venv, running our single-threaded server.
                let python = bin.with_file_name("python");
                let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("moto_serial.py");
                let mut c = Command::new(python);
                c.arg(script).args(["127.0.0.1", &port.to_string()]);
                c
            }
        };
        Self::launch(command, port, "http", &format!("{serving:?}"))
    }

    /// moto's threaded server behind TLS with the given certificate (PEM) and key: what a
    /// function's first call to DynamoDB costs with its handshake (the cold-start benchmark).
    pub fn start_tls(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<MotoServer> {
        let bin =
            binary().ok_or_else(|| anyhow::anyhow!("moto_server not found: run `make test`, which installs it"))?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = Command::new(&bin);
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        command.arg("--ssl-cert").arg(cert).arg("--ssl-key").arg(key);
        Self::launch(command, port, "https", "TLS")
    }

    /// Starts `command` and waits until it listens on `port`.
    fn launch(mut command: Command, port: u16, scheme: &str, what: &str) -> anyhow::Result<MotoServer> {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting moto ({what}): {e}"))?;
        let mut server = MotoServer { child, endpoint: format!("{scheme}://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                anyhow::bail!("moto_server did not listen on {port} within 60 s");
            }
            if let Some(status) = server.child.try_wait()? {
                anyhow::bail!("moto_server exited early: {status}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(server)
    }

    /// A DynamoDB adapter on this server, with its own table prefix so that tests never meet.
    pub fn store(&self, prefix: &str) -> DynamoStore {
        store_at(&self.endpoint, prefix)
    }
}

/// The shared servers' process ids (threaded, serial), killed when the test process exits.
static SHARED_PIDS: [std::sync::atomic::AtomicI32; 2] =
    [std::sync::atomic::AtomicI32::new(0), std::sync::atomic::AtomicI32::new(0)];

/// Runs when the test process exits: statics are never dropped, so the shared servers are
/// stopped here.
extern "C" fn kill_shared() {
    for pid in &SHARED_PIDS {
        let pid = pid.load(std::sync::atomic::Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: signals a child this process started; nothing else is touched.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// One threaded server for the whole test process, started on first use by a thread that
/// lives as long as the process (the server dies with it).
pub fn shared() -> &'static str {
    static ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ENDPOINT.get_or_init(|| start_shared(Serving::Threaded))
}

/// One serial server for the whole test process (concurrency tests).
pub fn shared_serial() -> &'static str {
    static ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ENDPOINT.get_or_init(|| start_shared(Serving::Serial))
}

fn start_shared(serving: Serving) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let server = MotoServer::start_serving(serving).expect("moto must start");
        SHARED_PIDS[serving as usize].store(server.child.id() as i32, std::sync::atomic::Ordering::SeqCst);
        static REGISTERED: std::sync::Once = std::sync::Once::new();
        // SAFETY: registers a plain function with no captured state, once.
        REGISTERED.call_once(|| unsafe {
            libc::atexit(kill_shared);
        });
        tx.send(server.endpoint.clone()).expect("endpoint");
        loop {
            std::thread::park();
        }
    });
    rx.recv().expect("moto started")
}

/// The SDK configuration of moto's server at `endpoint` (dummy credentials, us-east-1), on the
/// same HTTPS client the functions use.
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new("test", "test", None, None, "tests")))
        .http_client(iam_shared::aws::https_client(iam_shared::config::TlsRoots::Amazon))
        .build()
}

/// The operations a client sent (`X-Amz-Target`, e.g. `AmazonSSM.GetParameters`), in order.
pub type Sent = Arc<std::sync::Mutex<Vec<String>>>;

/// [`sdk_config`] whose HTTP client also writes down every operation sent through it: what a
/// cold start asks of AWS, counted (a round trip per entry).
pub fn recorded_sdk_config(endpoint: &str) -> (SdkConfig, Sent) {
    let sent = Sent::default();
    let inner = iam_shared::aws::https_client(iam_shared::config::TlsRoots::Amazon);
    let recording = Recording { inner, sent: sent.clone() };
    let config = sdk_config(endpoint).into_builder().http_client(SharedHttpClient::new(recording)).build();
    (config, sent)
}

#[derive(Debug)]
struct Recording<T> {
    inner: T,
    sent: Sent,
}

impl HttpClient for Recording<SharedHttpClient> {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        let inner = self.inner.http_connector(settings, components);
        SharedHttpConnector::new(Recording { inner, sent: self.sent.clone() })
    }
}

impl HttpConnector for Recording<SharedHttpConnector> {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request.headers().get("x-amz-target").unwrap_or("(no X-Amz-Target)").to_string();
        self.sent.lock().expect("the record").push(target);
        self.inner.call(request)
    }
}

/// The adapter's timeouts against moto: a Python server that a busy two-core machine can keep
/// waiting for seconds. The functions' figures ([`Patience::FUNCTION`]) would make tests flaky
/// without testing anything more; `tests/tests/store_pressure.rs` tests the timeouts themselves.
pub const PATIENCE: Patience = Patience {
    connect: Duration::from_secs(5),
    attempt: Duration::from_secs(30),
    operation: Duration::from_secs(60),
    attempts: 3,
};

/// A DynamoDB adapter on `endpoint` with its own table prefix.
pub fn store_at(endpoint: &str, prefix: &str) -> DynamoStore {
    DynamoStore::new(dynamodb::client(&sdk_config(endpoint), PATIENCE), prefix)
}

/// The store the functions build (the adapter with retried conflicts) on `endpoint`.
pub fn app_store_at(endpoint: &str, prefix: &str) -> Arc<dyn Store> {
    iam_shared::app::dynamodb_store(&sdk_config(endpoint), prefix, PATIENCE)
}

/// An SES v2 client of moto's server at `endpoint`.
pub fn ses_client(endpoint: &str) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(&sdk_config(endpoint))
}

/// An SSM client of moto's server at `endpoint`.
pub fn ssm_client(endpoint: &str) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&sdk_config(endpoint))
}

/// The messages moto's SES has accepted, as moto records them (`ses.Message`: `source`,
/// `destinations`, `subject`, and `body` = the HTML part if any, else the text part).
pub async fn sent_messages(endpoint: &str) -> Vec<serde_json::Value> {
    let data: serde_json::Value = http_get_json(&format!("{endpoint}/moto-api/data.json")).await;
    data["ses"]["Message"].as_array().cloned().unwrap_or_default()
}

/// A plain HTTP/1.1 GET of a JSON document from a loopback server (no client library needed).
async fn http_get_json(url: &str) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_string() };
    serde_json::from_str(&body).expect("a JSON body")
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The shared moto endpoint, or `None` (the caller's tests skipped, saying so) when moto is
/// absent and not required (`make test` requires it).
pub fn endpoint_for(suite: &str) -> Option<&'static str> {
    if binary().is_none() {
        assert!(!required(), "IAM_REQUIRE_MOTO=1 but moto_server was not found");
        eprintln!("moto_server not found: {suite} tests skipped");
        return None;
    }
    Some(shared())
}

/// The messages moto's SES has accepted for `to`.
pub async fn sent_to(endpoint: &str, to: &str) -> Vec<serde_json::Value> {
    sent_messages(endpoint)
        .await
        .into_iter()
        .filter(|m| m["destinations"]["ToAddresses"].as_array().is_some_and(|a| a.iter().any(|t| t == to)))
        .collect()
}

/// A table prefix no other test in this process uses.
pub fn unique_prefix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("t{}x{}-", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
