//! The AWS SDK configuration: loaded at most once per cold start and shared by every client
//! (DynamoDB, SES, SSM), all on one HTTPS client (hyper + rustls on ring).

use anyhow::Context;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use tokio::sync::OnceCell;

/// The SDK's HTTPS client, built on ring rather than the SDK's default aws-lc-rs: the same
/// rustls, a smaller binary (`bench/RESULTS.md` has the figures). Trust roots are the system's,
/// loaded when the first client is used, not at start.
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// The standard loader (environment, profile, `AWS_ENDPOINT_URL`) with our HTTPS client.
pub fn loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client())
}

/// The environment's SDK configuration, loaded on first use: a function that needs no AWS
/// client (the embedded store, the outbox, a key in the environment) never loads it, and one
/// that needs several loads it once.
#[derive(Default)]
pub struct Aws(OnceCell<SdkConfig>);

impl Aws {
    /// An already-loaded configuration (tests point it at moto's server).
    pub fn from_config(config: SdkConfig) -> Aws {
        Aws(OnceCell::new_with(Some(config)))
    }

    pub async fn config(&self) -> &SdkConfig {
        self.0.get_or_init(|| async { loader().load().await }).await
    }
}

/// The value of an SSM Parameter Store `SecureString`, decrypted. Errors name the parameter,
/// never its value.
pub async fn read_secure_parameter(config: &SdkConfig, name: &str) -> anyhow::Result<String> {
    let output = aws_sdk_ssm::Client::new(config)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(aws_sdk_ssm::Error::from)
        .with_context(|| format!("reading the SSM parameter {name}"))?;
    output
        .parameter
        .and_then(|p| p.value)
        .filter(|v| !v.trim().is_empty())
        .with_context(|| format!("the SSM parameter {name} has no value"))
}
