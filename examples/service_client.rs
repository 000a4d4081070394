//! # Tessera example: service client (OAuth 2.0 client credentials)
//!
//! Shows how a backend service, acting on its own behalf rather than for a
//! user, gets an access token from Tessera with the `client_credentials`
//! grant (RFC 6749 §4.4) using the [`oauth2`] crate, and then calls the
//! example resource server with it.
//!
//! Steps:
//!
//! 1. fetch Tessera's discovery document with a plain HTTP GET to find the
//!    `token_endpoint` (a service does not need the rest of OpenID Connect);
//! 2. ask for a token with scope `roles`, authenticating with the client's
//!    secret (HTTP Basic, or the request body if Tessera only offers that);
//! 3. print a summary of the token response;
//! 4. call `GET {api_url}/api/me` with the token and print the answer.
//!
//! For client-credentials tokens Tessera sets `sub` to the client id and
//! `roles` to the client's own roles.
//!
//! ## Running
//!
//! Start Tessera (it registers the `example-app` client on first start and
//! writes its secret to `keys/example-app.secret`), then the resource server,
//! then run this from Tessera's working directory:
//!
//! ```sh
//! cargo run --example resource_server &
//! cargo run --example service_client
//! ```
//!
//! Settings (flag / environment variable, default):
//!
//! * `--issuer` / `SC_ISSUER`, `http://127.0.0.1:8080`
//! * `--client-id` / `SC_CLIENT_ID`, `example-app`
//! * `--client-secret` / `SC_CLIENT_SECRET`, otherwise read from
//!   `--client-secret-file` / `SC_CLIENT_SECRET_FILE`,
//!   `keys/example-app.secret`
//! * `--api-url` / `SC_API_URL`, `http://127.0.0.1:4000`
//! * `--dpop` / `SC_DPOP`: bind the token to a fresh P-256 key with DPoP
//!   (RFC 9449): a proof goes with the token request and with the API call,
//!   which then uses `Authorization: DPoP <token>`
//!
//! The program exits with status 1 and a one-line message when any step fails.

#[path = "common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser;
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::{self, ES256, JwsHeader};
use oauth2::basic::{BasicClient, BasicTokenResponse};
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// How many times discovery is tried while Tessera may still be starting.
const DISCOVERY_ATTEMPTS: u32 = 5;

/// Discovery retries only while Tessera is unreachable: a 5xx answer fails
/// at once.
const DISCOVERY_RETRIES_SERVER_ERRORS: bool = false;

/// Command-line flags; each can also come from the environment.
#[derive(Debug, Parser)]
#[command(
    name = "service_client",
    about = "Get a client_credentials token from Tessera and call the example API with it"
)]
struct Args {
    /// Issuer URL of the Tessera instance.
    #[arg(long, env = "SC_ISSUER", default_value = "http://127.0.0.1:8080")]
    issuer: String,

    /// OAuth client id of this service.
    #[arg(long, env = "SC_CLIENT_ID", default_value = "example-app")]
    client_id: String,

    /// OAuth client secret (default: read from --client-secret-file).
    #[arg(long, env = "SC_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,

    /// File holding the client secret, used when --client-secret is not given.
    #[arg(
        long,
        env = "SC_CLIENT_SECRET_FILE",
        default_value = "keys/example-app.secret"
    )]
    client_secret_file: PathBuf,

    /// Base URL of the example resource server.
    #[arg(long, env = "SC_API_URL", default_value = "http://127.0.0.1:4000")]
    api_url: String,

    /// Bind the token to a key of this run with DPoP (RFC 9449).
    #[arg(long, env = "SC_DPOP")]
    dpop: bool,
}

/// The part of the discovery document this client needs.
#[derive(Debug, Deserialize)]
struct Discovery {
    /// The provider's issuer identifier, checked against `--issuer`.
    issuer: String,
    /// Where tokens are requested.
    token_endpoint: String,
    /// Client authentication methods the token endpoint accepts.
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    common::exit_status("service_client", run(args).await)
}

/// Runs the four steps described in the module documentation.
async fn run(args: Args) -> anyhow::Result<()> {
    let Some(secret) = common::client_secret(
        args.client_secret.as_deref(),
        &args.client_secret_file,
        "SC",
    )?
    else {
        bail!(
            "the client secret file {} is empty",
            args.client_secret_file.display()
        );
    };
    let http = common::http_client()?;

    let discovery = common::discover(
        &http,
        &args.issuer,
        "SC",
        DISCOVERY_ATTEMPTS,
        DISCOVERY_RETRIES_SERVER_ERRORS,
        |discovery: &Discovery| &discovery.issuer,
    )
    .await?;
    println!("Token endpoint: {}", discovery.token_endpoint);

    let key = if args.dpop {
        Some(Jwk::generate_ec_key(EcCurve::P256).context("could not make a DPoP key")?)
    } else {
        None
    };
    let token = request_token(&http, &discovery, &args.client_id, secret, key.as_ref()).await?;
    print_token_summary(&token);

    call_api(&http, &args.api_url, &token, key.as_ref()).await
}

/// A DPoP proof (RFC 9449 §4) for `method` on `url`, with the hash of the
/// access token it goes with, when there is one.
// An app of its own, not Tessera: it reads the system clock.
#[allow(clippy::disallowed_methods)]
fn dpop_proof(key: &Jwk, method: &str, url: &str, token: Option<&str>) -> anyhow::Result<String> {
    let mut header = JwsHeader::new();
    header.set_token_type("dpop+jwt");
    header.set_jwk(key.to_public_key()?);
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let mut claims = serde_json::json!({
        "jti": uuid::Uuid::new_v4().to_string(),
        "htm": method,
        "htu": url,
        "iat": iat,
    });
    if let Some(token) = token {
        claims["ath"] = serde_json::json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
    }
    let signer = ES256.signer_from_jwk(key)?;
    Ok(jws::serialize_compact(
        claims.to_string().as_bytes(),
        &header,
        &signer,
    )?)
}

/// Chooses how to send the client secret: HTTP Basic unless Tessera only
/// advertises `client_secret_post`.
fn auth_type(discovery: &Discovery) -> AuthType {
    let Some(methods) = &discovery.token_endpoint_auth_methods_supported else {
        // The discovery default is client_secret_basic.
        return AuthType::BasicAuth;
    };
    let supports = |name: &str| methods.iter().any(|m| m == name);
    if !supports("client_secret_basic") && supports("client_secret_post") {
        AuthType::RequestBody
    } else {
        AuthType::BasicAuth
    }
}

/// Requests a client-credentials token with scope `roles`.
async fn request_token(
    http: &reqwest::Client,
    discovery: &Discovery,
    client_id: &str,
    secret: String,
    dpop_key: Option<&Jwk>,
) -> anyhow::Result<BasicTokenResponse> {
    let token_url = TokenUrl::new(discovery.token_endpoint.clone())
        .context("the discovery document has an invalid token_endpoint")?;
    let client = BasicClient::new(ClientId::new(client_id.to_owned()))
        .set_client_secret(ClientSecret::new(secret))
        .set_auth_type(auth_type(discovery))
        .set_token_uri(token_url);
    let proof = match dpop_key {
        Some(key) => Some(dpop_proof(key, "POST", &discovery.token_endpoint, None)?),
        None => None,
    };
    // The oauth2 crate sends the request through this function, which adds
    // the proof header.
    let send = |mut request: oauth2::HttpRequest| {
        if let Some(proof) = proof.as_deref().and_then(|p| p.parse().ok()) {
            request.headers_mut().insert("DPoP", proof);
        }
        oauth2::AsyncHttpClient::call(http, request)
    };
    client
        .exchange_client_credentials()
        .add_scope(Scope::new("roles".to_owned()))
        .request_async(&send)
        .await
        .map_err(|err| anyhow::anyhow!(describe_token_error(&err)))
        .context("Tessera did not issue a token")
}

/// Turns a token endpoint failure into one readable sentence.
fn describe_token_error(
    err: &oauth2::RequestTokenError<
        oauth2::HttpClientError<reqwest::Error>,
        oauth2::basic::BasicErrorResponse,
    >,
) -> String {
    match err {
        oauth2::RequestTokenError::ServerResponse(response) => {
            let mut text = response.error().to_string();
            if let Some(description) = response.error_description() {
                text.push_str(": ");
                text.push_str(description);
            }
            text
        }
        other => error_chain(other),
    }
}

/// Joins an error and all its sources with ": ".
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Prints what came back, without printing the whole token (it is a secret).
fn print_token_summary(token: &BasicTokenResponse) {
    let secret = token.access_token().secret();
    let preview: String = secret.chars().take(16).collect();
    println!(
        "Got an access token: {preview}... ({} characters)",
        secret.len()
    );
    println!("  token_type: {}", token.token_type().as_ref());
    match token.expires_in() {
        Some(lifetime) => println!("  expires_in: {} s", lifetime.as_secs()),
        None => println!("  expires_in: (not stated)"),
    }
    match token.scopes() {
        Some(scopes) => {
            let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
            println!("  scope: {}", scopes.join(" "));
        }
        // RFC 6749 §5.1: no scope in the answer means "as requested".
        None => println!("  scope: (as requested: roles)"),
    }
    if token.refresh_token().is_some() {
        println!("  refresh_token: present");
    }
}

/// Calls `GET {api_url}/api/me` with the token and prints the answer.
async fn call_api(
    http: &reqwest::Client,
    api_url: &str,
    token: &BasicTokenResponse,
    dpop_key: Option<&Jwk>,
) -> anyhow::Result<()> {
    let url = format!("{}/api/me", api_url.trim_end_matches('/'));
    let access_token = token.access_token().secret();
    let request = match dpop_key {
        Some(key) => http
            .get(&url)
            .header("Authorization", format!("DPoP {access_token}"))
            .header("DPoP", dpop_proof(key, "GET", &url, Some(access_token))?),
        None => http.get(&url).bearer_auth(access_token),
    };
    let response = request
        .send()
        .await
        .with_context(|| format!("could not reach the resource server at {url}"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .with_context(|| format!("could not read the answer of {url}"))?;
    println!("GET {url} -> {status}");
    println!("{}", pretty_json(&body));
    if !status.is_success() {
        bail!("the resource server refused the token ({status})");
    }
    Ok(())
}

/// Pretty-prints JSON, or returns the text unchanged when it is not JSON.
fn pretty_json(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| body.to_owned())
}
