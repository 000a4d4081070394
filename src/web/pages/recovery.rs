//! `GET/POST /forgot-password` and `GET/POST /reset-password`. The first answers the same
//! whatever was typed; a GET on a reset link only shows the form.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use super::{form_error, link_problem, page};
use crate::error::AppError;
use crate::services::Caller;
use crate::services::links::LinkKind;
use crate::state::AppState;
use crate::web::csrf::{self, CheckedForm};
use crate::web::form;
use crate::web::html::notice;

/// Shows the "forgot password" form.
pub async fn forgot_get(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let (jar, csrf_token) = csrf::token(jar, &state.csrf);
    let body = page(
        &state,
        "forgot_password.html",
        json!({ "csrf_token": csrf_token }),
    )?;
    Ok((jar, body).into_response())
}

/// Mails a reset link when the account exists; always the same answer.
pub async fn forgot_post(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    state
        .services
        .forgot_password(&caller, params.get("login").unwrap_or_default())
        .await?;
    notice(
        &state,
        jar,
        StatusCode::OK,
        json!({
            "title": "Check your mail",
            "message": "If an account matches what you typed, we sent a link to its address to set a new password. The link works for 30 minutes.",
            "success": true,
            "link": { "href": "/login", "text": "Back to sign in" },
        }),
    )
}

fn reset_form(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    token: &str,
    error: Option<String>,
) -> Result<Response, AppError> {
    let (jar, csrf_token) = csrf::token(jar, &state.csrf);
    let body = page(
        state,
        "password_form.html",
        json!({
            "csrf_token": csrf_token,
            "title": "Choose a new password",
            "lead": "Every session of your account will be signed out.",
            "action": "/reset-password",
            "token": token,
            "button": "Set new password",
            "min_length": state.config.settings.password.min_length,
            "error": error,
        }),
    )?;
    Ok((status, jar, body).into_response())
}

/// Shows the new-password form of a reset link (changes nothing).
pub async fn reset_get(
    State(state): State<AppState>,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).unwrap_or_default();
    let token = params.get("token").unwrap_or_default();
    match state
        .services
        .check_link(LinkKind::ResetPassword, token)
        .await?
    {
        Ok(_) => reset_form(&state, jar, StatusCode::OK, token, None),
        Err(problem) => notice(
            &state,
            jar,
            StatusCode::BAD_REQUEST,
            link_problem(problem, ("/forgot-password", "Send a new link")),
        ),
    }
}

/// Sets the new password.
pub async fn reset_post(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let token = params.get("token").unwrap_or_default();
    let outcome = state
        .services
        .reset_password(
            &caller,
            token,
            params.get("password").unwrap_or_default().to_string(),
            params.get("confirmation").unwrap_or_default(),
        )
        .await;
    match outcome {
        Ok(Ok(())) => notice(
            &state,
            jar,
            StatusCode::OK,
            json!({
                "title": "Your password is set",
                "message": "Every session was signed out. Sign in with your new password.",
                "success": true,
                "link": { "href": "/login", "text": "Sign in" },
            }),
        ),
        Ok(Err(problem)) => notice(
            &state,
            jar,
            StatusCode::BAD_REQUEST,
            link_problem(problem, ("/forgot-password", "Send a new link")),
        ),
        Err(e) => {
            let (message, _) = form_error(e)?;
            reset_form(&state, jar, StatusCode::BAD_REQUEST, token, Some(message))
        }
    }
}

/// `GET /not-me`: explains what disowning the sign-in does (changes nothing).
pub async fn not_me_get(
    State(state): State<AppState>,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).unwrap_or_default();
    let token = params.get("token").unwrap_or_default();
    match state.services.check_link(LinkKind::NotMe, token).await? {
        Ok(_) => notice(
            &state,
            jar,
            StatusCode::OK,
            json!({
                "title": "This wasn't me",
                "message": "Secure your account: every session is signed out, every application loses access, your current password stops working, and we mail you a link to choose a new one.",
                "form": { "action": "/not-me", "button": "Secure my account", "hidden": [{ "name": "token", "value": token }] },
            }),
        ),
        Err(problem) => notice(
            &state,
            jar,
            StatusCode::BAD_REQUEST,
            link_problem(problem, ("/forgot-password", "Reset your password")),
        ),
    }
}

/// `POST /not-me`: disowns the sign-in.
pub async fn not_me_post(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let token = params.get("token").unwrap_or_default();
    match state.services.disown_sign_in(&caller, token).await? {
        Ok(()) => notice(
            &state,
            jar,
            StatusCode::OK,
            json!({
                "title": "Your account is secured",
                "message": "Every session was signed out and every application lost access. Your old password no longer works: open the link we just mailed you to choose a new one.",
                "success": true,
            }),
        ),
        Err(problem) => notice(
            &state,
            jar,
            StatusCode::BAD_REQUEST,
            link_problem(problem, ("/forgot-password", "Reset your password")),
        ),
    }
}
