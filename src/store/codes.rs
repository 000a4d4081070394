//! Authorization codes (RFC 6749 §4.1.2): stored as SHA-256, single use, bound to a grant.

use sqlx::FromRow;

use super::audit::bind_event;
use super::users::{UserRow, UserWithRole, user_with_role_columns, with_roles};
use super::{Backend, Db, GrantFacts, NewAuditEvent, NewGrant, StoreResult, Tx};

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

/// A code with its grant, joined with its user and one of the user's roles.
const FIND_CODE: &str = concat!(
    "SELECT c.grant_id, g.client_id, c.redirect_uri, c.code_challenge, c.nonce, c.expires_at, \
     c.consumed_at, c.dpop_jkt AS code_dpop_jkt, g.user_id, g.session_id, g.scope, g.auth_time, g.amr, \
     g.acr, g.revoked_at, g.resources, g.dpop_jkt, ",
    user_with_role_columns!(),
    " FROM codes c JOIN grants g ON g.id = c.grant_id JOIN users u ON u.id = g.user_id \
     LEFT JOIN user_roles r ON r.user_id = u.id WHERE c.code_hash = $1 ORDER BY r.role_name"
);

/// One row of [`FIND_CODE`].
#[derive(FromRow)]
struct CodeWithUserRole {
    #[sqlx(flatten)]
    code: CodeRow,
    #[sqlx(flatten)]
    user: UserWithRole,
}

impl Tx {
    /// Finds a code with its grant, and the grant's user with their roles: what redeeming it
    /// reads, in one statement.
    pub async fn find_code(
        &mut self,
        code_hash: &str,
    ) -> StoreResult<Option<(CodeRow, UserRow, Vec<String>)>> {
        let rows: Vec<CodeWithUserRole> = sqlx::query_as(FIND_CODE)
            .bind(code_hash)
            .fetch_all(self.c())
            .await?;
        let mut rows = rows.into_iter();
        let Some(first) = rows.next() else {
            return Ok(None);
        };
        let users = std::iter::once(first.user).chain(rows.map(|r| r.user));
        Ok(with_roles(users).map(|(user, roles)| (first.code, user, roles)))
    }
}

/// SQLite: a grant, its code, and the parked request it answers gone, in one transaction.
const ISSUE_SQLITE: &str = "BEGIN IMMEDIATE; \
    INSERT INTO grants (id, client_id, user_id, session_id, scope, auth_time, amr, acr, created_at, expires_at, \
    resources, dpop_jkt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12); \
    INSERT INTO codes (code_hash, grant_id, redirect_uri, code_challenge, nonce, expires_at, dpop_jkt) \
    VALUES ($13, $1, $14, $15, $16, $17, $18); \
    DELETE FROM interactions WHERE id = $19; \
    COMMIT";

/// PostgreSQL: the same as one statement.
const ISSUE_POSTGRES: &str = "WITH g AS (INSERT INTO grants (id, client_id, user_id, session_id, scope, auth_time, amr, acr, \
    created_at, expires_at, resources, dpop_jkt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id), \
    c AS (INSERT INTO codes (code_hash, grant_id, redirect_uri, code_challenge, nonce, expires_at, dpop_jkt) \
    SELECT $13, g.id, $14, $15, $16, $17, $18 FROM g) \
    DELETE FROM interactions WHERE id = $19";

/// SQLite: the code marked used while it is unused and its grant live; then, only if so (each
/// `changes()` counts the rows of the statement before), the event recorded, the first refresh
/// token stored (`$16`, when one is issued) and the grant kept as long as it, bound to the
/// DPoP key `$18` when there is one.
const REDEEM_SQLITE: &str = "BEGIN IMMEDIATE; \
    UPDATE codes SET consumed_at = $1 WHERE code_hash = $2 AND consumed_at IS NULL \
    AND grant_id = $19 \
    AND EXISTS (SELECT 1 FROM grants g WHERE g.id = $19 AND g.revoked_at IS NULL) RETURNING grant_id; \
    INSERT INTO audit_events (time, type, outcome, actor_kind, actor_id, user_id, user_name, username, client_id, \
    ip, user_agent, details, count, dedupe_key) \
    SELECT $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15 WHERE changes() = 1; \
    INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at) \
    SELECT $16, $19, $1, $17 WHERE changes() = 1 AND $16 IS NOT NULL; \
    UPDATE grants SET expires_at = MAX(expires_at, $17), dpop_jkt = COALESCE($18, dpop_jkt) \
    WHERE id = $19 AND changes() = 1; \
    COMMIT";

/// PostgreSQL: the same as one statement.
const REDEEM_POSTGRES: &str = "WITH won AS (UPDATE codes SET consumed_at = $1 WHERE code_hash = $2 AND consumed_at IS NULL \
    AND grant_id = $19 \
    AND EXISTS (SELECT 1 FROM grants g WHERE g.id = $19 AND g.revoked_at IS NULL) RETURNING grant_id), \
    logged AS (INSERT INTO audit_events (time, type, outcome, actor_kind, actor_id, user_id, user_name, username, \
    client_id, ip, user_agent, details, count, dedupe_key) \
    SELECT $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15 FROM won), \
    refresh AS (INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at) \
    SELECT $16, $19, $1, $17 FROM won WHERE $16 IS NOT NULL), \
    kept AS (UPDATE grants SET expires_at = GREATEST(expires_at, $17), dpop_jkt = COALESCE($18, dpop_jkt) \
    WHERE id = $19 AND $16 IS NOT NULL AND EXISTS (SELECT 1 FROM won)) \
    SELECT grant_id FROM won";

/// What redeeming a code writes besides marking it used.
#[derive(Debug, Clone)]
pub struct Redemption<'a> {
    /// SHA-256 hex of the code.
    pub code_hash: &'a str,
    /// The grant the code belongs to.
    pub grant_id: &'a str,
    /// The time.
    pub now: i64,
    /// The `code_redeemed` event.
    pub event: &'a NewAuditEvent,
    /// The first refresh token's hash and expiry, when one is issued.
    pub refresh_token: Option<(String, i64)>,
    /// The DPoP key the refresh tokens are bound to (RFC 9449 §5, public clients).
    pub dpop_jkt: Option<&'a str>,
}

impl Db {
    /// Creates a grant and its single code, and removes the parked request `finished` (if
    /// any) that they answer: one unit of work in one round trip, the authorization
    /// endpoint's only write.
    pub async fn issue_code(
        &self,
        grant: &NewGrant,
        code: &NewCode,
        finished: Option<&str>,
    ) -> StoreResult<()> {
        let sql = match self.backend {
            Backend::Sqlite => ISSUE_SQLITE,
            Backend::Postgres => ISSUE_POSTGRES,
        };
        let g = &grant.facts;
        let query = sqlx::query(sql)
            .bind(grant.id.clone())
            .bind(g.client_id.clone())
            .bind(g.user_id.clone())
            .bind(g.session_id.clone())
            .bind(g.scope.clone())
            .bind(g.auth_time)
            .bind(g.amr.clone())
            .bind(g.acr.clone())
            .bind(grant.now)
            .bind(grant.expires_at)
            .bind(g.resources.clone())
            .bind(g.dpop_jkt.clone())
            .bind(code.code_hash.clone())
            .bind(code.redirect_uri.clone())
            .bind(code.code_challenge.clone())
            .bind(code.nonce.clone())
            .bind(code.expires_at)
            .bind(code.dpop_jkt.clone())
            .bind(finished.map(str::to_string));
        self.write_at_once(query).await?;
        Ok(())
    }

    /// Marks a code used and writes what its redemption adds ([`Redemption`]), all only when
    /// the code was unused and its grant live, in one round trip. True for exactly one
    /// caller, however many nodes race for the code.
    pub async fn redeem_code(&self, r: &Redemption<'_>) -> StoreResult<bool> {
        let sql = match self.backend {
            Backend::Sqlite => REDEEM_SQLITE,
            Backend::Postgres => REDEEM_POSTGRES,
        };
        let query = sqlx::query(sql).bind(r.now).bind(r.code_hash.to_string());
        let (refresh_hash, refresh_expires_at) = match &r.refresh_token {
            Some((hash, expires_at)) => (Some(hash.clone()), *expires_at),
            None => (None, 0),
        };
        let query = bind_event(query, r.event)
            .bind(refresh_hash)
            .bind(refresh_expires_at)
            .bind(r.dpop_jkt.map(str::to_string))
            .bind(r.grant_id.to_string());
        let rows = self.write_at_once(query).await?;
        Ok(!rows.is_empty())
    }
}
