//! Delivers the logout tokens the use cases queue (OpenID Connect Back-Channel Logout 1.0
//! §2.5): a form POST of `logout_token` to each client's registered URI through the bounded
//! outbound client (no redirects, `backchannel.timeout_secs`, public addresses only for
//! clients that registered themselves). A 2xx answer is delivery; anything else is retried
//! after `backchannel.retry_initial_secs`, doubling up to `backchannel.retry_max_secs`, and
//! given up after `backchannel.max_attempts`.

use std::time::Duration;

use tokio::sync::watch;

use crate::outbound::Outbound;
use crate::services::Services;
use crate::services::outbox::Channel;
use crate::store::MailRow;

/// Sends logout tokens.
struct Notifier {
    outbound: Outbound,
    services: Services,
}

impl crate::delivery::Sender for Notifier {
    const IN_FLIGHT: usize = 8;

    async fn send(&self, row: &MailRow) -> Result<(), String> {
        let (token, public_only) = self.services.logout_token(&row.context)?;
        self.outbound
            .post_form(&row.recipient, &[("logout_token", &token)], public_only)
            .await?;
        tracing::debug!(recipient = ?row.recipient, "logout token delivered");
        Ok(())
    }
}

/// Delivers queued logout tokens until `stop` turns true.
pub async fn run(services: Services, stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    let settings = services.config().settings.backchannel.clone();
    let notifier = Notifier {
        outbound: Outbound::new(Duration::from_secs(settings.timeout_secs))?,
        services: services.clone(),
    };
    let period = Duration::from_millis(settings.poll_interval_ms);
    crate::delivery::run(services, Channel::Backchannel, period, notifier, stop).await;
    Ok(())
}
