//! What a `TestApp` logs, captured per app, and the secrets its requests and answers carried
//! (passwords, tokens), so that each end-to-end test ends by checking that no secret reached a
//! log line (API.md §8). Each app has its own subscriber, set for the duration of each request
//! it serves, so parallel tests do not read each other's lines.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tracing::Dispatch;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;

/// Body and answer fields that hold a secret.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "new_password",
    "current_password",
    "token",
    "refresh_token",
    "access_token",
    "mfa_token",
    "code",
    "otp",
    "recovery_code",
    "recovery_codes",
    "secret",
    "otpauth_uri",
];

/// Shorter values are not treated as secrets (they would match log text by chance).
const SHORTEST: usize = 8;

/// Is `value` shaped like a secret: long enough, and of at least two kinds of character (a
/// token, a password the policy accepts)? Fuzzed bodies and weak-password tests send plain
/// words (`password`, `accounts`) that a log may rightly contain.
fn looks_secret(value: &str) -> bool {
    let kinds = [
        value.chars().any(|c| c.is_lowercase()),
        value.chars().any(|c| c.is_uppercase()),
        value.chars().any(|c| c.is_ascii_digit()),
        value.chars().any(|c| !c.is_alphanumeric()),
    ];
    value.chars().count() >= SHORTEST && kinds.iter().filter(|k| **k).count() >= 2
}

#[derive(Clone)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One app's log lines (debug and up for our crates: more than production's `info`) and the
/// secrets it has seen.
pub struct Captured {
    lines: Lines,
    dispatch: Dispatch,
    secrets: Mutex<BTreeSet<String>>,
}

impl Default for Captured {
    fn default() -> Self {
        let lines = Lines(Arc::default());
        let writer = lines.clone();
        let filter: Targets = "info,iam_shared=debug,iam_cli=debug,iam=debug".parse().expect("directives");
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish()
            .with(filter);
        Captured { lines, dispatch: Dispatch::new(subscriber), secrets: Mutex::default() }
    }
}

impl Captured {
    /// The subscriber to run the app's work under.
    pub fn dispatch(&self) -> &Dispatch {
        &self.dispatch
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lines.0.lock().expect("log buffer")).into_owned()
    }

    /// Remembers `value` as a secret (if it is shaped like one).
    pub fn remember(&self, value: &str) {
        if looks_secret(value) {
            self.secrets.lock().expect("secrets").insert(value.to_string());
        }
    }

    /// Remembers the secret fields of a JSON body, at any depth.
    pub fn remember_fields(&self, body: &Value) {
        match body {
            Value::Object(fields) => {
                for (name, value) in fields {
                    let secret = SECRET_FIELDS.contains(&name.as_str());
                    match value {
                        Value::String(text) if secret => self.remember(text),
                        // A list of secrets (the recovery codes).
                        Value::Array(items) if secret => {
                            items.iter().filter_map(Value::as_str).for_each(|t| self.remember(t))
                        }
                        _ => self.remember_fields(value),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| self.remember_fields(i)),
            _ => {}
        }
    }

    /// Remembers the secret fields of a form body or query string (`token=...&password=...`).
    pub fn remember_form(&self, form: &str) {
        for pair in form.split('&') {
            if let Some((name, value)) = pair.split_once('=')
                && SECRET_FIELDS.contains(&name)
            {
                let value = percent_decode(value);
                self.remember(&value);
            }
        }
    }

    /// The secrets seen that appear in the log.
    pub fn leaks(&self) -> Vec<String> {
        let text = self.text();
        self.secrets.lock().expect("secrets").iter().filter(|s| text.contains(s.as_str())).cloned().collect()
    }
}

/// `+` and `%XX` decoded (what a form's value means).
fn percent_decode(text: &str) -> String {
    let bytes = text.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::instrument::WithSubscriber;

    #[tokio::test]
    async fn a_secret_that_reaches_a_log_line_is_found() {
        let captured = Captured::default();
        captured.remember_fields(&serde_json::json!({"data": {"attributes": {"password": "Sup3r!Secret"}}}));
        captured.remember_form("grant_type=refresh_token&refresh_token=abc%2Bdefghij");
        captured.remember("short");
        captured.remember("accounts");
        async { tracing::info!(target: "iam_shared", "nothing secret here: short accounts") }
            .with_subscriber(captured.dispatch().clone())
            .await;
        assert!(captured.leaks().is_empty() && captured.text().contains("nothing secret"));
        async { tracing::debug!(target: "iam_shared", body = "Sup3r!Secret", "oops") }
            .with_subscriber(captured.dispatch().clone())
            .await;
        async { tracing::warn!(target: "iam_shared", "abc+defghij") }
            .with_subscriber(captured.dispatch().clone())
            .await;
        assert_eq!(captured.leaks(), ["Sup3r!Secret", "abc+defghij"]);
    }
}
