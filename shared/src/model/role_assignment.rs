//! Role assignments: an account holds a role globally or within one organization (or team).

use serde_json::{Value, json};

use crate::error::Result;
use crate::store::schema::{ROLE_ASSIGNMENTS, ROLE_ASSIGNMENTS_BY_ACCOUNT, ROLE_ASSIGNMENTS_BY_ROLE};
use crate::store::{Item, Query, Store};

/// Longest list of assignments one account may hold; reading them is one request.
pub const MAX_PER_ACCOUNT: usize = 1000;

pub fn new(id: String, account_id: &str, role_name: &str, scope_id: Option<&str>, now: &str) -> Item {
    json!({
        "id": id,
        "account_id": account_id,
        "role_name": role_name,
        "scope_id": scope_id,
        "created_at": now,
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// Every assignment of one account (a single index query).
pub async fn of_account(store: &dyn Store, account_id: &str) -> Result<Vec<Item>> {
    let query =
        Query::partition(&ROLE_ASSIGNMENTS, &ROLE_ASSIGNMENTS_BY_ACCOUNT, account_id).with_limit(MAX_PER_ACCOUNT);
    Ok(store.query(query).await?.items)
}

/// Up to `limit` assignments of a role (one index query).
pub async fn holders(store: &dyn Store, role_name: &str, limit: usize) -> Result<Vec<Item>> {
    let query = Query::partition(&ROLE_ASSIGNMENTS, &ROLE_ASSIGNMENTS_BY_ROLE, role_name).with_limit(limit);
    Ok(store.query(query).await?.items)
}

/// Does anyone hold this role? (one item read at most)
pub async fn anyone_holds(store: &dyn Store, role_name: &str) -> Result<bool> {
    Ok(!holders(store, role_name, 1).await?.is_empty())
}

pub fn role_name(item: &Item) -> &str {
    item.get("role_name").and_then(Value::as_str).unwrap_or_default()
}

pub fn scope_id(item: &Item) -> Option<&str> {
    item.get("scope_id").and_then(Value::as_str)
}
