//! Code the example programs share: how `main` reports a failure, logging,
//! Ctrl-C handling, binding the listen address, reading the client secret,
//! the HTTP client, and fetching Tessera's discovery document while Tessera
//! may still be starting.
//!
//! Each example includes this file as its own module, with
//! `#[path = "common/mod.rs"] mod common;` (`../common/mod.rs` from the
//! relying party's directory); cargo does not take a directory without a
//! `main.rs` for an example, so this one is not built on its own.
//!
//! Every example compiles all of this file. A few items serve only some of
//! the examples; they carry `#[allow(dead_code)]`, because the program that
//! does not call them would otherwise warn, and there is no way to leave
//! them out of that one program.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;
use tracing::info;

/// How long one HTTP request may take before it is given up.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause between two discovery attempts.
const DISCOVERY_RETRY_DELAY: Duration = Duration::from_secs(2);

/// Turns the outcome of an example's `run` into its exit status: on failure,
/// one line `{program}: error: ...` on stderr and status 1.
pub fn exit_status(program: &str, outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the whole cause chain on one line.
            eprintln!("{program}: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, at `info` unless `RUST_LOG` says otherwise, in colour only on a terminal;
/// stdout is left to what the example prints for its user.
#[allow(dead_code, reason = "the service client writes no logs")]
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Waits for Ctrl-C so that open requests can finish.
#[allow(dead_code, reason = "the service client is not a server")]
pub async fn shutdown_signal() {
    if tokio::signal::ctrl_c().await.is_err() {
        // Without a signal handler, run until killed.
        std::future::pending::<()>().await;
    }
}

/// Binds `listen`, where port 0 means any free port; returns the listener and the address
/// it got, which the example prints so that whoever started it can find it.
#[allow(dead_code, reason = "the service client is not a server")]
pub async fn listen(listen: SocketAddr) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener
        .local_addr()
        .with_context(|| format!("no local address after binding {listen}"))?;
    Ok((listener, bound))
}

/// Picks the client secret: the flag/environment value, else the contents
/// of the secret file. `env_prefix` is the prefix of the example's
/// environment variables (`RP` for `RP_CLIENT_SECRET`), for the message.
///
/// `Ok(None)` means the file holds no secret; each example words that
/// message its own way.
#[allow(dead_code, reason = "the resource server has no client secret")]
pub fn client_secret(
    explicit: Option<&str>,
    file: &Path,
    env_prefix: &str,
) -> anyhow::Result<Option<String>> {
    if let Some(secret) = explicit.map(str::trim).filter(|s| !s.is_empty()) {
        return Ok(Some(secret.to_owned()));
    }
    let contents = std::fs::read_to_string(file).with_context(|| {
        format!(
            "no client secret: pass --client-secret or set {env_prefix}_CLIENT_SECRET, or point \
             --client-secret-file / {env_prefix}_CLIENT_SECRET_FILE at the file Tessera wrote \
             (could not read {})",
            file.display()
        )
    })?;
    // Tessera writes the secret followed by a newline.
    let secret = contents.trim();
    Ok((!secret.is_empty()).then(|| secret.to_owned()))
}

/// Builds the HTTP client used for every request.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        // The oauth2 and openidconnect crates advise against following
        // redirects: following one to an attacker-chosen host would be a
        // server-side request forgery.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(HTTP_TIMEOUT)
        .build()
        .context("could not build the HTTP client")
}

/// Fetches the discovery document of `issuer` as a `T`, trying up to
/// `attempts` times while Tessera is unreachable (and, with
/// `retry_server_errors`, while it answers 5xx), and checks that the
/// document names `issuer` (`issuer_of` reads that field of `T`).
/// `env_prefix` is the prefix of the example's environment variables
/// (`RS` for `RS_ISSUER`), for the messages.
#[allow(
    dead_code,
    reason = "the relying party discovers through the openidconnect crate"
)]
pub async fn discover<T: DeserializeOwned>(
    http: &reqwest::Client,
    issuer: &str,
    env_prefix: &str,
    attempts: u32,
    retry_server_errors: bool,
    issuer_of: fn(&T) -> &str,
) -> anyhow::Result<T> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    // Log lines name the program as their target, not `...::common`, like
    // the rest of its logs.
    let mut attempt = 1;
    let response = loop {
        match http.get(&url).send().await {
            Ok(response)
                if retry_server_errors
                    && response.status().is_server_error()
                    && attempt < attempts =>
            {
                info!(
                    target: env!("CARGO_CRATE_NAME"),
                    status = %response.status(),
                    "discovery failed, retrying"
                );
            }
            Ok(response) => break response,
            // Tessera may still be starting: try again for a while.
            Err(err) if attempt < attempts && (err.is_connect() || err.is_timeout()) => {
                info!(
                    target: env!("CARGO_CRATE_NAME"),
                    "Tessera is not reachable yet at {issuer}, retrying"
                );
            }
            Err(err) => {
                return Err(err).with_context(|| {
                    format!("could not fetch {url} (is Tessera running at {issuer}?)")
                });
            }
        }
        attempt += 1;
        tokio::time::sleep(DISCOVERY_RETRY_DELAY).await;
    };
    let status = response.status();
    if !status.is_success() {
        bail!(
            "{url} answered {status}: is --issuer / {env_prefix}_ISSUER the issuer URL of Tessera?"
        );
    }
    let discovery: T = response
        .json()
        .await
        .with_context(|| format!("{url} did not return a valid discovery document"))?;
    // The issuer must match (OpenID Connect Discovery §4.3), or the
    // document belongs to someone else.
    let named = issuer_of(&discovery);
    if named.trim_end_matches('/') != issuer.trim_end_matches('/') {
        bail!("the discovery document names issuer {named} but --issuer is {issuer}");
    }
    Ok(discovery)
}
