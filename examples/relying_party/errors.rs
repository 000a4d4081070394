//! Errors shown to the user as a page, with a status, a short code in
//! `#error-code` and a friendly explanation.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use openidconnect::{ClaimsVerificationError, RequestTokenError};

use crate::html::{escape, layout};
use crate::oidc::TokenError;

/// An error shown to the user as a page.
#[derive(Debug)]
pub struct ErrorPage {
    /// HTTP status of the page.
    status: StatusCode,
    /// Short machine-readable code, shown in `#error-code`.
    code: String,
    /// Heading.
    title: String,
    /// Friendly explanation.
    message: String,
    /// Extra detail (from Tessera or the failing call).
    detail: Option<String>,
}

impl ErrorPage {
    /// An error page without extra detail.
    pub fn new(status: StatusCode, code: &str, title: &str, message: &str) -> Self {
        Self {
            status,
            code: code.to_owned(),
            title: title.to_owned(),
            message: message.to_owned(),
            detail: None,
        }
    }

    /// Adds detail text.
    fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Tessera redirected back with `error` (the user declined, ...).
    pub fn authorization(code: &str, description: Option<&str>) -> Self {
        let page = Self::new(
            StatusCode::BAD_REQUEST,
            code,
            "Sign-in did not complete",
            authorization_error_message(code),
        );
        match description {
            Some(description) => page.with_detail(description),
            None => page,
        }
    }

    /// The callback came without a sign-in started here (or a replay).
    pub fn no_login_in_progress() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_state",
            "Sign-in failed",
            "This sign-in was not started here, or it has already been used. \
             Please sign in again.",
        )
    }

    /// The `state` did not match the one sent.
    pub fn state_mismatch() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_state",
            "Sign-in failed",
            "The answer from Tessera does not belong to the sign-in started in this \
             browser, so nobody was signed in. Please sign in again.",
        )
    }

    /// The callback's `iss` names another provider.
    pub fn wrong_issuer(iss: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_issuer",
            "Sign-in failed",
            "The answer came from a different provider than the one this app uses.",
        )
        .with_detail(format!("iss = {iss}"))
    }

    /// Neither `code` nor `error` in the callback.
    pub fn missing_code() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Sign-in failed",
            "Tessera's answer carried no authorization code.",
        )
    }

    /// The token endpoint refused or could not be reached.
    pub fn token_endpoint(err: &TokenError, action: &str) -> Self {
        match err {
            RequestTokenError::ServerResponse(response) => {
                let page = Self::new(
                    StatusCode::BAD_REQUEST,
                    response.error().as_ref(),
                    "Tessera refused the request",
                    &format!("Tessera refused to {action}. Please sign in again."),
                );
                match response.error_description() {
                    Some(description) => page.with_detail(description.clone()),
                    None => page,
                }
            }
            other => Self::new(
                StatusCode::BAD_GATEWAY,
                "provider_unavailable",
                "Tessera is not reachable",
                &format!("Could not reach Tessera to {action}. Please try again in a moment."),
            )
            .with_detail(error_chain(other)),
        }
    }

    /// The token response had no ID token.
    pub fn no_id_token() -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "missing_id_token",
            "Sign-in failed",
            "Tessera did not return an ID token.",
        )
    }

    /// The ID token failed verification.
    pub fn invalid_id_token(err: &ClaimsVerificationError) -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "invalid_id_token",
            "Sign-in failed",
            "The ID token from Tessera could not be verified, so nobody was signed in.",
        )
        .with_detail(error_chain(err))
    }

    /// A refreshed ID token names another user.
    pub fn subject_changed() -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "invalid_id_token",
            "Refresh failed",
            "The refreshed ID token is for a different user.",
        )
    }

    /// No refresh token to use.
    pub fn no_refresh_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "no_refresh_token",
            "Cannot refresh",
            "Tessera issued no refresh token for this sign-in (the offline_access scope \
             was not granted). Sign out and in again to get fresh tokens.",
        )
    }

    /// The POST did not carry the session's CSRF token.
    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "Request refused",
            "This form was not sent from this app (or it is stale). Go back, reload \
             the page and try again.",
        )
    }
}

/// A friendly sentence for an authorization error code.
fn authorization_error_message(code: &str) -> &'static str {
    match code {
        "access_denied" => {
            "You declined to share your account with this app, or Tessera denied the request."
        }
        "login_required" => "You need to sign in at Tessera first.",
        "consent_required" => "Tessera needs your consent before this app can use your account.",
        "interaction_required" => "Tessera needs you to complete a step of the sign-in.",
        "account_selection_required" => "Choose an account at Tessera to continue.",
        "invalid_scope" => "The app asked for permissions Tessera does not grant it.",
        "unauthorized_client" => "This app may not sign users in this way.",
        "invalid_request" => "Tessera could not understand the sign-in request.",
        "server_error" | "temporarily_unavailable" => {
            "Tessera had a problem. Please try again in a moment."
        }
        _ => "Tessera could not complete the sign-in.",
    }
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        let detail = self
            .detail
            .as_deref()
            .map(|detail| {
                format!(
                    r#"<p>Details: <span id="error-description">{}</span></p>"#,
                    escape(detail)
                )
            })
            .unwrap_or_default();
        let body = format!(
            r#"<section class="card error">
<h1 id="error">{title}</h1>
<p>{message}</p>
<p>Error code: <code id="error-code">{code}</code></p>
{detail}
<p><a class="button" href="/">Back to the home page</a></p>
</section>"#,
            title = escape(&self.title),
            message = escape(&self.message),
            code = escape(&self.code),
        );
        (self.status, Html(layout(&self.title, &body))).into_response()
    }
}

/// Joins an error and its sources with ": ", skipping repeated messages.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut last = text.clone();
    let mut source = err.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if message != last {
            text.push_str(": ");
            text.push_str(&message);
            last = message;
        }
        source = cause.source();
    }
    text
}
