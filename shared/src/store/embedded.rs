//! The embedded adapter: SQLite (WAL) in one file, one SQL table per table with a column pair
//! and a B-tree index per secondary index, so that index queries are range scans as in DynamoDB.
//! A commit is on disk before it is acknowledged (`synchronous=FULL`, see [`Durability`]).

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params_from_iter, types::Value as Sql};

use super::{
    IndexDef, Item, Query, QueryPage, SortCondition, Store, StoreError, TableDef, Update, Write, schema::TABLES,
    start_key_of,
};

/// When a commit counts as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// SQLite's `synchronous=FULL`: the WAL is fsynced at every commit, so a write acknowledged
    /// before a power loss or an OS crash is there afterwards. What the store always uses: an
    /// identity store must not forget a password change or a revoked session it confirmed.
    Full,
    /// `synchronous=NORMAL`: the WAL is fsynced only at checkpoints. A killed process loses
    /// nothing, but a power loss can lose the last acknowledged commits. Kept only so that
    /// `make bench-durability` can show what `Full` costs (`bench/DURABILITY.md`).
    Normal,
}

pub struct EmbeddedStore {
    // One connection behind a mutex: SQLite serialises writers anyway, and every call runs on
    // the blocking pool so the async threads never wait on disk.
    conn: Arc<Mutex<Connection>>,
}

impl EmbeddedStore {
    /// Opens (creating if needed) the database file and its schema, durable at every commit.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Self::open_with(path, Durability::Full)
    }

    /// [`EmbeddedStore::open`] with a chosen durability (the durability bench compares them).
    pub fn open_with(path: &Path, durability: Durability) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let synchronous = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous)?;
        // Another process (`iam bootstrap` beside `iam serve`) may hold the write lock briefly.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        create_schema(&conn)?;
        Ok(EmbeddedStore { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Waits at most `timeout` for another connection's lock from now on (tests shorten it).
    pub fn set_busy_timeout(&self, timeout: std::time::Duration) -> anyhow::Result<()> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        Ok(conn.busy_timeout(timeout)?)
    }

    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Backend(e.into()))?
    }
}

impl EmbeddedStore {
    /// Runs a point read (one item, or a batch of at most 100 by key): microseconds of work on
    /// cached pages, less than handing it to the blocking pool costs (futex wakes and context
    /// switches were most of `GET /accounts/me`'s CPU in a profile of `make bench-load`). It
    /// runs on the calling thread when the connection is free; when another call holds it (a
    /// commit waiting on fsync), it goes to the blocking pool like every other call, so an
    /// async thread never waits on a write.
    async fn with_conn_brief<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        // The guard must be gone before the await (it is not `Send`): the match ends first.
        let f = match self.conn.try_lock() {
            Ok(mut guard) => return f(&mut guard),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => return f(&mut poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => f,
        };
        self.with_conn(f).await
    }
}

/// How long a call waits for a lock another process holds (`iam bootstrap` beside `iam serve`,
/// a backup) before it gives up.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A failed statement as the port reports it. The database still locked by another process
/// after [`BUSY_TIMEOUT`] is the embedded form of throttling: nothing was written, and the
/// client is asked to come back (503 with `Retry-After`) rather than given a bare 500.
fn sql_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Throttled(format!("the database stayed locked by another connection: {e}"))
        }
        _ => StoreError::Backend(e.into()),
    }
}

fn col(index: &IndexDef, part: &str) -> String {
    format!("\"{}_{}\"", index.name, part)
}

fn create_schema(conn: &Connection) -> anyhow::Result<()> {
    for table in TABLES {
        let mut cols = vec!["id TEXT PRIMARY KEY NOT NULL".to_string(), "item TEXT NOT NULL".into()];
        for index in table.indexes {
            cols.push(format!("{} TEXT", col(index, "pk")));
            cols.push(format!("{} TEXT", col(index, "sk")));
        }
        conn.execute_batch(&format!("CREATE TABLE IF NOT EXISTS \"{}\" ({});", table.name, cols.join(", ")))?;
        add_missing_index_columns(conn, table)?;
        for index in table.indexes {
            conn.execute_batch(&format!(
                "CREATE INDEX IF NOT EXISTS \"{t}__{i}\" ON \"{t}\" ({pk}, {sk}, id);",
                t = table.name,
                i = index.name,
                pk = col(index, "pk"),
                sk = col(index, "sk"),
            ))?;
        }
    }
    Ok(())
}

/// A data folder from an older build lacks the columns of indexes added since: add them and
/// fill them from the stored items (what DynamoDB's index backfill does).
fn add_missing_index_columns(conn: &Connection, table: &TableDef) -> anyhow::Result<()> {
    let existing: Vec<String> = conn
        .prepare(&format!("SELECT name FROM pragma_table_info('{}')", table.name))?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    let missing: Vec<&IndexDef> =
        table.indexes.iter().filter(|i| !existing.iter().any(|c| format!("\"{c}\"") == col(i, "pk"))).collect();
    if missing.is_empty() {
        return Ok(());
    }
    for index in &missing {
        for part in ["pk", "sk"] {
            conn.execute_batch(&format!("ALTER TABLE \"{}\" ADD COLUMN {} TEXT;", table.name, col(index, part)))?;
        }
    }
    let items: Vec<String> = conn
        .prepare(&format!("SELECT item FROM \"{}\"", table.name))?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    for text in items {
        let mut item = decode(&text)?;
        table.prepare(&mut item);
        put(conn, table, &item)?;
    }
    Ok(())
}

fn decode(text: &str) -> Result<Item, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(anyhow::anyhow!("corrupt item: {e}")))
}

fn read(conn: &Connection, table: &TableDef, id: &str) -> Result<Option<Item>, StoreError> {
    let text: Option<String> = conn
        .query_row(&format!("SELECT item FROM \"{}\" WHERE id = ?1", table.name), [id], |r| r.get(0))
        .optional()
        .map_err(sql_err)?;
    text.as_deref().map(decode).transpose()
}

fn put(conn: &Connection, table: &TableDef, item: &Item) -> Result<(), StoreError> {
    let id = match item.get("id") {
        Some(serde_json::Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err(StoreError::Backend(anyhow::anyhow!("item without a string id"))),
    };
    let mut names = vec!["id".to_string(), "item".into()];
    let mut values = vec![Sql::Text(id), Sql::Text(serde_json::Value::Object(item.clone()).to_string())];
    for index in table.indexes {
        names.push(col(index, "pk"));
        values.push(index.pk_of(item).map_or(Sql::Null, Sql::Text));
        names.push(col(index, "sk"));
        values.push(index.sk_of(item).map_or(Sql::Null, Sql::Text));
    }
    let marks: Vec<String> = (1..=values.len()).map(|i| format!("?{i}")).collect();
    conn.execute(
        &format!("INSERT OR REPLACE INTO \"{}\" ({}) VALUES ({})", table.name, names.join(", "), marks.join(", ")),
        params_from_iter(values),
    )
    .map_err(sql_err)?;
    Ok(())
}

fn run_query(conn: &Connection, q: &Query) -> Result<QueryPage, StoreError> {
    let (pk, sk) = (col(q.index, "pk"), col(q.index, "sk"));
    let mut sql = format!("SELECT item FROM \"{}\" WHERE {pk} = ?1", q.table.name);
    let mut args = vec![Sql::Text(q.pk.clone())];
    let arg = |v: &str, args: &mut Vec<Sql>| {
        args.push(Sql::Text(v.to_string()));
        format!("?{}", args.len())
    };
    if q.index.sk.is_some() {
        // DynamoDB leaves items without the sort key out of the index.
        sql.push_str(&format!(" AND {sk} IS NOT NULL"));
    }
    if let Some(cond) = &q.sk {
        let clause = match cond {
            SortCondition::Eq(v) => format!("{sk} = {}", arg(v, &mut args)),
            SortCondition::Lt(v) => format!("{sk} < {}", arg(v, &mut args)),
            SortCondition::Le(v) => format!("{sk} <= {}", arg(v, &mut args)),
            SortCondition::Gt(v) => format!("{sk} > {}", arg(v, &mut args)),
            SortCondition::Ge(v) => format!("{sk} >= {}", arg(v, &mut args)),
            SortCondition::Between(low, high) => {
                let (low, high) = (arg(low, &mut args), arg(high, &mut args));
                format!("{sk} >= {low} AND {sk} <= {high}")
            }
            SortCondition::BeginsWith(v) => {
                // The upper bound ends the index range scan at the prefix's last key (no key
                // holds U+10FFFF, a noncharacter); without it SQLite reads on to the end of the
                // partition whenever fewer keys than the limit start with the prefix.
                let p = arg(v, &mut args);
                let end = arg(&format!("{v}\u{10FFFF}"), &mut args);
                format!("{sk} >= {p} AND {sk} < {end} AND substr({sk}, 1, length({p})) = {p}")
            }
        };
        sql.push_str(&format!(" AND {clause}"));
    }
    let (cmp, dir) = if q.descending { ("<", "DESC") } else { (">", "ASC") };
    if let Some(start) = &q.start {
        let id = start.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        match q.index.sk {
            Some(attr) => {
                let after = start.get(attr).and_then(|v| v.as_str()).unwrap_or_default().to_string();
                let (s, i) = (arg(&after, &mut args), arg(&id, &mut args));
                sql.push_str(&format!(" AND ({sk}, id) {cmp} ({s}, {i})"));
            }
            None => sql.push_str(&format!(" AND id {cmp} {}", arg(&id, &mut args))),
        }
    }
    sql.push_str(&format!(" ORDER BY {sk} {dir}, id {dir} LIMIT {}", q.limit.clamp(1, 1000)));
    let mut stmt = conn.prepare(&sql).map_err(sql_err)?;
    let rows = stmt
        .query_map(params_from_iter(args), |r| r.get::<_, String>(0))
        .map_err(sql_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql_err)?;
    let mut items = rows.iter().map(|t| decode(t)).collect::<Result<Vec<_>, _>>()?;
    if q.index.keys_only {
        // As DynamoDB's KEYS_ONLY projection: the table key and the index keys.
        items = items.iter().map(|i| start_key_of(q.index, i)).collect();
    }
    let last_key = (items.len() >= q.limit).then(|| items.last().map(|i| start_key_of(q.index, i))).flatten();
    Ok(QueryPage { items, last_key })
}

/// Applies one write inside an open transaction; `false` if its condition did not hold.
fn apply(tx: &Connection, write: &Write) -> Result<bool, StoreError> {
    let (table, id, condition) = match write {
        Write::Put { table, item, condition } => {
            (*table, item.get("id").and_then(|v| v.as_str()).unwrap_or_default(), condition.as_ref())
        }
        Write::Delete { table, id, condition } => (*table, id.as_str(), condition.as_ref()),
        Write::Check { table, id, condition } => (*table, id.as_str(), Some(condition)),
        Write::Update(update) => return Ok(apply_update(tx, update)?.is_some()),
    };
    if let Some(condition) = condition
        && !condition.holds(read(tx, table, id)?.as_ref())
    {
        return Ok(false);
    }
    match write {
        Write::Put { table, item, .. } => {
            let mut item = item.clone();
            table.prepare(&mut item);
            put(tx, table, &item)?
        }
        Write::Delete { table, id, .. } => {
            tx.execute(&format!("DELETE FROM \"{}\" WHERE id = ?1", table.name), [id]).map_err(sql_err)?;
        }
        Write::Check { .. } | Write::Update(_) => {}
    }
    Ok(true)
}

/// An update inside an open transaction: the item afterwards, or `None` if its condition did
/// not hold. Reading, evaluating and writing here is as atomic as one SQL statement: every
/// transaction of this store is `BEGIN IMMEDIATE`, which holds SQLite's single write lock from
/// its first statement (across processes too), so no other writer runs in between. Applying the
/// update in Rust keeps one definition of its meaning (`Update::apply`) and rewrites the index
/// columns of the attributes it changes, which a `json_set` statement would leave stale.
fn apply_update(tx: &Connection, update: &Update) -> Result<Option<Item>, StoreError> {
    let current = read(tx, update.table, &update.id)?;
    if update.condition.as_ref().is_some_and(|c| !c.holds(current.as_ref())) {
        return Ok(None);
    }
    let item = update.apply(current.as_ref());
    put(tx, update.table, &item)?;
    Ok(Some(item))
}

/// DynamoDB refuses transactions of more than 100 writes or with two writes on one item; so
/// does this adapter, so that such a transaction fails in local runs and tests too.
fn check_transaction_shape(writes: &[Write]) -> Result<(), StoreError> {
    if writes.len() > super::MAX_TRANSACTION_WRITES {
        return Err(StoreError::Backend(anyhow::anyhow!("a transaction holds at most 100 writes")));
    }
    let mut keys: Vec<(&str, &str)> = writes.iter().map(|w| w.key()).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(StoreError::Backend(anyhow::anyhow!(
            "a transaction cannot include multiple operations on one item"
        )));
    }
    Ok(())
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, table: &'static TableDef, id: &str) -> Result<Option<Item>, StoreError> {
        let id = id.to_string();
        self.with_conn_brief(move |c| read(c, table, &id)).await
    }

    async fn batch_get(&self, table: &'static TableDef, ids: &[String]) -> Result<Vec<Item>, StoreError> {
        let ids = ids.to_vec();
        self.with_conn_brief(move |c| {
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                out.extend(read(c, table, id)?);
            }
            Ok(out)
        })
        .await
    }

    async fn query(&self, query: Query) -> Result<QueryPage, StoreError> {
        self.with_conn(move |c| run_query(c, &query)).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        check_transaction_shape(&writes)?;
        self.with_conn(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql_err)?;
            for (i, write) in writes.iter().enumerate() {
                if !apply(&tx, write)? {
                    // Dropping `tx` rolls back everything written so far.
                    return Err(StoreError::ConditionFailed(Some(i)));
                }
            }
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn update(&self, update: Update) -> Result<Item, StoreError> {
        self.with_conn(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql_err)?;
            let Some(item) = apply_update(&tx, &update)? else { return Err(StoreError::ConditionFailed(Some(0))) };
            tx.commit().map_err(sql_err)?;
            Ok(item)
        })
        .await
    }

    async fn put_many(&self, table: &'static TableDef, items: Vec<Item>) -> Result<(), StoreError> {
        self.with_conn(move |c| {
            let tx = c.transaction().map_err(sql_err)?;
            for mut item in items {
                table.prepare(&mut item);
                put(&tx, table, &item)?;
            }
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn ensure_schema(&self) -> Result<(), StoreError> {
        self.with_conn(|c| create_schema(c).map_err(StoreError::Backend)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::ORGANIZATIONS;
    use serde_json::json;

    /// Another process holding the write lock past the busy timeout: the write is refused as
    /// throttled (a 503 with `Retry-After`), not a bare 500, and nothing of it is written;
    /// reads go on meanwhile (WAL), and the write succeeds once the lock is gone.
    #[tokio::test]
    async fn a_write_locked_out_by_another_process_is_throttled_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("iam.sqlite3");
        let store = EmbeddedStore::open(&path).unwrap();
        store.set_busy_timeout(std::time::Duration::from_millis(50)).unwrap();
        let item = json!({"id": "org-1", "name": "Locked"}).as_object().cloned().unwrap();
        let put = || vec![Write::Put { table: &ORGANIZATIONS, item: item.clone(), condition: None }];

        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let refused = store.transact(put()).await;
        assert!(matches!(refused, Err(StoreError::Throttled(_))), "{refused:?}");
        let error: crate::Error = refused.unwrap_err().into();
        assert!(matches!(error, crate::Error::Unavailable { .. }), "{error:?}");
        assert_eq!(store.get(&ORGANIZATIONS, "org-1").await.unwrap(), None, "readers go on, nothing was written");

        other.execute_batch("COMMIT").unwrap();
        store.transact(put()).await.expect("written once the lock is gone");
        assert!(store.get(&ORGANIZATIONS, "org-1").await.unwrap().is_some());
    }
}
