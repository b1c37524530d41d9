//! The tables and their secondary indexes: the single definition both adapters create and
//! `infra/template.yaml` declares (a test holds the two equal).

use serde_json::Value;

use super::Item;

/// The partition key of a secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionKey {
    /// An attribute of the item; items without it are not in the index (a sparse index).
    Attr(&'static str),
    /// One partition holding every item, so that the whole table can be read in sort key
    /// order. `attr` is written on every item with the value `value`.
    Constant { attr: &'static str, value: &'static str },
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
            PartitionKey::Attr(a) | PartitionKey::Constant { attr: a, .. } => a,
        }
    }

    /// The index's partition key value for an item (None: the item is not in the index).
    pub fn pk_of(&self, item: &Item) -> Option<String> {
        match self.pk {
            PartitionKey::Attr(a) => key_string(item.get(a)),
            PartitionKey::Constant { value, .. } => Some(value.to_string()),
        }
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
}

impl TableDef {
    pub fn index(&self, name: &str) -> Option<&'static IndexDef> {
        self.indexes.iter().find(|i| i.name == name)
    }

    /// Writes the attributes the table's indexes need onto an item: the constant partitions
    /// and the lower-cased keys (removed when their source is absent, so that no index key is
    /// ever null or empty, which DynamoDB refuses).
    pub fn prepare(&self, item: &mut Item) {
        for index in self.indexes {
            if let PartitionKey::Constant { attr, value } = index.pk {
                item.insert(attr.into(), Value::String(value.into()));
            }
        }
        for (source, key) in self.folded {
            match key_string(item.get(*source)) {
                Some(v) => item.insert((*key).into(), Value::String(v.to_lowercase())),
                None => item.remove(*key),
            };
        }
    }
}

/// Attribute under which whole-table indexes partition (internal: never exposed by the API).
pub const ALL: &str = "_all";

/// Each resource lists in id order through this index when nothing better serves the query.
const fn by_id(value: &'static str) -> IndexDef {
    IndexDef { name: "by_id", pk: PartitionKey::Constant { attr: ALL, value }, sk: Some("id"), keys_only: false }
}

pub const ORGANIZATIONS_BY_NAME: IndexDef = IndexDef {
    name: "by_name",
    pk: PartitionKey::Constant { attr: ALL, value: "organizations" },
    sk: Some("name"),
    keys_only: false,
};

pub const ORGANIZATIONS: TableDef = TableDef {
    name: "organizations",
    indexes: &[by_id("organizations"), ORGANIZATIONS_BY_NAME],
    folded: &[],
    ttl: None,
};

/// A whole-table index of accounts on `sk` (sparse when `sk` is optional).
const fn accounts_by(name: &'static str, sk: &'static str) -> IndexDef {
    IndexDef { name, pk: PartitionKey::Constant { attr: ALL, value: "accounts" }, sk: Some(sk), keys_only: false }
}

pub const ACCOUNTS_BY_EMAIL: IndexDef = accounts_by("by_email", "email_lc");
pub const ACCOUNTS_BY_USERNAME: IndexDef = accounts_by("by_username", "username_lc");
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

/// Pending accounts by the end of their invitation (sparse: `_invitation_due` exists only
/// while an invitation is outstanding), so that cleanup finds the lapsed ones without a scan.
pub const ACCOUNTS_BY_INVITATION_DUE: IndexDef = IndexDef {
    name: "by_invitation_due",
    pk: PartitionKey::Constant { attr: ALL, value: "accounts" },
    sk: Some(INVITATION_DUE),
    keys_only: true,
};

/// Internal attribute: the invitation's end while the account is pending.
pub const INVITATION_DUE: &str = "_invitation_due";

pub const ACCOUNTS: TableDef = TableDef {
    name: "accounts",
    indexes: &[
        by_id("accounts"),
        ACCOUNTS_BY_EMAIL,
        ACCOUNTS_BY_USERNAME,
        ACCOUNTS_BY_EXTERNAL_ID,
        ACCOUNTS_BY_ORGANIZATION,
        ACCOUNTS_BY_ORGANIZATION_EMAIL,
        ACCOUNTS_BY_INVITATION_DUE,
    ],
    folded: &[("email", "email_lc"), ("username", "username_lc")],
    ttl: None,
};

pub const SESSIONS_BY_ACCOUNT: IndexDef =
    IndexDef { name: "by_account", pk: PartitionKey::Attr("account_id"), sk: Some("id"), keys_only: false };

pub const SESSIONS_BY_ORGANIZATION: IndexDef =
    IndexDef { name: "by_organization", pk: PartitionKey::Attr("organization_id"), sk: Some("id"), keys_only: false };

/// Items of a table in expiry order: what cleanup reads to find the expired ones.
const fn by_expiry(value: &'static str) -> IndexDef {
    IndexDef {
        name: "by_expiry",
        pk: PartitionKey::Constant { attr: ALL, value },
        sk: Some("expires_at"),
        keys_only: true,
    }
}

pub const SESSIONS_BY_EXPIRY: IndexDef = by_expiry("sessions");

pub const SESSIONS: TableDef = TableDef {
    name: "sessions",
    indexes: &[by_id("sessions"), SESSIONS_BY_ACCOUNT, SESSIONS_BY_ORGANIZATION, SESSIONS_BY_EXPIRY],
    folded: &[],
    ttl: Some(TTL),
};

/// The attribute DynamoDB's TTL reads (epoch seconds).
pub const TTL: &str = "ttl";

pub const TOKENS_BY_ACCOUNT: IndexDef =
    IndexDef { name: "by_account", pk: PartitionKey::Attr("account_id"), sk: Some("id"), keys_only: false };

pub const TOKENS_BY_EXPIRY: IndexDef = by_expiry("tokens");

/// Single-use tokens (invitations, password resets), keyed by the hash of the token: the
/// token itself is never stored, and finding it is one strongly consistent read.
pub const TOKENS: TableDef =
    TableDef { name: "tokens", indexes: &[TOKENS_BY_ACCOUNT, TOKENS_BY_EXPIRY], folded: &[], ttl: Some(TTL) };

pub const THROTTLES_BY_EXPIRY: IndexDef = by_expiry("throttles");

/// Counters of recent events per key (failed logins per account and per address, reset
/// requests), each living for one window.
pub const THROTTLES: TableDef =
    TableDef { name: "throttles", indexes: &[THROTTLES_BY_EXPIRY], folded: &[], ttl: Some(TTL) };

pub const ROLES_BY_NAME: IndexDef = IndexDef {
    name: "by_name",
    pk: PartitionKey::Constant { attr: ALL, value: "roles" },
    sk: Some("name"),
    keys_only: false,
};

pub const ROLES: TableDef =
    TableDef { name: "roles", indexes: &[by_id("roles"), ROLES_BY_NAME], folded: &[], ttl: None };

pub const ROLE_ASSIGNMENTS_BY_ACCOUNT: IndexDef =
    IndexDef { name: "by_account", pk: PartitionKey::Attr("account_id"), sk: Some("id"), keys_only: false };

/// The holders of a role in account order: serves `/accounts?filter[role_name]=X` page by page.
pub const ROLE_ASSIGNMENTS_BY_ROLE: IndexDef =
    IndexDef { name: "by_role", pk: PartitionKey::Attr("role_name"), sk: Some("account_id"), keys_only: false };

/// The assignments at one organization or team (sparse: global assignments have no scope id).
pub const ROLE_ASSIGNMENTS_BY_SCOPE: IndexDef =
    IndexDef { name: "by_scope", pk: PartitionKey::Attr("scope_id"), sk: Some("account_id"), keys_only: false };

/// The assignments of one organization's accounts (what an organization's admin lists).
pub const ROLE_ASSIGNMENTS_BY_ORGANIZATION: IndexDef =
    IndexDef { name: "by_organization", pk: PartitionKey::Attr("organization_id"), sk: Some("id"), keys_only: false };

pub const ROLE_ASSIGNMENTS: TableDef = TableDef {
    name: "role_assignments",
    indexes: &[
        by_id("role_assignments"),
        ROLE_ASSIGNMENTS_BY_ACCOUNT,
        ROLE_ASSIGNMENTS_BY_ROLE,
        ROLE_ASSIGNMENTS_BY_SCOPE,
        ROLE_ASSIGNMENTS_BY_ORGANIZATION,
    ],
    folded: &[],
    ttl: None,
};

pub const TEAMS_BY_ORGANIZATION: IndexDef =
    IndexDef { name: "by_organization", pk: PartitionKey::Attr("organization_id"), sk: Some("id"), keys_only: false };

pub const TEAMS: TableDef =
    TableDef { name: "teams", indexes: &[by_id("teams"), TEAMS_BY_ORGANIZATION], folded: &[], ttl: None };

/// A team's members in account order: serves `/accounts?filter[team_id]=T` page by page.
pub const TEAM_MEMBERSHIPS_BY_TEAM: IndexDef =
    IndexDef { name: "by_team", pk: PartitionKey::Attr("team_id"), sk: Some("account_id"), keys_only: false };

pub const TEAM_MEMBERSHIPS_BY_ACCOUNT: IndexDef =
    IndexDef { name: "by_account", pk: PartitionKey::Attr("account_id"), sk: Some("id"), keys_only: false };

pub const TEAM_MEMBERSHIPS: TableDef = TableDef {
    name: "team_memberships",
    indexes: &[TEAM_MEMBERSHIPS_BY_TEAM, TEAM_MEMBERSHIPS_BY_ACCOUNT],
    folded: &[],
    ttl: None,
};

/// Uniqueness markers (`organizations.name#acme` → owner id), written in the same transaction
/// as the item they guard, so that uniqueness never depends on a read-then-write.
pub const UNIQUES: TableDef = TableDef { name: "uniques", indexes: &[], folded: &[], ttl: None };

/// Counts of dependents (`counters`): an organization's accounts and teams, a role's holders.
pub const COUNTERS: TableDef = TableDef { name: "counters", indexes: &[], folded: &[], ttl: None };

pub const TABLES: &[&TableDef] = &[
    &ORGANIZATIONS,
    &ACCOUNTS,
    &SESSIONS,
    &ROLES,
    &ROLE_ASSIGNMENTS,
    &TEAMS,
    &TEAM_MEMBERSHIPS,
    &UNIQUES,
    &TOKENS,
    &THROTTLES,
    &COUNTERS,
];
