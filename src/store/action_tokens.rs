//! Single-use tokens behind the links Tessera mails (verify an address, reset a password,
//! accept an invitation, confirm a new address): stored only as SHA-256, with an expiry, and
//! used at most once; issuing a newer token of a kind for an account retires the older ones.

use sqlx::FromRow;

use super::{StoreResult, Tx};

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewActionToken {
    /// SHA-256 hex of the token.
    pub token_hash: String,
    /// What the link does.
    pub kind: &'static str,
    /// The account it concerns (none for an invitation).
    pub user_id: Option<String>,
    /// The address the link was sent to.
    pub email: String,
    /// Further facts (JSON).
    pub data: String,
    /// Issue time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
}

/// A stored token.
#[derive(Debug, Clone, FromRow)]
pub struct ActionTokenRow {
    /// What the link does.
    pub kind: String,
    /// The account it concerns.
    pub user_id: Option<String>,
    /// The address the link was sent to.
    pub email: String,
    /// Further facts (JSON).
    pub data: String,
    /// Expiry.
    pub expires_at: i64,
    /// Set once used (or retired by a newer token).
    pub used_at: Option<i64>,
}

impl Tx {
    /// Stores a token, retiring the unused ones of the same kind for the same account (or,
    /// without an account, the same address). "This wasn't me" links are not retired: each
    /// new-device mail's link keeps working.
    pub async fn insert_action_token(&mut self, token: &NewActionToken) -> StoreResult<()> {
        sqlx::query(
            "UPDATE action_tokens SET used_at = $1 WHERE kind = $2 AND kind <> 'not_me' AND used_at IS NULL \
             AND (user_id = $3 OR (user_id IS NULL AND $3 IS NULL AND email = $4))",
        )
        .bind(token.created_at)
        .bind(token.kind)
        .bind(&token.user_id)
        .bind(&token.email)
        .execute(self.c())
        .await?;
        sqlx::query(
            "INSERT INTO action_tokens (token_hash, kind, user_id, email, data, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&token.token_hash)
        .bind(token.kind)
        .bind(&token.user_id)
        .bind(&token.email)
        .bind(&token.data)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// A token by hash and kind, used or not.
    pub async fn find_action_token(
        &mut self,
        token_hash: &str,
        kind: &str,
    ) -> StoreResult<Option<ActionTokenRow>> {
        Ok(sqlx::query_as(
            "SELECT kind, user_id, email, data, expires_at, used_at FROM action_tokens \
             WHERE token_hash = $1 AND kind = $2",
        )
        .bind(token_hash)
        .bind(kind)
        .fetch_optional(self.c())
        .await?)
    }

    /// Marks a token used. True for exactly one caller, however many race for it.
    pub async fn use_action_token(&mut self, token_hash: &str, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE action_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(token_hash)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many tokens of `kind` were issued for `email` since `since` (rate limits).
    pub async fn count_action_tokens_since(
        &mut self,
        kind: &str,
        email: &str,
        since: i64,
    ) -> StoreResult<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM action_tokens WHERE kind = $1 AND email = $2 AND created_at >= $3",
        )
        .bind(kind)
        .bind(email)
        .bind(since)
        .fetch_one(self.c())
        .await?;
        Ok(n)
    }
}
