//! DPoP proofs (RFC 9449 §4.3): the checks a proof must pass once its signature is verified
//! with the key it carries, and the key's thumbprint (RFC 7638) that tokens are bound to.
//! Replay of a `jti` and the server nonce are checked against state the caller holds.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{ErrorCode, OAuthError};
use crate::domain::SigningAlg;

/// The algorithms proofs may be signed with (discovery's `dpop_signing_alg_values_supported`).
pub const ALGS: [SigningAlg; 3] = [SigningAlg::ES256, SigningAlg::EdDSA, SigningAlg::RS256];

/// How far in the future a proof's `iat` may be (clock skew), in seconds.
const FUTURE_SKEW_SECS: i64 = 5;

fn invalid(description: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidDpopProof, description)
}

/// What a request must prove.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// The request's method (`htm`).
    pub method: &'a str,
    /// The request's URL without query and fragment (`htu`).
    pub url: &'a str,
    /// The access token presented with the proof (`ath`), at resources.
    pub access_token: Option<&'a str>,
    /// Now, in Unix seconds.
    pub now: i64,
    /// The oldest acceptable `iat`, in seconds before now.
    pub max_age: i64,
}

/// A proof that passed every check but replay and nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// RFC 7638 thumbprint of its key (`jkt`).
    pub jkt: String,
    /// Its unique id.
    pub jti: String,
    /// Its `nonce` claim, if any.
    pub nonce: Option<String>,
    /// When it stops being acceptable (and its `jti` may be forgotten).
    pub expires_at: i64,
}

/// RFC 7638 §3: SHA-256 over the required members in lexicographic order, base64url.
pub fn thumbprint(jwk: &Map<String, Value>) -> Result<String, OAuthError> {
    let member = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("the jwk lacks '{name}'")))
    };
    let names: &[&str] = match member("kty")? {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        _ => return Err(invalid("the jwk has an unsupported kty")),
    };
    let mut canonical = String::from("{");
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            canonical.push(',');
        }
        let value = serde_json::to_string(member(name)?).map_err(OAuthError::server_error)?;
        canonical.push_str(&format!("\"{name}\":{value}"));
    }
    canonical.push('}');
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// RFC 9449 §4.3 steps 5–11 for a proof whose signature was verified with `jwk`.
pub fn check(
    typ: Option<&str>,
    claims: &Map<String, Value>,
    jwk: &Map<String, Value>,
    expected: &Expected<'_>,
) -> Result<Proof, OAuthError> {
    if !typ.is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt")) {
        return Err(invalid("the proof's typ must be dpop+jwt"));
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| invalid("the proof needs a jti of at most 256 characters"))?;
    if text("htm") != Some(expected.method) {
        return Err(invalid("the proof's htm does not match the request method"));
    }
    if !same_url(text("htu").unwrap_or_default(), expected.url) {
        return Err(invalid("the proof's htu does not match the request URL"));
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("the proof needs a numeric iat"))?;
    if iat > expected.now + FUTURE_SKEW_SECS || iat < expected.now - expected.max_age {
        return Err(invalid("the proof's iat is too old or in the future"));
    }
    if let Some(token) = expected.access_token {
        let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        if text("ath") != Some(ath.as_str()) {
            return Err(invalid("the proof's ath does not match the access token"));
        }
    }
    Ok(Proof {
        jkt: thumbprint(jwk)?,
        jti: jti.to_string(),
        nonce: text("nonce").map(str::to_string),
        expires_at: iat.max(expected.now) + expected.max_age + FUTURE_SKEW_SECS,
    })
}

/// RFC 9449 §4.3 step 9: `htu` matches the request URL, ignoring query and fragment, after
/// the normalisation of RFC 3986 §6 that the URL parser applies (case of scheme and host,
/// default port, percent-encoding).
fn same_url(htu: &str, expected: &str) -> bool {
    let normal = |u: &str| {
        url::Url::parse(u).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        })
    };
    matches!((normal(htu), normal(expected)), (Some(a), Some(b)) if a == b)
}

/// `ath`/`cnf`: whether a token bound to `jkt` may be used with `proof`.
pub fn bound_to(proof: &Proof, jkt: &str) -> Result<(), OAuthError> {
    if crate::auth::secret::constant_time_eq(&proof.jkt, jkt) {
        Ok(())
    } else {
        Err(invalid(
            "the proof is signed with another key than the token is bound to",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc7638_example_thumbprint() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(jwk.as_object().unwrap()).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    fn claims(now: i64) -> Map<String, Value> {
        json!({ "jti": "j1", "htm": "POST", "htu": "https://op.example/token", "iat": now })
            .as_object()
            .unwrap()
            .clone()
    }

    fn jwk() -> Map<String, Value> {
        json!({ "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" })
            .as_object()
            .unwrap()
            .clone()
    }

    fn expected(now: i64) -> Expected<'static> {
        Expected {
            method: "POST",
            url: "https://OP.example:443/token?x=1",
            access_token: None,
            now,
            max_age: 60,
        }
    }

    #[test]
    fn a_fresh_matching_proof_passes() {
        let proof = check(Some("dpop+jwt"), &claims(1000), &jwk(), &expected(1000)).unwrap();
        assert_eq!(proof.jti, "j1");
        assert_eq!(proof.jkt.len(), 43);
    }

    #[test]
    fn wrong_typ_method_url_time_or_ath_is_refused() {
        let e = expected(1000);
        assert!(check(Some("JWT"), &claims(1000), &jwk(), &e).is_err());
        let mut c = claims(1000);
        c.insert("htm".into(), json!("GET"));
        assert!(check(Some("dpop+jwt"), &c, &jwk(), &e).is_err());
        let mut c = claims(1000);
        c.insert("htu".into(), json!("https://op.example/userinfo"));
        assert!(check(Some("dpop+jwt"), &c, &jwk(), &e).is_err());
        assert!(check(Some("dpop+jwt"), &claims(900), &jwk(), &e).is_err());
        assert!(check(Some("dpop+jwt"), &claims(1010), &jwk(), &e).is_err());
        let with_token = Expected {
            access_token: Some("abc"),
            ..expected(1000)
        };
        assert_eq!(
            check(Some("dpop+jwt"), &claims(1000), &jwk(), &with_token)
                .unwrap_err()
                .code,
            ErrorCode::InvalidDpopProof
        );
    }
}
