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
use crate::services::defence::Refusal;
use crate::services::sign_in::{PasswordAttempt, SignInError};
use crate::state::AppState;
use crate::web::csrf::{self, CheckedForm};
use crate::web::{form, session};

/// What every failed sign-in says.
const FAILED: &str = "Incorrect username or password.";

/// What a person is told when a sign-in is refused before any check: the same words for
/// every username, existing or not.
pub fn refusal_message(refusal: Refusal) -> String {
    match refusal {
        Refusal::Throttled(secs) => format!(
            "Too many failed sign-ins came from your network. Please wait {} before trying again.",
            minutes(secs)
        ),
        Refusal::Locked(secs) => format!(
            "Too many failed sign-ins to this account. For your safety, sign-in from this device is paused for {}. Wait, or reset your password with \"Forgot password?\" below.",
            minutes(secs)
        ),
    }
}

/// The seconds a refusal asks the client to wait.
pub fn refusal_secs(refusal: Refusal) -> i64 {
    match refusal {
        Refusal::Throttled(secs) | Refusal::Locked(secs) => secs,
    }
}

fn minutes(secs: i64) -> String {
    match (secs + 59) / 60 {
        1 => "1 minute".to_string(),
        n => format!("{n} minutes"),
    }
}

/// Adds `Retry-After` (RFC 9110 §10.2.3) to a 429.
pub fn with_retry_after(mut response: Response, secs: i64) -> Response {
    if let Ok(value) = axum::http::HeaderValue::from_str(&secs.max(1).to_string()) {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}

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

/// The prefix of a `login_hint` that names an upstream provider to go straight to.
const UPSTREAM_HINT: &str = "upstream:";

/// A button for each upstream provider, carrying the parked request along.
async fn upstream_buttons(
    state: &AppState,
    interaction: Option<&str>,
) -> Result<Vec<serde_json::Value>, AppError> {
    let query = interaction
        .map(|i| format!("?interaction={}", crate::web::urlencode(i)))
        .unwrap_or_default();
    Ok(state
        .services
        .list_upstreams()
        .await?
        .into_iter()
        .map(|u| json!({ "id": u.id, "name": u.name, "href": format!("/upstream/{}/start{query}", u.id) }))
        .collect())
}

async fn render(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    interaction: Option<&str>,
    client_name: Option<String>,
    username: Option<String>,
    error: Option<&str>,
) -> Result<Response, AppError> {
    let upstreams = upstream_buttons(state, interaction).await?;
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
            "upstreams": upstreams,
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
    // `login_hint=upstream:ID` goes straight to that provider, when there is one of that id.
    if let (Some(i), Some(id)) = (
        interaction,
        hint.as_deref().and_then(|h| h.strip_prefix(UPSTREAM_HINT)),
    ) && state.services.find_upstream(id).await?.is_some()
    {
        let to = format!(
            "/upstream/{id}/start?interaction={}",
            crate::web::urlencode(i)
        );
        return Ok(Redirect::to(&to).into_response());
    }
    render(
        &state,
        jar,
        StatusCode::OK,
        interaction,
        client_name,
        hint,
        None,
    )
    .await
}

/// The form again after a refused sign-in, with the username typed and `error`.
async fn form_again(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    params: &crate::oidc::params::Params,
    error: &str,
) -> Result<Response, AppError> {
    let interaction = params.get("interaction");
    let typed = params
        .get("username")
        .unwrap_or_default()
        .trim()
        .to_string();
    let (client_name, _) = interaction_context(state, interaction).await?;
    render(
        state,
        jar,
        status,
        interaction,
        client_name,
        Some(typed),
        Some(error),
    )
    .await
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
        device_cookie: session::device(&state, &jar),
    };
    match state.services.sign_in_with_password(&caller, attempt).await {
        Ok(signed_in) => {
            let (jar, next) = session::signed_in(&state, jar, signed_in);
            Ok((jar, Redirect::to(&next)).into_response())
        }
        Err(SignInError::Refused(refusal)) => {
            let response = form_again(
                &state,
                jar,
                StatusCode::TOO_MANY_REQUESTS,
                &params,
                &refusal_message(refusal),
            )
            .await?;
            Ok(with_retry_after(response, refusal_secs(refusal)))
        }
        Err(SignInError::Busy) => {
            let busy =
                "Too many sign-ins are being checked right now. Please try again in a moment.";
            let response =
                form_again(&state, jar, StatusCode::TOO_MANY_REQUESTS, &params, busy).await?;
            Ok(with_retry_after(response, 1))
        }
        Err(SignInError::Rejected) => {
            form_again(&state, jar, StatusCode::UNAUTHORIZED, &params, FAILED).await
        }
        Err(SignInError::Disabled) => crate::web::html::notice(
            &state,
            jar,
            StatusCode::FORBIDDEN,
            json!({
                "title": "This account is disabled",
                "message": "Your password is right, but an administrator disabled this account, so it cannot sign in. Ask your administrator to enable it again.",
            }),
        ),
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
