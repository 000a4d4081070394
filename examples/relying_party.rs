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
//! * the userinfo endpoint, the refresh-token grant, and RP-initiated
//!   logout (`end_session_endpoint`);
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
//! * `--listen` / `RP_LISTEN`, `127.0.0.1:3000`
//! * `--public-url` / `RP_PUBLIC_URL`, `http://{listen}`; the redirect URI
//!   is `{public_url}/callback` and the post-logout redirect `{public_url}/`
//! * `--api-url` / `RP_API_URL`, `http://127.0.0.1:4000`
//!
//! ## Pages
//!
//! `GET /` (home), `GET /login`, `GET /callback`, `GET /profile`,
//! `GET /admin`, `POST /refresh`, `POST /logout` and `GET /style.css`. The
//! pages use no JavaScript; POST forms carry a per-session CSRF token.
//! Stable element ids for tests: `signin`, `refresh`, `signout` (home
//! buttons); `name`, `email`, `roles`, `userinfo-roles`, `api-me` (profile);
//! `admin-title` or `forbidden` (admin); `error` and `error-code` (error
//! pages).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreResponseType,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalClaims, AuthenticationFlow, AuthorizationCode,
    ClaimsVerificationError, Client, ClientId, ClientSecret, CsrfToken, DiscoveryError,
    EmptyExtraTokenFields, EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    HttpClientError, IdToken, IdTokenClaims, IdTokenFields, IssuerUrl, LogoutRequest, Nonce,
    NonceVerifier, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    SignatureVerificationError, StandardErrorResponse, StandardTokenResponse, SubjectIdentifier,
    UserInfoClaims,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};
use url::Url;

/// Name of the cookie holding this app's session id.
const SESSION_COOKIE: &str = "rp_session";

/// A session unused for this long is forgotten.
const SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(8 * 60 * 60);

/// Upper bound on stored sessions, so anonymous `/login` hits cannot grow
/// the map without limit; the least recently used one makes room.
const MAX_SESSIONS: usize = 10_000;

/// Scopes asked for besides `openid`, which the library adds itself.
const EXTRA_SCOPES: [&str; 4] = ["profile", "email", "roles", "offline_access"];

/// How long one HTTP request to Tessera or the API may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times discovery is tried at start while Tessera may be starting.
const DISCOVERY_ATTEMPTS: u32 = 6;

/// Pause between two discovery attempts (6 × 2 s ≈ 10 s in all).
const DISCOVERY_RETRY_DELAY: Duration = Duration::from_secs(2);

/// Shortest time between two discoveries caused by an unknown signing key.
const REDISCOVERY_INTERVAL: Duration = Duration::from_secs(10);

/// The stylesheet, served at `/style.css` (the pages have no inline styles).
const STYLESHEET: &str = r#":root {
  --fg: #1d2330; --muted: #667085; --bg: #f5f7fb; --card: #ffffff;
  --accent: #3b5bdb; --accent-dark: #2f4ac0; --danger: #c92a2a; --border: #dde3ee;
}
* { box-sizing: border-box; }
body {
  margin: 0; color: var(--fg); background: var(--bg); line-height: 1.5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
.topbar {
  display: flex; align-items: center; justify-content: space-between;
  padding: 0.75rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--border);
}
.brand { font-weight: 700; color: var(--fg); text-decoration: none; }
.topbar nav a { margin-left: 1rem; color: var(--accent); text-decoration: none; }
main { max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
.card {
  background: var(--card); border: 1px solid var(--border); border-radius: 0.75rem;
  padding: 1.25rem 1.5rem; margin-bottom: 1.25rem;
}
h1 { font-size: 1.6rem; margin: 0 0 0.75rem; }
h2 { font-size: 1.1rem; margin: 0 0 0.75rem; }
dl { display: grid; grid-template-columns: 10rem 1fr; gap: 0.4rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
pre {
  background: #0f172a; color: #e2e8f0; padding: 0.9rem 1rem; border-radius: 0.5rem;
  overflow-x: auto; font-size: 0.85rem; margin: 0; white-space: pre-wrap; overflow-wrap: anywhere;
}
pre.failed { background: #3b0d0d; color: #ffe3e3; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.muted { color: var(--muted); }
.badge {
  display: inline-block; font-size: 0.75rem; padding: 0.05rem 0.5rem; margin-left: 0.4rem;
  border-radius: 999px; background: #e6fcf5; color: #087f5b;
}
.actions { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: center; margin-top: 1rem; }
.actions form { margin: 0; }
.button, button {
  display: inline-block; font: inherit; padding: 0.55rem 1.1rem; border-radius: 0.5rem;
  border: 1px solid var(--border); background: var(--card); color: var(--fg);
  cursor: pointer; text-decoration: none;
}
.button:hover, button:hover { border-color: var(--accent); }
button.primary { background: var(--accent); border-color: var(--accent); color: #ffffff; }
button.primary:hover { background: var(--accent-dark); }
.status { margin: 0 0 0.5rem; font-weight: 600; }
.status.failed, .error h1 { color: var(--danger); }
"#;

/// Command-line flags; each can also come from the environment.
#[derive(Debug, Parser)]
#[command(
    name = "relying_party",
    about = "Example web app that signs users in with Tessera (OpenID Connect)"
)]
struct Args {
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
    listen: SocketAddr,

    /// URL at which browsers reach this app (default: http://{listen}).
    #[arg(long, env = "RP_PUBLIC_URL")]
    public_url: Option<String>,

    /// Base URL of the example resource server.
    #[arg(long, env = "RP_API_URL", default_value = "http://127.0.0.1:4000")]
    api_url: String,
}

/// The custom claim Tessera adds when the `roles` scope is granted.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct RoleClaims {
    /// The user's roles; empty when the claim is absent.
    #[serde(default)]
    roles: Vec<String>,
}

impl AdditionalClaims for RoleClaims {}

/// ID token carrying [`RoleClaims`].
type RoleIdToken = IdToken<
    RoleClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// Verified claims of a [`RoleIdToken`].
type RoleIdTokenClaims = IdTokenClaims<RoleClaims, CoreGenderClaim>;

/// Userinfo answer carrying [`RoleClaims`].
type RoleUserInfo = UserInfoClaims<RoleClaims, CoreGenderClaim>;

/// Token response whose ID token carries [`RoleClaims`].
type RoleTokenResponse = StandardTokenResponse<
    IdTokenFields<
        RoleClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// Errors from the token endpoint.
type TokenError = RequestTokenError<
    HttpClientError<reqwest::Error>,
    StandardErrorResponse<CoreErrorResponseType>,
>;

/// The OpenID Connect client: like `CoreClient` but with [`RoleClaims`], and
/// with the token endpoint known to be set (checked at start).
type RpClient = Client<
    RoleClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    RoleTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointMaybeSet,
>;

/// Settings fixed at start.
struct Settings {
    /// Tessera's issuer.
    issuer: IssuerUrl,
    /// This app's client id.
    client_id: ClientId,
    /// This app's client secret.
    client_secret: ClientSecret,
    /// Where browsers reach this app, without a trailing slash.
    public_url: String,
    /// Base URL of the resource server, without a trailing slash.
    api_url: String,
    /// `{public_url}/callback`.
    redirect_url: RedirectUrl,
    /// `{public_url}/`.
    post_logout_url: PostLogoutRedirectUrl,
    /// Mark the session cookie `Secure` (public URL is https).
    secure_cookies: bool,
}

/// What discovery told us about Tessera.
struct Provider {
    /// Client configured from the discovery document and JWKS.
    client: RpClient,
    /// RP-initiated logout endpoint, when Tessera offers one.
    end_session: Option<EndSessionUrl>,
}

/// One browser's state in this app.
struct Session {
    /// Token that POST forms must echo back (CSRF protection).
    csrf_token: String,
    /// Last use, for idle expiry.
    last_seen: Instant,
    /// One-time values of a sign-in in progress.
    pending: Option<PendingLogin>,
    /// The signed-in user, if any.
    user: Option<SignedIn>,
}

/// Values bound to one authorization request; used once by the callback.
struct PendingLogin {
    /// Expected `state` (the CSRF token of the authorization request).
    state: String,
    /// Expected `nonce` in the ID token.
    nonce: Nonce,
    /// PKCE verifier matching the challenge that was sent.
    pkce_verifier: String,
}

/// A signed-in user's tokens and claims.
#[derive(Clone)]
struct SignedIn {
    /// The raw ID token, sent back as `id_token_hint` at logout.
    id_token: RoleIdToken,
    /// Its verified claims.
    claims: RoleIdTokenClaims,
    /// Nonce of the sign-in, to check refreshed ID tokens against.
    nonce: Nonce,
    /// Access token for userinfo and the resource server.
    access_token: AccessToken,
    /// Present when `offline_access` was granted.
    refresh_token: Option<RefreshToken>,
    /// Userinfo answer, or why it could not be had.
    userinfo: Result<RoleUserInfo, String>,
}

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
    /// Sessions by id.
    sessions: Mutex<HashMap<String, Session>>,
}

/// An error shown to the user as a page.
#[derive(Debug)]
struct ErrorPage {
    /// HTTP status of the page.
    status: StatusCode,
    /// Short machine-readable code, shown in `#error-code`.
    code: String,
    /// Heading.
    title: String,
    /// Friendly explanation.
    message: String,
    /// Extra detail (from Tessera or the failing call).
    detail: Option<String>,
}

/// Body of the POST forms.
#[derive(Debug, Deserialize)]
struct CsrfForm {
    /// Must equal the session's CSRF token.
    #[serde(default)]
    csrf_token: String,
}

/// Result of a call to the resource server, for display.
struct ApiAnswer {
    /// "HTTP 200 OK", or why no answer came.
    summary: String,
    /// Body, pretty-printed when it is JSON.
    body: String,
    /// Whether the call succeeded (2xx).
    ok: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the whole cause chain on one line.
            eprintln!("relying_party: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr (stdout only carries the "open this URL" line).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Reads settings, runs discovery, then serves until Ctrl-C.
async fn run(args: Args) -> anyhow::Result<()> {
    let listen = args.listen;
    let settings = settings_from_args(args)?;
    let http = reqwest::Client::builder()
        // openidconnect's advice: following redirects would open the app
        // to server-side request forgery.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(HTTP_TIMEOUT)
        .build()
        .context("could not build the HTTP client")?;
    let provider = discover_with_retry(&http, &settings).await?;

    let public_url = settings.public_url.clone();
    let app = Arc::new(App {
        settings,
        http,
        provider: RwLock::new(Arc::new(provider)),
        last_discovery: tokio::sync::Mutex::new(Instant::now()),
        sessions: Mutex::new(HashMap::new()),
    });

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    println!("Relying party ready: open {public_url}/ in your browser");
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the server failed")
}

/// Waits for Ctrl-C so that open requests can finish.
async fn shutdown_signal() {
    if tokio::signal::ctrl_c().await.is_err() {
        // Without a signal handler, run until killed.
        std::future::pending::<()>().await;
    }
}

/// Turns the flags into checked settings.
fn settings_from_args(args: Args) -> anyhow::Result<Settings> {
    let client_secret = client_secret(args.client_secret.as_deref(), &args.client_secret_file)?;
    let issuer = IssuerUrl::new(args.issuer.clone())
        .with_context(|| format!("--issuer / RP_ISSUER is not a valid URL: {}", args.issuer))?;
    let public_url = args
        .public_url
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| format!("http://{}", args.listen));
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

/// Picks the client secret: the flag/environment value, else the secret file.
fn client_secret(explicit: Option<&str>, file: &Path) -> anyhow::Result<String> {
    if let Some(secret) = explicit.map(str::trim).filter(|s| !s.is_empty()) {
        return Ok(secret.to_owned());
    }
    let contents = std::fs::read_to_string(file).with_context(|| {
        format!(
            "no client secret: pass --client-secret or set RP_CLIENT_SECRET, or point \
             --client-secret-file / RP_CLIENT_SECRET_FILE at the file Tessera wrote \
             (could not read {})",
            file.display()
        )
    })?;
    // Tessera writes the secret followed by a newline.
    let secret = contents.trim();
    if secret.is_empty() {
        bail!(
            "no client secret: the file {} is empty; pass --client-secret or set RP_CLIENT_SECRET",
            file.display()
        );
    }
    Ok(secret.to_owned())
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

/// Runs discovery, retrying while Tessera is unreachable or failing.
async fn discover_with_retry(
    http: &reqwest::Client,
    settings: &Settings,
) -> anyhow::Result<Provider> {
    let mut attempt = 1;
    loop {
        match discover(http, settings).await {
            Ok(provider) => return Ok(provider),
            Err(Discovery::Transient(reason)) if attempt < DISCOVERY_ATTEMPTS => {
                info!("Tessera is not ready yet ({reason}), retrying");
                attempt += 1;
                tokio::time::sleep(DISCOVERY_RETRY_DELAY).await;
            }
            Err(Discovery::Transient(reason) | Discovery::Fatal(reason)) => bail!(
                "OpenID Connect discovery for issuer {} failed: {reason}; check that Tessera \
                 is running and that --issuer / RP_ISSUER is its issuer URL",
                settings.issuer.as_str()
            ),
        }
    }
}

/// Why discovery failed, and whether trying again may help.
enum Discovery {
    /// Unreachable or a server error: Tessera may still be starting.
    Transient(String),
    /// Anything else (wrong issuer, bad document): retrying will not help.
    Fatal(String),
}

/// Fetches the discovery document and JWKS and builds the client.
async fn discover(http: &reqwest::Client, settings: &Settings) -> Result<Provider, Discovery> {
    let metadata = ProviderMetadataWithLogout::discover_async(settings.issuer.clone(), http)
        .await
        .map_err(|err| {
            let reason = error_chain(&err);
            match err {
                DiscoveryError::Request(_) => Discovery::Transient(reason),
                DiscoveryError::Response(status, ..) if status.is_server_error() => {
                    Discovery::Transient(reason)
                }
                _ => Discovery::Fatal(reason),
            }
        })?;
    let end_session = metadata.additional_metadata().end_session_endpoint.clone();
    let token_url = metadata.token_endpoint().cloned().ok_or_else(|| {
        Discovery::Fatal("the discovery document has no token_endpoint".to_owned())
    })?;
    let client = Client::from_provider_metadata(
        metadata,
        settings.client_id.clone(),
        Some(settings.client_secret.clone()),
    )
    .set_redirect_uri(settings.redirect_url.clone())
    .set_token_uri(token_url);
    Ok(Provider {
        client,
        end_session,
    })
}

/// The app's routes, with security headers on every response.
fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/profile", get(profile))
        .route("/admin", get(admin))
        .route("/refresh", post(refresh))
        .route("/logout", post(logout))
        .route("/style.css", get(stylesheet))
        .fallback(not_found)
        .layer(middleware::map_response(security_headers))
        .with_state(app)
}

/// Adds headers that make the pages harder to misuse.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    // No scripts, styles only from /style.css, no framing (clickjacking).
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; \
             frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The callback URL carries a code: never leak it in a Referer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages show personal data and tokens.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

/// `GET /`: sign-in button, or greeting and actions.
async fn home(State(app): State<Arc<App>>, jar: CookieJar) -> Html<String> {
    let body = match app.current_user(&jar) {
        Some((user, csrf)) => home_signed_in(&user, &csrf),
        None => home_signed_out(),
    };
    Html(layout("Home", &body))
}

/// `GET /login`: starts the authorization code flow.
async fn login(State(app): State<Arc<App>>, jar: CookieJar) -> Response {
    let provider = app.provider();
    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state, nonce) = provider
        .client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scopes(EXTRA_SCOPES.map(|scope| Scope::new(scope.to_owned())))
        .set_pkce_challenge(pkce_challenge)
        .url();
    let pending = PendingLogin {
        state: state.secret().clone(),
        nonce,
        pkce_verifier: pkce_verifier.secret().clone(),
    };
    let jar = match app.store_pending(session_id(&jar).as_deref(), pending) {
        Some(new_id) => jar.add(app.session_cookie(new_id)),
        None => jar,
    };
    (jar, Redirect::to(auth_url.as_str())).into_response()
}

/// `GET /callback`: finishes the flow and signs the user in.
async fn callback(
    State(app): State<Arc<App>>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Result<Response, ErrorPage> {
    let params = CallbackParams::parse(query.as_deref().unwrap_or_default());
    let old_id = session_id(&jar);
    // Take the one-time values out whatever happens next, so that this
    // callback URL cannot be replayed.
    let pending = old_id.as_deref().and_then(|id| app.take_pending(id));
    if let Some(error) = &params.error {
        return Err(ErrorPage::authorization(
            error,
            params.error_description.as_deref(),
        ));
    }
    let pending = pending.ok_or_else(ErrorPage::no_login_in_progress)?;
    app.check_callback(&params, &pending)?;
    let code = params.code.ok_or_else(ErrorPage::missing_code)?;

    let provider = app.provider();
    let tokens = provider
        .client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
        .request_async(&app.http)
        .await
        .map_err(|err| ErrorPage::token_endpoint(&err, "sign you in"))?;
    let user = app.user_from_tokens(&tokens, pending.nonce).await?;
    let jar = app.sign_in(jar, old_id.as_deref(), user);
    Ok((jar, Redirect::to("/profile")).into_response())
}

/// `GET /profile`: claims, userinfo, access token and the API's answer.
async fn profile(State(app): State<Arc<App>>, jar: CookieJar) -> Response {
    let Some((user, csrf)) = app.current_user(&jar) else {
        return Redirect::to("/").into_response();
    };
    let api = app.call_api("/api/me", &user.access_token).await;
    Html(layout("Profile", &profile_page(&user, &api, &csrf))).into_response()
}

/// `GET /admin`: only for users whose ID token has the `admin` role.
async fn admin(State(app): State<Arc<App>>, jar: CookieJar) -> Response {
    let Some((user, _)) = app.current_user(&jar) else {
        return Redirect::to("/").into_response();
    };
    if !has_role(&user.claims, "admin") {
        let page = layout("Forbidden", &forbidden_page(&user.claims));
        return (StatusCode::FORBIDDEN, Html(page)).into_response();
    }
    let api = app.call_api("/api/admin", &user.access_token).await;
    Html(layout("Admin area", &admin_page(&api))).into_response()
}

/// `POST /refresh`: uses the refresh token to get fresh tokens.
async fn refresh(
    State(app): State<Arc<App>>,
    jar: CookieJar,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, ErrorPage> {
    let Some((id, user)) = app.authorize_post(&jar, form)? else {
        return Ok(Redirect::to("/").into_response());
    };
    let refresh_token = user
        .refresh_token
        .clone()
        .ok_or_else(ErrorPage::no_refresh_token)?;
    let provider = app.provider();
    let tokens = provider
        .client
        .exchange_refresh_token(&refresh_token)
        .request_async(&app.http)
        .await
        .map_err(|err| ErrorPage::token_endpoint(&err, "refresh your tokens"))?;
    let updated = app.refreshed_user(user, &tokens).await?;
    app.update_user(&id, updated);
    Ok(Redirect::to("/profile").into_response())
}

/// `POST /logout`: forgets the session and asks Tessera to end its own.
async fn logout(
    State(app): State<Arc<App>>,
    jar: CookieJar,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, ErrorPage> {
    let signed_in = app.authorize_post(&jar, form)?;
    if let Some(id) = session_id(&jar) {
        app.remove_session(&id);
    }
    let jar = jar.remove(removal_cookie());
    let target = signed_in
        .and_then(|(_, user)| app.end_session_url(&user))
        .unwrap_or_else(|| "/".to_owned());
    Ok((jar, Redirect::to(&target)).into_response())
}

/// `GET /style.css`.
async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// Any other path.
async fn not_found() -> ErrorPage {
    ErrorPage::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "Page not found",
        "There is no page at this address.",
    )
}

// ---------------------------------------------------------------------------
// Sign-in logic
// ---------------------------------------------------------------------------

/// The query parameters of the redirect back from Tessera.
#[derive(Debug, Default)]
struct CallbackParams {
    /// Authorization code.
    code: Option<String>,
    /// Echoed `state`.
    state: Option<String>,
    /// Issuer identifier (RFC 9207), when Tessera sends it.
    iss: Option<String>,
    /// Error code, when the request failed.
    error: Option<String>,
    /// Human-readable error detail.
    error_description: Option<String>,
}

impl CallbackParams {
    /// Parses the query; the first occurrence of a parameter wins.
    fn parse(query: &str) -> Self {
        let mut params = Self::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match key.as_ref() {
                "code" => &mut params.code,
                "state" => &mut params.state,
                "iss" => &mut params.iss,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        params
    }
}

impl App {
    /// The current discovery result.
    fn provider(&self) -> Arc<Provider> {
        self.provider
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Checks `state` (login CSRF) and, when present, `iss` (mix-up attacks).
    fn check_callback(
        &self,
        params: &CallbackParams,
        pending: &PendingLogin,
    ) -> Result<(), ErrorPage> {
        let state_matches = params
            .state
            .as_deref()
            .is_some_and(|state| same_secret(state, &pending.state));
        if !state_matches {
            return Err(ErrorPage::state_mismatch());
        }
        if let Some(iss) = &params.iss
            && iss != self.settings.issuer.as_str()
        {
            return Err(ErrorPage::wrong_issuer(iss));
        }
        Ok(())
    }

    /// Verifies the ID token of a fresh sign-in and fetches userinfo.
    async fn user_from_tokens(
        &self,
        tokens: &RoleTokenResponse,
        nonce: Nonce,
    ) -> Result<SignedIn, ErrorPage> {
        let id_token = tokens
            .extra_fields()
            .id_token()
            .cloned()
            .ok_or_else(ErrorPage::no_id_token)?;
        let access_token = tokens.access_token().clone();
        let claims = self
            .verify_id_token(&id_token, &access_token, &nonce)
            .await?;
        let userinfo = self.fetch_userinfo(&access_token, claims.subject()).await;
        Ok(SignedIn {
            id_token,
            claims,
            nonce,
            access_token,
            refresh_token: tokens.refresh_token().cloned(),
            userinfo,
        })
    }

    /// Applies a refresh-token response to the signed-in user.
    async fn refreshed_user(
        &self,
        mut user: SignedIn,
        tokens: &RoleTokenResponse,
    ) -> Result<SignedIn, ErrorPage> {
        user.access_token = tokens.access_token().clone();
        if let Some(id_token) = tokens.extra_fields().id_token() {
            let original = &user.nonce;
            // A refreshed ID token need not carry a nonce (OpenID Connect
            // Core §12.2); if it does, it must be the sign-in's.
            let nonce_check = move |nonce: Option<&Nonce>| match nonce {
                Some(nonce) if !same_secret(nonce.secret(), original.secret()) => {
                    Err("nonce differs from the sign-in's".to_owned())
                }
                _ => Ok(()),
            };
            let claims = self
                .verify_id_token(id_token, &user.access_token, nonce_check)
                .await?;
            if claims.subject() != user.claims.subject() {
                return Err(ErrorPage::subject_changed());
            }
            user.id_token = id_token.clone();
            user.claims = claims;
        }
        // Tessera may rotate refresh tokens; keep the old one otherwise.
        if let Some(refresh_token) = tokens.refresh_token() {
            user.refresh_token = Some(refresh_token.clone());
        }
        user.userinfo = self
            .fetch_userinfo(&user.access_token, user.claims.subject())
            .await;
        Ok(user)
    }

    /// Verifies an ID token; on an unknown key, rediscovers once and retries,
    /// since Tessera may have rotated its keys since start.
    async fn verify_id_token<N>(
        &self,
        id_token: &RoleIdToken,
        access_token: &AccessToken,
        nonce: N,
    ) -> Result<RoleIdTokenClaims, ErrorPage>
    where
        N: NonceVerifier + Copy,
    {
        let provider = self.provider();
        let result = match check_id_token(&provider, id_token, access_token, nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let provider = self.rediscover().await;
                check_id_token(&provider, id_token, access_token, nonce)
            }
            other => other,
        };
        result.map_err(|err| ErrorPage::invalid_id_token(&err))
    }

    /// Runs discovery again (at most once per [`REDISCOVERY_INTERVAL`]).
    async fn rediscover(&self) -> Arc<Provider> {
        let mut last = self.last_discovery.lock().await;
        if last.elapsed() < REDISCOVERY_INTERVAL {
            return self.provider();
        }
        *last = Instant::now();
        match discover(&self.http, &self.settings).await {
            Ok(provider) => {
                let provider = Arc::new(provider);
                *self
                    .provider
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = provider.clone();
                info!("refreshed Tessera's discovery document and keys");
                provider
            }
            Err(Discovery::Transient(reason) | Discovery::Fatal(reason)) => {
                warn!("rediscovery failed: {reason}");
                self.provider()
            }
        }
    }

    /// Calls the userinfo endpoint; failures are kept for display.
    async fn fetch_userinfo(
        &self,
        access_token: &AccessToken,
        subject: &SubjectIdentifier,
    ) -> Result<RoleUserInfo, String> {
        let provider = self.provider();
        let request = provider
            .client
            .user_info(access_token.clone(), Some(subject.clone()))
            .map_err(|_| "Tessera offers no userinfo endpoint".to_owned())?;
        request
            .request_async(&self.http)
            .await
            .map_err(|err| error_chain(&err))
    }

    /// Calls the resource server with the access token.
    async fn call_api(&self, path: &str, access_token: &AccessToken) -> ApiAnswer {
        let url = format!("{}{path}", self.settings.api_url);
        let response = match self
            .http
            .get(&url)
            .bearer_auth(access_token.secret())
            .send()
            .await
        {
            Ok(response) => response,
            Err(err) => {
                return ApiAnswer {
                    summary: "No answer".to_owned(),
                    body: format!(
                        "Could not reach the resource server at {url}: {}",
                        error_chain(&err)
                    ),
                    ok: false,
                };
            }
        };
        let status = response.status();
        let mut summary = format!("HTTP {status}");
        // The challenge says why a token was refused (RFC 6750 §3).
        if let Some(challenge) = response.headers().get(header::WWW_AUTHENTICATE)
            && let Ok(challenge) = challenge.to_str()
        {
            let _ = write!(summary, " (WWW-Authenticate: {challenge})");
        }
        let body = match response.text().await {
            Ok(text) => pretty_json(&text),
            Err(err) => format!("(could not read the answer: {})", error_chain(&err)),
        };
        ApiAnswer {
            summary,
            body,
            ok: status.is_success(),
        }
    }

    /// The RP-initiated logout URL, when Tessera has an end-session endpoint.
    fn end_session_url(&self, user: &SignedIn) -> Option<String> {
        let endpoint = self.provider().end_session.clone()?;
        let url = LogoutRequest::from(endpoint)
            .set_id_token_hint(&user.id_token)
            .set_client_id(self.settings.client_id.clone())
            .set_post_logout_redirect_uri(self.settings.post_logout_url.clone())
            .set_state(CsrfToken::new_random())
            .http_get_url();
        Some(url.into())
    }
}

/// Library verification of the ID token, plus `at_hash` when present.
fn check_id_token<N: NonceVerifier>(
    provider: &Provider,
    id_token: &RoleIdToken,
    access_token: &AccessToken,
    nonce: N,
) -> Result<RoleIdTokenClaims, ClaimsVerificationError> {
    let verifier = provider.client.id_token_verifier();
    let claims = id_token.claims(&verifier, nonce)?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token
            .signing_alg()
            .map_err(ClaimsVerificationError::SignatureVerification)?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(ClaimsVerificationError::SignatureVerification)?;
        let actual = AccessTokenHash::from_token(access_token, alg, key)
            .map_err(|err| ClaimsVerificationError::Other(err.to_string()))?;
        if actual != *expected {
            return Err(ClaimsVerificationError::Other(
                "at_hash does not match the access token".to_owned(),
            ));
        }
    }
    Ok(claims.clone())
}

/// Whether the verified ID token lists `role`.
fn has_role(claims: &RoleIdTokenClaims, role: &str) -> bool {
    claims.additional_claims().roles.iter().any(|r| r == role)
}

// ---------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------

impl Session {
    /// A session with a fresh CSRF token.
    fn new() -> Self {
        Self {
            csrf_token: random_token(),
            last_seen: Instant::now(),
            pending: None,
            user: None,
        }
    }
}

impl App {
    /// Locks the session map (a panic elsewhere must not wedge the app).
    fn lock_sessions(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The signed-in user of this browser and the session's CSRF token.
    fn current_user(&self, jar: &CookieJar) -> Option<(SignedIn, String)> {
        let id = session_id(jar)?;
        let mut sessions = self.lock_sessions();
        let session = live_session(&mut sessions, &id)?;
        let user = session.user.clone()?;
        Some((user, session.csrf_token.clone()))
    }

    /// Stores a sign-in in progress; returns a new session id when the
    /// browser had no live session.
    fn store_pending(&self, id: Option<&str>, pending: PendingLogin) -> Option<String> {
        let mut sessions = self.lock_sessions();
        if let Some(session) = id.and_then(|id| live_session(&mut sessions, id)) {
            session.pending = Some(pending);
            return None;
        }
        let mut session = Session::new();
        session.pending = Some(pending);
        Some(insert_session(&mut sessions, session))
    }

    /// Removes and returns the sign-in in progress.
    fn take_pending(&self, id: &str) -> Option<PendingLogin> {
        let mut sessions = self.lock_sessions();
        live_session(&mut sessions, id)?.pending.take()
    }

    /// Signs the user in under a new session id (so a session id planted
    /// before sign-in is worthless afterwards) and sets the new cookie.
    fn sign_in(&self, jar: CookieJar, old_id: Option<&str>, user: SignedIn) -> CookieJar {
        let mut session = Session::new();
        session.user = Some(user);
        let new_id = {
            let mut sessions = self.lock_sessions();
            if let Some(old_id) = old_id {
                sessions.remove(old_id);
            }
            insert_session(&mut sessions, session)
        };
        jar.add(self.session_cookie(new_id))
    }

    /// Replaces the user of a session (after a refresh).
    fn update_user(&self, id: &str, user: SignedIn) {
        let mut sessions = self.lock_sessions();
        // If the user signed out meanwhile, the refreshed tokens are dropped.
        if let Some(session) = live_session(&mut sessions, id)
            && session.user.is_some()
        {
            session.user = Some(user);
        }
    }

    /// Forgets a session.
    fn remove_session(&self, id: &str) {
        self.lock_sessions().remove(id);
    }

    /// For POST handlers: `None` when nobody is signed in, an error page when
    /// the CSRF token is wrong, else the session id and user.
    fn authorize_post(
        &self,
        jar: &CookieJar,
        form: Result<Form<CsrfForm>, FormRejection>,
    ) -> Result<Option<(String, SignedIn)>, ErrorPage> {
        let Some(id) = session_id(jar) else {
            return Ok(None);
        };
        let (user, expected) = {
            let mut sessions = self.lock_sessions();
            let Some(session) = live_session(&mut sessions, &id) else {
                return Ok(None);
            };
            let Some(user) = session.user.clone() else {
                return Ok(None);
            };
            (user, session.csrf_token.clone())
        };
        let presented = form.map(|Form(form)| form.csrf_token).unwrap_or_default();
        if !same_secret(&presented, &expected) {
            return Err(ErrorPage::csrf());
        }
        Ok(Some((id, user)))
    }

    /// The session cookie for `id`.
    fn session_cookie(&self, id: String) -> Cookie<'static> {
        Cookie::build((SESSION_COOKIE, id))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.settings.secure_cookies)
            .path("/")
            .build()
    }
}

/// The session of `id` if it exists and has not idled out; marks it used.
fn live_session<'a>(
    sessions: &'a mut HashMap<String, Session>,
    id: &str,
) -> Option<&'a mut Session> {
    let expired = sessions.get(id)?.last_seen.elapsed() > SESSION_IDLE_TIMEOUT;
    if expired {
        sessions.remove(id);
        return None;
    }
    let session = sessions.get_mut(id)?;
    session.last_seen = Instant::now();
    Some(session)
}

/// Stores a session under a fresh random id, making room first if needed.
fn insert_session(sessions: &mut HashMap<String, Session>, session: Session) -> String {
    sessions.retain(|_, s| s.last_seen.elapsed() <= SESSION_IDLE_TIMEOUT);
    if sessions.len() >= MAX_SESSIONS {
        let oldest = sessions
            .iter()
            .min_by_key(|(_, s)| s.last_seen)
            .map(|(id, _)| id.clone());
        if let Some(oldest) = oldest {
            sessions.remove(&oldest);
        }
    }
    let id = random_token();
    sessions.insert(id.clone(), session);
    id
}

/// The session id from the cookie, if any.
fn session_id(jar: &CookieJar) -> Option<String> {
    jar.get(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
}

/// A cookie that, once removed from the jar, deletes the session cookie.
fn removal_cookie() -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE).path("/").build()
}

/// 256 random bits, base64url encoded.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

// ---------------------------------------------------------------------------
// Error pages
// ---------------------------------------------------------------------------

impl ErrorPage {
    /// An error page without extra detail.
    fn new(status: StatusCode, code: &str, title: &str, message: &str) -> Self {
        Self {
            status,
            code: code.to_owned(),
            title: title.to_owned(),
            message: message.to_owned(),
            detail: None,
        }
    }

    /// Adds detail text.
    fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Tessera redirected back with `error` (the user declined, ...).
    fn authorization(code: &str, description: Option<&str>) -> Self {
        let page = Self::new(
            StatusCode::BAD_REQUEST,
            code,
            "Sign-in did not complete",
            authorization_error_message(code),
        );
        match description {
            Some(description) => page.with_detail(description),
            None => page,
        }
    }

    /// The callback came without a sign-in started here (or a replay).
    fn no_login_in_progress() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_state",
            "Sign-in failed",
            "This sign-in was not started here, or it has already been used. \
             Please sign in again.",
        )
    }

    /// The `state` did not match the one sent.
    fn state_mismatch() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_state",
            "Sign-in failed",
            "The answer from Tessera does not belong to the sign-in started in this \
             browser, so nobody was signed in. Please sign in again.",
        )
    }

    /// The callback's `iss` names another provider.
    fn wrong_issuer(iss: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_issuer",
            "Sign-in failed",
            "The answer came from a different provider than the one this app uses.",
        )
        .with_detail(format!("iss = {iss}"))
    }

    /// Neither `code` nor `error` in the callback.
    fn missing_code() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Sign-in failed",
            "Tessera's answer carried no authorization code.",
        )
    }

    /// The token endpoint refused or could not be reached.
    fn token_endpoint(err: &TokenError, action: &str) -> Self {
        match err {
            RequestTokenError::ServerResponse(response) => {
                let page = Self::new(
                    StatusCode::BAD_REQUEST,
                    response.error().as_ref(),
                    "Tessera refused the request",
                    &format!("Tessera refused to {action}. Please sign in again."),
                );
                match response.error_description() {
                    Some(description) => page.with_detail(description.clone()),
                    None => page,
                }
            }
            other => Self::new(
                StatusCode::BAD_GATEWAY,
                "provider_unavailable",
                "Tessera is not reachable",
                &format!("Could not reach Tessera to {action}. Please try again in a moment."),
            )
            .with_detail(error_chain(other)),
        }
    }

    /// The token response had no ID token.
    fn no_id_token() -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "missing_id_token",
            "Sign-in failed",
            "Tessera did not return an ID token.",
        )
    }

    /// The ID token failed verification.
    fn invalid_id_token(err: &ClaimsVerificationError) -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "invalid_id_token",
            "Sign-in failed",
            "The ID token from Tessera could not be verified, so nobody was signed in.",
        )
        .with_detail(error_chain(err))
    }

    /// A refreshed ID token names another user.
    fn subject_changed() -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "invalid_id_token",
            "Refresh failed",
            "The refreshed ID token is for a different user.",
        )
    }

    /// No refresh token to use.
    fn no_refresh_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "no_refresh_token",
            "Cannot refresh",
            "Tessera issued no refresh token for this sign-in (the offline_access scope \
             was not granted). Sign out and in again to get fresh tokens.",
        )
    }

    /// The POST did not carry the session's CSRF token.
    fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "Request refused",
            "This form was not sent from this app (or it is stale). Go back, reload \
             the page and try again.",
        )
    }
}

/// A friendly sentence for an authorization error code.
fn authorization_error_message(code: &str) -> &'static str {
    match code {
        "access_denied" => {
            "You declined to share your account with this app, or Tessera denied the request."
        }
        "login_required" => "You need to sign in at Tessera first.",
        "consent_required" => "Tessera needs your consent before this app can use your account.",
        "interaction_required" => "Tessera needs you to complete a step of the sign-in.",
        "account_selection_required" => "Choose an account at Tessera to continue.",
        "invalid_scope" => "The app asked for permissions Tessera does not grant it.",
        "unauthorized_client" => "This app may not sign users in this way.",
        "invalid_request" => "Tessera could not understand the sign-in request.",
        "server_error" | "temporarily_unavailable" => {
            "Tessera had a problem. Please try again in a moment."
        }
        _ => "Tessera could not complete the sign-in.",
    }
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        let detail = self
            .detail
            .as_deref()
            .map(|detail| {
                format!(
                    r#"<p>Details: <span id="error-description">{}</span></p>"#,
                    escape(detail)
                )
            })
            .unwrap_or_default();
        let body = format!(
            r#"<section class="card error">
<h1 id="error">{title}</h1>
<p>{message}</p>
<p>Error code: <code id="error-code">{code}</code></p>
{detail}
<p><a class="button" href="/">Back to the home page</a></p>
</section>"#,
            title = escape(&self.title),
            message = escape(&self.message),
            code = escape(&self.code),
        );
        (self.status, Html(layout(&self.title, &body))).into_response()
    }
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

/// Wraps a page body in the common layout.
fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Tessera example app</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header class="topbar">
<a class="brand" href="/">Tessera example app</a>
<nav><a href="/">Home</a><a href="/profile">Profile</a><a href="/admin">Admin</a></nav>
</header>
<main>
{body}
</main>
</body>
</html>
"#,
        title = escape(title)
    )
}

/// Home page for visitors.
fn home_signed_out() -> String {
    r#"<section class="card">
<h1>Welcome</h1>
<p>This app signs you in with Tessera using OpenID Connect: the authorization
code flow with PKCE. It never sees your password.</p>
<form class="actions" method="get" action="/login">
<button id="signin" class="primary" type="submit">Sign in with Tessera</button>
</form>
</section>"#
        .to_owned()
}

/// Home page for a signed-in user.
fn home_signed_in(user: &SignedIn, csrf: &str) -> String {
    format!(
        r#"<section class="card">
<h1 id="greeting">Hello, {name}!</h1>
<p>You are signed in with Tessera.</p>
<p class="actions"><a id="profile-link" class="button" href="/profile">Profile</a>
<a id="admin-link" class="button" href="/admin">Admin</a></p>
{actions}
</section>"#,
        name = escape(&display_name(&user.claims)),
        actions = token_actions(csrf),
    )
}

/// The "Refresh tokens" and "Sign out" buttons.
fn token_actions(csrf: &str) -> String {
    let csrf = escape(csrf);
    format!(
        r#"<div class="actions">
<form method="post" action="/refresh">
<input type="hidden" name="csrf_token" value="{csrf}">
<button id="refresh" type="submit">Refresh tokens</button>
</form>
<form method="post" action="/logout">
<input type="hidden" name="csrf_token" value="{csrf}">
<button id="signout" class="primary" type="submit">Sign out</button>
</form>
</div>"#
    )
}

/// The profile page body.
fn profile_page(user: &SignedIn, api: &ApiAnswer, csrf: &str) -> String {
    format!(
        r#"<h1>Your profile</h1>
{id_token}
{userinfo}
{access_token}
{api}
<section class="card">{actions}</section>"#,
        id_token = id_token_section(&user.claims),
        userinfo = userinfo_section(&user.userinfo),
        access_token = access_token_section(&user.access_token),
        api = api_section("api-me", "Resource server: GET /api/me", api),
        actions = token_actions(csrf),
    )
}

/// What the verified ID token says.
fn id_token_section(claims: &RoleIdTokenClaims) -> String {
    let name = claims
        .name()
        .and_then(|name| name.get(None))
        .map(|name| name.as_str());
    let username = claims.preferred_username().map(|u| u.as_str());
    let email = claims.email().map(|e| e.as_str());
    let mut rows = String::new();
    rows.push_str(&field("Name", "name", name));
    rows.push_str(&field("Username", "preferred-username", username));
    rows.push_str(&email_field("email", email, claims.email_verified()));
    rows.push_str(&field(
        "Roles",
        "roles",
        Some(&claims.additional_claims().roles.join(", ")),
    ));
    rows.push_str(&field("Subject", "sub", Some(claims.subject().as_str())));
    format!(
        r#"<section class="card">
<h2>From the ID token</h2>
<dl>{rows}</dl>
</section>"#
    )
}

/// What the userinfo endpoint said, or why it could not be asked.
fn userinfo_section(userinfo: &Result<RoleUserInfo, String>) -> String {
    let content = match userinfo {
        Ok(info) => {
            let name = info
                .name()
                .and_then(|name| name.get(None))
                .map(|name| name.as_str());
            let email = info.email().map(|e| e.as_str());
            let mut rows = String::new();
            rows.push_str(&field("Name", "userinfo-name", name));
            rows.push_str(&email_field("userinfo-email", email, info.email_verified()));
            rows.push_str(&field(
                "Roles",
                "userinfo-roles",
                Some(&info.additional_claims().roles.join(", ")),
            ));
            format!("<dl>{rows}</dl>")
        }
        Err(reason) => format!(
            r#"<p class="status failed" id="userinfo-error">The userinfo request failed: {}</p>
<dl><dt>Roles</dt><dd><span id="userinfo-roles"></span></dd></dl>"#,
            escape(reason)
        ),
    };
    format!(
        r#"<section class="card">
<h2>From the userinfo endpoint</h2>
{content}
</section>"#
    )
}

/// The access token's claims, decoded without verification.
fn access_token_section(access_token: &AccessToken) -> String {
    let claims = jwt_payload(access_token.secret()).unwrap_or_else(|| {
        "The access token is not a JWT, so it has no claims to show.".to_owned()
    });
    format!(
        r#"<section class="card">
<h2>Access token claims</h2>
<p class="muted">Decoded for display only: this app does not check them, the resource server does.</p>
<pre id="access-token-claims">{}</pre>
</section>"#,
        escape(&claims)
    )
}

/// A resource-server answer, in `<pre id="{id}">`.
fn api_section(id: &str, title: &str, api: &ApiAnswer) -> String {
    let (status_class, pre_class) = if api.ok {
        ("status", "")
    } else {
        ("status failed", r#" class="failed""#)
    };
    format!(
        r#"<section class="card">
<h2>{title}</h2>
<p class="{status_class}" id="{id}-status">{summary}</p>
<pre{pre_class} id="{id}">{body}</pre>
</section>"#,
        title = escape(title),
        summary = escape(&api.summary),
        body = escape(&api.body),
    )
}

/// The admin page for users with the `admin` role.
fn admin_page(api: &ApiAnswer) -> String {
    format!(
        r#"<section class="card">
<h1 id="admin-title">Admin area</h1>
<p>Your ID token lists the <code>admin</code> role, so this page opens for you.
The resource server checks the role in the access token on its own.</p>
</section>
{api}"#,
        api = api_section("api-admin", "Resource server: GET /api/admin", api)
    )
}

/// The 403 page for users without the `admin` role.
fn forbidden_page(claims: &RoleIdTokenClaims) -> String {
    let roles = &claims.additional_claims().roles;
    let roles = if roles.is_empty() {
        "no roles".to_owned()
    } else {
        format!("the roles {}", roles.join(", "))
    };
    format!(
        r#"<section class="card error">
<h1 id="forbidden">You need the admin role</h1>
<p>This page is only for administrators. Your account has {}.</p>
<p><a class="button" href="/">Back to the home page</a></p>
</section>"#,
        escape(&roles)
    )
}

/// One `<dt>`/`<dd>` pair; the `id` element holds exactly the value.
fn field(label: &str, id: &str, value: Option<&str>) -> String {
    let value = value.unwrap_or_default();
    let hint = if value.is_empty() {
        r#" <span class="muted">(none)</span>"#
    } else {
        ""
    };
    format!(
        r#"<dt>{label}</dt><dd><span id="{id}">{value}</span>{hint}</dd>"#,
        label = escape(label),
        value = escape(value),
    )
}

/// The email row, with a "verified" badge when the provider says so.
fn email_field(id: &str, email: Option<&str>, verified: Option<bool>) -> String {
    let mut row = field("Email", id, email);
    if email.is_some() && verified == Some(true) {
        // Insert the badge inside the <dd>, after the value.
        row.truncate(row.len() - "</dd>".len());
        row.push_str(r#" <span class="badge">verified</span></dd>"#);
    }
    row
}

/// Name to greet the user with: name, else username, else subject.
fn display_name(claims: &RoleIdTokenClaims) -> String {
    claims
        .name()
        .and_then(|name| name.get(None))
        .map(|name| name.to_string())
        .or_else(|| claims.preferred_username().map(|u| u.to_string()))
        .unwrap_or_else(|| claims.subject().to_string())
}

/// The pretty-printed payload of a JWT, without checking its signature.
fn jwt_payload(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    serde_json::to_string_pretty(&value).ok()
}

/// Pretty-prints JSON, or returns the text unchanged when it is not JSON.
fn pretty_json(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| body.to_owned())
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Joins an error and its sources with ": ", skipping repeated messages.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut last = text.clone();
    let mut source = err.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if message != last {
            text.push_str(": ");
            text.push_str(&message);
            last = message;
        }
        source = cause.source();
    }
    text
}
