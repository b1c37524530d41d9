//! Sealing a mailed link's token to the mailer's key, so that the outbox table, its stream and
//! its backups hold nothing usable: HPKE (RFC 9180) base mode, X25519 + HKDF-SHA256 +
//! ChaCha20-Poly1305, with the outbox item's id as associated data (a sealed token copied into
//! another item does not open).
//!
//! Why a key pair, and not a token derived by the mailer from a key of its own and the token's
//! id: the token's hash is the id of the token item, written by the request in the same
//! transaction as the outbox item. Deriving it would put the mailer's key in every request
//! function; sealing puts only the public half there, and the private half is read by the
//! mailer alone (an SSM SecureString in the cloud, a 0600 file in the data folder locally).

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use rand_core::{OsRng, TryRngCore};

use crate::config::Secret;

type Suite = X25519HkdfSha256;

/// Binds every sealed value to this use: a ciphertext made for anything else does not open.
const INFO: &[u8] = b"iam outbox token v1";

/// Bytes of an encapsulated X25519 key, which leads every sealed value.
const ENCAPSULATED: usize = 32;

/// The mailer's public key: what request functions seal tokens to.
#[derive(Clone)]
pub struct SealingKey(<Suite as Kem>::PublicKey);

/// The mailer's private key: the only thing that opens a sealed token.
pub struct OpeningKey(<Suite as Kem>::PrivateKey);

impl std::fmt::Debug for OpeningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpeningKey(..)")
    }
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealingKey({})", self.to_base64())
    }
}

fn decode(what: &str, text: &str) -> anyhow::Result<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim()).with_context(|| format!("the {what} is not base64url"))
}

impl SealingKey {
    pub fn from_base64(text: &str) -> anyhow::Result<SealingKey> {
        let bytes = decode("outbox public key", text)?;
        let key = <Suite as Kem>::PublicKey::from_bytes(&bytes)
            .map_err(|_| anyhow::anyhow!("the outbox public key is not 32 bytes of X25519"))?;
        Ok(SealingKey(key))
    }

    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.to_bytes())
    }

    /// `secret` sealed for the mailer, bound to `context` (the outbox item's id): base64url of
    /// the encapsulated key followed by the ciphertext.
    pub fn seal(&self, secret: &str, context: &str) -> anyhow::Result<String> {
        // `unwrap_err` panics if the OS has no randomness; a sealed token was made from the
        // same source a moment before (`random_token` answers that failure as an error), so
        // this cannot be the first to meet it.
        let mut rng = OsRng.unwrap_err();
        let (encapsulated, ciphertext) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Suite, _>(
            &OpModeS::Base,
            &self.0,
            INFO,
            secret.as_bytes(),
            context.as_bytes(),
            &mut rng,
        )
        .map_err(|e| anyhow::anyhow!("sealing failed: {e}"))?;
        let mut sealed = encapsulated.to_bytes().to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(URL_SAFE_NO_PAD.encode(sealed))
    }
}

impl OpeningKey {
    /// A new random key pair.
    pub fn generate() -> OpeningKey {
        let mut rng = OsRng.unwrap_err();
        OpeningKey(Suite::gen_keypair(&mut rng).0)
    }

    pub fn from_base64(secret: &Secret) -> anyhow::Result<OpeningKey> {
        let bytes = decode("outbox private key", secret.expose())?;
        let key = <Suite as Kem>::PrivateKey::from_bytes(&bytes)
            .map_err(|_| anyhow::anyhow!("the outbox private key is not 32 bytes of X25519"))?;
        Ok(OpeningKey(key))
    }

    /// The private key as text, to store once (an SSM SecureString, a 0600 file).
    pub fn to_base64(&self) -> Secret {
        Secret::new(URL_SAFE_NO_PAD.encode(self.0.to_bytes()))
    }

    pub fn sealing_key(&self) -> SealingKey {
        SealingKey(Suite::sk_to_pk(&self.0))
    }

    /// The secret `sealed` holds, if it was sealed to this key for `context`.
    pub fn open(&self, sealed: &str, context: &str) -> anyhow::Result<Secret> {
        let bytes = decode("sealed token", sealed)?;
        if bytes.len() <= ENCAPSULATED {
            bail!("the sealed token is too short");
        }
        let (encapsulated, ciphertext) = bytes.split_at(ENCAPSULATED);
        let encapsulated = <Suite as Kem>::EncappedKey::from_bytes(encapsulated)
            .map_err(|_| anyhow::anyhow!("the sealed token's key is malformed"))?;
        let opened = hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Suite>(
            &OpModeR::Base,
            &self.0,
            &encapsulated,
            INFO,
            ciphertext,
            context.as_bytes(),
        )
        .map_err(|_| anyhow::anyhow!("the sealed token does not open with this key for this item"))?;
        Ok(Secret::new(String::from_utf8(opened).context("the sealed token is not text")?))
    }

    /// The key in `path`, created (readable by its owner only) on first use: the local mailer's
    /// key, next to the embedded store.
    pub fn load_or_create(path: &Path) -> anyhow::Result<OpeningKey> {
        match std::fs::read_to_string(path) {
            Ok(text) => OpeningKey::from_base64(&Secret::new(text))
                .with_context(|| format!("reading the outbox key {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let text = crate::config::create_private_file(path, OpeningKey::generate().to_base64().expose())?;
                OpeningKey::from_base64(&Secret::new(text))
            }
            Err(e) => Err(e).with_context(|| format!("reading the outbox key {}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_token_opens_only_with_its_key_and_for_its_item() {
        let key = OpeningKey::generate();
        let sealed = key.sealing_key().seal("t0ken-secret", "item-1").unwrap();
        assert!(!sealed.contains("t0ken"), "{sealed}");
        assert_eq!(key.open(&sealed, "item-1").unwrap().expose(), "t0ken-secret");
        assert!(key.open(&sealed, "item-2").is_err(), "bound to its item");
        assert!(OpeningKey::generate().open(&sealed, "item-1").is_err(), "another key does not open it");
        let mut tampered = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(key.open(&URL_SAFE_NO_PAD.encode(tampered), "item-1").is_err(), "authenticated");
        assert!(key.open("", "item-1").is_err() && key.open("%%", "item-1").is_err());
        let again = key.sealing_key().seal("t0ken-secret", "item-1").unwrap();
        assert_ne!(sealed, again, "each seal uses a fresh ephemeral key");
    }

    #[test]
    fn keys_round_trip_as_text_and_the_local_one_is_kept() {
        let key = OpeningKey::generate();
        let public = SealingKey::from_base64(&key.sealing_key().to_base64()).unwrap();
        let reread = OpeningKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(reread.open(&public.seal("x", "c").unwrap(), "c").unwrap().expose(), "x");
        assert!(SealingKey::from_base64("c2hvcnQ").is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox_key");
        let first = OpeningKey::load_or_create(&path).unwrap();
        let second = OpeningKey::load_or_create(&path).unwrap();
        assert_eq!(first.sealing_key().to_base64(), second.sealing_key().to_base64());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
