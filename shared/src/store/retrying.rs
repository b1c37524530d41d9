//! A decorator that retries writes a concurrent transaction beat ([`StoreError::Contended`]:
//! DynamoDB's `TransactionConflict`), with bounded backoff and jitter. Safe because a cancelled
//! transaction or a refused update applied nothing, and every retry re-evaluates its conditions.
//! What stays contended after the last try reaches the caller, and the client sees 409
//! `concurrent_modification`. Throttling is not retried here: the SDK's standard retry
//! already did, with its own backoff and token bucket, before the error got this far.

use std::sync::Arc;

use async_trait::async_trait;

use super::backoff::Backoff;
use super::{Item, Query, QueryPage, Store, StoreError, TableDef, Update, Write};

pub struct Retrying {
    inner: Arc<dyn Store>,
    backoff: Backoff,
}

impl Retrying {
    pub fn new(inner: Arc<dyn Store>, backoff: Backoff) -> Retrying {
        Retrying { inner, backoff }
    }

    async fn retry<T, F>(&self, what: &str, mut attempt: impl FnMut() -> F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>>,
    {
        let mut retry = 0;
        loop {
            match attempt().await {
                Err(StoreError::Contended(cause)) if retry + 1 < self.backoff.attempts => {
                    tracing::debug!(%cause, retry, "{what} contended; retrying");
                    self.backoff.pause(retry).await;
                    retry += 1;
                }
                other => return other,
            }
        }
    }
}

#[async_trait]
impl Store for Retrying {
    async fn get(&self, table: &'static TableDef, id: &str) -> Result<Option<Item>, StoreError> {
        self.inner.get(table, id).await
    }

    async fn batch_get(&self, table: &'static TableDef, ids: &[String]) -> Result<Vec<Item>, StoreError> {
        self.inner.batch_get(table, ids).await
    }

    async fn query(&self, query: Query) -> Result<QueryPage, StoreError> {
        self.inner.query(query).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.retry("a transaction", || self.inner.transact(writes.clone())).await
    }

    async fn update(&self, update: Update) -> Result<Item, StoreError> {
        self.retry("an update", || self.inner.update(update.clone())).await
    }

    async fn put_many(&self, table: &'static TableDef, items: Vec<Item>) -> Result<(), StoreError> {
        self.inner.put_many(table, items).await
    }

    async fn ensure_schema(&self) -> Result<(), StoreError> {
        self.inner.ensure_schema().await
    }
}
