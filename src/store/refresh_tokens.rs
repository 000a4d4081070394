//! Refresh tokens: stored as SHA-256, rotated on every use; a spent token used again
//! reveals a leak and revokes its grant (RFC 9700 §4.14.2).

use sqlx::FromRow;

use super::{GrantFacts, StoreResult, Tx};

/// A refresh token joined with its grant.
#[derive(Debug, Clone, FromRow)]
pub struct RefreshRow {
    /// The grant.
    pub grant_id: String,
    /// Token expiry.
    pub expires_at: i64,
    /// Set once rotated.
    pub used_at: Option<i64>,
    /// The grant's facts.
    #[sqlx(flatten)]
    pub grant: GrantFacts,
}

/// What became of a rotation attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The old token was spent and the new one stored.
    Rotated,
    /// Someone spent the old token first.
    AlreadyUsed,
}

impl Tx {
    /// Stores a new refresh token for a grant and extends the grant to its expiry.
    pub async fn insert_refresh_token(
        &mut self,
        token_hash: &str,
        grant_id: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        insert_token(self.c(), token_hash, grant_id, now, expires_at).await
    }

    /// Finds a refresh token with its grant.
    pub async fn find_refresh_token(
        &mut self,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshRow>> {
        Ok(sqlx::query_as(
            "SELECT r.grant_id, r.expires_at, r.used_at, g.client_id, g.user_id, g.session_id, g.scope, \
             g.auth_time, g.amr, g.acr, g.revoked_at, g.resources, g.dpop_jkt \
             FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.c())
        .await?)
    }

    /// Spends `old_hash` and stores `new_hash` in one transaction; exactly one concurrent
    /// caller gets [`RotateOutcome::Rotated`].
    pub async fn rotate_refresh_token(
        &mut self,
        old_hash: &str,
        new_hash: &str,
        grant_id: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<RotateOutcome> {
        let spent = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(old_hash)
        .execute(self.c())
        .await?;
        if spent.rows_affected() != 1 {
            return Ok(RotateOutcome::AlreadyUsed);
        }
        insert_token(self.c(), new_hash, grant_id, now, expires_at).await?;
        Ok(RotateOutcome::Rotated)
    }
}

async fn insert_token(
    conn: &mut sqlx::AnyConnection,
    token_hash: &str,
    grant_id: &str,
    now: i64,
    expires_at: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(grant_id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE grants SET expires_at = $1 WHERE id = $2 AND expires_at < $1")
        .bind(expires_at)
        .bind(grant_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
