//! Delivers the logout tokens the use cases queue (OpenID Connect Back-Channel Logout 1.0
//! §2.5): a form POST of `logout_token` to each client's registered URI, following no
//! redirects, bounded by `backchannel.timeout_secs`. A 2xx answer is delivery; anything else
//! is retried after `backchannel.retry_initial_secs`, doubling up to
//! `backchannel.retry_max_secs`, and given up after `backchannel.max_attempts`.

use std::time::Duration;

use tokio::sync::watch;

use crate::services::Services;
use crate::services::outbox::Channel;
use crate::store::MailRow;

/// Sends logout tokens.
struct Notifier {
    http: reqwest::Client,
    services: Services,
}

impl crate::delivery::Sender for Notifier {
    async fn send(&self, row: &MailRow) -> Result<(), String> {
        let token = self.services.logout_token(&row.context)?;
        let response = self
            .http
            .post(&row.recipient)
            .form(&[("logout_token", token)])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        if status.is_success() {
            tracing::debug!(recipient = ?row.recipient, "logout token delivered");
            Ok(())
        } else {
            Err(format!("the client answered {status}"))
        }
    }
}

/// Delivers queued logout tokens until `stop` turns true.
pub async fn run(services: Services, stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    let settings = services.config().settings.backchannel.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(settings.timeout_secs))
        .user_agent(concat!("Tessera/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let period = Duration::from_millis(settings.poll_interval_ms);
    let notifier = Notifier {
        http,
        services: services.clone(),
    };
    crate::delivery::run(services, Channel::Backchannel, period, notifier, stop).await;
    Ok(())
}
