//! The cost of filters through relationships (API.md §5, "Relationship filters"), asserted by
//! counting what the store reads, on 20,000 accounts and 5,000 people in 40 organizations (on
//! moto, whose every query reads its whole table in Python, 6,000 and 1,500 in 10): a person's
//! name that few people match and an organization's name are answered through the related
//! index first, and a page reads within a small factor of what it returns plus a page, first
//! page and deep; a prefix that many people match streams the accounts and checks each page's
//! people with a batch read; an organization's admin never reads another organization's
//! accounts or people.

use std::collections::BTreeSet;

use iam_shared::model::person;
use iam_shared::store::Item;
use iam_shared::store::schema::{ACCOUNTS as ACCOUNTS_TABLE, PEOPLE, UNIQUES};
use iam_tests::TestApp;
use iam_tests::recording::{Reads, Recording, organizations_of};
use iam_tests::seed::{Rng, put_all, random_account};
use serde_json::{Value, json};

const ACCOUNTS: &str = "/api/v3/iam/accounts";

fn sizes() -> (usize, usize, usize) {
    if iam_tests::app::on_dynamodb() { (6_000, 1_500, 10) } else { (20_000, 5_000, 40) }
}

/// People named `Zora <n>`: few, spread over the organizations (the semi-join's case).
const RARE: usize = 12;
const FIRST: &[&str] = &["Ann", "Bea", "Carl", "Dora", "Emil", "Finn", "Gus", "Hana"];
const LAST: &[&str] = &["Lee", "Moss", "Nagy", "Ortiz", "Park"];

struct Seeded {
    app: TestApp,
    reads: Reads,
    accounts: Vec<Item>,
    people: Vec<Item>,
    organizations: Vec<String>,
    auth_items: u64,
}

/// What one listing read beyond authenticating its caller.
struct Cost {
    items: u64,
    ids: Vec<String>,
    next: Option<String>,
}

impl Seeded {
    async fn measure(&self, token: &str, query: &str) -> Cost {
        self.app.state.metrics.reset();
        let reply = self.app.call(http::Method::GET, &format!("{ACCOUNTS}?{query}"), Some(token), None).await;
        assert_eq!(reply.status, http::StatusCode::OK, "{query}: {:?}", reply.body);
        let next = reply.body["links"]["next"].as_str().map(|l| l.split_once('?').unwrap().1.to_string());
        Cost { items: self.app.state.metrics.items_read() - self.auth_items, ids: reply.ids(), next }
    }

    fn person(&self, id: &str) -> Option<&Item> {
        self.people.iter().find(|p| attr(p, "id") == Some(id))
    }

    /// The ids of the accounts (of `org`, when given) whose person `keep` accepts, in id order.
    fn accounts_whose_person(&self, org: Option<&str>, keep: impl Fn(&Item) -> bool) -> Vec<String> {
        let mut ids: Vec<String> = self
            .accounts
            .iter()
            .filter(|a| org.is_none_or(|o| attr(a, "organization_id") == Some(o)))
            .filter(|a| attr(a, "person_id").and_then(|p| self.person(p)).is_some_and(&keep))
            .map(|a| attr(a, "id").unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }
}

fn attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(Value::as_str)
}

async fn seeded() -> Seeded {
    let (accounts_n, people_n, organizations_n) = sizes();
    let reads = Reads::default();
    let recorder = reads.clone();
    let app = TestApp::wrapping_store(|inner| Recording::around(inner, recorder)).await;
    let mut organizations = Vec::new();
    for n in 0..organizations_n {
        organizations.push(app.create_org(&format!("Org {n:02}")).await);
    }
    let mut rng = Rng::new(23);
    let people: Vec<Item> = (0..people_n)
        .map(|n| {
            let name = match n % (people_n / RARE) {
                0 if n / (people_n / RARE) < RARE => format!("Zora {n}"),
                _ => format!("{} {}", rng.pick(FIRST), rng.pick(LAST)),
            };
            let item = json!({
                "id": format!("00000000-0000-7000-9000-{n:012}"), "name": name,
                "state": if rng.chance(20) { "inactive" } else { "active" },
                "organization_id": organizations[n % organizations_n], "external_id": format!("HR-{n}"),
                "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z", "version": 1,
            });
            item.as_object().cloned().unwrap()
        })
        .collect();
    let mut accounts: Vec<Item> = (0..accounts_n).map(|n| random_account(&mut rng, n, &organizations)).collect();
    for account in &mut accounts {
        // Two thirds are correlated with a person of their organization.
        let Some(org) = attr(account, "organization_id").map(String::from) else { continue };
        if rng.chance(67) {
            let k = organizations.iter().position(|o| *o == org).unwrap();
            let n = k + organizations_n * rng.below(people_n / organizations_n);
            account.insert("person_id".into(), json!(attr(&people[n], "id").unwrap()));
        }
    }
    app.state.store.put_many(&PEOPLE, people.clone()).await.expect("seed people");
    let markers =
        people.iter().flat_map(|p| person::uniques(p).into_iter().map(|u| u.marker(attr(p, "id").unwrap()))).collect();
    app.state.store.put_many(&UNIQUES, markers).await.expect("claim the people's external ids");
    put_all(app.state.store.as_ref(), &accounts).await;
    app.state.metrics.reset();
    assert_eq!(app.get(&format!("{ACCOUNTS}/me")).await.status, http::StatusCode::OK);
    let auth_items = app.state.metrics.items_read() - 1;
    Seeded { app, reads, accounts, people, organizations, auth_items }
}

/// Every page of `query` by `size`, each page's cost, and every id returned.
async fn walk(s: &Seeded, token: &str, query: &str, size: usize) -> (Vec<Cost>, Vec<String>) {
    let mut next = Some(format!("{query}&page[size]={size}&page[after]="));
    let (mut costs, mut ids) = (Vec::new(), Vec::new());
    while let Some(q) = next {
        let cost = s.measure(token, &q).await;
        ids.extend(cost.ids.clone());
        next = cost.next.clone();
        costs.push(cost);
        assert!(costs.len() < 500, "{query}: paging does not end");
    }
    (costs, ids)
}

/// A person's name that few people match: their ids first (the people's name index), then
/// their accounts (the accounts' person index), sorted in memory: every page, however deep,
/// reads about the matching people and their accounts, never the table.
async fn a_rare_persons_name_reads_its_people_and_their_accounts(s: &Seeded) {
    let token = s.app.admin_token.clone();
    for (query, keep) in [
        (
            "filter[person.name__sw]=Zora".to_string(),
            Box::new(|p: &Item| attr(p, "name").unwrap().starts_with("Zora")) as Box<dyn Fn(&Item) -> bool>,
        ),
        (
            format!("filters={}", iam_tests::app::encode(r#"person.name sw "Zora" and person.state eq "active""#)),
            Box::new(|p: &Item| attr(p, "name").unwrap().starts_with("Zora") && attr(p, "state") == Some("active")),
        ),
    ] {
        let want = s.accounts_whose_person(None, &keep);
        let people = s.people.iter().filter(|p| keep(p)).count() as u64;
        assert!(want.len() > 10 && people <= RARE as u64, "{query}: {} accounts of {people} people", want.len());
        let (costs, got) = walk(s, &token, &query, 5).await;
        assert_eq!(got, want, "{query}: every match once, in order");
        for (n, cost) in costs.iter().enumerate() {
            // The matching people (their keys in name order, then themselves, read once for
            // both conjuncts on the person), then all of their accounts.
            let bound = 2 * RARE as u64 + want.len() as u64 + 2;
            assert!(cost.items <= bound, "{query}: page {n} read {} items (bound {bound})", cost.items);
        }
    }
}

/// An organization's name is its uniqueness marker, then that organization's partition of
/// accounts in id order: a page costs a page, first and deep, and no other organization's
/// account is read.
async fn an_organizations_name_reads_that_organizations_accounts_a_page_at_a_time(s: &Seeded) {
    let token = s.app.admin_token.clone();
    let org = &s.organizations[3];
    let query = "filter[organization.name]=Org%2003&filter[enabled]=true";
    let size = 20;
    let first = s.measure(&token, &format!("{query}&page[size]={size}&page[after]=")).await;
    let mut next = first.next.clone().expect("more pages");
    for _ in 0..5 {
        next = s.measure(&token, &next).await.next.expect("more pages");
    }
    s.reads.lock().unwrap().clear();
    let deep = s.measure(&token, &next).await;
    for (cost, at) in [(&first, "first"), (&deep, "deep")] {
        assert_eq!(cost.ids.len(), size, "{at}");
        // The marker and the organization, then a page (and the one after) of its accounts,
        // some of them disabled.
        assert!(cost.items <= 2 + 2 * (size as u64 + 1) + 4, "the {at} page read {} items", cost.items);
    }
    // The caller's own account (authentication) is the root admin, outside any organization.
    let foreign = organizations_of(&s.reads, &ACCOUNTS_TABLE)
        .into_iter()
        .filter(|o| o.is_some() && o.as_deref() != Some(org.as_str()))
        .count();
    assert_eq!(foreign, 0, "read {foreign} accounts of other organizations");
}

/// A prefix that many people match is not turned into their ids (a merge over thousands of
/// partitions): the accounts stream in id order and each batch's people are read in one batch
/// get per hundred, so a page reads about the page divided by the share that matches.
async fn a_common_prefix_streams_the_accounts_and_checks_each_pages_people(s: &Seeded) {
    let token = s.app.admin_token.clone();
    let query = "filter[person.name__sw]=A&page[size]=50";
    let keep = |p: &Item| attr(p, "name").unwrap().starts_with('A');
    let want = s.accounts_whose_person(None, keep);
    let share = want.len() as f64 / s.accounts.len() as f64;
    assert!(share > 0.05, "a common prefix: {share}");
    let first = s.measure(&token, query).await;
    assert_eq!(first.ids, want[..50], "the first page, in id order");
    // Accounts read to find 50 (about 50 / share), each with at most one person.
    let bound = (2.0 * 50.0 / share) as u64 * 2 + 200;
    assert!(first.items <= bound, "read {} items for a page of 50 (share {share:.2}, bound {bound})", first.items);
}

/// An organization's admin filtering by a person's name reads only its organization's people
/// and accounts.
async fn an_organizations_admin_reads_only_its_own_people_and_accounts(s: &Seeded) {
    let org = &s.organizations[1];
    let token = s.app.account_with_role("admin@org01.test", Some(org), Some(("org_admin", Some(org)))).await;
    for query in ["filter[person.name__sw]=Zora", "filter[person.name__sw]=Ann", "filter[person.external_id]=HR-1"] {
        s.reads.lock().unwrap().clear();
        let (_, got) = walk(s, &token, query, 100).await;
        let people = organizations_of(&s.reads, &PEOPLE);
        s.reads.lock().unwrap().clear();
        let want: BTreeSet<String> = s
            .accounts_whose_person(Some(org), |p| match query {
                q if q.ends_with("Zora") => attr(p, "name").unwrap().starts_with("Zora"),
                q if q.ends_with("Ann") => attr(p, "name").unwrap().starts_with("Ann"),
                _ => attr(p, "external_id") == Some("HR-1"),
            })
            .into_iter()
            .collect();
        assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want, "{query}");
        assert!(
            people.iter().all(|o| o.as_deref() == Some(org.as_str())),
            "{query}: read people of other organizations"
        );
    }
    // Accounts are checked on a query of their own: read again, recording only them.
    s.reads.lock().unwrap().clear();
    walk(s, &token, "filter[person.name__sw]=Ann", 100).await;
    let accounts = organizations_of(&s.reads, &ACCOUNTS_TABLE);
    let foreign = accounts.iter().filter(|o| o.is_some() && o.as_deref() != Some(org.as_str())).count();
    assert_eq!(foreign, 0, "read {foreign} accounts of other organizations");
}

/// One seed (the expensive part), every guarantee.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relationship_filters_cost_what_they_return() {
    let s = seeded().await;
    a_rare_persons_name_reads_its_people_and_their_accounts(&s).await;
    an_organizations_name_reads_that_organizations_accounts_a_page_at_a_time(&s).await;
    a_common_prefix_streams_the_accounts_and_checks_each_pages_people(&s).await;
    an_organizations_admin_reads_only_its_own_people_and_accounts(&s).await;
}
