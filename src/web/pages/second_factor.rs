//! `/login/second-factor`: the second step of a sign-in or a step-up. A user with TOTP types
//! a code (or a recovery code); a user without one whom a role or a client demands it of sets
//! it up here, and the confirming code completes the sign-in with two factors.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::{Value, json};

use super::login::{refusal_message, refusal_secs, with_retry_after};
use crate::error::AppError;
use crate::services::Caller;
use crate::services::second_factor::{FactorAttempt, FactorError, SignInEnrolment};
use crate::state::AppState;
use crate::web::csrf::CheckedForm;
use crate::web::html::form_page;
use crate::web::{form, qr, session, urlencode};

fn login_again(interaction: Option<&str>) -> Response {
    let query = interaction
        .map(|i| format!("?interaction={}", urlencode(i)))
        .unwrap_or_default();
    Redirect::to(&format!("/login{query}")).into_response()
}

fn render(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    context: Value,
) -> Result<Response, AppError> {
    form_page(state, jar, status, "second_factor.html", context)
}

/// The code form's context.
fn code_form(interaction: Option<&str>, error: Option<String>) -> Value {
    json!({
        "mode": "code", "interaction": interaction, "error": error,
        "title": "Two-factor authentication",
        "lead": "Enter the code from your authenticator app to finish signing in.",
    })
}

/// The page of the step the session waits for: the code form, or the set-up.
async fn step_page(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    interaction: Option<&str>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let cookie = session::cookie(state, &jar);
    let Some(current) = state.services.factor_session(cookie.as_deref()).await? else {
        return Ok(login_again(interaction));
    };
    if current.enrolled {
        return render(state, jar, status, code_form(interaction, error));
    }
    let enrolment = state.services.totp_enrolment(&current.user).await?;
    render(
        state,
        jar,
        status,
        json!({
            "mode": "setup", "interaction": interaction, "error": error,
            "title": "Set up two-factor authentication",
            "lead": "Your account needs a second factor to sign in here. It takes a minute.",
            "qr_svg": qr::svg(&enrolment.uri),
            "secret": enrolment.secret,
            "otpauth_uri": enrolment.uri,
        }),
    )
}

/// `GET /login/second-factor`.
pub async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).unwrap_or_default();
    step_page(&state, jar, StatusCode::OK, params.get("interaction"), None).await
}

fn attempt(
    state: &AppState,
    jar: &CookieJar,
    params: &crate::oidc::params::Params,
) -> FactorAttempt {
    FactorAttempt {
        cookie: session::cookie(state, jar),
        code: params.get("code").unwrap_or_default().to_string(),
        interaction: params.get("interaction").map(str::to_string),
        device_cookie: session::device(state, jar),
    }
}

/// `POST /login/second-factor`: checks the code.
pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let interaction = params.get("interaction");
    match state
        .services
        .verify_second_factor(&caller, attempt(&state, &jar, &params))
        .await
    {
        Ok(signed_in) => {
            let (jar, next) = session::signed_in(&state, jar, signed_in);
            Ok((jar, Redirect::to(&next)).into_response())
        }
        Err(FactorError::Wrong(left)) => {
            let error = format!(
                "That code is not right, or it was used already. {left} {} left.",
                if left == 1 { "try" } else { "tries" }
            );
            step_page(
                &state,
                jar,
                StatusCode::UNAUTHORIZED,
                interaction,
                Some(error),
            )
            .await
        }
        Err(FactorError::Ended) => {
            let jar = session::clear(&state, jar);
            let query = interaction
                .map(|i| format!("?interaction={}", urlencode(i)))
                .unwrap_or_default();
            crate::web::html::notice(
                &state,
                jar,
                StatusCode::UNAUTHORIZED,
                json!({
                    "title": "Too many wrong codes",
                    "message": "For your safety this sign-in was stopped. Sign in again with your password; if you lost your authenticator app, use one of your recovery codes.",
                    "link": { "href": format!("/login{query}"), "text": "Sign in again" },
                }),
            )
        }
        Err(FactorError::Refused(refusal)) => {
            let response = render(
                &state,
                jar,
                StatusCode::TOO_MANY_REQUESTS,
                code_form(interaction, Some(refusal_message(refusal))),
            )?;
            Ok(with_retry_after(response, refusal_secs(refusal)))
        }
        Err(FactorError::NoSession) => Ok(login_again(interaction)),
        Err(FactorError::NotEnrolled) => {
            step_page(&state, jar, StatusCode::BAD_REQUEST, interaction, None).await
        }
        Err(FactorError::Service(e)) => Err(e.into()),
    }
}

/// `POST /login/second-factor/enrol`: confirms the set-up, which completes the sign-in with
/// two factors, and shows the recovery codes once.
pub async fn enrol(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let interaction = params.get("interaction");
    match state
        .services
        .enrol_during_sign_in(&caller, attempt(&state, &jar, &params))
        .await?
    {
        SignInEnrolment::Done(signed_in, codes) => {
            let (jar, next) = session::signed_in(&state, jar, *signed_in);
            render(
                &state,
                jar,
                StatusCode::OK,
                json!({
                    "mode": "codes", "next": next, "recovery_codes": codes,
                    "title": "Two-factor authentication is on",
                    "lead": "From now on, signing in asks for a code from your app after your password.",
                }),
            )
        }
        SignInEnrolment::WrongCode => {
            let error = "That code is not right. Check that the app shows the Tessera entry you just added, and type its current code.".to_string();
            step_page(
                &state,
                jar,
                StatusCode::BAD_REQUEST,
                interaction,
                Some(error),
            )
            .await
        }
        SignInEnrolment::NoSession => Ok(login_again(interaction)),
    }
}
