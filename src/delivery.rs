//! The worker loop shared by the outbox's senders (mail, back-channel logout): every poll
//! interval it claims each due message of its channel, hands it to its sender, and records
//! the outcome, so a receiver that is down delays messages but loses none.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

use crate::services::Services;
use crate::services::outbox::Channel;
use crate::store::MailRow;

/// Sends one claimed message; `Err` carries why it did not go out (it is retried).
pub trait Sender {
    /// Delivers `row`.
    fn send(&self, row: &MailRow) -> impl Future<Output = Result<(), String>> + Send;
}

/// Delivers `channel`'s messages with `sender` every `period` until `stop` turns true.
pub async fn run(
    services: Services,
    channel: Channel,
    period: Duration,
    sender: impl Sender,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => deliver_due(&services, channel, &sender).await,
            _ = stop.changed() => break,
        }
    }
}

/// Sends every message due now.
async fn deliver_due(services: &Services, channel: Channel, sender: &impl Sender) {
    let queue = channel.as_str();
    loop {
        let row = match services.claim_message(channel).await {
            Ok(Some(row)) => row,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(queue, error = %e, "could not read the outbox");
                return;
            }
        };
        let recorded = match sender.send(&row).await {
            Ok(()) => services.message_sent(&row).await,
            Err(error) => {
                tracing::warn!(queue, template = row.template, recipient = ?row.recipient, attempts = row.attempts + 1, %error, "message not delivered; will retry");
                services.message_failed(channel, &row, &error).await
            }
        };
        if let Err(e) = recorded {
            tracing::warn!(queue, error = %e, "could not update the outbox");
            return;
        }
    }
}
