//! Registered OAuth clients. List-valued fields are stored space-separated (none of their
//! values can contain a space).

use sqlx::FromRow;

use super::{StoreResult, Tx, flag};

/// A stored client.
#[derive(Debug, Clone, FromRow)]
pub struct ClientRow {
    /// client_id.
    pub id: String,
    /// Name shown on the consent page.
    pub name: String,
    /// SHA-256 hex of the secret; none for public clients.
    pub secret_hash: Option<String>,
    /// 1 for public clients.
    pub public: i64,
    /// Space-separated redirect URIs.
    pub redirect_uris: String,
    /// Space-separated post-logout redirect URIs.
    pub post_logout_redirect_uris: String,
    /// Space-separated grant types.
    pub grant_types: String,
    /// Space-separated allowed scopes.
    pub scopes: String,
    /// Space-separated roles of the client itself (client_credentials).
    pub roles: String,
    /// 1 when users are not asked for consent.
    pub skip_consent: i64,
    /// ID token signing algorithm.
    pub id_token_alg: String,
    /// 1 when sign-ins for this client need two factors.
    pub require_mfa: i64,
    /// Creation time.
    pub created_at: i64,
    /// 1 when the client may leave PKCE out.
    pub allow_no_pkce: i64,
    /// 1 for a resource server that may introspect any token.
    pub introspect_any: i64,
    /// 1 when authorization requests must be pushed.
    pub require_par: i64,
    /// 1 when access tokens must be DPoP-bound.
    pub require_dpop: i64,
    /// Space-separated resource indicators.
    pub resources: String,
    /// Back-channel logout URI.
    pub backchannel_logout_uri: Option<String>,
    /// 1 when logout tokens must carry `sid`.
    pub backchannel_logout_session_required: i64,
    /// `client_secret_basic`, `none` or `private_key_jwt` (empty: from `public`).
    pub auth_method: String,
    /// Inline JWKS (JSON).
    pub jwks: Option<String>,
    /// Where the JWKS is published.
    pub jwks_uri: Option<String>,
    /// 1 for self-registered clients.
    pub self_registered: i64,
    /// 0 when an admin switched the client off.
    pub enabled: i64,
    /// SHA-256 of the registration access token (RFC 7592).
    pub registration_token_hash: Option<String>,
    /// Further metadata (JSON).
    pub metadata: String,
    /// When a metadata document must be fetched again.
    pub document_expires_at: Option<i64>,
}

const CLIENT_COLUMNS: &str = "id, name, secret_hash, public, redirect_uris, post_logout_redirect_uris, \
     grant_types, scopes, roles, skip_consent, id_token_alg, created_at, require_mfa, allow_no_pkce, \
     introspect_any, require_par, require_dpop, resources, backchannel_logout_uri, \
     backchannel_logout_session_required, auth_method, jwks, jwks_uri, self_registered, enabled, \
     registration_token_hash, metadata, document_expires_at";

impl Tx {
    /// Inserts a client.
    pub async fn insert_client(&mut self, c: &ClientRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO clients (id, name, secret_hash, public, redirect_uris, post_logout_redirect_uris, \
             grant_types, scopes, roles, skip_consent, id_token_alg, created_at, updated_at, require_mfa, \
             allow_no_pkce, introspect_any, require_par, require_dpop, resources, backchannel_logout_uri, \
             backchannel_logout_session_required, auth_method, jwks, jwks_uri, self_registered, enabled, \
             registration_token_hash, metadata, document_expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
             $21, $22, $23, $24, $25, $26, $27, $28)",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.secret_hash)
        .bind(c.public)
        .bind(&c.redirect_uris)
        .bind(&c.post_logout_redirect_uris)
        .bind(&c.grant_types)
        .bind(&c.scopes)
        .bind(&c.roles)
        .bind(flag(c.skip_consent != 0))
        .bind(&c.id_token_alg)
        .bind(c.created_at)
        .bind(flag(c.require_mfa != 0))
        .bind(flag(c.allow_no_pkce != 0))
        .bind(flag(c.introspect_any != 0))
        .bind(flag(c.require_par != 0))
        .bind(flag(c.require_dpop != 0))
        .bind(&c.resources)
        .bind(&c.backchannel_logout_uri)
        .bind(flag(c.backchannel_logout_session_required != 0))
        .bind(&c.auth_method)
        .bind(&c.jwks)
        .bind(&c.jwks_uri)
        .bind(flag(c.self_registered != 0))
        .bind(flag(c.enabled != 0))
        .bind(&c.registration_token_hash)
        .bind(&c.metadata)
        .bind(c.document_expires_at)
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// Replaces everything a client registered about itself (RFC 7592 §2.2).
    pub async fn replace_client_metadata(&mut self, c: &ClientRow, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE clients SET name = $1, redirect_uris = $2, post_logout_redirect_uris = $3, \
             grant_types = $4, scopes = $5, id_token_alg = $6, auth_method = $7, jwks = $8, \
             jwks_uri = $9, backchannel_logout_uri = $10, metadata = $11, updated_at = $12, \
             public = $14, document_expires_at = $15, secret_hash = $16 WHERE id = $13",
        )
        .bind(&c.name)
        .bind(&c.redirect_uris)
        .bind(&c.post_logout_redirect_uris)
        .bind(&c.grant_types)
        .bind(&c.scopes)
        .bind(&c.id_token_alg)
        .bind(&c.auth_method)
        .bind(&c.jwks)
        .bind(&c.jwks_uri)
        .bind(&c.backchannel_logout_uri)
        .bind(&c.metadata)
        .bind(now)
        .bind(&c.id)
        .bind(flag(c.public != 0))
        .bind(c.document_expires_at)
        .bind(&c.secret_hash)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Switches a client on or off; false when there is no such client.
    pub async fn set_client_enabled(
        &mut self,
        id: &str,
        enabled: bool,
        now: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE clients SET enabled = $1, updated_at = $2 WHERE id = $3")
            .bind(flag(enabled))
            .bind(now)
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The SHA-256 of a client's registration access token, if it has one.
    pub async fn client_registration_token(&mut self, id: &str) -> StoreResult<Option<String>> {
        let hash: Option<Option<String>> =
            sqlx::query_scalar("SELECT registration_token_hash FROM clients WHERE id = $1")
                .bind(id)
                .fetch_optional(self.c())
                .await?;
        Ok(hash.flatten())
    }

    /// Stores an initial access token for dynamic registration.
    pub async fn insert_initial_token(
        &mut self,
        token_hash: &str,
        now: i64,
        expires_at: i64,
        uses: Option<i64>,
        allow_client_credentials: bool,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO initial_access_tokens (token_hash, created_at, expires_at, uses_left, \
             allow_client_credentials) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(now)
        .bind(expires_at)
        .bind(uses)
        .bind(flag(allow_client_credentials))
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// Spends one use of a live initial access token; returns whether it allows
    /// client_credentials, or `None` when it is unknown, expired or used up.
    pub async fn spend_initial_token(
        &mut self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<bool>> {
        let done = sqlx::query(
            "UPDATE initial_access_tokens SET uses_left = uses_left - 1 WHERE token_hash = $1 \
             AND expires_at > $2 AND (uses_left IS NULL OR uses_left > 0)",
        )
        .bind(token_hash)
        .bind(now)
        .execute(self.c())
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        let allow: Option<i64> = sqlx::query_scalar(
            "SELECT allow_client_credentials FROM initial_access_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.c())
        .await?;
        Ok(allow.map(|a| a != 0))
    }

    /// Replaces the settings of a client an admin may change after registration.
    pub async fn update_client_settings(&mut self, c: &ClientRow, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE clients SET allow_no_pkce = $1, introspect_any = $2, require_par = $3, \
             require_dpop = $4, resources = $5, backchannel_logout_uri = $6, \
             backchannel_logout_session_required = $7, updated_at = $8, jwks = $10, jwks_uri = $11, \
             auth_method = $12, secret_hash = $14, name = $15, redirect_uris = $16, \
             post_logout_redirect_uris = $17, grant_types = $18, scopes = $19, roles = $20, \
             skip_consent = $21, require_mfa = $22, id_token_alg = $13 WHERE id = $9",
        )
        .bind(flag(c.allow_no_pkce != 0))
        .bind(flag(c.introspect_any != 0))
        .bind(flag(c.require_par != 0))
        .bind(flag(c.require_dpop != 0))
        .bind(&c.resources)
        .bind(&c.backchannel_logout_uri)
        .bind(flag(c.backchannel_logout_session_required != 0))
        .bind(now)
        .bind(&c.id)
        .bind(&c.jwks)
        .bind(&c.jwks_uri)
        .bind(&c.auth_method)
        .bind(&c.id_token_alg)
        .bind(&c.secret_hash)
        .bind(&c.name)
        .bind(&c.redirect_uris)
        .bind(&c.post_logout_redirect_uris)
        .bind(&c.grant_types)
        .bind(&c.scopes)
        .bind(&c.roles)
        .bind(flag(c.skip_consent != 0))
        .bind(flag(c.require_mfa != 0))
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Finds a client by id.
    pub async fn find_client(&mut self, id: &str) -> StoreResult<Option<ClientRow>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.c())
            .await?)
    }

    /// Every client, by id.
    pub async fn list_clients(&mut self) -> StoreResult<Vec<ClientRow>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients ORDER BY id");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.c())
            .await?)
    }

    /// How many clients exist.
    pub async fn count_clients(&mut self) -> StoreResult<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM clients")
            .fetch_one(self.c())
            .await?;
        Ok(n)
    }

    /// Replaces a client's secret hash; false when no such client.
    pub async fn set_client_secret(
        &mut self,
        id: &str,
        secret_hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE clients SET secret_hash = $1, updated_at = $2 WHERE id = $3 AND public = 0 \
             AND jwks IS NULL AND jwks_uri IS NULL",
        )
        .bind(secret_hash)
        .bind(now)
        .bind(id)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Replaces a client's own roles.
    pub async fn update_client_roles(
        &mut self,
        id: &str,
        roles: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE clients SET roles = $1, updated_at = $2 WHERE id = $3")
            .bind(roles)
            .bind(now)
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// Replaces the scopes a client may ask for.
    pub async fn update_client_scopes(
        &mut self,
        id: &str,
        scopes: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE clients SET scopes = $1, updated_at = $2 WHERE id = $3")
            .bind(scopes)
            .bind(now)
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// Deletes a client and, by cascade, its grants, codes and consents.
    pub async fn delete_client(&mut self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM clients WHERE id = $1")
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
