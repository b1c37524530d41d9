//! Email: the transactional outbox requests post letters to, its delivery, the `Mailer` port
//! with its adapters (SES v2 in the cloud, `.eml` files locally) and our own templates.

pub mod address;
pub mod delivery;
pub mod eml;
pub mod header;
pub mod outbox;
pub mod seal;
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

/// Sends messages: only delivery (`mail::delivery`) does, never a request.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, message: &Message) -> anyhow::Result<()>;
}

/// The mailer the configuration names, built once per cold start.
pub async fn from_config(config: &Config, aws: &Aws) -> anyhow::Result<Arc<dyn Mailer>> {
    let sender = Sender::parse(&config.mail_from)?;
    Ok(match config.mailer {
        MailerKind::Outbox => Arc::new(eml::EmlFolder::new(config.data_dir.join("outbox"), sender)),
        MailerKind::Ses => {
            let client = aws_sdk_sesv2::Client::new(aws.config().await);
            Arc::new(ses::SesMailer::new(client, sender))
        }
    })
}
