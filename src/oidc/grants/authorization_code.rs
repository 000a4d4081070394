//! The authorization code grant: issuing a code at the end of an authorization request
//! (RFC 6749 §4.1.2) and redeeming it at the token endpoint (§4.1.3, RFC 7636 §4.6).
//! A code is single-use; presenting it again revokes what its first use issued
//! (RFC 6749 §4.1.2, RFC 9700 §4.2.4).

use super::super::authorize::AuthorizationRequest;
use super::super::client::{Client, GrantType};
use super::super::params::Params;
use super::super::provider::CODE_TTL_SECS;
use super::super::tokens::{TokenResponse, UserGrant};
use super::super::{OAuthError, Provider, pkce};
use crate::auth::secret;
use crate::domain::ScopeSet;
use crate::store::{GrantFacts, NewCode, NewGrant, SessionRow};

impl Provider {
    /// Creates the grant and a code for an approved request; returns the code.
    pub async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        session: &SessionRow,
    ) -> Result<String, OAuthError> {
        let now = self.clock.now();
        let scope = ScopeSet::from_stored(&request.scope);
        let lifetime = if scope.contains("offline_access") {
            self.tokens.refresh_token_ttl_secs
        } else {
            CODE_TTL_SECS + self.tokens.access_token_ttl_secs
        };
        let grant_id = uuid::Uuid::new_v4().to_string();
        self.db
            .insert_grant(&NewGrant {
                id: grant_id.clone(),
                facts: GrantFacts {
                    client_id: request.client_id.clone(),
                    user_id: session.user_id.clone(),
                    session_id: Some(session.id.clone()),
                    scope: request.scope.clone(),
                    auth_time: session.auth_time,
                    amr: session.amr.clone(),
                    revoked_at: None,
                },
                expires_at: now + lifetime,
                now,
            })
            .await?;
        let code = secret::generate();
        self.db
            .insert_code(&NewCode {
                code_hash: secret::hash(&code),
                grant_id,
                redirect_uri: request.target.redirect_uri.clone(),
                code_challenge: request.code_challenge.clone(),
                nonce: request.nonce.clone(),
                expires_at: now + CODE_TTL_SECS,
            })
            .await?;
        Ok(code)
    }

    /// RFC 6749 §4.1.3: redeems a code for tokens.
    pub async fn exchange_code(
        &self,
        client: &Client,
        params: &Params,
    ) -> Result<TokenResponse, OAuthError> {
        client.require_grant(GrantType::AuthorizationCode)?;
        let code = params.require("code")?;
        let code_hash = secret::hash(code);
        let now = self.clock.now();
        let invalid = || {
            OAuthError::invalid_grant("the authorization code is invalid, expired or already used")
        };
        let row = self.db.find_code(&code_hash).await?.ok_or_else(invalid)?;
        if row.grant.client_id != client.id {
            return Err(invalid());
        }
        if row.consumed_at.is_some() {
            // A second use means the code leaked: revoke everything the first use issued.
            self.db.revoke_grant(&row.grant_id, now).await?;
            tracing::warn!(client_id = %client.id, grant_id = %row.grant_id, "authorization code reused; grant revoked");
            return Err(invalid());
        }
        if row.expires_at <= now || row.grant.revoked_at.is_some() {
            return Err(invalid());
        }
        // RFC 6749 §4.1.3: redirect_uri must be identical to the authorization request's.
        if params.get("redirect_uri") != Some(row.redirect_uri.as_str()) {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        pkce::verify(params.get("code_verifier"), row.code_challenge.as_deref())?;
        if !self.db.consume_code(&code_hash, now).await? {
            // Lost a race with a concurrent redemption on this or another node.
            self.db.revoke_grant(&row.grant_id, now).await?;
            return Err(invalid());
        }
        let (user, roles) = self.grant_user(&row.grant.user_id).await?;
        let scope = ScopeSet::from_stored(&row.grant.scope);
        let refresh_token = if scope.contains("offline_access") {
            let token = secret::generate();
            self.db
                .insert_refresh_token(
                    &secret::hash(&token),
                    &row.grant_id,
                    now,
                    now + self.tokens.refresh_token_ttl_secs,
                )
                .await?;
            Some(token)
        } else {
            None
        };
        self.user_tokens(
            client,
            UserGrant {
                grant_id: &row.grant_id,
                facts: &row.grant,
                user: &user,
                roles: &roles,
                scope: &scope,
                nonce: row.nonce.as_deref(),
                refresh_token,
            },
        )
    }
}
