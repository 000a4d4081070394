//! # Tessera example: device client (OAuth 2.0 Device Authorization Grant)
//!
//! Shows how a program without a browser (a command-line tool, a TV app)
//! signs a person in with the device flow (RFC 8628) using the [`oauth2`]
//! crate: it asks Tessera for a code pair, prints where to go and which code
//! to type, and polls the token endpoint until the person allows or denies
//! it on another device.
//!
//! ## Running
//!
//! Register a public client for the grant once, then run this:
//!
//! ```sh
//! target/release/tessera client add --name "Device App" --client-id device-app --public \
//!   --grant-types urn:ietf:params:oauth:grant-type:device_code,refresh_token
//! target/release/examples/device_client --client-id device-app
//! ```
//!
//! It prints `Open http://127.0.0.1:8080/device and enter XXXX-XXXX` (and the
//! link with the code filled in), then, once allowed, a summary of the
//! tokens. Settings (flag / environment variable, default):
//!
//! * `--issuer` / `DC_ISSUER`, `http://127.0.0.1:8080`
//! * `--client-id` / `DC_CLIENT_ID`, `device-app`
//! * `--scope` / `DC_SCOPE`, `openid profile offline_access`
//!
//! The program exits with status 1 and a one-line message when the person
//! denies the request, the code expires, or any step fails.

#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use oauth2::StandardDeviceAuthorizationResponse;
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, DeviceAuthorizationUrl, Scope, TokenResponse, TokenUrl};
use serde::Deserialize;

/// How many times discovery is tried while Tessera may still be starting.
const DISCOVERY_ATTEMPTS: u32 = 5;

/// Command-line flags; each can also come from the environment.
#[derive(Debug, Parser)]
#[command(
    name = "device_client",
    about = "Sign a person in with the device flow: print a code, wait for them to allow it"
)]
struct Args {
    /// Issuer URL of the Tessera instance.
    #[arg(long, env = "DC_ISSUER", default_value = "http://127.0.0.1:8080")]
    issuer: String,

    /// The public client registered for the device grant.
    #[arg(long, env = "DC_CLIENT_ID", default_value = "device-app")]
    client_id: String,

    /// Scopes to ask for, space separated.
    #[arg(
        long,
        env = "DC_SCOPE",
        default_value = "openid profile offline_access"
    )]
    scope: String,
}

/// The part of the discovery document this client needs.
#[derive(Debug, Deserialize)]
struct Discovery {
    /// The provider's issuer identifier, checked against `--issuer`.
    issuer: String,
    /// Where tokens are requested.
    token_endpoint: String,
    /// Where device codes are requested.
    device_authorization_endpoint: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    common::exit_status("device_client", run(args).await)
}

/// Asks for codes, shows them, and waits for the tokens.
async fn run(args: Args) -> anyhow::Result<()> {
    let http = common::http_client()?;
    let discovery: Discovery = common::discover(
        &http,
        &args.issuer,
        "DC",
        DISCOVERY_ATTEMPTS,
        false,
        |discovery: &Discovery| &discovery.issuer,
    )
    .await?;
    let device_url = discovery
        .device_authorization_endpoint
        .context("Tessera's discovery document has no device_authorization_endpoint")?;
    let client = BasicClient::new(ClientId::new(args.client_id))
        .set_auth_type(AuthType::RequestBody)
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(device_url)
                .context("the device_authorization_endpoint is not a URL")?,
        )
        .set_token_uri(
            TokenUrl::new(discovery.token_endpoint).context("the token_endpoint is not a URL")?,
        );

    let scopes = args
        .scope
        .split_whitespace()
        .map(|s| Scope::new(s.to_owned()));
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(scopes)
        .request_async(&http)
        .await
        .context("Tessera did not hand out a device code")?;
    println!(
        "Open {} and enter {}",
        details.verification_uri().as_str(),
        details.user_code().secret()
    );
    if let Some(complete) = details.verification_uri_complete() {
        println!("Or open {}", complete.secret());
    }
    println!("Waiting for you to allow it...");

    let token = client
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, None)
        .await
        .map_err(|err| match err {
            oauth2::RequestTokenError::ServerResponse(response) => {
                anyhow::anyhow!("{}", response.error())
            }
            other => anyhow::anyhow!("{other}"),
        })
        .context("no tokens")?;
    let access = token.access_token().secret();
    println!("Signed in: access token of {} characters", access.len());
    println!("  token_type: {}", token.token_type().as_ref());
    if token.refresh_token().is_some() {
        println!("  refresh_token: present");
    }
    Ok(())
}
