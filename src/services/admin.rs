//! Who may use the admin API: a caller presenting an access token of this Tessera (Bearer, or
//! DPoP with its proof for a bound token) that is live, was minted for Tessera rather than
//! another resource, carries the `tessera:admin` scope, and whose subject (a user, or a
//! client acting for itself) holds the `admin` role now; a user's token also needs a
//! two-factor sign-in when `mfa.required_roles` names `admin`.

use super::tokens::Presented;
use super::{Actor, Caller, ServiceResult, Services};
use crate::auth::session::ACR_MFA;
use crate::domain::Session;
use crate::oidc::{ErrorCode, OAuthError};

/// The scope the admin API demands.
pub const ADMIN_SCOPE: &str = "tessera:admin";
/// The role the admin API demands.
pub const ADMIN_ROLE: &str = "admin";

fn not_admin(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InsufficientScope, description)
}

fn dead() -> OAuthError {
    OAuthError::invalid_token("the access token is invalid, expired or revoked")
}

/// Why a signed-in user may not use the admin console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleRefusal {
    /// The user does not hold the `admin` role (or is switched off).
    NotAdmin,
    /// Administration needs a two-factor sign-in and this session used one factor.
    NeedsTwoFactors,
}

impl Services {
    /// Whether administration needs a two-factor sign-in (`mfa.required_roles` names admin).
    fn admin_needs_two_factors(&self) -> bool {
        self.config
            .settings
            .mfa
            .required_roles
            .iter()
            .any(|r| r == ADMIN_ROLE)
    }

    /// Whether the signed-in `session` may use the admin console: the same rules as for the
    /// admin API, read from the user's roles now. `NotFound` when the user is gone.
    pub async fn console_admission(
        &self,
        session: &Session,
    ) -> ServiceResult<Result<(), ConsoleRefusal>> {
        let user = self.user(&session.user_id).await?;
        if !user.enabled || !user.roles.iter().any(|r| r == ADMIN_ROLE) {
            return Ok(Err(ConsoleRefusal::NotAdmin));
        }
        if self.admin_needs_two_factors() && session.acr != ACR_MFA {
            return Ok(Err(ConsoleRefusal::NeedsTwoFactors));
        }
        Ok(Ok(()))
    }

    /// The admin behind a presented token, as the actor of what they do; 401 errors for a
    /// token that is not valid here, 403 (`insufficient_scope`) for one that is but may not
    /// administer.
    pub async fn admin_caller(
        &self,
        presented: &Presented<'_>,
        caller: &Caller,
    ) -> Result<Caller, OAuthError> {
        let at = self.resource_token(presented).await?;
        if !at.scope.contains(ADMIN_SCOPE) {
            return Err(not_admin("the token lacks the tessera:admin scope"));
        }
        let now = self.now();
        let actor = match at.grant_id.as_deref() {
            Some(grant_id) => {
                let mut tx = self.db.read().await?;
                let (user, roles) = tx
                    .user_of_live_token(&at.sub, grant_id, &at.jti, now)
                    .await?
                    .filter(|(user, _)| user.enabled != 0)
                    .ok_or_else(dead)?;
                if !roles.iter().any(|r| r == ADMIN_ROLE) {
                    return Err(not_admin("the token's user is not an admin"));
                }
                let acr = at.claims.get("acr").and_then(serde_json::Value::as_str);
                if self.admin_needs_two_factors() && acr != Some(ACR_MFA) {
                    return Err(not_admin("administration needs a sign-in with two factors"));
                }
                Actor::Admin(user.id)
            }
            None => {
                let live = {
                    let mut tx = self.db.read().await?;
                    tx.access_token_is_live(None, &at.jti, now).await?
                };
                if !live {
                    return Err(dead());
                }
                let client = self
                    .cached_client(&at.sub)
                    .await?
                    .filter(|c| c.enabled)
                    .ok_or_else(dead)?;
                if !client.roles.iter().any(|r| r == ADMIN_ROLE) {
                    return Err(not_admin("the token's client is not an admin"));
                }
                Actor::Client(client.id)
            }
        };
        Ok(caller.as_actor(actor))
    }
}
