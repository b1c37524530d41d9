//! Email: the `Mailer` port, its adapters (SES v2 in the cloud, `.eml` files in the outbox
//! locally) and our own templates for the messages the service sends.

pub mod address;
pub mod header;
pub mod outbox;
pub mod ses;
pub mod templates;

use std::sync::Arc;

use async_trait::async_trait;

use self::address::Address;
use self::header::Sender;
use crate::aws::Aws;
use crate::config::{Config, MailerKind};

/// One message, rendered: a text part (which carries every link) and an HTML part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// One checked address: no list, group or comment reaches a mail system.
    pub to: Address,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Sends messages. Handlers see only this port, never an AWS type.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, message: &Message) -> anyhow::Result<()>;
}

/// The mailer the configuration names, built once per cold start.
pub async fn from_config(config: &Config, aws: &Aws) -> anyhow::Result<Arc<dyn Mailer>> {
    let sender = Sender::parse(&config.mail_from)?;
    Ok(match config.mailer {
        MailerKind::Outbox => Arc::new(outbox::Outbox::new(config.data_dir.join("outbox"), sender)),
        MailerKind::Ses => {
            let client = aws_sdk_sesv2::Client::new(aws.config().await);
            Arc::new(ses::SesMailer::new(client, sender))
        }
    })
}

/// Sends `message` after the writes it announces have committed. A failure is logged without
/// the message (its link is a secret) and reported as `false`: the caller decides whether the
/// request fails.
pub async fn deliver(mailer: &dyn Mailer, message: &Message, what: &'static str) -> bool {
    match mailer.send(message).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(what, error = %format!("{e:#}"), "email not sent");
            false
        }
    }
}
