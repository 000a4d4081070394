//! The HTTP side of DPoP (RFC 9449): the `DPoP` request header, the `DPoP-Nonce` answer
//! header, and the `WWW-Authenticate: DPoP` challenge of resources.

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use crate::oidc::{ErrorCode, OAuthError};
use crate::state::AppState;

/// An access token and the scheme it came with (`true` for DPoP).
pub type Token = (String, bool);

/// The token of an `Authorization: Bearer|DPoP` header; `Err` when the header is malformed.
pub fn authorization(headers: &HeaderMap) -> Result<Option<Token>, OAuthError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || {
        OAuthError::invalid_request(
            "the Authorization header must be 'Bearer <token>' or 'DPoP <token>'",
        )
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(malformed)?;
    let dpop_scheme = scheme.eq_ignore_ascii_case("dpop");
    if !(dpop_scheme || scheme.eq_ignore_ascii_case("bearer")) || token.trim().is_empty() {
        return Err(malformed());
    }
    Ok(Some((token.trim().to_string(), dpop_scheme)))
}

/// The request's `DPoP` header: at most one (RFC 9449 §4.3 step 1).
pub fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let mut values = headers.get_all("dpop").iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "send exactly one DPoP header",
        ));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| OAuthError::new(ErrorCode::InvalidDpopProof, "the DPoP header is not a JWT"))
}

/// Whether an error is about the DPoP proof rather than the token.
pub fn is_dpop_error(error: &OAuthError) -> bool {
    matches!(
        error.code,
        ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce
    )
}

/// Adds a fresh `DPoP-Nonce` to the answer to a DPoP request when this server uses nonces,
/// or when the answer asks for one (RFC 9449 §8).
pub fn with_nonce(state: &AppState, headers: &HeaderMap, mut response: Response) -> Response {
    let asked = response.extensions().get::<ErrorCode>() == Some(&ErrorCode::UseDpopNonce);
    let nonce_in_use = state.config.settings.dpop.require_nonce && headers.contains_key("dpop");
    if (asked || nonce_in_use)
        && let Ok(value) = HeaderValue::from_str(&state.services.dpop_nonce())
    {
        response.headers_mut().insert("dpop-nonce", value);
    }
    response
}
