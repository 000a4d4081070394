//! PKCE (RFC 7636) with S256 only; `plain` is refused (RFC 9700 §2.1.1).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::OAuthError;
use crate::auth::secret::constant_time_eq;

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
fn is_valid_verifier_shape(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Validates `code_challenge` and `code_challenge_method` of an authorization request
/// (RFC 7636 §4.3). Returns the challenge, if any.
pub fn check_challenge(
    challenge: Option<&str>,
    method: Option<&str>,
    required: bool,
) -> Result<Option<String>, OAuthError> {
    match (challenge, method) {
        (None, None) if required => Err(OAuthError::invalid_request(
            "this client must use PKCE: code_challenge with code_challenge_method=S256",
        )),
        (None, None) => Ok(None),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method without code_challenge",
        )),
        (Some(_), None) | (Some(_), Some("plain")) => Err(OAuthError::invalid_request(
            "only code_challenge_method=S256 is supported",
        )),
        (Some(c), Some("S256")) if c.len() == 43 && is_valid_verifier_shape(c) => {
            Ok(Some(c.to_string()))
        }
        (Some(_), Some("S256")) => Err(OAuthError::invalid_request(
            "code_challenge is not a valid S256 challenge",
        )),
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "unsupported code_challenge_method",
        )),
    }
}

/// RFC 7636 §4.6: `BASE64URL(SHA256(code_verifier)) == code_challenge`.
pub fn verify(verifier: Option<&str>, challenge: Option<&str>) -> Result<(), OAuthError> {
    match (verifier, challenge) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(OAuthError::invalid_grant(
            "code_verifier sent but the request had no code_challenge",
        )),
        (None, Some(_)) => Err(OAuthError::invalid_grant("code_verifier is missing")),
        (Some(v), Some(c)) => {
            if !is_valid_verifier_shape(v) {
                return Err(OAuthError::invalid_grant("code_verifier is malformed"));
            }
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()));
            if constant_time_eq(&computed, c) {
                Ok(())
            } else {
                Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verify(Some(verifier), Some(challenge)).is_ok());
        assert!(verify(Some(&"a".repeat(43)), Some(challenge)).is_err());
        assert!(check_challenge(Some(challenge), Some("S256"), true).is_ok());
        assert!(check_challenge(Some(challenge), Some("plain"), false).is_err());
        assert!(check_challenge(Some(challenge), None, false).is_err());
        assert!(check_challenge(None, None, true).is_err());
    }
}
