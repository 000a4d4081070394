//! One module per grant type (RFC 6749 §4.1, §4.4, §6), each a function of the authenticated
//! client and the request parameters.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use super::{OAuthError, Provider};
use crate::store::UserRow;

impl Provider {
    /// Loads the user a grant belongs to with their current roles; a deleted or disabled
    /// account ends the grant.
    pub(crate) async fn grant_user(
        &self,
        user_id: &str,
    ) -> Result<(UserRow, Vec<String>), OAuthError> {
        self.db
            .find_user_with_roles(user_id)
            .await?
            .filter(|(user, _)| user.is_enabled())
            .ok_or_else(|| OAuthError::invalid_grant("the user's account is no longer active"))
    }
}
