//! Pushed Authorization Requests (RFC 9126): the `request_uri` form, and how a request that
//! uses one relates to what was pushed.

use super::params::Params;
use super::{ErrorCode, OAuthError};

/// RFC 9126 §2.2: the prefix of the `request_uri` values this server hands out.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Whether a `request_uri` is one of ours (anything else is a Request Object reference,
/// which OpenID Connect Core §6.2 lets a server refuse).
pub fn is_pushed(request_uri: &str) -> bool {
    request_uri.starts_with(REQUEST_URI_PREFIX)
}

/// RFC 9126 §2.1: what may not be pushed.
pub fn check_pushable(params: &Params) -> Result<(), OAuthError> {
    if params.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request(
            "request_uri cannot be pushed; push the request's parameters",
        ));
    }
    if params.get("request").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    Ok(())
}

/// RFC 9126 §4: the authorization request carries `client_id` and `request_uri`; any other
/// parameter it repeats must say the same as the pushed request, or the request is refused
/// rather than silently mixed.
pub fn check_no_conflict(request: &Params, pushed: &Params) -> Result<(), OAuthError> {
    for (name, _) in request.pairs() {
        if matches!(name, "client_id" | "request_uri") {
            continue;
        }
        if request.all(name) != pushed.all(name) {
            return Err(OAuthError::invalid_request(format!(
                "'{name}' differs from the pushed request; send only client_id and request_uri"
            )));
        }
    }
    Ok(())
}

/// Stored form of pushed parameters: a JSON list of pairs.
pub fn store(params: &Params) -> String {
    serde_json::to_string(&params.pairs()).unwrap_or_else(|_| "[]".into())
}

/// Parameters from their stored form.
pub fn load(stored: &str) -> Params {
    let pairs: Vec<(String, String)> = serde_json::from_str(stored).unwrap_or_default();
    Params::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_parameters_round_trip_and_conflicts_are_found() {
        let pushed = Params::parse(
            b"client_id=c&scope=openid&resource=https%3A%2F%2Fa&resource=https%3A%2F%2Fb",
        )
        .unwrap();
        let loaded = load(&store(&pushed));
        assert_eq!(loaded.all("resource"), vec!["https://a", "https://b"]);
        let same = Params::parse(b"client_id=c&request_uri=urn:x&scope=openid").unwrap();
        assert!(check_no_conflict(&same, &loaded).is_ok());
        let other = Params::parse(b"client_id=c&request_uri=urn:x&scope=email").unwrap();
        assert!(check_no_conflict(&other, &loaded).is_err());
    }
}
