//! The storage port: a small, DynamoDB-shaped interface (get, batch get, key-condition query
//! with a cursor, all-or-nothing conditional writes) and its adapters.

pub mod backoff;
pub mod dynamodb;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod metered;
pub mod reindex;
pub mod retrying;
pub mod schema;
pub mod sort_key;
pub mod words;

use crate::error::Error;
use async_trait::async_trait;
use serde_json::{Map, Value};

pub use metered::{Metered, StoreMetrics};
pub use retrying::Retrying;
pub use schema::{IndexDef, TableDef};

/// An item: attribute name → JSON value (strings, numbers, booleans, null, lists, maps).
pub type Item = Map<String, Value>;

/// The key attributes of the last item a query returned: where the next query resumes.
pub type StartKey = Map<String, Value>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A write's condition did not hold; `Some(i)` names the failing write of the transaction.
    #[error("condition failed on write {0:?}")]
    ConditionFailed(Option<usize>),
    /// A concurrent transaction on the same items won (DynamoDB's `TransactionConflict`): nothing
    /// was written, and trying again may succeed ([`Retrying`] does, a few times).
    #[error("contended: {0}")]
    Contended(String),
    /// The backend refused for lack of capacity (throttling) through the SDK's retries: nothing
    /// was written; the client is asked to come back.
    #[error("throttled: {0}")]
    Throttled(String),
    /// Anything else, timeouts included: answered opaquely, its cause logged.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// How long a client asked to come back after throttling waits (`Retry-After`, seconds).
pub const THROTTLED_RETRY_AFTER_SECS: u64 = 1;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ConditionFailed(_) => concurrent_modification(),
            StoreError::Contended(cause) => {
                tracing::warn!(%cause, "a write stayed contended through its retries");
                concurrent_modification()
            }
            StoreError::Throttled(cause) => {
                tracing::warn!(%cause, "the store throttled a request through its retries");
                Error::Unavailable { retry_after_secs: THROTTLED_RETRY_AFTER_SECS }
            }
            StoreError::Backend(e) => Error::Unexpected(e),
        }
    }
}

fn concurrent_modification() -> Error {
    Error::conflict(None, "concurrent_modification", "the resource changed while the request was processed; retry")
}

/// What must hold about the item at a write's key for the write to happen. Comparisons follow
/// DynamoDB: a missing attribute, or one of another type than the value, compares false.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    NotExists,
    Exists,
    /// The item exists and its attribute equals the value (optimistic concurrency on `version`).
    AttrEquals(&'static str, Value),
    /// The attribute is less than the value (numbers by value, strings by code point).
    AttrLess(&'static str, Value),
    /// The attribute is greater than the value.
    AttrGreater(&'static str, Value),
    /// Every condition holds.
    All(Vec<Condition>),
    /// At least one condition holds.
    Any(Vec<Condition>),
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

impl Condition {
    /// Whether the condition holds for `current` (the item at the key, if any). The embedded
    /// store evaluates conditions with this; the DynamoDB adapter renders them as expressions,
    /// and the conformance suite holds the two to the same answers.
    pub fn holds(&self, current: Option<&Item>) -> bool {
        let attr = |name: &str| current.and_then(|item| item.get(name));
        match self {
            Condition::NotExists => current.is_none(),
            Condition::Exists => current.is_some(),
            Condition::AttrEquals(name, value) => attr(name) == Some(value),
            Condition::AttrLess(name, value) => {
                attr(name).and_then(|a| compare(a, value)) == Some(std::cmp::Ordering::Less)
            }
            Condition::AttrGreater(name, value) => {
                attr(name).and_then(|a| compare(a, value)) == Some(std::cmp::Ordering::Greater)
            }
            Condition::All(all) => all.iter().all(|c| c.holds(current)),
            Condition::Any(any) => any.iter().any(|c| c.holds(current)),
        }
    }
}

/// An atomic change of some attributes of one item, creating it when it is missing (unless
/// the condition says otherwise): DynamoDB's `UpdateItem` with `SET` and `ADD`. Counters are
/// changed this way, so that concurrent increments never read-modify-write.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub table: &'static TableDef,
    pub id: String,
    /// `SET attr = value`.
    pub set: Vec<(&'static str, Value)>,
    /// `ADD attr n`: a missing attribute counts as 0.
    pub add: Vec<(&'static str, i64)>,
    pub condition: Option<Condition>,
}

impl Update {
    pub fn new(table: &'static TableDef, id: impl Into<String>) -> Update {
        Update { table, id: id.into(), set: vec![], add: vec![], condition: None }
    }

    pub fn set(mut self, attr: &'static str, value: impl Into<Value>) -> Update {
        self.set.push((attr, value.into()));
        self
    }

    pub fn add(mut self, attr: &'static str, n: i64) -> Update {
        self.add.push((attr, n));
        self
    }

    pub fn when(mut self, condition: Condition) -> Update {
        self.condition = Some(condition);
        self
    }

    /// The item after the update (its condition is the caller's to check first).
    pub fn apply(&self, current: Option<&Item>) -> Item {
        let mut item = current.cloned().unwrap_or_default();
        item.insert("id".into(), Value::String(self.id.clone()));
        for (attr, value) in &self.set {
            item.insert((*attr).into(), value.clone());
        }
        for (attr, n) in &self.add {
            let old = item.get(*attr).and_then(Value::as_i64).unwrap_or(0);
            item.insert((*attr).into(), Value::from(old + n));
        }
        self.table.prepare(&mut item);
        item
    }
}

#[derive(Debug, Clone)]
pub enum Write {
    Put { table: &'static TableDef, item: Item, condition: Option<Condition> },
    Delete { table: &'static TableDef, id: String, condition: Option<Condition> },
    Check { table: &'static TableDef, id: String, condition: Condition },
    Update(Update),
}

/// Most writes one transaction may hold (DynamoDB's limit).
pub const MAX_TRANSACTION_WRITES: usize = 100;

impl Write {
    /// The table name and id the write is about.
    pub fn key(&self) -> (&'static str, &str) {
        match self {
            Write::Put { table, item, .. } => (table.name, item.get("id").and_then(Value::as_str).unwrap_or_default()),
            Write::Delete { table, id, .. } | Write::Check { table, id, .. } => (table.name, id.as_str()),
            Write::Update(u) => (u.table.name, u.id.as_str()),
        }
    }
}

/// A condition on an index's sort key.
#[derive(Debug, Clone, PartialEq)]
pub enum SortCondition {
    Eq(String),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
    BeginsWith(String),
    /// Between the two values, both included (DynamoDB's `BETWEEN`).
    Between(String, String),
}

#[derive(Debug, Clone)]
pub struct Query {
    pub table: &'static TableDef,
    pub index: &'static IndexDef,
    pub pk: String,
    pub sk: Option<SortCondition>,
    pub descending: bool,
    /// At most this many items are read (DynamoDB's `Limit`), 1..=1000.
    pub limit: usize,
    pub start: Option<StartKey>,
}

impl Query {
    /// A whole partition of an index, in ascending sort key order, from its start.
    pub fn partition(table: &'static TableDef, index: &'static IndexDef, pk: impl Into<String>) -> Query {
        Query { table, index, pk: pk.into(), sk: None, descending: false, limit: 1000, start: None }
    }

    /// The query narrowed on the index's sort key.
    pub fn with_sk(mut self, sk: Option<SortCondition>) -> Query {
        self.sk = sk;
        self
    }

    /// The query reading at most `limit` items a request.
    pub fn with_limit(mut self, limit: usize) -> Query {
        self.limit = limit;
        self
    }
}

/// Every item a query matches, following resume keys request after request.
pub async fn query_all(store: &dyn Store, query: Query) -> Result<Vec<Item>, StoreError> {
    Ok(query_within(store, query, usize::MAX).await?.unwrap_or_default())
}

/// Every item a query matches if they are at most `budget` (reading at most one more to know),
/// else `None`. A whole-table partition spread over shards is read shard after shard (in no
/// particular order overall).
pub async fn query_within(store: &dyn Store, query: Query, budget: usize) -> Result<Option<Vec<Item>>, StoreError> {
    let mut items = Vec::new();
    for part in partitions_of(&query) {
        let left = budget.saturating_sub(items.len());
        match partition_within(store, Query { pk: part, ..query.clone() }, left).await? {
            Some(found) => items.extend(found),
            None => return Ok(None),
        }
    }
    Ok(Some(items))
}

/// The partitions a query's `pk` stands for: its shards when it names a sharded whole table.
fn partitions_of(query: &Query) -> Vec<String> {
    query.index.partitions(&query.pk)
}

async fn partition_within(store: &dyn Store, mut query: Query, budget: usize) -> Result<Option<Vec<Item>>, StoreError> {
    let mut items = Vec::new();
    loop {
        let wanted = budget.saturating_add(1).saturating_sub(items.len());
        let page = store.query(Query { limit: query.limit.min(wanted), ..query.clone() }).await?;
        items.extend(page.items);
        if items.len() > budget {
            return Ok(None);
        }
        match page.last_key {
            Some(key) => query.start = Some(key),
            None => return Ok(Some(items)),
        }
    }
}

/// Up to `query.limit` items of the query's partition in its order, from `query.start` on,
/// with the key a next read resumes from when more may follow (see [`Reading`]).
pub async fn read(store: &dyn Store, query: Query) -> Result<QueryPage, StoreError> {
    let (index, limit) = (query.index, query.limit.max(1));
    let mut reading = Reading::new(query);
    let items = reading.next(store, limit).await?.unwrap_or_default();
    let more = items.len() >= limit && !reading.is_exhausted();
    let last_key = more.then(|| items.last().map(|i| start_key_of(index, i))).flatten();
    Ok(QueryPage { items, last_key })
}

/// A partition read in its order a batch at a time. A whole-table partition spread over
/// shards is read from every shard (in parallel, each about its share of the batch) and merged
/// in index order (sort key, then id: the indexes read in order this way have unique keys);
/// what a shard returned beyond the batch waits for the next one, so nothing is read twice.
/// A start key is a position, valid in every shard (DynamoDB and moto accept an
/// `ExclusiveStartKey` that names no item).
pub struct Reading {
    query: Query,
    /// The shards, when the partition is spread over several.
    shards: Vec<Shard>,
    exhausted: bool,
}

/// One shard of a merged read: where it resumes, and what was read of it but not yet returned.
struct Shard {
    query: Query,
    buffer: std::collections::VecDeque<Item>,
    done: bool,
}

impl Reading {
    pub fn new(query: Query) -> Reading {
        let parts = partitions_of(&query);
        let pk_attr = query.index.pk_attr();
        let shards = if parts.len() <= 1 {
            vec![]
        } else {
            parts
                .into_iter()
                .map(|pk| {
                    let start = query.start.clone().map(|mut key| {
                        key.insert(pk_attr.into(), Value::String(pk.clone()));
                        key
                    });
                    Shard { query: Query { pk, start, ..query.clone() }, buffer: Default::default(), done: false }
                })
                .collect()
        };
        Reading { query, shards, exhausted: false }
    }

    /// Has every item been returned?
    pub fn is_exhausted(&self) -> bool {
        self.exhausted
    }

    /// Up to `limit` more items in order (fewer at the end), or `None` once all were returned.
    pub async fn next(&mut self, store: &dyn Store, limit: usize) -> Result<Option<Vec<Item>>, StoreError> {
        if self.exhausted {
            return Ok(None);
        }
        if self.shards.is_empty() {
            let page = store.query(Query { limit, start: self.query.start.take(), ..self.query.clone() }).await?;
            self.query.start = page.last_key;
            self.exhausted = self.query.start.is_none();
            return Ok(Some(page.items));
        }
        let share = limit.div_ceil(self.shards.len()) + 1;
        let mut items = Vec::with_capacity(limit);
        while items.len() < limit {
            let shards = &mut self.shards;
            let dry: Vec<usize> =
                (0..shards.len()).filter(|&i| shards[i].buffer.is_empty() && !shards[i].done).collect();
            let reads = dry.iter().map(|&i| store.query(Query { limit: share, ..shards[i].query.clone() }));
            let pages = futures_util::future::try_join_all(reads).await?;
            for (i, page) in dry.into_iter().zip(pages) {
                let shard = &mut shards[i];
                shard.buffer.extend(page.items);
                shard.done = page.last_key.is_none();
                shard.query.start = page.last_key;
            }
            let heads = shards.iter().enumerate().filter_map(|(i, s)| s.buffer.front().map(|head| (i, head)));
            let first = heads.min_by(|(_, a), (_, b)| {
                let order = index_order(self.query.index, a, b);
                if self.query.descending { order.reverse() } else { order }
            });
            let Some((i, _)) = first else { break };
            items.extend(shards[i].buffer.pop_front());
        }
        self.exhausted = self.shards.iter().all(|s| s.buffer.is_empty() && s.done);
        Ok(Some(items))
    }
}

/// Index order: the sort key, then the id (as the embedded store orders ties).
fn index_order(index: &IndexDef, a: &Item, b: &Item) -> std::cmp::Ordering {
    let key = |item: &Item| (index.sk_of(item), item.get("id").and_then(Value::as_str).map(str::to_string));
    key(a).cmp(&key(b))
}

#[derive(Debug, Clone, Default)]
pub struct QueryPage {
    pub items: Vec<Item>,
    /// Present when the read stopped at `limit`: more items may follow.
    pub last_key: Option<StartKey>,
}

/// The port every handler uses; the adapters are SQLite (embedded) and DynamoDB.
#[async_trait]
pub trait Store: Send + Sync {
    /// A strongly consistent read of one item by id.
    async fn get(&self, table: &'static TableDef, id: &str) -> Result<Option<Item>, StoreError>;
    /// Several items by id in as few requests as the backend allows; missing ids are skipped.
    async fn batch_get(&self, table: &'static TableDef, ids: &[String]) -> Result<Vec<Item>, StoreError>;
    /// Items of one index partition, in sort key order (then id), from `start` on.
    async fn query(&self, query: Query) -> Result<QueryPage, StoreError>;
    /// Applies every write or none (at most 100 writes).
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError>;
    /// One atomic update on its own (DynamoDB's `UpdateItem`): the item as it is afterwards,
    /// or `ConditionFailed(Some(0))` if its condition did not hold.
    async fn update(&self, update: Update) -> Result<Item, StoreError>;
    /// Writes items without conditions and without atomicity, in as few requests as the backend
    /// allows (DynamoDB's BatchWriteItem): bulk loads and imports, never request handling.
    async fn put_many(&self, table: &'static TableDef, items: Vec<Item>) -> Result<(), StoreError>;
    /// Creates missing tables and indexes.
    async fn ensure_schema(&self) -> Result<(), StoreError>;
}

/// The key attributes an index query resumes from after `item` (what DynamoDB would return as
/// `LastEvaluatedKey`): the table key plus the index's keys.
pub fn start_key_of(index: &IndexDef, item: &Item) -> StartKey {
    let mut key = Map::new();
    for attr in [Some("id"), Some(index.pk_attr()), index.sk].into_iter().flatten() {
        if let Some(v) = item.get(attr) {
            key.insert(attr.into(), v.clone());
        } else if attr == index.pk_attr()
            && let Some(pk) = index.pk_of(item)
        {
            key.insert(attr.into(), Value::String(pk));
        }
    }
    key
}
