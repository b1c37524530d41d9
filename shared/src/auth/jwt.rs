//! Access tokens: EdDSA (Ed25519) JWTs with `iss`, `aud`, `sub`, `sid`, `iat`, `exp`; the key's
//! JWKS for other services; loading the key from configuration or the local data folder.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The account id.
    pub sub: String,
    /// The session id.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    kid: String,
    public_x: String,
    pub issuer: String,
    pub audience: String,
    pub ttl: time::Duration,
}

impl TokenKeys {
    /// Keys from a PKCS#8 PEM Ed25519 private key.
    pub fn from_pem(pem: &str, issuer: &str, audience: &str, ttl: std::time::Duration) -> anyhow::Result<Self> {
        let signing = SigningKey::from_pkcs8_pem(pem).context("the signing key is not a PKCS#8 PEM Ed25519 key")?;
        let public = signing.verifying_key().to_bytes();
        let der = signing.to_pkcs8_der().context("encoding the signing key")?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked against the service's clock (a port tests can move), not here.
        validation.validate_exp = false;
        let kid: String = Sha256::digest(public).iter().take(8).map(|b| format!("{b:02x}")).collect();
        Ok(TokenKeys {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding: DecodingKey::from_ed_der(&public),
            validation,
            kid,
            public_x: URL_SAFE_NO_PAD.encode(public),
            issuer: issuer.into(),
            audience: audience.into(),
            ttl: time::Duration::try_from(ttl).unwrap_or(time::Duration::minutes(15)),
        })
    }

    /// A new random Ed25519 key as PKCS#8 PEM.
    pub fn generate_pem() -> anyhow::Result<String> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let pem = SigningKey::from_bytes(&seed).to_pkcs8_pem(LineEnding::LF).context("encoding a new key")?;
        Ok(pem.to_string())
    }

    /// The key kept in `path`, created (readable by the owner only) on first use.
    pub fn load_or_create_pem(path: &Path) -> anyhow::Result<String> {
        if let Ok(pem) = std::fs::read_to_string(path) {
            return Ok(pem);
        }
        let pem = Self::generate_pem()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut f) => {
                std::io::Write::write_all(&mut f, pem.as_bytes())?;
                Ok(pem)
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(std::fs::read_to_string(path)?),
            Err(e) => Err(e).with_context(|| format!("writing {}", path.display())),
        }
    }

    pub fn issue(&self, account_id: &str, session_id: &str, now: OffsetDateTime) -> anyhow::Result<String> {
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: account_id.into(),
            sid: session_id.into(),
            iat: now.unix_timestamp(),
            exp: (now + self.ttl).unix_timestamp(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, &self.encoding)?)
    }

    /// Checks signature, algorithm, issuer, audience and expiry.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Claims, Error> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| Error::Unauthorized("the access token is invalid"))?;
        if data.claims.exp <= now.unix_timestamp() {
            return Err(Error::Unauthorized("the access token has expired"));
        }
        Ok(data.claims)
    }

    pub fn jwks(&self) -> Value {
        json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "x": self.public_x,
            "kid": self.kid, "alg": "EdDSA", "use": "sig",
        }]})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn keys() -> TokenKeys {
        TokenKeys::from_pem(&TokenKeys::generate_pem().unwrap(), "https://iam.example", "iam", Duration::from_secs(900))
            .unwrap()
    }

    fn now() -> OffsetDateTime {
        crate::clock::parse("2026-11-23T10:00:00Z").unwrap()
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let k = keys();
        let t = k.issue("acc", "sid", now()).unwrap();
        let c = k.verify(&t, now()).unwrap();
        assert_eq!((c.sub.as_str(), c.sid.as_str(), c.exp - c.iat), ("acc", "sid", 900));
        assert!(k.verify(&t, now() + time::Duration::seconds(900)).is_err());
    }

    #[test]
    fn another_key_or_audience_or_algorithm_is_refused() {
        let (a, b) = (keys(), keys());
        let t = a.issue("acc", "sid", now()).unwrap();
        assert!(b.verify(&t, now()).is_err());
        let pem = TokenKeys::generate_pem().unwrap();
        let ours = TokenKeys::from_pem(&pem, "https://iam.example", "iam", Duration::from_secs(900)).unwrap();
        for (iss, aud) in [("https://iam.example", "other"), ("https://evil.example", "iam")] {
            let theirs = TokenKeys::from_pem(&pem, iss, aud, Duration::from_secs(900)).unwrap();
            assert!(ours.verify(&theirs.issue("acc", "sid", now()).unwrap(), now()).is_err());
        }
        // An HS256 token signed with the public key as secret (the classic confusion attack).
        let claims = Claims {
            iss: a.issuer.clone(),
            aud: a.audience.clone(),
            sub: "x".into(),
            sid: "s".into(),
            iat: 0,
            exp: i64::MAX,
        };
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(a.public_x.as_bytes()),
        )
        .unwrap();
        assert!(a.verify(&forged, now()).is_err());
        assert!(a.verify("not.a.token", now()).is_err());
    }

    #[test]
    fn the_jwks_verifies_tokens_on_its_own() {
        let k = keys();
        let t = k.issue("acc", "sid", now()).unwrap();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(k.jwks()["keys"][0].clone()).unwrap();
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_audience(&["iam"]);
        v.validate_exp = false;
        assert!(jsonwebtoken::decode::<Claims>(&t, &DecodingKey::from_jwk(&jwk).unwrap(), &v).is_ok());
    }

    #[test]
    fn a_local_key_is_created_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("iam-key-{}", uuid::Uuid::now_v7()));
        let path = dir.join("signing_key.pem");
        let first = TokenKeys::load_or_create_pem(&path).unwrap();
        assert_eq!(TokenKeys::load_or_create_pem(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
