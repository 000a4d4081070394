//! Signing keys, private parts encrypted by the caller. `(alg, generation)` is unique, so
//! nodes racing to create or rotate a key agree on one winner.

use sqlx::FromRow;

use super::{StoreResult, Tx};

/// A stored signing key.
#[derive(Debug, Clone, FromRow)]
pub struct KeyRow {
    /// Key id.
    pub kid: String,
    /// JOSE algorithm.
    pub alg: String,
    /// 1 for the first key of an algorithm, then one more per rotation.
    pub generation: i64,
    /// The private JWK, encrypted under the master key (compact JWE).
    pub private_jwe: String,
    /// The public JWK as JSON.
    pub public_jwk: String,
    /// Creation time.
    pub created_at: i64,
    /// From when it signs.
    pub activate_at: i64,
}

impl Tx {
    /// When the newest signing key was made.
    pub async fn newest_key_created_at(&mut self) -> StoreResult<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT MAX(created_at) FROM signing_keys")
                .fetch_one(self.c())
                .await?,
        )
    }

    /// Every key, oldest generation first.
    pub async fn list_keys(&mut self) -> StoreResult<Vec<KeyRow>> {
        Ok(sqlx::query_as(
            "SELECT kid, alg, generation, private_jwe, public_jwk, created_at, activate_at \
             FROM signing_keys ORDER BY alg, generation",
        )
        .fetch_all(self.c())
        .await?)
    }

    /// Inserts a key unless its generation exists already; true when this call won.
    pub async fn insert_key(&mut self, key: &KeyRow) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO signing_keys (kid, alg, generation, private_jwe, public_jwk, created_at, activate_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(key.generation)
        .bind(&key.private_jwe)
        .bind(&key.public_jwk)
        .bind(key.created_at)
        .bind(key.activate_at)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes keys that no token can still need.
    pub async fn delete_keys(&mut self, kids: &[String]) -> StoreResult<()> {
        for kid in kids {
            sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
                .bind(kid)
                .execute(self.c())
                .await?;
        }
        Ok(())
    }
}
