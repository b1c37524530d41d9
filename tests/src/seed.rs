//! Seeding many accounts straight into a store (100 writes a transaction), with a small
//! deterministic random generator so that every run sees the same data and a failure can be
//! replayed.

use iam_shared::store::schema::{ACCOUNTS, UNIQUES};
use iam_shared::store::{Item, Store};
use serde_json::{Value, json};

/// SplitMix64: tiny, fast, and good enough to spread test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }
}

const FIRST: &[&str] = &["Ann", "bob", "Cid", "Dora", "eve", "Finn", "Gus", "Hana", "Ivo", "Júlia"];
const LAST: &[&str] = &["Lee", "Moss", "nagy", "Ortiz", "Park", "Quinn", "Røed"];

/// A timestamp in 2026, whole seconds, UTC (the stored form).
fn timestamp(rng: &mut Rng) -> String {
    let day = 1 + rng.below(330) as i64;
    let start = iam_shared::clock::parse("2026-01-01T00:00:00Z").expect("time");
    let at = start + time::Duration::days(day) + time::Duration::seconds(rng.below(86_400) as i64);
    iam_shared::clock::format(at)
}

/// When account `n` was created: in id order (as `ids::new_id` makes ids), three a minute, so
/// that a second holds several creations now and then. The generator still draws a timestamp,
/// so that the other random attributes stay what they were.
fn created_at(rng: &mut Rng, n: usize) -> String {
    let _ = timestamp(rng);
    let start = iam_shared::clock::parse("2026-01-01T00:00:00Z").expect("time");
    iam_shared::clock::format(start + time::Duration::seconds((n / 3) as i64 * 61))
}

/// An account item as the service stores it, with varied (often absent) attributes. Ids are
/// UUID-shaped (as every id of ours) and zero-padded, so that id order is the seeding order.
pub fn random_account(rng: &mut Rng, n: usize, organizations: &[String]) -> Item {
    let first = *rng.pick(FIRST);
    let last = *rng.pick(LAST);
    let mut item = json!({
        "id": format!("00000000-0000-7000-8000-{n:012}"),
        "email": format!("{first}.{last}{n}@{}", rng.pick(&["Example.com", "corp.test", "mail.example.org"])),
        "enabled": !rng.chance(15),
        "account_type": rng.pick(&["user", "user", "service"]),
        "auth_type": rng.pick(&["password", "password", "sso"]),
        "language": "en",
        "status": rng.pick(&["active", "active", "pending"]),
        "created_at": created_at(rng, n),
        "updated_at": timestamp(rng),
        "version": 1,
    });
    let optional: [(&str, Value, usize); 8] = [
        ("name", json!(format!("{first} {last}")), 80),
        ("username", json!(format!("{}{n}", first.to_lowercase())), 60),
        ("external_id", json!(format!("EXT-{:04}", rng.below(5000))), 50),
        ("sso_channel", json!(rng.pick(&["google", "okta", "azure"]).to_string()), 30),
        ("organization_id", json!(rng.pick(organizations).clone()), 95),
        ("expires_at", json!(timestamp(rng)), 25),
        ("last_login_at", json!(timestamp(rng)), 60),
        ("picture_url", json!(format!("https://cdn.example.com/{n}.png")), 20),
    ];
    for (name, value, percent) in optional {
        if rng.chance(percent) {
            item[name] = value;
        }
    }
    if item["status"] == "active" {
        item["joined_at"] = json!(timestamp(rng));
    }
    // One in six has a second factor (by number, so the random draws above stay as they were).
    if n % 6 == 1 {
        item["mfa_enabled"] = json!(true);
    }
    item.as_object().cloned().unwrap_or_default()
}

/// Bulk-loads the items (moto copies a whole table for every transaction, so seeding 20,000
/// items through transactions would take quadratic time there).
pub async fn put_all(store: &dyn Store, items: &[Item]) {
    store.put_many(&ACCOUNTS, items.to_vec()).await.expect("seed accounts");
    for update in iam_shared::model::account::counted_in(items) {
        store.update(update).await.expect("count the seeded accounts in");
    }
    let markers = items
        .iter()
        .flat_map(|item| {
            let owner = iam_shared::records::id_of(item);
            iam_shared::model::account::uniques(item).into_iter().map(move |u| u.marker(owner))
        })
        .collect();
    store.put_many(&UNIQUES, markers).await.expect("claim the seeded accounts' unique values");
    let words = ACCOUNTS.words.expect("accounts are searchable");
    let entries = items.iter().flat_map(|item| words.entries(item)).collect();
    store.put_many(words.table, entries).await.expect("index the seeded accounts' words");
}
