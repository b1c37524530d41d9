//! What the listings an admin console makes cost as the table grows, on the embedded store
//! (SQLite): each request through the whole HTTP stack in process (routing, authentication,
//! planning, reading, rendering), best of five after one warm-up, with the items the store read.
//!
//! `make bench-listings` runs it at 100,000 and 1,000,000 accounts in 10 organizations and
//! writes `bench/LISTINGS.md`; `listings N...` runs other sizes and prints the tables.

use std::time::{Duration, Instant};

use iam_tests::TestApp;
use iam_tests::seed::{Rng, put_all, random_account};

const ORGANIZATIONS: usize = 10;
const SEED_CHUNK: usize = 20_000;
const ACCOUNTS: &str = "/api/v3/iam/accounts";

/// The requests, as an admin console makes them (`O` stands for an organization's id).
const REQUESTS: &[(&str, &str)] = &[
    ("first page by id (the yardstick)", "page[size]=100"),
    ("newest first", "sort=-created_at&page[size]=100"),
    ("by name", "sort=name&page[size]=100"),
    ("by name, page 2 (cursor)", "sort=name&page[size]=100&page[after]=NEXT"),
    ("last login, most recent first", "sort=-last_login_at&page[size]=100"),
    ("by name, then most recently updated", "sort=name,-updated_at&page[size]=100"),
    ("one organization by name", "filter[organization_id]=O&sort=name&page[size]=100"),
    ("email prefix (10% match), id order", "filter[email__sw]=ann&page[size]=100"),
    ("email prefix (10% match), page 2 (cursor)", "filter[email__sw]=ann&page[size]=100&page[after]=NEXT"),
    ("count, whole table", "count=true&page[size]=100"),
    ("count, one organization", "filter[organization_id]=O&count=true&page[size]=100"),
    ("count, enabled only (read to count)", "filter[enabled]=true&count=true&page[size]=100"),
    ("offset 30,000 (page[number]=300)", "page[number]=300&page[size]=100"),
    ("search box, one rare term", "query=hana123&page[size]=100"),
    ("search box, a name (about 1 in 10)", "query=hana&page[size]=100"),
    ("search box, two terms", "query=hana%20quinn&page[size]=100"),
    ("search box, two terms, by name", "query=hana%20quinn&sort=name&page[size]=100"),
    ("search box, two terms, page 2 (cursor)", "query=hana%20quinn&page[size]=100&page[after]=NEXT"),
    ("search box, one organization", "filter[organization_id]=O&query=hana%20quinn&page[size]=100"),
    ("search box, one letter", "query=h&page[size]=100"),
];

struct Measured {
    best: Duration,
    items_read: u64,
    returned: usize,
}

async fn measure(app: &TestApp, query: &str) -> Measured {
    let path = format!("{ACCOUNTS}?{query}");
    let mut best = Duration::MAX;
    let (mut items_read, mut returned) = (0, 0);
    for run in 0..6 {
        app.state.metrics.reset();
        let started = Instant::now();
        let reply = app.get(&path).await;
        let took = started.elapsed();
        assert_eq!(reply.status, http::StatusCode::OK, "{query}: {:?}", reply.body);
        if run > 0 {
            best = best.min(took);
        }
        items_read = app.state.metrics.items_read();
        returned = reply.ids().len();
    }
    Measured { best, items_read, returned }
}

/// The query with `NEXT` replaced by the cursor of the page before (the same query without it).
async fn resolve(app: &TestApp, query: &str) -> String {
    let Some(first) = query.strip_suffix("NEXT") else { return query.to_string() };
    let reply = app.get(&format!("{ACCOUNTS}?{first}")).await;
    let next = reply.body["links"]["next"].as_str().expect("a second page");
    next.split_once('?').expect("a query").1.to_string()
}

async fn run(size: usize) -> String {
    let app = TestApp::new().await;
    let mut organizations = Vec::new();
    for n in 0..ORGANIZATIONS {
        organizations.push(app.create_org(&format!("Org {n:02}")).await);
    }
    let started = Instant::now();
    let mut rng = Rng::new(2026);
    for chunk in (0..size).collect::<Vec<_>>().chunks(SEED_CHUNK) {
        let items: Vec<_> = chunk.iter().map(|n| random_account(&mut rng, *n, &organizations)).collect();
        put_all(app.state.store.as_ref(), &items).await;
    }
    eprintln!("seeded {size} accounts in {:.0?}", started.elapsed());
    let org = &organizations[0];
    let mut table = format!(
        "## {size} accounts in {ORGANIZATIONS} organizations\n\n\
         | request | query | best of 5 (ms) | items read | returned |\n|---|---|---:|---:|---:|\n"
    );
    for (what, query) in REQUESTS {
        let query = resolve(&app, &query.replace("=O&", &format!("={org}&"))).await;
        let m = measure(&app, &query).await;
        let shown = query.replace(org.as_str(), "O");
        let shown = if shown.contains("page[after]=") {
            format!("{}page[after]=…", shown.split("page[after]=").next().unwrap_or_default())
        } else {
            shown
        };
        table.push_str(&format!(
            "| {what} | `{shown}` | {:.1} | {} | {} |\n",
            m.best.as_secs_f64() * 1000.0,
            m.items_read,
            m.returned
        ));
        eprintln!("{what}: {:.1?}", m.best);
    }
    table
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("a number of accounts")).collect();
    let sizes = if sizes.is_empty() { vec![100_000, 1_000_000] } else { sizes };
    for size in sizes {
        println!("{}", run(size).await);
    }
}
