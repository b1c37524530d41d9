//! Links between an account and what it belongs to: role assignments and team memberships.
//! Each link is an item of its own table (indexed for listings) and an entry embedded in the
//! account item, written in one transaction. The account therefore knows its grants and teams
//! with one strongly consistent read (the principal of every request), and an account page
//! can be filtered by role or team and include them without a request per account.

use serde_json::{Map, Value};

use crate::counters::{Counter, Dependents};
use crate::error::{Error, Result};
use crate::permissions::{ScopeKind, built_in};
use crate::records::{self, Change, Unique};
use crate::store::schema::{ACCOUNTS, ROLE_ASSIGNMENTS, TEAM_MEMBERSHIPS};
use crate::store::{Item, MAX_TRANSACTION_WRITES, Store, TableDef, Write};

/// One kind of link.
pub struct LinkKind {
    pub table: &'static TableDef,
    /// The account attribute embedding the entries (internal: never rendered or accepted).
    pub list: &'static str,
    /// Most links of this kind per account. Removing both full lists (two writes a link: the
    /// link and its marker) with the account and its markers fits one transaction (100
    /// writes), so that deleting or moving an account is atomic.
    pub max: usize,
    pub noun: &'static str,
    /// The uniqueness marker of the link an entry stands for (one link per pair).
    pub unique: fn(account_id: &str, entry: &Map<String, Value>) -> Unique,
    /// The counter a link (or its entry) counts in, if what it points to can be deleted only
    /// while nothing links to it (`counters`).
    pub counted_in: fn(link: &Map<String, Value>) -> Option<Counter>,
}

fn str_at<'a>(entry: &'a Map<String, Value>, key: &str) -> &'a str {
    entry.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// An account holds a role at a scope once.
pub fn role_unique(account_id: &str, entry: &Map<String, Value>) -> Unique {
    let scope = entry.get("scope_id").and_then(Value::as_str).unwrap_or("global");
    Unique::new("role_assignments", "role_name", &format!("{account_id}|{}|{scope}", str_at(entry, "role_name")))
}

/// An account is in a team once.
pub fn team_unique(account_id: &str, entry: &Map<String, Value>) -> Unique {
    Unique::new("team_memberships", "account_id", &format!("{}|{account_id}", str_at(entry, "team_id")))
}

/// A custom role's holders are counted (built-in roles are never deleted).
fn role_holders(link: &Map<String, Value>) -> Option<Counter> {
    let custom = built_in(str_at(link, "role_name")).is_none();
    custom.then(|| (Dependents::RoleHolders, str_at(link, "role_id").to_string()))
}

pub const ROLES: LinkKind = LinkKind {
    table: &ROLE_ASSIGNMENTS,
    list: "_roles",
    max: 16,
    noun: "role assignments",
    unique: role_unique,
    counted_in: role_holders,
};

pub const TEAMS: LinkKind = LinkKind {
    table: &TEAM_MEMBERSHIPS,
    list: "_teams",
    max: 20,
    noun: "team memberships",
    unique: team_unique,
    counted_in: |_| None,
};

/// A role an account holds, as its entry says: which role, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleEntry {
    /// The role assignment's id.
    pub id: String,
    pub role_id: String,
    pub role_name: String,
    pub scope: Option<ScopeKind>,
    /// The organization or team the role is held at (none for a global role).
    pub scope_id: Option<String>,
}

impl RoleEntry {
    fn parse(entry: &Map<String, Value>) -> RoleEntry {
        RoleEntry {
            id: str_at(entry, "id").to_string(),
            role_id: str_at(entry, "role_id").to_string(),
            role_name: str_at(entry, "role_name").to_string(),
            scope: ScopeKind::parse(str_at(entry, "scope")),
            scope_id: entry.get("scope_id").and_then(Value::as_str).map(str::to_string),
        }
    }

    pub fn is_global(&self) -> bool {
        self.scope == Some(ScopeKind::Global)
    }
}

/// The roles an account holds.
pub fn roles_of(account: &Item) -> Vec<RoleEntry> {
    entries(account, &ROLES).map(RoleEntry::parse).collect()
}

/// The teams an account is in.
pub fn teams_of(account: &Item) -> Vec<String> {
    entries(account, &TEAMS).map(|e| str_at(e, "team_id").to_string()).filter(|t| !t.is_empty()).collect()
}

/// The entries an account embeds for `kind`.
pub fn entries<'a>(account: &'a Item, kind: &LinkKind) -> impl Iterator<Item = &'a Map<String, Value>> {
    account.get(kind.list).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object)
}

fn with_entries(
    account: &Item,
    kind: &LinkKind,
    keep: impl Fn(&Map<String, Value>) -> bool,
    add: Option<Value>,
) -> Item {
    let mut list: Vec<Value> = entries(account, kind).filter(|e| keep(e)).cloned().map(Value::Object).collect();
    list.extend(add);
    let mut account = account.clone();
    account.insert(kind.list.into(), Value::Array(list));
    account
}

fn account_of(link: &Item) -> &str {
    link.get("account_id").and_then(Value::as_str).unwrap_or_default()
}

// Each link: its delete and its marker's release; each role: its holders' counter; then the
// account, its three markers (email, username, external id), the last-root-admin check and
// the counters of the organization it leaves and joins.
const _: () = assert!(2 * (ROLES.max + TEAMS.max) + ROLES.max + 7 <= MAX_TRANSACTION_WRITES);

/// Creates `link` (whose entry is `entry`) for `account` as read, claiming its uniqueness;
/// `extra` writes (checks that what it points to exists) join the transaction. 409 when the
/// pair exists already, the account is at its limit, or it changed meanwhile.
pub async fn create(
    store: &dyn Store,
    kind: &LinkKind,
    account: &Item,
    link: Item,
    entry: Map<String, Value>,
    extra: Vec<Write>,
) -> Result<Item> {
    if entries(account, kind).count() >= kind.max {
        return Err(Error::conflict(
            None,
            "limit_reached",
            format!("an account has at most {} {}; remove one first", kind.max, kind.noun),
        ));
    }
    let account_id = records::id_of(account).to_string();
    let unique = (kind.unique)(&account_id, &entry);
    let updated = with_entries(account, kind, |_| true, Some(Value::Object(entry)));
    let mut writes = vec![records::put_if_unchanged(&ACCOUNTS, account, updated)];
    writes.extend((kind.counted_in)(&link).map(|(counter, id)| counter.change(&id, 1)));
    writes.extend(extra);
    records::insert(store, kind.table, link, &[unique], writes).await
}

/// The writes that remove every link of `kind` the account embeds and that `remove` selects,
/// for a transaction that also rewrites or deletes the account.
pub fn removals(account: &Item, kind: &LinkKind, remove: impl Fn(&Map<String, Value>) -> bool) -> Vec<Write> {
    let account_id = records::id_of(account);
    let removed: Vec<&Map<String, Value>> = entries(account, kind).filter(|e| remove(e)).collect();
    let mut writes: Vec<Write> = removed
        .iter()
        .flat_map(|e| {
            let id = str_at(e, "id").to_string();
            let release = (kind.unique)(account_id, e).release(&id);
            [Write::Delete { table: kind.table, id, condition: None }, release]
        })
        .collect();
    // One change per counter: a transaction may touch each item once (one role held at two
    // scopes is two entries and one counter).
    let mut counted: Vec<Counter> = removed.iter().filter_map(|e| (kind.counted_in)(e)).collect();
    counted.sort_by(|a, b| a.1.cmp(&b.1));
    for group in counted.chunk_by(|a, b| a == b) {
        writes.push(group[0].0.change(&group[0].1, -(group.len() as i64)));
    }
    writes
}

/// The account without the entries `remove` selects (to pair with [`removals`]).
pub fn without(account: &Item, kind: &LinkKind, remove: impl Fn(&Map<String, Value>) -> bool) -> Item {
    with_entries(account, kind, |e| !remove(e), None)
}

/// Deletes `link` and its entry in its account. The account may change meanwhile (another
/// link, an edit): then it is read again, a few times, before giving up with a 409.
pub async fn delete(store: &dyn Store, kind: &LinkKind, link: &Item, extra: Vec<Write>) -> Result<()> {
    let link_id = records::id_of(link).to_string();
    for _ in 0..4 {
        let Some(account) = store.get(&ACCOUNTS, account_of(link)).await? else {
            return Err(Error::NotFound);
        };
        let mine = |e: &Map<String, Value>| str_at(e, "id") == link_id;
        let entry = entries(&account, kind).find(|e| mine(e)).cloned();
        let releases: Vec<Unique> = entry.iter().map(|e| (kind.unique)(account_of(link), e)).collect();
        let change = Change::remove(kind.table, link, &releases)
            .with([records::put_if_unchanged(&ACCOUNTS, &account, without(&account, kind, mine))])
            .with((kind.counted_in)(link).map(|(counter, id)| counter.change(&id, -1)))
            .with(extra.iter().cloned());
        match change.commit(store).await {
            Ok(_) => return Ok(()),
            // The link or its account changed meanwhile: gone, or read again and retried.
            Err(Error::Conflict(p)) if p.code != records::TOO_MANY_DEPENDENTS => {
                if store.get(kind.table, &link_id).await?.is_none() {
                    return Err(Error::NotFound);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::conflict(None, "concurrent_modification", "the account changed while the request was processed; retry"))
}
