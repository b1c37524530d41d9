//! One cold start: a fresh process of a Lambda binary, pointed at a fresh Runtime API with one
//! event, timed from just before `spawn` to its first `next` (init) and to its answer; then its
//! peak resident memory (`VmHWM`) is read while it idles, and it is killed.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::emulator::Emulator;

#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub init: Duration,
    pub first_response: Duration,
    pub peak_rss_kib: u64,
    /// Page faults served without I/O (the process's, all threads), init and first request.
    pub minor_faults: u64,
    /// CPU time on every thread of the process, init and first request.
    pub cpu: Duration,
}

/// Runs `binary` once with exactly `env` (plus the Runtime API address), as Lambda would:
/// a clean environment, no terminal. `check` judges the answer's body.
pub async fn cold_start(
    binary: &Path,
    env: &[(String, String)],
    event: &[u8],
    check: &dyn Fn(&serde_json::Value) -> anyhow::Result<()>,
) -> anyhow::Result<Sample> {
    let mut emulator = Emulator::start(event.to_vec()).await?;
    let mut command = Command::new(binary);
    command
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", emulator.addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn()?;
    let outcome = emulator.outcome(Duration::from_secs(20)).await;
    // The runtime now waits on its second `next`: its high-water mark is final.
    let peak_rss_kib = peak_rss_kib(child.id());
    let minor_faults = minor_faults(child.id());
    let cpu = cpu_time(child.id());
    let _ = child.kill();
    let output = child.wait_with_output()?;
    let outcome = outcome.map_err(|e| {
        anyhow::anyhow!("{}: no answer ({e}); stderr:\n{}", binary.display(), String::from_utf8_lossy(&output.stderr))
    })?;
    let body: serde_json::Value = serde_json::from_slice(&outcome.body).unwrap_or(serde_json::Value::Null);
    if !outcome.ok {
        anyhow::bail!("{} failed: {body}; stderr:\n{}", binary.display(), String::from_utf8_lossy(&output.stderr));
    }
    check(&body).map_err(|e| anyhow::anyhow!("{}: {e}", binary.display()))?;
    Ok(Sample {
        init: outcome.init_done - started,
        first_response: outcome.answered - started,
        peak_rss_kib: peak_rss_kib?,
        minor_faults: minor_faults?,
        cpu: cpu?,
    })
}

/// `VmHWM` of a live process, in KiB.
fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmHWM for process {pid}"))
}

/// `minflt` of a live process (field 10 of `/proc/<pid>/stat`: every thread's, live or exited).
fn minor_faults(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    after
        .split_whitespace()
        .nth(7)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no minflt for process {pid}"))
}

/// Time on a CPU of every live thread (`/proc/<pid>/task/*/schedstat`, nanoseconds; exact where
/// `stat`'s ticks are 10 ms). A Lambda runtime's threads live as long as the process.
fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let schedstat = std::fs::read_to_string(task?.path().join("schedstat"))?;
        total += schedstat.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    }
    Ok(Duration::from_nanos(total))
}
