//! Header values as RFC 5322 and RFC 2047 want them: text that is not plain printable ASCII
//! goes out as `=?utf-8?B?...?=` encoded words of at most 75 characters, folded onto
//! continuation lines, so that no value can end a header or start another; the sender is a
//! display name (encoded the same way) and one checked address.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::address::{Address, is_atext};

/// Bytes of UTF-8 per encoded word: 45 bytes are 60 base64 characters, 72 with the markers.
const WORD_BYTES: usize = 45;
/// Longest value written as it is (a header line stays under 78 characters).
const PLAIN_MAX: usize = 60;

/// `value` as one or more encoded words separated by folding white space, or as it is when
/// it is short, printable ASCII.
pub fn text(value: &str) -> String {
    let plain = value.len() <= PLAIN_MAX && value.bytes().all(|b| (b' '..=b'~').contains(&b)) && !value.contains("=?");
    if plain {
        return value.to_string();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in value.chars().filter(|c| !c.is_control()) {
        if chunk.len() + c.len_utf8() > WORD_BYTES {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    words.iter().map(|w| format!("=?utf-8?B?{}?=", STANDARD.encode(w))).collect::<Vec<_>>().join("\r\n ")
}

/// A display name as a header phrase: as it is when it is only atoms and spaces, otherwise
/// encoded words (never a quoted string, which a careless parser may read as an address).
fn phrase(name: &str) -> String {
    let atoms = name.chars().all(|c| c == ' ' || is_atext(c));
    if atoms && name.len() <= PLAIN_MAX { name.to_string() } else { text(name) }
}

/// The sender of every email (`IAM_MAIL_FROM`): `no-reply@acme.com` or
/// `Acme Accounts <no-reply@acme.com>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub name: Option<String>,
    pub address: Address,
}

impl Sender {
    pub fn parse(raw: &str) -> anyhow::Result<Sender> {
        let raw = raw.trim();
        let (name, address) = match raw.strip_suffix('>').and_then(|r| r.rsplit_once('<')) {
            Some((name, address)) => (Some(name.trim().trim_matches('"').trim()).filter(|n| !n.is_empty()), address),
            None => (None, raw),
        };
        if name.is_some_and(|n| n.chars().any(|c| c.is_control() || "<>\"".contains(c))) {
            bail!("IAM_MAIL_FROM: the sender's name may not hold control characters, quotes or angle brackets");
        }
        let address = Address::parse(address)
            .with_context(|| format!("IAM_MAIL_FROM: {address:?} is not one email address like no-reply@acme.com"))?;
        Ok(Sender { name: name.map(String::from), address })
    }

    /// The `From:` header's value (SES takes the same string as the sender).
    pub fn header(&self) -> String {
        match &self.name {
            Some(name) => format!("{} <{}>", phrase(name), self.address),
            None => self.address.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(value: &str) -> String {
        value
            .split("\r\n ")
            .map(|w| {
                let b64 = w.strip_prefix("=?utf-8?B?").and_then(|w| w.strip_suffix("?=")).expect("an encoded word");
                String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap()
            })
            .collect()
    }

    #[test]
    fn plain_ascii_stays_and_everything_else_is_encoded_and_folded() {
        assert_eq!(text("Reset your password"), "Reset your password");
        let long = "Réinitialisez le mot de passe de votre compte chez Société Générale d'Exemple";
        let encoded = text(long);
        assert!(encoded.lines().all(|l| l.trim_end().len() <= 76), "{encoded}");
        assert!(encoded.is_ascii());
        assert_eq!(decoded(&encoded), long);
    }

    #[test]
    fn no_value_can_start_a_header_of_its_own() {
        let encoded = text("Hi\r\nBcc: victim@evil.test");
        assert!(!encoded.contains("Bcc:"), "{encoded}");
        assert_eq!(decoded(&encoded), "HiBcc: victim@evil.test");
        assert_eq!(text("=?utf-8?B?x?="), "=?utf-8?B?PT91dGYtOD9CP3g/PQ==?=", "what looks encoded is encoded");
    }

    #[test]
    fn the_sender_is_a_phrase_and_one_address() {
        let plain = Sender::parse("no-reply@Acme.test").unwrap();
        assert_eq!(plain.header(), "no-reply@Acme.test");
        let named = Sender::parse("Acme Accounts <no-reply@acme.test>").unwrap();
        assert_eq!(named.header(), "Acme Accounts <no-reply@acme.test>");
        let quoted = Sender::parse("\"Zoë, Accounts\" <no-reply@acme.test>").unwrap();
        assert_eq!(quoted.header(), format!("{} <no-reply@acme.test>", text("Zoë, Accounts")));
        for bad in ["a@b.test, c@evil.test", "Acme <a@b.test,c@evil.test>", "A\r\nBcc: x <a@b.test>", "nobody"] {
            assert!(Sender::parse(bad).is_err(), "{bad:?}");
        }
    }
}
