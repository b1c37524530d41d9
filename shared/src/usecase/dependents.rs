//! Finding what depends on an item before it goes (an organization's accounts and teams, a
//! role's holders): each a read of at most one item. Dependents created while a delete runs
//! are caught by the counters (`counters`) in the delete's own transaction.

use crate::error::Result;
use crate::store::{IndexDef, Query, Store, TableDef};

/// Does any item of `table` stand under `key` in `index`? (one index read of at most one item)
pub async fn any(store: &dyn Store, table: &'static TableDef, index: &'static IndexDef, key: &str) -> Result<bool> {
    let query = Query::partition(table, index, key).with_limit(1);
    Ok(!store.query(query).await?.items.is_empty())
}
