//! Configuration read once per cold start from `IAM_*` variables, with clear errors for bad values.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

/// Which storage adapter serves this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// SQLite in `IAM_DATA_DIR` (the local default).
    Embedded,
    /// DynamoDB (the cloud); `AWS_ENDPOINT_URL` points it elsewhere, e.g. at moto's server.
    DynamoDb,
}

/// Which mail adapter sends emails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailerKind {
    /// `.eml` files in `IAM_DATA_DIR/outbox/` (the local default).
    Outbox,
    /// SES v2 from the `IAM_MAIL_FROM` identity (the cloud).
    Ses,
}

/// Which certificate authorities the AWS SDK's HTTPS client trusts (`IAM_TLS_ROOTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsRoots {
    /// Amazon Trust Services' roots only (the default: AWS endpoints chain to them).
    Amazon,
    /// The system's store (an endpoint of your own behind TLS, a re-signing proxy).
    System,
}

/// A secret from the environment: `Debug` prints `[redacted]`, so logging a configuration
/// never leaks it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Writes `contents` to a new file at `path` readable by its owner only, and returns what the
/// file holds: ours, or another process's if it created the file first (local keys are made
/// once, by whichever process starts first).
pub fn create_private_file(path: &std::path::Path, contents: &str) -> anyhow::Result<String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut f) => {
            std::io::Write::write_all(&mut f, contents.as_bytes())?;
            Ok(contents.to_string())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(std::fs::read_to_string(path)?),
        Err(e) => Err(e).with_context(|| format!("writing {}", path.display())),
    }
}

/// Where the Ed25519 signing key of access tokens comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningKeySource {
    /// `IAM_SIGNING_KEY`: the PKCS#8 PEM itself.
    Pem(Secret),
    /// `IAM_SIGNING_KEY_PARAMETER`: the name of an SSM Parameter Store `SecureString` holding
    /// the PEM, read once per cold start (the cloud's way: the key is not in the function's
    /// configuration, where anyone allowed to read it would see it).
    Parameter(String),
    /// Neither: generated once into `IAM_DATA_DIR/signing_key.pem` (embedded store only).
    DataDir,
}

/// Where a private key comes from (the mailer's, which opens the tokens sealed in outbox
/// letters; the one TOTP secrets are sealed under at rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The key itself (base64url): `IAM_OUTBOX_KEY`, `IAM_MFA_KEY`.
    Value(Secret),
    /// The name of an SSM `SecureString` holding it (`IAM_OUTBOX_KEY_PARAMETER`,
    /// `IAM_MFA_KEY_PARAMETER`), which only the functions that use the key may read.
    Parameter(String),
    /// Neither: generated once into the data folder (embedded store only).
    DataDir,
}

/// At most `max` events per key within `window` (failed logins, reset requests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

/// How many password hashes run at once, and how long a request waits for a turn before it
/// gets 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashSlots {
    pub concurrency: usize,
    pub max_wait: Duration,
}

/// How expensive password hashing is. Only tests may choose `Fast`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashCost {
    /// OWASP's argon2id recommendation: m = 19 MiB, t = 2, p = 1.
    Owasp,
    /// m = 8 KiB, t = 1: for test suites only.
    Fast,
}

/// One setting read from the environment: its variable and what it means. `iam --help` lists
/// them all (each is also an option of `iam`), and a test holds this table to what
/// [`Config::from_lookup`] reads.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    pub help: &'static str,
    /// Its value is never shown (`iam --help` prints no current value of it).
    pub secret: bool,
}

const fn var(name: &'static str, help: &'static str) -> Variable {
    Variable { name, help, secret: false }
}

const fn secret(name: &'static str, help: &'static str) -> Variable {
    Variable { name, help, secret: true }
}

/// Every `IAM_*` variable the service reads.
pub const VARIABLES: &[Variable] = &[
    var("IAM_ADDR", "Address `iam serve` listens on [default: 127.0.0.1:3000]"),
    var("IAM_DATA_DIR", "Directory of the embedded store, outbox and local signing key [default: ./.iam]"),
    var("IAM_PUBLIC_URL", "Base URL clients reach the API at, used in links and emails [default: http://IAM_ADDR]"),
    var(
        "IAM_APP_URL",
        "Base URL of the pages that emailed links open (/join, /reset-password) [default: IAM_PUBLIC_URL]",
    ),
    var(
        "IAM_CORS_ORIGINS",
        "Browser origins allowed to call the API, comma-separated (https://app.example.com) [default: none]",
    ),
    var("IAM_STORE", "Storage adapter: embedded (SQLite) or dynamodb [default: embedded]"),
    var("IAM_TABLE_PREFIX", "Prefix of every DynamoDB table name [default: iam-]"),
    var("IAM_CREATE_TABLES", "Create missing DynamoDB tables at start (1 or true; local endpoints only)"),
    var("IAM_ISSUER", "The `iss` of access tokens [default: IAM_PUBLIC_URL]"),
    var("IAM_AUDIENCE", "The `aud` of access tokens [default: iam]"),
    secret("IAM_SIGNING_KEY", "The Ed25519 signing key as PKCS#8 PEM (prefer IAM_SIGNING_KEY_PARAMETER in the cloud)"),
    var("IAM_SIGNING_KEY_PARAMETER", "Name of the SSM SecureString holding the signing key"),
    var(
        "IAM_VERIFICATION_KEYS",
        "The published token keys (a JWKS): every function verifies with them; without a signing key, all it holds",
    ),
    var("IAM_OUTBOX_PUBLIC_KEY", "The mailer's public key, which mailed tokens are sealed to (`iam outbox-key`)"),
    var("IAM_OUTBOX_KEY_PARAMETER", "Name of the SSM SecureString holding the mailer's private key (mailer only)"),
    secret("IAM_OUTBOX_KEY", "The mailer's private key itself, base64url (instead of the parameter)"),
    var("IAM_MFA_KEY_PARAMETER", "Name of the SSM SecureString holding the key TOTP secrets are sealed under"),
    secret("IAM_MFA_KEY", "The key TOTP secrets are sealed under, base64url of 32 bytes (`iam mfa-key`)"),
    var("IAM_MFA_ISSUER", "The issuer authenticator apps show beside the account's email [default: IAM]"),
    var("IAM_OUTBOX_POLL_MS", "Milliseconds between `iam serve`'s sweeps of the outbox [default: 500]"),
    var("IAM_TLS_ROOTS", "Certificate authorities the AWS clients trust: amazon or system [default: amazon]"),
    var("IAM_ACCESS_TOKEN_TTL", "Seconds an access token lives [default: 900]"),
    var("IAM_SESSION_TTL", "Seconds a session (its refresh token) lives [default: 2592000]"),
    var(
        "IAM_PASSWORD_HASH_COST",
        "argon2id cost: owasp (fast-insecure-for-tests in test suites only) [default: owasp]",
    ),
    var("IAM_HASH_CONCURRENCY", "Most password hashes at once, 19 MiB each [default: two per core]"),
    var("IAM_HASH_MAX_WAIT_MS", "Milliseconds a login waits for a hashing slot before 503 [default: 2000]"),
    var("IAM_MAILER", "Mail adapter: outbox (.eml files) or ses [default: outbox]"),
    var(
        "IAM_MAIL_FROM",
        "Sender of every email, `Name <address>` or an address; with SES, a verified identity [default: IAM <no-reply@iam.localhost>]",
    ),
    var(
        "IAM_MAIL_TEMPLATES",
        "Folder of mail templates replacing ours, one subfolder per language [default: the built-in en, fr, de]",
    ),
    var("IAM_ADMIN_EMAIL", "Email of the first root admin, created when none exists [default: admin@iam.local]"),
    secret("IAM_ADMIN_PASSWORD", "Password of the first root admin [default: generated and printed once]"),
    var("IAM_LOGIN_MAX_FAILURES", "Failed logins per email within a window [default: 10]"),
    var("IAM_LOGIN_MAX_FAILURES_PER_ADDRESS", "Failed logins per client address within a window [default: 100]"),
    var("IAM_LOGIN_FAILURE_WINDOW", "Seconds of a failed-login window [default: 900]"),
    var("IAM_RESET_MAX_REQUESTS", "Password reset requests per email within a window [default: 5]"),
    var(
        "IAM_RESET_MAX_REQUESTS_PER_ADDRESS",
        "Password reset requests per client address within a window [default: 20]",
    ),
    var("IAM_RESET_WINDOW", "Seconds of a reset-request window [default: 3600]"),
    var("IAM_RESET_MIN_RESPONSE_MS", "Milliseconds a reset request takes at least, sent or not [default: 400]"),
];

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub public_url: String,
    /// Base of the links in emails (`IAM_APP_URL`): integrators may host the join and reset
    /// pages in their own app; the public URL by default.
    pub app_url: String,
    /// Origins whose browser scripts may call the API (`IAM_CORS_ORIGINS`), each
    /// `scheme://host[:port]` as a browser sends it in `Origin`.
    pub cors_origins: Vec<String>,
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret>,
    pub store: StoreKind,
    /// Prefix of every DynamoDB table name (`iam-prod-` gives `iam-prod-accounts`).
    pub table_prefix: String,
    /// Create missing DynamoDB tables at start (local DynamoDB or moto; never in the cloud).
    pub create_tables: bool,
    pub issuer: String,
    pub audience: String,
    pub signing_key: SigningKeySource,
    /// The published keys (a JWKS, `IAM_VERIFICATION_KEYS`): what every function verifies with,
    /// and with no signing key, all it holds.
    pub verification_keys: Option<String>,
    pub tls_roots: TlsRoots,
    pub access_token_ttl: Duration,
    pub session_ttl: Duration,
    pub hash_cost: HashCost,
    /// Most password hashes computed at once (`IAM_HASH_CONCURRENCY`, default two per core):
    /// each holds 19 MiB, so this bounds the memory a burst of logins can take.
    pub hash_slots: HashSlots,
    pub mailer: MailerKind,
    /// The sender of every email (`IAM_MAIL_FROM`); with SES, a verified identity.
    pub mail_from: String,
    /// A folder of mail templates replacing ours (`IAM_MAIL_TEMPLATES`, `mail::templates`).
    pub mail_templates: Option<PathBuf>,
    /// The mailer's public key, which request functions seal mailed tokens to
    /// (`IAM_OUTBOX_PUBLIC_KEY`; locally, derived from the key in the data folder).
    pub outbox_public_key: Option<String>,
    /// The mailer's private key (the mailer function and `iam serve` only).
    pub outbox_key: KeySource,
    /// How often `iam serve` sweeps the outbox (`IAM_OUTBOX_POLL_MS`).
    pub outbox_poll: Duration,
    /// The key TOTP secrets are sealed under at rest (the functions that enrol and verify
    /// second factors: `IAM_MFA_KEY`, `IAM_MFA_KEY_PARAMETER`, locally `IAM_DATA_DIR/mfa_key`).
    pub mfa_key: KeySource,
    /// The issuer an authenticator app shows beside the account (`IAM_MFA_ISSUER`).
    pub mfa_issuer: String,
    /// Failed logins per account (counted by email, so unknown emails are limited alike).
    pub login_failures_per_account: Limit,
    /// Failed logins per client address (higher: many users may share one address).
    pub login_failures_per_address: Limit,
    /// Password reset requests per account.
    pub reset_requests_per_account: Limit,
    /// Password reset requests per client address, whatever the emails: one client cannot
    /// mail-bomb many addresses (or spend the sender's reputation) through the reset form.
    pub reset_requests_per_address: Limit,
    /// A reset request answers no sooner than this after it arrived, whether an email was
    /// sent or not, so that its timing does not tell whether the account exists.
    pub reset_min_response: Duration,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> anyhow::Result<Config> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let addr = get("IAM_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
        let addr: SocketAddr = addr.parse().with_context(|| format!("IAM_ADDR={addr:?} is not host:port"))?;
        let public_url =
            get("IAM_PUBLIC_URL").unwrap_or_else(|| format!("http://{addr}")).trim_end_matches('/').to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            bail!("IAM_PUBLIC_URL={public_url:?} must start with http:// or https://");
        }
        let app_url = get("IAM_APP_URL").map_or_else(|| public_url.clone(), |u| u.trim_end_matches('/').to_string());
        if !(app_url.starts_with("http://") || app_url.starts_with("https://")) {
            bail!("IAM_APP_URL={app_url:?} must start with http:// or https://");
        }
        let cors_origins = match get("IAM_CORS_ORIGINS") {
            None => vec![],
            Some(list) => {
                list.split(',').map(str::trim).filter(|o| !o.is_empty()).map(origin).collect::<Result<_, _>>()?
            }
        };
        let store = match get("IAM_STORE").as_deref() {
            None | Some("embedded") => StoreKind::Embedded,
            Some("dynamodb") => StoreKind::DynamoDb,
            Some(other) => bail!("IAM_STORE={other:?}: expected `embedded` or `dynamodb`"),
        };
        let hash_cost = match get("IAM_PASSWORD_HASH_COST").as_deref() {
            None | Some("owasp") => HashCost::Owasp,
            Some("fast-insecure-for-tests") => HashCost::Fast,
            Some(other) => bail!("IAM_PASSWORD_HASH_COST={other:?}: expected `owasp`"),
        };
        let secs = |k: &str, default: u64| -> anyhow::Result<Duration> {
            match get(k) {
                None => Ok(Duration::from_secs(default)),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(Duration::from_secs)
                    .with_context(|| format!("{k}={v:?} is not a positive number of seconds")),
            }
        };
        let mailer = match get("IAM_MAILER").as_deref() {
            None | Some("outbox") => MailerKind::Outbox,
            Some("ses") => MailerKind::Ses,
            Some(other) => bail!("IAM_MAILER={other:?}: expected `outbox` or `ses`"),
        };
        let mail_from = match (get("IAM_MAIL_FROM"), mailer) {
            (Some(from), _) => from,
            (None, MailerKind::Outbox) => "IAM <no-reply@iam.localhost>".into(),
            (None, MailerKind::Ses) => bail!("IAM_MAIL_FROM (a verified SES identity) is required with IAM_MAILER=ses"),
        };
        let count = |k: &str, default: u32| -> anyhow::Result<u32> {
            match get(k) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .with_context(|| format!("{k}={v:?} is not a positive number")),
            }
        };
        let limit = |max: (&str, u32), window: (&str, u64)| -> anyhow::Result<Limit> {
            Ok(Limit { max: count(max.0, max.1)?, window: secs(window.0, window.1)? })
        };
        let millis = |k: &str, default: u64| -> anyhow::Result<Duration> {
            match get(k) {
                None => Ok(Duration::from_millis(default)),
                Some(v) => v
                    .parse::<u64>()
                    .map(Duration::from_millis)
                    .with_context(|| format!("{k}={v:?} is not a number of milliseconds")),
            }
        };
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let hash_slots = HashSlots {
            concurrency: count("IAM_HASH_CONCURRENCY", (2 * cores).try_into().unwrap_or(u32::MAX))? as usize,
            max_wait: millis("IAM_HASH_MAX_WAIT_MS", 2000)?,
        };
        Ok(Config {
            hash_slots,
            mailer,
            mail_from,
            mail_templates: get("IAM_MAIL_TEMPLATES").map(PathBuf::from),
            outbox_public_key: get("IAM_OUTBOX_PUBLIC_KEY"),
            outbox_key: match (get("IAM_OUTBOX_KEY"), get("IAM_OUTBOX_KEY_PARAMETER")) {
                (Some(_), Some(_)) => bail!("set IAM_OUTBOX_KEY or IAM_OUTBOX_KEY_PARAMETER, not both"),
                (Some(key), None) => KeySource::Value(Secret(key)),
                (None, Some(name)) => KeySource::Parameter(name),
                (None, None) => KeySource::DataDir,
            },
            outbox_poll: millis("IAM_OUTBOX_POLL_MS", 500)?.max(Duration::from_millis(10)),
            mfa_key: match (get("IAM_MFA_KEY"), get("IAM_MFA_KEY_PARAMETER")) {
                (Some(_), Some(_)) => bail!("set IAM_MFA_KEY or IAM_MFA_KEY_PARAMETER, not both"),
                (Some(key), None) => KeySource::Value(Secret(key)),
                (None, Some(name)) => KeySource::Parameter(name),
                (None, None) => KeySource::DataDir,
            },
            mfa_issuer: get("IAM_MFA_ISSUER").unwrap_or_else(|| "IAM".into()),
            login_failures_per_account: limit(("IAM_LOGIN_MAX_FAILURES", 10), ("IAM_LOGIN_FAILURE_WINDOW", 900))?,
            login_failures_per_address: limit(
                ("IAM_LOGIN_MAX_FAILURES_PER_ADDRESS", 100),
                ("IAM_LOGIN_FAILURE_WINDOW", 900),
            )?,
            reset_requests_per_account: limit(("IAM_RESET_MAX_REQUESTS", 5), ("IAM_RESET_WINDOW", 3600))?,
            reset_requests_per_address: limit(("IAM_RESET_MAX_REQUESTS_PER_ADDRESS", 20), ("IAM_RESET_WINDOW", 3600))?,
            reset_min_response: millis("IAM_RESET_MIN_RESPONSE_MS", 400)?,
            addr,
            data_dir: PathBuf::from(get("IAM_DATA_DIR").unwrap_or_else(|| "./.iam".into())),
            issuer: get("IAM_ISSUER").unwrap_or_else(|| public_url.clone()),
            audience: get("IAM_AUDIENCE").unwrap_or_else(|| "iam".into()),
            public_url,
            app_url,
            cors_origins,
            admin_email: get("IAM_ADMIN_EMAIL"),
            admin_password: get("IAM_ADMIN_PASSWORD").map(Secret),
            store,
            table_prefix: get("IAM_TABLE_PREFIX").unwrap_or_else(|| "iam-".into()),
            create_tables: matches!(get("IAM_CREATE_TABLES").as_deref(), Some("1" | "true")),
            signing_key: match (get("IAM_SIGNING_KEY"), get("IAM_SIGNING_KEY_PARAMETER")) {
                (Some(_), Some(_)) => bail!("set IAM_SIGNING_KEY or IAM_SIGNING_KEY_PARAMETER, not both"),
                (Some(pem), None) => SigningKeySource::Pem(Secret(pem)),
                (None, Some(name)) => SigningKeySource::Parameter(name),
                (None, None) => SigningKeySource::DataDir,
            },
            verification_keys: get("IAM_VERIFICATION_KEYS"),
            tls_roots: match get("IAM_TLS_ROOTS").as_deref() {
                None | Some("amazon") => TlsRoots::Amazon,
                Some("system") => TlsRoots::System,
                Some(other) => bail!("IAM_TLS_ROOTS={other:?}: expected `amazon` or `system`"),
            },
            access_token_ttl: secs("IAM_ACCESS_TOKEN_TTL", 900)?,
            session_ttl: secs("IAM_SESSION_TTL", 30 * 24 * 3600)?,
            hash_cost,
        })
    }
}

/// One origin of `IAM_CORS_ORIGINS`, as browsers send it in `Origin` (RFC 6454): a scheme,
/// a host and perhaps a port; no path, no wildcard (name each origin you trust).
fn origin(text: &str) -> anyhow::Result<String> {
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    let host_ok = |h: &str| {
        !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    };
    match rest {
        Some(host) if host_ok(host) => Ok(text.to_ascii_lowercase()),
        _ => bail!(
            "IAM_CORS_ORIGINS: {text:?} is not an origin (scheme://host[:port], no path and no wildcard, e.g. https://app.example.com)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| vars.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_documented_local_ones() {
        let c = config(&[]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.data_dir, PathBuf::from("./.iam"));
        assert_eq!(c.public_url, "http://127.0.0.1:3000");
        assert_eq!(c.store, StoreKind::Embedded);
        assert_eq!(c.hash_cost, HashCost::Owasp);
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert_eq!(c.mailer, MailerKind::Outbox);
        assert_eq!(c.login_failures_per_account, Limit { max: 10, window: Duration::from_secs(900) });
        assert_eq!(c.login_failures_per_address, Limit { max: 100, window: Duration::from_secs(900) });
        assert_eq!(c.reset_requests_per_address, Limit { max: 20, window: Duration::from_secs(3600) });
        assert_eq!(c.signing_key, SigningKeySource::DataDir);
        assert_eq!(c.hash_slots.max_wait, Duration::from_secs(2));
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(c.hash_slots.concurrency, 2 * cores, "two hashing slots per core");
        let c = config(&[("IAM_HASH_CONCURRENCY", "3"), ("IAM_HASH_MAX_WAIT_MS", "250")]).unwrap();
        assert_eq!(c.hash_slots, HashSlots { concurrency: 3, max_wait: Duration::from_millis(250) });
    }

    #[test]
    fn secrets_never_show_in_a_printed_configuration() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIGcaiwTZ\n-----END PRIVATE KEY-----";
        let c = config(&[("IAM_SIGNING_KEY", pem), ("IAM_ADMIN_PASSWORD", "Sup3r!Secret")]).unwrap();
        assert_eq!(c.signing_key, SigningKeySource::Pem(Secret::new(pem)));
        let printed = format!("{c:?}");
        assert!(!printed.contains("MC4CAQAw") && !printed.contains("Sup3r"), "{printed}");
        assert!(printed.contains("[redacted]"), "{printed}");
        let c = config(&[("IAM_SIGNING_KEY_PARAMETER", "/iam/prod/signing-key")]).unwrap();
        assert_eq!(c.signing_key, SigningKeySource::Parameter("/iam/prod/signing-key".into()));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = config(&[("IAM_ADDR", "nope")]).unwrap_err().to_string();
        assert!(e.contains("IAM_ADDR"), "{e}");
        let e = config(&[("IAM_STORE", "mongo")]).unwrap_err().to_string();
        assert!(e.contains("IAM_STORE"), "{e}");
        let e = config(&[("IAM_PUBLIC_URL", "ftp://x")]).unwrap_err().to_string();
        assert!(e.contains("IAM_PUBLIC_URL"), "{e}");
        let e = config(&[("IAM_MAILER", "ses")]).unwrap_err().to_string();
        assert!(e.contains("IAM_MAIL_FROM"), "SES needs a sender: {e}");
        let e = config(&[("IAM_SIGNING_KEY", "x"), ("IAM_SIGNING_KEY_PARAMETER", "/iam/k")]).unwrap_err().to_string();
        assert!(e.contains("IAM_SIGNING_KEY_PARAMETER"), "{e}");
        let e = config(&[("IAM_LOGIN_MAX_FAILURES", "0")]).unwrap_err().to_string();
        assert!(e.contains("IAM_LOGIN_MAX_FAILURES"), "{e}");
        let e = config(&[("IAM_HASH_CONCURRENCY", "0")]).unwrap_err().to_string();
        assert!(e.contains("IAM_HASH_CONCURRENCY"), "{e}");
        let e = config(&[("IAM_HASH_MAX_WAIT_MS", "soon")]).unwrap_err().to_string();
        assert!(e.contains("IAM_HASH_MAX_WAIT_MS"), "{e}");
    }

    #[test]
    fn emailed_links_have_their_own_base_and_browsers_name_their_origins() {
        let c = config(&[("IAM_PUBLIC_URL", "https://api.example.com/")]).unwrap();
        assert_eq!((c.app_url.as_str(), c.cors_origins.len()), ("https://api.example.com", 0), "defaults");
        let c = config(&[
            ("IAM_APP_URL", "https://app.example.com/"),
            ("IAM_CORS_ORIGINS", " https://App.example.com , http://localhost:5173,"),
        ])
        .unwrap();
        assert_eq!(c.app_url, "https://app.example.com");
        assert_eq!(c.cors_origins, ["https://app.example.com", "http://localhost:5173"]);
        for bad in ["*", "app.example.com", "https://app.example.com/", "https://a.example.com/path", "https://"] {
            let e = config(&[("IAM_CORS_ORIGINS", bad)]).unwrap_err().to_string();
            assert!(e.contains("IAM_CORS_ORIGINS") && e.contains(bad), "{bad}: {e}");
        }
        let e = config(&[("IAM_APP_URL", "app.example.com")]).unwrap_err().to_string();
        assert!(e.contains("IAM_APP_URL"), "{e}");
    }

    #[test]
    fn every_variable_read_is_listed_for_the_help() {
        let source = include_str!("config.rs");
        let body = &source[source.find("pub fn from_lookup").unwrap()..source.find("#[cfg(test)]").unwrap()];
        let read: std::collections::BTreeSet<&str> = body
            .split('"')
            .filter(|s| s.starts_with("IAM_") && s.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            .collect();
        let listed: std::collections::BTreeSet<&str> = VARIABLES.iter().map(|v| v.name).collect();
        assert_eq!(read, listed);
    }
}
