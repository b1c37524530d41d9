//! `iam reindex`: accounts stored before the write shards and the sort keys of their own (their
//! `_all` the table's single partition, no `_s_*`) are in none of the current whole-table
//! indexes; reindexing rewrites them so that every index holds them, once, on both stores.

use std::sync::Arc;

use iam_shared::store::embedded::EmbeddedStore;
use iam_shared::store::reindex::reindex;
use iam_shared::store::schema::ACCOUNTS;
use iam_shared::store::{Item, Query, Store, Write, read};
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

async fn old_items_are_rewritten_once(store: Arc<dyn Store>) {
    for index in ["by_id", "sort_name"] {
        assert_eq!(listed(store.as_ref(), index).await, ["a2"], "{index}: the old item is missing");
    }
    assert_eq!(reindex(store.as_ref()).await.expect("reindex"), 1);
    assert_eq!(listed(store.as_ref(), "by_id").await, ["a1", "a2"]);
    assert_eq!(listed(store.as_ref(), "sort_name").await, ["a2", "a1"], "Ann, then Zed");
    assert_eq!(reindex(store.as_ref()).await.expect("reindex"), 0, "once");
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
    if moto::binary().is_none() {
        assert!(!moto::required(), "IAM_REQUIRE_MOTO=1 but moto_server was not found");
        return;
    }
    let endpoint = moto::shared();
    let prefix = moto::unique_prefix();
    let store = Arc::new(moto::store_at(endpoint, &prefix));
    store.ensure_schema().await.unwrap();
    store.transact(vec![account("a2", "Ann")]).await.unwrap();
    // `a1` as an older build wrote it: no write shard, no sort keys of its own.
    let old =
        json!({"id": "a1", "name": "Zed", "email": "a1@x.io", "email_lc": "a1@x.io", "version": 1, "_all": "accounts"});
    let client = aws_sdk_dynamodb::Client::new(&moto::sdk_config(endpoint));
    let attrs = old.as_object().unwrap().iter().map(|(k, v)| (k.clone(), iam_shared::store::dynamodb::to_attr(v)));
    client.put_item().table_name(format!("{prefix}accounts")).set_item(Some(attrs.collect())).send().await.unwrap();
    old_items_are_rewritten_once(store).await;
}
