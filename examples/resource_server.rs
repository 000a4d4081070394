//! # Tessera example: resource server (an API that accepts Tessera's tokens)
//!
//! Tessera issues access tokens as signed JWTs (RFC 9068, "JWT Profile for
//! OAuth 2.0 Access Tokens"). An API can therefore check a token on its own,
//! without asking Tessera on every request. This example shows how, with
//! [`josekit`]:
//!
//! * At start, discovery (`{issuer}/.well-known/openid-configuration`) gives
//!   the `jwks_uri`, and the key set is loaded into memory.
//! * When a token names a key id (`kid`) the cache does not know, the key
//!   set is fetched again, since Tessera may have rotated its keys, but at
//!   most once every 10 seconds so that a stream of forged tokens cannot
//!   make this API hammer Tessera.
//! * Each token is checked for: a signature by a key in the set, with the
//!   algorithm that key is meant for (RS256, ES256 or EdDSA); the header
//!   `typ` `at+jwt` (so an ID token cannot be used as an access token);
//!   `iss` equal to the issuer; `exp` not passed; and an `aud` naming one of
//!   the audiences this API accepts (Tessera sets `aud` to the client id the
//!   token was issued to, or to this API's URL when the client asked for it
//!   as a resource indicator, RFC 8707; the public URL is always accepted).
//! * A DPoP-bound token (`cnf.jkt`) is accepted only as `Authorization: DPoP`
//!   with a fresh proof of its key (RFC 9449 §7): signature by the proof's
//!   key, `htm`/`htu` of this request, `iat`, `ath`, an unused `jti`.
//!
//! Routes:
//!
//! * `GET /.well-known/oauth-protected-resource`: this API's metadata (RFC
//!   9728): its resource identifier and Tessera as its authorization server.
//! * `GET /api/me`: any valid token; answers `{sub, client_id, scope, roles}`.
//! * `GET /api/admin`: only when the token's `roles` contain `admin`;
//!   answers `{"message": "Welcome, admin", "sub": ...}`, and 403
//!   `{"error": "insufficient_role"}` otherwise.
//!
//! A request without a bearer token gets 401 with `WWW-Authenticate: Bearer
//! resource_metadata="…/.well-known/oauth-protected-resource"`;
//! a token that fails a check gets 401 with
//! `WWW-Authenticate: Bearer error="invalid_token", error_description="..."`
//! (RFC 6750 §3).
//!
//! ## Running
//!
//! ```sh
//! cargo run --example resource_server
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:4000/api/me
//! ```
//!
//! Settings (flag / environment variable, default):
//!
//! * `--issuer` / `RS_ISSUER`, `http://127.0.0.1:8080`
//! * `--audience` / `RS_AUDIENCE`, `example-app` (comma separated list)
//! * `--listen` / `RS_LISTEN`, `127.0.0.1:4000`; port 0 takes any free port
//! * `--public-url` / `RS_PUBLIC_URL`, `http://` and the address listened on:
//!   the resource identifier, and the URL DPoP proofs name
//!
//! Once the keys are loaded it prints one line on standard output,
//! `Resource server listening on http://127.0.0.1:4000 (issuer ..., audiences ...)`,
//! naming the address it got; logs go to standard error.
//!
//! Set `RUST_LOG=debug` to see why tokens are refused.

// A third-party API, not Tessera: it checks `exp` against the system clock directly.
#![allow(clippy::disallowed_methods)]

#[path = "common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, EdDSA, JwsVerifier, RS256};
use josekit::jwt::{self, JwtPayload};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, RwLock};
use tracing::{debug, info, warn};

/// How many times discovery is tried while Tessera may still be starting
/// (2 s apart, so about 10 s in all).
const DISCOVERY_ATTEMPTS: u32 = 6;

/// Discovery also retries while Tessera answers 5xx, not only while it is
/// unreachable.
const DISCOVERY_RETRIES_SERVER_ERRORS: bool = true;

/// Shortest time between two key-set fetches caused by unknown key ids.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// Clock skew tolerated for `nbf`; `exp` is enforced without leeway.
const NBF_LEEWAY_SECS: f64 = 5.0;

/// Command-line flags; each can also come from the environment.
#[derive(Debug, Parser)]
#[command(
    name = "resource_server",
    about = "Example API that accepts Tessera's JWT access tokens"
)]
struct Args {
    /// Issuer URL of the Tessera instance whose tokens are accepted.
    #[arg(long, env = "RS_ISSUER", default_value = "http://127.0.0.1:8080")]
    issuer: String,

    /// Accepted audiences, comma separated: a token's `aud` must name one.
    #[arg(long, env = "RS_AUDIENCE", default_value = "example-app")]
    audience: String,

    /// Address to listen on.
    #[arg(long, env = "RS_LISTEN", default_value = "127.0.0.1:4000")]
    listen: SocketAddr,

    /// The URL clients call this API at, which DPoP proofs name in `htu`
    /// (default: http:// and the address listened on).
    #[arg(long, env = "RS_PUBLIC_URL")]
    public_url: Option<String>,
}

/// The part of the discovery document this API needs.
#[derive(Debug, Deserialize)]
struct Discovery {
    /// The issuer identifier every token's `iss` must equal.
    issuer: String,
    /// Where the signing keys are published.
    jwks_uri: String,
}

/// Verifiers keyed by key id (`kid`).
type KeyMap = HashMap<String, Arc<dyn JwsVerifier>>;

/// Everything needed to check a token; shared by all requests.
struct TokenValidator {
    /// Expected `iss`.
    issuer: String,
    /// A token's `aud` must contain at least one of these.
    audiences: Vec<String>,
    /// Where to fetch the key set.
    jwks_uri: String,
    /// Client for key-set fetches.
    http: reqwest::Client,
    /// The cached keys.
    keys: RwLock<KeyMap>,
    /// When an unknown `kid` last caused a fetch; the lock also makes
    /// concurrent requests share one fetch instead of each starting one.
    last_refetch: Mutex<Option<Instant>>,
    /// This API's public base URL (DPoP `htu`).
    public_url: String,
    /// DPoP proofs seen within their window, by `jti` (replays are refused).
    seen_proofs: std::sync::Mutex<HashMap<String, f64>>,
}

/// What a valid token says, as this API uses it.
#[derive(Debug)]
struct AccessClaims {
    /// The user, or the client id for client-credentials tokens.
    sub: String,
    /// The client the token was issued to.
    client_id: Option<String>,
    /// Granted scopes, space separated.
    scope: String,
    /// Roles, present when the `roles` scope was granted.
    roles: Vec<String>,
    /// The DPoP key the token is bound to (`cnf.jkt`), if any.
    jkt: Option<String>,
}

/// Why a request was not authenticated (RFC 6750 §3).
#[derive(Debug)]
enum AuthError {
    /// No bearer token at all: the challenge carries no error code.
    Missing,
    /// A token was presented but failed a check.
    InvalidToken(String),
    /// A DPoP-bound token came without a valid proof of its key.
    InvalidProof(String),
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_tracing();
    let args = Args::parse();
    common::exit_status("resource_server", run(args).await)
}

/// Loads discovery and keys, then serves the API until Ctrl-C.
async fn run(args: Args) -> anyhow::Result<()> {
    let audiences = parse_audiences(&args.audience)?;
    let http = common::http_client()?;

    let discovery = common::discover(
        &http,
        &args.issuer,
        "RS",
        DISCOVERY_ATTEMPTS,
        DISCOVERY_RETRIES_SERVER_ERRORS,
        |discovery: &Discovery| &discovery.issuer,
    )
    .await?;
    let keys = fetch_jwks(&http, &discovery.jwks_uri)
        .await
        .with_context(|| {
            format!(
                "could not load the signing keys from {}",
                discovery.jwks_uri
            )
        })?;
    info!(keys = keys.len(), jwks_uri = %discovery.jwks_uri, "loaded signing keys");

    let (listener, bound) = common::listen(args.listen).await?;
    let public_url = args
        .public_url
        .unwrap_or_else(|| format!("http://{bound}"))
        .trim_end_matches('/')
        .to_owned();
    let _ = RESOURCE_METADATA.set(format!("{public_url}{METADATA_PATH}"));
    // A token minted for this API by its resource identifier (RFC 8707) is for it too.
    let mut audiences = audiences;
    audiences.push(public_url.clone());
    let validator = Arc::new(TokenValidator {
        issuer: discovery.issuer,
        audiences,
        jwks_uri: discovery.jwks_uri,
        http,
        keys: RwLock::new(keys),
        last_refetch: Mutex::new(None),
        public_url,
        seen_proofs: std::sync::Mutex::new(HashMap::new()),
    });

    println!(
        "Resource server listening on http://{bound} (issuer {}, audiences {})",
        validator.issuer,
        validator.audiences.join(",")
    );
    axum::serve(listener, router(validator))
        .with_graceful_shutdown(common::shutdown_signal())
        .await
        .context("the server failed")
}

/// Splits `--audience` into a non-empty list.
fn parse_audiences(raw: &str) -> anyhow::Result<Vec<String>> {
    let audiences: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    if audiences.is_empty() {
        bail!("--audience / RS_AUDIENCE must name at least one audience");
    }
    Ok(audiences)
}

/// The API's routes.
fn router(validator: Arc<TokenValidator>) -> Router {
    Router::new()
        .route(METADATA_PATH, get(protected_resource_metadata))
        .route("/api/me", get(me))
        .route("/api/admin", get(admin))
        .fallback(not_found)
        .with_state(validator)
}

/// Where this API describes itself (RFC 9728 §3).
const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// The URL of this API's metadata, named in every 401 challenge (RFC 9728 §5.1); set once
/// at start.
static RESOURCE_METADATA: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `GET /.well-known/oauth-protected-resource` (RFC 9728 §3.2): which authorization server
/// issues tokens for this API, so a client that meets it first can find out how to get one.
async fn protected_resource_metadata(
    axum::extract::State(validator): axum::extract::State<Arc<TokenValidator>>,
) -> Json<Value> {
    Json(json!({
        "resource": validator.public_url,
        "authorization_servers": [validator.issuer],
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": ["ES256", "EdDSA", "RS256"],
        "resource_name": "Tessera example API",
    }))
}

/// `GET /api/me`: who the token speaks for.
async fn me(claims: AccessClaims) -> Json<Value> {
    Json(json!({
        "sub": claims.sub,
        "client_id": claims.client_id,
        "scope": claims.scope,
        "roles": claims.roles,
    }))
}

/// `GET /api/admin`: only for tokens carrying the `admin` role.
async fn admin(claims: AccessClaims) -> Response {
    if claims.roles.iter().any(|role| role == "admin") {
        Json(json!({ "message": "Welcome, admin", "sub": claims.sub })).into_response()
    } else {
        (
            StatusCode::FORBIDDEN,
            Json(json!({ "error": "insufficient_role" })),
        )
            .into_response()
    }
}

/// Any other path.
async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": "not_found" }))).into_response()
}

impl FromRequestParts<Arc<TokenValidator>> for AccessClaims {
    type Rejection = AuthError;

    async fn from_request_parts(
        parts: &mut Parts,
        validator: &Arc<TokenValidator>,
    ) -> Result<Self, Self::Rejection> {
        let (token, dpop_scheme) = bearer_token(&parts.headers)?;
        let claims = validator.validate(token).await.map_err(|reason| {
            debug!(%reason, "refused a token");
            AuthError::InvalidToken(reason)
        })?;
        // RFC 9449 §7: a bound token needs the DPoP scheme and a proof of its
        // key; an unbound one must not claim to be bound.
        match (&claims.jkt, dpop_scheme) {
            (None, false) => {}
            (None, true) => {
                return Err(AuthError::InvalidToken(
                    "the token is not DPoP-bound".into(),
                ));
            }
            (Some(_), false) => {
                return Err(AuthError::InvalidToken(
                    "the token is DPoP-bound: use the DPoP scheme with a proof".into(),
                ));
            }
            (Some(jkt), true) => {
                let url = format!("{}{}", validator.public_url, parts.uri.path());
                validator
                    .check_proof(&parts.headers, parts.method.as_str(), &url, token, jkt)
                    .map_err(|reason| {
                        debug!(%reason, "refused a DPoP proof");
                        AuthError::InvalidProof(reason)
                    })?;
            }
        }
        Ok(claims)
    }
}

/// Takes the token from `Authorization: Bearer <token>` or `DPoP <token>`;
/// says which scheme it came with (`true` for DPoP).
fn bearer_token(headers: &HeaderMap) -> Result<(&str, bool), AuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(AuthError::Missing);
    };
    let value = value
        .to_str()
        .map_err(|_| AuthError::InvalidToken("malformed Authorization header".into()))?;
    let Some((scheme, token)) = value.split_once(' ') else {
        return Err(AuthError::Missing);
    };
    let dpop = scheme.eq_ignore_ascii_case("dpop");
    // Another scheme (Basic, ...) means no access token was presented.
    if !dpop && !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Missing);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::InvalidToken("empty bearer token".into()));
    }
    Ok((token, dpop))
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let (challenge, body) = match self {
            AuthError::Missing => (
                "Bearer".to_owned(),
                json!({ "error": "unauthorized", "error_description": "a bearer token is required" }),
            ),
            AuthError::InvalidToken(reason) => {
                let description = header_safe(&reason);
                (
                    format!(r#"Bearer error="invalid_token", error_description="{description}""#),
                    json!({ "error": "invalid_token", "error_description": reason }),
                )
            }
            AuthError::InvalidProof(reason) => {
                let description = header_safe(&reason);
                (
                    format!(
                        r#"DPoP algs="ES256 EdDSA RS256", error="invalid_dpop_proof", error_description="{description}""#
                    ),
                    json!({ "error": "invalid_dpop_proof", "error_description": reason }),
                )
            }
        };
        let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
        let challenge = match RESOURCE_METADATA.get() {
            Some(url) => format!(r#"{challenge}, resource_metadata="{url}""#),
            None => challenge,
        };
        let challenge = challenge.replacen("Bearer, ", "Bearer ", 1);
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// Keeps only the characters RFC 6750 allows in `error_description`
/// (printable ASCII other than `"` and `\`).
fn header_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl TokenValidator {
    /// RFC 9449 §4.3: the request's one `DPoP` proof is signed by the public
    /// key in its header, is fresh and unused, names this request's method
    /// and URL and the token's hash, and its key is the one the token is
    /// bound to.
    fn check_proof(
        &self,
        headers: &HeaderMap,
        method: &str,
        url: &str,
        token: &str,
        jkt: &str,
    ) -> Result<(), String> {
        let mut proofs = headers.get_all("dpop").iter();
        let proof = match (proofs.next(), proofs.next()) {
            (Some(proof), None) => proof.to_str().map_err(|_| "the DPoP header is not text")?,
            _ => return Err("send exactly one DPoP proof".into()),
        };
        let header = jwt::decode_header(proof).map_err(|_| "the proof is not a JWT".to_owned())?;
        if header.claim("typ").and_then(Value::as_str) != Some("dpop+jwt") {
            return Err("the proof's typ is not dpop+jwt".into());
        }
        let jwk = header
            .claim("jwk")
            .and_then(Value::as_object)
            .ok_or("the proof has no jwk")?;
        if jwk.contains_key("d") {
            return Err("the proof carries a private key".into());
        }
        let key = Jwk::from_map(jwk.clone()).map_err(|_| "the proof's jwk is invalid")?;
        let verifier: Box<dyn JwsVerifier> = match header.claim("alg").and_then(Value::as_str) {
            Some("ES256") => Box::new(ES256.verifier_from_jwk(&key).map_err(|e| e.to_string())?),
            Some("EdDSA") => Box::new(EdDSA.verifier_from_jwk(&key).map_err(|e| e.to_string())?),
            Some("RS256") => Box::new(RS256.verifier_from_jwk(&key).map_err(|e| e.to_string())?),
            _ => return Err("the proof's alg is not accepted".into()),
        };
        let (payload, _) = jwt::decode_with_verifier(proof, verifier.as_ref())
            .map_err(|_| "the proof's signature is invalid".to_owned())?;
        let text = |name: &str| payload.claim(name).and_then(Value::as_str);
        if text("htm") != Some(method)
            || text("htu").map(|u| u.split(['?', '#']).next()) != Some(Some(url))
        {
            return Err("the proof names another request".into());
        }
        let now = unix_now();
        let iat = numeric_claim(&payload, "iat").ok_or("the proof has no iat")?;
        if (now - iat).abs() > 60.0 {
            return Err("the proof is not fresh".into());
        }
        let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        if text("ath") != Some(ath.as_str()) {
            return Err("the proof's ath does not match the token".into());
        }
        if thumbprint(jwk).as_deref() != Some(jkt) {
            return Err("the proof's key is not the token's key".into());
        }
        let jti = text("jti").ok_or("the proof has no jti")?.to_owned();
        let mut seen = self.seen_proofs.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, at| now - *at <= 120.0);
        if seen.insert(jti, iat).is_some() {
            return Err("the proof was used before".into());
        }
        Ok(())
    }

    /// Runs every check on a token; the error says which one failed.
    async fn validate(&self, token: &str) -> Result<AccessClaims, String> {
        let header = jwt::decode_header(token).map_err(|_| "malformed token".to_owned())?;
        check_typ(header.claim("typ"))?;
        let kid = header
            .claim("kid")
            .and_then(Value::as_str)
            .ok_or("the token header has no kid")?;
        let verifier = self.verifier_for(kid).await?;
        // josekit also checks that the header's alg is the key's algorithm,
        // which stops "alg: none" and algorithm-confusion tricks.
        let (payload, _) = jwt::decode_with_verifier(token, verifier.as_ref())
            .map_err(|_| "invalid signature".to_owned())?;
        self.check_claims(&payload)?;
        access_claims(&payload)
    }

    /// Finds the key for `kid`, fetching the key set again if needed.
    async fn verifier_for(&self, kid: &str) -> Result<Arc<dyn JwsVerifier>, String> {
        if let Some(verifier) = self.keys.read().await.get(kid) {
            return Ok(verifier.clone());
        }
        self.refetch_keys(kid).await;
        self.keys
            .read()
            .await
            .get(kid)
            .cloned()
            .ok_or_else(|| "the token is signed with an unknown key".to_owned())
    }

    /// Fetches the key set again, unless that happened too recently.
    async fn refetch_keys(&self, kid: &str) {
        let mut last = self.last_refetch.lock().await;
        // Another request may have fetched the key while this one waited.
        if self.keys.read().await.contains_key(kid) {
            return;
        }
        if last.is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL) {
            return;
        }
        // Count failed attempts too, so an unreachable Tessera is not flooded.
        *last = Some(Instant::now());
        match fetch_jwks(&self.http, &self.jwks_uri).await {
            Ok(keys) => {
                info!(
                    keys = keys.len(),
                    "refetched signing keys for an unknown kid"
                );
                *self.keys.write().await = keys;
            }
            Err(err) => warn!("could not refetch the signing keys: {err:#}"),
        }
    }

    /// Checks `iss`, `exp`, `nbf` and `aud`.
    fn check_claims(&self, payload: &JwtPayload) -> Result<(), String> {
        if payload.issuer() != Some(self.issuer.as_str()) {
            return Err("the token was issued by someone else".into());
        }
        let now = unix_now();
        let exp = numeric_claim(payload, "exp").ok_or("the token has no exp")?;
        if now >= exp {
            return Err("the token has expired".into());
        }
        if numeric_claim(payload, "nbf").is_some_and(|nbf| nbf > now + NBF_LEEWAY_SECS) {
            return Err("the token is not valid yet".into());
        }
        let audiences = payload.audience().ok_or("the token has no valid aud")?;
        if !audiences
            .iter()
            .any(|aud| self.audiences.iter().any(|accepted| accepted == aud))
        {
            return Err("the token is not meant for this API".into());
        }
        Ok(())
    }
}

/// Accepts `at+jwt` and `application/at+jwt` in any case (RFC 9068 §4).
fn check_typ(typ: Option<&Value>) -> Result<(), String> {
    let typ = typ
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if typ == "at+jwt" || typ == "application/at+jwt" {
        Ok(())
    } else {
        Err("the token is not an access token (typ must be at+jwt)".into())
    }
}

/// Reads a NumericDate claim as seconds since the epoch.
fn numeric_claim(payload: &JwtPayload, name: &str) -> Option<f64> {
    // Read the number directly: josekit's `expires_at()` would panic on a
    // negative or huge value.
    payload.claim(name).and_then(Value::as_f64)
}

/// Seconds since the epoch, now.
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

/// Extracts the claims this API uses from a verified payload.
fn access_claims(payload: &JwtPayload) -> Result<AccessClaims, String> {
    let sub = payload.subject().ok_or("the token has no sub")?.to_owned();
    let client_id = payload
        .claim("client_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let scope = payload
        .claim("scope")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let roles = match payload.claim("roles") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or("the token's roles are not all strings")?,
        Some(_) => return Err("the token's roles claim is not an array".into()),
    };
    let jkt = payload
        .claim("cnf")
        .and_then(|cnf| cnf.get("jkt"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(AccessClaims {
        sub,
        client_id,
        scope,
        roles,
        jkt,
    })
}

/// RFC 7638: the SHA-256 thumbprint of a public key's required members.
fn thumbprint(jwk: &serde_json::Map<String, Value>) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        _ => return None,
    };
    let mut required = serde_json::Map::new();
    for name in members {
        required.insert((*name).to_owned(), jwk.get(*name)?.clone());
    }
    // serde_json's map keeps keys sorted, as RFC 7638 §3.3 asks.
    let canonical = serde_json::to_string(&required).ok()?;
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// Downloads the key set and builds a verifier for each usable signing key.
async fn fetch_jwks(http: &reqwest::Client, jwks_uri: &str) -> anyhow::Result<KeyMap> {
    let response = http.get(jwks_uri).send().await?.error_for_status()?;
    let document: Value = response.json().await.context("the key set is not JSON")?;
    let keys = document
        .get("keys")
        .and_then(Value::as_array)
        .context("the key set has no keys array")?;
    let mut verifiers = KeyMap::new();
    for key in keys {
        // One odd key (an encryption key, an unknown type) must not make
        // the whole set unusable: skip it.
        match verifier_from_jwk(key) {
            Ok(Some((kid, verifier))) => {
                verifiers.insert(kid, verifier);
            }
            Ok(None) => debug!("skipped a key that is not for RS256, ES256 or EdDSA signatures"),
            Err(err) => warn!("skipped an unusable key: {err:#}"),
        }
    }
    Ok(verifiers)
}

/// Builds the verifier for one JWK, or `None` when it is not a signing key
/// of a supported algorithm.
fn verifier_from_jwk(key: &Value) -> anyhow::Result<Option<(String, Arc<dyn JwsVerifier>)>> {
    let map = key.as_object().context("a key is not a JSON object")?;
    let jwk = Jwk::from_map(map.clone())?;
    if jwk.key_use().is_some_and(|key_use| key_use != "sig") {
        return Ok(None);
    }
    let Some(kid) = jwk.key_id() else {
        return Ok(None);
    };
    let verifier: Arc<dyn JwsVerifier> = match signing_alg(&jwk) {
        Some("RS256") => Arc::new(RS256.verifier_from_jwk(&jwk)?),
        Some("ES256") => Arc::new(ES256.verifier_from_jwk(&jwk)?),
        Some("EdDSA") => Arc::new(EdDSA.verifier_from_jwk(&jwk)?),
        _ => return Ok(None),
    };
    Ok(Some((kid.to_owned(), verifier)))
}

/// The key's `alg`, or the usual one for its type when `alg` is absent.
fn signing_alg(jwk: &Jwk) -> Option<&str> {
    if let Some(alg) = jwk.algorithm() {
        return Some(alg);
    }
    match (jwk.key_type(), jwk.curve()) {
        ("RSA", _) => Some("RS256"),
        ("EC", Some("P-256")) => Some("ES256"),
        ("OKP", Some("Ed25519")) => Some("EdDSA"),
        _ => None,
    }
}
