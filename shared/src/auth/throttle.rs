//! Brute-force defence: counting recent events per key (failed logins per email and per client
//! address, reset requests per email) in fixed windows that open at the first event. One item
//! per key, written with optimistic concurrency and retried, so concurrent failures are all
//! counted; each item expires with its window.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::tokens::hash_token;
use crate::clock;
use crate::config::Limit;
use crate::error::{Error, Result};
use crate::records;
use crate::store::schema::{THROTTLES, TTL};
use crate::store::{Condition, Item, Store, StoreError, Write};

/// How often a lost write race is retried before the event is given up on.
const ATTEMPTS: usize = 8;

/// Failed logins for an email (known or not, so a 429 says nothing about existence). The
/// email is hashed: the table holds no addresses.
pub fn login_by_email(email: &str) -> String {
    format!("login-email#{}", hash_token(&email.trim().to_lowercase()))
}

/// Failed logins from a client address.
pub fn login_by_address(ip: &str) -> String {
    format!("login-address#{ip}")
}

/// Password reset requests for an email.
pub fn reset_by_email(email: &str) -> String {
    format!("reset-email#{}", hash_token(&email.trim().to_lowercase()))
}

fn window_end(item: &Item) -> Option<OffsetDateTime> {
    item.get("expires_at").and_then(Value::as_str).and_then(clock::parse)
}

fn count(item: &Item) -> u64 {
    item.get("count").and_then(Value::as_u64).unwrap_or(0)
}

/// 429 with the seconds until the window closes if `key` has reached `limit`; otherwise
/// whether `key` has events in an open window (so a success knows whether to clear them).
pub async fn check(store: &dyn Store, key: &str, limit: Limit, now: OffsetDateTime) -> Result<bool> {
    let Some(item) = store.get(&THROTTLES, key).await? else { return Ok(false) };
    match window_end(&item) {
        Some(end) if end > now && count(&item) >= u64::from(limit.max) => {
            let wait = (end - now).whole_seconds().max(1);
            Err(Error::TooManyRequests { retry_after_secs: wait.unsigned_abs() })
        }
        Some(end) => Ok(end > now),
        None => Ok(false),
    }
}

/// Counts one event for `key`, opening a new window when there is none or it has closed.
pub async fn record(store: &dyn Store, key: &str, limit: Limit, now: OffsetDateTime) -> Result<()> {
    let window = time::Duration::try_from(limit.window).map_err(Error::unexpected)?;
    for _ in 0..ATTEMPTS {
        let old = store.get(&THROTTLES, key).await?;
        let live = old.as_ref().filter(|i| window_end(i).is_some_and(|end| end > now));
        let (n, end) = match live {
            Some(i) => (count(i) + 1, window_end(i).unwrap_or(now + window)),
            None => (1, now + window),
        };
        let mut item = json!({"id": key, "count": n, "expires_at": clock::format(end), TTL: end.unix_timestamp()})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let condition = match &old {
            Some(o) => Condition::AttrEquals("version", json!(records::version_of(o))),
            None => Condition::NotExists,
        };
        item.insert("version".into(), json!(old.as_ref().map_or(0, records::version_of) + 1));
        match store.transact(vec![Write::Put { table: &THROTTLES, item, condition: Some(condition) }]).await {
            Ok(()) => return Ok(()),
            Err(StoreError::ConditionFailed(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    tracing::warn!(key, "throttle counter kept losing write races; this event was not counted");
    Ok(())
}

/// Forgets `key`'s events (a successful login clears its email's failures).
pub async fn clear(store: &dyn Store, key: &str) -> Result<()> {
    store.transact(vec![Write::Delete { table: &THROTTLES, id: key.into(), condition: None }]).await?;
    Ok(())
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;
    use crate::store::embedded::EmbeddedStore;
    use std::time::Duration;

    #[tokio::test]
    async fn a_key_is_blocked_at_its_limit_until_the_window_closes() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("db")).unwrap();
        let limit = Limit { max: 3, window: Duration::from_secs(900) };
        let t0 = clock::parse("2026-11-23T10:00:00Z").unwrap();
        let key = login_by_email("Ann@Example.com");
        assert_eq!(key, login_by_email("ann@example.com "), "emails are compared lower-cased");
        for minute in 0..3 {
            check(&store, &key, limit, t0).await.unwrap();
            record(&store, &key, limit, t0 + time::Duration::minutes(minute)).await.unwrap();
        }
        let at = t0 + time::Duration::minutes(5);
        match check(&store, &key, limit, at).await {
            Err(Error::TooManyRequests { retry_after_secs }) => assert_eq!(retry_after_secs, 600),
            other => panic!("expected 429, got {other:?}"),
        }
        check(&store, &key, limit, t0 + time::Duration::minutes(15)).await.expect("the window closed");
        record(&store, &key, limit, t0 + time::Duration::minutes(15)).await.unwrap();
        let item = store.get(&THROTTLES, &key).await.unwrap().unwrap();
        assert_eq!(count(&item), 1, "a new window starts from one");
        clear(&store, &key).await.unwrap();
        assert!(store.get(&THROTTLES, &key).await.unwrap().is_none());
    }
}
