//! The cost guarantees of API.md §2, asserted by counting what the store reads, on 20,000
//! accounts in 40 organizations (on moto, whose every query reads its whole table in Python,
//! 6,000 in 10): indexed filters read in proportion to what they return, a deep
//! cursor page costs what the first page costs, `include` is one batched read, a listing by
//! organization never reads another organization's accounts, the role and team filters
//! read a page of links and a page of accounts, and one organization's accounts with or without
//! a second factor cost a page.

use iam_shared::auth::permissions::built_in;
use iam_shared::model::role_assignment::Assignment;
use iam_shared::model::team_membership;
use iam_shared::store::Item;
use iam_shared::store::schema::{ACCOUNTS as ACCOUNTS_TABLE, ROLE_ASSIGNMENTS, TEAM_MEMBERSHIPS, WRITE_SHARDS};
use iam_tests::TestApp;
use iam_tests::recording::{Reads, Recording, organizations_of};
use iam_tests::seed::{Rng, put_all, random_account};
use serde_json::Value;

const ACCOUNTS: &str = "/api/v3/iam/accounts";
/// Accounts seeded: fewer on moto, where each query costs time in proportion to the table.
fn total() -> usize {
    if iam_tests::app::on_dynamodb() { 6_000 } else { 20_000 }
}

fn organizations_seeded() -> usize {
    if iam_tests::app::on_dynamodb() { 10 } else { 40 }
}
/// A whole-table page is merged from the write shards (`store::read`): each shard is read for
/// its share of the page plus one, and what is left over is read again by the next page. So a
/// whole-table page reads up to twice what it returns, in about one request per shard (sent
/// together), and twice that when shards run dry.
const SHARDS: u64 = WRITE_SHARDS as u64;
const MERGE: u64 = 2;

struct Costs {
    app: TestApp,
    reads: Reads,
    accounts: Vec<Item>,
    organizations: Vec<String>,
    /// Items the authentication of one request reads (session, account with its embedded grants, custom roles).
    auth_items: u64,
    auth_requests: u64,
}

/// What one request read beyond authenticating its caller.
#[derive(Debug)]
struct Cost {
    items: u64,
    requests: u64,
    returned: usize,
    body: Value,
}

impl Costs {
    async fn measure(&self, query: &str) -> Cost {
        self.app.state.metrics.reset();
        let reply = self.app.get(&format!("{ACCOUNTS}?{query}")).await;
        assert_eq!(reply.status, http::StatusCode::OK, "{query}: {:?}", reply.body);
        Cost {
            items: self.app.state.metrics.items_read() - self.auth_items,
            requests: self.app.state.metrics.requests() - self.auth_requests,
            returned: reply.ids().len(),
            body: reply.body,
        }
    }
}

async fn seeded() -> Costs {
    let reads = Reads::default();
    let recorder = reads.clone();
    let app = TestApp::wrapping_store(|inner| Recording::around(inner, recorder)).await;
    let mut organizations = Vec::new();
    for n in 0..organizations_seeded() {
        organizations.push(app.create_org(&format!("Org {n:02}")).await);
    }
    let mut rng = Rng::new(2026);
    let mut accounts: Vec<Item> = (0..total()).map(|n| random_account(&mut rng, n, &organizations)).collect();
    let (assignments, memberships) = link(&mut accounts, &organizations[1]);
    put_all(app.state.store.as_ref(), &accounts).await;
    app.state.store.put_many(&ROLE_ASSIGNMENTS, assignments).await.expect("seed assignments");
    app.state.store.put_many(&TEAM_MEMBERSHIPS, memberships).await.expect("seed memberships");
    // `/accounts/me` is authentication plus one item read.
    app.state.metrics.reset();
    assert_eq!(app.get(&format!("{ACCOUNTS}/me")).await.status, http::StatusCode::OK);
    let (auth_items, auth_requests) = (app.state.metrics.items_read() - 1, app.state.metrics.requests() - 1);
    Costs { app, reads, accounts, organizations, auth_items, auth_requests }
}

/// The team every fifth account of an organization is in (an id of ours: a UUID).
const TEAM: &str = "00000000-0000-7000-8000-0000000f1f75";

/// Gives every eighth account of an organization `helpdesk` there, and puts every fifth
/// account of `organization` in [`TEAM`]: the link items, embedded as the service embeds them.
fn link(accounts: &mut [Item], organization: &str) -> (Vec<Item>, Vec<Item>) {
    let (mut assignments, mut memberships) = (Vec::new(), Vec::new());
    let helpdesk = built_in("helpdesk").unwrap();
    for (n, account) in accounts.iter_mut().enumerate() {
        let Some(org) = attr(account, "organization_id").map(String::from) else { continue };
        if n % 8 == 0 {
            let a = Assignment::of_built_in(format!("ra-{n:06}"), account, helpdesk, Some(&org));
            account.insert("_roles".into(), serde_json::json!([a.entry()]));
            assignments.push(a.item("2026-11-23T10:00:00Z"));
        }
        if n % 5 == 0 && org == organization {
            let id = format!("tm-{n:06}");
            account.insert("_teams".into(), serde_json::json!([team_membership::entry(&id, TEAM)]));
            let account_id = attr(account, "id").unwrap().to_string();
            memberships.push(team_membership::item(&id, TEAM, &account_id, &org, "2026-11-23T10:00:00Z"));
        }
    }
    (assignments, memberships)
}

fn attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(Value::as_str)
}

async fn indexed_equality_reads_at_most_twice_what_it_returns_plus_a_page(c: &Costs) {
    let sample = &c.accounts[total() / 2];
    let with_username = c.accounts.iter().rev().find(|a| a.contains_key("username")).unwrap();
    let with_external = c.accounts.iter().find(|a| a.contains_key("external_id")).unwrap();
    let page = 100;
    for query in [
        format!("filter[email]={}", attr(sample, "email").unwrap().to_uppercase()),
        format!("filter[username]={}", attr(with_username, "username").unwrap()),
        format!("filter[external_id]={}", attr(with_external, "external_id").unwrap()),
        format!("filter[organization_id]={}&page[size]={page}", c.organizations[3]),
        format!("filter[ou_accounts]={}&sort=-email&page[size]={page}", c.organizations[7]),
        format!("filter[email__sw]=ann&page[size]={page}&sort=email"),
        format!("filters=email%20eq%20%22{}%22", attr(sample, "email").unwrap()),
    ] {
        let cost = c.measure(&query).await;
        assert!(cost.returned >= 1, "{query} returns something");
        assert!(
            cost.items <= 2 * cost.returned as u64 + page as u64,
            "{query}: read {} items for {} returned",
            cost.items,
            cost.returned
        );
    }
    let exact = c.measure(&format!("filter[email]={}", attr(sample, "email").unwrap())).await;
    let marked = (exact.returned, exact.items, exact.requests);
    assert_eq!(marked, (1, 2, 2), "a unique key is its uniqueness marker, then the item");
}

async fn a_deep_cursor_page_costs_what_the_first_page_costs(c: &Costs) {
    let in_org = format!("filter[organization_id]={}&", c.organizations[0]);
    for (filter, stride, depth_wanted) in [(String::new(), 1000, total() * 3 / 4), (in_org, 100, 300)] {
        let first = c.measure(&format!("{filter}page[size]=100&page[after]=")).await;
        assert_eq!(first.returned, 100);
        assert!(first.items <= MERGE * 101, "{filter}: the first page read {}", first.items);
        // Walk deep with big pages, then read one page of 100 from there.
        let mut next = format!("{filter}page[size]={stride}&page[after]=");
        let mut depth = 0;
        while depth < depth_wanted {
            let reply = c.measure(&next).await;
            depth += reply.returned;
            let link = reply.body["links"]["next"].as_str().expect("more pages follow");
            next = link.split_once('?').unwrap().1.to_string();
        }
        let next = next.replace(&format!("page[size]={stride}"), "page[size]=100");
        let deep = c.measure(&next).await;
        assert_eq!(deep.returned, 100, "{filter}: a full page at depth {depth}");
        assert!(deep.items <= MERGE * 101, "{filter}: read {} at depth {depth}", deep.items);
        assert!(deep.requests <= 2 * SHARDS, "{filter}: {} requests at depth {depth}", deep.requests);
    }
}

async fn include_is_one_batched_read_per_page(c: &Costs) {
    let plain = c.measure("page[size]=100").await;
    let with = c.measure("page[size]=100&include=organization").await;
    let distinct: std::collections::BTreeSet<&str> = with.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["relationships"]["organization"]["data"]["id"].as_str())
        .collect();
    assert!(distinct.len() > organizations_seeded() / 2, "the page spans many organizations");
    assert_eq!(with.requests - plain.requests, 1, "one batch read for the whole page");
    assert_eq!(with.items - plain.items, distinct.len() as u64);
    assert_eq!(with.body["included"].as_array().unwrap().len(), distinct.len());
}

async fn a_listing_by_organization_never_reads_another_organizations_accounts(c: &Costs) {
    let org = &c.organizations[5];
    let in_org = c.accounts.iter().filter(|a| attr(a, "organization_id") == Some(org.as_str())).count();
    for query in [
        format!("filter[organization_id]={org}"),
        format!("filter[organization_id]={org}&sort=name&filter[enabled]=true"),
        format!("filter[ou_accounts]={org}&sort=-email&page[size]=50&page[number]=3"),
        format!("filters=organization_id%20eq%20%22{org}%22%20and%20(name%20co%20%22a%22%20or%20enabled%20eq%20false)"),
    ] {
        c.reads.lock().unwrap().clear();
        let cost = c.measure(&query).await;
        let read = organizations_of(&c.reads, &ACCOUNTS_TABLE);
        // The caller's own account (authentication) is the root admin, outside any organization.
        let foreign: Vec<_> = read.iter().filter(|o| o.is_some() && o.as_deref() != Some(org.as_str())).collect();
        assert!(foreign.is_empty(), "{query}: read {} accounts of other organizations", foreign.len());
        // A listing order of keys only (`sort=name`) reads each key, then its item.
        assert!(
            cost.items <= 2 * in_org as u64 + 1,
            "{query}: read {} items of an organization of {in_org}",
            cost.items
        );
    }
}

/// A role or team filter reads one page of links and the accounts they name, however deep.
async fn role_and_team_filters_read_a_page_of_links_and_a_page_of_accounts(c: &Costs) {
    let holders = c.accounts.iter().filter(|a| a.contains_key("_roles")).count();
    let members = c.accounts.iter().filter(|a| a.contains_key("_teams")).count();
    assert!(holders > total() / 10 && members > 50, "{holders} holders, {members} members");
    for filter in ["filter[role_name]=helpdesk".to_string(), format!("filter[team_id]={TEAM}")] {
        let first = c.measure(&format!("{filter}&page[size]=20&page[after]=")).await;
        assert_eq!(first.returned, 20, "{filter}");
        assert!(first.items <= 2 * 21, "{filter}: read {} items for a page of 20", first.items);
        assert!(first.requests <= 4, "{filter}: {} requests", first.requests);
        let mut next = format!("{filter}&page[size]=20&page[after]=");
        for _ in 0..3 {
            let reply = c.measure(&next).await;
            next = reply.body["links"]["next"].as_str().expect("more pages").split_once('?').unwrap().1.to_string();
        }
        let deep = c.measure(&next).await;
        assert_eq!((deep.returned, deep.items, deep.requests), (20, first.items, first.requests), "{filter}");
    }
    // Links of organizations outside the listing are skipped before any account is read.
    let (o1, o2) = (&c.organizations[1], &c.organizations[2]);
    c.reads.lock().unwrap().clear();
    let cost =
        c.measure(&format!("filter[role_name]=helpdesk&filter[organization_id__in]={o1},{o2}&page[size]=30")).await;
    let read = organizations_of(&c.reads, &ACCOUNTS_TABLE);
    assert_eq!(cost.returned, 30);
    let foreign = read.iter().filter(|o| o.is_some() && *o != &Some(o1.clone()) && *o != &Some(o2.clone())).count();
    assert_eq!(foreign, 0, "read {foreign} accounts of other organizations");
}

/// Follows `links.next` from `first` for `pages` pages of `stride`, then measures one page of
/// `size` from there: the deep page's cost.
async fn deep_page(c: &Costs, first: &str, stride: usize, pages: usize, size: usize) -> Cost {
    let mut next = format!("{first}&page[size]={stride}&page[after]=");
    for _ in 0..pages {
        let reply = c.measure(&next).await;
        let link = reply.body["links"]["next"].as_str().unwrap_or_else(|| panic!("{next}: more pages follow"));
        next = link.split_once('?').unwrap().1.to_string();
    }
    c.measure(&next.replace(&format!("page[size]={stride}"), &format!("page[size]={size}"))).await
}

/// Every sortable column, in both directions, over the whole table and within one organization,
/// reads about what a page returns (keys, then the items: twice the page), first page and deep.
async fn every_sortable_column_pages_at_index_cost_in_both_scopes(c: &Costs) {
    let columns = ["name", "username", "email", "updated_at", "last_login_at", "joined_at", "expires_at", "created_at"];
    let org = &c.organizations[organizations_seeded() - 1];
    for (n, column) in columns.iter().enumerate() {
        let sort = if n % 2 == 0 { format!("-{column}") } else { column.to_string() };
        for scope in [String::new(), format!("filter[organization_id]={org}&")] {
            let base = format!("{scope}sort={sort}");
            let first = c.measure(&format!("{base}&page[size]=50&page[after]=")).await;
            assert_eq!(first.returned, 50, "{base}");
            // Keys (merged from the shards over the whole table), then the page's items.
            assert!(first.items <= MERGE * 51 + 51, "{base}: the first page read {} items", first.items);
            assert!(first.requests <= 2 * SHARDS + 1, "{base}: {} requests", first.requests);
            let deep = deep_page(c, &base, 200, 2, 50).await;
            assert_eq!(deep.returned, 50, "{base}");
            // Merging shards reads a little more or less depending on where the page falls in
            // each: the deep page keeps the first page's bounds, not its exact count.
            assert!(deep.items <= MERGE * 51 + 51, "{base}: 400 deep read {} items", deep.items);
            assert!(deep.requests <= 2 * SHARDS + 1, "{base}: 400 deep took {} requests", deep.requests);
        }
    }
}

/// `sort=name,-updated_at` reads the name order and sorts each run of one name by the second
/// key: a page reads what it returns and the runs it starts and ends in, however deep.
async fn a_multi_key_sort_reads_a_page_and_the_run_it_ends_in(c: &Costs) {
    let mut runs: std::collections::HashMap<&str, u64> = Default::default();
    for account in &c.accounts {
        *runs.entry(attr(account, "name").unwrap_or("")).or_default() += 1;
    }
    let longest = runs.iter().filter(|(name, _)| !name.is_empty()).map(|(_, n)| *n).max().unwrap();
    // Keys and items (twice), of the page, the runs at its two ends, and one batch beyond.
    let bound = (MERGE + 1) * (51 + 2 * longest + 50);
    for base in ["sort=name,-updated_at", "sort=-updated_at,name"] {
        let first = c.measure(&format!("{base}&page[size]=50&page[after]=")).await;
        assert_eq!(first.returned, 50, "{base}");
        assert!(first.items <= bound, "{base}: read {} items (runs of at most {longest})", first.items);
        let deep = deep_page(c, base, 300, 3, 50).await;
        assert_eq!(deep.returned, 50, "{base}");
        assert!(deep.items <= bound, "{base}: read {} items 900 deep (runs of at most {longest})", deep.items);
    }
}

/// `count=true` over the whole table or one organization reads counters, not the accounts.
async fn counts_of_the_table_and_of_an_organization_read_counters(c: &Costs) {
    let org = &c.organizations[4];
    let in_org = c.accounts.iter().filter(|a| attr(a, "organization_id") == Some(org.as_str())).count();
    let plain = c.measure("page[size]=10").await;
    let counted = c.measure("page[size]=10&count=true").await;
    assert_eq!(counted.body["meta"]["count"].as_u64(), Some(total() as u64 + 1), "every seeded account and the root");
    assert_eq!(counted.requests - plain.requests, 1, "one batch read of the shards");
    assert!(counted.items - plain.items <= 16, "{} counter items read", counted.items - plain.items);
    let plain = c.measure(&format!("filter[organization_id]={org}&page[size]=10")).await;
    let counted = c.measure(&format!("filter[organization_id]={org}&page[size]=10&count=true")).await;
    assert_eq!(counted.body["meta"]["count"].as_u64(), Some(in_org as u64));
    assert_eq!((counted.requests - plain.requests, counted.items - plain.items), (1, 1), "one counter read");
    // Any other filter is counted exactly, by reading what it matches.
    let enabled = c.accounts.iter().filter(|a| a["enabled"] == true).count() + 1;
    let counted = c.measure("filter[enabled]=true&page[size]=10&count=true").await;
    assert_eq!(counted.body["meta"]["count"].as_u64(), Some(enabled as u64));
}

/// Every page of `base` through `links.next`, with pages of `size`.
async fn walk(c: &Costs, base: &str, size: usize) -> Vec<String> {
    let (mut ids, mut next) = (Vec::new(), format!("{base}&page[size]={size}&page[after]="));
    loop {
        let reply = c.measure(&next).await;
        ids.extend(reply.body["data"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_string()));
        match reply.body["links"]["next"].as_str() {
            Some(link) => next = link.split_once('?').unwrap().1.to_string(),
            None => return ids,
        }
    }
}

/// When the index that filters is not the one in the requested order, a bounded probe of the
/// filtering range decides: few matches are sorted in memory, many are found by streaming the
/// ordering index with the filter applied. Either way a page costs a bounded multiple of the
/// page at any cursor depth, never every match on every page.
async fn a_filter_in_another_indexs_order_costs_a_multiple_of_the_page_at_any_depth(c: &Costs) {
    const PROBE: usize = 1000;
    let org = &c.organizations[2];
    let email = |a: &Item| attr(a, "email").unwrap().to_lowercase();
    let count = |keep: &dyn Fn(&Item) -> bool| c.accounts.iter().filter(|a| keep(a)).count();
    let in_org = |a: &Item| attr(a, "organization_id") == Some(org.as_str());
    // (query, how many accounts match: the probe reads them all when they are at most PROBE)
    let cases = [
        ("filter[email__gte]=f".to_string(), count(&|a| email(a).as_str() >= "f")),
        ("filter[email__gte]=f&sort=-last_login_at".to_string(), count(&|a| email(a).as_str() >= "f")),
        ("filter[role_name]=helpdesk&sort=name".to_string(), count(&|a| a.contains_key("_roles"))),
        (
            format!("filter[organization_id]={org}&filter[email__sw]=bob"),
            count(&|a| in_org(a) && email(a).starts_with("bob")),
        ),
        ("filter[email__sw]=ann.lee".to_string(), count(&|a| email(a).starts_with("ann.lee"))),
    ];
    assert!(cases.iter().any(|(_, n)| *n > PROBE) && cases.iter().any(|(_, n)| *n <= PROBE), "both ways are taken");
    for (base, matches) in cases {
        let few = matches <= PROBE;
        let first = c.measure(&format!("{base}&page[size]=50&page[after]=")).await;
        let deep = if few { deep_page(c, &base, 10, 2, 5).await } else { deep_page(c, &base, 100, 3, 50).await };
        // Streaming reads about the page divided by the share that matches (keys and items).
        let share = total().div_ceil(matches) as u64;
        // Sorting few matches in memory reads them all (links or keys, then the items).
        let per_page = if few { 2 * (PROBE as u64 + 1) } else { (MERGE + 1) * (share * 2) * 51 };
        assert!(first.items <= PROBE as u64 + 1 + per_page, "{base}: the first page read {} items", first.items);
        assert!(deep.items <= per_page, "{base}: a deep page read {} items", deep.items);
        assert_eq!(deep.returned, if few { 5 } else { 50 }, "{base}");
    }
    // Streaming with the filter applied finds exactly the matches, in order.
    let mut expected: Vec<&Item> = c.accounts.iter().filter(|a| email(a).as_str() >= "f").collect();
    expected.sort_by_key(|a| attr(a, "id").unwrap());
    let mut expected: Vec<String> = expected.iter().map(|a| attr(a, "id").unwrap().to_string()).collect();
    assert!(expected.len() > PROBE, "{} matches", expected.len());
    // The root admin (created last, so last in id order) matches too.
    assert!(iam_tests::app::ADMIN_EMAIL >= "f");
    let me = c.app.get(&format!("{ACCOUNTS}/me")).await;
    expected.push(me.body["data"]["id"].as_str().unwrap().to_string());
    let walked = walk(c, "filter[email__gte]=f", 1000).await;
    let first_difference = walked.iter().zip(&expected).position(|(a, b)| a != b);
    assert!(
        walked == expected,
        "walked {} of {} matches; first difference at {first_difference:?}",
        walked.len(),
        expected.len()
    );
}

/// "This organization's accounts without a second factor" (and with one), in both dialects:
/// the flag's index yields one value's accounts in id order, so a page reads its keys and its
/// items (about twice the page) at any cursor depth, every match once, and nothing of another
/// organization.
async fn an_organizations_accounts_with_or_without_mfa_cost_a_page_at_any_depth(c: &Costs) {
    let org = &c.organizations[4];
    let mfa = |a: &Item| a.get("mfa_enabled").and_then(Value::as_bool) == Some(true);
    for (on, base) in [
        (false, format!("filter[organization_id]={org}&filter[mfa_enabled]=false")),
        (true, format!("filters=organization_id%20eq%20%22{org}%22%20and%20mfa_enabled%20eq%20true")),
        (true, format!("filter[ou_accounts]={org}&filter[mfa_enabled]=true&sort=-created_at")),
    ] {
        let mut want: Vec<String> = c
            .accounts
            .iter()
            .filter(|a| attr(a, "organization_id") == Some(org.as_str()) && mfa(a) == on)
            .map(|a| attr(a, "id").unwrap().to_string())
            .collect();
        if base.contains("sort=-created_at") {
            want.reverse();
        }
        let size = 20;
        assert!(want.len() > 3 * size, "{base}: {} matches", want.len());
        c.reads.lock().unwrap().clear();
        let first = c.measure(&format!("{base}&page[size]={size}&page[after]=")).await;
        let deep = deep_page(c, &base, size, 2, size).await;
        for (cost, at) in [(&first, "first"), (&deep, "deep")] {
            assert_eq!(cost.returned, size, "{base}: the {at} page");
            // Keys, then the items by id: the page and the one that says another follows.
            assert!(cost.items <= 2 * (size as u64 + 1), "{base}: the {at} page read {} items", cost.items);
            assert!(cost.requests <= 3, "{base}: the {at} page took {} requests", cost.requests);
        }
        let read = organizations_of(&c.reads, &ACCOUNTS_TABLE);
        let foreign = read.iter().filter(|o| o.is_some() && o.as_deref() != Some(org.as_str())).count();
        assert_eq!(foreign, 0, "{base}: read {foreign} accounts of other organizations");
        assert_eq!(walk(c, &base, 50).await, want, "{base}: every match once, in order");
    }
}

/// The folded words of an account's email, name and username (API.md §2), for the oracle.
fn words(a: &Item) -> Vec<String> {
    let texts = ["email", "name", "username"].into_iter().filter_map(|f| attr(a, f));
    let folded: Vec<String> = texts.map(iam_shared::store::words::fold).collect();
    folded
        .iter()
        .flat_map(|t| t.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

fn found_by(a: &Item, terms: &[&str]) -> bool {
    let words = words(a);
    terms.iter().all(|t| words.iter().any(|w| w.starts_with(t)))
}

async fn the_search_box_reads_the_rarest_terms_entries_and_then_only_what_matches(c: &Costs) {
    const PROBE: u64 = 1000;
    let org = &c.organizations[4];
    let sample = c.accounts.iter().rev().find(|a| attr(a, "name").is_some()).unwrap();
    let sample_words = words(sample);
    // The email's local part ends in the account's number: one word no other account has.
    let rare = sample_words
        .iter()
        .find(|w| w.chars().any(|ch| ch.is_ascii_digit()) && !w.starts_with(char::is_numeric))
        .unwrap();
    let first_name = iam_shared::store::words::fold(attr(sample, "name").unwrap().split(' ').next().unwrap());
    let cases: Vec<(String, Vec<&str>, Option<&String>)> = vec![
        (format!("query={rare}"), vec![rare.as_str()], None),
        (format!("query={first_name}%20{rare}"), vec![first_name.as_str(), rare.as_str()], None),
        (format!("query={first_name}&filter[organization_id]={org}"), vec![first_name.as_str()], Some(org)),
        (format!("filter[organization_id]={org}&query=l%20{first_name}"), vec!["l", first_name.as_str()], Some(org)),
    ];
    for (query, terms, scope) in &cases {
        let mut want: Vec<&Item> = c
            .accounts
            .iter()
            .filter(|a| found_by(a, terms) && scope.is_none_or(|o| attr(a, "organization_id") == Some(o.as_str())))
            .collect();
        want.sort_by_key(|a| attr(a, "id").unwrap());
        let want: Vec<String> = want.iter().take(50).map(|a| attr(a, "id").unwrap().to_string()).collect();
        c.reads.lock().unwrap().clear();
        let cost = c.measure(&format!("{query}&page[size]=50")).await;
        let got: Vec<String> =
            cost.body["data"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_string()).collect();
        assert_eq!(got, want, "{query}");
        // The rarest term's entries (an account has at most a few words starting with one
        // term), then the accounts that hold every term, by id.
        let in_scope = |a: &&Item| scope.is_none_or(|o| attr(a, "organization_id") == Some(o.as_str()));
        let rarest = terms
            .iter()
            .map(|t| c.accounts.iter().filter(in_scope).filter(|a| found_by(a, &[t])).count())
            .min()
            .unwrap() as u64;
        let matching = c.accounts.iter().filter(in_scope).filter(|a| found_by(a, terms)).count() as u64;
        assert!(rarest <= PROBE / 2, "{query}: a case for the word index ({rarest} accounts)");
        // Each term's range is read while it may be the rarest (an account has one or two
        // words starting with a term), then the accounts holding every term.
        let bound = terms.len() as u64 * 2 * rarest + matching + 2;
        assert!(cost.items <= bound, "{query}: read {} items; the rarest term has about {rarest}", cost.items);
        if let Some(org) = scope {
            // The caller's own account (authentication) is the root admin, outside any organization.
            let read = organizations_of(&c.reads, &ACCOUNTS_TABLE);
            let foreign = read.iter().filter(|o| o.is_some() && o.as_deref() != Some(org.as_str())).count();
            assert_eq!(foreign, 0, "{query}: read accounts of other organizations");
        }
    }
    // Two common terms (each over the probe): the bucket of the longer streams in creation
    // order, each way, page by page, costing the page divided by the share of the bucket's
    // entries that hold both, whatever the table's size.
    let terms = ["corp", "hana"];
    assert!(terms.iter().all(|t| c.accounts.iter().filter(|a| found_by(a, &[t])).count() as u64 > PROBE / 2));
    let bucket_entries =
        c.accounts.iter().map(|a| words(a).iter().filter(|w| w.starts_with("ha")).count()).sum::<usize>();
    let mut both: Vec<String> =
        c.accounts.iter().filter(|a| found_by(a, &terms)).map(|a| attr(a, "id").unwrap().to_string()).collect();
    both.sort();
    let share = bucket_entries.div_ceil(both.len()) as u64;
    let page_cost = 4 * MERGE * share * 51 + 51;
    let by_name = |descending: bool| {
        let mut named: Vec<&Item> = c.accounts.iter().filter(|a| found_by(a, &terms)).collect();
        // The listing's order: name bytes, absent names last, ties by id; descending reverses all.
        named.sort_by(|a, b| {
            let key = |x: &Item| {
                (attr(x, "name").is_none(), attr(x, "name").map(String::from), attr(x, "id").map(String::from))
            };
            key(a).cmp(&key(b))
        });
        let ids: Vec<String> = named.iter().map(|a| attr(a, "id").unwrap().to_string()).collect();
        if descending { ids.into_iter().rev().collect() } else { ids }
    };
    for (order, want) in [
        ("", both.clone()),
        ("&sort=-created_at", both.iter().rev().cloned().collect()),
        ("&sort=name", by_name(false)),
        ("&sort=-name", by_name(true)),
    ] {
        let first = c.measure(&format!("query=corp%20hana{order}&page[size]=50")).await;
        let got: Vec<String> =
            first.body["data"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_string()).collect();
        assert_eq!(got, want[..50], "query=corp hana{order}");
        assert!(
            first.items <= 2 * (PROBE + 1) + page_cost,
            "query=corp hana{order}: the first page read {}",
            first.items
        );
        let deep = deep_page(c, &format!("query=corp%20hana{order}"), (both.len() / 8).max(1), 3, 50).await;
        assert_eq!(deep.returned, 50);
        assert!(
            deep.items <= page_cost,
            "query=corp hana{order}: a deep page read {} (1 in {share} of the bucket)",
            deep.items
        );
        let walked = walk(c, &format!("query=corp%20hana{order}"), 100).await;
        assert_eq!(walked, want, "query=corp hana{order}: every match once, in order");
    }

    // Two one-letter terms both too common to read, rare together: no bucket holds a
    // one-letter term, so the listing streams id order with the terms checked on the items,
    // at the cost of a page divided by the share that matches.
    let common = ["e", "t"];
    let both = c.accounts.iter().filter(|a| found_by(a, &common)).count();
    assert!(common.iter().all(|t| c.accounts.iter().filter(|a| found_by(a, &[t])).count() as u64 > PROBE));
    let cost = c.measure("query=e%20t&page[size]=50").await;
    assert_eq!(cost.returned, 50.min(both));
    let share = total().div_ceil(both.max(1)) as u64;
    let probes = 2 * (PROBE + 1);
    assert!(cost.items <= probes + MERGE * share * 51, "query=e t: read {} items (1 in {share} matches)", cost.items);
}

#[tokio::test]
async fn listing_costs_stay_proportional_to_the_page_with_thousands_of_accounts() {
    let c = seeded().await;
    indexed_equality_reads_at_most_twice_what_it_returns_plus_a_page(&c).await;
    a_deep_cursor_page_costs_what_the_first_page_costs(&c).await;
    include_is_one_batched_read_per_page(&c).await;
    a_listing_by_organization_never_reads_another_organizations_accounts(&c).await;
    role_and_team_filters_read_a_page_of_links_and_a_page_of_accounts(&c).await;
    every_sortable_column_pages_at_index_cost_in_both_scopes(&c).await;
    a_multi_key_sort_reads_a_page_and_the_run_it_ends_in(&c).await;
    counts_of_the_table_and_of_an_organization_read_counters(&c).await;
    a_filter_in_another_indexs_order_costs_a_multiple_of_the_page_at_any_depth(&c).await;
    the_search_box_reads_the_rarest_terms_entries_and_then_only_what_matches(&c).await;
    an_organizations_accounts_with_or_without_mfa_cost_a_page_at_any_depth(&c).await;
}
