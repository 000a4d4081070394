//! The protocol's view of a registered client: which grants it may use (RFC 6749 §5.2).

pub use crate::domain::{Client, GrantType};

use super::{ErrorCode, OAuthError};

/// RFC 6749 §5.2: `unauthorized_client` unless the client is registered for `grant`.
pub fn require_grant(client: &Client, grant: GrantType) -> Result<(), OAuthError> {
    if client.allows(grant) {
        return Ok(());
    }
    Err(OAuthError::new(
        ErrorCode::UnauthorizedClient,
        format!("this client may not use the {} grant", grant.as_str()),
    ))
}
