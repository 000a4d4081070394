//! The outbox as the use cases see it: a message is queued in the transaction of the change
//! that caused it, so it is sent exactly when that change commits; a sender per channel
//! (mail, back-channel logout) claims, completes and reschedules messages here.

use serde_json::Value;

use super::{ServiceResult, Services};
use crate::store::{MailRow, NewMail, Tx};

/// A sender holds a claimed message this long before another node may take it over.
const LEASE_SECS: i64 = 120;

/// Which sender a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// E-mail, rendered from `templates/mail/`.
    Mail,
    /// Logout tokens POSTed to clients (Back-Channel Logout 1.0).
    Backchannel,
}

impl Channel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Mail => "mail",
            Channel::Backchannel => "backchannel",
        }
    }
}

impl Services {
    /// Queues `template` for `to`, rendered later with `context` (the issuer is added).
    pub(crate) async fn queue_mail(
        &self,
        tx: &mut Tx,
        to: &str,
        template: &str,
        context: Value,
        now: i64,
    ) -> ServiceResult<()> {
        self.queue(tx, Channel::Mail, to, template, context, now)
            .await
    }

    /// Queues a message on a channel.
    pub(crate) async fn queue(
        &self,
        tx: &mut Tx,
        channel: Channel,
        to: &str,
        template: &str,
        context: Value,
        now: i64,
    ) -> ServiceResult<()> {
        tx.enqueue_mail(
            &NewMail {
                channel: channel.as_str(),
                recipient: to.to_string(),
                template: template.to_string(),
                context: context.to_string(),
            },
            now,
        )
        .await?;
        Ok(())
    }

    /// Claims the oldest message of `channel` due now, if any. An idle queue costs one
    /// read, no write lock.
    pub async fn claim_message(&self, channel: Channel) -> ServiceResult<Option<MailRow>> {
        let now = self.now();
        {
            let mut read = self.db.read().await?;
            if !read.mail_due(channel.as_str(), now).await? {
                return Ok(None);
            }
        }
        let mut tx = self.db.write().await?;
        let row = tx
            .claim_mail(channel.as_str(), self.now(), LEASE_SECS)
            .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Records that a claimed message went out.
    pub async fn message_sent(&self, row: &MailRow) -> ServiceResult<()> {
        let mut tx = self.db.write().await?;
        tx.mail_sent(row.id, self.now()).await?;
        Ok(tx.commit().await?)
    }

    /// Reschedules a claimed message that could not be sent: after the channel's initial
    /// retry delay, doubling with each failure up to its longest.
    pub async fn message_failed(
        &self,
        channel: Channel,
        row: &MailRow,
        error: &str,
    ) -> ServiceResult<()> {
        let settings = &self.config.settings;
        let (initial, max) = match channel {
            Channel::Mail => (
                settings.mail.retry_initial_secs,
                settings.mail.retry_max_secs,
            ),
            Channel::Backchannel => (
                settings.backchannel.retry_initial_secs,
                settings.backchannel.retry_max_secs,
            ),
        };
        let doublings = u32::try_from(row.attempts.clamp(0, 30)).unwrap_or(30);
        let delay = initial.saturating_mul(1_i64 << doublings).min(max);
        let error: String = error.chars().take(500).collect();
        let mut tx = self.db.write().await?;
        let give_up = channel == Channel::Backchannel
            && row.attempts + 1 >= settings.backchannel.max_attempts;
        if give_up {
            tracing::warn!(recipient = ?row.recipient, attempts = row.attempts + 1, %error, "logout token not delivered; giving up");
            tx.mail_abandoned(row.id, self.now(), &error).await?;
        } else {
            tx.mail_failed(row.id, self.now() + delay, &error).await?;
        }
        Ok(tx.commit().await?)
    }
}
