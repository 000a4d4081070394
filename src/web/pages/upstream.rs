//! Signing in with an upstream provider: `GET /upstream/{id}/start` sends the browser there
//! with the flow sealed in a cookie of its own, `GET /upstream/{id}/callback` takes the
//! answer; `/account/providers` links and unlinks providers for the signed-in user.

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde_json::{Value, json};

use crate::error::AppError;
use crate::services::Caller;
use crate::services::upstream_sign_in::{
    FLOW_SECS, UpstreamAnswer, UpstreamError, UpstreamOutcome,
};
use crate::state::AppState;
use crate::web::csrf::CheckedForm;
use crate::web::session::{self, SignedIn};
use crate::web::{form, html};

fn flow_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tessera_upstream"
    } else {
        "tessera_upstream"
    }
}

/// The flow cookie: SameSite=Lax, so the browser sends it on the upstream's top-level
/// redirect back (a GET), and never on another site's POST.
fn flow_cookie(state: &AppState, value: String) -> Cookie<'static> {
    let secure = state.config.secure_cookies;
    Cookie::build((flow_cookie_name(secure), value))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(FLOW_SECS))
        .build()
}

/// A page saying what went wrong, with a way back.
fn problem_page(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    (title, message): (&str, String),
) -> Result<Response, AppError> {
    html::notice(
        state,
        jar,
        status,
        json!({ "title": title, "message": message, "link": { "href": "/login", "text": "Back to sign-in" } }),
    )
}

/// The page for a failed upstream sign-in.
fn failure(
    state: &AppState,
    jar: CookieJar,
    name: &str,
    error: UpstreamError,
) -> Result<Response, AppError> {
    let (status, title, message) = match error {
        UpstreamError::Unknown => return Err(AppError::NotFound),
        UpstreamError::Service(e) => return Err(e.into()),
        UpstreamError::Unreachable(_) => (
            StatusCode::BAD_GATEWAY,
            "The provider cannot be reached",
            format!("{name} did not answer as it should. Try again in a moment, or sign in with your password."),
        ),
        UpstreamError::BadState => (
            StatusCode::BAD_REQUEST,
            "This sign-in cannot be finished",
            "The answer does not belong to a sign-in started in this browser, or it was used already. Start signing in again.".to_string(),
        ),
        UpstreamError::Refused(_) => (
            StatusCode::BAD_REQUEST,
            "The provider did not sign you in",
            format!("{name} ended the sign-in without signing you in. Start again, or sign in with your password."),
        ),
        UpstreamError::Invalid(_) => (
            StatusCode::BAD_REQUEST,
            "The provider's answer was refused",
            format!("What {name} sent failed a security check, so you were not signed in. Your administrator can find the reason in the audit log."),
        ),
        UpstreamError::NoAccount => (
            StatusCode::FORBIDDEN,
            "No account here yet",
            format!("You signed in at {name}, but there is no account for you here, and one cannot be made from {name}. Ask your administrator."),
        ),
        UpstreamError::EmailNotVerified => (
            StatusCode::FORBIDDEN,
            "Your e-mail address is not confirmed",
            format!("{name} did not confirm that the e-mail address of your account there is yours, so it cannot be used to find or make an account here. Confirm it at {name}, or ask your administrator."),
        ),
        UpstreamError::SignInLocallyFirst => (
            StatusCode::CONFLICT,
            "Sign in with your password first",
            format!("An account here already uses your e-mail address. To use {name} with it, sign in with your password, then link {name} from your account's \"Linked accounts\" page."),
        ),
        UpstreamError::LinkedElsewhere => (
            StatusCode::CONFLICT,
            "Linked to another account",
            format!("Your {name} account is linked to another account here already."),
        ),
        UpstreamError::Disabled => (
            StatusCode::FORBIDDEN,
            "This account is disabled",
            "An administrator disabled this account, so it cannot sign in.".to_string(),
        ),
    };
    problem_page(state, jar, status, (title, message))
}

/// The button text of an upstream, for messages.
async fn display_name(state: &AppState, id: &str) -> String {
    state
        .services
        .find_upstream(id)
        .await
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| "The provider".to_string())
}

/// `GET /upstream/{id}/start[?interaction=…]`: off to the upstream.
pub async fn start(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).unwrap_or_default();
    let interaction = params.get("interaction").map(str::to_string);
    if let Some(i) = &interaction
        && state.services.interaction(i).await?.is_none()
    {
        return Err(crate::web::outcome::expired());
    }
    off_to_upstream(&state, jar, &id, (interaction, None)).await
}

/// Starts the flow at upstream `id` (for a parked request, or to link it to a signed-in
/// account): the flow cookie and the redirect there, or the page saying why not.
async fn off_to_upstream(
    state: &AppState,
    jar: CookieJar,
    id: &str,
    (interaction, linking): (Option<String>, Option<String>),
) -> Result<Response, AppError> {
    match state
        .services
        .start_upstream(id, interaction, linking)
        .await
    {
        Ok(started) => {
            let jar = jar.add(flow_cookie(state, started.flow_cookie));
            Ok((jar, Redirect::to(&started.redirect)).into_response())
        }
        Err(e) => {
            let name = display_name(state, id).await;
            failure(state, jar, &name, e)
        }
    }
}

/// `GET /upstream/{id}/callback`: the upstream's answer.
pub async fn callback(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).unwrap_or_default();
    let secure = state.config.secure_cookies;
    let signed_in_user = session::current(&state, &jar).await?.map(|s| s.user_id);
    let answer = UpstreamAnswer {
        flow_cookie: jar
            .get(flow_cookie_name(secure))
            .map(|c| c.value().to_string()),
        state: params.get("state").map(str::to_string),
        code: params.get("code").map(str::to_string),
        error: params.get("error").map(str::to_string),
        previous_cookie: session::cookie(&state, &jar),
        device_cookie: session::device(&state, &jar),
        signed_in_user,
    };
    // The flow is spent whatever happens next.
    let jar = jar.remove(flow_cookie(&state, String::new()));
    match state.services.finish_upstream(&caller, &id, answer).await {
        Ok(UpstreamOutcome::SignedIn(signed_in)) => {
            let (jar, next) = session::signed_in(&state, jar, *signed_in);
            Ok((jar, Redirect::to(&next)).into_response())
        }
        Ok(UpstreamOutcome::Linked(_)) => {
            Ok((jar, Redirect::to("/account/providers?done=linked")).into_response())
        }
        Err(e) => {
            let name = display_name(&state, &id).await;
            failure(&state, jar, &name, e)
        }
    }
}

const PROVIDERS: (&str, &str, &str) = (
    "account_providers.html",
    "/account/providers",
    "Linked accounts",
);

/// The providers page, with a notice or an error.
async fn providers_page(
    state: &AppState,
    jar: CookieJar,
    user_id: &str,
    status: StatusCode,
    (notice, error): (Option<&str>, Option<String>),
) -> Result<Response, AppError> {
    let linked = state.services.linked_identities(user_id).await?;
    let providers: Vec<Value> = state
        .services
        .list_upstreams()
        .await?
        .into_iter()
        .map(|u| {
            let link = linked.iter().find(|(id, _)| *id == u.id);
            json!({
                "id": u.id, "name": u.name, "linked": link.is_some(),
                "email": link.and_then(|(_, email)| email.clone()),
            })
        })
        .collect();
    super::self_service::show(
        state,
        jar,
        status,
        PROVIDERS,
        json!({
            "lead": "Other accounts you can sign in with.",
            "providers": providers, "notice": notice, "error": error,
        }),
    )
}

/// `GET /account/providers`.
pub async fn providers(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).unwrap_or_default();
    let notice = match params.get("done") {
        Some("linked") => Some("The account is linked: you can sign in with it from now on."),
        Some("unlinked") => Some("The account is unlinked."),
        _ => None,
    };
    providers_page(
        &state,
        jar,
        &session.user_id,
        StatusCode::OK,
        (notice, None),
    )
    .await
}

/// `POST /account/providers/link`: off to the upstream to prove the identity to link.
pub async fn link(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let id = params.get("upstream").unwrap_or_default();
    off_to_upstream(&state, jar, id, (None, Some(session.user_id))).await
}

/// `POST /account/providers/unlink`.
pub async fn unlink(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let id = params.get("upstream").unwrap_or_default();
    match state
        .services
        .unlink_upstream(&caller, &session.user_id, id)
        .await
    {
        Ok(()) => Ok(Redirect::to("/account/providers?done=unlinked").into_response()),
        Err(e) => {
            let (message, _) = super::form_error(e)?;
            providers_page(
                &state,
                jar,
                &session.user_id,
                StatusCode::UNPROCESSABLE_ENTITY,
                (None, Some(message)),
            )
            .await
        }
    }
}
