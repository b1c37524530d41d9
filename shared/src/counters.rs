//! Counts of dependents (an organization's accounts and teams, a custom role's holders), kept
//! in the same transaction as every write that adds or removes one, so that deleting what they
//! depend on can be conditional on the count being zero. A delete that only queried for
//! dependents first would race a create that only checked its parent exists: each would pass
//! its check, and both commit. With the counter, the create's increment and the delete's
//! zero-condition meet on one item, and whichever commits second fails.
//!
//! Counters are items of their own table, not attributes of the organization or role: the
//! parent item is already checked or rewritten whole in these transactions, and DynamoDB
//! refuses two operations on one item in a transaction.

use serde_json::{Value, json};

use crate::error::Result;
use crate::store::schema::COUNTERS;
use crate::store::{Condition, Store, Update, Write};

/// One counter: what it counts, and of which parent (by id).
pub type Counter = (Dependents, String);

/// What is counted, per parent id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependents {
    OrganizationAccounts,
    OrganizationTeams,
    RoleHolders,
}

impl Dependents {
    fn prefix(self) -> &'static str {
        match self {
            Dependents::OrganizationAccounts => "organization-accounts",
            Dependents::OrganizationTeams => "organization-teams",
            Dependents::RoleHolders => "role-holders",
        }
    }

    pub fn key(self, parent_id: &str) -> String {
        format!("{}#{parent_id}", self.prefix())
    }

    /// The write that changes the count by `by` (creating the counter at `by` if missing).
    pub fn change(self, parent_id: &str, by: i64) -> Write {
        Write::Update(Update::new(&COUNTERS, self.key(parent_id)).add("count", by))
    }

    /// The write that removes the counter with its parent, on condition that nothing is
    /// counted. Below zero counts as none: items written before counters existed were never
    /// counted in, so removing them takes the count below zero (the parent's delete also
    /// queries for such dependents first).
    pub fn retire(self, parent_id: &str) -> Write {
        Write::Delete { table: &COUNTERS, id: self.key(parent_id), condition: Some(none_counted()) }
    }

    /// The check, for a transaction that changes the parent in a way its dependents forbid
    /// (renaming a role), that nothing is counted.
    pub fn none(self, parent_id: &str) -> Write {
        Write::Check { table: &COUNTERS, id: self.key(parent_id), condition: none_counted() }
    }

    /// The current count (0 when no counter exists).
    pub async fn count(self, store: &dyn Store, parent_id: &str) -> Result<i64> {
        let item = store.get(&COUNTERS, &self.key(parent_id)).await?;
        Ok(item.and_then(|i| i.get("count").and_then(Value::as_i64)).unwrap_or(0))
    }
}

fn none_counted() -> Condition {
    Condition::Any(vec![Condition::NotExists, Condition::AttrLess("count", json!(1))])
}
