//! The store conformance suite: what every adapter must mean by get, batch get, query,
//! conditional transactions, uniqueness and listing cost. `tests/store_conformance.rs` runs it
//! against the embedded store and against moto's DynamoDB.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use iam_shared::error::{Error, Source};
use iam_shared::listing;
use iam_shared::model::organization;
use iam_shared::query::params::{decode_pairs, parse};
use iam_shared::query::{Expr, Paging};
use iam_shared::records::{self, Unique};
use iam_shared::store::schema::{
    ACCOUNTS, ACCOUNTS_BY_ORGANIZATION, ORGANIZATIONS, ORGANIZATIONS_BY_NAME, THROTTLES, THROTTLES_BY_EXPIRY,
};
use iam_shared::store::{
    Condition, IndexDef, Item, Metered, Query, SortCondition, Store, StoreError, Update, Write, read,
};
use serde_json::{Value, json};

pub type Case = fn(Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        /// Every case, by name.
        pub fn cases() -> Vec<(&'static str, Case)> {
            vec![$((stringify!($name), |s| Box::pin($name(s)))),*]
        }
    };
}

cases!(
    an_item_round_trips_every_value_type,
    a_missing_item_is_none,
    not_exists_refuses_a_second_item_with_the_same_id,
    a_failed_transaction_writes_nothing_and_names_the_failed_write,
    attr_equals_guards_optimistic_updates,
    deletes_and_checks_honour_their_conditions,
    a_transaction_touches_each_item_once_and_at_most_100,
    a_query_returns_one_partition_in_sort_key_order,
    sort_key_conditions_narrow_a_query,
    query_pages_resume_exactly_where_they_stopped,
    items_without_an_index_key_are_not_in_that_index,
    a_listing_order_holds_keys_by_value_then_id_with_absent_values_last,
    a_sharded_whole_table_reads_in_order_page_by_page_in_both_directions,
    batch_get_returns_every_found_item_across_chunks,
    unique_values_are_claimed_transactionally,
    renaming_moves_the_claim_and_frees_the_old_value,
    an_indexed_equality_reads_only_what_it_returns,
    cursor_pages_cost_the_same_deep_in_the_list,
    put_many_loads_more_than_one_request_holds,
    folded_keys_serve_case_insensitive_lookups_and_follow_updates,
    an_update_adds_and_sets_creating_a_missing_item_with_its_index_keys,
    update_conditions_compare_as_dynamodb_does,
    an_update_in_a_transaction_lands_or_rolls_back_with_it,
    parallel_conditional_increments_never_pass_their_bound,
);

fn counter(id: &str) -> Update {
    Update::new(&THROTTLES, id)
}

async fn an_update_adds_and_sets_creating_a_missing_item_with_its_index_keys(store: Arc<dyn Store>) {
    let created = store.update(counter("c").add("count", 2).set("expires_at", "2026-11-23T10:15:00Z")).await.unwrap();
    assert_eq!((created["id"].clone(), created["count"].clone()), (json!("c"), json!(2)), "{created:?}");
    let after = store.update(counter("c").add("count", -3).set("note", "x")).await.unwrap();
    assert_eq!((after["count"].clone(), after["note"].clone()), (json!(-1), json!("x")));
    assert_eq!(after["expires_at"], "2026-11-23T10:15:00Z", "attributes not named are kept");
    assert_eq!(store.get(&THROTTLES, "c").await.unwrap().unwrap()["count"], -1);
    // The item is in the table's expiry index, as a put would have put it.
    let expiring = read(store.as_ref(), query(&THROTTLES_BY_EXPIRY, &THROTTLES, "throttles")).await.unwrap();
    assert_eq!(ids(&expiring.items), ["c"]);
    // In the write shard of its id, as a put would have written it.
    let stored = store.get(&THROTTLES, "c").await.unwrap().unwrap();
    assert_eq!(
        stored.get("_all").and_then(Value::as_str),
        THROTTLES_BY_EXPIRY.pk_of(&item(json!({"id": "c"}))).as_deref()
    );
}

async fn update_conditions_compare_as_dynamodb_does(store: Arc<dyn Store>) {
    store.update(counter("k").add("count", 5).set("ends", "2026-11-23T10:00:00Z")).await.unwrap();
    let holds = |c: Condition| {
        let store = store.clone();
        async move {
            match store.update(counter("k").add("tries", 1).when(c)).await {
                Ok(_) => true,
                Err(StoreError::ConditionFailed(Some(0))) => false,
                Err(e) => panic!("{e:?}"),
            }
        }
    };
    assert!(holds(Condition::AttrLess("count", json!(6))).await);
    assert!(!holds(Condition::AttrLess("count", json!(5))).await);
    assert!(holds(Condition::AttrGreater("count", json!(4))).await);
    assert!(holds(Condition::AttrLess("ends", json!("2026-11-23T10:00:01Z"))).await, "strings by code point");
    assert!(!holds(Condition::AttrGreater("ends", json!("2026-11-23T10:00:00Z"))).await);
    assert!(!holds(Condition::AttrLess("missing", json!(1))).await, "a missing attribute compares false");
    assert!(holds(Condition::Any(vec![Condition::NotExists, Condition::AttrLess("count", json!(6))])).await);
    assert!(!holds(Condition::All(vec![Condition::Exists, Condition::AttrLess("count", json!(5))])).await);
    assert!(!holds(Condition::NotExists).await);
    let item = store.get(&THROTTLES, "k").await.unwrap().unwrap();
    assert_eq!(item["tries"], 4, "exactly the updates whose condition held changed the item: {item:?}");
    // A condition on a missing item: NotExists holds, comparisons do not.
    assert!(matches!(
        store.update(counter("new").add("count", 1).when(Condition::AttrLess("count", json!(9)))).await,
        Err(StoreError::ConditionFailed(Some(0)))
    ));
    assert!(store.get(&THROTTLES, "new").await.unwrap().is_none(), "a failed update creates nothing");
    store.update(counter("new").add("count", 1).when(Condition::NotExists)).await.unwrap();
}

async fn an_update_in_a_transaction_lands_or_rolls_back_with_it(store: Arc<dyn Store>) {
    store.transact(vec![put(&ORGANIZATIONS, json!({"id": "o", "name": "O"}), None)]).await.unwrap();
    let failing = store
        .transact(vec![
            Write::Update(counter("n").add("count", 1)),
            put(&ORGANIZATIONS, json!({"id": "o", "name": "P"}), Some(Condition::NotExists)),
        ])
        .await;
    assert!(matches!(failing, Err(StoreError::ConditionFailed(_))), "{failing:?}");
    assert!(store.get(&THROTTLES, "n").await.unwrap().is_none(), "the update rolled back with the transaction");
    let guarded = Write::Update(counter("n").add("count", 1).when(Condition::AttrGreater("count", json!(0))));
    let refused = store.transact(vec![guarded, put(&ORGANIZATIONS, json!({"id": "p"}), None)]).await;
    assert!(matches!(refused, Err(StoreError::ConditionFailed(Some(0)) | StoreError::ConditionFailed(None))));
    assert!(store.get(&ORGANIZATIONS, "p").await.unwrap().is_none(), "a failed update's transaction writes nothing");
    store
        .transact(vec![
            Write::Update(counter("n").add("count", 2)),
            Write::Check { table: &ORGANIZATIONS, id: "o".into(), condition: Condition::Exists },
        ])
        .await
        .unwrap();
    assert_eq!(store.get(&THROTTLES, "n").await.unwrap().unwrap()["count"], 2);
}

async fn parallel_conditional_increments_never_pass_their_bound(store: Arc<dyn Store>) {
    let bound = 15;
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let take = counter("slots")
                    .add("count", 1)
                    .when(Condition::Any(vec![Condition::NotExists, Condition::AttrLess("count", json!(bound))]));
                match store.update(take).await {
                    Ok(item) => Some(item["count"].as_i64().unwrap()),
                    Err(StoreError::ConditionFailed(_)) => None,
                    Err(e) => panic!("{e:?}"),
                }
            })
        })
        .collect();
    let mut taken = Vec::new();
    for t in tasks {
        taken.extend(t.await.unwrap());
    }
    taken.sort_unstable();
    assert_eq!(taken, (1..=bound).collect::<Vec<_>>(), "each increment saw its own count; none passed the bound");
    assert_eq!(store.get(&THROTTLES, "slots").await.unwrap().unwrap()["count"], bound);
}

async fn put_many_loads_more_than_one_request_holds(store: Arc<dyn Store>) {
    let items: Vec<Item> =
        (0..60).map(|i| item(json!({"id": format!("p{i:02}"), "email": format!("P{i:02}@x.io")}))).collect();
    store.put_many(&ACCOUNTS, items).await.unwrap();
    let all = read(store.as_ref(), query(&ACCOUNTS.indexes[0], &ACCOUNTS, "accounts")).await.unwrap();
    assert_eq!(all.items.len(), 60, "every item, with its index keys written");
    assert_eq!(store.get(&ACCOUNTS, "p59").await.unwrap().unwrap()["email_lc"], "p59@x.io");
}

async fn folded_keys_serve_case_insensitive_lookups_and_follow_updates(store: Arc<dyn Store>) {
    use iam_shared::store::schema::ACCOUNTS_BY_EMAIL;
    store
        .transact(vec![put(&ACCOUNTS, json!({"id": "a", "email": "Ann@X.io", "username": "Ann"}), None)])
        .await
        .unwrap();
    let by_email = |v: &str| {
        let mut q = query(&ACCOUNTS_BY_EMAIL, &ACCOUNTS, "accounts");
        q.sk = Some(SortCondition::Eq(v.into()));
        q
    };
    assert_eq!(ids(&read(store.as_ref(), by_email("ann@x.io")).await.unwrap().items), ["a"]);
    // Dropping the username drops its key, so the sparse index no longer holds the item.
    store.transact(vec![put(&ACCOUNTS, json!({"id": "a", "email": "Bob@X.io"}), None)]).await.unwrap();
    assert!(read(store.as_ref(), by_email("ann@x.io")).await.unwrap().items.is_empty());
    assert_eq!(ids(&read(store.as_ref(), by_email("bob@x.io")).await.unwrap().items), ["a"]);
    let item = store.get(&ACCOUNTS, "a").await.unwrap().unwrap();
    assert!(item.get("username_lc").is_none(), "{item:?}");
}

fn item(v: Value) -> Item {
    v.as_object().cloned().expect("object")
}

fn put(table: &'static iam_shared::store::TableDef, v: Value, condition: Option<Condition>) -> Write {
    Write::Put { table, item: item(v), condition }
}

fn query(index: &'static IndexDef, table: &'static iam_shared::store::TableDef, pk: &str) -> Query {
    Query { table, index, pk: pk.into(), sk: None, descending: false, limit: 1000, start: None }
}

fn ids(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().unwrap_or_default().to_string()).collect()
}

async fn an_item_round_trips_every_value_type(store: Arc<dyn Store>) {
    let v = json!({"id": "a1", "s": "ünïcødé ✓", "n": 42, "neg": -7, "f": 1.5, "t": true, "z": null,
        "l": ["x", 1, false], "m": {"k": "v", "inner": [1, 2]}, "empty": ""});
    store.transact(vec![put(&ACCOUNTS, v.clone(), None)]).await.unwrap();
    let got = store.get(&ACCOUNTS, "a1").await.unwrap().unwrap();
    for (k, want) in v.as_object().unwrap() {
        assert_eq!(got.get(k), Some(want), "attribute {k}");
    }
}

async fn a_missing_item_is_none(store: Arc<dyn Store>) {
    assert!(store.get(&ACCOUNTS, "nope").await.unwrap().is_none());
    assert!(store.batch_get(&ACCOUNTS, &["nope".into()]).await.unwrap().is_empty());
    // Keys no item can have (DynamoDB refuses them outright) are absent too, on every adapter.
    let long = "k".repeat(3000);
    for key in ["", long.as_str()] {
        assert!(store.get(&ACCOUNTS, key).await.unwrap().is_none(), "{} bytes", key.len());
        let query = Query::partition(&ACCOUNTS, &ACCOUNTS_BY_ORGANIZATION, key);
        assert!(store.query(query).await.unwrap().items.is_empty(), "{} bytes", key.len());
    }
    store.transact(vec![put(&ACCOUNTS, json!({"id": "found"}), None)]).await.unwrap();
    let found = store.batch_get(&ACCOUNTS, &["".into(), long.clone(), "found".into()]).await.unwrap();
    assert_eq!(found.len(), 1, "the unstorable keys are skipped, the rest found");
}

async fn not_exists_refuses_a_second_item_with_the_same_id(store: Arc<dyn Store>) {
    store.transact(vec![put(&ACCOUNTS, json!({"id": "x", "v": 1}), Some(Condition::NotExists))]).await.unwrap();
    let again = store.transact(vec![put(&ACCOUNTS, json!({"id": "x", "v": 2}), Some(Condition::NotExists))]).await;
    assert!(matches!(again, Err(StoreError::ConditionFailed(_))), "{again:?}");
    assert_eq!(store.get(&ACCOUNTS, "x").await.unwrap().unwrap()["v"], 1);
}

async fn a_failed_transaction_writes_nothing_and_names_the_failed_write(store: Arc<dyn Store>) {
    store.transact(vec![put(&ORGANIZATIONS, json!({"id": "taken", "name": "T"}), None)]).await.unwrap();
    let result = store
        .transact(vec![
            put(&ACCOUNTS, json!({"id": "new"}), Some(Condition::NotExists)),
            put(&ORGANIZATIONS, json!({"id": "taken", "name": "U"}), Some(Condition::NotExists)),
        ])
        .await;
    match result {
        // moto does not always say which write failed; DynamoDB and SQLite do.
        Err(StoreError::ConditionFailed(which)) => assert!(which.is_none() || which == Some(1), "{which:?}"),
        other => panic!("expected a failed condition, got {other:?}"),
    }
    assert!(store.get(&ACCOUNTS, "new").await.unwrap().is_none(), "the first write must not land");
    assert_eq!(store.get(&ORGANIZATIONS, "taken").await.unwrap().unwrap()["name"], "T");
}

async fn attr_equals_guards_optimistic_updates(store: Arc<dyn Store>) {
    store.transact(vec![put(&ACCOUNTS, json!({"id": "o", "version": 1}), None)]).await.unwrap();
    let stale = store
        .transact(vec![put(
            &ACCOUNTS,
            json!({"id": "o", "version": 2}),
            Some(Condition::AttrEquals("version", json!(0))),
        )])
        .await;
    assert!(matches!(stale, Err(StoreError::ConditionFailed(_))));
    store
        .transact(vec![put(
            &ACCOUNTS,
            json!({"id": "o", "version": 2}),
            Some(Condition::AttrEquals("version", json!(1))),
        )])
        .await
        .unwrap();
    let missing = store
        .transact(vec![put(
            &ACCOUNTS,
            json!({"id": "absent", "version": 2}),
            Some(Condition::AttrEquals("version", json!(1))),
        )])
        .await;
    assert!(matches!(missing, Err(StoreError::ConditionFailed(_))), "a condition on an attribute needs the item");
}

async fn deletes_and_checks_honour_their_conditions(store: Arc<dyn Store>) {
    store.transact(vec![put(&ACCOUNTS, json!({"id": "d", "version": 3}), None)]).await.unwrap();
    let guarded =
        Write::Delete { table: &ACCOUNTS, id: "d".into(), condition: Some(Condition::AttrEquals("version", json!(2))) };
    assert!(store.transact(vec![guarded]).await.is_err());
    let check_missing = Write::Check { table: &ACCOUNTS, id: "ghost".into(), condition: Condition::Exists };
    let delete = Write::Delete { table: &ACCOUNTS, id: "d".into(), condition: None };
    assert!(store.transact(vec![check_missing, delete.clone()]).await.is_err());
    assert!(store.get(&ACCOUNTS, "d").await.unwrap().is_some(), "a failed check stops the delete");
    store.transact(vec![put(&ORGANIZATIONS, json!({"id": "parent", "name": "P"}), None)]).await.unwrap();
    let check = Write::Check { table: &ORGANIZATIONS, id: "parent".into(), condition: Condition::Exists };
    store.transact(vec![check, delete]).await.unwrap();
    assert!(store.get(&ACCOUNTS, "d").await.unwrap().is_none());
}

async fn a_transaction_touches_each_item_once_and_at_most_100(store: Arc<dyn Store>) {
    let twice = vec![
        put(&ACCOUNTS, json!({"id": "same"}), None),
        Write::Check { table: &ACCOUNTS, id: "same".into(), condition: Condition::NotExists },
    ];
    assert!(matches!(store.transact(twice).await, Err(StoreError::Backend(_))));
    let too_many = (0..101).map(|i| put(&ACCOUNTS, json!({"id": format!("m{i}")}), None)).collect();
    assert!(store.transact(too_many).await.is_err());
    assert!(
        store.get(&ACCOUNTS, "same").await.unwrap().is_none() && store.get(&ACCOUNTS, "m0").await.unwrap().is_none()
    );
}

async fn orgs(store: &dyn Store, names: &[&str]) {
    let writes = names
        .iter()
        .enumerate()
        .map(|(i, n)| put(&ORGANIZATIONS, json!({"id": format!("o{i:03}"), "name": n}), None))
        .collect();
    store.transact(writes).await.unwrap();
}

async fn a_query_returns_one_partition_in_sort_key_order(store: Arc<dyn Store>) {
    orgs(store.as_ref(), &["delta", "alpha", "charlie", "bravo"]).await;
    let page = store.query(query(&ORGANIZATIONS_BY_NAME, &ORGANIZATIONS, "organizations")).await.unwrap();
    let names: Vec<_> = page.items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alpha", "bravo", "charlie", "delta"]);
    assert!(page.last_key.is_none());
    let desc = store
        .query(Query { descending: true, ..query(&ORGANIZATIONS_BY_NAME, &ORGANIZATIONS, "organizations") })
        .await
        .unwrap();
    assert_eq!(desc.items[0]["name"], "delta");
}

async fn sort_key_conditions_narrow_a_query(store: Arc<dyn Store>) {
    orgs(store.as_ref(), &["ann", "anna", "bob", "bobby", "carl"]).await;
    let names = |page: iam_shared::store::QueryPage| {
        page.items.iter().map(|i| i["name"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let cases = [
        (SortCondition::Eq("bob".into()), vec!["bob"]),
        (SortCondition::BeginsWith("bob".into()), vec!["bob", "bobby"]),
        (SortCondition::Lt("bob".into()), vec!["ann", "anna"]),
        (SortCondition::Le("bob".into()), vec!["ann", "anna", "bob"]),
        (SortCondition::Gt("bob".into()), vec!["bobby", "carl"]),
        (SortCondition::Ge("bobby".into()), vec!["bobby", "carl"]),
        (SortCondition::Between("anna".into(), "bobby".into()), vec!["anna", "bob", "bobby"]),
        (SortCondition::Between("b".into(), "bz".into()), vec!["bob", "bobby"]),
    ];
    for (condition, want) in cases {
        let q = Query { sk: Some(condition.clone()), ..query(&ORGANIZATIONS_BY_NAME, &ORGANIZATIONS, "organizations") };
        assert_eq!(names(store.query(q).await.unwrap()), want, "{condition:?}");
    }
}

async fn query_pages_resume_exactly_where_they_stopped(store: Arc<dyn Store>) {
    let writes: Vec<Write> =
        (0..7).map(|i| put(&ACCOUNTS, json!({"id": format!("a{i}"), "organization_id": "org"}), None)).collect();
    store.transact(writes).await.unwrap();
    let mut seen = Vec::new();
    let mut start = None;
    loop {
        let page = store
            .query(Query { limit: 3, start: start.take(), ..query(&ACCOUNTS_BY_ORGANIZATION, &ACCOUNTS, "org") })
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(ids(&page.items));
        match page.last_key {
            Some(k) => start = Some(k),
            None => break,
        }
    }
    assert_eq!(seen, ["a0", "a1", "a2", "a3", "a4", "a5", "a6"]);
}

async fn items_without_an_index_key_are_not_in_that_index(store: Arc<dyn Store>) {
    store
        .transact(vec![
            put(&ACCOUNTS, json!({"id": "in", "organization_id": "org"}), None),
            put(&ACCOUNTS, json!({"id": "out"}), None),
            put(&ACCOUNTS, json!({"id": "other", "organization_id": "org2"}), None),
        ])
        .await
        .unwrap();
    let page = store.query(query(&ACCOUNTS_BY_ORGANIZATION, &ACCOUNTS, "org")).await.unwrap();
    assert_eq!(ids(&page.items), ["in"]);
    let all = read(store.as_ref(), query(&ACCOUNTS.indexes[0], &ACCOUNTS, "accounts")).await.unwrap();
    assert_eq!(ids(&all.items), ["in", "other", "out"], "the whole-table index holds every item");
}

async fn a_listing_order_holds_keys_by_value_then_id_with_absent_values_last(store: Arc<dyn Store>) {
    let index = ACCOUNTS.index("sort_name").expect("accounts in name order");
    let accounts = [("a1", Some("Bo")), ("a2", None), ("a3", Some("Ann")), ("a4", Some("Bo")), ("a5", Some("Anna"))];
    let writes = accounts
        .iter()
        .map(|(id, name)| {
            let mut item = json!({"id": id});
            if let Some(name) = name {
                item["name"] = json!(name);
            }
            put(&ACCOUNTS, item, None)
        })
        .collect();
    store.transact(writes).await.unwrap();
    let mut q = query(index, &ACCOUNTS, "accounts");
    let page = read(store.as_ref(), q.clone()).await.unwrap();
    assert_eq!(ids(&page.items), ["a3", "a5", "a1", "a4", "a2"]);
    // Keys only, as DynamoDB projects them: the items are read by id afterwards.
    assert!(page.items.iter().all(|k| k.get("name").is_none() && k.contains_key("_s_name")), "{:?}", page.items);
    q.descending = true;
    assert_eq!(ids(&read(store.as_ref(), q.clone()).await.unwrap().items), ["a2", "a4", "a1", "a5", "a3"]);
    q.descending = false;
    q.sk = Some(SortCondition::BeginsWith(iam_shared::store::sort_key::exact("Bo")));
    assert_eq!(ids(&read(store.as_ref(), q).await.unwrap().items), ["a1", "a4"]);
}

async fn a_sharded_whole_table_reads_in_order_page_by_page_in_both_directions(store: Arc<dyn Store>) {
    let writes: Vec<Write> = (0..23).map(|i| put(&ACCOUNTS, json!({"id": format!("w{i:02}")}), None)).collect();
    store.transact(writes).await.unwrap();
    let spread: std::collections::BTreeSet<String> =
        (0..23).map(|i| ACCOUNTS.indexes[0].pk_of(&item(json!({"id": format!("w{i:02}")}))).unwrap()).collect();
    assert!(spread.len() > 4, "the ids fall in several shards: {spread:?}");
    for descending in [false, true] {
        let (mut seen, mut start) = (Vec::new(), None);
        loop {
            let q = Query {
                limit: 4,
                start: start.take(),
                descending,
                ..query(&ACCOUNTS.indexes[0], &ACCOUNTS, "accounts")
            };
            let page = read(store.as_ref(), q).await.unwrap();
            assert!(page.items.len() <= 4);
            seen.extend(ids(&page.items));
            match page.last_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        let mut expected: Vec<String> = (0..23).map(|i| format!("w{i:02}")).collect();
        if descending {
            expected.reverse();
        }
        assert_eq!(seen, expected, "descending: {descending}");
    }
}

async fn batch_get_returns_every_found_item_across_chunks(store: Arc<dyn Store>) {
    for chunk in (0..150).collect::<Vec<_>>().chunks(50) {
        let writes = chunk.iter().map(|i| put(&ACCOUNTS, json!({"id": format!("b{i:03}")}), None)).collect();
        store.transact(writes).await.unwrap();
    }
    let mut wanted: Vec<String> = (0..150).map(|i| format!("b{i:03}")).collect();
    wanted.push("missing".into());
    wanted.push("b000".into());
    let mut got = ids(&store.batch_get(&ACCOUNTS, &wanted).await.unwrap());
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 150);
}

async fn unique_values_are_claimed_transactionally(store: Arc<dyn Store>) {
    let org = |id: &str, name: &str| item(json!({"id": id, "name": name}));
    let claim = |name: &str| vec![Unique::new("organizations.name", "name", name)];
    records::insert(store.as_ref(), &ORGANIZATIONS, org("1", "Acme"), &claim("Acme"), vec![]).await.unwrap();
    let second = records::insert(store.as_ref(), &ORGANIZATIONS, org("2", "ACME"), &claim("ACME"), vec![]).await;
    match second {
        Err(Error::Conflict(p)) => assert_eq!(p.source, Some(Source::Pointer("/data/attributes/name".into()))),
        other => panic!("expected 409, got {other:?}"),
    }
    assert!(store.get(&ORGANIZATIONS, "2").await.unwrap().is_none(), "no partial write");
}

async fn renaming_moves_the_claim_and_frees_the_old_value(store: Arc<dyn Store>) {
    let claim = |name: &str| vec![Unique::new("organizations.name", "name", name)];
    let old =
        records::insert(store.as_ref(), &ORGANIZATIONS, item(json!({"id": "1", "name": "Old"})), &claim("Old"), vec![])
            .await
            .unwrap();
    let new = item(json!({"id": "1", "name": "New"}));
    let renamed =
        records::replace(store.as_ref(), &ORGANIZATIONS, &old, new, &claim("Old"), &claim("New")).await.unwrap();
    assert_eq!(renamed["version"], 2);
    records::insert(store.as_ref(), &ORGANIZATIONS, item(json!({"id": "2", "name": "Old"})), &claim("Old"), vec![])
        .await
        .unwrap();
    let clash =
        records::insert(store.as_ref(), &ORGANIZATIONS, item(json!({"id": "3", "name": "new"})), &claim("new"), vec![])
            .await;
    assert!(matches!(clash, Err(Error::Conflict(_))));
    let stale = records::replace(
        store.as_ref(),
        &ORGANIZATIONS,
        &old,
        item(json!({"id": "1", "name": "X"})),
        &claim("Old"),
        &claim("X"),
    )
    .await;
    assert!(stale.is_err(), "an update from a stale read must fail");
}

/// Organizations as the service writes them: each with its name's uniqueness marker.
async fn many_orgs(store: &dyn Store, n: usize) {
    let all: Vec<Write> = (0..n)
        .flat_map(|i| {
            let (id, name) = (format!("00000000-0000-7000-8000-{i:012}"), format!("name {i:05}"));
            let marker = iam_shared::records::Unique::new("organizations.name", "name", &name).claim(&id);
            [put(&ORGANIZATIONS, json!({"id": id, "name": name}), None), marker]
        })
        .collect();
    for chunk in all.chunks(100) {
        store.transact(chunk.to_vec()).await.unwrap();
    }
}

fn reader(store: &dyn Store) -> listing::Reader<'_> {
    listing::Reader::new(store, iam_shared::clock::parse("2026-11-23T10:00:00Z").expect("time"))
}

fn list_query(q: &str) -> iam_shared::query::ListQuery {
    parse(&organization::RESOURCE, &decode_pairs(Some(q))).unwrap()
}

async fn an_indexed_equality_reads_only_what_it_returns(store: Arc<dyn Store>) {
    many_orgs(store.as_ref(), 500).await;
    let metered = Metered::new(store);
    let metrics = metered.metrics();
    let page =
        listing::fetch(reader(&metered), &organization::RESOURCE, &list_query("filter[name]=name 00321"), Expr::True)
            .await
            .unwrap();
    assert_eq!(ids(&page.items), ["00000000-0000-7000-8000-000000000321"]);
    assert!(metrics.items_read() <= 2, "read {} items for one match", metrics.items_read());
    metrics.reset();
    // A prefix in the name index's own order streams: a page reads what it returns, plus one.
    let q = list_query("filter[name__sw]=name 004&sort=-name&page[size]=10");
    let page = listing::fetch(reader(&metered), &organization::RESOURCE, &q, Expr::True).await.unwrap();
    assert_eq!(page.items[0]["name"], "name 00499");
    assert_eq!(page.items.len(), 10);
    assert!(metrics.items_read() <= 11, "read {} items for a page of 10", metrics.items_read());
    // In another order every match must be read to be sorted, but never more than the matches.
    metrics.reset();
    let q = list_query("filter[name__sw]=name 004&page[size]=10");
    let page = listing::fetch(reader(&metered), &organization::RESOURCE, &q, Expr::True).await.unwrap();
    assert_eq!(page.items[0]["id"], "00000000-0000-7000-8000-000000000400");
    assert_eq!(metrics.items_read(), 100);
}

async fn cursor_pages_cost_the_same_deep_in_the_list(store: Arc<dyn Store>) {
    many_orgs(store.as_ref(), 500).await;
    let metered = Metered::new(store);
    let metrics = metered.metrics();
    let mut q = list_query("page[size]=25&sort=name");
    let mut seen = Vec::new();
    let mut reads = Vec::new();
    loop {
        metrics.reset();
        let page = listing::fetch(reader(&metered), &organization::RESOURCE, &q, Expr::True).await.unwrap();
        reads.push(metrics.items_read());
        seen.extend(ids(&page.items));
        match page.next_cursor {
            Some(cursor) => q.paging = Paging::After { cursor, limit: 25 },
            None => break,
        }
    }
    assert_eq!(seen.len(), 500);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 500, "no item twice");
    assert!(reads.iter().all(|r| *r <= 26), "items read per page: {reads:?}");
}
