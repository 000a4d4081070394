//! The client credentials grant (RFC 6749 §4.4): a confidential client acting for itself.
//! The token carries the client's own roles; no refresh token (§4.4.3).

use super::super::client::{Client, GrantType};
use super::super::params::Params;
use super::super::tokens::TokenResponse;
use super::super::{ErrorCode, OAuthError, Provider};
use crate::domain::ScopeSet;

/// Scopes that only make sense for a user, never for a client acting alone.
const USER_ONLY_SCOPES: [&str; 4] = ["openid", "offline_access", "profile", "email"];

impl Provider {
    /// RFC 6749 §4.4.2: issues an access token to the client itself.
    pub async fn client_credentials(
        &self,
        client: &Client,
        params: &Params,
    ) -> Result<TokenResponse, OAuthError> {
        client.require_grant(GrantType::ClientCredentials)?;
        // Only a client that proved a secret may act on its own behalf (RFC 6749 §4.4).
        if client.public {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "public clients may not use the client_credentials grant",
            ));
        }
        let mut allowed = client.scopes.clone();
        for scope in USER_ONLY_SCOPES {
            allowed = allowed.without(scope);
        }
        let scope = match params.get("scope") {
            None => allowed,
            Some(asked) => {
                let asked = ScopeSet::parse(asked)
                    .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e))?;
                if !asked.is_subset(&allowed) {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        "the scope is not allowed for this client's own use",
                    ));
                }
                asked
            }
        };
        self.client_token(client, &scope)
    }
}
