//! Authorization codes (RFC 6749 §4.1.2): stored as SHA-256, single use, bound to a grant.

use sqlx::FromRow;

use super::{GrantFacts, StoreResult, Tx};

/// A code joined with its grant.
#[derive(Debug, Clone, FromRow)]
pub struct CodeRow {
    /// The grant the code belongs to.
    pub grant_id: String,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// OIDC nonce.
    pub nonce: Option<String>,
    /// Expiry.
    pub expires_at: i64,
    /// Set once redeemed.
    pub consumed_at: Option<i64>,
    /// The DPoP key the token request must prove (RFC 9449 §10).
    pub code_dpop_jkt: Option<String>,
    /// The grant.
    #[sqlx(flatten)]
    pub grant: GrantFacts,
}

/// A code to insert.
#[derive(Debug, Clone)]
pub struct NewCode {
    /// SHA-256 hex of the code.
    pub code_hash: String,
    /// Grant id.
    pub grant_id: String,
    /// Redirect URI used.
    pub redirect_uri: String,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// OIDC nonce.
    pub nonce: Option<String>,
    /// The DPoP key the token request must prove.
    pub dpop_jkt: Option<String>,
    /// Expiry.
    pub expires_at: i64,
}

impl Tx {
    /// Inserts a code.
    pub async fn insert_code(&mut self, code: &NewCode) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO codes (code_hash, grant_id, redirect_uri, code_challenge, nonce, expires_at, dpop_jkt) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&code.code_hash)
        .bind(&code.grant_id)
        .bind(&code.redirect_uri)
        .bind(&code.code_challenge)
        .bind(&code.nonce)
        .bind(code.expires_at)
        .bind(&code.dpop_jkt)
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// Finds a code with its grant.
    pub async fn find_code(&mut self, code_hash: &str) -> StoreResult<Option<CodeRow>> {
        Ok(sqlx::query_as(
            "SELECT c.grant_id, g.client_id, c.redirect_uri, c.code_challenge, c.nonce, c.expires_at, \
             c.consumed_at, c.dpop_jkt AS code_dpop_jkt, g.user_id, g.session_id, g.scope, g.auth_time, g.amr, \
             g.acr, g.revoked_at, g.resources, g.dpop_jkt \
             FROM codes c JOIN grants g ON g.id = c.grant_id WHERE c.code_hash = $1",
        )
        .bind(code_hash)
        .fetch_optional(self.c())
        .await?)
    }

    /// Marks a code used. True for exactly one caller, however many nodes race for it.
    pub async fn consume_code(&mut self, code_hash: &str, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE codes SET consumed_at = $1 WHERE code_hash = $2 AND consumed_at IS NULL",
        )
        .bind(now)
        .bind(code_hash)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
