//! Errors of the hosted pages. A handler returns [`AppError`]; its response carries an
//! [`ErrorPage`] that the page-rendering middleware turns into HTML with the error template,
//! and logs. Server faults show an opaque message; their cause goes to the log only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;

/// What the error page shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ErrorPage {
    /// HTTP status.
    pub status: u16,
    /// Headline.
    pub title: String,
    /// Explanation a person can act on.
    pub message: String,
    /// A technical code, when there is one.
    pub code: Option<String>,
}

/// An error from a page handler.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request cannot be served as sent.
    #[error("{message}")]
    BadRequest {
        /// Headline.
        title: String,
        /// Explanation.
        message: String,
        /// Technical code.
        code: Option<String>,
    },
    /// The form's CSRF token is missing or wrong.
    #[error("CSRF check failed")]
    Csrf,
    /// No such page or object.
    #[error("not found")]
    NotFound,
    /// The database is unreachable for now.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or broken dependency.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A 400 with a headline and a message.
    pub fn bad_request(title: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            title: title.into(),
            message: message.into(),
            code: None,
        }
    }

    fn page(&self) -> ErrorPage {
        let (status, title, message, code) = match self {
            AppError::BadRequest { title, message, code } => (400, title.clone(), message.clone(), code.clone()),
            AppError::Csrf => (
                403,
                "This form has expired".into(),
                "For your security the form could not be accepted. Go back, reload the page and try again.".into(),
                Some("csrf_failed".into()),
            ),
            AppError::NotFound => (404, "Page not found".into(), "There is nothing at this address.".into(), None),
            AppError::Unavailable(_) => (
                503,
                "Temporarily unavailable".into(),
                "Tessera cannot reach its database right now. Please try again in a moment.".into(),
                None,
            ),
            AppError::Internal(_) => (
                500,
                "Something went wrong".into(),
                "An unexpected error occurred. It has been logged; please try again.".into(),
                None,
            ),
        };
        ErrorPage {
            status,
            title,
            message,
            code,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => AppError::Unavailable(e.to_string()),
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<crate::render::TemplateError> for AppError {
    fn from(e: crate::render::TemplateError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<crate::oidc::OAuthError> for AppError {
    fn from(e: crate::oidc::OAuthError) -> Self {
        use crate::oidc::ErrorCode;
        match e.code {
            ErrorCode::TemporarilyUnavailable => AppError::Unavailable(e.to_string()),
            ErrorCode::ServerError => {
                AppError::Internal(anyhow::anyhow!("{}", e.cause.clone().unwrap_or_default()))
            }
            code => AppError::BadRequest {
                title: "The request could not be processed".into(),
                message: sentence(&e.description),
                code: Some(code.as_str().into()),
            },
        }
    }
}

/// A protocol error description as the first sentence of a page: capitalised.
pub fn sentence(description: &str) -> String {
    let mut chars = description.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The cause of a server-side error, carried to the logging middleware.
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let page = self.page();
        let status = StatusCode::from_u16(page.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        if matches!(self, AppError::Internal(_) | AppError::Unavailable(_)) {
            let cause = match &self {
                AppError::Internal(e) => format!("{e:#}"),
                other => other.to_string(),
            };
            response.extensions_mut().insert(ErrorCause(cause));
        }
        response.extensions_mut().insert(page);
        response
    }
}
