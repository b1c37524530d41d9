//! Accounts (users and service accounts): the catalog, the email type, and what login needs.
//! The accounts function (its own issue) adds the rest of the attributes and their validation.

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::clock;
use crate::records::Unique;
use crate::resource::{Field, FieldType as T, Relationship, ResourceDef};
use crate::store::{Item, schema};

pub const RESOURCE: ResourceDef = ResourceDef {
    type_name: "accounts",
    path: "/accounts",
    table: &schema::ACCOUNTS,
    fields: &[
        Field::id(),
        Field::new("email", T::String).filter().sort().text().required().unique(),
        Field::new("name", T::String).filter().sort().text(),
        Field::new("organization_id", T::String).filter(),
        Field::new("ou_accounts", T::String).filter().alias_of("organization_id"),
        Field::new("enabled", T::Boolean).filter(),
        Field::new("status", T::String).filter().sort().read_only(),
        Field::new("expires_at", T::Timestamp).filter().sort(),
        Field::new("joined_at", T::Timestamp).filter().sort().read_only(),
        Field::new("last_login_at", T::Timestamp).filter().sort().read_only(),
        Field::new("created_at", T::Timestamp).filter().sort().read_only().required(),
        Field::new("updated_at", T::Timestamp).filter().sort().read_only().required(),
        Field::new("password_hash", T::String).secret(),
        Field::new("password_reset_token", T::String).secret(),
        Field::new("invitation_token", T::String).secret(),
    ],
    relationships: &[Relationship { name: "organization", target: "organizations", foreign_key: "organization_id" }],
};

/// An email address: trimmed, one `@` with text on both sides, no spaces or control
/// characters, at most 254 characters. Stored as given; compared lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
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

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn unique(&self) -> Unique {
        Unique::new("accounts.email", "email", &self.0)
    }
}

/// The values that must be unique across accounts.
pub fn uniques(item: &Item) -> Vec<Unique> {
    item.get("email").and_then(Value::as_str).and_then(Email::parse).map(|e| vec![e.unique()]).unwrap_or_default()
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

/// May this account obtain tokens now? (enabled, active, not past `expires_at`)
pub fn may_log_in(item: &Item, now: OffsetDateTime) -> bool {
    let enabled = item.get("enabled").and_then(Value::as_bool).unwrap_or(false);
    let active = item.get("status").and_then(Value::as_str) == Some("active");
    let expired = item.get("expires_at").and_then(Value::as_str).and_then(clock::parse).is_some_and(|at| at <= now);
    enabled && active && !expired && item.get("password_hash").is_some_and(Value::is_string)
}

/// The account holding this email (case-insensitively), through its uniqueness marker: a
/// strongly consistent read, unlike an index.
pub async fn find_by_email(store: &dyn crate::store::Store, email: &Email) -> crate::Result<Option<Item>> {
    match crate::records::owner_of(store, &email.unique()).await? {
        Some(id) => Ok(store.get(&schema::ACCOUNTS, &id).await?),
        None => Ok(None),
    }
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
}
