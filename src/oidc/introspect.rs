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
    async fn find_token(&self, token: &str, hint: Option<&str>) -> Result<Found, OAuthError> {
        let looks_like_jwt = token.split('.').count() == 3;
        let try_access_first = hint != Some("refresh_token") && looks_like_jwt;
        if try_access_first {
            match self.validate_access_token(token).await {
                Ok(at) => return Ok(Found::Access(at)),
                Err(e) if e.code == ErrorCode::InvalidToken => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(row) = self.db.find_refresh_token(&secret::hash(token)).await? {
            return Ok(Found::Refresh(row));
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
                if at.grant_id.is_some() {
                    if let Some(user) = self.db.find_user(&at.sub).await? {
                        body.insert("username".into(), json!(user.username));
                    }
                }
                Ok(body)
            }
            Found::Refresh(row) => {
                let live =
                    row.used_at.is_none() && row.revoked_at.is_none() && row.expires_at > now;
                if !live {
                    return Ok(inactive());
                }
                let mut body = Map::new();
                body.insert("active".into(), json!(true));
                body.insert("scope".into(), json!(row.scope));
                body.insert("client_id".into(), json!(row.client_id));
                body.insert("sub".into(), json!(row.user_id));
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
                if row.client_id != client.id {
                    return Err(not_yours());
                }
                self.db.revoke_grant(&row.grant_id, now).await?;
            }
            Found::Nothing => {}
        }
        Ok(())
    }
}
