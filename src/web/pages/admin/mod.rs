//! The admin console (`/admin`): hosted pages over the same use cases as the CLI and the
//! admin API, for signed-in users with the `admin` role (and a two-factor sign-in when
//! `mfa.required_roles` names `admin`). Others get a 403 page, signed-out visitors the login
//! page. Every change is a CSRF-checked POST acting as [`Actor::Admin`]; destructive ones
//! answer first with a page asking to confirm, so they work without JavaScript.

pub mod audit;
pub mod catalogue;
mod chart;
pub mod clients;
pub mod keys;
pub mod users;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::{Value, json};

use crate::domain::Session;
use crate::error::AppError;
use crate::oidc::params::Params;
use crate::services::admin::ConsoleRefusal;
use crate::services::{Actor, Caller, ServiceError};
use crate::state::AppState;
use crate::web::html::form_page;
use crate::web::{form, session};

/// The signed-in admin using the console, as the actor of what they change.
pub struct Console {
    /// Their session.
    pub session: Session,
    /// The request, acting as [`Actor::Admin`].
    pub caller: Caller,
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Ok(caller) = Caller::from_request_parts(parts, state).await;
        match admin_session(state, &jar).await {
            Ok(Some(session)) => Ok(Console {
                caller: caller.as_actor(Actor::Admin(session.user_id.clone())),
                session,
            }),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// The signed-in admin's session; `None` for a signed-out visitor, 403 for anyone else.
async fn admin_session(state: &AppState, jar: &CookieJar) -> Result<Option<Session>, AppError> {
    let Some(current) = session::current(state, jar).await? else {
        return Ok(None);
    };
    match state.services.console_admission(&current).await {
        Ok(Ok(())) => Ok(Some(current)),
        Ok(Err(ConsoleRefusal::NotAdmin)) => Err(AppError::Forbidden(
            "The admin console is for users with the admin role.".into(),
        )),
        Ok(Err(ConsoleRefusal::NeedsTwoFactors)) => Err(AppError::Forbidden(
            "The admin console needs a sign-in with your second factor: sign out, then sign in again with your authenticator code.".into(),
        )),
        Err(ServiceError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `GET /admin`: the console starts with the users.
pub async fn home(_console: Console) -> Redirect {
    Redirect::to("/admin/users")
}

/// A console page: the template with the console's navigation marked at `section`.
fn show(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    (template, section, title): (&str, &str, &str),
    mut context: Value,
) -> Result<Response, AppError> {
    if let Some(map) = context.as_object_mut() {
        map.insert("section".into(), section.into());
        map.entry("title").or_insert_with(|| title.into());
    }
    form_page(state, jar, status, template, context)
}

/// The words of a `?done=…` notice after a change.
fn notice_of(uri: &Uri) -> Option<&'static str> {
    let params = form::query(uri).unwrap_or_default();
    Some(match params.get("done")? {
        "created" => "Created.",
        "invited" => "Created. An invitation to choose a password was mailed.",
        "saved" => "Saved.",
        "deleted" => "Deleted.",
        "enabled" => "The account is switched on.",
        "disabled" => {
            "The account is switched off: its sessions ended and its tokens were revoked."
        }
        "unlocked" => "The sign-in lock is lifted.",
        "reset-mail" => "A password-reset link was mailed.",
        "second-factor" => "The second factor is removed; the user was told by mail.",
        "sessions" => "The sessions were ended.",
        "grants" => "The application's access was taken back.",
        "rotated" => "New signing keys were made; they sign once every node loaded them.",
        _ => return None,
    })
}

/// Whether a destructive form was confirmed on the confirmation page.
fn confirmed(params: &Params) -> bool {
    params.get("confirmed") == Some("yes")
}

/// What a confirmation page asks, and where its form goes.
struct Confirmation<'a> {
    /// The question, e.g. "Delete user alice?".
    question: String,
    /// What follows if the admin says yes.
    consequence: &'a str,
    /// The form's action: the same POST again, confirmed.
    action: String,
    /// The fields the first post carried.
    fields: Vec<(&'a str, &'a str)>,
    /// The page to go back to.
    back: String,
}

/// The page asking to confirm a destructive action.
fn confirm(state: &AppState, jar: CookieJar, c: Confirmation<'_>) -> Result<Response, AppError> {
    let fields: Vec<Value> = c
        .fields
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    show(
        state,
        jar,
        StatusCode::OK,
        ("admin_confirm.html", "", "Please confirm"),
        json!({
            "question": c.question, "consequence": c.consequence, "action": c.action,
            "fields": fields, "back": c.back,
        }),
    )
}

/// A form's refusal as the words to show (a rule such as "built-in roles stay" included);
/// other errors become their error page.
fn refusal(error: ServiceError) -> Result<String, AppError> {
    match error {
        ServiceError::Forbidden(message) => Ok(crate::error::sentence(&message)),
        other => super::form_error(other).map(|(message, _)| message),
    }
}

/// The lines of a text area, trimmed, without empty ones.
fn lines(text: Option<&str>) -> Vec<String> {
    text.unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The ticked boxes of a group: each box is a field of its own named `group:value`, since
/// hosted forms refuse repeated fields.
fn checked(params: &Params, group: &str) -> Vec<String> {
    params
        .pairs()
        .into_iter()
        .filter_map(|(name, _)| name.strip_prefix(group)?.strip_prefix(':'))
        .map(str::to_string)
        .collect()
}
