//! Scope rules of the grants (RFC 6749 §4.4, §6): what a refresh or a client acting for itself
//! may ask for. The grants themselves run as use cases in `services::tokens`.

use super::client::Client;
use super::params::Params;
use super::{ErrorCode, OAuthError};
use crate::domain::ScopeSet;

/// Scopes that only make sense for a user, never for a client acting alone.
const USER_ONLY_SCOPES: [&str; 4] = ["openid", "offline_access", "profile", "email"];

/// RFC 6749 §6: a refresh may ask for a narrower scope than granted, never a wider one.
pub fn refresh_scope(granted: ScopeSet, params: &Params) -> Result<ScopeSet, OAuthError> {
    let Some(asked) = params.get("scope") else {
        return Ok(granted);
    };
    let asked = ScopeSet::parse(asked).map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e))?;
    if !asked.is_subset(&granted) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "the scope exceeds what was granted",
        ));
    }
    Ok(asked)
}

/// RFC 6749 §4.4.2: the scope of a client's token for itself: its registered scopes without
/// the user-only ones, or the subset it asks for.
pub fn client_credentials_scope(client: &Client, params: &Params) -> Result<ScopeSet, OAuthError> {
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
    let Some(asked) = params.get("scope") else {
        return Ok(allowed);
    };
    let asked = ScopeSet::parse(asked).map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e))?;
    if !asked.is_subset(&allowed) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "the scope is not allowed for this client's own use",
        ));
    }
    Ok(asked)
}
