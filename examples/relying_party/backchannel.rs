//! Back-Channel Logout (OpenID Connect Back-Channel Logout 1.0 §2.6): Tessera
//! POSTs a logout token here when a user's session there ends; the app checks
//! it like an ID token (signature with Tessera's JWKS, `iss`, `aud`, `iat`,
//! `exp`) plus what makes it a logout token (`typ`, the `events` claim, a
//! `sid` or `sub`, and no `nonce`), then drops the matching local sessions.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKey, JsonWebKeyId};
use serde_json::{Map, Value};

/// The event that marks a JWT as a logout token.
const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Allowed clock difference with Tessera, in seconds.
const LEEWAY_SECS: i64 = 60;

/// Whom a valid logout token signs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutOf {
    /// Tessera's session id, when the token names one.
    pub sid: Option<String>,
    /// The user, when the token names one.
    pub sub: Option<String>,
}

fn part(segment: &str) -> Result<Map<String, Value>, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| "a part is not base64url".to_owned())?;
    serde_json::from_slice(&bytes).map_err(|_| "a part is not a JSON object".to_owned())
}

/// Validates a logout token against Tessera's keys, its issuer and this
/// app's client id.
// An app of its own, not Tessera: it reads the system clock.
#[allow(clippy::disallowed_methods)]
pub fn verify(
    token: &str,
    jwks: &CoreJsonWebKeySet,
    issuer: &str,
    client_id: &str,
) -> Result<LogoutOf, String> {
    let segments: Vec<&str> = token.split('.').collect();
    let [header_b64, claims_b64, signature_b64] = segments[..] else {
        return Err("not a compact JWS".into());
    };
    let header = part(header_b64)?;
    if header.get("typ").and_then(Value::as_str) != Some("logout+jwt") {
        return Err("typ is not logout+jwt".into());
    }
    let alg: CoreJwsSigningAlgorithm =
        serde_json::from_value(header.get("alg").cloned().unwrap_or_default())
            .map_err(|_| "unknown alg".to_owned())?;
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .map(|k| JsonWebKeyId::new(k.to_owned()));
    let key = jwks
        .keys()
        .iter()
        .find(|k| kid.is_none() || k.key_id() == kid.as_ref())
        .ok_or("no key of Tessera's JWKS has this kid")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| "the signature is not base64url".to_owned())?;
    let signed = format!("{header_b64}.{claims_b64}");
    key.verify_signature(&alg, signed.as_bytes(), &signature)
        .map_err(|e| format!("bad signature: {e}"))?;

    let claims = part(claims_b64)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(issuer) {
        return Err("wrong issuer".into());
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == client_id,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    if !audience_ok {
        return Err("not addressed to this app".into());
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let iat = claims.get("iat").and_then(Value::as_i64).ok_or("no iat")?;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .unwrap_or(iat + 120);
    if iat > now + LEEWAY_SECS || exp < now - LEEWAY_SECS {
        return Err("expired or issued in the future".into());
    }
    if claims.contains_key("nonce") {
        return Err("a logout token must not carry a nonce".into());
    }
    let has_event = claims
        .get("events")
        .and_then(|e| e.get(LOGOUT_EVENT))
        .is_some_and(Value::is_object);
    if !has_event {
        return Err("the logout event is missing".into());
    }
    if text("jti").is_none() {
        return Err("no jti".into());
    }
    let of = LogoutOf {
        sid: text("sid").map(str::to_owned),
        sub: text("sub").map(str::to_owned),
    };
    if of.sid.is_none() && of.sub.is_none() {
        return Err("neither sid nor sub".into());
    }
    Ok(of)
}

/// The `sid` claim of an ID token whose signature was already verified.
pub fn session_of(id_token: &str) -> Option<String> {
    let claims = part(id_token.split('.').nth(1)?).ok()?;
    claims.get("sid").and_then(Value::as_str).map(str::to_owned)
}
