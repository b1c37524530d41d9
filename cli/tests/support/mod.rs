//! What the tests that run the real `iam serve` binary share: starting it on a data folder, and
//! one HTTP/1.1 request per connection.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const ADMIN: (&str, &str) = ("root@example.com", "R00t!Password");

/// One request on its own connection: the status and the JSON body (null if none), or `None`
/// when the server went away before answering.
pub async fn request(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/vnd.api+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.ok()?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let json = text.split_once("\r\n\r\n").and_then(|(_, b)| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    Some((status, json))
}

/// `iam serve` on `addr` with its data in `data`, the admin [`ADMIN`], fast test hashing, and
/// `env` on top.
pub fn serve(data: &Path, addr: &str, env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_iam"))
        .arg("serve")
        .env("IAM_ADDR", addr)
        .env("IAM_DATA_DIR", data)
        .env("IAM_ADMIN_EMAIL", ADMIN.0)
        .env("IAM_ADMIN_PASSWORD", ADMIN.1)
        .env("IAM_PASSWORD_HASH_COST", "fast-insecure-for-tests")
        .env("RUST_LOG", "error")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("iam serve")
}

/// [`serve`], once it answers `GET /health` (within 120 s, or the test fails).
pub async fn serve_and_wait(data: &Path, addr: &str, env: &[(&str, &str)]) -> Child {
    let child = serve(data, addr, env);
    let deadline = Instant::now() + Duration::from_secs(120);
    while request(addr, "GET", "/health", None, None).await.map(|r| r.0) != Some(200) {
        assert!(Instant::now() < deadline, "iam serve did not answer within 120 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child
}
