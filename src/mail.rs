//! Sending the mail the use cases queue. Messages wait in the outbox table; [`run`] claims
//! them one at a time, renders them from `templates/mail/` (plain text plus HTML; the text
//! template's first line is `Subject: …`) and sends them over SMTP with lettre, or, without an
//! SMTP server (the embedded default), writes each as an `.eml` file and logs where. A failed
//! send is retried after `mail.retry_initial_secs`, doubling up to `mail.retry_max_secs`, so a
//! mail server that is down delays mail but loses none. The only lettre user.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::watch;

use crate::config::Config;
use crate::render::Templates;
use crate::services::Services;
use crate::services::outbox::Channel;
use crate::store::MailRow;

/// How a message leaves.
enum Transport {
    /// An SMTP server.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in a folder (development).
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// Renders and sends queued messages.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    templates: Templates,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::Files(..) => "files",
        };
        write!(f, "Mailer({kind}, from {})", self.from)
    }
}

/// SMTP gives up on a server that does not answer within this long; the message is retried.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

fn smtp_transport(url: &str) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let parsed = url::Url::parse(url).map_err(|e| anyhow::anyhow!("mail.smtp_url: {e}"))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| anyhow::anyhow!("mail.smtp_url must name a host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let builder = match parsed.scheme() {
        "smtp" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
            .port(parsed.port().unwrap_or(25)),
        "smtp+starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)?
            .port(parsed.port().unwrap_or(587)),
        "smtps" => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&host)?.port(parsed.port().unwrap_or(465))
        }
        other => anyhow::bail!("mail.smtp_url: unsupported scheme '{other}'"),
    };
    let builder = if parsed.username().is_empty() {
        builder
    } else {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        builder.credentials(Credentials::new(
            decode(parsed.username()),
            decode(parsed.password().unwrap_or_default()),
        ))
    };
    Ok(builder.timeout(Some(SMTP_TIMEOUT)).build())
}

impl Mailer {
    /// The mailer the configuration asks for.
    pub fn new(config: &Config, templates: Templates) -> anyhow::Result<Mailer> {
        let from: Mailbox = config.mail_from().parse().map_err(|e| {
            anyhow::anyhow!(
                "mail.from: expected an address like `Tessera <no-reply@example.com>` ({e})"
            )
        })?;
        let transport = match &config.settings.mail.smtp_url {
            Some(url) => Transport::Smtp(smtp_transport(url)?),
            None => {
                let dir = config.settings.mail.outbox_dir.clone();
                Transport::Files(AsyncFileTransport::new(&dir), dir)
            }
        };
        Ok(Mailer {
            transport,
            from,
            templates,
        })
    }

    /// Renders a queued message into a MIME message.
    fn render(&self, row: &MailRow) -> Result<Message, String> {
        let context: serde_json::Value =
            serde_json::from_str(&row.context).map_err(|e| format!("context: {e}"))?;
        let text = self
            .templates
            .render(&format!("mail/{}.txt", row.template), &context)
            .map_err(|e| e.to_string())?;
        let html = self
            .templates
            .render(&format!("mail/{}.html", row.template), &context)
            .map_err(|e| e.to_string())?;
        let (subject, body) = match text.split_once('\n') {
            Some((first, rest)) if first.starts_with("Subject:") => (
                first.trim_start_matches("Subject:").trim().to_string(),
                rest.trim_start().to_string(),
            ),
            _ => ("Message from Tessera".to_string(), text),
        };
        let to: Mailbox = row
            .recipient
            .parse()
            .map_err(|e| format!("recipient: {e}"))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .multipart(MultiPart::alternative_plain_html(body, html))
            .map_err(|e| e.to_string())
    }

    /// Sends one queued message.
    pub async fn send(&self, row: &MailRow) -> Result<(), String> {
        let message = self.render(row)?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Transport::Files(files, dir) => {
                crate::files::create_private_dir(dir)
                    .map_err(|e| format!("{}: {e}", dir.display()))?;
                let id = files.send(message).await.map_err(|e| e.to_string())?;
                tracing::info!(
                    file = %dir.join(format!("{id}.eml")).display(),
                    template = row.template,
                    "mail written (no mail.smtp_url set)"
                );
                Ok(())
            }
        }
    }
}

impl crate::delivery::Sender for Mailer {
    // In the order queued: a newer link mailed after an older one arrives after it.
    const IN_FLIGHT: usize = 1;

    async fn send(&self, row: &MailRow) -> Result<(), String> {
        Mailer::send(self, row).await
    }
}

/// Sends queued mail until `stop` turns true: every `mail.poll_interval_ms`, every message
/// that is due.
pub async fn run(services: Services, mailer: Mailer, stop: watch::Receiver<bool>) {
    let period = Duration::from_millis(services.config().settings.mail.poll_interval_ms);
    crate::delivery::run(services, Channel::Mail, period, mailer, stop).await;
}
