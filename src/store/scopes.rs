//! The scope catalogue: the built-in OpenID Connect scopes and the custom ones an admin adds,
//! each with the description the consent page shows.

use sqlx::FromRow;

use super::{StoreResult, Tx};

/// A scope from the catalogue.
#[derive(Debug, Clone, FromRow)]
pub struct ScopeRow {
    /// Scope name.
    pub name: String,
    /// What granting it shares, in plain words.
    pub description: String,
    /// 1 for the built-in scopes, which cannot be deleted.
    pub builtin: i64,
}

impl Tx {
    /// The whole catalogue, by name.
    pub async fn list_scopes(&mut self) -> StoreResult<Vec<ScopeRow>> {
        Ok(
            sqlx::query_as("SELECT name, description, builtin FROM scopes ORDER BY name")
                .fetch_all(self.c())
                .await?,
        )
    }

    /// Adds a custom scope; false when the name is taken.
    pub async fn insert_scope(
        &mut self,
        name: &str,
        description: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO scopes (name, description, builtin, created_at) VALUES ($1, $2, 0, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(description)
        .bind(now)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a custom scope; false when there is no such custom scope.
    pub async fn delete_scope(&mut self, name: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM scopes WHERE name = $1 AND builtin = 0")
            .bind(name)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
