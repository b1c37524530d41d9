//! Throughput of `iam serve` on the embedded store (`make bench-load`): logins, refreshes and
//! `GET /accounts/me`, each with its ceiling measured in the same run — a hyper hello-world for
//! the simple GET, the raw argon2id verification rate for logins. The server (or the ceiling)
//! runs pinned to core 0, the load to core 1, so that neither steals the other's CPU; the
//! server's CPU per request is read from `/proc/<pid>/stat` around each scenario.
//!
//! Load comes from `oha` (built once by `make bench-load`, kept in `target/tools`). Refreshes
//! are the exception: a refresh token works once and `oha` sends one body, so a closed loop
//! of workers here chains each session's tokens (each worker: refresh, take the new token,
//! repeat), which is how real clients refresh.
//!
//! Prints a Markdown report; `make bench-load` writes it to `bench/LOAD.md`.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[path = "stats.rs"]
mod stats;

const SERVER_CORE: usize = 0;
const LOAD_CORE: usize = 1;
const DURATION: Duration = Duration::from_secs(10);
const ADMIN: (&str, &str) = ("root@bench.test", "B3nch!Password-long");

/// Pins the calling process (and what it spawns afterwards) to one core.
fn pin_self(core: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET and sched_setaffinity only read and
    // write that local set and this process's affinity.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Spawns `command` pinned to `core` (whatever this process is pinned to).
fn spawn_pinned(mut command: Command, core: usize) -> anyhow::Result<Child> {
    // SAFETY: runs in the child between fork and exec, calling only sched_setaffinity.
    unsafe {
        command.pre_exec(move || pin_self(core));
    }
    Ok(command.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?)
}

/// CPU time (user + system, all threads) a process has used so far.
fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are
    // numbered from 3.
    let after = stat.rsplit_once(')').context("a /proc stat line")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    // SAFETY: sysconf reads a constant of the system.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(Duration::from_micros(ticks * 1_000_000 / per_second))
}

fn free_addr() -> anyhow::Result<String> {
    Ok(format!("127.0.0.1:{}", TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()))
}

/// One request on a fresh connection: status and JSON body.
async fn call(addr: &str, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<(u16, Value)> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let status = text.split_whitespace().nth(1).context("a status line")?.parse()?;
    let json = text.split_once("\r\n\r\n").and_then(|(_, b)| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    Ok((status, json))
}

async fn wait_until_up(addr: &str, path: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while call(addr, "GET", path, None).await.is_err() {
        if Instant::now() > deadline {
            bail!("{addr} did not answer within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// What one scenario measured.
struct Measured {
    name: String,
    concurrency: usize,
    requests: u64,
    failed: u64,
    rps: f64,
    p50: Duration,
    p99: Duration,
    cpu_per_request: Option<Duration>,
}

/// Runs oha against `url` for [`DURATION`] and reads its JSON summary.
fn oha(
    oha: &Path,
    url: &str,
    concurrency: usize,
    extra: &[&str],
) -> anyhow::Result<(u64, u64, f64, Duration, Duration)> {
    let output = Command::new(oha)
        .args(["-z", &format!("{}s", DURATION.as_secs()), "-c", &concurrency.to_string()])
        .args(["--no-tui", "--output-format", "json"])
        .args(extra)
        .arg(url)
        .output()
        .context("running oha")?;
    if !output.status.success() {
        bail!("oha failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let report: Value = serde_json::from_slice(&output.stdout).context("oha's JSON")?;
    let codes = report["statusCodeDistribution"].as_object().cloned().unwrap_or_default();
    let count = |ok: bool| -> u64 {
        codes.iter().filter(|(code, _)| code.starts_with('2') == ok).filter_map(|(_, n)| n.as_u64()).sum()
    };
    // Requests still in flight when the time is up are cut off, not failed.
    let errors: u64 = report["errorDistribution"].as_object().map_or(0, |e| {
        e.iter().filter(|(what, _)| *what != "aborted due to deadline").filter_map(|(_, n)| n.as_u64()).sum()
    });
    let (ok, failed) = (count(true), count(false) + errors);
    let seconds = |v: &Value| Duration::from_secs_f64(v.as_f64().unwrap_or(0.0));
    let p = &report["latencyPercentiles"];
    let took = report["summary"]["total"].as_f64().filter(|t| *t > 0.0).unwrap_or(DURATION.as_secs_f64());
    Ok((ok, failed, ok as f64 / took, seconds(&p["p50"]), seconds(&p["p99"])))
}

/// Measures `url` served by the process `pid` with oha.
fn scenario(
    name: &str,
    tool: &Path,
    pid: u32,
    url: &str,
    concurrency: usize,
    extra: &[&str],
) -> anyhow::Result<Measured> {
    let before = cpu_time(pid)?;
    let (requests, failed, rps, p50, p99) = oha(tool, url, concurrency, extra)?;
    let used = cpu_time(pid)? - before;
    let cpu_per_request = (requests > 0).then(|| used / requests as u32);
    Ok(Measured { name: name.into(), concurrency, requests, failed, rps, p50, p99, cpu_per_request })
}

/// Refreshes for [`DURATION`] from `workers` sessions at once, each chaining its own tokens.
async fn refreshes(addr: &str, pid: u32, workers: usize) -> anyhow::Result<Measured> {
    let mut tokens = Vec::new();
    for _ in 0..workers {
        let (status, body) = call(addr, "POST", "/api/v3/iam/auth/token", Some(&login_body())).await?;
        anyhow::ensure!(status == 200, "login answered {status}: {body}");
        tokens.push(body["refresh_token"].as_str().context("a refresh token")?.to_string());
    }
    let before = cpu_time(pid)?;
    let end = Instant::now() + DURATION;
    let tasks = tokens.into_iter().map(|mut token| {
        let addr = addr.to_string();
        tokio::spawn(async move {
            let (mut latencies, mut failed) = (Vec::new(), 0u64);
            while Instant::now() < end {
                let body = json!({"grant_type": "refresh_token", "refresh_token": token});
                let started = Instant::now();
                match call(&addr, "POST", "/api/v3/iam/auth/token", Some(&body)).await {
                    Ok((200, answer)) => {
                        latencies.push(started.elapsed());
                        token = answer["refresh_token"].as_str().unwrap_or_default().to_string();
                    }
                    _ => {
                        failed += 1;
                        break;
                    }
                }
            }
            (latencies, failed)
        })
    });
    let (mut latencies, mut failed) = (Vec::new(), 0);
    for task in futures_util::future::join_all(tasks).await {
        let (l, f) = task?;
        latencies.extend(l);
        failed += f;
    }
    let used = cpu_time(pid)? - before;
    let requests = latencies.len() as u64;
    anyhow::ensure!(requests > 0, "no refresh succeeded");
    Ok(Measured {
        name: "refresh (`POST /auth/token`, refresh_token grant)".into(),
        concurrency: workers,
        requests,
        failed,
        rps: requests as f64 / DURATION.as_secs_f64(),
        p50: stats::median(latencies.clone()),
        p99: stats::percentile(latencies, 99),
        cpu_per_request: Some(used / requests as u32),
    })
}

fn login_body() -> Value {
    json!({"grant_type": "password", "email": ADMIN.0, "password": ADMIN.1})
}

/// argon2id verifications a second on one core, as the server verifies logins (production
/// cost, one verifier reusing its memory): the ceiling of the login rate.
async fn argon2_rate() -> anyhow::Result<f64> {
    use iam_shared::auth::password::PasswordHasher;
    use iam_shared::config::{HashCost, HashSlots};
    let slots = HashSlots { concurrency: 1, max_wait: Duration::from_secs(60) };
    let hasher = PasswordHasher::new(HashCost::Owasp, slots)?;
    let hash = hasher.hash(ADMIN.1).await?;
    anyhow::ensure!(hasher.verify(ADMIN.1, Some(&hash)).await?, "the hash verifies");
    let (started, mut n) = (Instant::now(), 0u32);
    while started.elapsed() < Duration::from_secs(5) {
        hasher.verify(ADMIN.1, Some(&hash)).await?;
        n += 1;
    }
    Ok(f64::from(n) / started.elapsed().as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

struct Tools {
    iam: PathBuf,
    hello: PathBuf,
    oha: PathBuf,
}

fn tools() -> anyhow::Result<Tools> {
    let mut args = std::env::args().skip(1);
    let mut next = |flag: &str| -> anyhow::Result<PathBuf> {
        match (args.next(), args.next()) {
            (Some(f), Some(v)) if f == flag => Ok(PathBuf::from(v)),
            _ => bail!("usage: load --iam PATH --hello PATH --oha PATH"),
        }
    };
    Ok(Tools { iam: next("--iam")?, hello: next("--hello")?, oha: next("--oha")? })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("--argon2-rate") {
        pin_self(SERVER_CORE)?;
        println!("{}", argon2_rate().await?);
        return Ok(());
    }
    let tools = tools()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    anyhow::ensure!(cores >= 2, "the benchmark pins server and load to two different cores");
    pin_self(LOAD_CORE)?;
    let mut results = Vec::new();

    // The ceiling of a simple GET.
    let hello_addr = free_addr()?;
    let mut hello = Command::new(&tools.hello);
    hello.arg(&hello_addr);
    let mut hello = spawn_pinned(hello, SERVER_CORE)?;
    wait_until_up(&hello_addr, "/").await?;
    results.push(scenario(
        "hyper hello-world (ceiling)",
        &tools.oha,
        hello.id(),
        &format!("http://{hello_addr}/"),
        32,
        &[],
    )?);
    hello.kill()?;
    hello.wait()?;

    // The ceiling of logins: argon2id alone, pinned as the server is.
    let rate = Command::new(std::env::current_exe()?).arg("--argon2-rate").output()?;
    let argon2_per_second: f64 = String::from_utf8_lossy(&rate.stdout).trim().parse().context("the argon2 rate")?;

    // The service, as `make run` serves it but with production password hashing.
    let data = tempfile::tempdir_in("target")?;
    let addr = free_addr()?;
    let mut iam = Command::new(&tools.iam);
    iam.arg("serve")
        .env("IAM_ADDR", &addr)
        .env("IAM_DATA_DIR", data.path())
        .env("IAM_ADMIN_EMAIL", ADMIN.0)
        .env("IAM_ADMIN_PASSWORD", ADMIN.1)
        .env("RUST_LOG", "error");
    let mut server = spawn_pinned(iam, SERVER_CORE)?;
    wait_until_up(&addr, "/health").await?;
    let (status, session) = call(&addr, "POST", "/api/v3/iam/auth/token", Some(&login_body())).await?;
    anyhow::ensure!(status == 200, "login answered {status}: {session}");
    let bearer = format!("Authorization: Bearer {}", session["access_token"].as_str().context("a token")?);
    let base = format!("http://{addr}/api/v3/iam");
    let pid = server.id();
    results.push(scenario(
        "`GET /accounts/me`",
        &tools.oha,
        pid,
        &format!("{base}/accounts/me"),
        32,
        &["-H", &bearer],
    )?);
    let login = login_body().to_string();
    let json_body = ["-m", "POST", "-T", "application/json", "-d", login.as_str()];
    results.push(scenario(
        "login (`POST /auth/token`, password grant)",
        &tools.oha,
        pid,
        &format!("{base}/auth/token"),
        4,
        &json_body,
    )?);
    results.push(refreshes(&addr, pid, 16).await?);
    server.kill()?;
    server.wait()?;

    println!("# Throughput of `iam serve`: results\n");
    println!("Generated by `make bench-load` (method: `bench/coldstart/src/load.rs`).\n");
    let when = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())?;
    println!(
        "- when: {when}; machine: {} ({cores} cores); server on core {SERVER_CORE}, load on core {LOAD_CORE}",
        std::env::consts::ARCH
    );
    println!(
        "- each scenario {} s; `iam serve` built with the `local` profile on the embedded store, production password hashing (argon2id, 19 MiB, t=2)",
        DURATION.as_secs()
    );
    println!("- argon2id verifications on one core, alone: **{argon2_per_second:.0}/s** (the ceiling of logins)\n");
    println!(
        "| scenario | concurrency | 2xx | other | requests/s | p50 (ms) | p99 (ms) | server CPU per request (ms) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for m in &results {
        let cpu = m.cpu_per_request.map_or("-".into(), |d| format!("{:.3}", d.as_secs_f64() * 1000.0));
        println!(
            "| {} | {} | {} | {} | {:.0} | {} | {} | {cpu} |",
            m.name,
            m.concurrency,
            m.requests,
            m.failed,
            m.rps,
            ms(m.p50),
            ms(m.p99)
        );
    }
    let hello_rps = results[0].rps;
    println!();
    println!(
        "- `GET /accounts/me` runs at {:.0}% of the hello-world's rate (it verifies a JWT, reads the session and the account, renders JSON:API).",
        100.0 * results[1].rps / hello_rps
    );
    println!("- logins run at {:.0}% of the raw argon2id rate.", 100.0 * results[2].rps / argon2_per_second);
    Ok(())
}
