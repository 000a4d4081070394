//! Interactions: an authorization request parked while the user signs in or consents, then
//! resumed by id. Parking, loading, finishing and their lifetime (`session.request_ttl_secs`)
//! live here, apart from HTTP. The parked request is stored as JSON that tolerates fields
//! added by later versions (they default when an older row is read).

use std::sync::atomic::{AtomicU64, Ordering};

use super::{ServiceResult, Services, convert};
use crate::auth::secret;
use crate::domain::Client;
use crate::oidc::authorize::AuthorizationRequest;
use crate::store::{InteractionRow, Tx};

/// A parked authorization request.
#[derive(Debug, Clone)]
pub struct Interaction {
    /// Its id (random, 256 bits).
    pub id: String,
    /// The validated request.
    pub request: AuthorizationRequest,
    /// The session present when it was parked: a sign-in during the request replaces it.
    pub prior_session_id: Option<String>,
    /// When it was parked.
    pub created_at: i64,
}

/// Parked requests this process has seen: with the Clock's whole seconds, it orders requests
/// that arrive within one second.
static ARRIVALS: AtomicU64 = AtomicU64::new(0);

/// A key that sorts parked requests by arrival (oldest first): the second, then the count.
fn arrival_key(now: i64) -> String {
    format!(
        "{now:016x}{:016x}",
        ARRIVALS.fetch_add(1, Ordering::Relaxed)
    )
}

impl Services {
    /// Parks `request` made from `ip` and returns the interaction's id. Anyone can park
    /// requests without signing in, so the requests of one address, and all together, are
    /// capped (`session.pending_requests_per_ip`, `session.pending_requests_total`): the
    /// oldest give way, and storage stays bounded under a flood.
    pub(crate) async fn park(
        &self,
        tx: &mut Tx,
        request: &AuthorizationRequest,
        (prior_session_id, ip): (Option<String>, Option<&str>),
        now: i64,
    ) -> ServiceResult<String> {
        let id = secret::generate();
        let row = InteractionRow {
            id: id.clone(),
            client_id: request.client_id.clone(),
            request: serde_json::to_string(request)
                .map_err(|e| anyhow::anyhow!("cannot store the request: {e}"))?,
            prior_session_id,
            created_at: now,
            expires_at: now + self.config.settings.session.request_ttl_secs,
        };
        tx.insert_interaction(&row, ip, &arrival_key(now)).await?;
        let settings = &self.config.settings.session;
        if let Some(ip) = ip {
            tx.trim_interactions(Some(ip), settings.pending_requests_per_ip)
                .await?;
        }
        tx.trim_interactions(None, settings.pending_requests_total)
            .await?;
        Ok(id)
    }

    /// A live interaction with its client; `None` when unknown, expired, unreadable or its
    /// client is gone.
    pub async fn interaction(&self, id: &str) -> ServiceResult<Option<(Interaction, Client)>> {
        let mut tx = self.db.read().await?;
        let Some(row) = tx.find_interaction(id, self.now()).await? else {
            return Ok(None);
        };
        let Ok(request) = serde_json::from_str::<AuthorizationRequest>(&row.request) else {
            tracing::warn!(interaction = %row.id, "parked request unreadable; treated as expired");
            return Ok(None);
        };
        let Some(client) = tx.find_client(&row.client_id).await?.map(convert::client) else {
            return Ok(None);
        };
        Ok(Some((
            Interaction {
                id: row.id,
                request,
                prior_session_id: row.prior_session_id,
                created_at: row.created_at,
            },
            client,
        )))
    }

    /// Ends an interaction: its request was answered.
    pub(crate) async fn finish(&self, tx: &mut Tx, id: &str) -> ServiceResult<()> {
        tx.delete_interaction(id).await?;
        Ok(())
    }
}
