//! `GET/POST /register` (sign-up), `GET /invitation` (the invitation link opens sign-up),
//! `GET/POST /verify-email` (a GET only shows a button: mail scanners prefetch links) and
//! `POST /verify-email/resend`.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use super::{form_error, link_problem, page};
use crate::config::RegistrationMode;
use crate::error::AppError;
use crate::oidc::params::Params;
use crate::services::registration::{SignUpForm, SignedUp};
use crate::services::{Caller, ServiceError};
use crate::state::AppState;
use crate::web::csrf::{self, CheckedForm};
use crate::web::html::notice;
use crate::web::{form, urlencode};

fn closed() -> AppError {
    AppError::Forbidden(
        "Accounts are created by an administrator here. Ask them for an account or an invitation."
            .into(),
    )
}

struct Shown<'a> {
    status: StatusCode,
    params: &'a Params,
    invited_email: Option<String>,
    error: Option<(String, Option<&'static str>)>,
}

async fn render(state: &AppState, jar: CookieJar, shown: Shown<'_>) -> Result<Response, AppError> {
    let params = shown.params;
    let interaction = params.get("interaction");
    let client_name = match interaction {
        Some(id) => state.services.interaction(id).await?.map(|(_, c)| c.name),
        None => None,
    };
    let (error, field) = match shown.error {
        Some((message, field)) => (Some(message), field),
        None => (None, None),
    };
    let (jar, csrf_token) = csrf::token(jar, &state.csrf);
    let body = page(
        state,
        "register.html",
        json!({
            "csrf_token": csrf_token,
            "interaction": interaction,
            "invitation": params.get("invitation"),
            "invited_email": shown.invited_email,
            "client_name": client_name,
            "error": error,
            "field": field,
            "min_length": state.config.settings.password.min_length,
            "form": {
                "username": params.get("username").unwrap_or_default(),
                "email": shown.invited_email.as_deref().or(params.get("email")).unwrap_or_default(),
                "name": params.get("name").unwrap_or_default(),
            },
        }),
    )?;
    Ok((shown.status, jar, body).into_response())
}

/// Shows the sign-up form.
pub async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).unwrap_or_default();
    let invited_email = match (state.services.registration_mode(), params.get("invitation")) {
        (RegistrationMode::Closed, _) => return Err(closed()),
        (_, Some(token)) => match state.services.invitation(token).await? {
            Ok(invitation) => Some(invitation.email),
            Err(problem) => {
                return notice(
                    &state,
                    jar,
                    StatusCode::BAD_REQUEST,
                    link_problem(problem, ("/login", "Go to sign in")),
                );
            }
        },
        (RegistrationMode::Invite, None) => {
            return Err(AppError::Forbidden(
                "Accounts here are created by invitation. Ask an administrator to invite you."
                    .into(),
            ));
        }
        (RegistrationMode::Open, None) => None,
    };
    render(
        &state,
        jar,
        Shown {
            status: StatusCode::OK,
            params: &params,
            invited_email,
            error: None,
        },
    )
    .await
}

/// Creates the account (or mails the owner of the address) and says to check the mail.
pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let text = |name: &str| params.get(name).unwrap_or_default().to_string();
    let form = SignUpForm {
        username: text("username"),
        email: text("email"),
        name: params.get("name").map(str::to_string),
        password: text("password"),
        confirmation: text("confirmation"),
        interaction: params.get("interaction").map(str::to_string),
        invitation: params.get("invitation").map(str::to_string),
    };
    match state.services.sign_up(&caller, form).await {
        Ok(SignedUp::CheckYourMail) => notice(
            &state,
            jar,
            StatusCode::OK,
            json!({
                "title": "Check your mail",
                "message": "We sent a link to the address you gave. Open it to confirm your address, then sign in. The link works for 24 hours.",
                "success": true,
            }),
        ),
        Ok(SignedUp::Ready) => {
            let next = match params.get("interaction") {
                Some(id) => format!("/login?interaction={}", urlencode(id)),
                None => "/login".to_string(),
            };
            Ok((jar, Redirect::to(&next)).into_response())
        }
        Err(ServiceError::Forbidden(_)) => Err(closed()),
        Err(e) => {
            let error = form_error(e)?;
            render(
                &state,
                jar,
                Shown {
                    status: StatusCode::BAD_REQUEST,
                    params: &params,
                    invited_email: None,
                    error: Some(error),
                },
            )
            .await
        }
    }
}

/// `GET /invitation?token=…`: opens sign-up for the invited address.
pub async fn invitation(uri: Uri) -> Redirect {
    let params = form::query(&uri).unwrap_or_default();
    let token = params.get("token").unwrap_or_default();
    Redirect::to(&format!("/register?invitation={}", urlencode(token)))
}

/// `GET /verify-email?token=…`: a button that confirms (changes nothing itself).
pub async fn verify_get(
    State(state): State<AppState>,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).unwrap_or_default();
    let token = params.get("token").unwrap_or_default();
    notice(
        &state,
        jar,
        StatusCode::OK,
        json!({
            "title": "Confirm your email address",
            "message": "Press the button to confirm this address for your account.",
            "form": { "action": "/verify-email", "button": "Confirm my address", "hidden": [ { "name": "token", "value": token } ] },
        }),
    )
}

/// `POST /verify-email`: confirms the address, then leads to sign-in (back into the
/// authorization request the sign-up came from, if any).
pub async fn verify_post(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let token = params.get("token").unwrap_or_default();
    match state.services.verify_email(&caller, token).await {
        Ok(Ok(interaction)) => {
            let href = match interaction {
                Some(id) => format!("/login?interaction={}", urlencode(&id)),
                None => "/login".to_string(),
            };
            notice(
                &state,
                jar,
                StatusCode::OK,
                json!({
                    "title": "Your address is confirmed",
                    "message": "Thank you. You can sign in now.",
                    "success": true,
                    "link": { "href": href, "text": "Sign in" },
                }),
            )
        }
        Ok(Err(problem)) => notice(
            &state,
            jar,
            StatusCode::BAD_REQUEST,
            json!({
                "title": link_problem(problem, ("", ""))["title"],
                "message": link_problem(problem, ("", ""))["message"],
                "form": { "action": "/verify-email/resend", "email": true, "button": "Send a new link", "hidden": [] },
            }),
        ),
        Err(e) => {
            let (message, _) = form_error(e)?;
            notice(
                &state,
                jar,
                StatusCode::BAD_REQUEST,
                json!({ "title": "The address could not be confirmed", "message": message }),
            )
        }
    }
}

/// `POST /verify-email/resend`: the same answer whether or not anything was sent.
pub async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    state
        .services
        .resend_verification(&caller, params.get("email").unwrap_or_default())
        .await?;
    notice(
        &state,
        jar,
        StatusCode::OK,
        json!({
            "title": "Check your mail",
            "message": "If that address belongs to an account that still has to be confirmed, a new link is on its way.",
            "success": true,
            "link": { "href": "/login", "text": "Back to sign in" },
        }),
    )
}
