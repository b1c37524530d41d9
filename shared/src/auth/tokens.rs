//! Secret tokens: 256 random bits, stored only as SHA-256 hashes, compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new URL-safe token carrying 256 bits from the operating system's CSPRNG.
pub fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored instead of a token. Tokens are high-entropy, so a fast hash is enough: there
/// is nothing to brute-force.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares secrets (or their hashes) without leaking where they first differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn hashes_are_stable_and_hide_the_token() {
        let t = random_token().unwrap();
        assert_eq!(hash_token(&t), hash_token(&t));
        assert!(!hash_token(&t).contains(&t));
        assert!(constant_time_eq(&hash_token(&t), &hash_token(&t)));
        assert!(!constant_time_eq(&hash_token(&t), &hash_token("other")));
    }
}
