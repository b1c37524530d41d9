//! The AWS SDK configuration: loaded at most once per cold start and shared by every client
//! (DynamoDB, SES, SSM), all on one HTTPS client (hyper + rustls on ring).

use anyhow::Context;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_sdk_ssm::types::ParameterType;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use tokio::sync::OnceCell;

use crate::config::{Secret, TlsRoots};

/// Amazon Trust Services' roots, which every AWS service endpoint chains to.
const AMAZON_TRUST_ROOTS: &str = include_str!("amazon_trust_roots.pem");

/// The SDK's HTTPS client, built on ring rather than the SDK's default aws-lc-rs: the same
/// rustls, a smaller binary (`bench/README.md` has the figures).
///
/// By default it trusts Amazon's roots only: the functions talk to AWS endpoints and nothing
/// else, so no other CA can vouch for them, and a cold start does not read and parse the
/// system's whole store (hundreds of files: most of a function's init time when it did).
/// `IAM_TLS_ROOTS=system` trusts the system's store instead (an endpoint of your own behind
/// TLS, a proxy that re-signs traffic).
pub fn https_client(roots: TlsRoots) -> SharedHttpClient {
    let trust = match roots {
        TlsRoots::Amazon => TrustStore::empty().with_native_roots(false).with_pem_certificate(AMAZON_TRUST_ROOTS),
        TlsRoots::System => TrustStore::default(),
    };
    // `build` only moves the trust store into the context (it returns `Ok` in every case), and
    // this runs once per cold start, before any request: the expect cannot fire on a request.
    let context = TlsContext::builder().with_trust_store(trust).build().expect("a valid TLS context");
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

/// The standard loader (environment, profile, `AWS_ENDPOINT_URL`) with our HTTPS client.
pub fn loader(roots: TlsRoots) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client(roots))
}

/// The environment's SDK configuration, loaded on first use: a function that needs no AWS
/// client (the embedded store, the outbox, a key in the environment) never loads it, and one
/// that needs several loads it once.
pub struct Aws {
    roots: TlsRoots,
    config: OnceCell<SdkConfig>,
}

impl Aws {
    /// The environment's configuration, to be loaded on first need, trusting `roots`.
    pub fn new(roots: TlsRoots) -> Aws {
        Aws { roots, config: OnceCell::new() }
    }

    /// An already-loaded configuration (tests point it at moto's server).
    pub fn from_config(config: SdkConfig) -> Aws {
        Aws { roots: TlsRoots::Amazon, config: OnceCell::new_with(Some(config)) }
    }

    pub async fn config(&self) -> &SdkConfig {
        self.config.get_or_init(|| async { loader(self.roots).load().await }).await
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
    present(name, output.parameter.and_then(|p| p.value))
}

/// The values of several `SecureString`s, decrypted, in the order of `names`, read with one
/// `GetParameters` (at most ten names, as SSM allows): the issuer's cold start reads its two keys
/// in one round trip rather than two after each other. Errors name the parameters, never values.
pub async fn read_secure_parameters(config: &SdkConfig, names: &[&str]) -> anyhow::Result<Vec<String>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let output = aws_sdk_ssm::Client::new(config)
        .get_parameters()
        .set_names(Some(names.iter().map(|n| n.to_string()).collect()))
        .with_decryption(true)
        .send()
        .await
        .map_err(aws_sdk_ssm::Error::from)
        .with_context(|| format!("reading the SSM parameters {}", names.join(", ")))?;
    let missing = output.invalid_parameters.unwrap_or_default();
    anyhow::ensure!(missing.is_empty(), "the SSM parameters {} do not exist (or are not readable)", missing.join(", "));
    let mut found = output.parameters.unwrap_or_default();
    names
        .iter()
        .map(|name| {
            let at = found.iter().position(|p| p.name.as_deref() == Some(*name));
            present(name, at.and_then(|i| found.swap_remove(i).value))
        })
        .collect()
}

/// A parameter's value, or an error naming it when it is absent or blank.
fn present(name: &str, value: Option<String>) -> anyhow::Result<String> {
    value.filter(|v| !v.trim().is_empty()).with_context(|| format!("the SSM parameter {name} has no value"))
}

/// One `PutParameter`: what the writes below differ in.
struct Put<'a> {
    name: &'a str,
    description: Option<&'a str>,
    kind: ParameterType,
    value: &'a str,
    overwrite: bool,
}

/// Sends `put`; a failure says what was being done (`context`: the name, never the value).
async fn put_parameter(config: &SdkConfig, put: Put<'_>, context: String) -> anyhow::Result<()> {
    aws_sdk_ssm::Client::new(config)
        .put_parameter()
        .name(put.name)
        .set_description(put.description.map(str::to_string))
        .r#type(put.kind)
        .value(put.value)
        .overwrite(put.overwrite)
        .send()
        .await
        .map_err(aws_sdk_ssm::Error::from)
        .context(context)?;
    Ok(())
}

/// Creates `name` as a `SecureString` holding `secret`, a private key that never leaves the
/// process otherwise (the signing key, the mailer's key), described by `description`. Refuses
/// to replace an existing parameter.
pub async fn create_secure_parameter(
    config: &SdkConfig,
    name: &str,
    description: &str,
    secret: &Secret,
) -> anyhow::Result<()> {
    let put = Put {
        name,
        description: Some(description),
        kind: ParameterType::SecureString,
        value: secret.expose(),
        overwrite: false,
    };
    put_parameter(config, put, format!("creating the SSM parameter {name} (it must not exist yet)")).await
}

/// Writes the plain `String` parameter `name` (published, not secret: the JWKS), replacing it.
pub async fn write_plain_parameter(
    config: &SdkConfig,
    name: &str,
    description: &str,
    value: &str,
) -> anyhow::Result<()> {
    let put = Put { name, description: Some(description), kind: ParameterType::String, value, overwrite: true };
    put_parameter(config, put, format!("writing the SSM parameter {name}")).await
}

/// Replaces the value of the existing `SecureString` `name` (promoting the next signing key).
pub async fn replace_secure_parameter(config: &SdkConfig, name: &str, secret: &Secret) -> anyhow::Result<()> {
    let put =
        Put { name, description: None, kind: ParameterType::SecureString, value: secret.expose(), overwrite: true };
    put_parameter(config, put, format!("replacing the SSM parameter {name}")).await
}

/// Deletes the parameter `name`.
pub async fn delete_parameter(config: &SdkConfig, name: &str) -> anyhow::Result<()> {
    aws_sdk_ssm::Client::new(config)
        .delete_parameter()
        .name(name)
        .send()
        .await
        .map_err(aws_sdk_ssm::Error::from)
        .with_context(|| format!("deleting the SSM parameter {name}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn the_amazon_roots_are_the_five_certificates_of_amazon_trust_services() {
        let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_slice_iter(AMAZON_TRUST_ROOTS.as_bytes())
            .collect::<Result<_, _>>()
            .expect("valid PEM");
        assert_eq!(certs.len(), 5);
        for roots in [TlsRoots::Amazon, TlsRoots::System] {
            let _ = https_client(roots);
        }
    }
}
