//! JWTs seen (RFC 9449 §11.1 for DPoP proofs, RFC 7523 §3 for client assertions): a hash of
//! what identifies one, kept for as long as it could be accepted, so the same JWT is refused
//! on every node.

use super::{StoreResult, Tx};

impl Tx {
    /// Records a JWT; false when it was seen before (a replay).
    pub async fn remember_jwt(&mut self, hash: &str, expires_at: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO seen_jwts (proof_hash, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(hash)
        .bind(expires_at)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
