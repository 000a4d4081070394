//! Grants: one user's authorization of one client, the thing that codes, refresh tokens and
//! access tokens hang from. Revoking a grant stops all of them.

use sqlx::FromRow;

use super::{StoreResult, Tx};

/// What a grant records about the authorization; codes and refresh tokens read it by a join.
#[derive(Debug, Clone, FromRow)]
pub struct GrantFacts {
    /// The client.
    pub client_id: String,
    /// The user.
    pub user_id: String,
    /// Session id (`sid`).
    pub session_id: Option<String>,
    /// Granted scopes.
    pub scope: String,
    /// Authentication time.
    pub auth_time: i64,
    /// Authentication methods.
    pub amr: String,
    /// Authentication context class reached.
    pub acr: String,
    /// Set when the grant was revoked.
    pub revoked_at: Option<i64>,
    /// Space-separated resource indicators its tokens may name (RFC 8707).
    pub resources: String,
    /// The DPoP key its refresh tokens are bound to (RFC 9449 §5, public clients).
    pub dpop_jkt: Option<String>,
}

/// A client to tell that a session ended (Back-Channel Logout).
#[derive(Debug, Clone, FromRow)]
pub struct LogoutReceiver {
    /// The client.
    #[sqlx(rename = "id")]
    pub client_id: String,
    /// Its back-channel logout URI.
    pub backchannel_logout_uri: String,
    /// Its ID token algorithm.
    pub id_token_alg: String,
    /// 1 when the client registered itself (its URI is reached over public addresses only).
    pub self_registered: i64,
    /// The user.
    pub user_id: String,
    /// The session.
    pub session_id: String,
}

/// A grant to insert.
#[derive(Debug, Clone)]
pub struct NewGrant {
    /// Grant id (the `gid` of access tokens).
    pub id: String,
    /// What it authorizes (`revoked_at` is ignored: a new grant is live).
    pub facts: GrantFacts,
    /// When it lapses if never refreshed.
    pub expires_at: i64,
    /// Creation time.
    pub now: i64,
}

impl Tx {
    /// Inserts a grant.
    pub async fn insert_grant(&mut self, grant: &NewGrant) -> StoreResult<()> {
        let g = &grant.facts;
        sqlx::query(
            "INSERT INTO grants (id, client_id, user_id, session_id, scope, auth_time, amr, acr, created_at, expires_at, \
             resources, dpop_jkt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&grant.id)
        .bind(&g.client_id)
        .bind(&g.user_id)
        .bind(&g.session_id)
        .bind(&g.scope)
        .bind(g.auth_time)
        .bind(&g.amr)
        .bind(&g.acr)
        .bind(grant.now)
        .bind(grant.expires_at)
        .bind(&g.resources)
        .bind(&g.dpop_jkt)
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// Revokes every live grant of a user.
    pub async fn revoke_user_grants(&mut self, user_id: &str, now: i64) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected())
    }

    /// Revokes every live grant of a user to one client.
    pub async fn revoke_user_client_grants(
        &mut self,
        user_id: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(client_id)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected())
    }

    /// Revokes the live grants issued under a session; offline ones (`offline_access`) only
    /// when `include_offline`.
    pub async fn revoke_session_grants(
        &mut self,
        session_id: &str,
        include_offline: bool,
        now: i64,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE grants SET revoked_at = $1 WHERE session_id = $2 AND revoked_at IS NULL \
             AND ($3 = 1 OR (' ' || scope || ' ') NOT LIKE '% offline_access %')",
        )
        .bind(now)
        .bind(session_id)
        .bind(super::flag(include_offline))
        .execute(self.c())
        .await?;
        Ok(done.rows_affected())
    }

    /// Moves the grants of a session to the session that replaces it in the same browser,
    /// so that signing out of the new one reaches them too.
    pub async fn move_session_grants(&mut self, from: &str, to: &str) -> StoreResult<()> {
        sqlx::query("UPDATE grants SET session_id = $1 WHERE session_id = $2")
            .bind(to)
            .bind(from)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// Binds a grant's refresh tokens to a DPoP key.
    pub async fn bind_grant_to_dpop_key(&mut self, id: &str, jkt: &str) -> StoreResult<()> {
        sqlx::query("UPDATE grants SET dpop_jkt = $1 WHERE id = $2")
            .bind(jkt)
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// The clients with a back-channel logout URI that received tokens in a session: client
    /// id, logout URI, ID token algorithm, whether the client registered itself, and the
    /// user.
    pub async fn logout_receivers_of_session(
        &mut self,
        session_id: &str,
    ) -> StoreResult<Vec<LogoutReceiver>> {
        Ok(sqlx::query_as(
            "SELECT DISTINCT c.id, c.backchannel_logout_uri, c.id_token_alg, c.self_registered, \
             g.user_id, g.session_id FROM grants g \
             JOIN clients c ON c.id = g.client_id \
             WHERE g.session_id = $1 AND c.backchannel_logout_uri IS NOT NULL",
        )
        .bind(session_id)
        .fetch_all(self.c())
        .await?)
    }

    /// The same for every live session of a user.
    pub async fn logout_receivers_of_user(
        &mut self,
        user_id: &str,
    ) -> StoreResult<Vec<LogoutReceiver>> {
        Ok(sqlx::query_as(
            "SELECT DISTINCT c.id, c.backchannel_logout_uri, c.id_token_alg, c.self_registered, \
             g.user_id, g.session_id FROM grants g \
             JOIN clients c ON c.id = g.client_id \
             WHERE g.user_id = $1 AND c.backchannel_logout_uri IS NOT NULL \
             AND g.session_id IN (SELECT s.id FROM sessions s WHERE s.user_id = $1)",
        )
        .bind(user_id)
        .fetch_all(self.c())
        .await?)
    }

    /// Revokes a grant.
    pub async fn revoke_grant(&mut self, id: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    /// Whether an access token is still good: its grant (if any) is live and its `jti` was
    /// not revoked. One round trip, on the userinfo and introspection paths.
    pub async fn access_token_is_live(
        &mut self,
        grant_id: Option<&str>,
        jti: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let (grant_live, revoked): (i64, i64) = sqlx::query_as(
            "SELECT \
               (SELECT COUNT(*) FROM grants WHERE id = $1 AND revoked_at IS NULL AND expires_at > $3), \
               (SELECT COUNT(*) FROM revoked_access_tokens WHERE jti = $2)",
        )
        .bind(grant_id.unwrap_or(""))
        .bind(jti)
        .bind(now)
        .fetch_one(self.c())
        .await?;
        Ok(revoked == 0 && (grant_id.is_none() || grant_live == 1))
    }

    /// Revokes one access token until it would have expired anyway (RFC 7009).
    pub async fn revoke_access_token(&mut self, jti: &str, expires_at: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(jti)
            .bind(expires_at)
            .execute(self.c())
            .await?;
        Ok(())
    }
}
