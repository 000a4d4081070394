//! # Tessera example: relying party (a web app with "Sign in with Tessera")
//!
//! A small server-rendered web app that signs users in with Tessera through
//! OpenID Connect, written the way a third-party app would write it: with
//! the [`openidconnect`] crate and nothing Tessera-specific. It shows:
//!
//! * discovery at start (retried for about 10 s while Tessera starts);
//! * the authorization code flow with PKCE (S256), a random `state` against
//!   login CSRF and a `nonce` against ID-token replay, kept in the app's own
//!   server-side session;
//! * ID-token verification by the library (signature via the JWKS, issuer,
//!   audience, expiry, nonce) plus the `at_hash` check, with a custom
//!   `roles` claim read through openidconnect's additional-claims support;
//! * the userinfo endpoint, the refresh-token grant, RP-initiated logout
//!   (`end_session_endpoint`), and back-channel logout: when the user's
//!   Tessera session ends, Tessera POSTs a logout token to
//!   `/backchannel-logout` and the app signs them out too;
//! * calling the example resource server (`resource_server.rs`) with the
//!   access token, and a page limited to users with the `admin` role.
//!
//! ## Running
//!
//! Start Tessera for development (it registers the `example-app` client on
//! first start and writes its secret to `keys/example-app.secret`), start
//! the resource server, then run this from Tessera's working directory:
//!
//! ```sh
//! cargo run --example resource_server &
//! cargo run --example relying_party
//! ```
//!
//! Once discovery succeeds it prints one line on standard output,
//! `Relying party ready: open http://127.0.0.1:3000/ in your browser`
//! (with the configured public URL); logs go to standard error.
//!
//! Settings (flag / environment variable, default):
//!
//! * `--issuer` / `RP_ISSUER`, `http://127.0.0.1:8080`
//! * `--client-id` / `RP_CLIENT_ID`, `example-app`
//! * `--client-secret` / `RP_CLIENT_SECRET`, otherwise read from
//!   `--client-secret-file` / `RP_CLIENT_SECRET_FILE`,
//!   `keys/example-app.secret`
//! * `--listen` / `RP_LISTEN`, `127.0.0.1:3000`; port 0 takes any free port
//! * `--public-url` / `RP_PUBLIC_URL`, `http://` and the address listened
//!   on; the redirect URI is `{public_url}/callback` and the post-logout
//!   redirect `{public_url}/`
//! * `--api-url` / `RP_API_URL`, `http://127.0.0.1:4000`
//!
//! ## Pages
//!
//! `GET /` (home), `GET /login`, `GET /callback`, `GET /profile`,
//! `GET /admin`, `POST /refresh`, `POST /logout`, `POST /backchannel-logout`
//! (for Tessera, not browsers) and `GET /style.css`. The
//! pages use no JavaScript; POST forms carry a per-session CSRF token.
//! Stable element ids for tests: `signin`, `refresh`, `signout` (home
//! buttons); `name`, `email`, `roles`, `userinfo-roles`, `api-me` (profile);
//! `admin-title` or `forbidden` (admin); `error` and `error-code` (error
//! pages).
//!
//! ## Source layout
//!
//! * `main.rs`: start-up and the state shared by all requests;
//! * `settings.rs`: the command line and the settings checked from it;
//! * `oidc.rs`: the OpenID Connect client: discovery, the checks on the
//!   callback, ID-token verification, userinfo and the logout URL;
//! * `session.rs`: this app's own sessions and CSRF tokens;
//! * `handlers.rs`: the routes and what each one does;
//! * `api.rs`: calls to the resource server;
//! * `backchannel.rs`: logout tokens from Tessera;
//! * `errors.rs`: errors shown to the user as pages;
//! * `html.rs` and `style.css`: the pages' HTML and stylesheet;
//! * `../common/mod.rs`: what the three examples share.

#[path = "../common/mod.rs"]
mod common;

mod api;
mod backchannel;
mod errors;
mod handlers;
mod html;
mod oidc;
mod session;
mod settings;

use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use anyhow::Context;
use clap::Parser;

use crate::oidc::Provider;
use crate::session::SessionStore;
use crate::settings::{Args, Settings};

/// Shared application state.
struct App {
    /// Settings from the command line.
    settings: Settings,
    /// HTTP client for Tessera and the API.
    http: reqwest::Client,
    /// Current discovery result; replaced when Tessera's keys change.
    provider: RwLock<Arc<Provider>>,
    /// When discovery last ran; also serializes rediscovery.
    last_discovery: tokio::sync::Mutex<Instant>,
    /// This app's own sessions.
    sessions: SessionStore,
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_tracing();
    let args = Args::parse();
    common::exit_status("relying_party", run(args).await)
}

/// Reads settings, runs discovery, then serves until Ctrl-C.
async fn run(args: Args) -> anyhow::Result<()> {
    // Bind before the settings: with port 0, the default public URL (and so the redirect
    // URI) must name the port the listener got.
    let (listener, bound) = common::listen(args.listen).await?;
    let settings = settings::settings_from_args(args, bound)?;
    let http = common::http_client()?;
    let provider = oidc::discover_with_retry(&http, &settings).await?;

    let public_url = settings.public_url.clone();
    let app = Arc::new(App {
        sessions: SessionStore::new(settings.secure_cookies),
        settings,
        http,
        provider: RwLock::new(Arc::new(provider)),
        last_discovery: tokio::sync::Mutex::new(Instant::now()),
    });

    println!("Relying party ready: open {public_url}/ in your browser");
    axum::serve(listener, handlers::router(app))
        .with_graceful_shutdown(common::shutdown_signal())
        .await
        .context("the server failed")
}
