//! One sweep of what has expired: sessions, single-use tokens and throttle windows past their
//! end are deleted, and pending accounts whose invitation lapsed are marked `expired`. Each
//! kind is found through an index in expiry order, so a sweep reads only what it removes.
//! The scheduled cleanup function and `iam cleanup` both run it.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::app::open_store;
use crate::aws::Aws;
use crate::clock::{self, Clock, SystemClock};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::account::{self, Account, AccountStatus};
use crate::records;
use crate::store::schema::{
    ACCOUNTS, ACCOUNTS_BY_INVITATION_DUE, SESSIONS, SESSIONS_BY_EXPIRY, THROTTLES, THROTTLES_BY_EXPIRY, TOKENS,
    TOKENS_BY_EXPIRY,
};
use crate::store::{Condition, IndexDef, Item, Query, SortCondition, Store, StoreError, TableDef, Write, query_all};

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Swept {
    pub sessions_removed: usize,
    pub tokens_removed: usize,
    pub throttles_removed: usize,
    pub invitations_expired: usize,
}

/// The items of a whole-table index whose sort key is at or before `now`.
async fn due(store: &dyn Store, table: &'static TableDef, index: &'static IndexDef, now: &str) -> Result<Vec<Item>> {
    let all = index.whole_table().unwrap_or_default();
    let query = Query::partition(table, index, all).with_sk(Some(SortCondition::Le(now.into())));
    Ok(query_all(store, query).await?)
}

/// Deletes the items that expired, each only if its expiry is still the one read (a throttle
/// window may have been reopened meanwhile). Returns how many went.
async fn remove_expired(
    store: &dyn Store,
    table: &'static TableDef,
    index: &'static IndexDef,
    now: &str,
) -> Result<usize> {
    let mut removed = 0;
    for item in due(store, table, index, now).await? {
        let expiry = item.get("expires_at").cloned().unwrap_or(Value::Null);
        let condition = Some(Condition::AttrEquals("expires_at", expiry));
        match store.transact(vec![Write::Delete { table, id: records::id_of(&item).into(), condition }]).await {
            Ok(()) => removed += 1,
            Err(StoreError::ConditionFailed(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(removed)
}

/// Marks pending accounts whose invitation lapsed `expired` (a resend makes them pending
/// again). The index is eventually consistent, so each account is re-read before it changes.
async fn expire_invitations(store: &dyn Store, now: OffsetDateTime) -> Result<usize> {
    let stamp = clock::format(now);
    let mut expired = 0;
    for found in due(store, &ACCOUNTS, &ACCOUNTS_BY_INVITATION_DUE, &stamp).await? {
        let Some(old) = store.get(&ACCOUNTS, records::id_of(&found)).await? else { continue };
        let lapsed = account::invitation_due(&old).is_some_and(|at| at <= now);
        if !lapsed || Account::parse(&old).status != AccountStatus::Pending {
            continue;
        }
        let mut new = old.clone();
        account::lapse(&mut new);
        new.insert("updated_at".into(), json!(stamp));
        let uniques = account::uniques(&old);
        match records::replace(store, &ACCOUNTS, &old, new, &uniques, &uniques).await {
            Ok(_) => expired += 1,
            // Changed meanwhile (a resend, an edit): the next sweep looks again.
            Err(Error::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(expired)
}

/// What a sweep needs, built once per cold start: the store and the clock (no signing key,
/// no mailer).
pub struct Cleanup {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl Cleanup {
    /// The store the configuration names, on the system clock.
    pub async fn from_config(config: &Config, aws: &Aws) -> anyhow::Result<Cleanup> {
        let store = open_store(config, aws).await?;
        Ok(Cleanup { store, clock: Arc::new(SystemClock) })
    }

    /// Handles one scheduled event (its content is ignored: the clock says what has expired).
    pub async fn handle(&self, _event: Value) -> Result<Swept> {
        sweep(self.store.as_ref(), self.clock.now()).await
    }
}

/// One sweep at `now`.
pub async fn sweep(store: &dyn Store, now: OffsetDateTime) -> Result<Swept> {
    let stamp = clock::format(now);
    let swept = Swept {
        sessions_removed: remove_expired(store, &SESSIONS, &SESSIONS_BY_EXPIRY, &stamp).await?,
        tokens_removed: remove_expired(store, &TOKENS, &TOKENS_BY_EXPIRY, &stamp).await?,
        throttles_removed: remove_expired(store, &THROTTLES, &THROTTLES_BY_EXPIRY, &stamp).await?,
        invitations_expired: expire_invitations(store, now).await?,
    };
    tracing::info!(?swept, "cleanup sweep done");
    Ok(swept)
}
