//! Single-use tokens for the invitation and password-reset flows: 256 random bits handed to
//! the user once, stored only as their SHA-256 hash (the item's id, so that finding one is a
//! single strongly consistent read), with an expiry that every read checks because DynamoDB's
//! TTL deletes late. A token is bound to the account as it was when the token was made (its
//! email, password, sign-in method and whether it is enabled): once any of them changes, the
//! link no longer works, even if a revocation missed it.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::tokens::{constant_time_eq, hash_token, random_token};
use crate::clock;
use crate::error::{Error, Problem, Result};
use crate::model::account;
use crate::records;
use crate::store::schema::{ACCOUNTS, TOKENS, TOKENS_BY_ACCOUNT, TTL};
use crate::store::{Condition, Item, MAX_TRANSACTION_WRITES, Query, Store, Write, query_all};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Invitation,
    PasswordReset,
    /// An `mfa_token`: the password was right, the second factor is due (`usecase::mfa`).
    MfaChallenge,
    /// An `mfa_token` of an account whose organization requires a second factor it lacks: it
    /// may only enrol one.
    MfaEnrollment,
}

impl Purpose {
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::PasswordReset => "password_reset",
            Purpose::MfaChallenge => "mfa",
            Purpose::MfaEnrollment => "mfa_enrollment",
        }
    }

    /// How long a token stays valid (API.md: 7 days to join, 1 hour to reset, 5 minutes for
    /// the second step of a login).
    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::Invitation => Duration::days(7),
            Purpose::PasswordReset => Duration::hours(1),
            Purpose::MfaChallenge | Purpose::MfaEnrollment => Duration::minutes(5),
        }
    }
}

/// A token just made: the secret to send, when it expires, and the write that stores its hash.
pub struct Issued {
    pub token: String,
    pub expires_at: OffsetDateTime,
    pub write: Write,
}

/// What a token is bound to: a digest of the account's case-folded email, password hash, sign-in
/// method and enabled flag. A link mailed to one address must not work once the address is
/// another, nor a reset link once the password changed (RFC 9700's spirit for credentials;
/// Keycloak's action tokens carry the same kind of stamp).
fn binding_of(account: &Item) -> String {
    let text = |name: &str| account.get(name).and_then(Value::as_str).unwrap_or_default();
    let auth_type = account.get("auth_type").and_then(Value::as_str).unwrap_or("password");
    let enabled = account.get("enabled").and_then(Value::as_bool).unwrap_or(false);
    let email = account::folded_email(account).unwrap_or_default();
    hash_token(&format!("{email}\n{}\n{auth_type}\n{enabled}", text("password_hash")))
}

/// Does the token still fit the account? Tokens made before bindings existed carry none; they
/// are ended by revocation alone, and expire within a week.
fn still_bound(token: &Item, account: &Item) -> bool {
    match token.get("binding").and_then(Value::as_str) {
        Some(binding) => constant_time_eq(binding, &binding_of(account)),
        None => true,
    }
}

/// A new token of `purpose` for `account` as it will be stored; nothing is stored until
/// `write` commits.
pub fn issue(purpose: Purpose, account: &Item, now: OffsetDateTime) -> Result<Issued> {
    let token = random_token()?;
    let expires_at = now + purpose.lifetime();
    let item = json!({
        "id": hash_token(&token),
        "purpose": purpose.name(),
        "account_id": records::id_of(account),
        "binding": binding_of(account),
        "created_at": clock::format(now),
        "expires_at": clock::format(expires_at),
        TTL: expires_at.unix_timestamp(),
        // Codes tried with it (`reserve_attempt`): an increment conditional on the count bounds them.
        ATTEMPTS: 0,
    });
    let write = Write::Put { table: &TOKENS, item: item.as_object().cloned().unwrap_or_default(), condition: None };
    Ok(Issued { token, expires_at, write })
}

fn is_live(item: &Item, purpose: Purpose, now: OffsetDateTime) -> bool {
    item.get("purpose").and_then(Value::as_str) == Some(purpose.name())
        && item.get("expires_at").and_then(Value::as_str).and_then(clock::parse).is_some_and(|at| at > now)
}

/// The stored token `token` stands for, if it has this purpose and has not expired; it is not
/// used up. Anything malformed is simply not found.
pub async fn find(store: &dyn Store, purpose: Purpose, token: &str, now: OffsetDateTime) -> Result<Option<Item>> {
    if token.is_empty() || token.len() > 256 {
        return Ok(None);
    }
    let item = store.get(&TOKENS, &hash_token(token)).await?;
    Ok(item.filter(|i| is_live(i, purpose, now)))
}

/// The live token `token` stands for and its account, if `usable` accepts the account (still
/// pending for a join, still able to log in for a reset) and the token is still bound to it.
pub async fn redeemable(
    store: &dyn Store,
    purpose: Purpose,
    token: &str,
    now: OffsetDateTime,
    usable: impl Fn(&Item) -> bool,
) -> Result<Option<(Item, Item)>> {
    let Some(found) = find(store, purpose, token, now).await? else { return Ok(None) };
    let account = store.get(&ACCOUNTS, account_of(&found)).await?;
    Ok(account.filter(|a| usable(a) && still_bound(&found, a)).map(|a| (found, a)))
}

/// 422 `invalid_token`: one answer for a link that never existed, was used or has expired.
pub fn invalid_token(purpose: Purpose) -> Error {
    let what = match purpose {
        Purpose::Invitation => "invitation",
        Purpose::PasswordReset => "reset",
        Purpose::MfaChallenge | Purpose::MfaEnrollment => "mfa",
    };
    Error::Validation(vec![Problem::general(
        "invalid_token",
        "Invalid token",
        format!("the {what} link is invalid, was already used or has expired"),
    )])
}

/// The account a found token belongs to.
pub fn account_of(item: &Item) -> &str {
    item.get("account_id").and_then(Value::as_str).unwrap_or_default()
}

/// The attribute counting the codes tried with a token.
const ATTEMPTS: &str = "attempts";

/// Takes one of the `max` attempts a token allows (the codes tried with an `mfa_token`), before
/// anything is evaluated, so that parallel requests cannot all pass a check made before any of
/// them counted. `false`: the token is used up or gone, and is deleted.
pub async fn reserve_attempt(store: &dyn Store, item: &Item, max: u32) -> Result<bool> {
    use crate::store::{StoreError, Update};
    let id = records::id_of(item).to_string();
    let take = Update::new(&TOKENS, id.clone())
        .add(ATTEMPTS, 1)
        .when(Condition::All(vec![Condition::Exists, Condition::AttrLess(ATTEMPTS, json!(max))]));
    match store.update(take).await {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed(_)) => {
            store.transact(vec![Write::Delete { table: &TOKENS, id, condition: None }]).await?;
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// The write that uses a found token up: it must still exist when the transaction commits,
/// so two requests racing with one token cannot both succeed.
pub fn consume(item: &Item) -> Write {
    Write::Delete { table: &TOKENS, id: records::id_of(item).into(), condition: Some(Condition::Exists) }
}

/// The writes that delete every other token of `purpose` the account holds (a new invitation
/// kills the old ones; a reset kills every reset link). `except` is consumed separately.
pub async fn revoke_all(
    store: &dyn Store,
    purpose: Purpose,
    account_id: &str,
    except: Option<&str>,
) -> Result<Vec<Write>> {
    Ok(held(store, account_id)
        .await?
        .iter()
        .filter(|t| t.get("purpose").and_then(Value::as_str) == Some(purpose.name()))
        .map(records::id_of)
        .filter(|id| Some(*id) != except)
        .map(|id| Write::Delete { table: &TOKENS, id: id.into(), condition: None })
        .collect())
}

/// Every token the account holds, whatever its purpose.
async fn held(store: &dyn Store, account_id: &str) -> Result<Vec<Item>> {
    Ok(query_all(store, Query::partition(&TOKENS, &TOKENS_BY_ACCOUNT, account_id)).await?)
}

/// The writes that end every token of the account, whatever its purpose: its email, sign-in
/// method or enabled flag changed, and links sent before must stop working with the change.
pub async fn revoke_every(store: &dyn Store, account_id: &str) -> Result<Vec<Write>> {
    let held = held(store, account_id).await?;
    Ok(held.iter().map(|t| Write::Delete { table: &TOKENS, id: records::id_of(t).into(), condition: None }).collect())
}

/// Deletes every token of the account, whatever its purpose (the account is gone).
pub async fn delete_all(store: &dyn Store, account_id: &str) -> Result<usize> {
    let writes = revoke_every(store, account_id).await?;
    for chunk in writes.chunks(MAX_TRANSACTION_WRITES) {
        store.transact(chunk.to_vec()).await?;
    }
    Ok(writes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_hash_is_stored_and_it_expires_by_purpose() {
        let now = clock::parse("2026-11-23T10:00:00Z").unwrap();
        let account = json!({"id": "acc", "email": "ann@example.com"}).as_object().cloned().unwrap();
        let issued = issue(Purpose::PasswordReset, &account, now).unwrap();
        let Write::Put { item, .. } = &issued.write else { panic!("a put") };
        assert_eq!(item["id"], json!(hash_token(&issued.token)));
        assert!(!item.values().any(|v| v.as_str() == Some(issued.token.as_str())), "the token is never stored");
        assert_eq!(item["expires_at"], "2026-11-23T11:00:00Z");
        assert!(is_live(item, Purpose::PasswordReset, now));
        assert!(!is_live(item, Purpose::Invitation, now), "a reset token does not accept an invitation");
        assert!(!is_live(item, Purpose::PasswordReset, now + Duration::hours(1)));
        assert_eq!(issue(Purpose::Invitation, &account, now).unwrap().expires_at, now + Duration::days(7));
    }

    #[test]
    fn a_token_fits_only_the_account_it_was_made_for() {
        let account = json!({"id": "acc", "email": "Ann@Example.com", "enabled": true, "password_hash": "h1"});
        let account = account.as_object().cloned().unwrap();
        let Write::Put { item: token, .. } =
            issue(Purpose::PasswordReset, &account, OffsetDateTime::UNIX_EPOCH).unwrap().write
        else {
            panic!("a put")
        };
        assert!(still_bound(&token, &account));
        let with = |name: &str, v: Value| {
            let mut changed = account.clone();
            changed.insert(name.into(), v);
            changed
        };
        assert!(still_bound(&token, &with("email", json!("ann@example.com"))), "the email as folded");
        assert!(still_bound(&token, &with("name", json!("Ann"))), "other attributes do not matter");
        for (name, v) in [
            ("email", json!("ann.b@example.com")),
            ("password_hash", json!("h2")),
            ("auth_type", json!("sso")),
            ("enabled", json!(false)),
        ] {
            assert!(!still_bound(&token, &with(name, v)), "{name} changed");
        }
        let mut legacy = token.clone();
        legacy.remove("binding");
        assert!(
            still_bound(&legacy, &with("email", json!("x@example.com"))),
            "made before bindings: revocation ends it"
        );
    }
}
