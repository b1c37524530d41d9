//! Rewrites items stored before the current index layout, so that every index holds them:
//! items whose whole-table key (`_all`) is still the single partition of a table that is now
//! spread over write shards, which also lack the sort keys of their own (`_s_*`) that came
//! with the shards. A put writes both (`TableDef::prepare`).
//!
//! Items stored before a sort key of their own was added (`_s_mfa_enabled`) are rewritten with
//! it, and items stored before their table had a word index (`store::words`) get their word
//! entries.
//!
//! DynamoDB backfills a new index only from attributes items already have, and nothing
//! backfills a new table, so a deployment that had data before runs `iam reindex` once after
//! deploying. The embedded store rewrites
//! every item itself when it opens a data folder lacking an index's columns.

use serde_json::Value;

use super::schema::{ALL, PartitionKey, TABLES};
use super::words::WordIndex;
use super::{Condition, Item, Query, Reading, Store, StoreError, TableDef, Write};

/// Items re-read and indexed a batch at a time.
const BATCH: usize = 100;

/// What a reindex did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reindexed {
    /// Items rewritten from the old single partition into the current layout, or for a sort
    /// key of their own they lacked.
    pub rewritten: usize,
    /// Items whose word entries were written.
    pub indexed: usize,
}

/// Rewrites the items of every sharded table still in its old single partition, then writes
/// the word entries of items that lack them. Each item is re-read strongly and rewritten (or
/// indexed) only if unchanged meanwhile (its `version`), so running this beside live traffic
/// loses nothing: a write meanwhile wrote the current layout and entries itself.
pub async fn reindex(store: &dyn Store) -> Result<Reindexed, StoreError> {
    let mut rewritten = 0;
    for table in TABLES {
        let Some(by_id) = table.indexes.iter().find(|i| i.sk == Some("id")) else { continue };
        let PartitionKey::Constant { value: legacy, shards, .. } = by_id.pk else { continue };
        if shards <= 1 {
            continue;
        }
        let mut query = Query::partition(table, by_id, legacy).with_limit(100);
        loop {
            let page = store.query(query.clone()).await?;
            for found in &page.items {
                let id = found.get("id").and_then(Value::as_str).unwrap_or_default();
                let Some(item) = store.get(table, id).await? else { continue };
                if item.get(ALL).and_then(Value::as_str) != Some(legacy) {
                    continue;
                }
                let mut unchanged = vec![Condition::AttrEquals(ALL, Value::String(legacy.into()))];
                if let Some(version) = item.get("version") {
                    unchanged.push(Condition::AttrEquals("version", version.clone()));
                }
                let put = Write::Put { table, item, condition: Some(Condition::All(unchanged)) };
                match store.transact(vec![put]).await {
                    Ok(()) => rewritten += 1,
                    // Written meanwhile, which rewrote it in the current layout.
                    Err(StoreError::ConditionFailed(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            match page.last_key {
                Some(key) => query.start = Some(key),
                None => break,
            }
        }
    }
    for table in TABLES.iter().filter(|t| !t.sorted.is_empty()) {
        rewritten += add_sort_keys(store, table).await?;
    }
    let mut indexed = 0;
    for table in TABLES {
        if let Some(index) = table.words {
            indexed += index_words(store, table, index).await?;
        }
    }
    Ok(Reindexed { rewritten, indexed })
}

/// Rewrites every item of `table` lacking one of its sort keys of their own (or holding a stale
/// one), each only if unchanged meanwhile (a write meanwhile wrote its keys itself). Returns
/// how many were rewritten.
async fn add_sort_keys(store: &dyn Store, table: &'static TableDef) -> Result<usize, StoreError> {
    let Some(mut reading) = in_id_order(table) else { return Ok(0) };
    let lacks_keys =
        |item: &Item| table.sorted.iter().any(|s| item.get(s.attr).and_then(Value::as_str) != Some(&s.key_of(item)));
    let mut rewritten = 0;
    while let Some(found) = reading.next(store, BATCH).await? {
        for found in found.iter().filter(|i| lacks_keys(i)) {
            let id = found.get("id").and_then(Value::as_str).unwrap_or_default();
            let Some(item) = store.get(table, id).await?.filter(lacks_keys) else { continue };
            let put = Write::Put { table, item: item.clone(), condition: Some(unchanged(&item)) };
            match store.transact(vec![put]).await {
                Ok(()) => rewritten += 1,
                Err(StoreError::ConditionFailed(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(rewritten)
}

/// Every item of `table` in id order, a batch at a time, through its whole-table index (none
/// for a table without one).
fn in_id_order(table: &'static TableDef) -> Option<Reading> {
    let by_id = table.indexes.iter().find(|i| i.sk == Some("id") && i.whole_table().is_some())?;
    let all = by_id.whole_table()?;
    Some(Reading::new(Query::partition(table, by_id, all).with_limit(BATCH)))
}

/// The item is as read: the same `version`, or (for items without one) still there.
fn unchanged(item: &Item) -> Condition {
    match item.get("version") {
        Some(version) => Condition::AttrEquals("version", version.clone()),
        None => Condition::Exists,
    }
}

/// Writes the word entries of every item of `table` whose first entry is missing or stale,
/// each batch in one transaction per item that holds only if the item is unchanged (a write
/// meanwhile wrote its entries itself). Returns how many items were indexed.
async fn index_words(store: &dyn Store, table: &'static TableDef, index: &WordIndex) -> Result<usize, StoreError> {
    let Some(mut reading) = in_id_order(table) else { return Ok(0) };
    let mut indexed = 0;
    while let Some(found) = reading.next(store, BATCH).await? {
        for found in &found {
            let id = found.get("id").and_then(Value::as_str).unwrap_or_default();
            let Some(item) = store.get(table, id).await? else { continue };
            let entries = index.entries(&item);
            let Some(first) = entries.first() else { continue };
            let first_id = first.get("id").and_then(Value::as_str).unwrap_or_default();
            let stored = store.get(index.table, first_id).await?;
            if stored.is_some_and(|s| same_entry(&s, first)) {
                continue;
            }
            let mut writes = vec![Write::Check { table, id: id.to_string(), condition: unchanged(&item) }];
            writes.extend(entries.into_iter().map(|item| Write::Put { table: index.table, item, condition: None }));
            match store.transact(writes).await {
                Ok(()) => indexed += 1,
                Err(StoreError::ConditionFailed(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(indexed)
}

/// Does the stored entry say all the item's entry says (words, scope, positions)?
fn same_entry(stored: &Item, wanted: &Item) -> bool {
    wanted.iter().all(|(attr, value)| stored.get(attr) == Some(value))
}
