//! The local mail adapter: each message becomes one RFC 5322 `.eml` file (multipart/alternative,
//! text then HTML) in the outbox folder, named so that files sort in the order they were sent.

use std::path::{Path, PathBuf};

use anyhow::Context;
use async_trait::async_trait;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

use super::header::{self, Sender};
use super::{Mailer, Message};

pub struct EmlFolder {
    dir: PathBuf,
    from: Sender,
}

impl EmlFolder {
    pub fn new(dir: PathBuf, from: Sender) -> EmlFolder {
        EmlFolder { dir, from }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Lines of a body part ending in CRLF, as RFC 5322 requires.
fn crlf(body: &str) -> String {
    body.lines().map(|l| format!("{l}\r\n")).collect()
}

/// The message as an RFC 5322 document.
pub fn render_eml(from: &Sender, message: &Message, id: &str, date: OffsetDateTime) -> String {
    let boundary = format!("=_iam_{id}");
    let date = date.format(&Rfc2822).unwrap_or_default();
    let part = |media: &str, body: &str| {
        format!(
            "--{boundary}\r\nContent-Type: {media}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
            crlf(body)
        )
    };
    format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: <{id}@iam.local>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n{}{}--{boundary}--\r\n",
        from.header(),
        message.to,
        header::text(&message.subject),
        part("text/plain", &message.text),
        part("text/html", &message.html),
    )
}

#[async_trait]
impl Mailer for EmlFolder {
    async fn send(&self, message: &Message) -> anyhow::Result<()> {
        let id = uuid::Uuid::now_v7().to_string();
        let eml = render_eml(&self.from, message, &id, OffsetDateTime::now_utc());
        tokio::fs::create_dir_all(&self.dir).await.with_context(|| format!("creating {}", self.dir.display()))?;
        // Written aside, then renamed: a reader of the outbox never sees half a message.
        let (partial, done) = (self.dir.join(format!(".{id}.partial")), self.dir.join(format!("{id}.eml")));
        tokio::fs::write(&partial, eml).await.with_context(|| format!("writing {}", partial.display()))?;
        tokio::fs::rename(&partial, &done).await.with_context(|| format!("renaming to {}", done.display()))?;
        tracing::info!(file = %done.display(), "email written to the outbox");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::address::Address;

    fn sender() -> Sender {
        Sender::parse("IAM <no-reply@example.com>").unwrap()
    }

    fn message() -> Message {
        Message {
            to: Address::parse("ann@example.com").unwrap(),
            subject: "Willkommen, Änne".into(),
            text: "Hello\nhttp://x/join?token=abc".into(),
            html: "<p>Hello</p>".into(),
        }
    }

    #[test]
    fn an_eml_has_headers_a_text_part_and_an_html_part() {
        let eml = render_eml(&sender(), &message(), "0193", OffsetDateTime::UNIX_EPOCH);
        let (head, body) = eml.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("From: IAM <no-reply@example.com>\r\n"));
        assert!(head.contains("To: ann@example.com\r\n"));
        assert!(head.contains("Subject: =?utf-8?B?"), "non-ASCII subjects are encoded: {head}");
        assert!(head.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"));
        assert!(head.contains("multipart/alternative; boundary=\"=_iam_0193\""));
        let text = body.find("text/plain").unwrap();
        let html = body.find("text/html").unwrap();
        assert!(text < html, "text first, so the richest part comes last");
        assert!(body.contains("http://x/join?token=abc\r\n"));
        assert!(body.ends_with("--=_iam_0193--\r\n"));
    }

    #[test]
    fn header_values_cannot_inject_headers() {
        let mut m = message();
        m.subject = "Hi\r\nBcc: eve@example.com".into();
        let from = Sender::parse("Zoë \u{2028} Accounts <a@b.co>").unwrap();
        let eml = render_eml(&from, &m, "1", OffsetDateTime::UNIX_EPOCH);
        let (head, _) = eml.split_once("\r\n\r\n").unwrap();
        assert!(!head.contains("Bcc:"), "{head}");
        assert!(head.contains("From: =?utf-8?B?"), "{head}");
        assert!(head.lines().all(|l| l.is_ascii() && l.len() <= 78), "{head}");
    }

    #[tokio::test]
    async fn each_message_is_one_file_in_sending_order() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = EmlFolder::new(dir.path().join("outbox"), sender());
        outbox.send(&message()).await.unwrap();
        let mut second = message();
        second.to = Address::parse("bob@example.com").unwrap();
        outbox.send(&second).await.unwrap();
        let mut files: Vec<_> = std::fs::read_dir(outbox.dir()).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        assert_eq!(files.len(), 2);
        assert!(files.iter().all(|f| f.extension().is_some_and(|e| e == "eml")));
        assert!(std::fs::read_to_string(&files[1]).unwrap().contains("To: bob@example.com"));
    }
}
