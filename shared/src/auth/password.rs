//! Password hashing: argon2id off the async threads, verifying
//! against a dummy hash when the account is unknown so that both cost the same time.
//!
//! Memory is bounded by construction: at most `concurrency` hashes run at once (a request
//! waits a bounded time for a turn, then gets 503), and each runs in one of at most
//! `concurrency` argon2 memory areas (19 MiB each) that are allocated once and reused. Letting
//! argon2 allocate per hash is not enough: glibc keeps a freed 19 MiB block in the arena of the
//! thread that freed it, and hashes move between the blocking pool's threads, so 40 logins held
//! 700 MB even one at a time (measured; `cli/tests/login_memory.rs` holds the bound).

use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use tokio::sync::Semaphore;

use crate::config::{HashCost, HashSlots};
use crate::error::{Error, Result};

pub struct PasswordHasher {
    params: Params,
    /// One permit per hash that may run at once.
    slots: Arc<Semaphore>,
    /// Argon2 memory areas not in use: never more than there are permits.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
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
            memory: Arc::default(),
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

    /// Takes every hashing slot, as a burst would (tests of what waits for one).
    #[cfg(test)]
    pub(crate) async fn occupy_every_slot(&self) -> tokio::sync::OwnedSemaphorePermit {
        let n = u32::try_from(self.slots.available_permits()).unwrap_or(u32::MAX);
        self.slots.clone().acquire_many_owned(n).await.expect("open semaphore")
    }

    /// The PHC string of a new argon2id hash of `password`.
    pub async fn hash(&self, password: &str) -> Result<String> {
        let permit = self.turn().await?;
        let (params, password, memory) = (self.params.clone(), password.to_string(), self.memory.clone());
        let hashed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            with_memory(&memory, |m| hash_with(&params, &password, m))
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
        let memory = self.memory.clone();
        let verified = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            with_memory(&memory, |m| {
                let hash = match &known {
                    Some(hash) => hash.as_str(),
                    None => dummy.get_or_init(|| {
                        let random = super::tokens::random_token().unwrap_or_default();
                        hash_with(&params, &random, m).unwrap_or_default()
                    }),
                };
                verify_with(password.as_bytes(), hash, m) && known.is_some()
            })
        })
        .await;
        Ok(verified.unwrap_or(false))
    }
}

/// Runs `f` with a memory area from the pool (or a new one when all are out), and puts it back.
fn with_memory<T>(pool: &Mutex<Vec<Vec<Block>>>, f: impl FnOnce(&mut Vec<Block>) -> T) -> T {
    let mut memory = pool.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or_default();
    let result = f(&mut memory);
    pool.lock().unwrap_or_else(|p| p.into_inner()).push(memory);
    result
}

/// The raw argon2 output of `password` under these parameters, in `memory` (grown if smaller
/// than they need; argon2 writes every block before reading it, so reused memory is safe).
fn compute(
    argon: Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> argon2::Result<()> {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
}

/// The PHC string of a new argon2id hash (random 16-byte salt, 32-byte output).
fn hash_with(params: &Params, password: &str, memory: &mut Vec<Block>) -> anyhow::Result<String> {
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    compute(argon, params, password.as_bytes(), &salt, &mut out, memory)
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| anyhow::anyhow!("hash parameters: {e}"))?,
        salt: Some(Salt::new(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("hash output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `hash`, computed with the parameters the hash
/// names (so older hashes keep verifying) and compared in constant time (`Output`'s `==`).
fn verify_with(password: &[u8], hash: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else { return false };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else { return false };
    let Ok(version) = parsed.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    compute(argon, &params, password, salt, &mut out, memory).is_ok()
        && Output::new(&out).is_ok_and(|computed| computed == *expected)
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
        let areas = h.memory.lock().unwrap().len();
        assert!((1..=SLOTS.concurrency).contains(&areas), "{areas} memory areas for {} slots", SLOTS.concurrency);
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_verifier() {
        use argon2::password_hash::PasswordVerifier as _;
        let params = Params::new(64, 1, 1, None).unwrap();
        let mut memory = Vec::new();
        let ours = hash_with(&params, "Str0ng!Passw0rd", &mut memory).unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"Str0ng!Passw0rd", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"str0ng!Passw0rd", &parsed).is_err());
        // A hash made by the crate with other parameters verifies here, in memory reused from a
        // larger hash, and only for its password.
        use argon2::password_hash::PasswordHasher as _;
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(32, 2, 1, None).unwrap())
            .hash_password(b"0ther!Passw0rd")
            .unwrap()
            .to_string();
        assert!(verify_with(b"0ther!Passw0rd", &theirs, &mut memory));
        assert!(!verify_with(b"0ther!Passw0rd ", &theirs, &mut memory));
        assert!(!verify_with(b"0ther!Passw0rd", "not a hash", &mut memory));
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
