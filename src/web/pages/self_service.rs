//! The account area (`/account/…`): profile and e-mail, password, sessions, granted apps,
//! activity and deleting the account. Every page needs a signed-in session; every form is
//! CSRF-checked and calls one use case.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::{Value, json};

use super::form_error;
use crate::clock::format_time;
use crate::domain::{Session, device};
use crate::error::AppError;
use crate::services::self_service::ProfileForm;
use crate::services::{Caller, ServiceError};
use crate::state::AppState;
use crate::web::csrf::CheckedForm;
use crate::web::form;
use crate::web::html::form_page;
use crate::web::session::{self, SignedIn};

/// Renders an account page with the shared layout's fields.
pub(crate) fn show(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    (template, path, title): (&str, &str, &str),
    mut context: Value,
) -> Result<Response, AppError> {
    if let Some(map) = context.as_object_mut() {
        map.insert("current".into(), path.into());
        map.insert("title".into(), title.into());
    }
    form_page(state, jar, status, template, context)
}

/// The message a page shows after `?done=…`.
fn notice_of(uri: &Uri) -> Option<&'static str> {
    let params = form::query(uri).unwrap_or_default();
    Some(match params.get("done")? {
        "profile" => "Your profile is saved.",
        "email" => {
            "We sent a confirmation link to the new address. Your address changes when you open it."
        }
        "password" => "Your password is changed. Your other sessions were signed out.",
        "sessions" => "The session was ended.",
        "apps" => "The application's access was removed.",
        _ => return None,
    })
}

const PROFILE: (&str, &str, &str) = ("account_profile.html", "/account/profile", "Profile");
const PASSWORD: (&str, &str, &str) = ("account_password.html", "/account/password", "Password");
const SESSIONS: (&str, &str, &str) = ("account_sessions.html", "/account/sessions", "Sessions");
const APPS: (&str, &str, &str) = ("account_apps.html", "/account/apps", "Apps");
const ACTIVITY: (&str, &str, &str) = ("account_activity.html", "/account/activity", "Activity");
const DELETE: (&str, &str, &str) = ("account_delete.html", "/account/delete", "Delete account");

async fn profile_page(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    status: StatusCode,
    messages: (Option<&str>, Option<String>),
) -> Result<Response, AppError> {
    let user = state.services.user(&session.user_id).await?;
    show(
        state,
        jar,
        status,
        PROFILE,
        json!({
            "lead": "How you appear to the applications you use.",
            "notice": messages.0,
            "error": messages.1,
            "user": {
                "name": user.name, "email": user.email, "email_verified": user.email_verified,
                "locale": user.locale, "time_zone": user.time_zone,
            },
        }),
    )
}

/// `GET /account/profile`.
pub async fn profile_get(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    profile_page(
        &state,
        jar,
        &session,
        StatusCode::OK,
        (notice_of(&uri), None),
    )
    .await
}

/// `POST /account/profile`.
pub async fn profile_post(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let form = ProfileForm {
        name: params.get("name").map(str::to_string),
        locale: params.get("locale").map(str::to_string),
        time_zone: params.get("time_zone").map(str::to_string),
    };
    match state.services.update_profile(&caller, &session, form).await {
        Ok(()) => Ok(Redirect::to("/account/profile?done=profile").into_response()),
        Err(e) => {
            let (message, _) = form_error(e)?;
            profile_page(
                &state,
                jar,
                &session,
                StatusCode::BAD_REQUEST,
                (None, Some(message)),
            )
            .await
        }
    }
}

/// `POST /account/email`: starts an e-mail change.
pub async fn email_post(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let email = params.get("email").unwrap_or_default();
    match state
        .services
        .request_email_change(&caller, &session, email)
        .await
    {
        Ok(()) => Ok(Redirect::to("/account/profile?done=email").into_response()),
        Err(e) => {
            let (message, _) = form_error(e)?;
            profile_page(
                &state,
                jar,
                &session,
                StatusCode::BAD_REQUEST,
                (None, Some(message)),
            )
            .await
        }
    }
}

fn password_page(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    messages: (Option<&str>, Option<String>),
) -> Result<Response, AppError> {
    show(
        state,
        jar,
        status,
        PASSWORD,
        json!({
            "lead": "Change the password you sign in with.",
            "notice": messages.0,
            "error": messages.1,
            "min_length": state.config.settings.password.min_length,
        }),
    )
}

/// `GET /account/password`.
pub async fn password_get(
    State(state): State<AppState>,
    _signed_in: SignedIn,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    password_page(&state, jar, StatusCode::OK, (notice_of(&uri), None))
}

/// `POST /account/password`: other sessions end, this one stays.
pub async fn password_post(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let text = |name: &str| params.get(name).unwrap_or_default().to_string();
    let outcome = state
        .services
        .change_password(
            &caller,
            &session,
            text("current_password"),
            text("password"),
            &text("confirmation"),
        )
        .await;
    match outcome {
        Ok(()) => Ok(Redirect::to("/account/password?done=password").into_response()),
        Err(e) => {
            let (message, _) = form_error(e)?;
            password_page(&state, jar, StatusCode::BAD_REQUEST, (None, Some(message)))
        }
    }
}

/// `GET /account/sessions`.
pub async fn sessions_get(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let sessions: Vec<Value> = state
        .services
        .my_sessions(&session)
        .await?
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id, "device": s.device, "ip": s.ip, "current": s.current,
                "signed_in_at": format_time(s.signed_in_at), "last_used_at": format_time(s.last_used_at),
            })
        })
        .collect();
    show(
        &state,
        jar,
        StatusCode::OK,
        SESSIONS,
        json!({ "lead": "Where your account is signed in.", "notice": notice_of(&uri), "sessions": sessions }),
    )
}

/// `POST /account/sessions/end`: one session (`session` field) or every other one.
pub async fn sessions_end(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    caller: Caller,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    match state
        .services
        .end_my_sessions(&caller, &session, params.get("session"))
        .await
    {
        Ok(_) | Err(ServiceError::NotFound(_)) => {
            Ok(Redirect::to("/account/sessions?done=sessions").into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /account/apps`.
pub async fn apps_get(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let apps: Vec<Value> = state
        .services
        .my_apps(&session)
        .await?
        .into_iter()
        .map(|a| json!({ "client_id": a.client_id, "name": a.name, "scopes": a.scopes, "granted_at": format_time(a.granted_at) }))
        .collect();
    show(
        &state,
        jar,
        StatusCode::OK,
        APPS,
        json!({ "lead": "Applications you allowed to use your account.", "notice": notice_of(&uri), "apps": apps }),
    )
}

/// `POST /account/apps/revoke`: forgets the consent and revokes the app's tokens.
pub async fn apps_revoke(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    caller: Caller,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let client_id = params.get("client_id").unwrap_or_default();
    match state
        .services
        .revoke_my_app(&caller, &session, client_id)
        .await
    {
        Ok(()) | Err(ServiceError::NotFound(_)) => {
            Ok(Redirect::to("/account/apps?done=apps").into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Words for an event type on the activity page.
fn describe_event(kind: &str) -> String {
    let words = match kind {
        "sign_in" => "Sign-in",
        "sign_out" => "Sign-out",
        "sign_up" => "Account created",
        "consent_granted" => "Allowed an application",
        "consent_revoked" => "Removed an application's access",
        "password_changed" | "password_reset" | "password_set" => "Password changed",
        "email_verified" => "Email confirmed",
        "email_changed" => "Email changed",
        "email_change_requested" => "Email change requested",
        "profile_updated" => "Profile updated",
        "session_ended" => "Session ended",
        "password_reset_requested" => "Password reset requested",
        other => return other.replace('_', " "),
    };
    words.to_string()
}

/// `GET /account/activity`.
pub async fn activity_get(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let events: Vec<Value> = state
        .services
        .my_activity(&session)
        .await?
        .into_iter()
        .map(|e| {
            json!({
                "time": e.time.trim_end_matches('Z').replace('T', " ") + " UTC",
                "what": describe_event(&e.kind),
                "outcome": if e.outcome == "success" { "Succeeded" } else { "Failed" },
                "ip": e.ip,
                "device": if e.user_agent.is_some() { device::describe(e.user_agent.as_deref()) } else { String::new() },
            })
        })
        .collect();
    show(
        &state,
        jar,
        StatusCode::OK,
        ACTIVITY,
        json!({ "lead": "Recent sign-ins and changes to your account.", "events": events }),
    )
}

/// `GET /account/delete`.
pub async fn delete_get(
    State(state): State<AppState>,
    _signed_in: SignedIn,
    jar: CookieJar,
) -> Result<Response, AppError> {
    show(
        &state,
        jar,
        StatusCode::OK,
        DELETE,
        json!({ "lead": "Remove your account for good." }),
    )
}

/// `POST /account/delete`: after the password.
pub async fn delete_post(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let password = params.get("password").unwrap_or_default().to_string();
    match state
        .services
        .delete_my_account(&caller, &session, password)
        .await
    {
        Ok(()) => {
            let jar = session::clear(&state, jar);
            crate::web::html::notice(
                &state,
                jar,
                StatusCode::OK,
                json!({ "title": "Your account is deleted", "message": "You are signed out everywhere, and applications no longer have access.", "success": true }),
            )
        }
        Err(e) => {
            let (message, _) = form_error(e)?;
            show(
                &state,
                jar,
                StatusCode::BAD_REQUEST,
                DELETE,
                json!({ "lead": "Remove your account for good.", "error": message }),
            )
        }
    }
}
