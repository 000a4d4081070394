//! Client authentication at the token, PAR, introspection and revocation endpoints
//! (RFC 6749 §2.3.1): `client_secret_basic`, `client_secret_post`, `private_key_jwt`
//! (RFC 7523, whose signature the use case checks with the client's keys), or `none` for
//! public clients. Secrets are compared by SHA-256 in constant time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::client::Client;
use super::client_assertion;
use super::params::Params;
use super::{ErrorCode, OAuthError};
use crate::auth::secret;
use crate::domain::AuthMethod;

/// How the client presented itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// client_id.
    pub client_id: String,
    /// The secret, if any.
    pub secret: Option<String>,
    /// A signed client assertion (`private_key_jwt`), if any.
    pub assertion: Option<String>,
    /// Whether HTTP Basic was used (failures then answer with `WWW-Authenticate`).
    pub via_basic: bool,
}

/// An `invalid_client` error that remembers whether Basic was used.
pub fn invalid_client(via_basic: bool) -> OAuthError {
    let mut e = OAuthError::invalid_client();
    if via_basic {
        e.cause = Some("basic".into());
    }
    e
}

/// Reads credentials from the `Authorization` header value (if any) and the form.
/// RFC 6749 §2.3: a client must not use more than one method in a request.
pub fn credentials(
    authorization: Option<&str>,
    params: &Params,
) -> Result<Credentials, OAuthError> {
    let form_id = params.get("client_id");
    let form_secret = params.get("client_secret");
    let assertion = params.get("client_assertion");
    if assertion.is_some() || params.get("client_assertion_type").is_some() {
        if authorization.is_some() || form_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not a secret and an assertion",
            ));
        }
        let refused = |description: &'static str| {
            let mut e = invalid_client(false);
            e.description = description.into();
            e
        };
        if params.get("client_assertion_type") != Some(client_assertion::JWT_BEARER) {
            return Err(refused(
                "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ));
        }
        let assertion = assertion.ok_or_else(|| refused("client_assertion is missing"))?;
        // A NUL could not even be looked up on PostgreSQL: such an id names no client.
        let subject = client_assertion::subject_unverified(assertion)
            .filter(|sub| !sub.chars().any(char::is_control));
        let client_id = match (form_id, subject) {
            (Some(id), Some(sub)) if id != sub => {
                return Err(refused("client_id differs from the assertion's sub"));
            }
            (Some(id), _) => id.to_string(),
            (None, Some(sub)) => sub,
            (None, None) => return Err(refused("the client assertion names no client")),
        };
        return Ok(Credentials {
            client_id,
            secret: None,
            assertion: Some(assertion.to_string()),
            via_basic: false,
        });
    }
    if let Some(header) = authorization {
        let (id, secret) = parse_basic(header).ok_or_else(|| {
            let mut e = invalid_client(true);
            e.description = "the Authorization header is not valid HTTP Basic".into();
            e
        })?;
        if form_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use either HTTP Basic or client_secret in the body, not both",
            ));
        }
        if form_id.is_some_and(|f| f != id) {
            return Err(OAuthError::invalid_request(
                "client_id differs from the Basic credentials",
            ));
        }
        return Ok(Credentials {
            client_id: id,
            secret: Some(secret),
            assertion: None,
            via_basic: true,
        });
    }
    let client_id = form_id.ok_or_else(|| {
        OAuthError::new(ErrorCode::InvalidClient, "client authentication is missing")
    })?;
    Ok(Credentials {
        client_id: client_id.to_string(),
        secret: form_secret.map(str::to_string),
        assertion: None,
        via_basic: false,
    })
}

/// RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64.
fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let id = url_decode(id)?;
    let secret = url_decode(secret)?;
    // RFC 6749 Appendix A.1: a client_id is visible ASCII; a NUL would also fail the
    // database lookup on PostgreSQL instead of simply finding no client.
    (!id.is_empty() && !id.contains('\0')).then_some((id, secret))
}

fn url_decode(s: &str) -> Option<String> {
    let plus_as_space = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// Checks presented credentials against the registered client, as far as that needs no
/// keys: `Ok(Some(assertion))` when a client assertion's signature is still to be checked.
pub fn authenticate<'a>(
    client: &Client,
    presented: &'a Credentials,
) -> Result<Option<&'a str>, OAuthError> {
    let refused = || invalid_client(presented.via_basic);
    match (client.auth_method, &presented.assertion) {
        (AuthMethod::PrivateKeyJwt, Some(assertion)) => Ok(Some(assertion)),
        (AuthMethod::PrivateKeyJwt, None) | (_, Some(_)) => Err(refused()),
        (_, None) => match (&client.secret_hash, &presented.secret) {
            (Some(stored), Some(given)) if secret::verify(given, stored) => Ok(None),
            (None, None) if client.public => Ok(None),
            _ => Err(refused()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_url_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20app:s%3Acret"));
        assert_eq!(
            parse_basic(&header),
            Some(("my app".into(), "s:cret".into()))
        );
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(
            parse_basic(&format!("Basic {}", STANDARD.encode("nocolon"))),
            None
        );
        assert_eq!(
            parse_basic(&format!("Basic {}", STANDARD.encode("a%00b:secret"))),
            None
        );
    }
}
