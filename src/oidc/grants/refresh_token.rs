//! The refresh token grant (RFC 6749 §6). Refresh tokens rotate on every use; a spent token
//! presented again — including the loser of two concurrent uses — revokes the whole grant
//! (RFC 9700 §4.14.2).

use super::super::client::{Client, GrantType};
use super::super::params::Params;
use super::super::tokens::{TokenResponse, UserGrant};
use super::super::{ErrorCode, OAuthError, Provider};
use crate::auth::secret;
use crate::domain::ScopeSet;
use crate::store::RotateOutcome;

impl Provider {
    /// RFC 6749 §6: exchanges a refresh token for new tokens and a new refresh token.
    pub async fn refresh(
        &self,
        client: &Client,
        params: &Params,
    ) -> Result<TokenResponse, OAuthError> {
        client.require_grant(GrantType::RefreshToken)?;
        let presented = params.require("refresh_token")?;
        let old_hash = secret::hash(presented);
        let now = self.clock.now();
        let invalid =
            || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
        let row = self
            .db
            .find_refresh_token(&old_hash)
            .await?
            .ok_or_else(invalid)?;
        if row.grant.client_id != client.id {
            return Err(invalid());
        }
        if row.grant.revoked_at.is_some() || row.expires_at <= now {
            return Err(invalid());
        }
        if row.used_at.is_some() {
            self.db.revoke_grant(&row.grant_id, now).await?;
            tracing::warn!(client_id = %client.id, grant_id = %row.grant_id, "refresh token replayed; grant revoked");
            return Err(invalid());
        }
        let granted = ScopeSet::from_stored(&row.grant.scope);
        // RFC 6749 §6: a narrower scope may be asked for, never a wider one.
        let scope = match params.get("scope") {
            None => granted,
            Some(asked) => {
                let asked = ScopeSet::parse(asked)
                    .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e))?;
                if !asked.is_subset(&granted) {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        "the scope exceeds what was granted",
                    ));
                }
                asked
            }
        };
        let (user, roles) = match self.grant_user(&row.grant.user_id).await {
            Ok(found) => found,
            Err(e) => {
                self.db.revoke_grant(&row.grant_id, now).await?;
                return Err(e);
            }
        };
        let new_token = secret::generate();
        let outcome = self
            .db
            .rotate_refresh_token(
                &old_hash,
                &secret::hash(&new_token),
                &row.grant_id,
                now,
                now + self.tokens.refresh_token_ttl_secs,
            )
            .await?;
        if outcome == RotateOutcome::AlreadyUsed {
            self.db.revoke_grant(&row.grant_id, now).await?;
            tracing::warn!(client_id = %client.id, grant_id = %row.grant_id, "refresh token used concurrently; grant revoked");
            return Err(invalid());
        }
        self.user_tokens(
            client,
            UserGrant {
                grant_id: &row.grant_id,
                facts: &row.grant,
                user: &user,
                roles: &roles,
                scope: &scope,
                nonce: None,
                refresh_token: Some(new_token),
            },
        )
    }
}
