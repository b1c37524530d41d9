//! `iam reindex`: accounts stored before the write shards and the sort keys of their own (their
//! `_all` the table's single partition, no `_s_*`) are in none of the current whole-table
//! indexes; reindexing rewrites them so that every index holds them, once, on both stores, and
//! never undoes a write made while it runs. Accounts stored before a sort key of their own was
//! added (`_s_mfa_enabled`) are rewritten with it.

use std::sync::Arc;

use iam_shared::store::dynamodb::DynamoStore;
use iam_shared::store::embedded::EmbeddedStore;
use iam_shared::store::reindex::{Reindexed, reindex};
use iam_shared::store::schema::ACCOUNT_WORDS;
use iam_shared::store::schema::ACCOUNTS;
use iam_shared::store::words::{ITEM_ID, WORD_KEY};
use iam_shared::store::{
    Item, Query, QueryPage, SortCondition, Store, StoreError, TableDef, Update, Write, read, sort_key,
};
use iam_tests::moto;
use serde_json::json;

fn account(id: &str, name: &str) -> Write {
    let item = json!({"id": id, "name": name, "email": format!("{id}@x.io"), "version": 1});
    Write::Put { table: &ACCOUNTS, item: item.as_object().cloned().unwrap(), condition: None }
}

/// The ids a whole-table index of accounts lists, in its order.
async fn listed(store: &dyn Store, index: &str) -> Vec<String> {
    let index = ACCOUNTS.index(index).expect("an index of accounts");
    let page = read(store, Query::partition(&ACCOUNTS, index, "accounts")).await.expect("read");
    page.items.iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

/// The items whose word entries start with `term`, by id.
async fn searched(store: &dyn Store, term: &str) -> Vec<String> {
    let index = ACCOUNT_WORDS.index("by_word").expect("the word index");
    let range = iam_shared::store::SortCondition::BeginsWith(term.to_string());
    let query = Query::partition(&ACCOUNT_WORDS, index, "account_words").with_sk(Some(range));
    let mut ids: Vec<String> = iam_shared::store::query_all(store, query)
        .await
        .expect("entries")
        .iter()
        .filter(|e| e[WORD_KEY].as_str().is_some_and(|w| w.starts_with(term)))
        .map(|e| e[ITEM_ID].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Fresh tables on a moto server, and a raw client to write accounts as older builds laid them out.
struct OnMoto {
    store: Arc<DynamoStore>,
    client: aws_sdk_dynamodb::Client,
    prefix: String,
}

impl OnMoto {
    /// `None` when moto is absent and not required (the suite then skips its DynamoDB half).
    async fn fresh(server: fn() -> &'static str) -> Option<OnMoto> {
        if moto::binary().is_none() {
            assert!(!moto::required(), "IAM_REQUIRE_MOTO=1 but moto_server was not found");
            return None;
        }
        let endpoint = server();
        let prefix = moto::unique_prefix();
        let store = Arc::new(moto::store_at(endpoint, &prefix));
        store.ensure_schema().await.unwrap();
        let client = aws_sdk_dynamodb::Client::new(&moto::sdk_config(endpoint));
        Some(OnMoto { store, client, prefix })
    }

    /// Puts an account item exactly as given, bypassing the store's layout.
    async fn put_as_written(&self, item: &Item) {
        let attrs = item.iter().map(|(k, v)| (k.clone(), iam_shared::store::dynamodb::to_attr(v)));
        let table = format!("{}accounts", self.prefix);
        self.client.put_item().table_name(table).set_item(Some(attrs.collect())).send().await.unwrap();
    }
}

async fn old_items_are_rewritten_once(store: Arc<dyn Store>) {
    for index in ["by_id", "sort_name"] {
        assert_eq!(listed(store.as_ref(), index).await, ["a2"], "{index}: the old item is missing");
    }
    assert_eq!(searched(store.as_ref(), "zed").await, Vec::<String>::new(), "written before its words were indexed");
    let done = reindex(store.as_ref()).await.expect("reindex");
    assert_eq!(done, Reindexed { rewritten: 1, indexed: 2 }, "one old layout; neither had word entries");
    assert_eq!(listed(store.as_ref(), "by_id").await, ["a1", "a2"]);
    assert_eq!(listed(store.as_ref(), "sort_name").await, ["a2", "a1"], "Ann, then Zed");
    assert_eq!(searched(store.as_ref(), "zed").await, ["a1"]);
    assert_eq!(searched(store.as_ref(), "x").await, ["a1", "a2"], "their email's domain");
    assert_eq!(reindex(store.as_ref()).await.expect("reindex"), Reindexed::default(), "once");
    let item: Item = store.get(&ACCOUNTS, "a1").await.unwrap().unwrap();
    assert_eq!((item["name"].clone(), item["version"].clone()), (json!("Zed"), json!(1)), "nothing else changed");
}

#[tokio::test]
async fn accounts_in_the_old_layout_are_rewritten_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iam.sqlite3");
    let store = Arc::new(EmbeddedStore::open(&path).unwrap());
    store.transact(vec![account("a1", "Zed"), account("a2", "Ann")]).await.unwrap();
    // `a1` as an older build wrote it: its item and its index columns.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        r#"UPDATE accounts SET item = json_remove(json_set(item, '$._all', 'accounts'), '$._s_name'),
           "by_id_pk" = 'accounts', "sort_name_pk" = NULL, "sort_name_sk" = NULL WHERE id = 'a1';"#,
    )
    .unwrap();
    old_items_are_rewritten_once(store).await;
}

#[tokio::test]
async fn accounts_in_the_old_layout_are_rewritten_on_dynamodb() {
    let Some(moto) = OnMoto::fresh(moto::shared).await else { return };
    moto.store.transact(vec![account("a2", "Ann")]).await.unwrap();
    // `a1` as an older build wrote it: no write shard, no sort keys of its own.
    let old =
        json!({"id": "a1", "name": "Zed", "email": "a1@x.io", "email_lc": "a1@x.io", "version": 1, "_all": "accounts"});
    moto.put_as_written(old.as_object().unwrap()).await;
    old_items_are_rewritten_once(moto.store.clone()).await;
}

/// Twenty old-layout accounts, reindexed while each is renamed at the same moment: every rename
/// stands, and every account ends in the current layout.
async fn renames_during_a_reindex_are_never_lost(store: Arc<dyn Store>, make_old: impl AsyncFn(&[String])) {
    let ids: Vec<String> = (0..20).map(|i| format!("r{i:02}")).collect();
    store.transact(ids.iter().map(|id| account(id, "Old")).collect()).await.unwrap();
    make_old(&ids).await;
    let renames = ids.iter().map(|id| {
        let store = store.clone();
        let id = id.clone();
        tokio::spawn(async move {
            let mut item = store.get(&ACCOUNTS, &id).await.unwrap().unwrap();
            item.insert("name".into(), json!("New"));
            item.insert("version".into(), json!(2));
            let when = iam_shared::store::Condition::AttrEquals("version", json!(1));
            store.transact(vec![Write::Put { table: &ACCOUNTS, item, condition: Some(when) }]).await
        })
    });
    let reindexing = {
        let store = store.clone();
        tokio::spawn(async move { reindex(store.as_ref()).await })
    };
    for rename in renames.collect::<Vec<_>>() {
        rename.await.unwrap().expect("a rename checks only its own version, which reindexing keeps");
    }
    reindexing.await.unwrap().expect("reindex");
    for id in &ids {
        let item = store.get(&ACCOUNTS, id).await.unwrap().unwrap();
        assert_eq!((item["name"].clone(), item["version"].clone()), (json!("New"), json!(2)), "{id}");
    }
    assert_eq!(listed(store.as_ref(), "by_id").await, ids);
    assert_eq!(listed(store.as_ref(), "sort_name").await, ids, "every one under its new name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn renames_during_a_reindex_stand_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iam.sqlite3");
    let store = Arc::new(EmbeddedStore::open(&path).unwrap());
    let make_old = async |ids: &[String]| {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for id in ids {
            conn.execute(
                r#"UPDATE accounts SET item = json_remove(json_set(item, '$._all', 'accounts'), '$._s_name'),
                   "by_id_pk" = 'accounts', "sort_name_pk" = NULL, "sort_name_sk" = NULL WHERE id = ?1"#,
                [id],
            )
            .unwrap();
        }
    };
    renames_during_a_reindex_are_never_lost(store, make_old).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn renames_during_a_reindex_stand_on_dynamodb() {
    // A moto serving one request at a time: its threaded server loses commits under races.
    let Some(moto) = OnMoto::fresh(moto::shared_serial).await else { return };
    let make_old = async |ids: &[String]| {
        for id in ids {
            let old = json!({"id": id, "name": "Old", "email": format!("{id}@x.io"), "version": 1, "_all": "accounts"});
            moto.put_as_written(old.as_object().unwrap()).await;
        }
    };
    renames_during_a_reindex_are_never_lost(moto.store.clone(), make_old).await;
}

const ORG: &str = "00000000-0000-7000-8000-0000000000a1";

/// One organization's accounts without a second factor, as the flag's index lists them.
async fn without_mfa(store: &dyn Store) -> Vec<String> {
    let index = ACCOUNTS.index("organization_sort_mfa_enabled").expect("the flag's index");
    let query =
        Query::partition(&ACCOUNTS, index, ORG).with_sk(Some(SortCondition::BeginsWith(sort_key::exact("false"))));
    let page = read(store, query).await.expect("read");
    page.items.iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

/// `m1` was stored before the flag's sort key existed (`make_old` takes it away): the index
/// misses it until a reindex writes the key, once, and changes nothing else.
async fn accounts_from_before_the_flags_index_are_listed_by_it_after_a_reindex(
    store: Arc<dyn Store>,
    make_old: impl AsyncFn(&str),
) {
    let in_org = |id: &str| {
        let item = json!({"id": id, "email": format!("{id}@x.io"), "organization_id": ORG, "version": 3});
        Write::Put { table: &ACCOUNTS, item: item.as_object().cloned().unwrap(), condition: None }
    };
    store.transact(vec![in_org("m1"), in_org("m2")]).await.unwrap();
    make_old("m1").await;
    assert_eq!(without_mfa(store.as_ref()).await, ["m2"], "the old item lacks the key");
    let done = reindex(store.as_ref()).await.expect("reindex");
    assert_eq!(done.rewritten, 1, "{done:?}");
    assert_eq!(without_mfa(store.as_ref()).await, ["m1", "m2"], "absent reads as false");
    assert_eq!(reindex(store.as_ref()).await.expect("reindex"), Reindexed::default(), "once");
    let item = store.get(&ACCOUNTS, "m1").await.unwrap().unwrap();
    assert_eq!((item.get("mfa_enabled"), &item["version"]), (None, &json!(3)), "nothing else changed");
}

#[tokio::test]
async fn accounts_from_before_the_flags_index_are_listed_by_it_after_a_reindex_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iam.sqlite3");
    let store = Arc::new(EmbeddedStore::open(&path).unwrap());
    let make_old = async |id: &str| {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            r#"UPDATE accounts SET item = json_remove(item, '$._s_mfa_enabled'),
               "organization_sort_mfa_enabled_pk" = NULL, "organization_sort_mfa_enabled_sk" = NULL WHERE id = ?1"#,
            [id],
        )
        .unwrap();
    };
    accounts_from_before_the_flags_index_are_listed_by_it_after_a_reindex(store, make_old).await;
}

#[tokio::test]
async fn accounts_from_before_the_flags_index_are_listed_by_it_after_a_reindex_on_dynamodb() {
    let Some(moto) = OnMoto::fresh(moto::shared).await else { return };
    let make_old = async |id: &str| {
        let mut item = moto.store.get(&ACCOUNTS, id).await.unwrap().unwrap();
        assert!(item.remove("_s_mfa_enabled").is_some(), "a put writes the flag's key");
        moto.put_as_written(&item).await;
    };
    accounts_from_before_the_flags_index_are_listed_by_it_after_a_reindex(moto.store.clone(), make_old).await;
}

/// A store that lands a rename of an account just before the first transaction a reindex sends
/// for it: the write meanwhile that a rewrite must not undo, at the one moment that matters.
struct RenamedMeanwhile {
    inner: Arc<dyn Store>,
    armed: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Store for RenamedMeanwhile {
    async fn get(&self, table: &'static TableDef, id: &str) -> Result<Option<Item>, StoreError> {
        self.inner.get(table, id).await
    }
    async fn batch_get(&self, table: &'static TableDef, ids: &[String]) -> Result<Vec<Item>, StoreError> {
        self.inner.batch_get(table, ids).await
    }
    async fn query(&self, query: Query) -> Result<QueryPage, StoreError> {
        self.inner.query(query).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if let Some(Write::Put { item, .. }) = writes.first()
            && self.armed.swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            let mut renamed = self.inner.get(&ACCOUNTS, item["id"].as_str().unwrap()).await?.unwrap();
            renamed.insert("name".into(), json!("New"));
            renamed.insert("version".into(), json!(2));
            let when = iam_shared::store::Condition::AttrEquals("version", json!(1));
            self.inner.transact(vec![Write::Put { table: &ACCOUNTS, item: renamed, condition: Some(when) }]).await?;
        }
        self.inner.transact(writes).await
    }
    async fn update(&self, update: Update) -> Result<Item, StoreError> {
        self.inner.update(update).await
    }
    async fn put_many(&self, table: &'static TableDef, items: Vec<Item>) -> Result<(), StoreError> {
        self.inner.put_many(table, items).await
    }
    async fn ensure_schema(&self) -> Result<(), StoreError> {
        self.inner.ensure_schema().await
    }
}

/// `m1` lacks the flag's sort key (`make_old`) and is renamed between the reindex's read of it
/// and its rewrite: the rename stands (the rewrite's condition fails, the rename wrote the key).
async fn a_rename_between_reading_and_adding_a_key_stands(store: Arc<dyn Store>, make_old: impl AsyncFn(&str)) {
    store.transact(vec![account("m1", "Old")]).await.unwrap();
    make_old("m1").await;
    let meanwhile = RenamedMeanwhile { inner: store.clone(), armed: true.into() };
    let done = reindex(&meanwhile).await.expect("reindex");
    assert!(!meanwhile.armed.into_inner(), "the reindex wrote, and the rename landed first");
    assert_eq!(done.rewritten, 0, "{done:?}");
    let item = store.get(&ACCOUNTS, "m1").await.unwrap().unwrap();
    assert_eq!((&item["name"], &item["version"]), (&json!("New"), &json!(2)));
    assert!(item.contains_key("_s_mfa_enabled"), "the rename wrote the key");
}

#[tokio::test]
async fn a_rename_between_reading_and_adding_a_key_stands_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iam.sqlite3");
    let store = Arc::new(EmbeddedStore::open(&path).unwrap());
    let make_old = async |id: &str| {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(r#"UPDATE accounts SET item = json_remove(item, '$._s_mfa_enabled') WHERE id = ?1"#, [id])
            .unwrap();
    };
    a_rename_between_reading_and_adding_a_key_stands(store, make_old).await;
}

#[tokio::test]
async fn a_rename_between_reading_and_adding_a_key_stands_on_dynamodb() {
    let Some(moto) = OnMoto::fresh(moto::shared).await else { return };
    let make_old = async |id: &str| {
        let mut item = moto.store.get(&ACCOUNTS, id).await.unwrap().unwrap();
        assert!(item.remove("_s_mfa_enabled").is_some(), "a put writes the flag's key");
        moto.put_as_written(&item).await;
    };
    a_rename_between_reading_and_adding_a_key_stands(moto.store.clone(), make_old).await;
}
