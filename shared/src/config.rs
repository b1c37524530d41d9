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

/// How expensive password hashing is. Only tests may choose `Fast`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashCost {
    /// OWASP's argon2id recommendation: m = 19 MiB, t = 2, p = 1.
    Owasp,
    /// m = 8 KiB, t = 1: for test suites only.
    Fast,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub public_url: String,
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    pub store: StoreKind,
    /// Prefix of every DynamoDB table name (`iam-prod-` gives `iam-prod-accounts`).
    pub table_prefix: String,
    /// Create missing DynamoDB tables at start (local DynamoDB or moto; never in the cloud).
    pub create_tables: bool,
    pub issuer: String,
    pub audience: String,
    /// PKCS#8 PEM of the Ed25519 signing key; locally a key is generated into `data_dir`.
    pub signing_key_pem: Option<String>,
    pub access_token_ttl: Duration,
    pub session_ttl: Duration,
    pub hash_cost: HashCost,
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
        Ok(Config {
            addr,
            data_dir: PathBuf::from(get("IAM_DATA_DIR").unwrap_or_else(|| "./.iam".into())),
            issuer: get("IAM_ISSUER").unwrap_or_else(|| public_url.clone()),
            audience: get("IAM_AUDIENCE").unwrap_or_else(|| "iam".into()),
            public_url,
            admin_email: get("IAM_ADMIN_EMAIL"),
            admin_password: get("IAM_ADMIN_PASSWORD"),
            store,
            table_prefix: get("IAM_TABLE_PREFIX").unwrap_or_else(|| "iam-".into()),
            create_tables: matches!(get("IAM_CREATE_TABLES").as_deref(), Some("1" | "true")),
            signing_key_pem: get("IAM_SIGNING_KEY"),
            access_token_ttl: secs("IAM_ACCESS_TOKEN_TTL", 900)?,
            session_ttl: secs("IAM_SESSION_TTL", 30 * 24 * 3600)?,
            hash_cost,
        })
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
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = config(&[("IAM_ADDR", "nope")]).unwrap_err().to_string();
        assert!(e.contains("IAM_ADDR"), "{e}");
        let e = config(&[("IAM_STORE", "mongo")]).unwrap_err().to_string();
        assert!(e.contains("IAM_STORE"), "{e}");
        let e = config(&[("IAM_PUBLIC_URL", "ftp://x")]).unwrap_err().to_string();
        assert!(e.contains("IAM_PUBLIC_URL"), "{e}");
    }
}
