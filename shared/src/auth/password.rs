//! Passwords: the policy of API.md, and argon2id hashing off the async threads, verifying
//! against a dummy hash when the account is unknown so that both cost the same time. At most a
//! few hashes run at once (each holds 19 MiB): a request waits a bounded time for a turn, then
//! gets 503, so a burst of logins cannot take the server's memory.

use std::sync::{Arc, OnceLock};

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};

use tokio::sync::Semaphore;

use crate::config::{HashCost, HashSlots};
use crate::error::{Error, Result};

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
    /// One permit per hash that may run at once.
    slots: Arc<Semaphore>,
    max_wait: std::time::Duration,
    /// A real hash of a random password, verified against when the account does not exist.
    /// Made on first need, not at cold start: most functions never verify a password.
    dummy_hash: Arc<OnceLock<String>>,
}

impl PasswordHasher {
    pub fn new(cost: HashCost, slots: HashSlots) -> anyhow::Result<Self> {
        let params = match cost {
            HashCost::Owasp => Params::new(19 * 1024, 2, 1, None),
            HashCost::Fast => Params::new(8, 1, 1, None),
        }
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        Ok(PasswordHasher {
            params,
            slots: Arc::new(Semaphore::new(slots.concurrency.max(1))),
            max_wait: slots.max_wait,
            dummy_hash: Arc::default(),
        })
    }

    /// A turn to hash, waited for at most `max_wait`; then 503 with `Retry-After`. The permit
    /// moves into the blocking task, so a request that gives up cannot free it early.
    async fn turn(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        match tokio::time::timeout(self.max_wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(closed)) => Err(Error::unexpected(closed)),
            Err(_) => {
                tracing::warn!("every password hashing slot stayed busy; answering 503");
                Err(Error::Unavailable { retry_after_secs: 1 })
            }
        }
    }

    /// The PHC string of a new argon2id hash of `password`.
    pub async fn hash(&self, password: &str) -> Result<String> {
        let permit = self.turn().await?;
        let (params, password) = (self.params.clone(), password.to_string());
        let hashed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash_with(&params, &password)
        })
        .await
        .map_err(Error::unexpected)?;
        hashed.map_err(Error::Unexpected)
    }

    /// Whether `password` matches `hash`; with no hash, spends the same time and says no.
    /// 503 when no hashing slot came free in time.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool> {
        let permit = self.turn().await?;
        let known = hash.map(str::to_string);
        let (params, dummy, password) = (self.params.clone(), self.dummy_hash.clone(), password.to_string());
        let verified = tokio::task::spawn_blocking(move || {
            let _permit = permit;
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
        .await;
        Ok(verified.unwrap_or(false))
    }
}

fn hash_with(params: &Params, password: &str) -> anyhow::Result<String> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon.hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| anyhow::anyhow!("hashing: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SLOTS: HashSlots = HashSlots { concurrency: 2, max_wait: Duration::from_secs(5) };

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_that_finds_every_slot_busy_gets_503_after_the_bounded_wait() {
        let slots = HashSlots { concurrency: 1, max_wait: Duration::from_millis(50) };
        let h = Arc::new(PasswordHasher::new(HashCost::Owasp, slots).unwrap());
        let held = h.slots.clone().acquire_owned().await.unwrap();
        let started = std::time::Instant::now();
        match h.verify("x", None).await {
            Err(Error::Unavailable { retry_after_secs: 1 }) => {}
            other => panic!("expected 503, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(2), "the wait is bounded");
        assert!(matches!(h.hash("x").await, Err(Error::Unavailable { .. })));
        drop(held);
        assert!(!h.verify("x", None).await.unwrap(), "a freed slot serves the next request");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_hashes_run_at_once_than_there_are_slots() {
        let h = Arc::new(PasswordHasher::new(HashCost::Fast, SLOTS).unwrap());
        let hash = h.hash("Str0ng!Passw0rd").await.unwrap();
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let (h, hash) = (h.clone(), hash.clone());
                tokio::spawn(async move { h.verify("Str0ng!Passw0rd", Some(&hash)).await.unwrap() })
            })
            .collect();
        let mut fewest_free = SLOTS.concurrency;
        while !tasks.iter().all(|t| t.is_finished()) {
            fewest_free = fewest_free.min(h.slots.available_permits());
            tokio::task::yield_now().await;
        }
        for t in tasks {
            assert!(t.await.unwrap());
        }
        assert_eq!(h.slots.available_permits(), SLOTS.concurrency, "every slot is given back");
        assert!(fewest_free < SLOTS.concurrency, "the slots were used");
    }

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
        let h = PasswordHasher::new(HashCost::Fast, SLOTS).unwrap();
        let hash = h.hash("Str0ng!Passw0rd").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(h.verify("Str0ng!Passw0rd", Some(&hash)).await.unwrap());
        assert!(!h.verify("str0ng!Passw0rd", Some(&hash)).await.unwrap());
        assert!(!h.verify("Str0ng!Passw0rd", None).await.unwrap());
    }

    #[tokio::test]
    async fn production_cost_is_owasps_and_unknown_accounts_pay_it_too() {
        let h = PasswordHasher::new(HashCost::Owasp, SLOTS).unwrap();
        assert!(h.dummy_hash.get().is_none(), "nothing is hashed at cold start");
        let hash = h.hash("Str0ng!Passw0rd").await.unwrap();
        assert!(hash.contains("m=19456,t=2,p=1"), "{hash}");
        assert!(!h.verify("Str0ng!Passw0rd", None).await.unwrap());
        let dummy = h.dummy_hash.get().unwrap();
        assert!(dummy.contains("m=19456,t=2,p=1"), "the dummy costs what a real hash costs: {dummy}");
    }
}
