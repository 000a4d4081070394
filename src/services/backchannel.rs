//! Back-Channel Logout 1.0 as use cases: when a session ends, every client with a
//! back-channel logout URI that received tokens in it gets a logout notice queued in the same
//! transaction; the sender signs each notice into a logout token when it delivers it.

use super::outbox::Channel;
use super::{ServiceResult, Services};
use crate::auth::secret;
use crate::domain::SigningAlg;
use crate::oidc::logout_token::{self, LogoutNotice};
use crate::store::{LogoutReceiver, Tx};

/// The template name logout notices are queued under.
const TEMPLATE: &str = "logout_token";

impl Services {
    /// Queues logout notices for the clients that received tokens in `session_id`.
    pub(crate) async fn queue_session_logouts(
        &self,
        tx: &mut Tx,
        session_id: &str,
        now: i64,
    ) -> ServiceResult<()> {
        for receiver in tx.logout_receivers_of_session(session_id).await? {
            self.queue_logout(tx, receiver, now).await?;
        }
        Ok(())
    }

    /// Queues logout notices for every live session of a user.
    pub(crate) async fn queue_user_logouts(
        &self,
        tx: &mut Tx,
        user_id: &str,
        now: i64,
    ) -> ServiceResult<()> {
        for receiver in tx.logout_receivers_of_user(user_id).await? {
            self.queue_logout(tx, receiver, now).await?;
        }
        Ok(())
    }

    async fn queue_logout(&self, tx: &mut Tx, to: LogoutReceiver, now: i64) -> ServiceResult<()> {
        let notice = LogoutNotice {
            client_id: to.client_id,
            sub: to.user_id,
            sid: to.session_id,
            jti: secret::generate(),
            alg: to.id_token_alg,
            public_only: to.self_registered != 0,
        };
        let context = serde_json::to_value(&notice).map_err(anyhow::Error::from)?;
        self.queue(
            tx,
            Channel::Backchannel,
            &to.backchannel_logout_uri,
            TEMPLATE,
            context,
            now,
        )
        .await
    }

    /// The signed logout token (`typ` logout+jwt) of a queued notice, and whether its
    /// receiver may only be reached over public addresses.
    pub fn logout_token(&self, context: &str) -> Result<(String, bool), String> {
        let notice: LogoutNotice =
            serde_json::from_str(context).map_err(|e| format!("notice: {e}"))?;
        let alg = SigningAlg::parse(&notice.alg).unwrap_or(SigningAlg::RS256);
        let claims = logout_token::claims(&self.config.issuer, &notice, self.now());
        let token = self
            .keys
            .sign(alg, "logout+jwt", &claims)
            .map_err(|e| e.to_string())?;
        Ok((token, notice.public_only))
    }
}
