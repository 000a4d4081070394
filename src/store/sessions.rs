//! Login sessions. The cookie carries a random secret; only its SHA-256 is stored, so a copy
//! of the database does not hand out live sessions. `id` is the public session id (`sid`).

use sqlx::FromRow;

use super::{StoreResult, Tx, flag};
use crate::auth::session::Stage;

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
    /// The Authentication Context Class Reference the sign-in met.
    pub acr: String,
    /// `complete`, or the step still missing (`second_factor`): a half-signed-in session
    /// serves only that step.
    pub stage: String,
    /// 1 when "remember me" was chosen.
    pub remember: i64,
    /// Last time the session was used (coarse).
    pub last_seen_at: i64,
    /// Ends when idle past this time.
    pub idle_expires_at: i64,
    /// Ends at this time at the latest.
    pub expires_at: i64,
    /// Client IP at sign-in.
    pub ip: Option<String>,
    /// User agent at sign-in.
    pub user_agent: Option<String>,
}

/// The columns of a [`SessionRow`], of the sessions table named `s`.
const SESSION_COLUMNS: &str = "s.id, s.user_id, s.auth_time, s.amr, s.acr, s.stage, s.remember, \
     s.last_seen_at, s.idle_expires_at, s.expires_at, s.ip, s.user_agent";

/// A session to insert.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The row (times included).
    pub row: SessionRow,
    /// SHA-256 hex of the cookie secret.
    pub secret_hash: String,
}

impl Tx {
    /// Inserts a session.
    pub async fn insert_session(&mut self, session: &NewSession) -> StoreResult<()> {
        let s = &session.row;
        sqlx::query(
            "INSERT INTO sessions (id, secret_hash, user_id, auth_time, amr, acr, stage, remember, \
             created_at, last_seen_at, idle_expires_at, expires_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $4, $9, $10, $11, $12, $13)",
        )
        .bind(&s.id)
        .bind(&session.secret_hash)
        .bind(&s.user_id)
        .bind(s.auth_time)
        .bind(&s.amr)
        .bind(&s.acr)
        .bind(&s.stage)
        .bind(flag(s.remember != 0))
        .bind(s.last_seen_at)
        .bind(s.idle_expires_at)
        .bind(s.expires_at)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// Finds a live session (complete or half signed in) by the hash of its cookie secret.
    pub async fn find_session(
        &mut self,
        secret_hash: &str,
        now: i64,
    ) -> StoreResult<Option<SessionRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s \
                 WHERE s.secret_hash = $1 AND s.idle_expires_at > $2 AND s.expires_at > $2"
        )))
        .bind(secret_hash)
        .bind(now)
        .fetch_optional(self.c())
        .await?)
    }

    /// Finds a live, fully signed-in session of an enabled user by the hash of its cookie
    /// secret: what a request acting for a user needs, in one statement.
    pub async fn find_signed_in_session(
        &mut self,
        secret_hash: &str,
        now: i64,
    ) -> StoreResult<Option<SessionRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.secret_hash = $1 AND s.idle_expires_at > $2 AND s.expires_at > $2 \
                 AND s.stage = $3 AND u.enabled = 1"
        )))
        .bind(secret_hash)
        .bind(now)
        .bind(Stage::Complete.as_str())
        .fetch_optional(self.c())
        .await?)
    }

    /// Records use of a session and pushes its idle deadline.
    pub async fn touch_session(
        &mut self,
        id: &str,
        now: i64,
        idle_expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3")
            .bind(now)
            .bind(idle_expires_at)
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// Counts a wrong second-factor code against a session; returns how many it has now.
    pub async fn add_factor_failure(&mut self, id: &str) -> StoreResult<i64> {
        sqlx::query("UPDATE sessions SET factor_failures = factor_failures + 1 WHERE id = $1")
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(
            sqlx::query_scalar("SELECT factor_failures FROM sessions WHERE id = $1")
                .bind(id)
                .fetch_optional(self.c())
                .await?
                .unwrap_or(0),
        )
    }

    /// Deletes a session; false when it was already gone.
    pub async fn delete_session(&mut self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes every session of a user; returns how many there were.
    pub async fn delete_user_sessions(&mut self, user_id: &str) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected())
    }

    /// Every live session of a user, newest first.
    pub async fn list_user_sessions(
        &mut self,
        user_id: &str,
        now: i64,
    ) -> StoreResult<Vec<SessionRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s \
             WHERE s.user_id = $1 AND s.idle_expires_at > $2 AND s.expires_at > $2 \
             ORDER BY s.auth_time DESC"
        )))
        .bind(user_id)
        .bind(now)
        .fetch_all(self.c())
        .await?)
    }
}
