//! Failed sign-ins and account locks, shared by every node: failures are rows counted by
//! account and by address within a window; a lock is a row per account.

use sqlx::FromRow;

use super::{StoreResult, Tx};

/// An account's lock.
#[derive(Debug, Clone, FromRow)]
pub struct LockRow {
    /// The account (its id, or a hash of a login that names none).
    pub subject: String,
    /// When the lock began.
    pub locked_at: i64,
    /// When it ends.
    pub locked_until: i64,
    /// Locks in a row.
    pub locks: i64,
}

impl Tx {
    /// Records a failed sign-in from `ip`, counting against `subject` when given.
    pub async fn insert_sign_in_failure(
        &mut self,
        subject: Option<&str>,
        ip: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO sign_in_failures (subject, ip, at) VALUES ($1, $2, $3)")
            .bind(subject)
            .bind(ip)
            .bind(now)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// Failures counting against `subject` since `since`: their times and addresses.
    pub async fn subject_failures(
        &mut self,
        subject: &str,
        since: i64,
    ) -> StoreResult<Vec<(i64, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT at, ip FROM sign_in_failures WHERE subject = $1 AND at > $2 ORDER BY at",
        )
        .bind(subject)
        .bind(since)
        .fetch_all(self.c())
        .await?)
    }

    /// Stops the failures of `subject` counting against it (they still count for their
    /// addresses).
    pub async fn forget_subject_failures(&mut self, subject: &str) -> StoreResult<()> {
        sqlx::query("UPDATE sign_in_failures SET subject = NULL WHERE subject = $1")
            .bind(subject)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// How many failures came from `ip` since `since`, and when the `nth` newest of them
    /// (0 = the newest) happened.
    pub async fn ip_failures(
        &mut self,
        ip: &str,
        since: i64,
        nth: i64,
    ) -> StoreResult<(i64, Option<i64>)> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sign_in_failures WHERE ip = $1 AND at > $2")
                .bind(ip)
                .bind(since)
                .fetch_one(self.c())
                .await?;
        let at = sqlx::query_scalar(
            "SELECT at FROM sign_in_failures WHERE ip = $1 AND at > $2 \
             ORDER BY at DESC LIMIT 1 OFFSET $3",
        )
        .bind(ip)
        .bind(since)
        .bind(nth)
        .fetch_optional(self.c())
        .await?;
        Ok((count, at))
    }

    /// The lock row of `subject`, current or past.
    pub async fn find_lock(&mut self, subject: &str) -> StoreResult<Option<LockRow>> {
        Ok(sqlx::query_as(
            "SELECT subject, locked_at, locked_until, locks FROM lockouts WHERE subject = $1",
        )
        .bind(subject)
        .fetch_optional(self.c())
        .await?)
    }

    /// Locks `subject` until `until` as lock number `locks` in a row, unless a lock is already
    /// in force (a concurrent failure placed it): true when this call placed the lock.
    pub async fn place_lock(
        &mut self,
        subject: &str,
        user_id: Option<&str>,
        now: i64,
        until: i64,
        locks: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO lockouts (subject, user_id, locked_at, locked_until, locks) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (subject) DO UPDATE SET locked_at = $3, locked_until = $4, locks = $5 \
             WHERE lockouts.locked_until <= $3",
        )
        .bind(subject)
        .bind(user_id)
        .bind(now)
        .bind(until)
        .bind(locks)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Forgets the lock of `subject` if it has ended by `now` (a lock in force stays).
    pub async fn delete_ended_lock(&mut self, subject: &str, now: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM lockouts WHERE subject = $1 AND locked_until <= $2")
            .bind(subject)
            .bind(now)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// Removes the lock of `subject`, in force or not.
    pub async fn delete_lock(&mut self, subject: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM lockouts WHERE subject = $1")
            .bind(subject)
            .execute(self.c())
            .await?;
        Ok(())
    }
}
