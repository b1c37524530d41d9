//! Sessions: created at login, carrying the hash of the current refresh token. A refresh
//! rotates the token; presenting a token that was already rotated revokes the whole session
//! (reuse detection, as OAuth 2.0 Security BCP §4.14 recommends).

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::tokens::{constant_time_eq, hash_token, random_token};
use crate::clock;
use crate::error::{Error, Result};
use crate::ids::{is_id, new_id};
use crate::records;
use crate::store::schema::{SESSIONS, SESSIONS_BY_ACCOUNT};
use crate::store::{Item, MAX_TRANSACTION_WRITES, Query, Store, Write, query_all};

/// How many rotated refresh-token hashes a session remembers for reuse detection. A token
/// older than that is refused as unknown rather than treated as reuse.
pub const REMEMBERED_ROTATIONS: usize = 32;

/// Where a login came from, kept on the session for the admin console.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// A session that may be used now by `account_id`.
pub fn is_live(session: &Item, account_id: &str, now: OffsetDateTime) -> bool {
    session.get("account_id").and_then(Value::as_str) == Some(account_id)
        && session.get("expires_at").and_then(Value::as_str).and_then(clock::parse).is_some_and(|at| at > now)
}

fn refresh_token(session_id: &str) -> anyhow::Result<String> {
    Ok(format!("{session_id}.{}", random_token()?))
}

/// Starts a session for `account`; returns the session and its first refresh token.
pub async fn start(
    store: &dyn Store,
    account: &Item,
    origin: Origin,
    ttl: std::time::Duration,
    now: OffsetDateTime,
) -> Result<(Item, String)> {
    let account_id = records::id_of(account);
    let id = new_id();
    let token = refresh_token(&id)?;
    let ttl = time::Duration::try_from(ttl).map_err(Error::unexpected)?;
    let session = json!({
        "id": id,
        "account_id": account_id,
        "refresh_hash": hash_token(&token),
        "retired_hashes": [],
        "refresh_seq": 0,
        "user_agent": origin.user_agent,
        "ip": origin.ip,
        "created_at": clock::format(now),
        "last_used_at": clock::format(now),
        "expires_at": clock::format(now + ttl),
        // DynamoDB TTL removes the item some time after this (epoch seconds).
        "ttl": (now + ttl).unix_timestamp(),
    });
    let mut session = session.as_object().cloned().unwrap_or_default();
    // Admins of the account's organization see the session (`/account_sessions`); an index key
    // is never null, so a session of an account without one has none.
    if let Some(org) = account.get("organization_id").filter(|o| o.is_string()) {
        session.insert("organization_id".into(), org.clone());
    }
    let session = records::insert(store, &SESSIONS, session, &[], vec![]).await?;
    Ok((session, token))
}

/// Rotates a refresh token: returns the session and the next refresh token.
pub async fn refresh(store: &dyn Store, token: &str, origin: Origin, now: OffsetDateTime) -> Result<(Item, String)> {
    // A token of ours is `<session id>.<secret>`; anything else is refused before the store
    // sees its key.
    let (session_id, _) = token
        .split_once('.')
        .filter(|(id, secret)| is_id(id) && !secret.is_empty())
        .ok_or_else(Error::invalid_grant)?;
    let session = store.get(&SESSIONS, session_id).await?.ok_or_else(Error::invalid_grant)?;
    let account_id = session.get("account_id").and_then(Value::as_str).unwrap_or_default().to_string();
    if !is_live(&session, &account_id, now) {
        return Err(Error::invalid_grant());
    }
    let presented = hash_token(token);
    let current = session.get("refresh_hash").and_then(Value::as_str).unwrap_or_default();
    if !constant_time_eq(&presented, current) {
        end_if_reused(store, &session, &presented).await?;
        return Err(Error::invalid_grant());
    }
    let next = refresh_token(session_id)?;
    let mut retired = session.get("retired_hashes").and_then(Value::as_array).cloned().unwrap_or_default();
    retired.push(json!(current));
    if retired.len() > REMEMBERED_ROTATIONS {
        retired.drain(..retired.len() - REMEMBERED_ROTATIONS);
    }
    let mut updated = session.clone();
    let seq = session.get("refresh_seq").and_then(Value::as_i64).unwrap_or(0) + 1;
    updated.insert("refresh_hash".into(), json!(hash_token(&next)));
    updated.insert("retired_hashes".into(), Value::Array(retired));
    updated.insert("refresh_seq".into(), json!(seq));
    updated.insert("last_used_at".into(), json!(clock::format(now)));
    if let Some(ua) = origin.user_agent {
        updated.insert("user_agent".into(), json!(ua));
    }
    if let Some(ip) = origin.ip {
        updated.insert("ip".into(), json!(ip));
    }
    // Two refreshes racing with the same token: one wins the version check. The loser's token
    // was rotated under it, which is reuse like any other (RFC 9700 §4.14.2): whoever holds the
    // other copy may be an attacker, so the session ends for both. Deciding on a fresh read
    // makes the outcome the same whichever request the store let through first.
    match records::replace(store, &SESSIONS, &session, updated, &[], &[]).await {
        Ok(updated) => Ok((updated, next)),
        Err(Error::Conflict(_)) => {
            if let Some(now_stored) = store.get(&SESSIONS, session_id).await? {
                end_if_reused(store, &now_stored, &presented).await?;
            }
            Err(Error::invalid_grant())
        }
        Err(other) => Err(other),
    }
}

/// Ends the session when `presented` (a token hash) is one it already rotated away from.
async fn end_if_reused(store: &dyn Store, session: &Item, presented: &str) -> Result<()> {
    let retired = session.get("retired_hashes").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    // Every remembered hash is compared, so the time does not say which one matched.
    let reused = retired.iter().filter_map(Value::as_str).fold(false, |hit, h| hit | constant_time_eq(presented, h));
    if reused {
        let session_id = records::id_of(session);
        tracing::warn!(session_id, "refresh token reuse: revoking the session");
        end(store, session_id).await?;
    }
    Ok(())
}

/// Ends a session at once: its access and refresh tokens stop working.
pub async fn end(store: &dyn Store, session_id: &str) -> Result<()> {
    let write = Write::Delete { table: &SESSIONS, id: session_id.into(), condition: None };
    store.transact(vec![write]).await?;
    Ok(())
}

/// Ends every session of an account except `keep` (a password change keeps the caller's):
/// their tokens stop working at once. Returns how many ended.
pub async fn end_all(store: &dyn Store, account_id: &str, keep: Option<&str>) -> Result<usize> {
    let sessions = query_all(store, Query::partition(&SESSIONS, &SESSIONS_BY_ACCOUNT, account_id)).await?;
    let ids: Vec<String> =
        sessions.iter().map(records::id_of).filter(|id| Some(*id) != keep).map(str::to_string).collect();
    for chunk in ids.chunks(MAX_TRANSACTION_WRITES) {
        let writes =
            chunk.iter().map(|id| Write::Delete { table: &SESSIONS, id: id.clone(), condition: None }).collect();
        store.transact(writes).await?;
    }
    Ok(ids.len())
}
