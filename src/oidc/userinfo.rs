//! The UserInfo endpoint (OpenID Connect Core §5.3): claims by granted scope for the user an
//! access token was issued for.

use serde_json::{Map, Value, json};

use super::{ErrorCode, OAuthError, Provider, claims};

impl Provider {
    /// Returns the claims for a bearer access token.
    pub async fn userinfo(&self, token: &str) -> Result<Map<String, Value>, OAuthError> {
        let at = self.validate_access_token(token).await?;
        if at.grant_id.is_none() {
            return Err(OAuthError::invalid_token(
                "this token was not issued for a user",
            ));
        }
        if !at.scope.contains("openid") {
            return Err(OAuthError::new(
                ErrorCode::InsufficientScope,
                "the openid scope is required",
            ));
        }
        let (user, roles) = self
            .db
            .find_user_with_roles(&at.sub)
            .await?
            .filter(|(user, _)| user.is_enabled())
            .ok_or_else(|| OAuthError::invalid_token("the user no longer exists"))?;
        let mut body = claims::user_claims(&user, &roles, &at.scope);
        body.insert("sub".into(), json!(user.id));
        Ok(body)
    }
}
