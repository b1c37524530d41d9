//! The transactional outbox: an email to send is a letter in the `outbox` table, written in the
//! same transaction as the token or account it announces, so that a committed change always
//! has its email and a failed one never does. No request sends mail: the mailer delivers the
//! letters (`mail::delivery`). A letter holds what the email needs, with the link's token
//! sealed to the mailer's key (`mail::seal`); it is deleted once sent.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::address::Address;
use super::seal::SealingKey;
use super::templates::Kind;
use crate::clock;
use crate::store::schema::{OUTBOX, TTL};
use crate::store::{Condition, Item, Write};

/// Who holds a letter being sent, until when: a letter whose lease is over may be taken again
/// (its sender crashed or gave up). A new letter's lease ended long ago.
pub const LEASE_UNTIL: &str = "lease_until";

/// An email to send, as the request that causes it knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub kind: Kind,
    pub account_id: String,
    pub to: Address,
    /// The account's language tag, which picks the templates.
    pub language: Option<String>,
    /// The account's name, greeted if it reads as one.
    pub name: Option<String>,
    /// When the link stops working (shown in the email; past it, the letter is not sent).
    pub expires_at: OffsetDateTime,
    /// The id of the link's token item (its hash, not the token): a letter whose token is gone
    /// (used, replaced by a newer link, ended by a change of address) is not sent.
    pub token_id: String,
}

/// A letter read back from the outbox, its token still sealed.
#[derive(Debug, Clone)]
pub struct Posted {
    pub id: String,
    pub letter: Letter,
    pub sealed: String,
    pub lease_until: String,
}

impl Letter {
    /// The write that posts the letter with `token` sealed in it; it commits with the writes it
    /// announces. The letter lives no longer than its link.
    pub fn post(&self, sealer: &SealingKey, token: &str) -> anyhow::Result<Write> {
        let id = uuid::Uuid::now_v7().to_string();
        let sealed = sealer.seal(token, &id)?;
        let item = json!({
            "id": id,
            "kind": self.kind.name(),
            "account_id": self.account_id,
            "to": self.to.as_str(),
            "language": self.language,
            "name": self.name,
            "expires_at": clock::format(self.expires_at),
            "token_id": self.token_id,
            "sealed": sealed,
            LEASE_UNTIL: clock::format(OffsetDateTime::UNIX_EPOCH),
            TTL: self.expires_at.unix_timestamp(),
        });
        let item = item.as_object().cloned().unwrap_or_default();
        Ok(Write::Put { table: &OUTBOX, item, condition: Some(Condition::NotExists) })
    }
}

impl Posted {
    /// The letter an outbox item holds; `None` if it is not one (then it is dropped, logged).
    pub fn parse(item: &Item) -> Option<Posted> {
        let text = |name: &str| item.get(name).and_then(Value::as_str);
        let optional = |name: &str| text(name).map(str::to_string);
        let letter = Letter {
            kind: Kind::from_name(text("kind")?)?,
            account_id: text("account_id")?.to_string(),
            to: Address::parse(text("to")?)?,
            language: optional("language"),
            name: optional("name"),
            expires_at: clock::parse(text("expires_at")?)?,
            token_id: text("token_id")?.to_string(),
        };
        Some(Posted {
            id: text("id")?.to_string(),
            letter,
            sealed: text("sealed")?.to_string(),
            lease_until: text(LEASE_UNTIL)?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::seal::OpeningKey;

    #[test]
    fn a_posted_letter_reads_back_and_its_token_opens_only_for_the_mailer() {
        let key = OpeningKey::generate();
        let letter = Letter {
            kind: Kind::PasswordReset,
            account_id: "acc".into(),
            to: Address::parse("ann@example.com").unwrap(),
            language: Some("fr".into()),
            name: None,
            expires_at: clock::parse("2026-11-23T11:00:00Z").unwrap(),
            token_id: "sha256-hex-of-it".into(),
        };
        let Write::Put { table, item, condition } = letter.post(&key.sealing_key(), "the-token").unwrap() else {
            panic!("a put")
        };
        assert_eq!((table.name, condition), ("outbox", Some(Condition::NotExists)));
        assert!(!serde_json::to_string(&item).unwrap().contains("the-token"), "the token is sealed: {item:?}");
        assert_eq!(item[TTL], json!(letter.expires_at.unix_timestamp()), "it lives as long as its link");
        let posted = Posted::parse(&item).expect("a letter");
        assert_eq!(posted.letter, letter);
        assert_eq!(key.open(&posted.sealed, &posted.id).unwrap().expose(), "the-token");
        let mut odd = item.clone();
        odd.insert("kind".into(), json!("newsletter"));
        assert!(Posted::parse(&odd).is_none());
    }
}
