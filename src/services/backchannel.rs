//! Back-Channel Logout 1.0 as use cases: when a session ends, every client with a
//! back-channel logout URI that received tokens in it gets a logout notice queued in the same
//! transaction; the sender signs each notice into a logout token when it delivers it.

use super::outbox::Channel;
use super::{ServiceResult, Services};
use crate::auth::secret;
use crate::domain::SigningAlg;
use crate::oidc::logout_token::{self, LogoutNotice};
use crate::store::Tx;

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
        for (client_id, uri, alg, user_id) in tx.logout_receivers_of_session(session_id).await? {
            self.queue_logout(tx, &uri, client_id, &user_id, session_id, alg, now)
                .await?;
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
        for (client_id, uri, alg, session_id) in tx.logout_receivers_of_user(user_id).await? {
            self.queue_logout(tx, &uri, client_id, user_id, &session_id, alg, now)
                .await?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn queue_logout(
        &self,
        tx: &mut Tx,
        uri: &str,
        client_id: String,
        user_id: &str,
        session_id: &str,
        alg: String,
        now: i64,
    ) -> ServiceResult<()> {
        let notice = LogoutNotice {
            client_id,
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            jti: secret::generate(),
            alg,
        };
        let context = serde_json::to_value(&notice).map_err(anyhow::Error::from)?;
        self.queue(tx, Channel::Backchannel, uri, TEMPLATE, context, now)
            .await
    }

    /// The signed logout token (`typ` logout+jwt) of a queued notice.
    pub fn logout_token(&self, context: &str) -> Result<String, String> {
        let notice: LogoutNotice =
            serde_json::from_str(context).map_err(|e| format!("notice: {e}"))?;
        let alg = SigningAlg::parse(&notice.alg).unwrap_or(SigningAlg::RS256);
        let claims = logout_token::claims(&self.config.issuer, &notice, self.now());
        self.keys
            .sign(alg, "logout+jwt", &claims)
            .map_err(|e| e.to_string())
    }
}
