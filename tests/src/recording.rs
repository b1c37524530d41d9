//! A store that remembers, for every item the service reads, its table and its organization:
//! what the cost tests check to say that a listing never read another organization's items.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use iam_shared::store::{Item, Query, QueryPage, Store, StoreError, TableDef, Update, Write};
use serde_json::Value;

/// `(table, organization_id)` of each item read, in order.
pub type Reads = Arc<Mutex<Vec<(&'static str, Option<String>)>>>;

pub struct Recording {
    inner: Arc<dyn Store>,
    reads: Reads,
}

impl Recording {
    /// `inner`, recording into `reads`.
    pub fn around(inner: Arc<dyn Store>, reads: Reads) -> Arc<dyn Store> {
        Arc::new(Recording { inner, reads })
    }

    fn note(&self, table: &'static TableDef, items: &[Item]) {
        let org = |i: &Item| i.get("organization_id").and_then(Value::as_str).map(String::from);
        self.reads.lock().unwrap().extend(items.iter().map(|i| (table.name, org(i))));
    }
}

/// The organizations of the items of `table` among `reads`, taking them out.
pub fn organizations_of(reads: &Reads, table: &TableDef) -> Vec<Option<String>> {
    let taken = std::mem::take(&mut *reads.lock().unwrap());
    taken.into_iter().filter(|(t, _)| *t == table.name).map(|(_, o)| o).collect()
}

#[async_trait]
impl Store for Recording {
    async fn get(&self, table: &'static TableDef, id: &str) -> Result<Option<Item>, StoreError> {
        let item = self.inner.get(table, id).await?;
        self.note(table, item.as_slice());
        Ok(item)
    }
    async fn batch_get(&self, table: &'static TableDef, ids: &[String]) -> Result<Vec<Item>, StoreError> {
        let items = self.inner.batch_get(table, ids).await?;
        self.note(table, &items);
        Ok(items)
    }
    async fn query(&self, query: Query) -> Result<QueryPage, StoreError> {
        let table = query.table;
        let page = self.inner.query(query).await?;
        self.note(table, &page.items);
        Ok(page)
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.inner.transact(writes).await
    }
    async fn update(&self, update: Update) -> Result<Item, StoreError> {
        self.inner.update(update).await
    }
    async fn put_many(&self, table: &'static TableDef, items: Vec<Item>) -> Result<(), StoreError> {
        self.inner.put_many(table, items).await
    }
    async fn ensure_schema(&self) -> Result<(), StoreError> {
        self.inner.ensure_schema().await
    }
}
