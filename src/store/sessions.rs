//! Login sessions. The cookie carries a random secret; only its SHA-256 is stored, so a copy
//! of the database does not hand out live sessions. `id` is the public session id (`sid`).

use sqlx::FromRow;

use super::{Db, StoreResult, flag};

/// A stored session.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    /// Public session id, the `sid` claim.
    pub id: String,
    /// Signed-in user.
    pub user_id: String,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Space-separated authentication methods (RFC 8176).
    pub amr: String,
    /// 1 when "remember me" was chosen.
    pub remember: i64,
    /// Last time the session was used (coarse).
    pub last_seen_at: i64,
    /// Ends when idle past this time.
    pub idle_expires_at: i64,
    /// Ends at this time at the latest.
    pub expires_at: i64,
}

/// A session to insert.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The row (times included).
    pub row: SessionRow,
    /// SHA-256 hex of the cookie secret.
    pub secret_hash: String,
}

impl Db {
    /// Inserts a session, deleting the one it replaces (if any) in the same transaction, so
    /// the old cookie stops working at the moment the new one is issued.
    pub async fn insert_session(
        &self,
        session: &NewSession,
        replaces: Option<&str>,
    ) -> StoreResult<()> {
        let s = &session.row;
        let mut tx = self.begin_write().await?;
        if let Some(old) = replaces {
            sqlx::query("DELETE FROM sessions WHERE id = $1")
                .bind(old)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO sessions (id, secret_hash, user_id, auth_time, amr, remember, created_at, \
             last_seen_at, idle_expires_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $4, $7, $8, $9)",
        )
        .bind(&s.id)
        .bind(&session.secret_hash)
        .bind(&s.user_id)
        .bind(s.auth_time)
        .bind(&s.amr)
        .bind(flag(s.remember != 0))
        .bind(s.last_seen_at)
        .bind(s.idle_expires_at)
        .bind(s.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Finds a live session by the hash of its cookie secret.
    pub async fn find_session(
        &self,
        secret_hash: &str,
        now: i64,
    ) -> StoreResult<Option<SessionRow>> {
        Ok(sqlx::query_as(
            "SELECT id, user_id, auth_time, amr, remember, last_seen_at, idle_expires_at, expires_at \
             FROM sessions WHERE secret_hash = $1 AND idle_expires_at > $2 AND expires_at > $2",
        )
        .bind(secret_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Records use of a session and pushes its idle deadline.
    pub async fn touch_session(&self, id: &str, now: i64, idle_expires_at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3")
            .bind(now)
            .bind(idle_expires_at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a session and revokes every grant issued under it (OIDC logout).
    pub async fn end_session(&self, id: &str, now: i64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE grants SET revoked_at = $1 WHERE session_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
