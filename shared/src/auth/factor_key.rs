//! The key TOTP secrets are sealed under at rest: AES-256-GCM (ring, linked already for TLS),
//! a fresh 96-bit nonce per seal, the account's id as associated data so that a sealed secret
//! copied onto another account does not open. The key is its own (never the signing key), read
//! only by the functions that enrol and verify second factors: locally a file in the data
//! folder made on first use, in the cloud an SSM `SecureString`.

use std::path::Path;

use anyhow::{Context, anyhow};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::config::Secret;

/// Marks the format of a sealed value, so that another one can follow without guessing.
const VERSION: &str = "v1.";
const KEY_BYTES: usize = 32;

pub struct FactorKey(LessSafeKey);

impl std::fmt::Debug for FactorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FactorKey(..)")
    }
}

fn random<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("no randomness: {e}"))?;
    Ok(bytes)
}

impl FactorKey {
    /// A new key, as the base64url text it is kept as.
    pub fn generate() -> anyhow::Result<Secret> {
        Ok(Secret::new(URL_SAFE_NO_PAD.encode(random::<KEY_BYTES>()?)))
    }

    /// The key kept as `text` (base64url of 32 bytes). Errors never quote it.
    pub fn from_base64(text: &Secret) -> anyhow::Result<FactorKey> {
        let bytes =
            URL_SAFE_NO_PAD.decode(text.expose().trim()).map_err(|_| anyhow!("the MFA key is not base64url"))?;
        if bytes.len() != KEY_BYTES {
            anyhow::bail!("the MFA key must be {KEY_BYTES} bytes, not {}", bytes.len());
        }
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| anyhow!("the MFA key was refused"))?;
        Ok(FactorKey(LessSafeKey::new(key)))
    }

    /// The key in the file `path`, made (readable by its owner alone) when there is none.
    pub fn load_or_create(path: &Path) -> anyhow::Result<FactorKey> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                crate::config::create_private_file(path, FactorKey::generate()?.expose())?
            }
            Err(e) => return Err(e).with_context(|| format!("reading the MFA key {}", path.display())),
        };
        FactorKey::from_base64(&Secret::new(text)).with_context(|| format!("the MFA key {}", path.display()))
    }

    /// `secret` sealed for the item `bound_to`.
    pub fn seal(&self, secret: &[u8], bound_to: &str) -> anyhow::Result<String> {
        let nonce = random::<NONCE_LEN>()?;
        let mut sealed = secret.to_vec();
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(bound_to.as_bytes()), &mut sealed)
            .map_err(|_| anyhow!("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// The secret `sealed` holds, if it was sealed under this key for `bound_to`.
    pub fn open(&self, sealed: &str, bound_to: &str) -> anyhow::Result<Vec<u8>> {
        let bytes = sealed
            .strip_prefix(VERSION)
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .context("not a sealed secret")?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| anyhow!("not a sealed secret"))?;
        let mut in_out = ciphertext.to_vec();
        let opened = self
            .0
            .open_in_place(nonce, Aad::from(bound_to.as_bytes()), &mut in_out)
            .map_err(|_| anyhow!("the secret does not open under this key for this account"))?;
        Ok(opened.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_under_its_key_and_for_its_account() {
        let key = FactorKey::from_base64(&FactorKey::generate().unwrap()).unwrap();
        let sealed = key.seal(b"12345678901234567890", "acc-1").unwrap();
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("MTIzNDU2"), "not merely encoded");
        assert_eq!(key.open(&sealed, "acc-1").unwrap(), b"12345678901234567890");
        assert!(key.open(&sealed, "acc-2").is_err(), "bound to its account");
        let other = FactorKey::from_base64(&FactorKey::generate().unwrap()).unwrap();
        assert!(other.open(&sealed, "acc-1").is_err(), "another key does not open it");
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(key.open(std::str::from_utf8(&tampered).unwrap(), "acc-1").is_err(), "authenticated");
        assert_ne!(key.seal(b"x", "acc-1").unwrap(), key.seal(b"x", "acc-1").unwrap(), "a fresh nonce each time");
        for junk in ["", "v1.", "v1.%%", "v2.AAAA", "v1.AAAA"] {
            assert!(key.open(junk, "acc-1").is_err(), "{junk:?}");
        }
    }

    #[test]
    fn a_key_is_32_bytes_of_base64url_and_its_errors_do_not_quote_it() {
        for bad in ["", "not base64!", "AAAA"] {
            let e = FactorKey::from_base64(&Secret::new(bad)).unwrap_err().to_string();
            assert!(bad.is_empty() || !e.contains(bad), "{e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mfa_key");
        let first = FactorKey::load_or_create(&path).unwrap();
        let second = FactorKey::load_or_create(&path).unwrap();
        assert_eq!(second.open(&first.seal(b"s", "a").unwrap(), "a").unwrap(), b"s", "the same key again");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
