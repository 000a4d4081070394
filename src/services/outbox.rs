//! The mail outbox as the use cases see it: a message is queued in the transaction of the
//! change that caused it, so it is sent exactly when that change commits; the sender claims,
//! completes and reschedules messages here.

use serde_json::Value;

use super::{ServiceResult, Services};
use crate::store::{MailRow, NewMail, Tx};

/// A sender holds a claimed message this long before another node may take it over.
const LEASE_SECS: i64 = 120;

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
        tx.enqueue_mail(
            &NewMail {
                recipient: to.to_string(),
                template: template.to_string(),
                context: context.to_string(),
            },
            now,
        )
        .await?;
        Ok(())
    }

    /// Claims the oldest message due now, if any. An idle queue costs one read, no write
    /// lock.
    pub async fn claim_mail(&self) -> ServiceResult<Option<MailRow>> {
        let now = self.now();
        {
            let mut read = self.db.read().await?;
            if !read.mail_due(now).await? {
                return Ok(None);
            }
        }
        let mut tx = self.db.write().await?;
        let row = tx.claim_mail(self.now(), LEASE_SECS).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Records that a claimed message went out.
    pub async fn mail_sent(&self, row: &MailRow) -> ServiceResult<()> {
        let mut tx = self.db.write().await?;
        tx.mail_sent(row.id, self.now()).await?;
        Ok(tx.commit().await?)
    }

    /// Reschedules a claimed message that could not be sent: after `mail.retry_initial_secs`,
    /// doubling with each failure, at most `mail.retry_max_secs`.
    pub async fn mail_failed(&self, row: &MailRow, error: &str) -> ServiceResult<()> {
        let settings = &self.config.settings.mail;
        let doublings = u32::try_from(row.attempts.clamp(0, 30)).unwrap_or(30);
        let delay = settings
            .retry_initial_secs
            .saturating_mul(1_i64 << doublings)
            .min(settings.retry_max_secs);
        let error: String = error.chars().take(500).collect();
        let mut tx = self.db.write().await?;
        tx.mail_failed(row.id, self.now() + delay, &error).await?;
        Ok(tx.commit().await?)
    }
}
