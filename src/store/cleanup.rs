//! Removal of expired rows. Idempotent deletes, so every node may run it at once.

use super::{StoreResult, Tx};

impl Tx {
    /// Deletes expired sessions, interactions, codes, refresh tokens, revoked-token marks and
    /// grants that nothing can use any more. Returns how many rows went.
    pub async fn delete_expired(&mut self, now: i64) -> StoreResult<u64> {
        let statements = [
            "DELETE FROM sessions WHERE expires_at <= $1 OR idle_expires_at <= $1",
            "DELETE FROM interactions WHERE expires_at <= $1",
            "DELETE FROM codes WHERE expires_at <= $1",
            "DELETE FROM refresh_tokens WHERE expires_at <= $1",
            "DELETE FROM revoked_access_tokens WHERE expires_at <= $1",
            "DELETE FROM grants WHERE expires_at <= $1",
            "DELETE FROM action_tokens WHERE expires_at <= $1",
            "DELETE FROM pushed_requests WHERE expires_at <= $1",
            "DELETE FROM device_codes WHERE expires_at <= $1",
            "DELETE FROM initial_access_tokens WHERE expires_at <= $1",
            // Clients of metadata documents nobody used for 30 days after their document went
            // stale: anyone can create them, so they must not pile up.
            "DELETE FROM clients WHERE document_expires_at IS NOT NULL \
             AND document_expires_at <= $1 - 2592000 \
             AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.client_id = clients.id)",
            "DELETE FROM seen_jwts WHERE expires_at <= $1",
            // Failures count for at most 15 minutes; locks are remembered a day after they
            // end, so the next one in a row lasts longer.
            "DELETE FROM sign_in_failures WHERE at <= $1 - 3600",
            "DELETE FROM lockouts WHERE locked_until <= $1 - 86400",
            // Sent mail is kept a week, to answer "did it go out?".
            "DELETE FROM mail_outbox WHERE sent_at IS NOT NULL AND sent_at <= $1 - 604800",
        ];
        let mut removed = 0;
        for sql in statements {
            removed += sqlx::query(sql)
                .bind(now)
                .execute(self.c())
                .await?
                .rows_affected();
        }
        Ok(removed)
    }
}
