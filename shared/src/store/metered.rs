//! A decorator that counts what a store is asked for, so that cost guarantees (items read per
//! page, requests per include) are asserted by counting in tests, not hoped for.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::{Item, Query, QueryPage, Store, StoreError, TableDef, Update, Write};

#[derive(Debug, Default)]
pub struct StoreMetrics {
    requests: AtomicU64,
    items_read: AtomicU64,
    transactions: AtomicU64,
}

impl StoreMetrics {
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn items_read(&self) -> u64 {
        self.items_read.load(Ordering::Relaxed)
    }

    /// Transactional writes (`transact` calls), whatever they hold.
    pub fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }

    pub fn reset(&self) {
        self.requests.store(0, Ordering::Relaxed);
        self.items_read.store(0, Ordering::Relaxed);
        self.transactions.store(0, Ordering::Relaxed);
    }

    fn record(&self, items: usize) {
        self.record_requests(1, items);
    }

    fn record_requests(&self, requests: usize, items: usize) {
        self.requests.fetch_add(requests as u64, Ordering::Relaxed);
        self.items_read.fetch_add(items as u64, Ordering::Relaxed);
    }
}

pub struct Metered {
    inner: Arc<dyn Store>,
    metrics: Arc<StoreMetrics>,
}

impl Metered {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Metered { inner, metrics: Arc::default() }
    }

    pub fn metrics(&self) -> Arc<StoreMetrics> {
        self.metrics.clone()
    }
}

#[async_trait]
impl Store for Metered {
    async fn get(&self, table: &'static TableDef, id: &str) -> Result<Option<Item>, StoreError> {
        let item = self.inner.get(table, id).await?;
        self.metrics.record(usize::from(item.is_some()));
        Ok(item)
    }

    async fn batch_get(&self, table: &'static TableDef, ids: &[String]) -> Result<Vec<Item>, StoreError> {
        let items = self.inner.batch_get(table, ids).await?;
        // DynamoDB's BatchGetItem takes 100 keys a request.
        self.metrics.record_requests(ids.len().div_ceil(100).max(1), items.len());
        Ok(items)
    }

    async fn query(&self, query: Query) -> Result<QueryPage, StoreError> {
        let page = self.inner.query(query).await?;
        self.metrics.record(page.items.len());
        Ok(page)
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.metrics.requests.fetch_add(1, Ordering::Relaxed);
        self.metrics.transactions.fetch_add(1, Ordering::Relaxed);
        self.inner.transact(writes).await
    }

    async fn update(&self, update: Update) -> Result<Item, StoreError> {
        self.metrics.requests.fetch_add(1, Ordering::Relaxed);
        self.inner.update(update).await
    }

    async fn put_many(&self, table: &'static TableDef, items: Vec<Item>) -> Result<(), StoreError> {
        // BatchWriteItem takes 25 items a request.
        self.metrics.requests.fetch_add(items.len().div_ceil(25) as u64, Ordering::Relaxed);
        self.inner.put_many(table, items).await
    }

    async fn ensure_schema(&self) -> Result<(), StoreError> {
        self.inner.ensure_schema().await
    }
}
