//! A burst of logins against the real server binary (`iam serve`, production hashing cost):
//! resident memory stays bounded by the hashing slots, whatever the burst. Each argon2id hash
//! holds 19 MiB; before the cap, 200 parallel logins took the server from 13 MB to 3.4 GB.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The server, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `/proc/PID/status` figure in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let line = status.lines().find(|l| l.starts_with(field)).expect("field");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a number")
}

/// One HTTP/1.1 request on its own connection; the status code.
async fn status_of(addr: &str, request: String) -> u16 {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw);
    text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn login(addr: &str, email: &str) -> String {
    let body = format!(r#"{{"grant_type":"password","email":"{email}","password":"Wr0ng!Password"}}"#);
    format!(
        "POST /api/v3/iam/auth/token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Hashing slots the server is started with: the bound does not depend on this machine's cores.
const SLOTS: u64 = 4;
/// What each slot may hold: the 19 MiB argon2 block, and room for the allocator around it.
const PER_SLOT_KIB: u64 = 24 * 1024;
/// Everything else: the binary, the runtime, SQLite, 200 connections' buffers.
const BASE_KIB: u64 = 64 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_parallel_logins_keep_memory_bounded_by_the_hashing_slots() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_iam"))
        .arg("serve")
        .env("IAM_ADDR", &addr)
        .env("IAM_DATA_DIR", dir.path())
        .env("IAM_ADMIN_EMAIL", "root@example.com")
        .env("IAM_ADMIN_PASSWORD", "R00t!Password")
        .env("IAM_HASH_CONCURRENCY", SLOTS.to_string())
        // Every login waits its turn rather than getting 503: all 200 are evaluated.
        .env("IAM_HASH_MAX_WAIT_MS", "300000")
        .env("IAM_LOGIN_MAX_FAILURES_PER_ADDRESS", "100000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("iam serve");
    let server = Server(child);
    let pid = server.0.id();
    let deadline = Instant::now() + Duration::from_secs(120);
    let health = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    while TcpStream::connect(&addr).await.is_err() || status_of(&addr, health.clone()).await != 200 {
        assert!(Instant::now() < deadline, "iam serve did not answer within 120 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = status_kib(pid, "VmRSS");
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (addr, request) = (addr.clone(), login(&addr, &format!("nobody{i}@example.com")));
            tokio::spawn(async move { status_of(&addr, request).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 401), "every login was evaluated and refused: {statuses:?}");
    let peak = status_kib(pid, "VmHWM");
    let bound = BASE_KIB + SLOTS * PER_SLOT_KIB;
    eprintln!("resident before {before} KiB, peak {peak} KiB, bound {bound} KiB");
    assert!(peak < bound, "peak resident memory {peak} KiB exceeds {bound} KiB (started at {before} KiB)");
}
