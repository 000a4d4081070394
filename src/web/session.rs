//! The login session cookie: reading it, setting it at sign-in (always a new secret), and
//! clearing it; and the device cookie, which outlives sign-outs. What a cookie means is the
//! use cases' business.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::auth::session::IssuedSession;
use crate::domain::Session;
use crate::error::AppError;
use crate::services::ServiceResult;
use crate::services::sign_in::{Resume, SignedIn as SignedInUseCase};
use crate::state::AppState;

fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tessera_session"
    } else {
        "tessera_session"
    }
}

fn device_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tessera_device"
    } else {
        "tessera_device"
    }
}

fn return_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tessera_return"
    } else {
        "tessera_return"
    }
}

/// How long a page to come back to after signing in is remembered, in minutes.
const RETURN_MINUTES: i64 = 15;

/// Whether `path` is a page a sign-in may return to: the device page only, with at most a
/// well-formed code, so the cookie can never send anyone elsewhere.
fn returnable(path: &str) -> bool {
    match path.strip_prefix("/device") {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix("?user_code=")
            .is_some_and(|code| crate::oidc::device_flow::normalise(code).is_some()),
        None => false,
    }
}

/// Remembers one of Tessera's own pages to come back to after the sign-in that follows.
pub fn remember_return(state: &AppState, jar: CookieJar, path: &str) -> CookieJar {
    let secure = state.config.secure_cookies;
    jar.add(
        Cookie::build((return_cookie_name(secure), path.to_string()))
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .max_age(time::Duration::minutes(RETURN_MINUTES))
            .build(),
    )
}

/// The page remembered to come back to, if any and valid; the cookie is removed.
fn take_return(state: &AppState, jar: CookieJar) -> (CookieJar, Option<String>) {
    let secure = state.config.secure_cookies;
    let name = return_cookie_name(secure);
    let Some(path) = jar.get(name).map(|c| c.value().to_string()) else {
        return (jar, None);
    };
    let removal = Cookie::build((name, ""))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .build();
    (jar.remove(removal), returnable(&path).then_some(path))
}

/// How long a browser keeps its device cookie (400 days, the longest browsers allow).
const DEVICE_COOKIE_DAYS: i64 = 400;

/// The device cookie's value, if the browser sent one.
pub fn device(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(device_cookie_name(state.config.secure_cookies))
        .map(|c| c.value().to_string())
}

/// Sets the device cookie after a complete sign-in.
pub fn set_device(state: &AppState, jar: CookieJar, value: String) -> CookieJar {
    let secure = state.config.secure_cookies;
    jar.add(
        Cookie::build((device_cookie_name(secure), value))
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .max_age(time::Duration::days(DEVICE_COOKIE_DAYS))
            .build(),
    )
}

/// The cookies of a sign-in (or its first step) and where the browser goes next. No form
/// token from before the sign-in survives it.
pub fn signed_in(
    state: &AppState,
    jar: CookieJar,
    signed_in: SignedInUseCase,
) -> (CookieJar, String) {
    let mut jar = set(state, jar, &signed_in.session);
    if let Some(device) = signed_in.device_cookie {
        jar = set_device(state, jar, device);
    }
    let jar = crate::web::csrf::rotate(jar, &state.csrf);
    let interaction = |id: &str| format!("?interaction={}", crate::web::urlencode(id));
    let (jar, back) = match signed_in.resume {
        Resume::Account => take_return(state, jar),
        _ => (jar, None),
    };
    let next = match signed_in.resume {
        Resume::Authorization(id) => format!("/authorize/resume{}", interaction(&id)),
        Resume::Account => back.unwrap_or_else(|| "/account".to_string()),
        Resume::SecondFactor(id) => format!(
            "/login/second-factor{}",
            id.as_deref().map(interaction).unwrap_or_default()
        ),
    };
    (jar, next)
}

/// The session cookie's secret, if the browser sent one.
pub fn cookie(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(cookie_name(state.config.secure_cookies))
        .map(|c| c.value().to_string())
}

/// The live, fully signed-in session of this request, if any.
pub async fn current(state: &AppState, jar: &CookieJar) -> ServiceResult<Option<Session>> {
    state.services.session(cookie(state, jar).as_deref()).await
}

/// Sets the cookie of a session just started.
pub fn set(state: &AppState, jar: CookieJar, issued: &IssuedSession) -> CookieJar {
    let secure = state.config.secure_cookies;
    let mut cookie = Cookie::build((cookie_name(secure), issued.cookie_secret.clone()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .build();
    if let Some(seconds) = issued.cookie_max_age {
        cookie.set_max_age(time::Duration::seconds(seconds));
    }
    jar.add(cookie)
}

/// Removes the session cookie from the browser.
pub fn clear(state: &AppState, jar: CookieJar) -> CookieJar {
    let secure = state.config.secure_cookies;
    let cookie = Cookie::build((cookie_name(secure), ""))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .build();
    jar.remove(cookie)
}

/// The session of a fully signed-in browser, as an extractor: any other visitor is sent to
/// the login page before the handler runs.
pub struct SignedIn(pub Session);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        match current(state, &jar).await {
            Ok(Some(session)) => Ok(SignedIn(session)),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(AppError::from(e).into_response()),
        }
    }
}
