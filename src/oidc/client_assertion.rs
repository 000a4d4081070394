//! Client assertions (RFC 7523 §3, OpenID Connect Core §9 `private_key_jwt`): the claims a
//! client's signed JWT must carry once its signature checked out with one of its keys.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::OAuthError;
use super::client_auth::invalid_client;

/// RFC 7523 §2.2: the `client_assertion_type` of a JWT assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may live (`exp` − now), in seconds: assertions are meant to be
/// short-lived, and their `jti` is remembered that long.
pub const MAX_LIFETIME_SECS: i64 = 600;

/// Clock skew allowed for `iat` and `nbf`, in seconds.
const SKEW_SECS: i64 = 5;

fn refused(description: &str) -> OAuthError {
    let mut error = invalid_client(false);
    error.description = format!("client assertion refused: {description}").into();
    error
}

/// The `sub` of an assertion before it is verified: which client's keys to check it with.
pub fn subject_unverified(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    claims
        .get("sub")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// What the server expects an assertion to name.
#[derive(Debug, Clone, Copy)]
pub struct Audience<'a> {
    /// The issuer identifier (draft-ietf-oauth-rfc7523bis: `aud` is this, as a string).
    pub issuer: &'a str,
    /// The token endpoint URL, which older clients name instead (OpenID Connect Core §9).
    pub token_endpoint: &'a str,
}

/// RFC 7523 §3: `iss` and `sub` are the client, `aud` names this server and nothing else,
/// `exp` is near, `jti` is present. Returns the `jti` and `exp`.
pub fn check(
    claims: &Map<String, Value>,
    client_id: &str,
    audience: Audience<'_>,
    now: i64,
) -> Result<(String, i64), OAuthError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
        return Err(refused("iss and sub must both be the client_id"));
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience.issuer || aud == audience.token_endpoint,
        Some(Value::Array(auds)) => {
            auds.len() == 1 && auds[0].as_str() == Some(audience.token_endpoint)
        }
        _ => false,
    };
    if !audience_ok {
        return Err(refused(
            "aud must be the issuer identifier (or the token endpoint URL) alone",
        ));
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| refused("exp is missing"))?;
    if exp <= now {
        return Err(refused("the assertion has expired"));
    }
    if exp > now + MAX_LIFETIME_SECS {
        return Err(refused(
            "exp is too far ahead; assertions live 10 minutes at most",
        ));
    }
    for name in ["iat", "nbf"] {
        if claims
            .get(name)
            .and_then(Value::as_i64)
            .is_some_and(|t| t > now + SKEW_SECS)
        {
            return Err(refused("the assertion is not valid yet"));
        }
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| refused("jti is missing"))?;
    Ok((jti.to_string(), exp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AUD: Audience<'static> = Audience {
        issuer: "https://op.example",
        token_endpoint: "https://op.example/token",
    };

    fn claims(aud: Value, exp: i64) -> Map<String, Value> {
        json!({ "iss": "c", "sub": "c", "aud": aud, "exp": exp, "jti": "j" })
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn audience_is_the_issuer_or_the_token_endpoint_alone() {
        assert!(check(&claims(json!("https://op.example"), 1100), "c", AUD, 1000).is_ok());
        assert!(
            check(
                &claims(json!("https://op.example/token"), 1100),
                "c",
                AUD,
                1000
            )
            .is_ok()
        );
        assert!(
            check(
                &claims(json!(["https://op.example/token"]), 1100),
                "c",
                AUD,
                1000
            )
            .is_ok()
        );
        assert!(check(&claims(json!(["https://op.example"]), 1100), "c", AUD, 1000).is_err());
        assert!(
            check(
                &claims(json!(["https://op.example/token", "https://other"]), 1100),
                "c",
                AUD,
                1000
            )
            .is_err()
        );
        assert!(check(&claims(json!("https://other"), 1100), "c", AUD, 1000).is_err());
    }

    #[test]
    fn expiry_and_subject_are_checked() {
        assert!(check(&claims(json!("https://op.example"), 999), "c", AUD, 1000).is_err());
        assert!(check(&claims(json!("https://op.example"), 5000), "c", AUD, 1000).is_err());
        assert!(check(&claims(json!("https://op.example"), 1100), "d", AUD, 1000).is_err());
    }
}
