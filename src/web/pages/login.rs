//! `GET /login` shows the form; `POST /login` hands the credentials to the sign-in use case
//! and sets the new session's cookie. One generic message for every failure.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use crate::config::RegistrationMode;
use crate::error::AppError;
use crate::services::Caller;
use crate::services::sign_in::{PasswordAttempt, Resume, SignInError};
use crate::state::AppState;
use crate::web::csrf::{self, CheckedForm};
use crate::web::{form, session, urlencode};

/// What every failed sign-in says.
const FAILED: &str = "Incorrect username or password.";

/// The client name and login hint of a parked authorization request, when valid.
async fn interaction_context(
    state: &AppState,
    id: Option<&str>,
) -> Result<(Option<String>, Option<String>), AppError> {
    let Some(id) = id else {
        return Ok((None, None));
    };
    Ok(match state.services.interaction(id).await? {
        Some((parked, client)) => (Some(client.name), parked.request.login_hint),
        None => (None, None),
    })
}

fn render(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    interaction: Option<&str>,
    client_name: Option<String>,
    username: Option<String>,
    error: Option<&str>,
) -> Result<Response, AppError> {
    let (jar, csrf_token) = csrf::token(jar, &state.csrf);
    let page = super::page(
        state,
        "login.html",
        json!({
            "csrf_token": csrf_token,
            "interaction": interaction,
            "client_name": client_name,
            "username": username,
            "error": error,
            "remember_me_days": state.config.settings.session.remember_me_days,
            "registration_open": state.services.registration_mode() != RegistrationMode::Closed,
        }),
    )?;
    Ok((status, jar, page).into_response())
}

/// Shows the login form.
pub async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).unwrap_or_default();
    let interaction = params.get("interaction");
    // Say at once that a stale request is gone, rather than after the password is typed.
    if let Some(id) = interaction
        && state.services.interaction(id).await?.is_none()
    {
        return Err(crate::web::outcome::expired());
    }
    let (client_name, hint) = interaction_context(&state, interaction).await?;
    render(
        &state,
        jar,
        StatusCode::OK,
        interaction,
        client_name,
        hint,
        None,
    )
}

/// Checks the credentials and starts a session.
pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let interaction = params.get("interaction");
    let attempt = PasswordAttempt {
        login: params.get("username").unwrap_or_default().to_string(),
        password: params.get("password").unwrap_or_default().to_string(),
        remember: params.get("remember_me").is_some(),
        interaction: interaction.map(str::to_string),
        previous_cookie: session::cookie(&state, &jar),
    };
    match state.services.sign_in_with_password(&caller, attempt).await {
        Ok(signed_in) => {
            let jar = session::set(&state, jar, &signed_in.session);
            // No form token from before the sign-in survives it.
            let jar = csrf::rotate(jar, &state.csrf);
            let next = match signed_in.resume {
                Resume::Authorization(id) => {
                    format!("/authorize/resume?interaction={}", urlencode(&id))
                }
                Resume::Account => "/account".to_string(),
            };
            Ok((jar, Redirect::to(&next)).into_response())
        }
        Err(SignInError::Rejected) => {
            let typed = params
                .get("username")
                .unwrap_or_default()
                .trim()
                .to_string();
            let (client_name, _) = interaction_context(&state, interaction).await?;
            render(
                &state,
                jar,
                StatusCode::UNAUTHORIZED,
                interaction,
                client_name,
                Some(typed),
                Some(FAILED),
            )
        }
        Err(SignInError::Unverified) => {
            let (jar, csrf_token) = csrf::token(jar, &state.csrf);
            let page = super::page(
                &state,
                "notice.html",
                json!({
                    "csrf_token": csrf_token,
                    "title": "Confirm your email first",
                    "message": "Your password is right, but the email address of this account is not confirmed yet. Open the link we mailed you, or have it sent again.",
                    "form": { "action": "/verify-email/resend", "email": true, "button": "Send the link again", "hidden": [] },
                }),
            )?;
            Ok((StatusCode::FORBIDDEN, jar, page).into_response())
        }
        Err(SignInError::Service(e)) => Err(e.into()),
    }
}
