//! Passwords: the policy of API.md, and argon2id hashing off the async threads, verifying
//! against a dummy hash when the account is unknown so that both cost the same time.

use std::sync::{Arc, OnceLock};

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};

use crate::config::HashCost;

/// The rules a new password must satisfy; every broken rule is returned.
pub fn policy_violations(password: &str, email: Option<&str>) -> Vec<(&'static str, &'static str)> {
    let mut broken = Vec::new();
    let n = password.chars().count();
    if n < 8 {
        broken.push(("too_short", "password must be at least 8 characters"));
    }
    if n > 128 {
        broken.push(("too_long", "password must be at most 128 characters"));
    }
    if !password.chars().any(char::is_uppercase) {
        broken.push(("missing_uppercase", "password must contain an uppercase letter"));
    }
    if !password.chars().any(char::is_lowercase) {
        broken.push(("missing_lowercase", "password must contain a lowercase letter"));
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        broken.push(("missing_digit", "password must contain a digit"));
    }
    if !password.chars().any(|c| !c.is_alphanumeric() && !c.is_whitespace()) {
        broken.push(("missing_special", "password must contain a special character"));
    }
    if email.is_some_and(|e| e.trim().eq_ignore_ascii_case(password.trim())) {
        broken.push(("equals_email", "password must not be the account's email"));
    }
    broken
}

/// The problems with a new password sent in an action body (missing, or every broken rule),
/// each pointing at `pointer`.
pub fn new_password_problems(
    password: std::result::Result<&str, crate::error::Problem>,
    email: Option<&str>,
    pointer: &str,
) -> Vec<crate::error::Problem> {
    match password {
        Err(problem) => vec![problem],
        Ok(p) => policy_violations(p, email)
            .into_iter()
            .map(|(code, detail)| crate::error::Problem::pointer(pointer, code, detail))
            .collect(),
    }
}

pub struct PasswordHasher {
    params: Params,
    /// A real hash of a random password, verified against when the account does not exist.
    /// Made on first need, not at cold start: most functions never verify a password.
    dummy_hash: Arc<OnceLock<String>>,
}

impl PasswordHasher {
    pub fn new(cost: HashCost) -> anyhow::Result<Self> {
        let params = match cost {
            HashCost::Owasp => Params::new(19 * 1024, 2, 1, None),
            HashCost::Fast => Params::new(8, 1, 1, None),
        }
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        Ok(PasswordHasher { params, dummy_hash: Arc::default() })
    }

    /// The PHC string of a new argon2id hash of `password`.
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let (params, password) = (self.params.clone(), password.to_string());
        tokio::task::spawn_blocking(move || hash_with(&params, &password)).await?
    }

    /// Whether `password` matches `hash`; with no hash, spends the same time and says no.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let known = hash.map(str::to_string);
        let (params, dummy, password) = (self.params.clone(), self.dummy_hash.clone(), password.to_string());
        tokio::task::spawn_blocking(move || {
            let hash = match &known {
                Some(hash) => hash.as_str(),
                None => dummy.get_or_init(|| {
                    let random = super::tokens::random_token().unwrap_or_default();
                    hash_with(&params, &random).unwrap_or_default()
                }),
            };
            // Parameters come from the stored hash, so older hashes keep verifying.
            let ok = Argon2::default().verify_password(password.as_bytes(), hash).is_ok();
            ok && known.is_some()
        })
        .await
        .unwrap_or(false)
    }
}

fn hash_with(params: &Params, password: &str) -> anyhow::Result<String> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon.hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| anyhow::anyhow!("hashing: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_broken_rule_is_listed() {
        let codes: Vec<_> = policy_violations("abc", None).into_iter().map(|(c, _)| c).collect();
        assert_eq!(codes, ["too_short", "missing_uppercase", "missing_digit", "missing_special"]);
        assert!(policy_violations("Str0ng!Passw0rd", None).is_empty());
        let codes: Vec<_> =
            policy_violations("Ann@Example.c0m", Some("ann@example.c0m")).into_iter().map(|(c, _)| c).collect();
        assert_eq!(codes, ["equals_email"]);
        assert_eq!(policy_violations(&format!("Aa1!{}", "x".repeat(125)), None)[0].0, "too_long");
    }

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let h = PasswordHasher::new(HashCost::Fast).unwrap();
        let hash = h.hash("Str0ng!Passw0rd").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(h.verify("Str0ng!Passw0rd", Some(&hash)).await);
        assert!(!h.verify("str0ng!Passw0rd", Some(&hash)).await);
        assert!(!h.verify("Str0ng!Passw0rd", None).await);
    }

    #[tokio::test]
    async fn production_cost_is_owasps_and_unknown_accounts_pay_it_too() {
        let h = PasswordHasher::new(HashCost::Owasp).unwrap();
        assert!(h.dummy_hash.get().is_none(), "nothing is hashed at cold start");
        let hash = h.hash("Str0ng!Passw0rd").await.unwrap();
        assert!(hash.contains("m=19456,t=2,p=1"), "{hash}");
        assert!(!h.verify("Str0ng!Passw0rd", None).await);
        let dummy = h.dummy_hash.get().unwrap();
        assert!(dummy.contains("m=19456,t=2,p=1"), "the dummy costs what a real hash costs: {dummy}");
    }
}
