//! Pushed authorization requests (RFC 9126): stored under the SHA-256 of their
//! `request_uri`, taken exactly once.

use super::{StoreResult, Tx};

impl Tx {
    /// Stores a pushed request's parameters (JSON).
    pub async fn insert_pushed_request(
        &mut self,
        uri_hash: &str,
        client_id: &str,
        params: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO pushed_requests (uri_hash, client_id, params, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(uri_hash)
        .bind(client_id)
        .bind(params)
        .bind(expires_at)
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// Takes a client's pushed request: it is deleted, so of concurrent uses on any nodes
    /// exactly one gets it. Returns its parameters and expiry.
    pub async fn take_pushed_request(
        &mut self,
        uri_hash: &str,
        client_id: &str,
    ) -> StoreResult<Option<(String, i64)>> {
        Ok(sqlx::query_as(
            "DELETE FROM pushed_requests WHERE uri_hash = $1 AND client_id = $2 RETURNING params, expires_at",
        )
        .bind(uri_hash)
        .bind(client_id)
        .fetch_optional(self.c())
        .await?)
    }
}
