//! `/account/security`: two-factor authentication. Without TOTP the page shows the set-up at
//! once (QR code, key, confirm form); with it, the recovery codes left, a way to make new
//! ones, and turning it off with the password and a code.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::{Value, json};

use crate::domain::User;
use crate::error::AppError;
use crate::services::Caller;
use crate::state::AppState;
use crate::web::csrf::CheckedForm;
use crate::web::session::SignedIn;
use crate::web::{form, qr};

const SECURITY: (&str, &str, &str) = ("account_security.html", "/account/security", "Security");

fn show(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    context: Value,
) -> Result<Response, AppError> {
    super::self_service::show(state, jar, status, SECURITY, context)
}

async fn overview(
    state: &AppState,
    jar: CookieJar,
    user: &User,
    status: StatusCode,
    messages: (Option<&str>, Option<&str>),
) -> Result<Response, AppError> {
    let (notice, error) = messages;
    let left = state.services.recovery_codes_left(&user.id).await?;
    if state.services.has_totp(&user.id).await? {
        return show(
            state,
            jar,
            status,
            json!({ "enrolled": true, "codes_left": left, "notice": notice, "error": error,
                    "lead": "Two-factor authentication protects your account even if your password leaks." }),
        );
    }
    let enrolment = state.services.totp_enrolment(user).await?;
    show(
        state,
        jar,
        status,
        json!({
            "enrolled": false, "notice": notice, "error": error,
            "lead": "Protect your account with a second factor: a code from an authenticator app, asked after your password.",
            "qr_svg": qr::svg(&enrolment.uri),
            "secret": enrolment.secret,
            "otpauth_uri": enrolment.uri,
        }),
    )
}

async fn signed_in_user(
    state: &AppState,
    session: &crate::domain::Session,
) -> Result<User, AppError> {
    Ok(state.services.user(&session.user_id).await?)
}

/// `GET /account/security`.
pub async fn get(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let user = signed_in_user(&state, &session).await?;
    let done = form::query(&uri)
        .unwrap_or_default()
        .get("done")
        .map(|d| d == "off");
    let notice = done.and_then(|off| off.then_some("Two-factor authentication is off."));
    overview(&state, jar, &user, StatusCode::OK, (notice, None)).await
}

/// `POST /account/security/totp`: confirms the set-up and shows the recovery codes once.
pub async fn confirm(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let user = signed_in_user(&state, &session).await?;
    let code = params.get("code").unwrap_or_default();
    match state.services.confirm_totp(&caller, &user, code).await? {
        Some(codes) => show(
            &state,
            jar,
            StatusCode::OK,
            json!({ "recovery_codes": codes, "notice": "Two-factor authentication is on." }),
        ),
        None => {
            let error = "That code is not right. Type the current code of the Tessera entry you just added.";
            overview(
                &state,
                jar,
                &user,
                StatusCode::BAD_REQUEST,
                (None, Some(error)),
            )
            .await
        }
    }
}

/// `POST /account/security/recovery-codes`: a new set, shown once.
pub async fn regenerate(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(_): CheckedForm,
) -> Result<Response, AppError> {
    let user = signed_in_user(&state, &session).await?;
    let codes = state
        .services
        .regenerate_recovery_codes(&caller, &user)
        .await?;
    show(
        &state,
        jar,
        StatusCode::OK,
        json!({ "recovery_codes": codes, "notice": "Your new recovery codes are ready; the old ones no longer work." }),
    )
}

/// `POST /account/security/totp/disable`: needs the password and a current code.
pub async fn disable(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let user = signed_in_user(&state, &session).await?;
    let password = params.get("password").unwrap_or_default().to_string();
    let code = params.get("code").unwrap_or_default();
    if state
        .services
        .disable_totp(&caller, &user, password, code)
        .await?
    {
        return Ok(Redirect::to("/account/security?done=off").into_response());
    }
    let error = "The password or the code is not right.";
    overview(
        &state,
        jar,
        &user,
        StatusCode::BAD_REQUEST,
        (None, Some(error)),
    )
    .await
}
