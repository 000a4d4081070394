//! A real SMTP server for the tests, on loopback: it speaks enough SMTP for lettre (EHLO,
//! MAIL, RCPT, DATA, RSET, NOOP, QUIT), records every message, and can be stopped and started
//! again on the same port to play a mail server that is down.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message as it arrived.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Envelope recipients.
    pub to: Vec<String>,
    /// The message: headers and body, quoted-printable soft breaks undone.
    pub data: String,
}

impl Mail {
    /// The Subject header.
    pub fn subject(&self) -> String {
        self.data
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_string()
    }

    /// The first link in the message that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let start = self.data.find(prefix)?;
        let rest = &self.data[start..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
            .unwrap_or(rest.len());
        Some(rest[..end].to_string())
    }

    /// The `token` query parameter of the first link to `path` on `issuer`.
    pub fn token(&self, issuer: &str, path: &str) -> Option<String> {
        let link = self.link(&format!("{issuer}{path}?token="))?;
        Some(link.split("token=").nth(1)?.to_string())
    }
}

/// Undoes quoted-printable encoding (RFC 2045 §6.7): soft line breaks and `=XX` escapes.
fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A running SMTP server.
pub struct SmtpSink {
    /// Where it listens.
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Mail>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// Starts a server on a free loopback port.
    pub async fn start() -> SmtpSink {
        Self::start_on(0, Arc::default()).await
    }

    /// Starts a server on `port`, appending to `received`.
    async fn start_on(port: u16, received: Arc<Mutex<Vec<Mail>>>) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind smtp");
        let addr = listener.local_addr().expect("smtp addr");
        let sink = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sink = sink.clone();
                tokio::spawn(async move {
                    let _ = session(stream, sink).await;
                });
            }
        });
        SmtpSink {
            addr,
            received,
            task,
        }
    }

    /// `smtp://127.0.0.1:PORT`, for `mail.smtp_url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Stops listening (the port is free until [`SmtpSink::restart`]).
    pub fn stop(&self) {
        self.task.abort();
    }

    /// Listens again on the same port, keeping what arrived before.
    pub async fn restart(self) -> SmtpSink {
        self.task.abort();
        // The aborted task drops its listener; wait until the port is free again.
        for _ in 0..50 {
            if let Ok(listener) = std::net::TcpListener::bind(self.addr) {
                drop(listener);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Self::start_on(self.addr.port(), self.received.clone()).await
    }

    /// Every message so far.
    pub fn all(&self) -> Vec<Mail> {
        self.received.lock().expect("smtp lock").clone()
    }

    /// Messages to `to` so far.
    pub fn to(&self, to: &str) -> Vec<Mail> {
        self.all()
            .into_iter()
            .filter(|m| m.to.iter().any(|r| r == to))
            .collect()
    }

    /// Waits (at most 10 s, for a loaded machine) for a message to `to` whose subject contains `needle`.
    pub async fn wait_for_subject(&self, to: &str, needle: &str) -> Mail {
        for _ in 0..500 {
            if let Some(mail) = self
                .to(to)
                .into_iter()
                .find(|m| m.subject().contains(needle))
            {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "expected a message to {to} about {needle:?}, got {:?}",
            self.to(to).iter().map(|m| m.subject()).collect::<Vec<_>>()
        );
    }

    /// Waits (at most 10 s, for a loaded machine) until `count` messages to `to` have arrived and returns them.
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<Mail> {
        for _ in 0..500 {
            let got = self.to(to);
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "expected {count} message(s) to {to}, got {:?}",
            self.all()
                .iter()
                .map(|m| (m.to.clone(), m.subject()))
                .collect::<Vec<_>>()
        );
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    sink: Arc<Mutex<Vec<Mail>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 localhost test SMTP\r\n").await?;
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") || command.starts_with("HELO") {
            write
                .write_all(b"250-localhost\r\n250 8BITMIME\r\n")
                .await?;
        } else if command.starts_with("MAIL FROM") {
            to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if command.starts_with("RCPT TO") {
            let address = line
                .trim_end()
                .split_once(':')
                .map(|(_, a)| {
                    a.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string()
                })
                .unwrap_or_default();
            to.push(address);
            write.write_all(b"250 OK\r\n").await?;
        } else if command == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            sink.lock().expect("smtp lock").push(Mail {
                to: to.clone(),
                data: decode_quoted_printable(&data),
            });
            write.write_all(b"250 OK queued\r\n").await?;
        } else if command == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"250 OK\r\n").await?;
        }
    }
}
