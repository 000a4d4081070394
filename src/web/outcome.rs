//! Turning an authorization use case's outcome into HTTP: an error page for a request whose
//! client cannot be trusted, the response to the client, or a redirect to the login or
//! consent page. Shared by the authorization endpoint and the consent page.

use axum::response::{IntoResponse, Redirect, Response};

use crate::error::AppError;
use crate::oidc::{ErrorCode, OAuthError};
use crate::services::authorization::{AuthorizeOutcome, InteractionPage};
use crate::state::AppState;
use crate::web::oidc::respond;
use crate::web::urlencode;

/// An authorization request whose client cannot be trusted: a page, never a redirect.
pub fn untrusted(error: OAuthError) -> AppError {
    match error.code {
        ErrorCode::TemporarilyUnavailable | ErrorCode::ServerError => error.into(),
        _ => AppError::BadRequest {
            title: "This sign-in request is not valid".into(),
            message: format!(
                "{}. The application that sent you here may be misconfigured; Tessera did not send you back to it.",
                crate::error::sentence(&error.description)
            ),
            code: Some(error.code.as_str().into()),
        },
    }
}

/// The page for a parked request that is gone.
pub fn expired() -> AppError {
    AppError::bad_request(
        "This sign-in request has expired",
        "Go back to the application you came from and start signing in again.",
    )
}

/// Renders what the use case decided: an error page, the response to the client, or the
/// page the user must see.
pub fn answer(state: &AppState, outcome: AuthorizeOutcome) -> Result<Response, AppError> {
    match outcome {
        AuthorizeOutcome::Untrusted(error) => Err(untrusted(error)),
        AuthorizeOutcome::Respond { target, result } => {
            respond::authorization_response(state, &target, result.as_deref())
        }
        AuthorizeOutcome::Interact { page, interaction } => {
            let path = match page {
                InteractionPage::Login => "/login",
                InteractionPage::Register => "/register",
                InteractionPage::Consent => "/consent",
                InteractionPage::SecondFactor => "/login/second-factor",
            };
            Ok(
                Redirect::to(&format!("{path}?interaction={}", urlencode(&interaction)))
                    .into_response(),
            )
        }
    }
}
