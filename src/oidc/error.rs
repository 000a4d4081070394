//! Protocol errors: RFC 6749 §4.1.2.1 (authorization), §5.2 (token), RFC 6750 §3.1 (bearer),
//! OpenID Connect Core §3.1.2.6. The description is sent; a hidden cause is only logged.

use std::borrow::Cow;
use std::fmt;

/// The registered error codes Tessera sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Malformed or missing parameter.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// Bad, expired, revoked or reused code or refresh token.
    InvalidGrant,
    /// The client may not use this grant or response type.
    UnauthorizedClient,
    /// Unknown grant type.
    UnsupportedGrantType,
    /// Unknown response type.
    UnsupportedResponseType,
    /// Scope missing or not allowed.
    InvalidScope,
    /// The user or server refused.
    AccessDenied,
    /// `prompt=none` but the user must sign in.
    LoginRequired,
    /// `prompt=none` but the user must consent.
    ConsentRequired,
    /// The `request` parameter is not supported.
    RequestNotSupported,
    /// The `request_uri` parameter is not supported.
    RequestUriNotSupported,
    /// The `registration` parameter is not supported.
    RegistrationNotSupported,
    /// Bearer token missing, expired or revoked.
    InvalidToken,
    /// The token lacks a needed scope.
    InsufficientScope,
    /// A resource indicator is invalid or not allowed (RFC 8707 §2).
    InvalidTarget,
    /// A pushed request's `request_uri` is unknown, used or expired (RFC 9126 §2.2).
    InvalidRequestUri,
    /// A DPoP proof is missing or invalid (RFC 9449 §5, §7.1).
    InvalidDpopProof,
    /// The DPoP proof must carry the server's current nonce (RFC 9449 §8, §9).
    UseDpopNonce,
    /// RFC 8628 §3.5: the user has not answered yet.
    AuthorizationPending,
    /// RFC 8628 §3.5: the device polls too often.
    SlowDown,
    /// RFC 8628 §3.5: the device code expired.
    ExpiredToken,
    /// RFC 7591 §3.2.2: a metadata value is invalid.
    InvalidClientMetadata,
    /// RFC 7591 §3.2.2: a redirect URI is invalid.
    InvalidRedirectUri,
    /// Unexpected failure.
    ServerError,
    /// The database is unreachable for now.
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The code as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::RegistrationNotSupported => "registration_not_supported",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::InvalidRequestUri => "invalid_request_uri",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// The HTTP status for a direct (non-redirect) response.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => 401,
            ErrorCode::InsufficientScope => 403,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// A protocol error with a human-readable description.
#[derive(Debug, Clone)]
pub struct OAuthError {
    /// The error code.
    pub code: ErrorCode,
    /// `error_description`: safe to show the client.
    pub description: Cow<'static, str>,
    /// What really happened, for the log only.
    pub cause: Option<String>,
}

impl OAuthError {
    /// An error with a description.
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
            cause: None,
        }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant`.
    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `invalid_client`.
    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "client authentication failed")
    }

    /// `invalid_token`.
    pub fn invalid_token(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidToken, description)
    }

    /// `server_error` with a logged cause.
    pub fn server_error(cause: impl fmt::Display) -> Self {
        Self {
            code: ErrorCode::ServerError,
            description: "the server could not complete the request".into(),
            cause: Some(cause.to_string()),
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

impl From<crate::signing::KeyError> for OAuthError {
    fn from(e: crate::signing::KeyError) -> Self {
        Self::server_error(e)
    }
}
