//! The login session cookie: reading the current session, starting one at sign-in (always
//! with a new id), and ending it.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::auth::secret;
use crate::auth::session::IssuedSession;
use crate::state::AppState;
use crate::store::{SessionRow, StoreResult};

fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tessera_session"
    } else {
        "tessera_session"
    }
}

/// The live session of this request, if any; touches it when due.
pub async fn current(state: &AppState, jar: &CookieJar) -> StoreResult<Option<SessionRow>> {
    let Some(cookie) = jar.get(cookie_name(state.config.secure_cookies)) else {
        return Ok(None);
    };
    if cookie.value().len() != 43 {
        return Ok(None);
    }
    let now = state.clock.now();
    let found = state
        .db
        .find_session(&secret::hash(cookie.value()), now)
        .await?;
    if let Some(session) = &found
        && let Some(idle_expires_at) = state.sessions.touch(session, now)
    {
        state
            .db
            .touch_session(&session.id, now, idle_expires_at)
            .await?;
    }
    Ok(found)
}

/// Stores a new session (replacing `previous`) and sets its cookie.
pub async fn start(
    state: &AppState,
    jar: CookieJar,
    issued: IssuedSession,
    previous: Option<&str>,
) -> StoreResult<CookieJar> {
    state.db.insert_session(&issued.new, previous).await?;
    let secure = state.config.secure_cookies;
    let mut cookie = Cookie::build((cookie_name(secure), issued.cookie_secret))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .build();
    if let Some(seconds) = issued.cookie_max_age {
        cookie.set_max_age(time::Duration::seconds(seconds));
    }
    Ok(jar.add(cookie))
}

/// Ends a session server-side (revoking its grants) and clears the cookie.
pub async fn end(state: &AppState, jar: CookieJar, session: &SessionRow) -> StoreResult<CookieJar> {
    state.db.end_session(&session.id, state.clock.now()).await?;
    Ok(clear(state, jar))
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
