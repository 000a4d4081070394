//! How errors reach people and programs. A page handler returns [`AppError`]; its response
//! carries an [`ErrorPage`] that the page-rendering middleware turns into HTML with the error
//! template, and logs. JSON APIs answer with a [`Problem`] (RFC 9457); protocol endpoints with
//! an `OAuthError` (RFC 6749 §5.2). A use case's [`ServiceError`] converts into each. Server
//! faults show an opaque message; their cause goes to the log only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::services::ServiceError;

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
    /// A hosted form was posted from another site (its `Origin` or `Referer` says so).
    #[error("form posted from another site")]
    CrossSiteForm,
    /// No such page or object.
    #[error("not found")]
    NotFound,
    /// The signed-in user may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
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
            AppError::CrossSiteForm => (
                403,
                "This form was sent from another site".into(),
                "Tessera only accepts this form from its own pages, so nothing was changed. If you meant to do this, open Tessera directly and try again.".into(),
                Some("cross_site_form".into()),
            ),
            AppError::NotFound => (404, "Page not found".into(), "There is nothing at this address.".into(), None),
            AppError::Forbidden(message) => (403, "Not allowed".into(), message.clone(), None),
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

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(_) => AppError::NotFound,
            ServiceError::Conflict { message, .. } | ServiceError::Invalid { message, .. } => {
                AppError::bad_request("This could not be done", sentence(&message))
            }
            ServiceError::Forbidden(message) => AppError::Forbidden(sentence(&message)),
            ServiceError::Unavailable(cause) => AppError::Unavailable(cause),
            ServiceError::Internal(cause) => AppError::Internal(cause),
        }
    }
}

/// An RFC 9457 problem document, the error body of JSON APIs: `type`, `title`, `status`,
/// `detail`, and the input field at fault when there is one.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What happened this time, for a person.
    pub detail: String,
    /// The request field at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        let (slug, title, status, field) = match &e {
            ServiceError::NotFound(_) => ("not-found", "Not found", 404, None),
            ServiceError::Conflict { field, .. } => ("conflict", "Conflict", 409, Some(*field)),
            ServiceError::Invalid { field, .. } => ("invalid", "Validation failed", 422, *field),
            ServiceError::Forbidden(_) => ("forbidden", "Forbidden", 403, None),
            ServiceError::Unavailable(_) => ("unavailable", "Temporarily unavailable", 503, None),
            ServiceError::Internal(_) => ("internal", "Internal error", 500, None),
        };
        let detail = match e {
            // Server faults stay opaque; their cause is logged where they happen.
            ServiceError::Unavailable(_) | ServiceError::Internal(_) => {
                "The request could not be completed; try again later.".to_string()
            }
            other => other.to_string(),
        };
        Problem {
            kind: format!("urn:tessera:problem:{slug}"),
            title,
            status,
            detail,
            field,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_service_error_three_renderings() {
        let invalid = || ServiceError::invalid("email", "not an e-mail address");
        let problem = Problem::from(invalid());
        assert_eq!(problem.status, 422);
        assert_eq!(problem.field, Some("email"));
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["type"], "urn:tessera:problem:invalid");
        assert_eq!(json["detail"], "not an e-mail address");
        assert!(matches!(
            AppError::from(invalid()),
            AppError::BadRequest { .. }
        ));
        let oauth = crate::oidc::OAuthError::from(invalid());
        assert_eq!(oauth.code, crate::oidc::ErrorCode::InvalidRequest);
        let internal = Problem::from(ServiceError::Internal(anyhow::anyhow!("secret cause")));
        assert_eq!(internal.status, 500);
        assert!(!internal.detail.contains("secret"));
    }
}
