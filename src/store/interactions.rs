//! Pending authorization requests, parked while the user signs in or consents.

use sqlx::FromRow;

use super::{StoreResult, Tx};

/// A parked authorization request.
#[derive(Debug, Clone, FromRow)]
pub struct InteractionRow {
    /// Random id carried in the login and consent URLs.
    pub id: String,
    /// The client that asked.
    pub client_id: String,
    /// The validated request, serialised as JSON.
    pub request: String,
    /// The session that existed when the request was parked.
    pub prior_session_id: Option<String>,
    /// When the request arrived.
    pub created_at: i64,
    /// When it stops being resumable.
    pub expires_at: i64,
}

impl Tx {
    /// Parks a request that came from `ip`; `seq` sorts requests by arrival (oldest first).
    pub async fn insert_interaction(
        &mut self,
        row: &InteractionRow,
        ip: Option<&str>,
        seq: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO interactions (id, client_id, request, prior_session_id, created_at, expires_at, ip, seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&row.id)
        .bind(&row.client_id)
        .bind(&row.request)
        .bind(&row.prior_session_id)
        .bind(row.created_at)
        .bind(row.expires_at)
        .bind(ip)
        .bind(seq)
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// Keeps at most `keep` parked requests of `ip` (all addresses when `None`), removing
    /// the oldest; returns how many went.
    pub async fn trim_interactions(&mut self, ip: Option<&str>, keep: i64) -> StoreResult<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM interactions WHERE $1 IS NULL OR ip = $1")
                .bind(ip)
                .fetch_one(self.c())
                .await?;
        if count <= keep {
            return Ok(0);
        }
        let done = sqlx::query(
            "DELETE FROM interactions WHERE id IN (SELECT id FROM interactions \
             WHERE $1 IS NULL OR ip = $1 ORDER BY seq LIMIT $2)",
        )
        .bind(ip)
        .bind(count - keep)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected())
    }

    /// Finds a request that has not expired.
    pub async fn find_interaction(
        &mut self,
        id: &str,
        now: i64,
    ) -> StoreResult<Option<InteractionRow>> {
        Ok(sqlx::query_as(
            "SELECT id, client_id, request, prior_session_id, created_at, expires_at FROM interactions WHERE id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(self.c())
        .await?)
    }

    /// Removes a finished request.
    pub async fn delete_interaction(&mut self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM interactions WHERE id = $1")
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// Keeps a parked request alive until `expires_at` (a sign-up waits for its verification).
    pub async fn extend_interaction(&mut self, id: &str, expires_at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE interactions SET expires_at = $1 WHERE id = $2 AND expires_at < $1")
            .bind(expires_at)
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(())
    }
}
