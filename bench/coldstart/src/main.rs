//! `make bench-coldstart`: every Lambda binary, and a lambda_http hello-world built the same
//! way, started cold many times against a local Lambda Runtime API, configured as in the cloud
//! (DynamoDB, SES and SSM on moto's server). Writes medians, peak RSS and binary sizes to a
//! Markdown report. The targets are relative to the hello-world measured in the same run.

mod emulator;
mod measure;
mod report;
mod stats;
mod tls;

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use iam_shared::auth::factor_key::FactorKey;
use iam_shared::auth::jwt::TokenKeys;
use iam_shared::config::Secret;
use iam_shared::mail::seal::OpeningKey;
use iam_shared::store::Store;
use iam_tests::moto::{self, MotoServer};
use serde_json::Value;

use measure::{Sample, cold_start};

#[derive(Parser)]
struct Args {
    /// Binaries to run: `<dir>/<name>/bootstrap` (built for this machine).
    #[arg(long)]
    run_dir: PathBuf,
    /// The arm64 function binaries to weigh (`make build`'s output).
    #[arg(long)]
    size_dir: PathBuf,
    /// The arm64 hello-world to weigh.
    #[arg(long)]
    hello_size_dir: PathBuf,
    /// Cold starts per binary and configuration (after one unrecorded warm-up).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    #[arg(long)]
    out: PathBuf,
    /// Only these binaries (and the hello-world), without the first-call comparison: for
    /// experiments, not for the committed report.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

/// A binary, the event of its first request, and what its answer must be.
pub struct Subject {
    pub name: &'static str,
    pub event: &'static str,
    pub expect: Expect,
}

#[derive(Clone, Copy)]
pub enum Expect {
    /// An API Gateway result with this status.
    Status(u16),
    /// The cleanup sweep's counts.
    Swept,
    /// The outbox sweep's counts.
    Delivered,
}

impl Expect {
    fn check(self, body: &Value) -> anyhow::Result<()> {
        match self {
            Expect::Status(s) if body["statusCode"] == s => Ok(()),
            Expect::Swept if body.get("sessions_removed").is_some() => Ok(()),
            Expect::Delivered if body.get("sent").is_some() => Ok(()),
            Expect::Status(s) => anyhow::bail!("expected status {s}, got {body}"),
            Expect::Swept => anyhow::bail!("expected the sweep's counts, got {body}"),
            Expect::Delivered => anyhow::bail!("expected the outbox sweep's counts, got {body}"),
        }
    }
}

/// The hello-world first, then every function. HTTP functions answer a request that needs no
/// store round trip (a request's store calls are paid warm or cold alike, and here they would
/// measure moto, a Python server); the cleanup and outbox sweeps do query the store.
pub const SUBJECTS: &[Subject] = &[
    Subject { name: "hello", event: "sessions-jwks.json", expect: Expect::Status(200) },
    Subject { name: "iam-accounts", event: "accounts-me.json", expect: Expect::Status(401) },
    Subject { name: "iam-organizations", event: "organizations-list.json", expect: Expect::Status(401) },
    Subject { name: "iam-passwords", event: "passwords-change.json", expect: Expect::Status(401) },
    Subject { name: "iam-roles", event: "roles-list.json", expect: Expect::Status(401) },
    Subject { name: "iam-sessions", event: "sessions-jwks.json", expect: Expect::Status(200) },
    Subject { name: "iam-teams", event: "teams-list.json", expect: Expect::Status(401) },
    Subject { name: "iam-people", event: "people-list.json", expect: Expect::Status(401) },
    Subject { name: "iam-cleanup", event: "cleanup-scheduled.json", expect: Expect::Swept },
    Subject { name: "iam-mailer", event: "mailer-scheduled.json", expect: Expect::Delivered },
];

/// Where the signing key comes from in a configuration.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum KeyFrom {
    Environment,
    Parameter,
}

const PARAMETER: &str = "/iam/bench/signing-key";
const OUTBOX_KEY_PARAMETER: &str = "/iam/bench/outbox-key";
const MFA_KEY_PARAMETER: &str = "/iam/bench/mfa-key";
const PREFIX: &str = "bench-";
const SENDER: &str = "no-reply@iam.test";

/// The keys a deployment holds: the issuer's signing key, the mailer's key, the MFA key.
struct Keys {
    pem: String,
    outbox: OpeningKey,
    mfa: Secret,
}

/// The environment Lambda gives a function, plus the template's variables: the published keys
/// for every function, and the signing key (from where `key` says) for the issuer alone.
fn environment(name: &str, endpoint: &str, keys: &Keys, key: KeyFrom) -> Vec<(String, String)> {
    let (pem, outbox) = (keys.pem.as_str(), &keys.outbox);
    let published = serde_json::json!({"keys": [TokenKeys::public_jwk_of(pem).unwrap_or_default()]}).to_string();
    let mut env: Vec<(&str, String)> = vec![
        ("AWS_LAMBDA_FUNCTION_NAME", name.into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/23/[$LATEST]bench".into()),
        ("_HANDLER", "bootstrap".into()),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_SESSION_TOKEN", "test".into()),
        ("AWS_ENDPOINT_URL", endpoint.into()),
        ("IAM_STORE", "dynamodb".into()),
        ("IAM_TABLE_PREFIX", PREFIX.into()),
        ("IAM_PUBLIC_URL", "https://iam.example.com".into()),
        ("IAM_MAILER", "ses".into()),
        ("IAM_MAIL_FROM", SENDER.into()),
        ("IAM_OUTBOX_PUBLIC_KEY", outbox.sealing_key().to_base64()),
        ("IAM_OUTBOX_KEY_PARAMETER", OUTBOX_KEY_PARAMETER.into()),
        ("IAM_VERIFICATION_KEYS", published),
        ("RUST_LOG", "info".into()),
    ];
    let issuer = name == "iam-sessions";
    match key {
        KeyFrom::Environment if issuer => {
            env.push(("IAM_SIGNING_KEY", pem.into()));
            env.push(("IAM_MFA_KEY", keys.mfa.expose().into()));
        }
        // As the template: the issuer is told where its two keys are.
        KeyFrom::Parameter if issuer => {
            env.push(("IAM_SIGNING_KEY_PARAMETER", PARAMETER.into()));
            env.push(("IAM_MFA_KEY_PARAMETER", MFA_KEY_PARAMETER.into()));
        }
        _ => {}
    }
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// moto's server with what the functions expect to find: the tables, the sender identity and
/// the keys' parameters (the issuer's two, the mailer's).
async fn cloud(keys: &Keys) -> anyhow::Result<MotoServer> {
    let server = MotoServer::start().context("starting moto_server (MOTO_SERVER=...)")?;
    moto::store_at(&server.endpoint, PREFIX).ensure_schema().await?;
    moto::ses_client(&server.endpoint).create_email_identity().email_identity(SENDER).send().await?;
    let outbox = keys.outbox.to_base64();
    let ssm = moto::ssm_client(&server.endpoint);
    for (name, value) in [
        (PARAMETER, keys.pem.as_str()),
        (OUTBOX_KEY_PARAMETER, outbox.expose()),
        (MFA_KEY_PARAMETER, keys.mfa.expose()),
    ] {
        let secure = aws_sdk_ssm::types::ParameterType::SecureString;
        ssm.put_parameter().name(name).value(value).r#type(secure).send().await?;
    }
    Ok(server)
}

/// Cold starts of a function whose first request makes one DynamoDB call, against moto over
/// plain HTTP and over TLS, interleaved: (http, https) samples.
async fn first_call(args: &Args, plain: &MotoServer, keys: &Keys) -> anyhow::Result<(Vec<Sample>, Vec<Sample>)> {
    let ca = tls::test_ca()?;
    let secure = MotoServer::start_tls(&ca.cert, &ca.key)?;
    let config = tls::sdk_config(&secure.endpoint, &ca.ca)?;
    let client = iam_shared::store::dynamodb::client(&config, moto::PATIENCE);
    iam_shared::store::dynamodb::DynamoStore::new(client, PREFIX).ensure_schema().await?;
    let name = "iam-passwords";
    let binary = args.run_dir.join(name).join("bootstrap");
    let event =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/events/passwords-token-valid.json"))?;
    let ok = |b: &Value| Expect::Status(200).check(b);
    let http_env = environment(name, &plain.endpoint, keys, KeyFrom::Parameter);
    let mut https_env = environment(name, &secure.endpoint, keys, KeyFrom::Parameter);
    https_env.push(("IAM_TLS_ROOTS".into(), "system".into()));
    https_env.push(("SSL_CERT_FILE".into(), ca.ca.display().to_string()));
    let (mut http, mut https) = (Vec::new(), Vec::new());
    for run in 0..=args.runs {
        let a = cold_start(&binary, &http_env, &event, &ok).await?;
        let b = cold_start(&binary, &https_env, &event, &ok).await?;
        if run > 0 {
            http.push(a);
            https.push(b);
        }
    }
    Ok((http, https))
}

fn selected(args: &Args, subject: &Subject) -> bool {
    args.only.is_empty() || subject.name == "hello" || args.only.iter().any(|o| o == subject.name)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let keys = Keys { pem: TokenKeys::generate_pem()?, outbox: OpeningKey::generate(), mfa: FactorKey::generate()? };
    let server = cloud(&keys).await?;
    // First, so that a broken TLS setup fails the run before the long part.
    let (http, https) =
        if args.only.is_empty() { first_call(&args, &server, &keys).await? } else { (Vec::new(), Vec::new()) };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/events");
    // Each subject's event, read once (not once per run).
    let events: Vec<Vec<u8>> = SUBJECTS
        .iter()
        .map(|s| std::fs::read(dir.join(s.event)).with_context(|| format!("reading {}", s.event)))
        .collect::<anyhow::Result<_>>()?;
    let mut samples: Vec<(KeyFrom, &Subject, Vec<Sample>)> = Vec::new();
    for key in [KeyFrom::Environment, KeyFrom::Parameter] {
        let mut per_subject: Vec<Vec<Sample>> = vec![Vec::new(); SUBJECTS.len()];
        // Round-robin, so that drift on the machine spreads evenly over the subjects.
        for run in 0..=args.runs {
            for (i, subject) in SUBJECTS.iter().enumerate() {
                if !selected(&args, subject) {
                    continue;
                }
                let binary = args.run_dir.join(subject.name).join("bootstrap");
                let env = environment(subject.name, &server.endpoint, &keys, key);
                let expect = subject.expect;
                let sample = cold_start(&binary, &env, &events[i], &|b| expect.check(b)).await?;
                if run > 0 {
                    per_subject[i].push(sample);
                }
            }
        }
        for (subject, s) in SUBJECTS.iter().zip(per_subject).filter(|(subject, _)| selected(&args, subject)) {
            samples.push((key, subject, s));
        }
    }
    let sizes = report::sizes(&args.size_dir, &args.hello_size_dir, &args.run_dir)?;
    let mut text = report::render(&samples, &sizes, args.runs);
    if !http.is_empty() {
        text.push_str(&report::render_first_call(&http, &https));
    }
    std::fs::write(&args.out, &text)?;
    println!("{text}");
    Ok(())
}
