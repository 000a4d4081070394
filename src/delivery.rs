//! The worker loop shared by the outbox's senders (mail, back-channel logout): every poll
//! interval it claims the due messages of its channel and hands each to its sender, up to
//! the sender's [`Sender::IN_FLIGHT`] at once, and records the outcome; a receiver that is
//! down delays messages but loses none.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::services::Services;
use crate::services::outbox::Channel;
use crate::store::MailRow;

/// Sends one claimed message; `Err` carries why it did not go out (it is retried).
pub trait Sender: Send + Sync + 'static {
    /// Deliveries under way at once per node: one keeps the queue's order (mail to one
    /// server); several keep one slow receiver from delaying the others (logout tokens).
    const IN_FLIGHT: usize;

    /// Delivers `row`.
    fn send(&self, row: &MailRow) -> impl Future<Output = Result<(), String>> + Send;
}

/// Delivers `channel`'s messages with `sender` every `period` until `stop` turns true, then
/// lets the deliveries under way finish (each is bounded by its sender's timeout).
pub async fn run(
    services: Services,
    channel: Channel,
    period: Duration,
    sender: impl Sender,
    mut stop: watch::Receiver<bool>,
) {
    let sender = Arc::new(sender);
    let mut running = JoinSet::new();
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => start_due(&services, channel, &sender, &mut running).await,
            _ = stop.changed() => break,
        }
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}

/// Claims due messages while there is room and starts their deliveries.
async fn start_due<S: Sender>(
    services: &Services,
    channel: Channel,
    sender: &Arc<S>,
    running: &mut JoinSet<()>,
) {
    let queue = channel.as_str();
    while running.len() < S::IN_FLIGHT {
        let row = match services.claim_message(channel).await {
            Ok(Some(row)) => row,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(queue, error = %e, "could not read the outbox");
                return;
            }
        };
        let services = services.clone();
        let sender = sender.clone();
        running.spawn(async move { deliver(&services, channel, sender.as_ref(), row).await });
    }
}

/// Sends one message and records the outcome.
async fn deliver<S: Sender>(services: &Services, channel: Channel, sender: &S, row: MailRow) {
    let queue = channel.as_str();
    let recorded = match sender.send(&row).await {
        Ok(()) => services.message_sent(&row).await,
        Err(error) => {
            tracing::warn!(queue, template = row.template, recipient = ?row.recipient, attempts = row.attempts + 1, %error, "message not delivered; will retry");
            services.message_failed(channel, &row, &error).await
        }
    };
    if let Err(e) = recorded {
        tracing::warn!(queue, error = %e, "could not update the outbox");
    }
}
