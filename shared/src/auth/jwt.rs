//! Access tokens: EdDSA (Ed25519) JWT access tokens as RFC 9068 profiles them (`typ: at+jwt`,
//! `iss`, `aud`, `sub`, `sid`, `jti`, `client_id`, `iat`, `exp`), checked as strictly as they are
//! signed; the published keys (JWKS) for other services; loading the key from configuration or
//! the local data folder.
//!
//! Only the issuer holds the private key. Every function verifies with the published keys, a
//! JWKS that may hold more than one key: during a rotation the current and the next, so that a
//! token signed by either verifies wherever it is presented (the sequence is in the README).

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

/// The one OAuth client this service issues tokens to: its own public, first-party client (the
/// API and console). A token request naming another `client_id` is refused; a client registry
/// would replace this constant.
pub const CLIENT_ID: &str = "iam";

/// The media type of our access tokens' `typ` header (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// How far another clock may run ahead of ours: an `iat` or `nbf` up to this far in the future
/// is accepted, as the JOSE libraries' default leeway does.
pub const CLOCK_LEEWAY_SECS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The account id.
    pub sub: String,
    /// The session id.
    pub sid: String,
    /// This token's own random id (RFC 7519 §4.1.7).
    pub jti: String,
    pub client_id: String,
    pub iat: i64,
    pub exp: i64,
    /// Not issued by us; checked when a token carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// A published public key: its thumbprint (the tokens' `kid`) and what verifies with it.
struct PublishedKey {
    kid: String,
    x: String,
    decoding: DecodingKey,
}

pub struct TokenKeys {
    /// The private key and its `kid`: the issuer's alone.
    signer: Option<(EncodingKey, String)>,
    /// Every key a token may be signed with, the signer's first.
    published: Vec<PublishedKey>,
    validation: Validation,
    pub issuer: String,
    pub audience: String,
    pub ttl: time::Duration,
}

impl TokenKeys {
    fn with_keys(
        signer: Option<(EncodingKey, String)>,
        issuer: &str,
        audience: &str,
        ttl: std::time::Duration,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Times are checked against the service's clock (a port tests can move), not here.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        TokenKeys {
            signer,
            published: Vec::new(),
            validation,
            issuer: issuer.into(),
            audience: audience.into(),
            ttl: time::Duration::try_from(ttl).unwrap_or(time::Duration::minutes(15)),
        }
    }

    fn publish(&mut self, public: [u8; 32]) {
        let x = URL_SAFE_NO_PAD.encode(public);
        let kid = jwk_thumbprint(&x);
        if !self.published.iter().any(|k| k.kid == kid) {
            self.published.push(PublishedKey { kid, x, decoding: DecodingKey::from_ed_der(&public) });
        }
    }

    /// The issuer's keys, from a PKCS#8 PEM Ed25519 private key: it signs, and its public key is
    /// published.
    pub fn from_pem(pem: &str, issuer: &str, audience: &str, ttl: std::time::Duration) -> anyhow::Result<Self> {
        let signing = SigningKey::from_pkcs8_pem(pem).context("the signing key is not a PKCS#8 PEM Ed25519 key")?;
        let public = signing.verifying_key().to_bytes();
        let der = signing.to_pkcs8_der().context("encoding the signing key")?;
        let kid = jwk_thumbprint(&URL_SAFE_NO_PAD.encode(public));
        let mut keys = Self::with_keys(Some((EncodingKey::from_ed_der(der.as_bytes()), kid)), issuer, audience, ttl);
        keys.publish(public);
        Ok(keys)
    }

    /// A verifier's keys: the published keys of `jwks` (`IAM_VERIFICATION_KEYS`), no private key.
    pub fn verifying(jwks: &str, issuer: &str, audience: &str, ttl: std::time::Duration) -> anyhow::Result<Self> {
        let keys = Self::with_keys(None, issuer, audience, ttl).also_publishing(jwks)?;
        anyhow::ensure!(!keys.published.is_empty(), "IAM_VERIFICATION_KEYS holds no key");
        Ok(keys)
    }

    /// These keys, also publishing (and accepting) every Ed25519 key of `jwks`: the next key
    /// during a rotation, or the previous one until its tokens have expired.
    pub fn also_publishing(mut self, jwks: &str) -> anyhow::Result<Self> {
        let set: jsonwebtoken::jwk::JwkSet =
            serde_json::from_str(jwks).context("IAM_VERIFICATION_KEYS is not a JWKS ({\"keys\": [...]})")?;
        for jwk in &set.keys {
            let jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(okp) = &jwk.algorithm else {
                anyhow::bail!("IAM_VERIFICATION_KEYS: only Ed25519 (OKP) keys are used");
            };
            let public: [u8; 32] = URL_SAFE_NO_PAD
                .decode(&okp.x)
                .ok()
                .and_then(|b| b.try_into().ok())
                .context("IAM_VERIFICATION_KEYS: a key's x is not 32 bytes of base64url")?;
            self.publish(public);
        }
        Ok(self)
    }

    /// The JWKS entry of the public half of a PEM private key (what `iam signing-key` publishes).
    pub fn public_jwk_of(pem: &str) -> anyhow::Result<Value> {
        let keys = Self::from_pem(pem, "", "", std::time::Duration::from_secs(1))?;
        Ok(keys.jwks()["keys"][0].clone())
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
        crate::config::create_private_file(path, &Self::generate_pem()?)
    }

    pub fn issue(&self, account_id: &str, session_id: &str, now: OffsetDateTime) -> anyhow::Result<String> {
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: account_id.into(),
            sid: session_id.into(),
            jti: uuid::Uuid::now_v7().to_string(),
            client_id: CLIENT_ID.into(),
            iat: now.unix_timestamp(),
            exp: (now + self.ttl).unix_timestamp(),
            nbf: None,
        };
        let (encoding, kid) =
            self.signer.as_ref().context("this function verifies tokens; only the issuer holds the signing key")?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYPE.into());
        header.kid = Some(kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, encoding)?)
    }

    /// Checks the header (`typ`, `kid`, no `crit`), then signature, algorithm, issuer and
    /// audience, then the times against our clock: not expired, not issued or valid only in the
    /// future (beyond the leeway), and living no longer than we issue tokens for, so that a
    /// token minted with a stolen key cannot outlive a rotation by decades.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Claims, Error> {
        let invalid = || Error::InvalidToken("the access token is invalid");
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        let typ_ok = header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE) || t.eq_ignore_ascii_case("application/at+jwt"));
        // `crit` names extensions the receiver must understand; we understand none.
        let key = self.published.iter().find(|k| header.kid.as_deref() == Some(k.kid.as_str()));
        let Some(key) = key.filter(|_| typ_ok && header.crit.is_none()) else { return Err(invalid()) };
        let claims =
            jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validation).map_err(|_| invalid())?.claims;
        let now = now.unix_timestamp();
        let ahead = now + CLOCK_LEEWAY_SECS;
        let issued_for_too_long = claims.exp.saturating_sub(claims.iat) > self.ttl.whole_seconds();
        if claims.iat > ahead || claims.nbf.is_some_and(|nbf| nbf > ahead) || issued_for_too_long {
            return Err(invalid());
        }
        if claims.client_id != CLIENT_ID || claims.jti.is_empty() {
            return Err(invalid());
        }
        if claims.exp <= now {
            return Err(Error::InvalidToken("the access token has expired"));
        }
        Ok(claims)
    }

    /// Every published key, the signer's first.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .published
            .iter()
            .map(|k| json!({"kty": "OKP", "crv": "Ed25519", "x": k.x, "kid": k.kid, "alg": "EdDSA", "use": "sig"}))
            .collect();
        json!({ "keys": keys })
    }
}

/// The RFC 7638 thumbprint of an Ed25519 public key: SHA-256 over its required JWK members in
/// lexical order, without spaces (RFC 8037 §2), base64url. Anyone holding the JWKS can recompute
/// it, and it changes exactly when the key does.
fn jwk_thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
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
        let claims = Claims { exp: i64::MAX, ..claims_of(&a) };
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(a.published[0].x.as_bytes()),
        )
        .unwrap();
        assert!(a.verify(&forged, now()).is_err());
        assert!(a.verify("not.a.token", now()).is_err());
    }

    /// The claims `issue` would write now.
    fn claims_of(k: &TokenKeys) -> Claims {
        let t = k.issue("acc", "sid", now()).unwrap();
        jsonwebtoken::dangerous::insecure_decode::<Claims>(&t).unwrap().claims
    }

    /// A token signed with our own key, with our header changed by `header` and our claims by
    /// `claims`: everything an attacker holding a signing oracle (or the key) could vary.
    fn signed(k: &TokenKeys, header: impl FnOnce(&mut Header), claims: impl FnOnce(&mut Value)) -> String {
        let mut h = Header::new(Algorithm::EdDSA);
        h.typ = Some(ACCESS_TOKEN_TYPE.into());
        let (encoding, kid) = k.signer.as_ref().unwrap();
        h.kid = Some(kid.clone());
        header(&mut h);
        let mut c = serde_json::to_value(claims_of(k)).unwrap();
        claims(&mut c);
        jsonwebtoken::encode(&h, &c, encoding).unwrap()
    }

    #[test]
    fn issued_tokens_are_rfc_9068_access_tokens() {
        let k = keys();
        let t = k.issue("acc", "sid", now()).unwrap();
        let header = jsonwebtoken::decode_header(&t).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid.as_deref(), Some(k.jwks()["keys"][0]["kid"].as_str().unwrap()));
        let c = k.verify(&t, now()).unwrap();
        assert_eq!(c.client_id, CLIENT_ID);
        assert_ne!(c.jti, k.verify(&k.issue("acc", "sid", now()).unwrap(), now()).unwrap().jti);
        // Untouched, the test helper's token verifies: each case below fails for its one change.
        assert!(k.verify(&signed(&k, |_| {}, |_| {}), now()).is_ok());
    }

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint_of_the_key() {
        // RFC 8037 Appendix A.3: the thumbprint of its example Ed25519 key.
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        assert_eq!(jwk_thumbprint(x), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn a_valid_signature_does_not_make_a_bad_token_good() {
        let k = keys();
        let day = 86_400;
        let cases: Vec<(&str, String)> = vec![
            ("typ JWT", signed(&k, |h| h.typ = Some("JWT".into()), |_| {})),
            ("no typ", signed(&k, |h| h.typ = None, |_| {})),
            ("unknown crit", signed(&k, |h| h.crit = Some(vec!["exp".into()]), |_| {})),
            ("no kid", signed(&k, |h| h.kid = None, |_| {})),
            ("unknown kid", signed(&k, |h| h.kid = Some("other".into()), |_| {})),
            ("iat a day ahead", signed(&k, |_| {}, |c| c["iat"] = json!(c["iat"].as_i64().unwrap() + day))),
            ("no iat", signed(&k, |_| {}, |c| drop(c.as_object_mut().unwrap().remove("iat")))),
            ("future nbf", signed(&k, |_| {}, |c| c["nbf"] = json!(c["iat"].as_i64().unwrap() + 3600))),
            ("100-year exp", signed(&k, |_| {}, |c| c["exp"] = json!(c["iat"].as_i64().unwrap() + 100 * 365 * day))),
            ("no jti", signed(&k, |_| {}, |c| drop(c.as_object_mut().unwrap().remove("jti")))),
            ("another client", signed(&k, |_| {}, |c| c["client_id"] = json!("evil"))),
        ];
        for (case, token) in cases {
            assert!(k.verify(&token, now()).is_err(), "{case} was accepted");
        }
        // Within the leeway another clock may run ahead: an iat and nbf 30 s in the future pass.
        let skewed = signed(
            &k,
            |_| {},
            |c| {
                let at = c["iat"].as_i64().unwrap() + 30;
                c["iat"] = json!(at);
                c["nbf"] = json!(at);
                c["exp"] = json!(at + 900);
            },
        );
        assert!(k.verify(&skewed, now()).is_ok());
        let typ_as_media_type = signed(&k, |h| h.typ = Some("application/at+jwt".into()), |_| {});
        assert!(k.verify(&typ_as_media_type, now()).is_ok());
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
    fn a_verifier_accepts_what_the_published_keys_sign_and_cannot_sign() {
        let current = keys();
        let verifier =
            TokenKeys::verifying(&current.jwks().to_string(), "https://iam.example", "iam", Duration::from_secs(900))
                .unwrap();
        assert_eq!(verifier.jwks(), current.jwks());
        let t = current.issue("acc", "sid", now()).unwrap();
        assert_eq!(verifier.verify(&t, now()).unwrap().sub, "acc");
        assert!(verifier.verify(&keys().issue("acc", "sid", now()).unwrap(), now()).is_err(), "an unpublished key");
        assert!(verifier.issue("acc", "sid", now()).is_err(), "a verifier holds no private key");
        for bad in ["", "{}", r#"{"keys": []}"#, r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#] {
            assert!(TokenKeys::verifying(bad, "i", "a", Duration::from_secs(1)).is_err(), "{bad}");
        }
    }

    /// A rotation: the next key is published beside the current one, then signs, then the old
    /// one is retired. At every step a token signed by either live key verifies everywhere.
    #[test]
    fn during_a_rotation_tokens_of_either_key_verify() {
        let (old_pem, next_pem) = (TokenKeys::generate_pem().unwrap(), TokenKeys::generate_pem().unwrap());
        let ttl = Duration::from_secs(900);
        let jwks = |pems: &[&str]| {
            json!({"keys": pems.iter().map(|p| TokenKeys::public_jwk_of(p).unwrap()).collect::<Vec<_>>()}).to_string()
        };
        let both = jwks(&[&old_pem, &next_pem]);
        // Step 1: both published; the old key still signs.
        let issuer = TokenKeys::from_pem(&old_pem, "i", "a", ttl).unwrap().also_publishing(&both).unwrap();
        let verifier = TokenKeys::verifying(&both, "i", "a", ttl).unwrap();
        assert_eq!(issuer.jwks()["keys"].as_array().unwrap().len(), 2, "the JWKS shows both");
        let old_token = issuer.issue("acc", "sid", now()).unwrap();
        // Step 2: the next key signs; the old key's tokens still verify, at the issuer too.
        let switched = TokenKeys::from_pem(&next_pem, "i", "a", ttl).unwrap().also_publishing(&both).unwrap();
        let new_token = switched.issue("acc", "sid", now()).unwrap();
        for keys in [&issuer, &verifier, &switched] {
            assert!(keys.verify(&old_token, now()).is_ok() && keys.verify(&new_token, now()).is_ok());
        }
        // Step 3: the old key retired once its last token has expired.
        let retired = TokenKeys::verifying(&jwks(&[&next_pem]), "i", "a", ttl).unwrap();
        assert!(retired.verify(&new_token, now()).is_ok());
        assert!(retired.verify(&old_token, now()).is_err());
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
