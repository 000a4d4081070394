//! DPoP proofs seen (RFC 9449 §11.1): a proof's key thumbprint and `jti`, hashed, kept for
//! as long as the proof could be accepted, so the same proof is refused on every node.

use super::{StoreResult, Tx};

impl Tx {
    /// Records a proof; false when it was seen before (a replay).
    pub async fn remember_dpop_proof(
        &mut self,
        proof_hash: &str,
        expires_at: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO dpop_proofs (proof_hash, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(proof_hash)
        .bind(expires_at)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
