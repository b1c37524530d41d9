//! Sessions: created at login, carrying the hash of the current refresh token. A refresh
//! rotates the token; presenting a token that was already rotated revokes the whole session
//! (reuse detection, as OAuth 2.0 Security BCP §4.14 recommends).

use serde_json::json;
use time::OffsetDateTime;

use super::tokens::{constant_time_eq, hash_token, random_token};
use crate::clock;
use crate::error::{Error, Result};
use crate::ids::{is_id, new_id};
use crate::model::account_session::Session;
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
    Session::parse(session).is_live(account_id, now)
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

/// The live session whose current refresh token is `token`, if any (introspection and RFC 7009
/// revocation; a refresh itself goes through [`refresh`], which also detects reuse).
pub async fn of_refresh_token(store: &dyn Store, token: &str, now: OffsetDateTime) -> Result<Option<Item>> {
    let Some((session_id, _)) = token.split_once('.').filter(|(id, secret)| is_id(id) && !secret.is_empty()) else {
        return Ok(None);
    };
    let Some(session) = store.get(&SESSIONS, session_id).await? else { return Ok(None) };
    let known = Session::parse(&session);
    let current = constant_time_eq(&hash_token(token), &known.refresh_hash);
    Ok((current && known.expires_at.is_some_and(|at| at > now)).then_some(session))
}

/// The session that issued refresh token `token`, now or before a rotation (revocation: a
/// holder of a rotated-away token ending the session is the reuse response anyway).
pub async fn issuer_of_refresh_token(store: &dyn Store, token: &str) -> Result<Option<String>> {
    let Some((session_id, _)) = token.split_once('.').filter(|(id, secret)| is_id(id) && !secret.is_empty()) else {
        return Ok(None);
    };
    let Some(session) = store.get(&SESSIONS, session_id).await? else { return Ok(None) };
    let known = Session::parse(&session);
    let presented = hash_token(token);
    // Every hash is compared, so the time does not say which one matched.
    let issued = known
        .retired_hashes
        .iter()
        .chain([&known.refresh_hash])
        .fold(false, |hit, h| hit | constant_time_eq(&presented, h));
    Ok(issued.then_some(known.id))
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
    let known = Session::parse(&session);
    if known.expires_at.is_none_or(|at| at <= now) {
        return Err(Error::invalid_grant());
    }
    let presented = hash_token(token);
    if !constant_time_eq(&presented, &known.refresh_hash) {
        end_if_reused(store, &known, &presented).await?;
        return Err(Error::invalid_grant());
    }
    let next = refresh_token(session_id)?;
    let mut retired = known.retired_hashes;
    retired.push(known.refresh_hash);
    if retired.len() > REMEMBERED_ROTATIONS {
        retired.drain(..retired.len() - REMEMBERED_ROTATIONS);
    }
    let mut updated = session.clone();
    updated.insert("refresh_hash".into(), json!(hash_token(&next)));
    updated.insert("retired_hashes".into(), json!(retired));
    updated.insert("refresh_seq".into(), json!(known.refresh_seq + 1));
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
                end_if_reused(store, &Session::parse(&now_stored), &presented).await?;
            }
            Err(Error::invalid_grant())
        }
        Err(other) => Err(other),
    }
}

/// Ends the session when `presented` (a token hash) is one it already rotated away from.
async fn end_if_reused(store: &dyn Store, session: &Session, presented: &str) -> Result<()> {
    // Every remembered hash is compared, so the time does not say which one matched.
    let reused = session.retired_hashes.iter().fold(false, |hit, h| hit | constant_time_eq(presented, h));
    if reused {
        tracing::warn!(session_id = %session.id, "refresh token reuse: revoking the session");
        end(store, &session.id).await?;
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
