//! Verification of signatures made with keys that others bring: a key sent with a request
//! (DPoP proofs), registered by a client (`private_key_jwt`) or published by an upstream
//! provider. The key is handed in; nothing here trusts our own keyring.

use josekit::jwk::Jwk;
use josekit::jws::{self, ES256, EdDSA, JwsVerifier, RS256};
use serde_json::{Map, Value};

use super::{VerifiedJwt, VerifyError};
use crate::domain::SigningAlg;

/// Verifies a compact JWS with `jwk`, accepting only the algorithms in `allowed`. The token's
/// header `alg` picks the algorithm; a key of another type fails. Time-based claims are the
/// caller's to check.
pub fn verify_with_jwk(
    token: &str,
    jwk: &Map<String, Value>,
    allowed: &[SigningAlg],
) -> Result<VerifiedJwt, VerifyError> {
    if token.len() > 16 * 1024 {
        return Err(VerifyError("token too large".into()));
    }
    let key = Jwk::from_map(jwk.clone()).map_err(|e| VerifyError(format!("bad key: {e}")))?;
    let verifiers: Vec<(SigningAlg, Box<dyn JwsVerifier>)> = allowed
        .iter()
        .filter_map(|alg| verifier(*alg, &key).map(|v| (*alg, v)))
        .collect();
    let verified = jws::deserialize_compact_with_selector(token, |header| {
        let alg = header.algorithm().and_then(SigningAlg::parse);
        Ok(verifiers
            .iter()
            .find(|(a, _)| Some(*a) == alg)
            .map(|(_, v)| v.as_ref()))
    });
    let (payload, header) =
        verified.map_err(|e| VerifyError(format!("signature check failed: {e}")))?;
    let claims: Map<String, Value> = serde_json::from_slice(&payload)
        .map_err(|_| VerifyError("claims are not a JSON object".into()))?;
    Ok(VerifiedJwt {
        typ: header.token_type().map(str::to_string),
        alg: header.algorithm().unwrap_or_default().to_string(),
        claims,
    })
}

/// The `kid` of a compact JWS's header, unverified (which key to try first).
pub fn header_kid(token: &str) -> Option<String> {
    header(token)?
        .get("kid")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn header(token: &str) -> Option<Map<String, Value>> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').next()?)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Verifies a compact JWS with the public key carried in its own `jwk` header (DPoP proofs,
/// RFC 9449 §4.2); returns the claims and that key. A private or symmetric key is refused.
pub fn verify_with_embedded_jwk(
    token: &str,
    allowed: &[SigningAlg],
) -> Result<(VerifiedJwt, Map<String, Value>), VerifyError> {
    let header =
        header(token).ok_or_else(|| VerifyError("the header is not base64url JSON".into()))?;
    let jwk = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or_else(|| VerifyError("the header has no jwk".into()))?;
    if crate::domain::PRIVATE_KEY_MEMBERS
        .iter()
        .any(|m| jwk.contains_key(*m))
    {
        return Err(VerifyError("the jwk must be a public key".into()));
    }
    let verified = verify_with_jwk(token, jwk, allowed)?;
    Ok((verified, jwk.clone()))
}

fn verifier(alg: SigningAlg, key: &Jwk) -> Option<Box<dyn JwsVerifier>> {
    let boxed: Box<dyn JwsVerifier> = match alg {
        SigningAlg::RS256 => Box::new(RS256.verifier_from_jwk(key).ok()?),
        SigningAlg::ES256 => Box::new(ES256.verifier_from_jwk(key).ok()?),
        SigningAlg::EdDSA => Box::new(EdDSA.verifier_from_jwk(key).ok()?),
    };
    Some(boxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwk::alg::ec::EcCurve;
    use josekit::jws::JwsHeader;

    fn signed(claims: &str) -> (String, Map<String, Value>) {
        let key = Jwk::generate_ec_key(EcCurve::P256).unwrap();
        let signer = ES256.signer_from_jwk(&key).unwrap();
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        let token = jws::serialize_compact(claims.as_bytes(), &header, &signer).unwrap();
        let public = key.to_public_key().unwrap();
        (token, public.as_ref().clone())
    }

    #[test]
    fn verifies_with_the_brought_key_and_an_allowed_algorithm() {
        let (token, jwk) = signed(r#"{"jti":"1"}"#);
        let verified = verify_with_jwk(&token, &jwk, &[SigningAlg::ES256]).unwrap();
        assert_eq!(verified.typ.as_deref(), Some("dpop+jwt"));
        assert_eq!(verified.claims["jti"], "1");
    }

    #[test]
    fn verifies_with_the_embedded_public_key_only() {
        let key = Jwk::generate_ec_key(EcCurve::P256).unwrap();
        let signer = ES256.signer_from_jwk(&key).unwrap();
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header.set_jwk(key.to_public_key().unwrap());
        let token = jws::serialize_compact(br#"{"jti":"1"}"#, &header, &signer).unwrap();
        let (verified, jwk) = verify_with_embedded_jwk(&token, &[SigningAlg::ES256]).unwrap();
        assert_eq!(verified.claims["jti"], "1");
        assert!(!jwk.contains_key("d"));
        let mut leaky = JwsHeader::new();
        leaky.set_jwk(key.clone());
        let token = jws::serialize_compact(b"{}", &leaky, &signer).unwrap();
        assert!(verify_with_embedded_jwk(&token, &[SigningAlg::ES256]).is_err());
    }

    #[test]
    fn refuses_another_key_or_a_disallowed_algorithm() {
        let (token, _) = signed(r#"{"jti":"1"}"#);
        let (_, other) = signed("{}");
        assert!(verify_with_jwk(&token, &other, &[SigningAlg::ES256]).is_err());
        let (token, jwk) = signed(r#"{"jti":"1"}"#);
        assert!(verify_with_jwk(&token, &jwk, &[SigningAlg::RS256]).is_err());
    }
}
