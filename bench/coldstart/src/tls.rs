//! moto behind TLS, for what a real cold start pays on its first DynamoDB call and plain-HTTP
//! moto hides: a test CA and a server certificate for 127.0.0.1 (RSA 2048, as Amazon's chain
//! is), made with the `openssl` command line in a temporary folder, and an SDK configuration
//! that trusts that CA alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};

/// The files of a test CA and of the server certificate it signed.
pub struct TestCa {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    _dir: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("openssl").args(args).current_dir(dir).output().context("running openssl")?;
    if !out.status.success() {
        bail!("openssl {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

pub fn test_ca() -> anyhow::Result<TestCa> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=IAM bench CA",
        ],
    )?;
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    )?;
    std::fs::write(
        d.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )?;
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    )?;
    Ok(TestCa { ca: d.join("ca.pem"), cert: d.join("server.pem"), key: d.join("server.key"), _dir: dir })
}

/// An SDK configuration for the TLS endpoint, trusting the test CA alone (dummy credentials).
pub fn sdk_config(endpoint: &str, ca: &Path) -> anyhow::Result<SdkConfig> {
    let pem = std::fs::read(ca)?;
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(pem);
    let context = TlsContext::builder().with_trust_store(trust).build()?;
    let client = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https();
    Ok(SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new("test", "test", None, None, "bench")))
        .http_client(client)
        .build())
}
