//! Password hashing: argon2id off the async threads, verifying against a dummy hash when the
//! account is unknown so that both cost the same time.
//!
//! Memory is bounded by construction: at most `concurrency` hashes run at once (a request
//! waits a bounded time for a turn, then gets 503), and each runs in one of at most
//! `concurrency` argon2 hashers, each keeping its 19 MiB memory area between hashes. Letting
//! every hash allocate is not enough: glibc keeps a freed 19 MiB block in the arena of the
//! thread that freed it, and hashes move between the blocking pool's threads, so 40 logins held
//! 700 MB even one at a time (measured; `cli/tests/login_memory.rs` holds the bound).
//!
//! The implementation is `argon2-rust` (a port of the reference C with SIMD fills): on this
//! machine 19 ms a hash where RustCrypto's `argon2` took 32 ms, for identical output. The tests
//! below hold it to RFC 9106's known answer and to RustCrypto's hashes both ways, and to a
//! hash stored by the earlier implementation (`bench/HASHING.md` has the figures).

use std::sync::{Arc, Mutex, OnceLock};

use argon2_rust::params::Memory;
use argon2_rust::{Algorithm, Argon2, Hasher, Params, Version};
use tokio::sync::Semaphore;

use crate::config::{HashCost, HashSlots};
use crate::error::{Error, Result};

/// The costs a stored hash may name and still be verified: well above what we write (OWASP's
/// 19 MiB, 2 passes, 1 lane), far below what would let a stored string spend a function's
/// memory or time (a PHC string may name up to 4 TiB). One worker thread whatever the lanes.
const CEILING: (Memory, u32, u32) = (Memory::mib(64), 10, 8);

pub struct PasswordHasher {
    argon2: Argon2,
    ceiling: Params,
    /// One permit per hash that may run at once.
    slots: Arc<Semaphore>,
    /// Hashers not in use, each with its memory area: never more than there are permits.
    hashers: Arc<Mutex<Vec<Hasher>>>,
    max_wait: std::time::Duration,
    /// A real hash of a random password, verified against when the account does not exist.
    /// Made on first need, not at cold start: most functions never verify a password.
    dummy_hash: Arc<OnceLock<String>>,
}

fn params(memory: Memory, passes: u32, lanes: u32, threads: u32) -> anyhow::Result<Params> {
    let built = Params::builder().memory(memory).passes(passes).lanes(lanes).threads(threads).build();
    built.map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))
}

impl PasswordHasher {
    pub fn new(cost: HashCost, slots: HashSlots) -> anyhow::Result<Self> {
        let written = match cost {
            HashCost::Owasp => params(Memory::kib(19 * 1024), 2, 1, 1)?,
            HashCost::Fast => params(Memory::kib(8), 1, 1, 1)?,
        };
        let (memory, passes, lanes) = CEILING;
        Ok(PasswordHasher {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, written),
            ceiling: params(memory, passes, lanes, 1)?,
            slots: Arc::new(Semaphore::new(slots.concurrency.max(1))),
            max_wait: slots.max_wait,
            hashers: Arc::default(),
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
        let (argon2, password, hashers) = (self.argon2, password.to_string(), self.hashers.clone());
        let hashed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            with_hasher(&hashers, argon2, |h| hash_with(h, &password))
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
        let (argon2, ceiling, dummy) = (self.argon2, self.ceiling, self.dummy_hash.clone());
        let (password, hashers) = (password.to_string(), self.hashers.clone());
        let verified = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            with_hasher(&hashers, argon2, |h| {
                let hash = match &known {
                    Some(hash) => hash.as_str(),
                    None => dummy.get_or_init(|| {
                        let random = super::tokens::random_token().unwrap_or_default();
                        hash_with(h, &random).unwrap_or_default()
                    }),
                };
                verify_with(h, password.as_bytes(), hash, &ceiling) && known.is_some()
            })
        })
        .await;
        Ok(verified.unwrap_or(false))
    }
}

/// Runs `f` with a hasher from the pool (or a new one when all are out), and puts it back.
fn with_hasher<T>(pool: &Mutex<Vec<Hasher>>, argon2: Argon2, f: impl FnOnce(&mut Hasher) -> T) -> T {
    let mut hasher = pool.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or_else(|| argon2.hasher());
    let result = f(&mut hasher);
    pool.lock().unwrap_or_else(|p| p.into_inner()).push(hasher);
    result
}

/// The PHC string of a new argon2id hash (random 16-byte salt, 32-byte output).
fn hash_with(hasher: &mut Hasher, password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    hasher.hash_encoded(password.as_bytes(), &salt).map_err(|e| anyhow::anyhow!("hashing: {e}"))
}

/// Whether `password` matches the PHC string `hash`, computed with the parameters the hash
/// names (so older hashes keep verifying) if they are within `ceiling`, and compared in
/// constant time (argon2-rust's `constant_time_eq`).
fn verify_with(hasher: &mut Hasher, password: &[u8], hash: &str, ceiling: &Params) -> bool {
    match hasher.verify_encoded_bounded(hash, password, Algorithm::Argon2id, ceiling) {
        Ok(()) => true,
        Err(argon2_rust::Error::VerifyMismatch) => false,
        Err(e) => {
            tracing::warn!(error = %e, "a stored password hash could not be verified");
            false
        }
    }
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
        // A hash costly enough (4 MiB, 3 passes) that verifications overlap long enough to be
        // seen holding the slots: at the test cost they end before the observer looks.
        let costly = Argon2::new(Algorithm::Argon2id, Version::V0x13, params(Memory::mib(4), 3, 1, 1).unwrap());
        let hash = costly.hash_encoded(b"Str0ng!Passw0rd", b"sixteen-byte-slt").unwrap();
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
        let areas = h.hashers.lock().unwrap().len();
        assert!((1..=SLOTS.concurrency).contains(&areas), "{areas} memory areas for {} slots", SLOTS.concurrency);
    }

    /// RFC 9106, 5.3: Argon2id, version 0x13, 32 KiB, 3 passes, 4 lanes, with a secret and
    /// associated data.
    #[test]
    fn argon2id_gives_rfc_9106s_known_answer() {
        let params = Params::builder().memory(Memory::kib(32)).passes(3).lanes(4).threads(1).build().unwrap();
        let mut tag = [0u8; 32];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_into_with_ad(&[1; 32], &[2; 16], &[3; 8], &[4; 12], &mut tag)
            .unwrap();
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659");
    }

    /// The same password, salt and costs give the same PHC string with RustCrypto's `argon2`
    /// (what we used before) and with `argon2-rust`, and each verifies the other's hashes.
    #[test]
    fn hashes_are_those_of_rustcryptos_argon2_both_ways() {
        use argon2::password_hash::phc::PasswordHash;
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let ceiling = params(Memory::mib(64), 10, 8, 1).unwrap();
        for (m, t, p) in [(8, 1, 1), (64, 3, 1), (256, 2, 2), (19 * 1024, 2, 1)] {
            let theirs_params = argon2::Params::new(m, t, p, None).unwrap();
            let theirs = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, theirs_params);
            let salt = *b"sixteen-byte-slt";
            let password = format!("Str0ng!{m}-{t}-{p}");
            let mut raw = [0u8; 32];
            theirs.hash_password_into(password.as_bytes(), &salt, &mut raw).unwrap();
            let ours =
                Argon2::new(Algorithm::Argon2id, Version::V0x13, params(Memory::kib(m.into()), t, p, 1).unwrap());
            let mut hasher = ours.hasher();
            let phc = hasher.hash_encoded(password.as_bytes(), &salt).unwrap();
            let mut our_raw = [0u8; 32];
            hasher.hash_into(password.as_bytes(), &salt, &mut our_raw).unwrap();
            assert_eq!(our_raw, raw, "m={m} t={t} p={p}");
            let parsed = PasswordHash::new(&phc).unwrap();
            assert!(theirs.verify_password(password.as_bytes(), &parsed).is_ok(), "theirs verifies ours: {phc}");
            assert!(theirs.verify_password(b"wrong", &parsed).is_err());
            let made_by_them = theirs.hash_password(password.as_bytes()).unwrap().to_string();
            assert!(verify_with(&mut hasher, password.as_bytes(), &made_by_them, &ceiling), "{made_by_them}");
            assert!(!verify_with(&mut hasher, b"wrong", &made_by_them, &ceiling));
        }
    }

    /// Hashes stored by the earlier implementation (RustCrypto's `argon2` 0.6, our PHC
    /// encoding), at the production and the test cost, keep verifying.
    #[test]
    fn hashes_stored_before_keep_working() {
        let ceiling = params(Memory::mib(64), 10, 8, 1).unwrap();
        let mut hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, ceiling).hasher();
        let stored = [
            (
                "$argon2id$v=19$m=19456,t=2,p=1$aWFtLWxlZ2FjeS1zYWx0IQ$ZM0x2TuuB0pNXVTvHNad96USlokfNO5yL/89KqZDQLk",
                "Str0ng!Passw0rd",
            ),
            (
                "$argon2id$v=19$m=8,t=1,p=1$aWFtLWxlZ2FjeS1zYWx0IQ$yy3Opjtnq5TxbBzYAub0ZelwEWzSltqozXCx2vvrAvg",
                "Fast!Passw0rd1",
            ),
        ];
        for (hash, password) in stored {
            assert!(verify_with(&mut hasher, password.as_bytes(), hash, &ceiling), "{hash}");
            assert!(!verify_with(&mut hasher, b"Str0ng!Passw0rD", hash, &ceiling));
        }
        let salt = b"iam-legacy-salt!";
        let rehashed = Argon2::new(Algorithm::Argon2id, Version::V0x13, params(Memory::kib(8), 1, 1, 1).unwrap())
            .hash_encoded(b"Fast!Passw0rd1", salt)
            .unwrap();
        assert_eq!(rehashed, stored[1].0, "the PHC string is written the same way");
    }

    /// A stored string naming a huge cost (4 TiB, a million passes) is refused before any
    /// memory is taken, and is not a match.
    #[test]
    fn a_stored_hash_over_the_ceiling_is_refused_without_being_computed() {
        let ceiling = params(Memory::mib(64), 10, 8, 1).unwrap();
        let mut hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, ceiling).hasher();
        for hostile in [
            "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "$argon2id$v=19$m=8,t=1000000,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "$argon2i$v=19$m=8,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "not a hash",
        ] {
            let started = std::time::Instant::now();
            assert!(!verify_with(&mut hasher, b"password", hostile, &ceiling), "{hostile}");
            assert!(started.elapsed() < Duration::from_secs(1), "{hostile} was computed");
        }
        assert_eq!(hasher.reserved_blocks(), 0, "nothing was allocated for them");
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
