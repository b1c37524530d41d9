//! Brute-force defence: at most `max` attempts per key (an email, a client address) in fixed
//! windows that open at the first attempt. Every attempt first *reserves* a slot with one
//! conditional atomic increment (`count < max` in a live window), and only then is the
//! password verified: parallel requests cannot all pass a check made before any of them is
//! counted. A success clears the email's counter and gives its slot back on the address's;
//! an attempt that was never evaluated (no hashing slot came free) gives back both. Each
//! counter item expires with its window.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::password::PasswordHasher;
use super::tokens::hash_token;
use crate::clock;
use crate::config::{Config, Limit};
use crate::error::{Error, Result};
use crate::model::account::Email;
use crate::store::schema::{THROTTLES, TTL};
use crate::store::{Condition, Item, Store, StoreError, Update, Write};

/// How often a reservation that lost a race to open a window is tried again. Each loss means
/// another request opened the window meanwhile, so a retry nearly always lands.
const ATTEMPTS: usize = 8;

/// Failed logins for an email (known or not, so a 429 says nothing about existence). The
/// email is hashed: the table holds no addresses.
pub fn login_by_email(email: &str) -> String {
    format!("login-email#{}", hash_token(&counted_as(email)))
}

/// The form an email is counted under: as accepted (an internationalized domain in ASCII, so
/// `ann@bücher.example` and `ann@xn--bcher-kva.example` share one count), lower-cased.
fn counted_as(email: &str) -> String {
    Email::accept(email).map_or_else(|| email.trim().to_lowercase(), |e| e.as_str().to_lowercase())
}

/// Failed logins from a client address: an IPv4 address itself, an IPv6 client by its /64.
/// One IPv6 subscriber is handed a whole /64 (RFC 6177) and may pick a new address in it for
/// every request (RFC 8981 temporary addresses), so counting single IPv6 addresses would count
/// nothing.
pub fn login_by_address(ip: &str) -> String {
    format!("login-address#{}", address_key(ip))
}

fn address_key(ip: &str) -> String {
    use std::net::IpAddr;
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u128::from(v6) & !(u128::MAX >> 64);
                format!("{}/64", std::net::Ipv6Addr::from(prefix))
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        // The platform always gives an address; anything else is counted as it came.
        Err(_) => ip.to_string(),
    }
}

/// Password reset requests for an email.
pub fn reset_by_email(email: &str) -> String {
    format!("reset-email#{}", hash_token(&counted_as(email)))
}

/// Password reset requests from a client address (counted like failed logins' addresses).
pub fn reset_by_address(ip: &str) -> String {
    format!("reset-address#{}", address_key(ip))
}

/// The end of an item's window, in epoch seconds (0: none).
fn window_end(item: &Item) -> i64 {
    item.get(TTL).and_then(Value::as_i64).unwrap_or(0)
}

fn count(item: &Item) -> u64 {
    item.get("count").and_then(Value::as_u64).unwrap_or(0)
}

/// One attempt counted against a key's window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    key: String,
    /// The window the slot was taken in (epoch seconds of its end).
    window_end: i64,
}

/// Takes one slot in `key`'s live window, opening a new window when there is none: 429 with
/// the seconds until the window closes when it is full.
pub async fn reserve(store: &dyn Store, key: &str, limit: Limit, now: OffsetDateTime) -> Result<Slot> {
    let window = time::Duration::try_from(limit.window).map_err(Error::unexpected)?;
    let now_s = now.unix_timestamp();
    for _ in 0..ATTEMPTS {
        let take = Update::new(&THROTTLES, key).add("count", 1).when(Condition::All(vec![
            Condition::AttrGreater(TTL, json!(now_s)),
            Condition::AttrLess("count", json!(limit.max)),
        ]));
        match store.update(take).await {
            Ok(item) => return Ok(Slot { key: key.into(), window_end: window_end(&item) }),
            Err(StoreError::ConditionFailed(_)) => {}
            Err(e) => return Err(e.into()),
        }
        // Full, closed, or never opened.
        if let Some(item) = store.get(&THROTTLES, key).await? {
            let end = window_end(&item);
            if end > now_s && count(&item) >= u64::from(limit.max) {
                return Err(Error::TooManyRequests { retry_after_secs: (end - now_s).max(1).unsigned_abs() });
            }
            if end > now_s {
                continue; // another request opened a window meanwhile: take a slot in it
            }
        }
        let end = now + window;
        let open = Update::new(&THROTTLES, key)
            .set("count", 1)
            .set("expires_at", clock::format(end))
            .set(TTL, end.unix_timestamp())
            .when(Condition::Any(vec![Condition::NotExists, Condition::AttrLess(TTL, json!(now_s + 1))]));
        match store.update(open).await {
            Ok(_) => return Ok(Slot { key: key.into(), window_end: end.unix_timestamp() }),
            Err(StoreError::ConditionFailed(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    // Fail closed: an attempt that could not be counted is not evaluated.
    tracing::warn!(key, "throttle counter kept losing races; the attempt was refused");
    Err(Error::Unavailable { retry_after_secs: 1 })
}

/// Gives a slot back, if its window is still the live one (a new window owes it nothing).
pub async fn release(store: &dyn Store, slot: &Slot) -> Result<()> {
    let give_back = Update::new(&THROTTLES, slot.key.clone()).add("count", -1).when(Condition::All(vec![
        Condition::AttrEquals(TTL, json!(slot.window_end)),
        Condition::AttrGreater("count", json!(0)),
    ]));
    match store.update(give_back).await {
        Ok(_) | Err(StoreError::ConditionFailed(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Forgets `key`'s events (a successful login clears its email's failures).
pub async fn clear(store: &dyn Store, key: &str) -> Result<()> {
    store.transact(vec![Write::Delete { table: &THROTTLES, id: key.into(), condition: None }]).await?;
    Ok(())
}

/// A login attempt (a password, or a second factor's code) that holds its slots under the login
/// limits: per email and, when the client address is known, per address. `verify` (a
/// password) or `settle` (a code checked by the caller) is the only way to use it.
#[must_use = "an attempt is settled by verify or settle"]
pub struct LoginAttempt {
    email: Slot,
    address: Option<Slot>,
}

/// A right password or code whose slots still wait for the login's outcome: `complete` when the
/// login is done, `defer` when a second factor is still due.
#[must_use = "a passed attempt is completed or deferred"]
pub struct Passed {
    email: Slot,
    address: Option<Slot>,
}

impl Passed {
    /// The login is complete: the email's failures are cleared and the address's slot given back.
    pub async fn complete(self, store: &dyn Store) -> Result<()> {
        clear(store, &self.email.key).await?;
        if let Some(slot) = &self.address {
            release(store, slot).await?;
        }
        Ok(())
    }

    /// A second factor is still due: the right password is no failure (both slots are given
    /// back), yet it clears nothing. Only a completed login clears the email's failures, so
    /// that knowing the password buys no fresh round of code guesses.
    pub async fn defer(self, store: &dyn Store) -> Result<()> {
        for slot in std::iter::once(&self.email).chain(&self.address) {
            release(store, slot).await?;
        }
        Ok(())
    }
}

impl LoginAttempt {
    /// Reserves the attempt's slots (429 if either limit is reached; a slot already taken is
    /// given back then, since nothing was evaluated).
    pub async fn begin(
        store: &dyn Store,
        config: &Config,
        email: &str,
        address: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<LoginAttempt> {
        let address = match address {
            Some(ip) => Some(reserve(store, &login_by_address(ip), config.login_failures_per_address, now).await?),
            None => None,
        };
        match reserve(store, &login_by_email(email), config.login_failures_per_account, now).await {
            Ok(email) => Ok(LoginAttempt { email, address }),
            Err(e) => {
                if let Some(slot) = &address {
                    release(store, slot).await?;
                }
                Err(e)
            }
        }
    }

    /// Verifies `password` against `hash` (`None`: an unknown or unusable account, which costs
    /// the same and fails). A failure keeps both slots; a 503 (no hashing slot) gives both back.
    pub async fn verify(
        self,
        store: &dyn Store,
        hasher: &PasswordHasher,
        password: &str,
        hash: Option<&str>,
    ) -> Result<Option<Passed>> {
        match hasher.verify(password, hash).await {
            Ok(opened) => Ok(self.settle(opened)),
            Err(e) => {
                for slot in std::iter::once(&self.email).chain(&self.address) {
                    release(store, slot).await?;
                }
                Err(e)
            }
        }
    }

    /// The outcome of what the attempt was reserved for: a failure keeps both slots (it counts);
    /// a success is `Passed`, to be completed or deferred.
    pub fn settle(self, succeeded: bool) -> Option<Passed> {
        succeeded.then_some(Passed { email: self.email, address: self.address })
    }
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::embedded::EmbeddedStore;
    use std::time::Duration;

    #[test]
    fn an_ipv6_client_is_counted_by_its_slash_64() {
        let a = login_by_address("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
        assert_eq!(a, "login-address#2001:db8:1:2::/64");
        assert_eq!(login_by_address("2001:DB8:1:2::1"), a, "any address of the /64, in any spelling");
        assert_ne!(login_by_address("2001:db8:1:3::1"), a, "the next /64 is another client");
        assert_eq!(login_by_address("192.0.2.1"), "login-address#192.0.2.1");
        assert_eq!(
            login_by_address("::ffff:192.0.2.1"),
            "login-address#192.0.2.1",
            "an IPv4 client seen by a dual-stack socket"
        );
    }

    #[tokio::test]
    async fn a_key_is_blocked_at_its_limit_until_the_window_closes() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("db")).unwrap();
        let limit = Limit { max: 3, window: Duration::from_secs(900) };
        let t0 = clock::parse("2026-11-23T10:00:00Z").unwrap();
        let key = login_by_email("Ann@Example.com");
        assert_eq!(key, login_by_email("ann@example.com "), "emails are compared lower-cased");
        let mut slots = Vec::new();
        for minute in 0..3 {
            slots.push(reserve(&store, &key, limit, t0 + time::Duration::minutes(minute)).await.unwrap());
        }
        let at = t0 + time::Duration::minutes(5);
        match reserve(&store, &key, limit, at).await {
            Err(Error::TooManyRequests { retry_after_secs }) => assert_eq!(retry_after_secs, 600),
            other => panic!("expected 429, got {other:?}"),
        }
        release(&store, &slots[0]).await.unwrap();
        reserve(&store, &key, limit, at).await.expect("a slot given back can be taken again");
        let closed = t0 + time::Duration::minutes(15);
        let fresh = reserve(&store, &key, limit, closed).await.expect("the window closed");
        let item = store.get(&THROTTLES, &key).await.unwrap().unwrap();
        assert_eq!(count(&item), 1, "a new window starts from one");
        release(&store, &slots[1]).await.unwrap();
        assert_eq!(count(&store.get(&THROTTLES, &key).await.unwrap().unwrap()), 1, "an old window's slot is not owed");
        release(&store, &fresh).await.unwrap();
        release(&store, &fresh).await.unwrap();
        assert_eq!(count(&store.get(&THROTTLES, &key).await.unwrap().unwrap()), 0, "never below zero");
        clear(&store, &key).await.unwrap();
        assert!(store.get(&THROTTLES, &key).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_attempt_settles_its_slots_by_its_outcome() {
        use crate::config::{HashCost, HashSlots};
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("db")).unwrap();
        let config = Config::from_lookup(|_| None).unwrap();
        let now = clock::parse("2026-11-23T10:00:00Z").unwrap();
        let slots = HashSlots { concurrency: 1, max_wait: Duration::from_millis(20) };
        let hasher = PasswordHasher::new(HashCost::Fast, slots).unwrap();
        let hash = hasher.hash("Str0ng!Passw0rd").await.unwrap();
        let counted = |key: String| {
            let store = &store;
            async move { store.get(&THROTTLES, &key).await.unwrap().map_or(0, |i| count(&i)) }
        };
        let (email, ip) = ("ann@example.com", Some("192.0.2.1"));
        let begin = || LoginAttempt::begin(&store, &config, email, ip, now);

        let attempt = begin().await.unwrap();
        assert!(attempt.verify(&store, &hasher, "wrong", Some(&hash)).await.unwrap().is_none());
        assert_eq!((counted(login_by_email(email)).await, counted(login_by_address("192.0.2.1")).await), (1, 1));

        let busy = hasher.occupy_every_slot().await;
        let attempt = begin().await.unwrap();
        assert!(matches!(attempt.verify(&store, &hasher, "wrong", Some(&hash)).await, Err(Error::Unavailable { .. })));
        assert_eq!(
            (counted(login_by_email(email)).await, counted(login_by_address("192.0.2.1")).await),
            (1, 1),
            "an attempt never evaluated gives both slots back"
        );
        drop(busy);

        let attempt = begin().await.unwrap();
        let passed = attempt.verify(&store, &hasher, "Str0ng!Passw0rd", Some(&hash)).await.unwrap().unwrap();
        passed.defer(&store).await.unwrap();
        assert_eq!(
            (counted(login_by_email(email)).await, counted(login_by_address("192.0.2.1")).await),
            (1, 1),
            "a right password with a second factor due neither counts nor clears"
        );

        let attempt = begin().await.unwrap();
        let passed = attempt.verify(&store, &hasher, "Str0ng!Passw0rd", Some(&hash)).await.unwrap().unwrap();
        passed.complete(&store).await.unwrap();
        assert_eq!(counted(login_by_email(email)).await, 0, "a success clears the email's failures");
        assert_eq!(counted(login_by_address("192.0.2.1")).await, 1, "and gives back only its own slot on the address");
    }
}
