//! The cloud mail adapter: SES v2 `SendEmail` from the configured sender identity, with the
//! message's text and HTML parts (SES builds the MIME document).

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message as SesMessage};

use super::header::Sender;
use super::{Mailer, Message};

pub struct SesMailer {
    client: Client,
    from: Sender,
}

impl SesMailer {
    pub fn new(client: Client, from: Sender) -> SesMailer {
        SesMailer { client, from }
    }
}

fn utf8(data: &str) -> anyhow::Result<Content> {
    Content::builder().data(data).charset("UTF-8").build().context("building SES content")
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, message: &Message) -> anyhow::Result<()> {
        let body = Body::builder().text(utf8(&message.text)?).html(utf8(&message.html)?).build();
        let content = SesMessage::builder().subject(utf8(&message.subject)?).body(body).build();
        let sent = self
            .client
            .send_email()
            .from_email_address(self.from.header())
            .destination(Destination::builder().to_addresses(message.to.as_str()).build())
            .content(EmailContent::builder().simple(content).build())
            .send()
            .await
            .context("SES SendEmail")?;
        tracing::info!(message_id = sent.message_id().unwrap_or("-"), "email sent through SES");
        Ok(())
    }
}
