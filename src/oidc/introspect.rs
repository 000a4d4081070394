//! Token introspection (RFC 7662) and revocation (RFC 7009). Both accept access tokens (our
//! JWTs) and refresh tokens; an unknown token is simply inactive.

use serde_json::{Map, Value, json};

use super::client::Client;
use super::params::Params;
use super::{ErrorCode, OAuthError, Provider};
use crate::auth::secret;

/// What a presented token turned out to be.
enum Found {
    Access(super::tokens::AccessTokenClaims),
    Refresh(crate::store::RefreshRow),
    Nothing,
}

fn inactive() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("active".into(), json!(false));
    m
}

impl Provider {
    /// Our access token, if `token` is a live one.
    async fn find_access_token(
        &self,
        token: &str,
    ) -> Result<Option<super::tokens::AccessTokenClaims>, OAuthError> {
        if token.split('.').count() != 3 {
            return Ok(None);
        }
        match self.validate_access_token(token).await {
            Ok(at) => Ok(Some(at)),
            Err(e) if e.code == ErrorCode::InvalidToken => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Finds a token of any type. The hint only decides which type is tried first: RFC 7009
    /// §2.1 and RFC 7662 §2.1 require extending the search to every type when the token is
    /// not found as the hinted one, so a wrong hint never lets a token escape revocation.
    async fn find_token(&self, token: &str, hint: Option<&str>) -> Result<Found, OAuthError> {
        let refresh_first = hint == Some("refresh_token");
        if !refresh_first && let Some(at) = self.find_access_token(token).await? {
            return Ok(Found::Access(at));
        }
        if let Some(row) = self.db.find_refresh_token(&secret::hash(token)).await? {
            return Ok(Found::Refresh(row));
        }
        if refresh_first && let Some(at) = self.find_access_token(token).await? {
            return Ok(Found::Access(at));
        }
        Ok(Found::Nothing)
    }

    /// RFC 7662 §2: introspects a token for an authenticated confidential client.
    pub async fn introspect(
        &self,
        client: &Client,
        params: &Params,
    ) -> Result<Map<String, Value>, OAuthError> {
        if client.public {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "public clients may not introspect tokens",
            ));
        }
        let token = params.require("token")?;
        let now = self.clock.now();
        match self
            .find_token(token, params.get("token_type_hint"))
            .await?
        {
            Found::Access(at) => {
                let mut body = Map::new();
                body.insert("active".into(), json!(true));
                for name in [
                    "scope",
                    "client_id",
                    "sub",
                    "aud",
                    "iss",
                    "exp",
                    "iat",
                    "jti",
                    "auth_time",
                    "sid",
                    "roles",
                ] {
                    if let Some(v) = at.claims.get(name) {
                        body.insert(name.into(), v.clone());
                    }
                }
                body.insert("token_type".into(), json!("Bearer"));
                if at.grant_id.is_some()
                    && let Some(user) = self.db.find_user(&at.sub).await?
                {
                    body.insert("username".into(), json!(user.username));
                }
                Ok(body)
            }
            Found::Refresh(row) => {
                let live =
                    row.used_at.is_none() && row.grant.revoked_at.is_none() && row.expires_at > now;
                if !live {
                    return Ok(inactive());
                }
                let mut body = Map::new();
                body.insert("active".into(), json!(true));
                body.insert("scope".into(), json!(row.grant.scope));
                body.insert("client_id".into(), json!(row.grant.client_id));
                body.insert("sub".into(), json!(row.grant.user_id));
                body.insert("exp".into(), json!(row.expires_at));
                body.insert("iss".into(), json!(self.issuer));
                body.insert("token_type".into(), json!("refresh_token"));
                Ok(body)
            }
            Found::Nothing => Ok(inactive()),
        }
    }

    /// RFC 7009 §2.1: revokes a token the client owns. A refresh token takes its whole grant
    /// with it; an access token is revoked on its own. Unknown tokens are not an error.
    pub async fn revoke(&self, client: &Client, params: &Params) -> Result<(), OAuthError> {
        let token = params.require("token")?;
        let now = self.clock.now();
        let not_yours = || {
            OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "the token was not issued to this client",
            )
        };
        match self
            .find_token(token, params.get("token_type_hint"))
            .await?
        {
            Found::Access(at) => {
                if at.client_id != client.id {
                    return Err(not_yours());
                }
                self.db.revoke_access_token(&at.jti, at.exp).await?;
            }
            Found::Refresh(row) => {
                if row.grant.client_id != client.id {
                    return Err(not_yours());
                }
                self.db.revoke_grant(&row.grant_id, now).await?;
            }
            Found::Nothing => {}
        }
        Ok(())
    }
}
