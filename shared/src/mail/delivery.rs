//! Delivering the outbox: each letter is taken under a lease (a conditional write, so that two
//! deliveries of one letter, a redelivered stream record, a sweep and a retry, never both send
//! it), its token opened, its email rendered and sent, and the letter deleted, which records the
//! send. A failed send gives the lease back and is retried; a letter whose link has expired, or
//! whose token is gone (used, replaced by a newer link, ended by a change of address), is
//! dropped unsent. Delivery is at least once: a crash between the send and the delete sends the
//! letter again once its lease is over.
//!
//! The mailer function runs [`Postman::handle`] on the outbox table's stream and on a schedule
//! (the sweep that catches what the stream's bounded retries gave up on); `iam serve` sweeps in
//! the background, which also picks up after a restart what a crash left unsent.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::Mailer;
use super::outbox::{LEASE_UNTIL, Posted};
use super::seal::OpeningKey;
use super::templates::Templates;
use crate::clock::{self, Clock};
use crate::store::schema::{OUTBOX, OUTBOX_BY_ID, TOKENS};
use crate::store::{Condition, Query, Store, StoreError, Update, Write, query_all};

/// How long a delivery may hold a letter before another may take it over: longer than any
/// send takes (the SDK gives up well before), short enough that a crash delays mail little.
pub const LEASE: time::Duration = time::Duration::minutes(2);

/// What became of one letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Not in the outbox: sent and recorded before (a redelivered record).
    Gone,
    /// Another delivery holds it now.
    Taken,
    /// Its link expired, or its token was used or ended, before it could be sent: dropped.
    Expired,
    /// Not a letter this version can read: dropped, logged.
    Unreadable,
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Round {
    pub sent: usize,
    pub failed: usize,
    pub taken: usize,
    pub dropped: usize,
}

/// Everything delivery needs, built once: the store, the mail adapter, the templates, the
/// private key that opens sealed tokens, the clock and the base of the links.
pub struct Postman {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub templates: Arc<Templates>,
    pub key: Arc<OpeningKey>,
    pub clock: Arc<dyn Clock>,
    /// Base of the links in emails (`IAM_APP_URL`).
    pub app_url: String,
}

impl Postman {
    /// Delivers the letter `id`, if it is still there and nobody else holds it.
    pub async fn deliver(&self, id: &str) -> anyhow::Result<Delivery> {
        let store = self.store.as_ref();
        let now = self.clock.now();
        let Some(item) = store.get(&OUTBOX, id).await? else { return Ok(Delivery::Gone) };
        let Some(posted) = Posted::parse(&item) else {
            tracing::error!(letter = id, "outbox item is not a letter: dropped");
            self.drop_letter(id, Condition::Exists).await?;
            return Ok(Delivery::Unreadable);
        };
        let kind = posted.letter.kind.name();
        if posted.letter.expires_at <= now {
            tracing::warn!(letter = id, kind, "letter's link expired before it was sent: dropped");
            self.drop_letter(id, Condition::AttrEquals(LEASE_UNTIL, json!(posted.lease_until))).await?;
            return Ok(Delivery::Expired);
        }
        // A link that no longer works is not mailed: above all, not to an address the account
        // has left since (its tokens ended with the change).
        if store.get(&TOKENS, &posted.letter.token_id).await?.is_none() {
            tracing::info!(letter = id, kind, "letter's link was used or ended before it was sent: dropped");
            self.drop_letter(id, Condition::AttrEquals(LEASE_UNTIL, json!(posted.lease_until))).await?;
            return Ok(Delivery::Expired);
        }
        let lease = clock::format(now + LEASE);
        let take = Update::new(&OUTBOX, id)
            .set(LEASE_UNTIL, lease.clone())
            .add("attempts", 1)
            .when(Condition::AttrLess(LEASE_UNTIL, json!(clock::format(now))));
        match store.update(take).await {
            Ok(_) => {}
            Err(StoreError::ConditionFailed(_)) => return Ok(Delivery::Taken),
            Err(e) => return Err(e.into()),
        }
        let ours = Condition::AttrEquals(LEASE_UNTIL, json!(lease));
        if let Err(e) = self.send(&posted).await {
            let release =
                Update::new(&OUTBOX, id).set(LEASE_UNTIL, clock::format(OffsetDateTime::UNIX_EPOCH)).when(ours);
            if let Err(again) = store.update(release).await {
                tracing::warn!(letter = id, error = %again, "lease not given back: the letter waits for it to end");
            }
            return Err(e);
        }
        tracing::info!(letter = id, kind = posted.letter.kind.name(), account_id = %posted.letter.account_id, "email sent");
        // The send is recorded by the letter's deletion. If the lease ran out meanwhile and
        // another delivery took the letter, that one deletes it.
        if let Err(e) = self.drop_letter(id, ours).await {
            tracing::warn!(letter = id, error = %format!("{e:#}"), "sent, but not recorded: it goes again after its lease");
        }
        Ok(Delivery::Sent)
    }

    async fn drop_letter(&self, id: &str, condition: Condition) -> anyhow::Result<()> {
        let delete = Write::Delete { table: &OUTBOX, id: id.into(), condition: Some(condition) };
        match self.store.transact(vec![delete]).await {
            Ok(()) | Err(StoreError::ConditionFailed(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The letter's email, rendered with its token opened, handed to the mail adapter.
    async fn send(&self, posted: &Posted) -> anyhow::Result<()> {
        let token = self.key.open(&posted.sealed, &posted.id)?;
        let letter = &posted.letter;
        let link = letter.kind.link(&self.app_url, token.expose());
        let expires_at = clock::format(letter.expires_at);
        let (language, name) = (letter.language.as_deref(), letter.name.as_deref());
        let message = self.templates.render(letter.kind, language, &letter.to, name, &link, &expires_at);
        self.mailer.send(&message).await
    }

    /// Delivers every letter in the outbox, oldest first. A failed letter is logged (without
    /// its content) and counted; the others still go.
    pub async fn sweep(&self) -> anyhow::Result<Round> {
        let whole = OUTBOX_BY_ID.whole_table().unwrap_or_default();
        let letters = query_all(self.store.as_ref(), Query::partition(&OUTBOX, &OUTBOX_BY_ID, whole)).await?;
        let mut round = Round::default();
        for item in letters {
            let id = crate::records::id_of(&item);
            match self.deliver(id).await {
                Ok(Delivery::Sent) => round.sent += 1,
                Ok(Delivery::Taken) => round.taken += 1,
                Ok(Delivery::Gone) => {}
                Ok(Delivery::Expired | Delivery::Unreadable) => round.dropped += 1,
                Err(e) => {
                    round.failed += 1;
                    tracing::error!(letter = id, error = %format!("{e:#}"), "email not sent; it will be retried");
                }
            }
        }
        Ok(round)
    }

    /// One invocation of the mailer function: a batch of the outbox's stream records (the
    /// answer names the records to retry, Lambda's `ReportBatchItemFailures`), or a scheduled
    /// event (a sweep).
    pub async fn handle(&self, event: Value) -> anyhow::Result<Value> {
        let batch = serde_json::from_value::<StreamBatch>(event).unwrap_or_default();
        if batch.records.is_empty() {
            let round = self.sweep().await?;
            tracing::info!(?round, "outbox swept");
            return Ok(serde_json::to_value(round)?);
        }
        let mut failures = Vec::new();
        for record in batch.records.iter().filter(|r| r.event_name == "INSERT") {
            let Some(id) = record.dynamodb.keys.get("id").and_then(|k| k.get("S")).and_then(Value::as_str) else {
                tracing::error!(sequence = %record.dynamodb.sequence_number, "stream record without an id: skipped");
                continue;
            };
            if let Err(e) = self.deliver(id).await {
                tracing::error!(letter = id, error = %format!("{e:#}"), "email not sent; the record is retried");
                failures.push(json!({"itemIdentifier": record.dynamodb.sequence_number}));
            }
        }
        Ok(json!({"batchItemFailures": failures}))
    }

    /// Sweeps the outbox every `every`, for ever (`iam serve`'s background delivery): the first
    /// sweep sends what was left unsent before a restart.
    pub async fn keep_delivering(&self, every: Duration) {
        loop {
            if let Err(e) = self.sweep().await {
                tracing::error!(error = %format!("{e:#}"), "outbox sweep failed");
            }
            tokio::time::sleep(every).await;
        }
    }
}

/// The part of a DynamoDB stream event the mailer reads: each record's key and position.
#[derive(Debug, Default, Deserialize)]
struct StreamBatch {
    #[serde(rename = "Records", default)]
    records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
struct StreamRecord {
    #[serde(rename = "eventName", default)]
    event_name: String,
    dynamodb: StreamChange,
}

#[derive(Debug, Deserialize)]
struct StreamChange {
    #[serde(rename = "Keys", default)]
    keys: serde_json::Map<String, Value>,
    #[serde(rename = "SequenceNumber", default)]
    sequence_number: String,
}
