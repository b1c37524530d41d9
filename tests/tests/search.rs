//! The search box (`query=`, API.md §2) end to end: what terms find as accounts, teams and
//! organizations are created, renamed, moved and deleted; who may find what; bad input.

use http::{Method, StatusCode};
use iam_shared::store::schema::ACCOUNT_WORDS;
use iam_shared::store::words::ITEM_ID;
use iam_shared::store::{Query, query_all};
use iam_tests::TestApp;
use iam_tests::app::PASSWORD;
use serde_json::{Value, json};

const ACCOUNTS: &str = "/api/v3/iam/accounts";

async fn found(app: &TestApp, collection: &str, query: &str) -> Vec<String> {
    let reply = app.get(&format!("/api/v3/iam/{collection}?{query}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{collection}?{query}: {:?}", reply.body);
    reply.ids()
}

async fn patch(app: &TestApp, collection: &str, id: &str, attributes: Value) {
    let body = json!({"data": {"type": collection, "id": id, "attributes": attributes}});
    let path = format!("/api/v3/iam/{collection}/{id}");
    let reply = app.call(Method::PATCH, &path, Some(&app.admin_token), Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {:?}", reply.body);
}

/// The word entries the store holds for an item, whatever their word.
async fn entries_of(app: &TestApp, item: &str) -> usize {
    let index = ACCOUNT_WORDS.index("by_word").expect("the word index");
    let all = query_all(app.state.store.as_ref(), Query::partition(&ACCOUNT_WORDS, index, "account_words")).await;
    all.expect("entries").iter().filter(|e| e.get(ITEM_ID).and_then(Value::as_str) == Some(item)).count()
}

#[tokio::test]
async fn a_search_follows_an_account_through_renames_moves_and_deletion() {
    let app = TestApp::new().await;
    let acme = app.create_org("Acme Corp").await;
    let globex = app.create_org("Globex").await;
    let attributes = json!({"email": "zoe.quartz@acme.test", "name": "Zoë Ångström", "username": "zq-admin",
        "organization_id": acme, "password": PASSWORD});
    let id = app.create("accounts", attributes).await;
    let only = vec![id.clone()];
    for query in [
        "zoe",
        "ZO%C3%8B",
        "angstr",
        "%C3%85NGSTR%C3%96M",
        "quartz",
        "zq",
        "admin",
        "acme",
        "zoe%20angstrom",
        "acme.test",
    ] {
        assert_eq!(found(&app, "accounts", &format!("query={query}")).await, only, "query={query}");
    }
    for query in ["oe", "ngstrom", "cme", "zoe%20globex", "quartzz"] {
        assert!(found(&app, "accounts", &format!("query={query}")).await.is_empty(), "query={query} finds nothing");
    }

    patch(&app, "accounts", &id, json!({"name": "Zed Smith", "email": "zed@acme.test"})).await;
    assert_eq!(found(&app, "accounts", "query=smith").await, only);
    for gone in ["angstrom", "quartz", "zoe"] {
        assert!(found(&app, "accounts", &format!("query={gone}")).await.is_empty(), "{gone}: its words went with it");
    }
    assert_eq!(found(&app, "accounts", "query=zq").await, only, "the username did not change");

    patch(&app, "accounts", &id, json!({"organization_id": globex})).await;
    assert_eq!(found(&app, "accounts", &format!("query=zed&filter[organization_id]={globex}")).await, only);
    assert!(found(&app, "accounts", &format!("query=zed&filter[organization_id]={acme}")).await.is_empty());
    let words = entries_of(&app, &id).await;
    assert_eq!(words, 6, "zed, smith, zq, admin, acme, test: exactly the current words, each once");

    let reply = app.call(Method::DELETE, &format!("{ACCOUNTS}/{id}"), Some(&app.admin_token), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(found(&app, "accounts", "query=zed").await.is_empty());
    assert_eq!(entries_of(&app, &id).await, 0, "no entry outlives its account");
}

#[tokio::test]
async fn teams_and_organizations_are_found_by_the_words_of_their_names_only() {
    let app = TestApp::new().await;
    let acme = app.create("organizations", json!({"name": "Acme Corp", "description": "secret plans"})).await;
    let initech = app.create_org("Initech").await;
    let night = app.create("teams", json!({"name": "Night Shift Ops", "organization_id": acme})).await;
    let day =
        app.create("teams", json!({"name": "Day Shift", "organization_id": initech, "description": "nights"})).await;
    assert_eq!(found(&app, "organizations", "query=corp").await, std::slice::from_ref(&acme));
    assert!(found(&app, "organizations", "query=plans").await.is_empty(), "descriptions are not searched");
    let mut shifts = found(&app, "teams", "query=shift").await;
    shifts.sort();
    let mut both = vec![night.clone(), day.clone()];
    both.sort();
    assert_eq!(shifts, both);
    assert_eq!(found(&app, "teams", "query=ops%20NIGHT").await, std::slice::from_ref(&night), "terms in any order");
    assert_eq!(
        found(&app, "teams", &format!("query=shift&filter[organization_id]={initech}")).await,
        std::slice::from_ref(&day)
    );
    patch(&app, "teams", &night, json!({"name": "Graveyard"})).await;
    assert!(found(&app, "teams", "query=night").await.is_empty());
    assert_eq!(found(&app, "teams", "query=grave").await, std::slice::from_ref(&night));
    patch(&app, "organizations", &initech, json!({"name": "Initrode"})).await;
    assert_eq!(found(&app, "organizations", "query=initr").await, std::slice::from_ref(&initech));
    assert!(found(&app, "organizations", "query=initech").await.is_empty());
}

#[tokio::test]
async fn an_organization_admin_finds_only_what_it_may_read() {
    let app = TestApp::new().await;
    let acme = app.create_org("Acme").await;
    let globex = app.create_org("Globex").await;
    let ours = app.create("accounts", json!({"email": "ann.lee@acme.test", "organization_id": acme})).await;
    app.create("accounts", json!({"email": "ann.lee@globex.test", "organization_id": globex})).await;
    let our_team = app.create("teams", json!({"name": "Ann's crew", "organization_id": acme})).await;
    app.create("teams", json!({"name": "Ann's crew", "organization_id": globex})).await;
    let admin = app.account_with_role("boss@acme.test", Some(&acme), Some(("org_admin", Some(&acme)))).await;
    for (collection, want) in [("accounts", &ours), ("teams", &our_team)] {
        for query in
            ["query=ann", "query=ann%20lee", "query=ann&sort=-created_at", "query=ann&page[size]=1&page[after]="]
        {
            let reply = app.call(Method::GET, &format!("/api/v3/iam/{collection}?{query}"), Some(&admin), None).await;
            assert_eq!(reply.status, StatusCode::OK, "{collection}?{query}: {:?}", reply.body);
            let ids = reply.ids();
            assert!(ids.is_empty() || ids == std::slice::from_ref(want), "{collection}?{query}: {ids:?}");
            if !query.contains("lee") || collection == "accounts" {
                assert_eq!(ids, std::slice::from_ref(want), "{collection}?{query}");
            }
        }
    }
    let reply = app.call(Method::GET, "/api/v3/iam/accounts?query=ann", None, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_query_without_anything_to_search_for_is_a_400_naming_it() {
    let app = TestApp::new().await;
    let long = "a".repeat(300);
    for collection in ["accounts", "teams", "organizations"] {
        for query in ["query=", "query=%20", "query=%40%2D%2B", &format!("query={long}")] {
            let reply = app.get(&format!("/api/v3/iam/{collection}?{query}")).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{collection}?{query}");
            assert_eq!(
                reply.body["errors"][0]["source"]["parameter"], "query",
                "{collection}?{query}: {:?}",
                reply.body
            );
        }
    }
}
