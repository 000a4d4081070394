//! The error of a use case. Each variant carries the decision (what went wrong, for which
//! field), never a string to search; the web layer renders it as an HTML page, an OAuth error
//! (RFC 6749 §5.2) or a problem document (RFC 9457), the CLI as one line.

use crate::oidc::{ErrorCode, OAuthError};
use crate::signing::KeyError;
use crate::store::StoreError;

/// Why a use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The thing named does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The change collides with what exists (a taken username, a duplicate id).
    #[error("{message}")]
    Conflict {
        /// The input field at fault.
        field: &'static str,
        /// What a person can do about it.
        message: String,
    },
    /// An input is not acceptable.
    #[error("{message}")]
    Invalid {
        /// The input field at fault, when one is.
        field: Option<&'static str>,
        /// What a person can do about it.
        message: String,
    },
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The database cannot be reached now; retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or a broken dependency.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    /// An invalid input, naming its field.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field: Some(field),
            message: message.into(),
        }
    }

    /// A conflict on a field.
    pub fn conflict(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Conflict {
            field,
            message: message.into(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => ServiceError::Unavailable(e.to_string()),
            // A unique key settled a race the use case's own check could not see.
            StoreError::Conflict(message) => ServiceError::Conflict {
                field: "id",
                message,
            },
            other => ServiceError::Internal(other.into()),
        }
    }
}

impl From<KeyError> for ServiceError {
    fn from(e: KeyError) -> Self {
        ServiceError::Internal(e.into())
    }
}

impl From<ServiceError> for OAuthError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Unavailable(cause) => OAuthError {
                code: ErrorCode::TemporarilyUnavailable,
                description: "the service is temporarily unavailable; try again shortly".into(),
                cause: Some(cause),
            },
            ServiceError::Internal(cause) => OAuthError::server_error(format!("{cause:#}")),
            ServiceError::NotFound(what) => {
                OAuthError::invalid_request(format!("{what} not found"))
            }
            ServiceError::Forbidden(message) => OAuthError::new(ErrorCode::AccessDenied, message),
            ServiceError::Conflict { message, .. } | ServiceError::Invalid { message, .. } => {
                OAuthError::invalid_request(message)
            }
        }
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> OAuthError {
        match e {
            StoreError::Unavailable(_) => Self {
                code: ErrorCode::TemporarilyUnavailable,
                description: "the service is temporarily unavailable; try again shortly".into(),
                cause: Some(e.to_string()),
            },
            other => Self::server_error(other),
        }
    }
}

/// Result of a use case.
pub type ServiceResult<T> = Result<T, ServiceError>;
