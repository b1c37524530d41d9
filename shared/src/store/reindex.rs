//! Rewrites items stored before the current index layout, so that every index holds them:
//! items whose whole-table key (`_all`) is still the single partition of a table that is now
//! spread over write shards, which also lack the sort keys of their own (`_s_*`) that came
//! with the shards. A put writes both (`TableDef::prepare`).
//!
//! DynamoDB backfills a new index only from attributes items already have, so a deployment
//! that had data before runs `iam reindex` once after deploying. The embedded store rewrites
//! every item itself when it opens a data folder lacking an index's columns.

use serde_json::Value;

use super::schema::{ALL, PartitionKey, TABLES};
use super::{Condition, Query, Store, StoreError, Write};

/// Rewrites the items of every sharded table still in its old single partition; returns how
/// many were rewritten. Each is re-read strongly and rewritten only if it still is in the old
/// partition and unchanged (its `version`), so running this beside live traffic loses nothing.
pub async fn reindex(store: &dyn Store) -> Result<usize, StoreError> {
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
    Ok(rewritten)
}
