//! Every filter operator and dialect on `/accounts`, checked against a deliberately simple
//! in-memory oracle on random data: the oracle reads the whole collection once, then answers
//! each random query with plain string comparisons; the API must return exactly the same ids in
//! the same order, through every dialect, sort and paging style.

use iam_tests::TestApp;
use iam_tests::app::encode;
use iam_tests::seed::{Rng, put_all, random_account};
use serde_json::Value;

const ACCOUNTS: &str = "/api/v3/iam/accounts";

/// Fields the oracle knows: (name, kind). Case-insensitive fields compare lower-cased.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    FoldedText,
    Bool,
    Time,
}

const FIELDS: &[(&str, Kind)] = &[
    ("id", Kind::Text),
    ("email", Kind::FoldedText),
    ("name", Kind::Text),
    ("username", Kind::FoldedText),
    ("external_id", Kind::Text),
    ("account_type", Kind::Text),
    ("auth_type", Kind::Text),
    ("sso_channel", Kind::Text),
    ("picture_url", Kind::Text),
    ("organization_id", Kind::Text),
    ("status", Kind::Text),
    ("enabled", Kind::Bool),
    ("created_at", Kind::Time),
    ("updated_at", Kind::Time),
    ("expires_at", Kind::Time),
    ("joined_at", Kind::Time),
    ("last_login_at", Kind::Time),
];

const SORTABLE: &[&str] = &[
    "id",
    "email",
    "name",
    "username",
    "status",
    "created_at",
    "updated_at",
    "joined_at",
    "last_login_at",
    "expires_at",
];

type Row = serde_json::Map<String, Value>;

fn kind(field: &str) -> Kind {
    FIELDS.iter().find(|(n, _)| *n == field).map(|(_, k)| *k).expect("known field")
}

/// A row's value as the oracle compares it: text (lower-cased for folded fields), or none.
fn value(row: &Row, field: &str) -> Option<String> {
    let raw = if field == "id" { row.get("id") } else { row["attributes"].get(field) };
    let v = match raw? {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    Some(if kind(field) == Kind::FoldedText { v.to_lowercase() } else { v })
}

#[derive(Debug, Clone)]
enum Filter {
    Cmp { field: &'static str, op: &'static str, values: Vec<Option<String>> },
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
}

fn holds(f: &Filter, row: &Row) -> bool {
    match f {
        Filter::And(parts) => parts.iter().all(|p| holds(p, row)),
        Filter::Or(parts) => parts.iter().any(|p| holds(p, row)),
        Filter::Not(inner) => !holds(inner, row),
        Filter::Cmp { field, op, values } => {
            let have = value(row, field);
            let fold = |v: &Option<String>| match (v, kind(field)) {
                (Some(s), Kind::FoldedText) => Some(s.to_lowercase()),
                _ => v.clone(),
            };
            let want: Vec<Option<String>> = values.iter().map(fold).collect();
            let first = want[0].clone();
            let ordered = |keep: fn(std::cmp::Ordering) -> bool| match (&have, &first) {
                (Some(h), Some(w)) => keep(h.as_bytes().cmp(w.as_bytes())),
                _ => false,
            };
            match *op {
                "eq" => have == first,
                "ne" => have != first,
                "in" => want.contains(&have),
                "nin" => !want.contains(&have),
                "gt" => ordered(|o| o.is_gt()),
                "gte" => ordered(|o| o.is_ge()),
                "lt" => ordered(|o| o.is_lt()),
                "lte" => ordered(|o| o.is_le()),
                "match" => match (&have, &first) {
                    (Some(h), Some(w)) => h.to_lowercase().contains(&w.to_lowercase()),
                    _ => false,
                },
                "sw" => match (&have, &first) {
                    (Some(h), Some(w)) => h.starts_with(w.as_str()),
                    _ => false,
                },
                other => panic!("unknown op {other}"),
            }
        }
    }
}

/// Sort: the keys in turn (nulls last ascending, first descending), then id in the direction
/// of the first key.
fn oracle_sort(rows: &mut [Row], keys: &[(&str, bool)]) {
    rows.sort_by(|a, b| {
        for (field, descending) in keys {
            let (x, y) = (value(a, field), value(b, field));
            let o = match (&x, &y) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, _) => std::cmp::Ordering::Greater,
                (_, None) => std::cmp::Ordering::Less,
                (Some(x), Some(y)) => x.as_bytes().cmp(y.as_bytes()),
            };
            let o = if *descending { o.reverse() } else { o };
            if o.is_ne() {
                return o;
            }
        }
        let ties = a["id"].as_str().cmp(&b["id"].as_str());
        if keys.first().is_some_and(|(_, descending)| *descending) { ties.reverse() } else { ties }
    });
}

fn text_value(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "null".into())
}

/// The JSON:API dialect of a conjunction of comparisons.
fn jsonapi(parts: &[Filter]) -> String {
    parts
        .iter()
        .map(|p| match p {
            Filter::Cmp { field, op, values } => {
                let suffix = if *op == "eq" { String::new() } else { format!("__{op}") };
                let joined: Vec<String> = values.iter().map(text_value).collect();
                format!("{}={}", encode(&format!("filter[{field}{suffix}]")), encode(&joined.join(",")))
            }
            other => panic!("not a comparison: {other:?}"),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn literal(field: &str, v: &Option<String>) -> String {
    match v {
        None => "null".into(),
        Some(s) if kind(field) == Kind::Bool => s.clone(),
        Some(s) => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
    }
}

/// The expression dialect of any filter.
fn expression(f: &Filter) -> String {
    match f {
        Filter::And(parts) => format!("({})", parts.iter().map(expression).collect::<Vec<_>>().join(" and ")),
        Filter::Or(parts) => format!("({})", parts.iter().map(expression).collect::<Vec<_>>().join(" OR ")),
        Filter::Not(inner) => format!("not {}", expression(inner)),
        Filter::Cmp { field, op, values } => {
            let list = || values.iter().map(|v| literal(field, v)).collect::<Vec<_>>().join(", ");
            match *op {
                "eq" if values[0].is_none() => format!("{field} isnull"),
                "in" => format!("{field} in ({})", list()),
                "nin" => format!("not ({field} in ({}))", list()),
                op => {
                    let op = match op {
                        "match" => "co",
                        "gte" => "ge",
                        "lte" => "le",
                        other => other,
                    };
                    format!("{field} {op} {}", literal(field, &values[0]))
                }
            }
        }
    }
}

fn ops_for(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Bool => &["eq", "ne", "in", "nin"],
        Kind::Time => &["eq", "ne", "in", "nin", "gt", "gte", "lt", "lte"],
        Kind::Text | Kind::FoldedText => &["eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "match", "sw"],
    }
}

/// A value worth comparing with: usually one the data holds (changed in case, or cut to a
/// prefix or a substring where the operator wants one), sometimes null or a miss.
fn operand(rng: &mut Rng, rows: &[Row], field: &str, op: &str) -> Option<String> {
    let seen = value(rng.pick(rows), field);
    if op != "match" && op != "sw" && rng.chance(10) {
        return None;
    }
    let Some(v) = seen.or_else(|| value(rng.pick(rows), field)) else {
        return if op == "match" || op == "sw" { Some("zz".into()) } else { None };
    };
    if kind(field) == Kind::Bool {
        return Some(v);
    }
    let chars: Vec<char> = v.chars().collect();
    let v = match op {
        "sw" => chars[..1 + rng.below(chars.len().min(6))].iter().collect(),
        "match" => {
            let from = rng.below(chars.len());
            chars[from..(from + 1 + rng.below(4)).min(chars.len())].iter().collect()
        }
        _ => v,
    };
    Some(if kind(field) == Kind::FoldedText && rng.chance(50) { v.to_uppercase() } else { v })
}

fn random_cmp(rng: &mut Rng, rows: &[Row]) -> Filter {
    let (field, kind) = *rng.pick(FIELDS);
    let op = *rng.pick(ops_for(kind));
    let values = match op {
        "in" | "nin" => (0..1 + rng.below(3)).map(|_| operand(rng, rows, field, "eq")).collect(),
        "gt" | "gte" | "lt" | "lte" => {
            let fallback = if kind == Kind::Time { "2026-06-01T00:00:00Z" } else { "M" };
            vec![Some(operand(rng, rows, field, op).unwrap_or_else(|| fallback.into()))]
        }
        _ => vec![operand(rng, rows, field, op)],
    };
    Filter::Cmp { field, op, values }
}

fn random_tree(rng: &mut Rng, rows: &[Row], depth: usize) -> Filter {
    if depth == 0 || rng.chance(40) {
        return random_cmp(rng, rows);
    }
    match rng.below(3) {
        0 => Filter::And((0..2 + rng.below(2)).map(|_| random_tree(rng, rows, depth - 1)).collect()),
        1 => Filter::Or((0..2 + rng.below(2)).map(|_| random_tree(rng, rows, depth - 1)).collect()),
        _ => Filter::Not(Box::new(random_tree(rng, rows, depth - 1))),
    }
}

/// 120 accounts in three organizations, plus the root admin; returns the oracle's rows.
async fn seeded() -> (TestApp, Vec<Row>) {
    let app = TestApp::new().await;
    let orgs = vec![app.create_org("Org A").await, app.create_org("Org B").await, app.create_org("Org C").await];
    let mut rng = Rng::new(7);
    let items: Vec<_> = (0..120).map(|n| random_account(&mut rng, n, &orgs)).collect();
    put_all(app.state.store.as_ref(), &items).await;
    let all = app.get(&format!("{ACCOUNTS}?page[size]=1000")).await;
    let rows: Vec<Row> = all.body["data"].as_array().unwrap().iter().map(|o| o.as_object().unwrap().clone()).collect();
    assert_eq!(rows.len(), 121, "every seeded account and the root admin");
    (app, rows)
}

/// Random cases to run: all of them on SQLite; a quarter on moto, whose every request costs
/// tens of milliseconds (the evaluator is the same code on both; the key conditions differ).
fn cases(n: usize) -> usize {
    if iam_tests::app::on_dynamodb() { n / 4 } else { n }
}

async fn api_ids(app: &TestApp, query: &str) -> Vec<String> {
    let reply = app.get(&format!("{ACCOUNTS}?{query}")).await;
    assert_eq!(reply.status, http::StatusCode::OK, "{query}: {:?}", reply.body);
    reply.ids()
}

fn ids(rows: &[Row]) -> Vec<String> {
    rows.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn every_operator_in_both_dialects_returns_exactly_what_the_oracle_does() {
    let (app, rows) = seeded().await;
    let mut rng = Rng::new(42);
    for case in 0..cases(150) {
        let parts: Vec<Filter> = (0..1 + rng.below(2)).map(|_| random_cmp(&mut rng, &rows)).collect();
        let want: Vec<String> =
            ids(&rows.iter().filter(|r| parts.iter().all(|p| holds(p, r))).cloned().collect::<Vec<_>>());
        let q = jsonapi(&parts);
        assert_eq!(api_ids(&app, &q).await, want, "case {case}: {q}");
        let e = expression(&Filter::And(parts.clone()));
        assert_eq!(api_ids(&app, &format!("filters={}", encode(&e))).await, want, "case {case}: filters={e}");
    }
}

#[tokio::test]
async fn and_or_not_and_parentheses_match_the_oracle() {
    let (app, rows) = seeded().await;
    let mut rng = Rng::new(99);
    for case in 0..cases(100) {
        let tree = random_tree(&mut rng, &rows, 3);
        let want = ids(&rows.iter().filter(|r| holds(&tree, r)).cloned().collect::<Vec<_>>());
        let e = expression(&tree);
        assert_eq!(api_ids(&app, &format!("filters={}", encode(&e))).await, want, "case {case}: filters={e}");
    }
}

#[tokio::test]
async fn sorts_and_every_paging_style_walk_the_oracle_order() {
    let (app, rows) = seeded().await;
    let mut rng = Rng::new(5);
    for case in 0..cases(32) {
        let keys: Vec<(&str, bool)> = {
            let mut keys = Vec::new();
            for _ in 0..1 + rng.below(2) {
                let f = *rng.pick(SORTABLE);
                if !keys.iter().any(|(k, _)| *k == f) {
                    keys.push((f, rng.chance(50)));
                }
            }
            keys
        };
        let filter = random_cmp(&mut rng, &rows);
        let mut want: Vec<Row> = rows.iter().filter(|r| holds(&filter, r)).cloned().collect();
        oracle_sort(&mut want, &keys);
        let want = ids(&want);
        let sort: Vec<String> = keys.iter().map(|(k, d)| format!("{}{k}", if *d { "-" } else { "" })).collect();
        let sort = sort.join(",");
        let base = format!("{}&sort={sort}", jsonapi(std::slice::from_ref(&filter)));
        assert_eq!(api_ids(&app, &base).await, want, "case {case}: {base}");
        let size = 3 + rng.below(15);
        let walk = |first: String| {
            let app = &app;
            async move { app.every_page(&first, &app.admin_token).await }
        };
        let by_number = walk(format!("{ACCOUNTS}?{base}&page[size]={size}")).await;
        assert_eq!(by_number, want, "case {case}: page numbers via links.next, size {size}, {base}");
        let by_cursor = walk(format!("{ACCOUNTS}?{base}&page[size]={size}&page[after]=")).await;
        assert_eq!(by_cursor, want, "case {case}: cursors via links.next, size {size}, {base}");
        let offset = rng.below(want.len() + 1);
        let slice: Vec<String> = want.iter().skip(offset).take(size).cloned().collect();
        let sorters = format!("{}&sorters={sort}&limit={size}&offset={offset}", jsonapi(std::slice::from_ref(&filter)));
        assert_eq!(api_ids(&app, &sorters).await, slice, "case {case}: {sorters}");
        let page = 1 + rng.below(want.len() / size + 1);
        let slice: Vec<String> = want.iter().skip((page - 1) * size).take(size).cloned().collect();
        let pterodactyl = format!("{base}&page={page}&per_page={size}");
        assert_eq!(api_ids(&app, &pterodactyl).await, slice, "case {case}: {pterodactyl}");
        let counted = app.get(&format!("{ACCOUNTS}?{base}&page[size]={size}&count=true")).await;
        assert_eq!(counted.body["meta"]["count"].as_u64(), Some(want.len() as u64), "case {case}");
        assert_eq!(counted.header("x-total-count"), Some(want.len().to_string().as_str()));
        let pages = want.len().div_ceil(size).max(1);
        assert_eq!(counted.body["meta"]["pagination"]["total_pages"].as_u64(), Some(pages as u64));
    }
}

/// The oracle of `query=` (API.md §2): the words of email, name and username are the runs of
/// letters and digits of their folded text; every term of the query starts one of them.
fn searched(row: &Row, text: &str) -> bool {
    let words_of = |text: &str| -> Vec<String> {
        let folded = iam_shared::store::words::fold(text);
        folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(String::from).collect()
    };
    let words: Vec<String> =
        ["email", "name", "username"].iter().filter_map(|f| value(row, f)).flat_map(|v| words_of(&v)).collect();
    words_of(text).iter().all(|t| words.iter().any(|w| w.starts_with(t.as_str())))
}

#[tokio::test]
async fn free_text_query_matches_words_by_prefix_in_every_scope_order_and_page() {
    let (app, rows) = seeded().await;
    let org = value(&rows[1], "organization_id").or_else(|| value(&rows[2], "organization_id")).unwrap();
    let texts = [
        "ann",
        "LEE",
        "corp",
        "bob1",
        "zzz",
        "ø",
        "roed",
        "JULIA",
        "xample",
        "nn",
        "ann lee",
        "example.com",
        "a",
        "e o",
    ];
    for text in texts {
        for (extra, keys) in [
            ("", vec![]),
            ("&sort=name", vec![("name", false)]),
            ("&sort=-updated_at", vec![("updated_at", true)]),
            (&*format!("&filter[organization_id]={org}"), vec![]),
            (&*format!("&filter[organization_id]={org}&sort=-name"), vec![("name", true)]),
            ("&filter[enabled]=true&sort=email", vec![("email", false)]),
        ] {
            let mut want: Vec<Row> = rows
                .iter()
                .filter(|r| searched(r, text))
                .filter(|r| {
                    !extra.contains("organization_id") || value(r, "organization_id").as_deref() == Some(org.as_str())
                })
                .filter(|r| !extra.contains("enabled") || r["attributes"]["enabled"] == true)
                .cloned()
                .collect();
            oracle_sort(&mut want, &keys);
            let query = format!("query={}{extra}", encode(text));
            assert_eq!(api_ids(&app, &query).await, ids(&want), "{query}");
            let first = format!("{ACCOUNTS}?{query}&page[size]=7&page[after]=");
            assert_eq!(app.every_page(&first, &app.admin_token).await, ids(&want), "{query}, page by page");
        }
    }
    let middle = api_ids(&app, "query=xample").await;
    assert!(middle.is_empty(), "a term matches the start of a word, never its middle: {middle:?}");
}
