//! The signing key's life in SSM Parameter Store, step by step: `create` (the private key as a
//! SecureString only the issuer reads, its public key published in a plain String as a JWKS),
//! then a rotation that never rejects a live token: `next` (a new key beside the current one,
//! both published), `promote` (the next key signs), `retire` (only the signing key published).
//! Each step that changes what is published is followed by a deploy, which resolves the JWKS
//! into every function's environment.

use aws_config::SdkConfig;
use iam_shared::auth::jwt::TokenKeys;
use iam_shared::aws;
use iam_shared::config::Secret;
use serde_json::{Value, json};

const KEY_DESCRIPTION: &str = "IAM access token signing key (Ed25519, PKCS#8 PEM)";
const JWKS_DESCRIPTION: &str = "IAM access token verification keys (JWKS, public)";

/// Where a stage's keys live: the signing key's SecureString and the published JWKS's String.
pub struct KeyParameters<'a> {
    pub signing: &'a str,
    pub published: &'a str,
}

impl KeyParameters<'_> {
    /// The SecureString holding the next key during a rotation.
    pub fn next(&self) -> String {
        format!("{}-next", self.signing)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Step {
    /// A first key, published alone.
    Create,
    /// A next key beside the current one; both published.
    Next,
    /// The next key becomes the signing key (both still published).
    Promote,
    /// Only the signing key stays published (once the old key's tokens have expired).
    Retire,
}

fn jwks_of(pems: &[&str]) -> anyhow::Result<String> {
    let keys: Vec<Value> = pems.iter().map(|p| TokenKeys::public_jwk_of(p)).collect::<anyhow::Result<_>>()?;
    Ok(json!({ "keys": keys }).to_string())
}

/// Runs one step; says what it did and what comes next. No private key is printed.
pub async fn run(sdk: &SdkConfig, at: &KeyParameters<'_>, step: Step) -> anyhow::Result<String> {
    match step {
        Step::Create => {
            let pem = TokenKeys::generate_pem()?;
            aws::create_secure_parameter(sdk, at.signing, KEY_DESCRIPTION, &Secret::new(pem.clone())).await?;
            aws::write_plain_parameter(sdk, at.published, JWKS_DESCRIPTION, &jwks_of(&[&pem])?).await?;
            Ok(format!("Stored a new signing key in {} and published it in {}. Deploy.", at.signing, at.published))
        }
        Step::Next => {
            let current = aws::read_secure_parameter(sdk, at.signing).await?;
            let next = TokenKeys::generate_pem()?;
            aws::create_secure_parameter(sdk, &at.next(), KEY_DESCRIPTION, &Secret::new(next.clone())).await?;
            aws::write_plain_parameter(sdk, at.published, JWKS_DESCRIPTION, &jwks_of(&[&current, &next])?).await?;
            Ok(format!(
                "Stored the next key in {} and published both in {}. Deploy, then `--step promote`.",
                at.next(),
                at.published
            ))
        }
        Step::Promote => {
            let next = aws::read_secure_parameter(sdk, &at.next()).await?;
            aws::replace_secure_parameter(sdk, at.signing, &Secret::new(next)).await?;
            aws::delete_parameter(sdk, &at.next()).await?;
            Ok(format!(
                "The next key now signs ({}). Deploy; once the old key's last token has expired \
                 (IAM_ACCESS_TOKEN_TTL after the deploy), `--step retire`.",
                at.signing
            ))
        }
        Step::Retire => {
            let current = aws::read_secure_parameter(sdk, at.signing).await?;
            aws::write_plain_parameter(sdk, at.published, JWKS_DESCRIPTION, &jwks_of(&[&current])?).await?;
            Ok(format!("Only the signing key is published in {}. Deploy.", at.published))
        }
    }
}
