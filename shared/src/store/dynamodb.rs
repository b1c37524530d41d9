//! The DynamoDB adapter (aws-sdk-dynamodb). `AWS_ENDPOINT_URL` points it at another endpoint,
//! such as moto's server in tests. Table names are the schema's names behind a prefix.
//!
//! Under pressure: every call has a connect, an attempt and an operation timeout ([`Patience`]),
//! so a hung call ends in an error well inside the function's timeout; throttling is retried by
//! the SDK's standard retry and then reported as [`StoreError::Throttled`] (503); a transaction
//! a concurrent one beat is [`StoreError::Contended`] (retried by [`super::Retrying`], then 409);
//! what a batch leaves unprocessed is sent again with bounded backoff and jitter.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, KeysAndAttributes, Projection, ProjectionType, Put, PutRequest, ReturnValue, ScalarAttributeType,
    TimeToLiveSpecification, TransactWriteItem, WriteRequest,
};
use serde_json::{Map, Number, Value};

use super::backoff::Backoff;
use super::{
    Condition, Item, Query, QueryPage, SortCondition, Store, StoreError, TableDef, Update, Write, schema::TABLES,
};

type Attrs = HashMap<String, AttributeValue>;

/// How long the adapter waits on DynamoDB, and how many times the SDK tries a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// Opening a connection (the SDK's default is 3.1 s).
    pub connect: Duration,
    /// One try of a call, from sending to the whole answer. DynamoDB answers in milliseconds;
    /// a try this slow is a hung connection, and another try on a fresh one is the cure.
    pub attempt: Duration,
    /// A call with all its tries and the waits between them.
    pub operation: Duration,
    /// Tries of a call in all (the SDK's standard retry: throttling, 5xx, timeouts, resets).
    pub attempts: u32,
}

impl Patience {
    /// In a function with a 10 s timeout: a hung call ends after 4 s at most, so the request
    /// still ends in the designed opaque 500 (with its request id) rather than in Lambda's
    /// timeout, even when a second call follows.
    pub const FUNCTION: Patience = Patience {
        connect: Duration::from_secs(1),
        attempt: Duration::from_millis(1500),
        operation: Duration::from_secs(4),
        attempts: 3,
    };
}

/// A DynamoDB client on the environment's configuration with `patience`'s timeouts and retries.
pub fn client(config: &SdkConfig, patience: Patience) -> Client {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(patience.connect)
        .operation_attempt_timeout(patience.attempt)
        .operation_timeout(patience.operation)
        .build();
    // The SDK's first backoff is 1 s, made for services that answer in seconds; DynamoDB answers
    // in milliseconds (AWS's Java SDK starts DynamoDB's at 25 ms), and a second try after 1 s
    // would eat a quarter of the operation's time.
    let retry = RetryConfig::standard()
        .with_max_attempts(patience.attempts)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_secs(1));
    let conf = aws_sdk_dynamodb::config::Builder::from(config).retry_config(retry).timeout_config(timeouts).build();
    Client::from_conf(conf)
}

pub struct DynamoStore {
    client: Client,
    prefix: String,
}

impl DynamoStore {
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        DynamoStore { client, prefix: prefix.into() }
    }

    pub fn table_name(&self, table: &TableDef) -> String {
        format!("{}{}", self.prefix, table.name)
    }

    async fn create_table(&self, table: &TableDef) -> anyhow::Result<()> {
        let mut attrs = vec!["id"];
        let key = |name: &str, kind: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
        let mut request = self
            .client
            .create_table()
            .table_name(self.table_name(table))
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("id", KeyType::Hash)?);
        for index in table.indexes {
            let mut gsi = GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.pk_attr(), KeyType::Hash)?)
                .projection(
                    Projection::builder()
                        .projection_type(if index.keys_only { ProjectionType::KeysOnly } else { ProjectionType::All })
                        .build(),
                );
            attrs.push(index.pk_attr());
            if let Some(sk) = index.sk {
                gsi = gsi.key_schema(key(sk, KeyType::Range)?);
                attrs.push(sk);
            }
            request = request.global_secondary_indexes(gsi.build()?);
        }
        attrs.sort_unstable();
        attrs.dedup();
        for a in attrs {
            request = request.attribute_definitions(
                AttributeDefinition::builder().attribute_name(a).attribute_type(ScalarAttributeType::S).build()?,
            );
        }
        request.send().await.with_context(|| format!("creating table {}", self.table_name(table)))?;
        if let Some(attr) = table.ttl {
            let spec = TimeToLiveSpecification::builder().attribute_name(attr).enabled(true).build()?;
            self.client
                .update_time_to_live()
                .table_name(self.table_name(table))
                .time_to_live_specification(spec)
                .send()
                .await
                .with_context(|| format!("enabling TTL on {}", self.table_name(table)))?;
        }
        Ok(())
    }
}

/// Error codes of a refusal for capacity (the SDK retried them already).
const THROTTLING: &[&str] = &["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"];

/// A failed call as the port reports it: throttling and transaction conflicts by their kind
/// (the caller answers 503 or retries), anything else, timeouts included, as an opaque cause.
fn backend<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    e: SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> StoreError {
    let cause = || aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string();
    match e.code() {
        Some(code) if THROTTLING.contains(&code) => StoreError::Throttled(cause()),
        Some("TransactionConflictException") => StoreError::Contended(cause()),
        _ => StoreError::Backend(anyhow!(cause())),
    }
}

/// What a cancelled transaction's reasons say: the first failed condition (which write), a
/// conflict with another transaction, or throttling of one of its items.
fn cancelled(reasons: &[aws_sdk_dynamodb::types::CancellationReason], message: impl FnOnce() -> String) -> StoreError {
    let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("None")).collect();
    if let Some(failed) = codes.iter().position(|c| *c == "ConditionalCheckFailed") {
        return StoreError::ConditionFailed(Some(failed));
    }
    if codes.is_empty() {
        return StoreError::ConditionFailed(None);
    }
    if codes.contains(&"TransactionConflict") {
        StoreError::Contended(message())
    } else if codes.iter().any(|c| matches!(*c, "ThrottlingError" | "ProvisionedThroughputExceeded")) {
        StoreError::Throttled(message())
    } else {
        StoreError::Backend(anyhow!("transaction cancelled: {}", message()))
    }
}

/// Sends `first`, then what each answer left unprocessed (DynamoDB's answer to a batch it has
/// no capacity for), waiting with [`Backoff::UNPROCESSED`]'s backoff and jitter before each
/// resend, and gathers what each answer returned. What is still left after the last try is
/// reported as throttled: a bounded wait, never an endless loop.
async fn drain<P, T, F>(first: P, what: &str, mut send: impl FnMut(P) -> F) -> Result<Vec<T>, StoreError>
where
    F: Future<Output = Result<(Vec<T>, Option<P>), StoreError>>,
{
    let backoff = Backoff::UNPROCESSED;
    let mut gathered = Vec::new();
    let mut pending = Some(first);
    let mut tries = 0;
    while let Some(batch) = pending.take() {
        if tries > 0 {
            backoff.pause(tries - 1).await;
        }
        let (items, left) = send(batch).await?;
        gathered.extend(items);
        tries += 1;
        if left.is_some() && tries >= backoff.attempts {
            return Err(StoreError::Throttled(format!("{what}: still unprocessed after {tries} tries")));
        }
        pending = left;
    }
    Ok(gathered)
}

/// JSON value → DynamoDB attribute value.
pub fn to_attr(v: &Value) -> AttributeValue {
    match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(a) => AttributeValue::L(a.iter().map(to_attr).collect()),
        Value::Object(o) => AttributeValue::M(o.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()),
    }
}

/// DynamoDB attribute value → JSON value.
pub fn from_attr(a: &AttributeValue) -> Value {
    match a {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => n
            .parse::<i64>()
            .map(Number::from)
            .ok()
            .or_else(|| n.parse::<f64>().ok().and_then(Number::from_f64))
            .map_or(Value::Null, Value::Number),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::L(l) => Value::Array(l.iter().map(from_attr).collect()),
        AttributeValue::M(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), from_attr(v))).collect()),
        AttributeValue::Ss(ss) => Value::Array(ss.iter().cloned().map(Value::String).collect()),
        _ => Value::Null,
    }
}

fn to_attrs(item: &Map<String, Value>) -> Attrs {
    item.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()
}

fn from_attrs(attrs: &Attrs) -> Item {
    attrs.iter().map(|(k, v)| (k.clone(), from_attr(v))).collect()
}

/// Could DynamoDB hold this partition key value? It refuses an empty or over-2048-byte key
/// with a `ValidationException`, where SQLite just finds nothing; no item has such a key, so
/// the adapter answers "absent" as the embedded one does. Handlers validate keys before they
/// get here (`http::ResourceId`, `query::fields`); this keeps any path they miss from a 5xx.
fn is_storable_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 2048
}

fn id_key(id: &str) -> Attrs {
    HashMap::from([("id".to_string(), AttributeValue::S(id.to_string()))])
}

/// An expression being written: its attribute names and values, each under a placeholder of
/// its own (`#n0`, `:v0`, ...), so that conditions can nest and repeat attributes.
#[derive(Default)]
struct Expression {
    names: HashMap<String, String>,
    values: Attrs,
}

impl Expression {
    fn name(&mut self, attr: &str) -> String {
        let key = format!("#n{}", self.names.len());
        self.names.insert(key.clone(), attr.to_string());
        key
    }

    fn value(&mut self, v: &Value) -> String {
        let key = format!(":v{}", self.values.len());
        self.values.insert(key.clone(), to_attr(v));
        key
    }

    fn condition(&mut self, c: &Condition) -> String {
        match c {
            Condition::NotExists => format!("attribute_not_exists({})", self.name("id")),
            Condition::Exists => format!("attribute_exists({})", self.name("id")),
            Condition::AttrEquals(attr, v) => self.compare(attr, "=", v),
            Condition::AttrLess(attr, v) => self.compare(attr, "<", v),
            Condition::AttrGreater(attr, v) => self.compare(attr, ">", v),
            Condition::All(all) if all.is_empty() => self.always(),
            Condition::Any(any) if any.is_empty() => format!("NOT ({})", self.always()),
            Condition::All(all) => self.join(all, " AND "),
            Condition::Any(any) => self.join(any, " OR "),
        }
    }

    fn compare(&mut self, attr: &str, op: &str, v: &Value) -> String {
        let (name, value) = (self.name(attr), self.value(v));
        format!("{name} {op} {value}")
    }

    fn always(&mut self) -> String {
        let id = self.name("id");
        format!("(attribute_exists({id}) OR attribute_not_exists({id}))")
    }

    fn join(&mut self, conditions: &[Condition], op: &str) -> String {
        let parts: Vec<String> = conditions.iter().map(|c| self.condition(c)).collect();
        format!("({})", parts.join(op))
    }

    /// `SET` and `ADD` clauses of an update, with the index attributes its `SET`s imply (the
    /// constant partitions and the folded keys that `TableDef::prepare` writes on a put).
    fn update(&mut self, update: &Update) -> String {
        let mut given: Item = update.set.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect();
        // The write shard is the id's; the key itself is never SET.
        given.insert("id".into(), Value::String(update.id.clone()));
        update.table.prepare(&mut given);
        given.remove("id");
        // A sort key of its own depends on its source: written only when the update sets it.
        for sorted in update.table.sorted {
            if !update.set.iter().any(|(attr, _)| *attr == sorted.source) {
                given.remove(sorted.attr);
            }
        }
        let sets: Vec<String> = given.iter().map(|(k, v)| format!("{} = {}", self.name(k), self.value(v))).collect();
        let adds: Vec<String> =
            update.add.iter().map(|(k, n)| format!("{} {}", self.name(k), self.value(&Value::from(*n)))).collect();
        let mut clauses = Vec::new();
        if !sets.is_empty() {
            clauses.push(format!("SET {}", sets.join(", ")));
        }
        if !adds.is_empty() {
            clauses.push(format!("ADD {}", adds.join(", ")));
        }
        clauses.join(" ")
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<Attrs> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// A condition as an expression with its names and values.
fn condition_expr(c: &Condition) -> (String, Option<Attrs>, Option<HashMap<String, String>>) {
    let mut e = Expression::default();
    let text = e.condition(c);
    (text, e.values(), e.names())
}

/// An update as DynamoDB takes it.
struct RenderedUpdate {
    expression: String,
    condition: Option<String>,
    values: Option<Attrs>,
    names: Option<HashMap<String, String>>,
}

fn update_expr(u: &Update) -> RenderedUpdate {
    let mut e = Expression::default();
    let expression = e.update(u);
    let condition = u.condition.as_ref().map(|c| e.condition(c));
    RenderedUpdate { expression, condition, values: e.values(), names: e.names() }
}

/// Puts a condition on any of the SDK's transaction write builders (`Put`, `Delete`,
/// `ConditionCheck`), which share these methods but no trait.
macro_rules! conditioned {
    ($builder:expr, $condition:expr) => {{
        let (expression, values, names) = condition_expr($condition);
        $builder
            .condition_expression(expression)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
    }};
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, table: &'static TableDef, id: &str) -> Result<Option<Item>, StoreError> {
        if !is_storable_key(id) {
            return Ok(None);
        }
        let out = self
            .client
            .get_item()
            .table_name(self.table_name(table))
            .set_key(Some(id_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(out.item.as_ref().map(from_attrs))
    }

    async fn batch_get(&self, table: &'static TableDef, ids: &[String]) -> Result<Vec<Item>, StoreError> {
        let name = self.table_name(table);
        let mut unique: Vec<&String> = ids.iter().filter(|id| is_storable_key(id)).collect();
        unique.sort_unstable();
        unique.dedup();
        let mut out = Vec::with_capacity(unique.len());
        // BatchGetItem takes at most 100 keys a request.
        for chunk in unique.chunks(100) {
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(chunk.iter().map(|id| id_key(id)).collect()))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Backend(e.into()))?;
            let found = drain(keys, "batch_get_item", |keys| async {
                let resp =
                    self.client.batch_get_item().request_items(name.clone(), keys).send().await.map_err(backend)?;
                let items = resp.responses.as_ref().and_then(|r| r.get(&name)).map(|i| i.iter().map(from_attrs));
                let left = resp.unprocessed_keys.and_then(|mut u| u.remove(&name)).filter(|k| !k.keys.is_empty());
                Ok((items.into_iter().flatten().collect(), left))
            })
            .await?;
            out.extend(found);
        }
        Ok(out)
    }

    async fn query(&self, q: Query) -> Result<QueryPage, StoreError> {
        if !is_storable_key(&q.pk) {
            return Ok(QueryPage::default());
        }
        let mut names = HashMap::from([("#pk".to_string(), q.index.pk_attr().to_string())]);
        let mut values = HashMap::from([(":pk".to_string(), AttributeValue::S(q.pk.clone()))]);
        let mut expr = "#pk = :pk".to_string();
        if let (Some(cond), Some(sk)) = (&q.sk, q.index.sk) {
            names.insert("#sk".into(), sk.into());
            if let SortCondition::Between(_, high) = cond {
                values.insert(":high".into(), AttributeValue::S(high.clone()));
            }
            let (clause, v) = match cond {
                SortCondition::Between(low, _) => ("#sk BETWEEN :sk AND :high", low),
                SortCondition::Eq(v) => ("#sk = :sk", v),
                SortCondition::Lt(v) => ("#sk < :sk", v),
                SortCondition::Le(v) => ("#sk <= :sk", v),
                SortCondition::Gt(v) => ("#sk > :sk", v),
                SortCondition::Ge(v) => ("#sk >= :sk", v),
                SortCondition::BeginsWith(v) => ("begins_with(#sk, :sk)", v),
            };
            expr.push_str(" AND ");
            expr.push_str(clause);
            values.insert(":sk".into(), AttributeValue::S(v.clone()));
        }
        let out = self
            .client
            .query()
            .table_name(self.table_name(q.table))
            .index_name(q.index.name)
            .key_condition_expression(expr)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(!q.descending)
            .limit(q.limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(q.start.as_ref().map(to_attrs))
            .send()
            .await
            .map_err(backend)?;
        Ok(QueryPage {
            items: out.items().iter().map(from_attrs).collect(),
            last_key: out.last_evaluated_key.as_ref().map(from_attrs),
        })
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut items = Vec::with_capacity(writes.len());
        for write in &writes {
            let item = match write {
                Write::Put { table, item, condition } => {
                    let mut item = item.clone();
                    table.prepare(&mut item);
                    let put = Put::builder().table_name(self.table_name(table)).set_item(Some(to_attrs(&item)));
                    let put = match condition {
                        Some(c) => conditioned!(put, c),
                        None => put,
                    };
                    TransactWriteItem::builder().put(put.build().map_err(|e| StoreError::Backend(e.into()))?)
                }
                Write::Delete { table, id, condition } => {
                    let del = Delete::builder().table_name(self.table_name(table)).set_key(Some(id_key(id)));
                    let del = match condition {
                        Some(c) => conditioned!(del, c),
                        None => del,
                    };
                    TransactWriteItem::builder().delete(del.build().map_err(|e| StoreError::Backend(e.into()))?)
                }
                Write::Check { table, id, condition } => {
                    let check = ConditionCheck::builder().table_name(self.table_name(table)).set_key(Some(id_key(id)));
                    let check = conditioned!(check, condition).build().map_err(|e| StoreError::Backend(e.into()))?;
                    TransactWriteItem::builder().condition_check(check)
                }
                Write::Update(u) => {
                    let RenderedUpdate { expression, condition, values, names } = update_expr(u);
                    let update = aws_sdk_dynamodb::types::Update::builder()
                        .table_name(self.table_name(u.table))
                        .set_key(Some(id_key(&u.id)))
                        .update_expression(expression)
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(|e| StoreError::Backend(e.into()))?;
                    TransactWriteItem::builder().update(update)
                }
            };
            items.push(item.build());
        }
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_transaction_canceled_exception() => match e.into_err() {
                TransactWriteItemsError::TransactionCanceledException(c) => {
                    Err(cancelled(c.cancellation_reasons(), || format!("{c:?}")))
                }
                other => Err(StoreError::Backend(anyhow!("transact_write_items: {other:?}"))),
            },
            Err(e) => Err(backend(e)),
        }
    }

    async fn update(&self, u: Update) -> Result<Item, StoreError> {
        let RenderedUpdate { expression, condition, values, names } = update_expr(&u);
        let out = self
            .client
            .update_item()
            .table_name(self.table_name(u.table))
            .set_key(Some(id_key(&u.id)))
            .update_expression(expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => Ok(out.attributes.as_ref().map(from_attrs).unwrap_or_default()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Err(StoreError::ConditionFailed(Some(0)))
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn put_many(&self, table: &'static TableDef, items: Vec<Item>) -> Result<(), StoreError> {
        let name = self.table_name(table);
        for chunk in items.chunks(25) {
            let mut requests = Vec::with_capacity(chunk.len());
            for item in chunk {
                let mut item = item.clone();
                table.prepare(&mut item);
                let put = PutRequest::builder()
                    .set_item(Some(to_attrs(&item)))
                    .build()
                    .map_err(|e| StoreError::Backend(e.into()))?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
            drain(requests, "batch_write_item", |batch| async {
                let out =
                    self.client.batch_write_item().request_items(name.clone(), batch).send().await.map_err(backend)?;
                let left = out.unprocessed_items.and_then(|mut u| u.remove(&name)).filter(|r| !r.is_empty());
                Ok((Vec::<()>::new(), left))
            })
            .await?;
        }
        Ok(())
    }

    async fn ensure_schema(&self) -> Result<(), StoreError> {
        for table in TABLES {
            match self.client.describe_table().table_name(self.table_name(table)).send().await {
                Ok(_) => {}
                Err(SdkError::ServiceError(e)) if e.err().is_resource_not_found_exception() => {
                    self.create_table(table).await?;
                }
                Err(e) => return Err(backend(e)),
            }
        }
        Ok(())
    }
}
