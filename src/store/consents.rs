//! Remembered consent: which scopes a user allowed a client.

use super::{StoreResult, Tx};

impl Tx {
    /// The scopes a user allowed a client, if any.
    pub async fn find_consent(
        &mut self,
        user_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2")
                .bind(user_id)
                .bind(client_id)
                .fetch_optional(self.c())
                .await?;
        Ok(row.map(|(s,)| s))
    }

    /// Records (or replaces) the scopes a user allowed a client.
    pub async fn save_consent(
        &mut self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO consents (user_id, client_id, scope, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(scope)
        .bind(now)
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// The consents a user gave: client id, client name, scopes and when, newest first.
    pub async fn list_user_consents(
        &mut self,
        user_id: &str,
    ) -> StoreResult<Vec<(String, String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT c.client_id, k.name, c.scope, c.updated_at FROM consents c \
             JOIN clients k ON k.id = c.client_id WHERE c.user_id = $1 ORDER BY c.updated_at DESC",
        )
        .bind(user_id)
        .fetch_all(self.c())
        .await?)
    }

    /// Forgets a user's consent to a client; false when there was none.
    pub async fn delete_consent(&mut self, user_id: &str, client_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
