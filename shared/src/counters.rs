//! Counts of dependents (an organization's accounts, teams and people, a custom role's holders,
//! a person's accounts), kept
//! in the same transaction as every write that adds or removes one, so that deleting what they
//! depend on can be conditional on the count being zero. A delete that only queried for
//! dependents first would race a create that only checked its parent exists: each would pass
//! its check, and both commit. With the counter, the create's increment and the delete's
//! zero-condition meet on one item, and whichever commits second fails.
//!
//! Counters are items of their own table, not attributes of the organization or role: the
//! parent item is already checked or rewritten whole in these transactions, and DynamoDB
//! refuses two operations on one item in a transaction.
//!
//! The same counters answer `count=true` without reading what they count: an organization's
//! accounts, and every account ([`Tally`], spread over shards so that no single item takes
//! every create and delete of the service).

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
    OrganizationPeople,
    RoleHolders,
    /// The accounts correlated with a person.
    PersonAccounts,
}

impl Dependents {
    fn prefix(self) -> &'static str {
        match self {
            Dependents::OrganizationAccounts => "organization-accounts",
            Dependents::OrganizationTeams => "organization-teams",
            Dependents::OrganizationPeople => "organization-people",
            Dependents::RoleHolders => "role-holders",
            Dependents::PersonAccounts => "person-accounts",
        }
    }

    pub fn key(self, parent_id: &str) -> String {
        format!("{}#{parent_id}", self.prefix())
    }

    /// The write that changes the count by `by` (creating the counter at `by` if missing).
    pub fn change(self, parent_id: &str, by: i64) -> Write {
        Write::Update(self.update(parent_id, by))
    }

    /// That change as an update of its own (bulk loads apply it outside a transaction).
    pub fn update(self, parent_id: &str, by: i64) -> Update {
        Update::new(&COUNTERS, self.key(parent_id)).add("count", by)
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

/// A count of a whole table, kept over `shards` counter items: each create or delete changes
/// the shard its id falls in (in the same transaction), and the count is their sum (one batch
/// read). One item would take every write of the service: DynamoDB caps an item near 1,000
/// writes a second, and bulk loads would throttle on it.
#[derive(Debug, PartialEq, Eq)]
pub struct Tally {
    pub name: &'static str,
    pub shards: u32,
}

/// Every account.
pub const ALL_ACCOUNTS: Tally = Tally { name: "all-accounts", shards: 16 };

impl Tally {
    fn shard_key(&self, shard: u32) -> String {
        format!("{}#{shard}", self.name)
    }

    /// The shard an id counts in: a hash of the id, so that writes spread evenly.
    fn shard_of(&self, id: &str) -> u32 {
        crate::store::schema::shard_of(id, self.shards)
    }

    /// The write that counts item `id` in (`by` = 1) or out (`by` = -1).
    pub fn change(&self, id: &str, by: i64) -> Write {
        Write::Update(self.shard_update(self.shard_of(id), by))
    }

    fn shard_update(&self, shard: u32, by: i64) -> Update {
        Update::new(&COUNTERS, self.shard_key(shard)).add("count", by)
    }

    /// The changes that count these items in at once (bulk loads), one per shard touched.
    pub fn changes<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Vec<Update> {
        let mut per_shard = vec![0_i64; self.shards as usize];
        for id in ids {
            per_shard[self.shard_of(id) as usize] += 1;
        }
        let shards = per_shard.into_iter().enumerate().filter(|(_, n)| *n != 0);
        shards.map(|(shard, n)| self.shard_update(shard as u32, n)).collect()
    }

    /// The count: the sum of the shards.
    pub async fn count(&self, store: &dyn Store) -> Result<i64> {
        let keys: Vec<String> = (0..self.shards).map(|s| self.shard_key(s)).collect();
        let shards = store.batch_get(&COUNTERS, &keys).await?;
        Ok(shards.iter().filter_map(|i| i.get("count").and_then(Value::as_i64)).sum())
    }
}

fn none_counted() -> Condition {
    Condition::Any(vec![Condition::NotExists, Condition::AttrLess("count", json!(1))])
}
