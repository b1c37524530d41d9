//! A store decorator that injects the failures DynamoDB can answer under pressure and moto
//! cannot be made to (transaction conflicts, throttling, a backend error), in front of a real
//! store: the calls it lets through do what they always do, so a test sees whether anything
//! half-done is left behind. It counts every call it sees, injected or not.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use iam_shared::store::{Item, Query, QueryPage, Store, StoreError, TableDef, Update, Write};

/// A call of the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Get,
    BatchGet,
    Query,
    Transact,
    Update,
    PutMany,
}

/// A failure to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A concurrent transaction won (`TransactionConflict`).
    Contended,
    /// Throttled through the SDK's retries.
    Throttled,
    /// Anything else (a timeout, a reset connection).
    Backend,
}

impl Fault {
    fn error(self) -> StoreError {
        match self {
            Fault::Contended => StoreError::Contended("injected transaction conflict".into()),
            Fault::Throttled => StoreError::Throttled("injected throttling".into()),
            Fault::Backend => StoreError::Backend(anyhow::anyhow!("injected failure at secret-host:8000")),
        }
    }
}

#[derive(Default)]
struct Plan {
    /// Per call: the fault, and how many more calls get it (`None`: every one).
    faults: HashMap<Op, (Fault, Option<usize>)>,
    calls: HashMap<Op, usize>,
}

pub struct Faulty {
    inner: Arc<dyn Store>,
    plan: Mutex<Plan>,
}

impl Faulty {
    pub fn new(inner: Arc<dyn Store>) -> Arc<Faulty> {
        Arc::new(Faulty { inner, plan: Mutex::default() })
    }

    /// The next `times` calls of `op` fail with `fault` (`None`: every call, until cleared).
    pub fn inject(&self, op: Op, fault: Fault, times: Option<usize>) {
        self.plan.lock().unwrap().faults.insert(op, (fault, times));
    }

    /// No more failures of `op`.
    pub fn clear(&self, op: Op) {
        self.plan.lock().unwrap().faults.remove(&op);
    }

    /// Calls of `op` seen so far, failed or not.
    pub fn calls(&self, op: Op) -> usize {
        self.plan.lock().unwrap().calls.get(&op).copied().unwrap_or(0)
    }

    /// Counts the call, and fails it if the plan says so.
    fn check(&self, op: Op) -> Result<(), StoreError> {
        let mut plan = self.plan.lock().unwrap();
        *plan.calls.entry(op).or_default() += 1;
        let Some((fault, left)) = plan.faults.get_mut(&op) else { return Ok(()) };
        let fault = *fault;
        match left {
            None => Err(fault.error()),
            Some(0) => Ok(()),
            Some(n) => {
                *n -= 1;
                Err(fault.error())
            }
        }
    }
}

#[async_trait]
impl Store for Faulty {
    async fn get(&self, table: &'static TableDef, id: &str) -> Result<Option<Item>, StoreError> {
        self.check(Op::Get)?;
        self.inner.get(table, id).await
    }

    async fn batch_get(&self, table: &'static TableDef, ids: &[String]) -> Result<Vec<Item>, StoreError> {
        self.check(Op::BatchGet)?;
        self.inner.batch_get(table, ids).await
    }

    async fn query(&self, query: Query) -> Result<QueryPage, StoreError> {
        self.check(Op::Query)?;
        self.inner.query(query).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.check(Op::Transact)?;
        self.inner.transact(writes).await
    }

    async fn update(&self, update: Update) -> Result<Item, StoreError> {
        self.check(Op::Update)?;
        self.inner.update(update).await
    }

    async fn put_many(&self, table: &'static TableDef, items: Vec<Item>) -> Result<(), StoreError> {
        self.check(Op::PutMany)?;
        self.inner.put_many(table, items).await
    }

    async fn ensure_schema(&self) -> Result<(), StoreError> {
        self.inner.ensure_schema().await
    }
}
