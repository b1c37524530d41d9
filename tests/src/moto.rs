//! moto's server on a free loopback port, for the DynamoDB adapter's tests. The test tooling
//! (`make test`) installs it in `.venv`; it is started here and killed when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use iam_shared::store::dynamodb::DynamoStore;

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

impl MotoServer {
    pub fn start() -> anyhow::Result<MotoServer> {
        let bin =
            binary().ok_or_else(|| anyhow::anyhow!("moto_server not found: run `make test`, which installs it"))?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting {}: {e}", bin.display()))?;
        let mut server = MotoServer { child, endpoint: format!("http://127.0.0.1:{port}") };
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

static SHARED_PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Runs when the test process exits: statics are never dropped, so the shared server is
/// stopped here.
extern "C" fn kill_shared() {
    let pid = SHARED_PID.load(std::sync::atomic::Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: signals the child this process started; nothing else is touched.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// One server for the whole test process, started on first use by a thread that lives as long
/// as the process (the server dies with it).
pub fn shared() -> &'static str {
    static ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ENDPOINT.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let server = MotoServer::start().expect("moto_server must start");
            SHARED_PID.store(server.child.id() as i32, std::sync::atomic::Ordering::SeqCst);
            // SAFETY: registers a plain function with no captured state.
            unsafe { libc::atexit(kill_shared) };
            tx.send(server.endpoint.clone()).expect("endpoint");
            loop {
                std::thread::park();
            }
        });
        rx.recv().expect("moto_server started")
    })
}

/// A DynamoDB adapter on `endpoint` with its own table prefix.
pub fn store_at(endpoint: &str, prefix: &str) -> DynamoStore {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .build();
    DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), prefix)
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
