//! Acknowledged means durable, and nothing half-done is ever visible: the real server binary
//! takes concurrent account creations and deletions and is killed with SIGKILL at a random
//! moment, six times over, each time restarted on the same data folder. Afterwards every
//! acknowledged (2xx) write is there, the database passes SQLite's `integrity_check`, and the
//! writes a transaction makes together are all there or all absent: every account holds its
//! address's uniqueness marker and every marker's owner exists, a pending account has its
//! invitation link, and the counters equal what they count.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, RandomState};
use std::net::TcpListener;
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Mutex;

mod support;
use support::{ADMIN, request as call};

const KILLS: usize = 6;
const WRITERS: usize = 12;

/// Starts the server and waits for it to answer; then signs the admin in.
async fn start_and_sign_in(data: &Path, addr: &str) -> (Child, String) {
    let child = support::serve_and_wait(data, addr, &[]).await;
    let login = json!({"grant_type": "password", "email": ADMIN.0, "password": ADMIN.1});
    let (status, session) = call(addr, "POST", "/api/v3/iam/auth/token", None, Some(login)).await.expect("login");
    assert_eq!(status, 200, "{session}");
    (child, session["access_token"].as_str().expect("a token").to_string())
}

/// What the server acknowledged: accounts created (id → address) and accounts deleted; and
/// the deletes it was killed during, which may or may not have happened.
#[derive(Default)]
struct Acknowledged {
    created: BTreeMap<String, String>,
    deleted: BTreeSet<String>,
    in_doubt: BTreeSet<String>,
}

/// Creates accounts until the server goes away; every other one it created it deletes again.
async fn write_until_killed(
    addr: String,
    token: String,
    org: String,
    next: Arc<AtomicUsize>,
    acked: Arc<Mutex<Acknowledged>>,
) {
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        let email = format!("user{n}@crash.test");
        let account = json!({"data": {"type": "accounts", "attributes": {"email": email, "organization_id": org}}});
        let Some((status, body)) = call(&addr, "POST", "/api/v3/iam/accounts", Some(&token), Some(account)).await
        else {
            return;
        };
        assert!(status == 201 || status >= 500, "a create answered {status}: {body}");
        if status != 201 {
            continue;
        }
        let id = body["data"]["id"].as_str().expect("an id").to_string();
        acked.lock().await.created.insert(id.clone(), email);
        if n.is_multiple_of(2) {
            let path = format!("/api/v3/iam/accounts/{id}");
            match call(&addr, "DELETE", &path, Some(&token), None).await {
                Some((204, _)) => {
                    acked.lock().await.deleted.insert(id);
                }
                Some((status, body)) => assert!(status >= 500, "a delete answered {status}: {body}"),
                None => {
                    acked.lock().await.in_doubt.insert(id);
                    return;
                }
            }
        }
    }
}

/// Every item of a table, straight from the file.
fn items(db: &rusqlite::Connection, table: &str) -> Vec<Value> {
    let mut query = db.prepare(&format!("SELECT item FROM \"{table}\"")).expect("select");
    let rows = query.query_map([], |r| r.get::<_, String>(0)).expect("rows");
    rows.map(|text| serde_json::from_str(&text.expect("row")).expect("an item is JSON")).collect()
}

fn text<'a>(item: &'a Value, attr: &str) -> &'a str {
    item[attr].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill_and_nothing_half_written_is_visible() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");

    let (mut server, token) = start_and_sign_in(data, &addr).await;
    let org = json!({"data": {"type": "organizations", "attributes": {"name": "Crash"}}});
    let (status, org) = call(&addr, "POST", "/api/v3/iam/organizations", Some(&token), Some(org)).await.unwrap();
    assert_eq!(status, 201, "{org}");
    let org = org["data"]["id"].as_str().unwrap().to_string();

    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let random = RandomState::new();
    for kill in 0..KILLS {
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| {
                let args = (addr.clone(), token.clone(), org.clone(), next.clone(), acked.clone());
                tokio::spawn(write_until_killed(args.0, args.1, args.2, args.3, args.4))
            })
            .collect();
        let after = Duration::from_millis(150 + random.hash_one(kill) % 450);
        tokio::time::sleep(after).await;
        server.kill().expect("SIGKILL");
        server.wait().expect("reaped");
        for writer in writers {
            writer.await.expect("a writer panicked");
        }
        eprintln!("kill {kill}: after {after:?}, {} writes acknowledged so far", acked.lock().await.created.len());
        // The first sign-in's token stays good across restarts: its session was acknowledged.
        let (restarted, _) = start_and_sign_in(data, &addr).await;
        server = restarted;
    }
    let acked = acked.lock().await;
    assert!(acked.created.len() >= 20, "too few writes to prove anything: {}", acked.created.len());
    assert!(!acked.deleted.is_empty(), "no delete was acknowledged");

    // The server answers on the recovered data, then goes away so the file can be read alone.
    let count_path = format!("/api/v3/iam/accounts?filter[organization_id]={org}&count=true&page[size]=1");
    let (status, listed) = call(&addr, "GET", &count_path, Some(&token), None).await.expect("the restarted server");
    assert_eq!(status, 200, "{listed}");
    server.kill().expect("SIGKILL");
    server.wait().expect("reaped");

    let db = rusqlite::Connection::open(data.join("iam.sqlite3")).expect("the database");
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check");
    assert_eq!(integrity, "ok");

    let accounts: BTreeMap<String, Value> =
        items(&db, "accounts").into_iter().map(|a| (text(&a, "id").to_string(), a)).collect();
    for (id, email) in acked.created.iter().filter(|(id, _)| !acked.in_doubt.contains(*id)) {
        let deleted = acked.deleted.contains(id);
        assert_eq!(
            accounts.contains_key(id),
            !deleted,
            "acknowledged {} of {id} ({email}) was lost",
            match deleted {
                true => "delete",
                false => "create",
            }
        );
    }

    let markers: BTreeMap<String, String> =
        items(&db, "uniques").iter().map(|m| (text(m, "id").to_string(), text(m, "owner_id").to_string())).collect();
    for (id, account) in &accounts {
        let marker = format!("accounts.email#{}", text(account, "email").to_lowercase());
        assert_eq!(markers.get(&marker), Some(id), "account {id} without its uniqueness marker");
    }
    for (marker, owner) in markers.iter().filter(|(m, _)| m.starts_with("accounts.")) {
        assert!(accounts.contains_key(owner), "marker {marker} held by a missing account {owner}");
    }

    let tokens = items(&db, "tokens");
    for id in accounts.iter().filter(|(_, a)| text(a, "status") == "pending").map(|(id, _)| id) {
        assert!(tokens.iter().any(|t| text(t, "account_id") == id), "pending account {id} without its invitation link");
    }

    let counters: BTreeMap<String, i64> =
        items(&db, "counters").iter().map(|c| (text(c, "id").to_string(), c["count"].as_i64().unwrap_or(0))).collect();
    let in_org = accounts.values().filter(|a| text(a, "organization_id") == org).count() as i64;
    assert_eq!(counters.get(&format!("organization-accounts#{org}")).copied().unwrap_or(0), in_org);
    assert_eq!(listed["meta"]["count"].as_i64(), Some(in_org), "{listed}");
    let tally: i64 = counters.iter().filter(|(k, _)| k.starts_with("all-accounts#")).map(|(_, n)| n).sum();
    assert_eq!(tally, accounts.len() as i64, "the all-accounts tally is out of step");
}
