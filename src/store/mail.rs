//! The outbox: messages (mail, and back-channel logout tokens on their own channel) written in
//! the transaction of the change that caused them, and claimed one at a time by a sender. A claim is a lease (`locked_until`) taken with a
//! conditional update, so at most one node works on a message at a time, and a node that
//! dies mid-send only delays it.

use sqlx::FromRow;

use super::{StoreResult, Tx};

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMail {
    /// Which sender takes it (`mail`, `backchannel`).
    pub channel: &'static str,
    /// The recipient's address.
    pub recipient: String,
    /// The template that renders it (`verify_email`, …).
    pub template: String,
    /// The values it is rendered with (a JSON object).
    pub context: String,
}

/// A queued message.
#[derive(Debug, Clone, FromRow)]
pub struct MailRow {
    /// Queue id.
    pub id: i64,
    /// The recipient's address.
    pub recipient: String,
    /// The template.
    pub template: String,
    /// The template's values (JSON).
    pub context: String,
    /// Failed attempts so far.
    pub attempts: i64,
}

impl Tx {
    /// Unsent messages of a channel: how many, and when the oldest was queued.
    pub async fn mail_backlog(&mut self, channel: &str) -> StoreResult<(i64, Option<i64>)> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*), MIN(created_at) FROM mail_outbox WHERE sent_at IS NULL AND channel = $1",
        )
        .bind(channel)
        .fetch_one(self.c())
        .await?)
    }

    /// Queues a message, due at once.
    pub async fn enqueue_mail(&mut self, mail: &NewMail, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO mail_outbox (created_at, recipient, template, context, next_attempt_at, channel) \
             VALUES ($1, $2, $3, $4, $1, $5)",
        )
        .bind(now)
        .bind(&mail.recipient)
        .bind(&mail.template)
        .bind(&mail.context)
        .bind(mail.channel)
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// Whether any message of a channel is due.
    pub async fn mail_due(&mut self, channel: &str, now: i64) -> StoreResult<bool> {
        let due: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM mail_outbox WHERE channel = $2 AND sent_at IS NULL AND next_attempt_at <= $1 \
             AND (locked_until IS NULL OR locked_until <= $1) LIMIT 1",
        )
        .bind(now)
        .bind(channel)
        .fetch_optional(self.c())
        .await?;
        Ok(due.is_some())
    }

    /// Claims the oldest due message of a channel for `lease` seconds; `None` when nothing is
    /// due.
    pub async fn claim_mail(
        &mut self,
        channel: &str,
        now: i64,
        lease: i64,
    ) -> StoreResult<Option<MailRow>> {
        let due: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM mail_outbox WHERE channel = $2 AND sent_at IS NULL AND next_attempt_at <= $1 \
             AND (locked_until IS NULL OR locked_until <= $1) ORDER BY id LIMIT 1",
        )
        .bind(now)
        .bind(channel)
        .fetch_optional(self.c())
        .await?;
        let Some((id,)) = due else {
            return Ok(None);
        };
        // Only the node whose update matches takes it; another that read the same id loses.
        let taken = sqlx::query(
            "UPDATE mail_outbox SET locked_until = $1 WHERE id = $2 AND sent_at IS NULL \
             AND (locked_until IS NULL OR locked_until <= $3)",
        )
        .bind(now + lease)
        .bind(id)
        .bind(now)
        .execute(self.c())
        .await?;
        if taken.rows_affected() != 1 {
            return Ok(None);
        }
        Ok(sqlx::query_as(
            "SELECT id, recipient, template, context, attempts FROM mail_outbox WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.c())
        .await?)
    }

    /// Records that a message was sent.
    pub async fn mail_sent(&mut self, id: i64, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE mail_outbox SET sent_at = $1, locked_until = NULL, last_error = NULL WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// Gives a message up after too many failed attempts: it is kept, with the error, as if
    /// done, so that no sender tries it again.
    pub async fn mail_abandoned(&mut self, id: i64, now: i64, error: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE mail_outbox SET attempts = attempts + 1, sent_at = $1, locked_until = NULL, \
             last_error = $2 WHERE id = $3",
        )
        .bind(now)
        .bind(error)
        .bind(id)
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// Records a failed attempt; the message is tried again at `retry_at`.
    pub async fn mail_failed(&mut self, id: i64, retry_at: i64, error: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = $1, \
             locked_until = NULL, last_error = $2 WHERE id = $3",
        )
        .bind(retry_at)
        .bind(error)
        .bind(id)
        .execute(self.c())
        .await?;
        Ok(())
    }
}
