//! The tables and their secondary indexes: the single definition both adapters create and
//! `infra/template.yaml` declares (a test holds the two equal).

use serde_json::Value;

use super::{Item, sort_key};

/// The partition key of a secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionKey {
    /// An attribute of the item; items without it are not in the index (a sparse index).
    Attr(&'static str),
    /// The whole table, so that it can be read in sort key order. `attr` is written on every
    /// item: `value`, or with `shards` > 1 `value#k` for the shard `k` its id falls in. One
    /// partition takes about 1,000 writes a second in DynamoDB, so the tables written most
    /// (accounts in a bulk load, sessions at every login) spread over shards, and a read merges
    /// the shards in order (`store::read`).
    Constant { attr: &'static str, value: &'static str, shards: u32 },
    /// An attribute whose value its writer spreads over `shards` partitions, `value#k`: a query
    /// of `value` reads (and merges in order) each `value#k`. For partitions written at bulk
    /// load rates, such as the entries of one word bucket (`store::words`).
    ShardedAttr { attr: &'static str, shards: u32 },
}

impl PartitionKey {
    /// The whole table as one partition.
    pub const fn whole(value: &'static str) -> PartitionKey {
        PartitionKey::Constant { attr: ALL, value, shards: 1 }
    }

    /// The whole table over [`WRITE_SHARDS`] partitions.
    pub const fn sharded(value: &'static str) -> PartitionKey {
        PartitionKey::Constant { attr: ALL, value, shards: WRITE_SHARDS }
    }

    /// The partitions that hold the whole table (`value`, or each `value#k`).
    pub fn shards(&self) -> Vec<String> {
        match *self {
            PartitionKey::Constant { value, shards, .. } => sharded(value, shards),
            PartitionKey::Attr(_) | PartitionKey::ShardedAttr { .. } => vec![],
        }
    }
}

/// `value` itself, or each `value#k` of `shards` > 1.
pub fn sharded(value: &str, shards: u32) -> Vec<String> {
    if shards > 1 { (0..shards).map(|k| format!("{value}#{k}")).collect() } else { vec![value.to_string()] }
}

/// Shards of the whole-table indexes of the tables written most.
pub const WRITE_SHARDS: u32 = 8;

/// The shard of `shards` an id falls in (FNV-1a: stable, and spread by the id's random bits).
pub fn shard_of(id: &str, shards: u32) -> u32 {
    let hash = id.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    hash % shards.max(1)
}

/// A global secondary index. Every key attribute is a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDef {
    pub name: &'static str,
    pub pk: PartitionKey,
    /// The sort key attribute; items sharing it are ordered by `id` in the embedded store.
    pub sk: Option<&'static str>,
    /// The index projects only keys (DynamoDB's `KEYS_ONLY`): a maintenance index that finds
    /// ids (what cleanup deletes), never one a listing reads items from.
    pub keys_only: bool,
}

impl IndexDef {
    pub fn pk_attr(&self) -> &'static str {
        match self.pk {
            PartitionKey::Attr(a)
            | PartitionKey::Constant { attr: a, .. }
            | PartitionKey::ShardedAttr { attr: a, .. } => a,
        }
    }

    /// The index's partition key value for an item (None: the item is not in the index).
    pub fn pk_of(&self, item: &Item) -> Option<String> {
        match self.pk {
            PartitionKey::Attr(a) | PartitionKey::ShardedAttr { attr: a, .. } => key_string(item.get(a)),
            PartitionKey::Constant { value, shards: 1, .. } => Some(value.to_string()),
            PartitionKey::Constant { value, shards, .. } => {
                let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
                Some(format!("{value}#{}", shard_of(id, shards)))
            }
        }
    }

    /// The partition a whole-table index is queried by (`store::read` spreads it over the
    /// shards); `None` for an index partitioned by an attribute.
    pub fn whole_table(&self) -> Option<&'static str> {
        match self.pk {
            PartitionKey::Constant { value, .. } => Some(value),
            PartitionKey::Attr(_) | PartitionKey::ShardedAttr { .. } => None,
        }
    }

    /// The partitions a query of `pk` reads: the shards of a sharded whole table or attribute
    /// value, else `pk` itself.
    pub fn partitions(&self, pk: &str) -> Vec<String> {
        match self.pk {
            PartitionKey::Constant { value, shards, .. } if value == pk => sharded(value, shards),
            PartitionKey::ShardedAttr { shards, .. } => sharded(pk, shards),
            _ => vec![pk.to_string()],
        }
    }

    /// Is `stored` the partition key value `pk` stands for (itself, or one of its shards)?
    pub fn holds_partition(&self, pk: &str, stored: &str) -> bool {
        self.partitions(pk).iter().any(|s| s == stored)
    }

    pub fn sk_of(&self, item: &Item) -> Option<String> {
        self.sk.and_then(|a| key_string(item.get(a)))
    }
}

fn key_string(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// A table: the primary key is always the string attribute `id`.
#[derive(Debug, PartialEq, Eq)]
pub struct TableDef {
    pub name: &'static str,
    pub indexes: &'static [IndexDef],
    /// `(source, key)`: the store writes `key` = lower-cased `source` on every put, so that an
    /// index on `key` serves case-insensitive equality, prefixes and order (emails, usernames).
    pub folded: &'static [(&'static str, &'static str)],
    /// The attribute (epoch seconds) after which DynamoDB's TTL may delete an item. Deletion
    /// happens some time later, so every read checks expiry itself as well.
    pub ttl: Option<&'static str>,
    /// Sort keys of their own (see `sort_key`) the store writes on every put, for the indexes
    /// that list the table in a field's order.
    pub sorted: &'static [Sorted],
    /// The word index that finds items by the words of their text (`query=`), if any.
    pub words: Option<&'static WordIndex>,
}

/// A sort key attribute (`attr`) written from a field (`source`), in one of the [`SortedForm`]s.
#[derive(Debug, PartialEq, Eq)]
pub struct Sorted {
    pub attr: &'static str,
    pub source: &'static str,
    pub form: SortedForm,
}

/// How a sort key of its own reads its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortedForm {
    /// The text as stored.
    Text,
    /// The text lower-cased (case-insensitive order and prefixes).
    Folded,
    /// A flag, `true` or `false`, absent read as `false`: what the field derives when the
    /// item lacks it (`mfa_enabled` before a second factor was ever enrolled), so that an
    /// equality on the flag finds every item, however old.
    Flag,
}

impl Sorted {
    pub const fn new(attr: &'static str, source: &'static str) -> Sorted {
        Sorted { attr, source, form: SortedForm::Text }
    }

    pub const fn folded(attr: &'static str, source: &'static str) -> Sorted {
        Sorted { attr, source, form: SortedForm::Folded }
    }

    pub const fn flag(attr: &'static str, source: &'static str) -> Sorted {
        Sorted { attr, source, form: SortedForm::Flag }
    }

    /// The key for `item`.
    pub fn key_of(&self, item: &Item) -> String {
        let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
        let value = item.get(self.source);
        match self.form {
            SortedForm::Text => sort_key::of(value.and_then(Value::as_str), id),
            SortedForm::Folded => sort_key::of(value.and_then(Value::as_str).map(str::to_lowercase).as_deref(), id),
            SortedForm::Flag => {
                let on = value.and_then(Value::as_bool).unwrap_or(false);
                sort_key::of(Some(if on { "true" } else { "false" }), id)
            }
        }
    }
}

impl TableDef {
    pub fn index(&self, name: &str) -> Option<&'static IndexDef> {
        self.indexes.iter().find(|i| i.name == name)
    }

    /// The sort key definition behind attribute `attr`, if it is one.
    pub fn sorted_by(&self, attr: &str) -> Option<&'static Sorted> {
        self.sorted.iter().find(|s| s.attr == attr)
    }

    /// Writes the attributes the table's indexes need onto an item: the constant partitions
    /// and the lower-cased keys (removed when their source is absent, so that no index key is
    /// ever null or empty, which DynamoDB refuses).
    pub fn prepare(&self, item: &mut Item) {
        for index in self.indexes {
            if let (PartitionKey::Constant { attr, .. }, Some(pk)) = (index.pk, index.pk_of(item)) {
                item.insert(attr.into(), Value::String(pk));
            }
        }
        for (source, key) in self.folded {
            match key_string(item.get(*source)) {
                Some(v) => item.insert((*key).into(), Value::String(v.to_lowercase())),
                None => item.remove(*key),
            };
        }
        for sorted in self.sorted {
            let key = sorted.key_of(item);
            item.insert(sorted.attr.into(), Value::String(key));
        }
    }
}

/// Attribute under which whole-table indexes partition (internal: never exposed by the API).
pub const ALL: &str = "_all";

/// Each resource lists in id order through this index when nothing better serves the query.
const fn by_id(pk: PartitionKey) -> IndexDef {
    IndexDef { name: "by_id", pk, sk: Some("id"), keys_only: false }
}

pub const ORGANIZATIONS_BY_NAME: IndexDef =
    IndexDef { name: "by_name", pk: PartitionKey::whole("organizations"), sk: Some("name"), keys_only: false };

pub const ORGANIZATIONS: TableDef = TableDef {
    name: "organizations",
    indexes: &[by_id(PartitionKey::whole("organizations")), ORGANIZATIONS_BY_NAME],
    folded: &[],
    ttl: None,
    sorted: &[],
    words: Some(&WordIndex {
        table: &ORGANIZATION_WORDS,
        sources: &["name"],
        scope: None,
        orders: &[Sorted::new("_i_name", "name")],
    }),
};

// The word indexes' shape: declared here with the tables, their behaviour in `store::words`.

/// How a table's items are found by their words.
#[derive(Debug, PartialEq, Eq)]
pub struct WordIndex {
    /// The table of entries; its `by_word` index reads the whole table's entries, and its
    /// `organization_by_word` index (when `scope` is set) one organization's.
    pub table: &'static TableDef,
    /// The item's attributes whose words are indexed, most telling first (the cap keeps these).
    pub sources: &'static [&'static str],
    /// The item's attribute copied onto each entry, partitioning the scoped index.
    pub scope: Option<&'static str>,
    /// The orders a bucket is also listed in besides creation order: each entry carries the
    /// item's sort key for each (`attr`, see `store::sort_key`) followed by its word. Only
    /// searched text columns qualify, so that an entry changes exactly when its item's words do.
    pub orders: &'static [Sorted],
}

/// Most words indexed per item: with the item, its uniqueness claims and what moves with it,
/// deleting the old entries and writing the new ones stays within a transaction's 100 writes.
pub const MAX_WORDS: usize = 24;
/// Longest word kept, in bytes (longer ones are cut, terms alike).
pub const MAX_WORD_BYTES: usize = 64;
/// The entry's sort key: the word, then the item's id (`\u{1}` sorts below any letter or digit,
/// so `ann` and its item ids come before `anna`).
pub const WORD_KEY: &str = "_w";
/// The entry's list of every indexed word of its item: a query's other terms are checked on
/// the entry before the item is read.
pub const WORDS: &str = "words";
/// The id of the entry's item.
pub const ITEM_ID: &str = "item_id";
/// The entry's bucket partition (`<bucket>#<shard>`), and within an organization
/// (`<organization>#<bucket>#<shard>`).
pub const BUCKET: &str = "_b";
pub const SCOPED_BUCKET: &str = "_ob";
/// The entry's key in a bucket: the item's id, then the word (an item's entries are adjacent).
pub const ITEM_KEY: &str = "_i";
/// Shards of a bucket: every account has a word in the buckets of its email's domain.
pub const BUCKET_SHARDS: u32 = 8;
/// Names of the word index tables' indexes.
pub const BY_WORD: &str = "by_word";
pub const ORGANIZATION_BY_WORD: &str = "organization_by_word";
pub const BY_BUCKET: &str = "by_bucket";
pub const ORGANIZATION_BY_BUCKET: &str = "organization_by_bucket";

/// An index of word entries (`store::words`) by word, over the partition `pk`.
const fn by_word(name: &'static str, pk: PartitionKey) -> IndexDef {
    IndexDef { name, pk, sk: Some(WORD_KEY), keys_only: false }
}

/// An index of word entries in item order (`sk`: creation, or a column's), over the bucket
/// partitions in `attr`.
const fn by_bucket(name: &'static str, attr: &'static str, sk: &'static str) -> IndexDef {
    let pk = PartitionKey::ShardedAttr { attr, shards: BUCKET_SHARDS };
    IndexDef { name, pk, sk: Some(sk), keys_only: false }
}

/// A table of word entries with these indexes.
const fn word_entries(name: &'static str, indexes: &'static [IndexDef]) -> TableDef {
    TableDef { name, indexes, folded: &[], ttl: None, sorted: &[], words: None }
}

pub const ORGANIZATION_WORDS: TableDef = word_entries(
    "organization_words",
    &[
        by_word(BY_WORD, PartitionKey::whole("organization_words")),
        by_bucket(BY_BUCKET, BUCKET, ITEM_KEY),
        by_bucket("by_bucket_name", BUCKET, "_i_name"),
    ],
);

/// Written with every account created or renamed, so spread over write shards like accounts.
pub const ACCOUNT_WORDS: TableDef = word_entries(
    "account_words",
    &[
        by_word(BY_WORD, PartitionKey::sharded("account_words")),
        by_word(ORGANIZATION_BY_WORD, BY_ORGANIZATION),
        by_bucket(BY_BUCKET, BUCKET, ITEM_KEY),
        by_bucket(ORGANIZATION_BY_BUCKET, SCOPED_BUCKET, ITEM_KEY),
        by_bucket("by_bucket_name", BUCKET, "_i_name"),
        by_bucket("organization_by_bucket_name", SCOPED_BUCKET, "_i_name"),
        by_bucket("by_bucket_username", BUCKET, "_i_username"),
        by_bucket("organization_by_bucket_username", SCOPED_BUCKET, "_i_username"),
        by_bucket("by_bucket_email", BUCKET, "_i_email"),
        by_bucket("organization_by_bucket_email", SCOPED_BUCKET, "_i_email"),
    ],
);

pub const TEAM_WORDS: TableDef = word_entries(
    "team_words",
    &[
        by_word(BY_WORD, PartitionKey::whole("team_words")),
        by_word(ORGANIZATION_BY_WORD, BY_ORGANIZATION),
        by_bucket(BY_BUCKET, BUCKET, ITEM_KEY),
        by_bucket(ORGANIZATION_BY_BUCKET, SCOPED_BUCKET, ITEM_KEY),
        by_bucket("by_bucket_name", BUCKET, "_i_name"),
        by_bucket("organization_by_bucket_name", SCOPED_BUCKET, "_i_name"),
    ],
);

/// A whole-table index of accounts on `sk` (sparse when `sk` is optional).
const fn accounts_by(name: &'static str, sk: &'static str) -> IndexDef {
    IndexDef { name, pk: PartitionKey::sharded("accounts"), sk: Some(sk), keys_only: false }
}

pub const ACCOUNTS_BY_EMAIL: IndexDef = accounts_by("by_email", "email_lc");
pub const ACCOUNTS_BY_EXTERNAL_ID: IndexDef = accounts_by("by_external_id", "external_id");

pub const ACCOUNTS_BY_ORGANIZATION: IndexDef =
    IndexDef { name: "by_organization", pk: PartitionKey::Attr("organization_id"), sk: Some("id"), keys_only: false };

/// One organization's accounts in email order (what an admin console lists most).
pub const ACCOUNTS_BY_ORGANIZATION_EMAIL: IndexDef = IndexDef {
    name: "by_organization_email",
    pk: PartitionKey::Attr("organization_id"),
    sk: Some("email_lc"),
    keys_only: false,
};

/// The accounts correlated with a person, in id order (sparse: uncorrelated ones have none).
pub const ACCOUNTS_BY_PERSON: IndexDef =
    IndexDef { name: "by_person", pk: PartitionKey::Attr("person_id"), sk: Some("id"), keys_only: false };

/// Pending accounts by the end of their invitation (sparse: `_invitation_due` exists only
/// while an invitation is outstanding), so that cleanup finds the lapsed ones without a scan.
pub const ACCOUNTS_BY_INVITATION_DUE: IndexDef = IndexDef {
    name: "by_invitation_due",
    pk: PartitionKey::sharded("accounts"),
    sk: Some(INVITATION_DUE),
    keys_only: true,
};

/// Internal attribute: the invitation's end while the account is pending.
pub const INVITATION_DUE: &str = "_invitation_due";

/// A listing order of a table, by a sort key of its own (`sort_key`), over the partition `pk`.
/// It projects keys only: an item's index entry is rewritten only when that key changes, not
/// on every write of the item, and a page reads its items by id (one batch, strongly
/// consistent) after the keys.
const fn sorted(name: &'static str, pk: PartitionKey, sk: &'static str) -> IndexDef {
    IndexDef { name, pk, sk: Some(sk), keys_only: true }
}

const EVERY_ACCOUNT: PartitionKey = PartitionKey::sharded("accounts");
const BY_ORGANIZATION: PartitionKey = PartitionKey::Attr("organization_id");

pub const ACCOUNTS: TableDef = TableDef {
    name: "accounts",
    indexes: &[
        by_id(PartitionKey::sharded("accounts")),
        ACCOUNTS_BY_EMAIL,
        ACCOUNTS_BY_EXTERNAL_ID,
        ACCOUNTS_BY_ORGANIZATION,
        ACCOUNTS_BY_ORGANIZATION_EMAIL,
        ACCOUNTS_BY_INVITATION_DUE,
        // Every other sortable column in both scopes a console lists (`created_at` is the
        // id's order; `status` is derived at read time and sorted in memory).
        sorted("sort_name", EVERY_ACCOUNT, "_s_name"),
        sorted("sort_username", EVERY_ACCOUNT, "_s_username"),
        sorted("sort_updated_at", EVERY_ACCOUNT, "_s_updated_at"),
        sorted("sort_last_login_at", EVERY_ACCOUNT, "_s_last_login_at"),
        sorted("sort_joined_at", EVERY_ACCOUNT, "_s_joined_at"),
        sorted("sort_expires_at", EVERY_ACCOUNT, "_s_expires_at"),
        sorted("organization_sort_name", BY_ORGANIZATION, "_s_name"),
        sorted("organization_sort_username", BY_ORGANIZATION, "_s_username"),
        sorted("organization_sort_updated_at", BY_ORGANIZATION, "_s_updated_at"),
        sorted("organization_sort_last_login_at", BY_ORGANIZATION, "_s_last_login_at"),
        sorted("organization_sort_joined_at", BY_ORGANIZATION, "_s_joined_at"),
        sorted("organization_sort_expires_at", BY_ORGANIZATION, "_s_expires_at"),
        // "Accounts of this organization without a second factor": an equality on the flag,
        // each value in id order. One organization's only: DynamoDB allows a table 20
        // indexes, and an admin console asks this of one organization.
        sorted("organization_sort_mfa_enabled", BY_ORGANIZATION, "_s_mfa_enabled"),
        // The accounts of a person (`filter[person_id]`, a person's `accounts`): the last of
        // DynamoDB's 20.
        ACCOUNTS_BY_PERSON,
    ],
    folded: &[("email", "email_lc"), ("username", "username_lc")],
    ttl: None,
    sorted: &[
        Sorted::new("_s_name", "name"),
        Sorted::folded("_s_username", "username"),
        Sorted::new("_s_updated_at", "updated_at"),
        Sorted::new("_s_last_login_at", "last_login_at"),
        Sorted::new("_s_joined_at", "joined_at"),
        Sorted::new("_s_expires_at", "expires_at"),
        Sorted::flag("_s_mfa_enabled", "mfa_enabled"),
    ],
    words: Some(&WordIndex {
        table: &ACCOUNT_WORDS,
        sources: &["name", "username", "email"],
        scope: Some("organization_id"),
        orders: &[
            Sorted::new("_i_name", "name"),
            Sorted::folded("_i_username", "username"),
            Sorted::folded("_i_email", "email"),
        ],
    }),
};

pub const SESSIONS_BY_ACCOUNT: IndexDef =
    IndexDef { name: "by_account", pk: PartitionKey::Attr("account_id"), sk: Some("id"), keys_only: false };

pub const SESSIONS_BY_ORGANIZATION: IndexDef =
    IndexDef { name: "by_organization", pk: PartitionKey::Attr("organization_id"), sk: Some("id"), keys_only: false };

/// Items of a table in expiry order: what cleanup reads to find the expired ones.
const fn by_expiry(pk: PartitionKey) -> IndexDef {
    IndexDef { name: "by_expiry", pk, sk: Some("expires_at"), keys_only: true }
}

pub const SESSIONS_BY_EXPIRY: IndexDef = by_expiry(PartitionKey::sharded("sessions"));

pub const SESSIONS: TableDef = TableDef {
    name: "sessions",
    indexes: &[
        by_id(PartitionKey::sharded("sessions")),
        SESSIONS_BY_ACCOUNT,
        SESSIONS_BY_ORGANIZATION,
        SESSIONS_BY_EXPIRY,
        // Most recently used first: of all, of one organization, of one account.
        sorted("sort_last_used_at", PartitionKey::sharded("sessions"), "_s_last_used_at"),
        sorted("account_sort_last_used_at", PartitionKey::Attr("account_id"), "_s_last_used_at"),
        sorted("organization_sort_last_used_at", PartitionKey::Attr("organization_id"), "_s_last_used_at"),
    ],
    folded: &[],
    ttl: Some(TTL),
    sorted: &[Sorted::new("_s_last_used_at", "last_used_at")],
    words: None,
};

/// The attribute DynamoDB's TTL reads (epoch seconds).
pub const TTL: &str = "ttl";

pub const TOKENS_BY_ACCOUNT: IndexDef =
    IndexDef { name: "by_account", pk: PartitionKey::Attr("account_id"), sk: Some("id"), keys_only: false };

pub const TOKENS_BY_EXPIRY: IndexDef = by_expiry(PartitionKey::sharded("tokens"));

/// Single-use tokens (invitations, password resets), keyed by the hash of the token: the
/// token itself is never stored, and finding it is one strongly consistent read.
pub const TOKENS: TableDef = TableDef {
    name: "tokens",
    indexes: &[TOKENS_BY_ACCOUNT, TOKENS_BY_EXPIRY],
    folded: &[],
    ttl: Some(TTL),
    sorted: &[],
    words: None,
};

pub const FACTORS_BY_ACCOUNT: IndexDef =
    IndexDef { name: "by_account", pk: PartitionKey::Attr("account_id"), sk: Some("id"), keys_only: true };

/// Second factors (`usecase::mfa`): an account's TOTP factor (id `totp#<account id>`: its
/// secret sealed under the MFA key, whether it is confirmed, the last step accepted) and one
/// item per unused recovery code (id: the SHA-256 of the account id and the code). Kept apart
/// from the accounts so that no listing, include or render ever reads a secret of them.
pub const FACTORS: TableDef =
    TableDef { name: "factors", indexes: &[FACTORS_BY_ACCOUNT], folded: &[], ttl: None, sorted: &[], words: None };

pub const THROTTLES_BY_EXPIRY: IndexDef = by_expiry(PartitionKey::sharded("throttles"));

/// Counters of recent events per key (failed logins per account and per address, reset
/// requests), each living for one window.
pub const THROTTLES: TableDef = TableDef {
    name: "throttles",
    indexes: &[THROTTLES_BY_EXPIRY],
    folded: &[],
    ttl: Some(TTL),
    sorted: &[],
    words: None,
};

/// The outbox's letters in the order they were written (ids are UUIDv7): what a sweep reads
/// to find the ones no stream delivery took care of. Keys only: a sweep re-reads each letter.
pub const OUTBOX_BY_ID: IndexDef =
    IndexDef { name: "by_id", pk: PartitionKey::whole("outbox"), sk: Some("id"), keys_only: true };

/// Emails to send (`mail::outbox`), each written in the same transaction as the token or
/// account it belongs to, and deleted once sent. Its stream (keys only) wakes the mailer.
pub const OUTBOX: TableDef =
    TableDef { name: "outbox", indexes: &[OUTBOX_BY_ID], folded: &[], ttl: Some(TTL), sorted: &[], words: None };

pub const ROLES_BY_NAME: IndexDef =
    IndexDef { name: "by_name", pk: PartitionKey::whole("roles"), sk: Some("name"), keys_only: false };

pub const ROLES: TableDef = TableDef {
    name: "roles",
    indexes: &[by_id(PartitionKey::whole("roles")), ROLES_BY_NAME],
    folded: &[],
    ttl: None,
    sorted: &[],
    words: None,
};

pub const ROLE_ASSIGNMENTS_BY_ACCOUNT: IndexDef =
    IndexDef { name: "by_account", pk: PartitionKey::Attr("account_id"), sk: Some("id"), keys_only: false };

/// The holders of a role in account order: serves `/accounts?filter[role_name]=X` page by page.
pub const ROLE_ASSIGNMENTS_BY_ROLE: IndexDef =
    IndexDef { name: "by_role", pk: PartitionKey::Attr("role_name"), sk: Some("account_id"), keys_only: false };

/// The holders of a role in creation order (the listing of a role's assignments; `by_role`
/// serves the accounts filter, in account order).
pub const ROLE_ASSIGNMENTS_BY_ROLE_CREATED: IndexDef =
    IndexDef { name: "by_role_created", pk: PartitionKey::Attr("role_name"), sk: Some("id"), keys_only: false };

/// The assignments at one organization or team (sparse: global assignments have no scope id).
pub const ROLE_ASSIGNMENTS_BY_SCOPE: IndexDef =
    IndexDef { name: "by_scope", pk: PartitionKey::Attr("scope_id"), sk: Some("account_id"), keys_only: false };

/// The assignments of one organization's accounts (what an organization's admin lists).
pub const ROLE_ASSIGNMENTS_BY_ORGANIZATION: IndexDef =
    IndexDef { name: "by_organization", pk: PartitionKey::Attr("organization_id"), sk: Some("id"), keys_only: false };

pub const ROLE_ASSIGNMENTS: TableDef = TableDef {
    name: "role_assignments",
    indexes: &[
        by_id(PartitionKey::sharded("role_assignments")),
        ROLE_ASSIGNMENTS_BY_ACCOUNT,
        ROLE_ASSIGNMENTS_BY_ROLE,
        ROLE_ASSIGNMENTS_BY_ROLE_CREATED,
        ROLE_ASSIGNMENTS_BY_SCOPE,
        ROLE_ASSIGNMENTS_BY_ORGANIZATION,
    ],
    folded: &[],
    ttl: None,
    sorted: &[],
    words: None,
};

pub const TEAMS_BY_ORGANIZATION: IndexDef =
    IndexDef { name: "by_organization", pk: PartitionKey::Attr("organization_id"), sk: Some("id"), keys_only: false };

pub const TEAMS: TableDef = TableDef {
    name: "teams",
    indexes: &[by_id(PartitionKey::whole("teams")), TEAMS_BY_ORGANIZATION],
    folded: &[],
    ttl: None,
    sorted: &[],
    words: Some(&WordIndex {
        table: &TEAM_WORDS,
        sources: &["name"],
        scope: Some("organization_id"),
        orders: &[Sorted::new("_i_name", "name")],
    }),
};

pub const PEOPLE_BY_ORGANIZATION: IndexDef =
    IndexDef { name: "by_organization", pk: PartitionKey::Attr("organization_id"), sk: Some("id"), keys_only: false };

/// People by external id (sparse: an HR number is optional), for prefixes and ranges; an
/// equality reads the uniqueness marker.
pub const PEOPLE_BY_EXTERNAL_ID: IndexDef =
    IndexDef { name: "by_external_id", pk: PartitionKey::whole("people"), sk: Some("external_id"), keys_only: false };

/// The people behind accounts (`model::person`), listed by name in both scopes: what the
/// relationship filters on accounts (`person.name`) read first.
pub const PEOPLE: TableDef = TableDef {
    name: "people",
    indexes: &[
        by_id(PartitionKey::whole("people")),
        PEOPLE_BY_ORGANIZATION,
        PEOPLE_BY_EXTERNAL_ID,
        sorted("sort_name", PartitionKey::whole("people"), "_s_name"),
        sorted("organization_sort_name", BY_ORGANIZATION, "_s_name"),
    ],
    folded: &[],
    ttl: None,
    sorted: &[Sorted::new("_s_name", "name")],
    words: Some(&WordIndex {
        table: &PERSON_WORDS,
        sources: &["name"],
        scope: Some("organization_id"),
        orders: &[Sorted::new("_i_name", "name")],
    }),
};

pub const PERSON_WORDS: TableDef = word_entries(
    "person_words",
    &[
        by_word(BY_WORD, PartitionKey::whole("person_words")),
        by_word(ORGANIZATION_BY_WORD, BY_ORGANIZATION),
        by_bucket(BY_BUCKET, BUCKET, ITEM_KEY),
        by_bucket(ORGANIZATION_BY_BUCKET, SCOPED_BUCKET, ITEM_KEY),
        by_bucket("by_bucket_name", BUCKET, "_i_name"),
        by_bucket("organization_by_bucket_name", SCOPED_BUCKET, "_i_name"),
    ],
);

/// A team's members in account order: serves `/accounts?filter[team_id]=T` page by page.
pub const TEAM_MEMBERSHIPS_BY_TEAM: IndexDef =
    IndexDef { name: "by_team", pk: PartitionKey::Attr("team_id"), sk: Some("account_id"), keys_only: false };

/// A team's members in creation order (the listing of a team's memberships).
pub const TEAM_MEMBERSHIPS_BY_TEAM_CREATED: IndexDef =
    IndexDef { name: "by_team_created", pk: PartitionKey::Attr("team_id"), sk: Some("id"), keys_only: false };

pub const TEAM_MEMBERSHIPS_BY_ACCOUNT: IndexDef =
    IndexDef { name: "by_account", pk: PartitionKey::Attr("account_id"), sk: Some("id"), keys_only: false };

pub const TEAM_MEMBERSHIPS: TableDef = TableDef {
    name: "team_memberships",
    indexes: &[TEAM_MEMBERSHIPS_BY_TEAM, TEAM_MEMBERSHIPS_BY_TEAM_CREATED, TEAM_MEMBERSHIPS_BY_ACCOUNT],
    folded: &[],
    ttl: None,
    sorted: &[],
    words: None,
};

/// Uniqueness markers (`organizations.name#acme` → owner id), written in the same transaction
/// as the item they guard, so that uniqueness never depends on a read-then-write.
pub const UNIQUES: TableDef =
    TableDef { name: "uniques", indexes: &[], folded: &[], ttl: None, sorted: &[], words: None };

/// Counts of dependents (`counters`): an organization's accounts and teams, a role's holders.
pub const COUNTERS: TableDef =
    TableDef { name: "counters", indexes: &[], folded: &[], ttl: None, sorted: &[], words: None };

pub const TABLES: &[&TableDef] = &[
    &ORGANIZATIONS,
    &ACCOUNTS,
    &SESSIONS,
    &ROLES,
    &ROLE_ASSIGNMENTS,
    &TEAMS,
    &TEAM_MEMBERSHIPS,
    &PEOPLE,
    &UNIQUES,
    &TOKENS,
    &FACTORS,
    &THROTTLES,
    &OUTBOX,
    &COUNTERS,
    &ORGANIZATION_WORDS,
    &ACCOUNT_WORDS,
    &TEAM_WORDS,
    &PERSON_WORDS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_fits_dynamodbs_quota_of_20_indexes() {
        for table in TABLES {
            assert!(table.indexes.len() <= 20, "{} has {} indexes", table.name, table.indexes.len());
        }
        assert_eq!(ACCOUNTS.indexes.len(), 20, "accounts: none left (README, Listing at scale)");
    }

    #[test]
    fn the_whole_table_indexes_of_a_table_share_one_partition_layout() {
        // They share the `_all` attribute, which holds one value per item.
        for table in TABLES {
            let mut constants = table.indexes.iter().filter(|i| matches!(i.pk, PartitionKey::Constant { .. }));
            if let Some(first) = constants.next() {
                assert!(constants.all(|i| i.pk == first.pk), "{}", table.name);
            }
        }
    }

    #[test]
    fn sharded_items_spread_over_every_shard() {
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..200 {
            let item: Item =
                serde_json::from_value(serde_json::json!({"id": format!("00000000-0000-7000-8000-{n:012}")}))
                    .expect("item");
            let pk = ACCOUNTS.indexes[0].pk_of(&item).expect("in the whole-table index");
            assert!(ACCOUNTS.indexes[0].holds_partition("accounts", &pk), "{pk}");
            seen.insert(pk);
        }
        assert_eq!(seen.len(), WRITE_SHARDS as usize);
    }
}
