//! Accounts (users and service accounts): the catalog, validation of creates and updates, the
//! derived `status`, the email type, and what login needs.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::attributes::{Attributes, Given, Text};
use super::password::{self, NewPassword, PasswordHash};
use crate::clock;
use crate::counters::{ALL_ACCOUNTS, Dependents};
use crate::error::Result;
use crate::links;
use crate::mail::address::Address;
use crate::permissions::Permission;
use crate::records::{self, Unique};
use crate::resource::{Counts, Field, FieldType as T, Guard, Relationship, ResourceDef, Source, Via};
use crate::store::{Item, Query, SortCondition, Store, Update, schema};

/// The holders of a role, in account order.
const BY_ROLE: Via = Via {
    table: &schema::ROLE_ASSIGNMENTS,
    index: &schema::ROLE_ASSIGNMENTS_BY_ROLE,
    key: "account_id",
    organization: Some("organization_id"),
};

/// The members of a team, in account order.
const BY_TEAM: Via = Via {
    table: &schema::TEAM_MEMBERSHIPS,
    index: &schema::TEAM_MEMBERSHIPS_BY_TEAM,
    key: "account_id",
    organization: Some("organization_id"),
};

pub const RESOURCE: ResourceDef = ResourceDef {
    type_name: "accounts",
    path: "/accounts",
    table: &schema::ACCOUNTS,
    fields: &[
        Field::id(),
        Field::new("email", T::String)
            .filter()
            .sort()
            .text()
            .required()
            .unique()
            .folded("email_lc")
            .required_on_create()
            .limits(EMAIL)
            .format("email"),
        Field::new("name", T::String).filter().sort().text().limits(NAME),
        Field::new("username", T::String).filter().sort().text().unique().folded("username_lc").limits(USERNAME),
        Field::new("first_name", T::String).limits(PART_NAME),
        Field::new("last_name", T::String).limits(PART_NAME),
        Field::new("language", T::String).limits(LANGUAGE).not_null(),
        Field::new("external_id", T::String).filter().unique().limits(EXTERNAL_ID),
        Field::new("account_type", T::String).filter().one_of(ACCOUNT_TYPES).not_null(),
        Field::new("auth_type", T::String).filter().one_of(AUTH_TYPES).not_null(),
        Field::new("sso_channel", T::String).filter().limits(SSO_CHANNEL),
        Field::new("picture_url", T::String).filter().limits(PICTURE_URL).format("uri"),
        Field::new("enabled", T::Boolean).filter().not_null(),
        Field::new("organization_id", T::String).filter().holds_ids().limits(ID),
        Field::new("ou_accounts", T::String).filter().holds_ids().alias_of("organization_id"),
        Field::new("expires_at", T::Timestamp).filter().sort(),
        Field::new("status", T::String).filter().sort().read_only(),
        Field::new("joined_at", T::Timestamp).filter().sort().read_only(),
        Field::new("invitation_expired_at", T::Timestamp).filter().read_only(),
        Field::new("last_login_at", T::Timestamp).filter().sort().read_only(),
        Field::new("mfa_enabled", T::Boolean).filter().read_only(),
        // The person behind the account (`model::person`), in the account's organization.
        Field::new("person_id", T::String).filter().holds_ids().limits(ID),
        // Derived: no person is correlated (SailPoint's `uncorrelated`).
        Field::new("uncorrelated", T::Boolean).filter().read_only(),
        // Fields of the person and of the organization, filtered through the relationship
        // (`filter[person.name__sw]=Ann`): one line each (`listing::related`).
        Field::new("person.name", T::String).filter().related("person", "name"),
        Field::new("person.external_id", T::String).filter().related("person", "external_id"),
        Field::new("person.state", T::String).filter().related("person", "state"),
        Field::new("organization.name", T::String).filter().related("organization", "name"),
        Field::new("created_at", T::Timestamp).filter().sort().read_only().required().in_id_order(),
        Field::new("updated_at", T::Timestamp).filter().sort().read_only().required(),
        // What the account's embedded links say, derived at read time (see `derive`).
        Field::new("role_name", T::String).filter().many().via(&BY_ROLE),
        Field::new("role_scope", T::String).filter().many(),
        Field::new("with_role_scope", T::String).filter().many(),
        Field::new("team_id", T::String).filter().holds_ids().many().via(&BY_TEAM),
        // The initial password of an account created active; without one it is invited.
        Field::new("password", T::String).secret().write_only().limits(password::LENGTH),
        Field::new("password_hash", T::String).secret(),
        Field::new("password_reset_token", T::String).secret(),
        Field::new("invitation_token", T::String).secret(),
    ],
    relationships: &[
        Relationship::to_one("organization", "organizations", "organization_id"),
        Relationship::to_one("person", "people", "person_id"),
        Relationship {
            name: "roles",
            target: "role_assignments",
            source: Source::Embedded { list: "_roles", key: "id" },
            along: &["role"],
        },
        Relationship {
            name: "teams",
            target: "teams",
            source: Source::Embedded { list: "_teams", key: "team_id" },
            along: &[],
        },
    ],
    guard: Guard {
        read: Permission::AccountsRead,
        write: Permission::AccountsWrite,
        organization: Some("organization_id"),
        team: None,
        owner: Some("id"),
        global_only: Some(super::role_assignment::holds_global_role),
        owner_writes: false,
    },
    derive: Some(derive),
    lapses_at: None,
    counts: Some(Counts { all: &ALL_ACCOUNTS, organization: Dependents::OrganizationAccounts }),
    listed_by: &[],
    catalog: super::all,
};

/// The attributes computed at read time: `status`, `mfa_enabled` (false until a second factor
/// is confirmed: accounts older than MFA have no such attribute), `uncorrelated` (no
/// `person_id`), and the lists the role and team filters
/// compare with (`role_name`, `role_scope` = the scope kinds held, `with_role_scope` = the
/// organization and team ids roles are held at, `team_id`).
pub fn derive(item: &mut Item, now: OffsetDateTime) {
    derive_status(item, now);
    let mfa = mfa_enabled(item);
    item.insert("mfa_enabled".into(), json!(mfa));
    let uncorrelated = person_of(item).is_none();
    item.insert("uncorrelated".into(), json!(uncorrelated));
    let collect = |item: &Item, kind: &links::LinkKind, key: &str| -> Value {
        let mut values: Vec<&str> =
            links::entries(item, kind).filter_map(|e| e.get(key).and_then(Value::as_str)).collect();
        values.sort();
        values.dedup();
        json!(values)
    };
    let derived = [
        ("role_name", collect(item, &links::ROLES, "role_name")),
        ("role_scope", collect(item, &links::ROLES, "scope")),
        ("with_role_scope", collect(item, &links::ROLES, "scope_id")),
        ("team_id", collect(item, &links::TEAMS, "team_id")),
    ];
    item.extend(derived.into_iter().map(|(k, v)| (k.to_string(), v)));
}

/// `status` as the API shows it: `disabled` when not enabled, `expired` past `expires_at` or
/// when a pending invitation lapsed, else the stored lifecycle (`pending` until joined, then
/// `active`). Computed at read time, so that an expiry needs no write to take effect.
pub fn derive_status(item: &mut Item, now: OffsetDateTime) {
    let account = Account::parse(item);
    let past = |at: Option<OffsetDateTime>| at.is_some_and(|t| t <= now);
    // Only an explicit `false` disables: that is what an account's creation writes.
    let status = if item.get("enabled").and_then(Value::as_bool) == Some(false) {
        AccountStatus::Disabled
    } else if past(account.expires_at)
        || (account.status == AccountStatus::Pending && past(account.invitation_expires_at))
    {
        AccountStatus::Expired
    } else {
        account.status
    };
    item.insert("status".into(), json!(status.name()));
}

/// An account's lifecycle: what is stored (`pending` until it joins, then `active`; `expired`
/// once an invitation lapsed unused) and, when shown, `disabled` or `expired` as the clock and
/// the enabled flag make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Pending,
    Active,
    Expired,
    Disabled,
}

impl AccountStatus {
    pub fn name(self) -> &'static str {
        match self {
            AccountStatus::Pending => "pending",
            AccountStatus::Active => "active",
            AccountStatus::Expired => "expired",
            AccountStatus::Disabled => "disabled",
        }
    }

    /// A stored status; an item without one (or with one we never write) is pending.
    pub fn parse(name: Option<&str>) -> AccountStatus {
        match name {
            Some("active") => AccountStatus::Active,
            Some("expired") => AccountStatus::Expired,
            Some("disabled") => AccountStatus::Disabled,
            _ => AccountStatus::Pending,
        }
    }
}

/// What the account logic branches on, parsed once from the stored item. The item stays what
/// is rendered, filtered and written (its catalog describes it); this is how code reads it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    /// As stored; every account has one, so absent only on a corrupt item.
    pub email: Option<Email>,
    pub name: Option<String>,
    /// The language tag its emails are written in (`fr-CA`); absent means English.
    pub language: Option<String>,
    /// The stored lifecycle (not the derived one).
    pub status: AccountStatus,
    pub enabled: bool,
    /// Signs in through single sign-on (`auth_type = sso`): it has no password to set.
    pub sso: bool,
    pub organization_id: Option<String>,
    pub password_hash: Option<PasswordHash>,
    pub expires_at: Option<OffsetDateTime>,
    pub invitation_expires_at: Option<OffsetDateTime>,
    /// A confirmed second factor guards its logins (`usecase::mfa`).
    pub mfa_enabled: bool,
}

impl Account {
    pub fn parse(item: &Item) -> Account {
        let text = |name: &str| item.get(name).and_then(Value::as_str);
        let time = |name: &str| text(name).and_then(clock::parse);
        Account {
            id: text("id").unwrap_or_default().to_string(),
            email: text("email").and_then(Email::parse),
            name: text("name").map(str::to_string),
            language: text("language").map(str::to_string),
            status: AccountStatus::parse(text("status")),
            enabled: item.get("enabled").and_then(Value::as_bool).unwrap_or(false),
            sso: text("auth_type") == Some("sso"),
            organization_id: text("organization_id").map(str::to_string),
            password_hash: text("password_hash").map(|h| PasswordHash::new(h.to_string())),
            expires_at: time("expires_at"),
            invitation_expires_at: time("invitation_expired_at"),
            mfa_enabled: mfa_enabled(item),
        }
    }

    /// The address as every comparison sees it (lower-cased, as its index and marker fold it).
    pub fn folded_email(&self) -> Option<String> {
        self.email.as_ref().map(|e| e.as_str().to_lowercase())
    }

    /// May the account use the service now? (enabled, active, not past `expires_at`) Checked
    /// on every authenticated request, so that disabling or expiring an account stops its
    /// tokens.
    pub fn is_usable(&self, now: OffsetDateTime) -> bool {
        self.enabled && self.status == AccountStatus::Active && self.expires_at.is_none_or(|at| at > now)
    }

    /// May the account obtain tokens with a password now?
    pub fn may_log_in(&self, now: OffsetDateTime) -> bool {
        self.is_usable(now) && self.password_hash.is_some()
    }

    /// May the account accept an invitation now: pending, enabled, and signing in with a
    /// password (an SSO account has none to set).
    pub fn may_join(&self) -> bool {
        self.status == AccountStatus::Pending && self.enabled && !self.sso
    }
}

/// The person the account is correlated with, if any.
pub fn person_of(item: &Item) -> Option<&str> {
    item.get("person_id").and_then(Value::as_str)
}

/// Does a confirmed second factor guard the account's logins?
pub fn mfa_enabled(item: &Item) -> bool {
    item.get("mfa_enabled").and_then(Value::as_bool) == Some(true)
}

/// Writes a lifecycle change on the stored item: the one place `status` and the invitation
/// fields are set.
pub fn set_status(item: &mut Item, status: AccountStatus) {
    item.insert("status".into(), json!(status.name()));
}

/// The account waits for its invitation, mailed now and valid until `expires_at` (also the
/// key of the sparse index that the cleanup sweep reads to expire it).
pub fn invite(item: &mut Item, expires_at: &str) {
    set_status(item, AccountStatus::Pending);
    item.insert("invitation_expired_at".into(), json!(expires_at));
    item.insert(schema::INVITATION_DUE.into(), json!(expires_at));
}

/// The account accepted its invitation at `now`.
pub fn join(item: &mut Item, now: &str) {
    set_status(item, AccountStatus::Active);
    item.insert("joined_at".into(), json!(now));
    item.remove(schema::INVITATION_DUE);
}

/// The account's invitation lapsed unused.
pub fn lapse(item: &mut Item) {
    set_status(item, AccountStatus::Expired);
    item.remove(schema::INVITATION_DUE);
}

/// When the account's unused invitation lapses (the sweep's index key), if it waits for one.
pub fn invitation_due(item: &Item) -> Option<OffsetDateTime> {
    item.get(schema::INVITATION_DUE).and_then(Value::as_str).and_then(clock::parse)
}

const NAME: Text = Text { min: 0, max: 200, single_line: true };
const PART_NAME: Text = Text { min: 0, max: 100, single_line: true };
const USERNAME: Text = Text { min: 1, max: 64, single_line: true };
const EXTERNAL_ID: Text = Text { min: 1, max: 256, single_line: true };
const SSO_CHANNEL: Text = Text { min: 1, max: 100, single_line: true };
const LANGUAGE: Text = Text { min: 2, max: 35, single_line: true };
const EMAIL: Text = Text { min: 3, max: 254, single_line: true };
const PICTURE_URL: Text = Text { min: 1, max: 2048, single_line: true };
const ID: Text = Text { min: 1, max: 64, single_line: true };
const ACCOUNT_TYPES: &[&str] = &["user", "service"];
const AUTH_TYPES: &[&str] = &["password", "sso"];

/// Optional text attributes: (name, limits). Null clears them on update.
const OPTIONAL_TEXT: &[(&str, Text)] = &[
    ("name", NAME),
    ("first_name", PART_NAME),
    ("last_name", PART_NAME),
    ("username", USERNAME),
    ("external_id", EXTERNAL_ID),
    ("sso_channel", SSO_CHANNEL),
];

/// A language tag: letters, digits and hyphens, starting with 2-3 letters (`en`, `pt-BR`).
fn is_language_tag(v: &str) -> bool {
    let mut parts = v.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// A validated create request.
#[derive(Debug)]
pub struct NewAccount {
    /// The item to store (without a password hash yet).
    pub item: Item,
    /// The initial password, checked against the policy; hash it before storing.
    pub password: Option<NewPassword>,
}

/// Applies the attributes every create and update share; `creating` makes `email` required.
fn apply(a: &mut Attributes, item: &mut Item, creating: bool) {
    let set = |item: &mut Item, name: &str, given: Given<Value>| given.write_to(item, name);
    let json_of = |g: Given<String>| g.map(Value::String);
    let required_not_null = |a: &mut Attributes, name: &str, g: &Given<String>| {
        if *g == Given::Null {
            a.problem(name, "required", format!("{name} cannot be null"));
        }
    };
    let email = a.text("email", EMAIL, creating);
    required_not_null(a, "email", &email);
    if let Given::Value(raw) = &email {
        match Email::accept(raw) {
            Some(e) => {
                item.insert("email".into(), json!(e.as_str()));
            }
            None => a.problem(
                "email",
                "invalid_email",
                "email must be one address like ann@example.com (no list, quotes, comments or display name)",
            ),
        }
    }
    for (name, limits) in OPTIONAL_TEXT {
        let given = a.text(name, *limits, false);
        set(item, name, json_of(given));
    }
    let language = a.text("language", LANGUAGE, false);
    required_not_null(a, "language", &language);
    if let Given::Value(tag) = &language
        && !is_language_tag(tag)
    {
        a.problem("language", "invalid_language", "language must be a language tag such as en or pt-BR");
    }
    set(item, "language", json_of(language));
    for (name, allowed) in [("account_type", ACCOUNT_TYPES), ("auth_type", AUTH_TYPES)] {
        let given = a.one_of(name, allowed);
        required_not_null(a, name, &given);
        set(item, name, json_of(given));
    }
    let picture = a.url("picture_url", PICTURE_URL.max);
    set(item, "picture_url", json_of(picture));
    match a.boolean("enabled") {
        Given::Null => a.problem("enabled", "required", "enabled cannot be null"),
        given => set(item, "enabled", given.map(Value::Bool)),
    }
    let expires = a.timestamp("expires_at");
    set(item, "expires_at", json_of(expires));
    let organization = a.text("organization_id", ID, false);
    set(item, "organization_id", json_of(organization));
    let person = a.text("person_id", ID, false);
    set(item, "person_id", json_of(person));
}

/// A new account from a create request. Without `password` (and not SSO) it is `pending`
/// until its invitation is accepted; with one it is `active` at once. `organization_id`
/// defaults to `default_organization`.
pub fn create(
    mut attributes: Map<String, Value>,
    id: String,
    now: &str,
    default_organization: Option<&str>,
) -> Result<NewAccount> {
    let password = Attributes::take(&mut attributes, "password");
    let mut a = Attributes::new(&RESOURCE, attributes);
    let mut item = json!({
        "id": id,
        "enabled": true,
        "account_type": "user",
        "auth_type": "password",
        "language": "en",
        "created_at": now,
        "updated_at": now,
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    if let Some(org) = default_organization {
        item.insert("organization_id".into(), json!(org));
    }
    apply(&mut a, &mut item, true);
    let sso = item.get("auth_type").and_then(Value::as_str) == Some("sso");
    let password = match password {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if sso => {
            let _ = p;
            a.problem("password", "password_not_allowed", "an SSO account has no password");
            None
        }
        Some(Value::String(p)) => {
            let email = item.get("email").and_then(Value::as_str);
            match NewPassword::parse(&p, email, "/data/attributes/password") {
                Ok(password) => Some(password),
                Err(problems) => {
                    a.extend(problems);
                    None
                }
            }
        }
        Some(_) => {
            a.problem("password", "invalid_type", "password must be a string");
            None
        }
    };
    a.finish()?;
    let active = password.is_some() || sso;
    set_status(&mut item, if active { AccountStatus::Active } else { AccountStatus::Pending });
    if active {
        item.insert("joined_at".into(), json!(now));
    }
    Ok(NewAccount { item, password })
}

/// The account after a partial update (only given attributes change). Passwords change
/// through the password flows, never here.
pub fn update(old: &Item, mut attributes: Map<String, Value>, now: &str) -> Result<Item> {
    let password = Attributes::take(&mut attributes, "password");
    let mut a = Attributes::new(&RESOURCE, attributes);
    if password.is_some() {
        a.problem("password", "not_updatable", "passwords change through /account/passwords, not here");
    }
    let mut item = old.clone();
    apply(&mut a, &mut item, false);
    if item.get("auth_type").and_then(Value::as_str) == Some("sso") && old.get("auth_type") != item.get("auth_type") {
        // Switching to SSO drops the password: it could never be used again.
        item.remove("password_hash");
    }
    a.finish()?;
    item.insert("updated_at".into(), json!(now));
    Ok(item)
}

/// An account's email address. New and changed addresses are [`Email::accept`]ed: one
/// `addr-spec` (`mail::address`), its domain in ASCII. Stored ones are read with the looser
/// [`Email::parse`] that was once the rule for all: an address stored before stays readable
/// and usable for login until its next change, but mail goes only to an address that is
/// accepted now. Compared lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// An address as new input must be (create, update, the first admin).
    pub fn accept(raw: &str) -> Option<Email> {
        Address::parse(raw).map(|a| Email(a.as_str().to_string()))
    }

    /// A stored address, or one typed at login: trimmed, one `@` with text on both sides, no
    /// spaces or control characters, at most 254 characters.
    pub fn parse(raw: &str) -> Option<Email> {
        let s = raw.trim();
        let (local, domain) = s.rsplit_once('@')?;
        let valid = s.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
            && !domain.contains('@');
        valid.then(|| Email(s.to_string()))
    }

    /// The forms an account holding the address `raw` may be stored under: as accepted now
    /// (an internationalized domain in ASCII), then as typed, for accounts stored before.
    pub fn lookups(raw: &str) -> Vec<Email> {
        let mut forms: Vec<Email> = Email::accept(raw).into_iter().collect();
        if let Some(typed) = Email::parse(raw).filter(|t| forms.iter().all(|f| f.unique() != t.unique())) {
            forms.push(typed);
        }
        forms
    }

    /// Where mail to this address may go, if it is one address (not for one stored before
    /// the rule that the strict parse enforces).
    pub fn mailbox(&self) -> Option<Address> {
        Address::parse(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn unique(&self) -> Unique {
        Unique::new("accounts.email", "email", &self.0)
    }
}

/// The account's email as every comparison sees it: lower-cased, as its index key (`email_lc`)
/// and its uniqueness marker fold it.
pub fn folded_email(item: &Item) -> Option<String> {
    Account::parse(item).folded_email()
}

/// The values that must be unique across accounts (email always; username and external id
/// when set), each compared lower-cased.
pub fn uniques(item: &Item) -> Vec<Unique> {
    let mut all: Vec<Unique> =
        item.get("email").and_then(Value::as_str).and_then(Email::parse).map(|e| e.unique()).into_iter().collect();
    for (scope, attribute) in [("accounts.username", "username"), ("accounts.external_id", "external_id")] {
        if let Some(v) = item.get(attribute).and_then(Value::as_str) {
            all.push(Unique::new(scope, attribute, v));
        }
    }
    all
}

/// The counter changes that count accounts loaded in bulk (`Store::put_many` writes items
/// alone): the whole-table tally and each organization's count, one update per counter.
pub fn counted_in(items: &[Item]) -> Vec<Update> {
    let mut updates = ALL_ACCOUNTS.changes(items.iter().map(records::id_of));
    let mut per_organization: std::collections::BTreeMap<&str, i64> = Default::default();
    for org in items.iter().filter_map(|i| i.get("organization_id").and_then(Value::as_str)) {
        *per_organization.entry(org).or_default() += 1;
    }
    updates.extend(per_organization.into_iter().map(|(org, n)| Dependents::OrganizationAccounts.update(org, n)));
    updates
}

/// A new active account with a password already hashed.
pub fn new_active(id: String, email: &Email, password_hash: String, organization_id: Option<&str>, now: &str) -> Item {
    let mut item = json!({
        "id": id,
        "email": email.as_str(),
        "password_hash": password_hash,
        "enabled": true,
        "status": "active",
        "account_type": "user",
        "auth_type": "password",
        "language": "en",
        "joined_at": now,
        "created_at": now,
        "updated_at": now,
    });
    if let Some(org) = organization_id {
        item["organization_id"] = json!(org);
    }
    item.as_object().cloned().unwrap_or_default()
}

/// May this account use the service now? (see [`Account::is_usable`])
pub fn is_usable(item: &Item, now: OffsetDateTime) -> bool {
    Account::parse(item).is_usable(now)
}

/// May this account obtain tokens with a password now?
pub fn may_log_in(item: &Item, now: OffsetDateTime) -> bool {
    Account::parse(item).may_log_in(now)
}

/// The account holding this email (case-insensitively), through its uniqueness marker: a
/// strongly consistent read, unlike an index.
pub async fn find_by_email(store: &dyn Store, email: &Email) -> Result<Option<Item>> {
    match records::owner_of(store, &email.unique()).await? {
        Some(id) => Ok(store.get(&schema::ACCOUNTS, &id).await?),
        None => Ok(None),
    }
}

/// The account holding the address `raw` as someone typed it (login, a reset request): under
/// each of its [`Email::lookups`] forms in turn.
pub async fn find_by_typed_email(store: &dyn Store, raw: &str) -> Result<Option<Item>> {
    for email in Email::lookups(raw) {
        if let Some(found) = find_by_email(store, &email).await? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The account with this external id, through its index (one key lookup; eventually
/// consistent, so callers re-read the item by id before trusting it).
pub async fn find_by_external_id(store: &dyn Store, external_id: &str) -> Result<Option<Item>> {
    // No account holds a value outside the attribute's limits; the store never sees one.
    if !(EXTERNAL_ID.min..=EXTERNAL_ID.max).contains(&external_id.chars().count()) {
        return Ok(None);
    }
    let index = &schema::ACCOUNTS_BY_EXTERNAL_ID;
    let all = index.whole_table().unwrap_or_default();
    let query = Query::partition(&schema::ACCOUNTS, index, all)
        .with_sk(Some(SortCondition::Eq(external_id.into())))
        .with_limit(1);
    Ok(crate::store::read(store, query).await?.items.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_parse_at_the_boundary() {
        assert_eq!(Email::parse("  Ann@Example.com ").unwrap().as_str(), "Ann@Example.com");
        for bad in ["", "ann", "@x.com", "ann@", "ann@x", "a nn@x.com", "ann@.com", "ann@x.com.", "<a>@x.com"] {
            assert!(Email::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn emails_are_unique_case_insensitively() {
        let a = Email::parse("Ann@Example.com").unwrap();
        let b = Email::parse("ann@example.COM").unwrap();
        assert_eq!(a.unique(), b.unique());
    }

    #[test]
    fn only_enabled_active_unexpired_accounts_log_in() {
        let now = clock::parse("2026-11-23T10:00:00Z").unwrap();
        let email = Email::parse("a@b.co").unwrap();
        let mut item = new_active("1".into(), &email, "h".into(), None, "2026-01-01T00:00:00Z");
        assert!(may_log_in(&item, now));
        item.insert("expires_at".into(), json!("2026-11-23T10:00:00Z"));
        assert!(!may_log_in(&item, now));
        item.remove("expires_at");
        item.insert("enabled".into(), json!(false));
        assert!(!may_log_in(&item, now));
        item.insert("enabled".into(), json!(true));
        item.insert("status".into(), json!("pending"));
        assert!(!may_log_in(&item, now));
    }

    #[test]
    fn the_status_shown_is_derived_from_the_stored_one_and_the_clock() {
        let now = clock::parse("2026-11-23T10:00:00Z").unwrap();
        let shown = |v: Value| {
            let mut item = v.as_object().cloned().unwrap();
            derive_status(&mut item, now);
            item["status"].clone()
        };
        assert_eq!(shown(json!({"status": "active", "enabled": true})), "active");
        assert_eq!(shown(json!({"status": "active", "enabled": false})), "disabled");
        assert_eq!(shown(json!({"status": "active", "expires_at": "2026-11-23T10:00:00Z"})), "expired");
        assert_eq!(shown(json!({"status": "pending", "invitation_expired_at": "2026-11-23T09:00:00Z"})), "expired");
        assert_eq!(shown(json!({"status": "active", "invitation_expired_at": "2026-11-23T09:00:00Z"})), "active");
        assert_eq!(shown(json!({})), "pending", "no stored status, no enabled flag: pending, as before");
    }

    #[test]
    fn only_an_enabled_pending_password_account_may_join() {
        let account = |v: Value| Account::parse(v.as_object().unwrap());
        assert!(account(json!({"status": "pending", "enabled": true})).may_join());
        assert!(!account(json!({"status": "active", "enabled": true})).may_join());
        assert!(!account(json!({"status": "pending", "enabled": false})).may_join());
        assert!(!account(json!({"status": "pending", "enabled": true, "auth_type": "sso"})).may_join());
    }

    #[test]
    fn lifecycle_changes_write_the_status_and_the_invitation_fields_together() {
        let mut item = json!({"id": "1", "status": "active"}).as_object().cloned().unwrap();
        invite(&mut item, "2026-11-30T10:00:00Z");
        assert_eq!(
            (item["status"].as_str(), invitation_due(&item)),
            (Some("pending"), clock::parse("2026-11-30T10:00:00Z"))
        );
        join(&mut item, "2026-11-24T10:00:00Z");
        assert_eq!(item["status"], "active");
        assert_eq!(item["joined_at"], "2026-11-24T10:00:00Z");
        assert!(invitation_due(&item).is_none(), "a joined account leaves the sweep's index");
        invite(&mut item, "2026-11-30T10:00:00Z");
        lapse(&mut item);
        assert_eq!(item["status"], "expired");
        assert!(invitation_due(&item).is_none());
        let printed = format!(
            "{:?}",
            Account::parse(&json!({"password_hash": "$argon2id$secret"}).as_object().cloned().unwrap())
        );
        assert!(!printed.contains("argon2id"), "{printed}");
    }
}
