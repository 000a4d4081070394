//! Login sessions: finding the session of a cookie, and ending sessions. Ending a session
//! revokes the grants issued under it (offline ones too unless `logout.revoke_offline_grants`
//! is off), in the same transaction and with its audit event.

use super::audit::{Event, EventType};
use super::{Caller, ServiceError, ServiceResult, Services, convert};
use crate::auth::secret;
use crate::domain::Session;
use crate::oidc::OAuthError;
use crate::oidc::end_session::{self, EndSessionRequest};
use crate::oidc::params::Params;
use crate::store::{SessionRow, Tx};

/// Who ended a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignOutBy {
    /// The user, on Tessera's own sign-out form.
    User,
    /// An application, through RP-Initiated Logout.
    Application,
}

impl Services {
    /// The session a cookie secret names, whatever its stage, without touching it (the
    /// session a new sign-in replaces may be half signed in).
    pub(crate) async fn find_session(
        &self,
        cookie: Option<&str>,
    ) -> ServiceResult<Option<SessionRow>> {
        let Some(hash) = cookie_hash(cookie) else {
            return Ok(None);
        };
        let mut tx = self.db.read().await?;
        Ok(tx.find_session(&hash, self.now()).await?)
    }

    /// The live, fully signed-in session of a cookie secret, while its user is enabled; its
    /// idle deadline is pushed when due. A half-signed-in session is not returned: it serves
    /// only its pending step.
    pub async fn session(&self, cookie: Option<&str>) -> ServiceResult<Option<Session>> {
        let Some(hash) = cookie_hash(cookie) else {
            return Ok(None);
        };
        let now = self.now();
        let session = {
            let mut tx = self.db.read().await?;
            tx.find_signed_in_session(&hash, now).await?
        };
        let Some(session) = session else {
            return Ok(None);
        };
        if let Some(idle_expires_at) = self.sessions.touch(&session, now) {
            let mut tx = self.db.write().await?;
            tx.touch_session(&session.id, now, idle_expires_at).await?;
            tx.commit().await?;
        }
        Ok(Some(convert::session(session)))
    }

    /// Ends a session: it is deleted, the grants issued under it are revoked, and the clients
    /// that listen are told (Back-Channel Logout).
    pub async fn sign_out(
        &self,
        caller: &Caller,
        session: &Session,
        by: SignOutBy,
        client_id: Option<&str>,
    ) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let revoked = self.end_session(&mut tx, &session.id, now).await?;
        let user = tx
            .find_user(&session.user_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("user".into()))?;
        let mut event = Event::success(EventType::SignOut)
            .user(&user.id, &user.username)
            .details(serde_json::json!({
                "by": match by { SignOutBy::User => "user", SignOutBy::Application => "application" },
                "sid": session.id,
                "grants_revoked": revoked,
            }));
        if let Some(client_id) = client_id {
            event = event.client(client_id);
        }
        self.record(
            &mut tx,
            &caller.as_actor(super::Actor::User(user.id.clone())),
            event,
            now,
        )
        .await?;
        tx.commit().await.map_err(ServiceError::from)
    }

    /// The cascade of ending one session, for every use case that ends sessions.
    pub(crate) async fn end_session(
        &self,
        tx: &mut Tx,
        session_id: &str,
        now: i64,
    ) -> ServiceResult<u64> {
        self.queue_session_logouts(tx, session_id, now).await?;
        tx.delete_session(session_id).await?;
        let offline = self.config.settings.logout.revoke_offline_grants;
        Ok(tx.revoke_session_grants(session_id, offline, now).await?)
    }

    /// The cascade of ending every session of a user (a password set or reset, an account
    /// disabled or deleted, "This wasn't me"): the sessions go and every grant is revoked,
    /// offline ones included. Returns how many sessions and grants there were.
    pub(crate) async fn end_all_sessions(
        &self,
        tx: &mut Tx,
        user_id: &str,
        now: i64,
    ) -> ServiceResult<(u64, u64)> {
        self.queue_user_logouts(tx, user_id, now).await?;
        let sessions = tx.delete_user_sessions(user_id).await?;
        let grants = tx.revoke_user_grants(user_id, now).await?;
        Ok((sessions, grants))
    }

    /// RP-Initiated Logout §2–§3: validates a logout request. A post-logout redirect needs a
    /// known client and an exactly registered URI.
    pub async fn check_end_session(
        &self,
        params: &Params,
    ) -> Result<EndSessionRequest, OAuthError> {
        let (hint, client_id) =
            end_session::requested_client(params, &self.keys, &self.config.issuer)?;
        let client = match &client_id {
            Some(id) => Some(
                self.cached_client(id)
                    .await?
                    .ok_or_else(|| OAuthError::invalid_request("unknown client_id"))?,
            ),
            None => None,
        };
        end_session::validate(params, hint, client_id, client.as_ref())
    }
}

/// The stored hash of a session cookie's secret; none for a value no session cookie has.
fn cookie_hash(cookie: Option<&str>) -> Option<String> {
    cookie.filter(|c| c.len() == 43).map(secret::hash)
}
