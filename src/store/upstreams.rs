//! Upstream OpenID Connect providers: one row each, whether it came from the configuration
//! file or from `tessera upstream add`.

use sqlx::FromRow;

use super::{StoreResult, Tx};

/// An upstream provider as stored.
#[derive(Debug, Clone, FromRow)]
pub struct UpstreamRow {
    /// Id used in URLs.
    pub id: String,
    /// Button text.
    pub name: String,
    /// Issuer URL.
    pub issuer: String,
    /// Tessera's client_id there.
    pub client_id: String,
    /// The client secret, sealed under the master key.
    pub client_secret: Option<String>,
    /// Space-separated scopes.
    pub scopes: String,
    /// 1: link to a local account by verified e-mail.
    pub link_by_verified_email: i64,
    /// 1: create accounts on first sign-in.
    pub create_users: i64,
    /// 1: the upstream's MFA stands for Tessera's.
    pub trust_upstream_mfa: i64,
    /// Claim mapped to roles.
    pub roles_claim: Option<String>,
    /// Claim value → role, a JSON object.
    pub role_map: String,
    /// Space-separated roles of new accounts.
    pub default_roles: String,
    /// `file` or `cli`.
    pub source: String,
    /// Unix seconds.
    pub created_at: i64,
}

const COLUMNS: &str = "id, name, issuer, client_id, client_secret, scopes, link_by_verified_email, \
     create_users, trust_upstream_mfa, roles_claim, role_map, default_roles, source, created_at";

impl Tx {
    /// Every upstream, by id.
    pub async fn list_upstreams(&mut self) -> StoreResult<Vec<UpstreamRow>> {
        let sql = format!("SELECT {COLUMNS} FROM upstreams ORDER BY id");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.c())
            .await?)
    }

    /// One upstream by id.
    pub async fn find_upstream(&mut self, id: &str) -> StoreResult<Option<UpstreamRow>> {
        let sql = format!("SELECT {COLUMNS} FROM upstreams WHERE id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.c())
            .await?)
    }

    /// Stores an upstream. With `replace`, one of the same id is overwritten (the file's
    /// upstreams at start); without, false when the id is taken.
    pub async fn save_upstream(
        &mut self,
        u: &UpstreamRow,
        replace: bool,
        now: i64,
    ) -> StoreResult<bool> {
        let on_conflict = if replace {
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, issuer = excluded.issuer, \
             client_id = excluded.client_id, client_secret = excluded.client_secret, \
             scopes = excluded.scopes, link_by_verified_email = excluded.link_by_verified_email, \
             create_users = excluded.create_users, trust_upstream_mfa = excluded.trust_upstream_mfa, \
             roles_claim = excluded.roles_claim, role_map = excluded.role_map, \
             default_roles = excluded.default_roles, source = excluded.source, \
             updated_at = excluded.updated_at"
        } else {
            "ON CONFLICT DO NOTHING"
        };
        let sql = format!(
            "INSERT INTO upstreams ({COLUMNS}, updated_at) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) {on_conflict}"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&u.id)
            .bind(&u.name)
            .bind(&u.issuer)
            .bind(&u.client_id)
            .bind(&u.client_secret)
            .bind(&u.scopes)
            .bind(u.link_by_verified_email)
            .bind(u.create_users)
            .bind(u.trust_upstream_mfa)
            .bind(&u.roles_claim)
            .bind(&u.role_map)
            .bind(&u.default_roles)
            .bind(&u.source)
            .bind(now)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes an upstream; false when there is none of that id.
    pub async fn delete_upstream(&mut self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM upstreams WHERE id = $1")
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// An upstream identity linked to a local account.
#[derive(Debug, Clone, FromRow)]
pub struct LinkedIdentityRow {
    /// The upstream's issuer.
    pub issuer: String,
    /// The user's `sub` there.
    pub subject: String,
    /// The local account.
    pub user_id: String,
    /// Which upstream it came through.
    pub upstream_id: String,
    /// The upstream's address for the user, last seen.
    pub email: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub last_used_at: i64,
}

const LINK_COLUMNS: &str = "issuer, subject, user_id, upstream_id, email, created_at, last_used_at";

impl Tx {
    /// The local account an upstream identity is linked to.
    pub async fn find_linked_identity(
        &mut self,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<LinkedIdentityRow>> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM linked_identities WHERE issuer = $1 AND subject = $2"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(issuer)
            .bind(subject)
            .fetch_optional(self.c())
            .await?)
    }

    /// The upstream identities linked to a user.
    pub async fn linked_identities_of(
        &mut self,
        user_id: &str,
    ) -> StoreResult<Vec<LinkedIdentityRow>> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM linked_identities WHERE user_id = $1 ORDER BY upstream_id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .fetch_all(self.c())
            .await?)
    }

    /// Links an upstream identity; false when it is linked already (to anyone).
    pub async fn insert_linked_identity(&mut self, link: &LinkedIdentityRow) -> StoreResult<bool> {
        let sql = format!(
            "INSERT INTO linked_identities ({LINK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT DO NOTHING"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&link.issuer)
            .bind(&link.subject)
            .bind(&link.user_id)
            .bind(&link.upstream_id)
            .bind(&link.email)
            .bind(link.created_at)
            .bind(link.last_used_at)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a sign-in through a linked identity.
    pub async fn touch_linked_identity(
        &mut self,
        issuer: &str,
        subject: &str,
        email: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE linked_identities SET last_used_at = $1, email = $2 \
             WHERE issuer = $3 AND subject = $4",
        )
        .bind(now)
        .bind(email)
        .bind(issuer)
        .bind(subject)
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// Unlinks a user's identity at an upstream; false when there was none.
    pub async fn delete_linked_identity(
        &mut self,
        user_id: &str,
        upstream_id: &str,
    ) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM linked_identities WHERE user_id = $1 AND upstream_id = $2")
                .bind(user_id)
                .bind(upstream_id)
                .execute(self.c())
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The roles an upstream's mapping granted a user.
    pub async fn mapped_roles(
        &mut self,
        user_id: &str,
        upstream_id: &str,
    ) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT role_name FROM mapped_roles WHERE user_id = $1 AND upstream_id = $2 \
             ORDER BY role_name",
        )
        .bind(user_id)
        .bind(upstream_id)
        .fetch_all(self.c())
        .await?;
        Ok(rows.into_iter().map(|(r,)| r).collect())
    }

    /// Notes that an upstream's mapping granted `role` (`granted`) or took it back.
    pub async fn set_mapped_role(
        &mut self,
        user_id: &str,
        role: &str,
        upstream_id: &str,
        granted: bool,
    ) -> StoreResult<()> {
        let sql = if granted {
            "INSERT INTO mapped_roles (user_id, role_name, upstream_id) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM mapped_roles WHERE user_id = $1 AND role_name = $2 AND upstream_id = $3"
        };
        sqlx::query(sql)
            .bind(user_id)
            .bind(role)
            .bind(upstream_id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// Takes back the roles an upstream's mapping granted: one user's (when unlinking) or
    /// everyone's (when the upstream is removed).
    pub async fn take_back_mapped_roles(
        &mut self,
        user_id: Option<&str>,
        upstream_id: &str,
    ) -> StoreResult<()> {
        let user = user_id.unwrap_or_default();
        sqlx::query(
            "DELETE FROM user_roles WHERE EXISTS (SELECT 1 FROM mapped_roles m \
             WHERE m.user_id = user_roles.user_id AND m.role_name = user_roles.role_name \
             AND m.upstream_id = $1 AND ($2 = '' OR m.user_id = $2))",
        )
        .bind(upstream_id)
        .bind(user)
        .execute(self.c())
        .await?;
        sqlx::query(
            "DELETE FROM mapped_roles WHERE upstream_id = $1 AND ($2 = '' OR user_id = $2)",
        )
        .bind(upstream_id)
        .bind(user)
        .execute(self.c())
        .await?;
        Ok(())
    }
}
