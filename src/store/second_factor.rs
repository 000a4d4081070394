//! Second factors: a TOTP credential per user (sealed secret, the last accepted step) and
//! recovery codes (keyed hashes, each usable once).

use sqlx::FromRow;

use super::{StoreResult, Tx};

/// A user's TOTP credential.
#[derive(Debug, Clone, FromRow)]
pub struct TotpRow {
    /// The secret, sealed under the master key.
    pub secret: String,
    /// When the enrolment was confirmed; `None` while it waits for its first code.
    pub confirmed_at: Option<i64>,
    /// The last time step whose code was accepted.
    pub last_step: i64,
}

impl Tx {
    /// The TOTP credential of a user, confirmed or pending.
    pub async fn find_totp(&mut self, user_id: &str) -> StoreResult<Option<TotpRow>> {
        Ok(sqlx::query_as(
            "SELECT secret, confirmed_at, last_step FROM totp_credentials WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.c())
        .await?)
    }

    /// Whether a user has a confirmed TOTP credential.
    pub async fn has_totp(&mut self, user_id: &str) -> StoreResult<bool> {
        Ok(self
            .find_totp(user_id)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some()))
    }

    /// Starts an enrolment with a sealed secret, replacing a pending one (never a confirmed
    /// one: false then).
    pub async fn insert_pending_totp(
        &mut self,
        user_id: &str,
        sealed_secret: &str,
        now: i64,
    ) -> StoreResult<bool> {
        sqlx::query("DELETE FROM totp_credentials WHERE user_id = $1 AND confirmed_at IS NULL")
            .bind(user_id)
            .execute(self.c())
            .await?;
        let done = sqlx::query(
            "INSERT INTO totp_credentials (user_id, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(sealed_secret)
        .bind(now)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Accepts the code of `step`: true only if no code of that step or a later one was
    /// accepted before (so a code works once, however many race).
    pub async fn accept_totp_step(
        &mut self,
        user_id: &str,
        step: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE totp_credentials SET last_step = $1, \
             confirmed_at = COALESCE(confirmed_at, $2) \
             WHERE user_id = $3 AND last_step < $1",
        )
        .bind(step)
        .bind(now)
        .bind(user_id)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes a user's TOTP credential and recovery codes; true when there was a credential.
    pub async fn delete_second_factor(&mut self, user_id: &str) -> StoreResult<bool> {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(self.c())
            .await?;
        let done = sqlx::query("DELETE FROM totp_credentials WHERE user_id = $1")
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Replaces a user's recovery codes with these hashes.
    pub async fn replace_recovery_codes(
        &mut self,
        user_id: &str,
        hashes: &[String],
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(self.c())
            .await?;
        for hash in hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user_id)
                .bind(hash)
                .execute(self.c())
                .await?;
        }
        Ok(())
    }

    /// Uses the recovery code with this hash: true only for an unused code of the user.
    pub async fn use_recovery_code(
        &mut self,
        user_id: &str,
        hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 \
             WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(hash)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// How many unused recovery codes a user has left.
    pub async fn count_recovery_codes(&mut self, user_id: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(self.c())
        .await?)
    }

    /// Bumps a user's device epoch, disowning every device cookie of the account.
    pub async fn bump_device_epoch(&mut self, user_id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE users SET device_epoch = device_epoch + 1 WHERE id = $1")
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(())
    }
}
