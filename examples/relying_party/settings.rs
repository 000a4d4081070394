//! The command line, and the settings checked and derived from it at start.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;
use openidconnect::{ClientId, ClientSecret, IssuerUrl, PostLogoutRedirectUrl, RedirectUrl};
use url::Url;

use crate::common;

/// Command-line flags; each can also come from the environment.
#[derive(Debug, Parser)]
#[command(
    name = "relying_party",
    about = "Example web app that signs users in with Tessera (OpenID Connect)"
)]
pub struct Args {
    /// Issuer URL of the Tessera instance.
    #[arg(long, env = "RP_ISSUER", default_value = "http://127.0.0.1:8080")]
    issuer: String,

    /// OAuth client id of this app.
    #[arg(long, env = "RP_CLIENT_ID", default_value = "example-app")]
    client_id: String,

    /// OAuth client secret (default: read from --client-secret-file).
    #[arg(long, env = "RP_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,

    /// File holding the client secret, used when --client-secret is not given.
    #[arg(
        long,
        env = "RP_CLIENT_SECRET_FILE",
        default_value = "keys/example-app.secret"
    )]
    client_secret_file: PathBuf,

    /// Address to listen on.
    #[arg(long, env = "RP_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// URL at which browsers reach this app (default: http:// and the address listened on).
    #[arg(long, env = "RP_PUBLIC_URL")]
    public_url: Option<String>,

    /// Base URL of the example resource server.
    #[arg(long, env = "RP_API_URL", default_value = "http://127.0.0.1:4000")]
    api_url: String,
}

/// Settings fixed at start.
pub struct Settings {
    /// Tessera's issuer.
    pub issuer: IssuerUrl,
    /// This app's client id.
    pub client_id: ClientId,
    /// This app's client secret.
    pub client_secret: ClientSecret,
    /// Where browsers reach this app, without a trailing slash.
    pub public_url: String,
    /// Base URL of the resource server, without a trailing slash.
    pub api_url: String,
    /// `{public_url}/callback`.
    pub redirect_url: RedirectUrl,
    /// `{public_url}/`.
    pub post_logout_url: PostLogoutRedirectUrl,
    /// Mark the session cookie `Secure` (public URL is https).
    pub secure_cookies: bool,
}

/// Turns the flags into checked settings; `listening_on` is the address the listener got
/// (the port chosen when `--listen` asked for port 0).
pub fn settings_from_args(args: Args, listening_on: SocketAddr) -> anyhow::Result<Settings> {
    let Some(client_secret) = common::client_secret(
        args.client_secret.as_deref(),
        &args.client_secret_file,
        "RP",
    )?
    else {
        bail!(
            "no client secret: the file {} is empty; pass --client-secret or set RP_CLIENT_SECRET",
            args.client_secret_file.display()
        );
    };
    let issuer = IssuerUrl::new(args.issuer.clone())
        .with_context(|| format!("--issuer / RP_ISSUER is not a valid URL: {}", args.issuer))?;
    let public_url = args
        .public_url
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| format!("http://{listening_on}"));
    let public_url = base_url(&public_url, "--public-url / RP_PUBLIC_URL")?;
    let api_url = base_url(&args.api_url, "--api-url / RP_API_URL")?;
    let redirect_url = RedirectUrl::new(format!("{public_url}/callback"))
        .context("cannot build the redirect URI from --public-url")?;
    let post_logout_url = PostLogoutRedirectUrl::new(format!("{public_url}/"))
        .context("cannot build the post-logout redirect URI from --public-url")?;
    Ok(Settings {
        issuer,
        client_id: ClientId::new(args.client_id),
        client_secret: ClientSecret::new(client_secret),
        secure_cookies: public_url.starts_with("https://"),
        public_url,
        api_url,
        redirect_url,
        post_logout_url,
    })
}

/// Checks an http(s) base URL and drops its trailing slash.
fn base_url(raw: &str, what: &str) -> anyhow::Result<String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let parsed =
        Url::parse(trimmed).with_context(|| format!("{what} is not a valid URL: {raw}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        bail!("{what} must be an http or https URL: {raw}");
    }
    Ok(trimmed.to_owned())
}
