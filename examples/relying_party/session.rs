//! This app's own server-side sessions, kept in memory: the signed-in user
//! of each browser, the one-time values of a sign-in in progress, and the
//! token that the POST forms must carry (CSRF protection).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::Form;
use axum::extract::rejection::FormRejection;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::Deserialize;

use crate::errors::ErrorPage;
use crate::oidc::{PendingLogin, SignedIn};

/// Name of the cookie holding this app's session id.
const SESSION_COOKIE: &str = "rp_session";

/// A session unused for this long is forgotten.
const SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(8 * 60 * 60);

/// Upper bound on stored sessions, so anonymous `/login` hits cannot grow
/// the map without limit; the least recently used one makes room.
const MAX_SESSIONS: usize = 10_000;

/// One browser's state in this app.
struct Session {
    /// Token that POST forms must echo back (CSRF protection).
    csrf_token: String,
    /// Last use, for idle expiry.
    last_seen: Instant,
    /// One-time values of a sign-in in progress.
    pending: Option<PendingLogin>,
    /// The signed-in user, if any.
    user: Option<SignedIn>,
}

/// The sessions of all browsers, shared by all requests.
pub struct SessionStore {
    /// Sessions by id.
    sessions: Mutex<HashMap<String, Session>>,
    /// Mark the session cookie `Secure` (public URL is https).
    secure_cookies: bool,
}

/// Body of the POST forms.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// Must equal the session's CSRF token.
    #[serde(default)]
    csrf_token: String,
}

impl Session {
    /// A session with a fresh CSRF token.
    fn new() -> Self {
        Self {
            csrf_token: random_token(),
            last_seen: Instant::now(),
            pending: None,
            user: None,
        }
    }
}

impl SessionStore {
    /// An empty store; its cookies are `Secure` when `secure_cookies` is set.
    pub fn new(secure_cookies: bool) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            secure_cookies,
        }
    }

    /// Locks the session map (a panic elsewhere must not wedge the app).
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The signed-in user of this browser and the session's CSRF token.
    pub fn current_user(&self, jar: &CookieJar) -> Option<(SignedIn, String)> {
        let id = session_id(jar)?;
        let mut sessions = self.lock();
        let session = live_session(&mut sessions, &id)?;
        let user = session.user.clone()?;
        Some((user, session.csrf_token.clone()))
    }

    /// Stores a sign-in in progress; returns a new session id when the
    /// browser had no live session.
    pub fn store_pending(&self, id: Option<&str>, pending: PendingLogin) -> Option<String> {
        let mut sessions = self.lock();
        if let Some(session) = id.and_then(|id| live_session(&mut sessions, id)) {
            session.pending = Some(pending);
            return None;
        }
        let mut session = Session::new();
        session.pending = Some(pending);
        Some(insert_session(&mut sessions, session))
    }

    /// Removes and returns the sign-in in progress.
    pub fn take_pending(&self, id: &str) -> Option<PendingLogin> {
        let mut sessions = self.lock();
        live_session(&mut sessions, id)?.pending.take()
    }

    /// Signs the user in under a new session id (so a session id planted
    /// before sign-in is worthless afterwards) and sets the new cookie.
    pub fn sign_in(&self, jar: CookieJar, old_id: Option<&str>, user: SignedIn) -> CookieJar {
        let mut session = Session::new();
        session.user = Some(user);
        let new_id = {
            let mut sessions = self.lock();
            if let Some(old_id) = old_id {
                sessions.remove(old_id);
            }
            insert_session(&mut sessions, session)
        };
        jar.add(self.cookie(new_id))
    }

    /// Replaces the user of a session (after a refresh).
    pub fn update_user(&self, id: &str, user: SignedIn) {
        let mut sessions = self.lock();
        // If the user signed out meanwhile, the refreshed tokens are dropped.
        if let Some(session) = live_session(&mut sessions, id)
            && session.user.is_some()
        {
            session.user = Some(user);
        }
    }

    /// Signs out every session of Tessera session `sid` (or, when the logout
    /// token names no session, of user `sub`); returns how many.
    pub fn end_signed_in(&self, sid: Option<&str>, sub: Option<&str>) -> usize {
        let mut sessions = self.lock();
        let before = sessions.len();
        sessions.retain(|_, session| {
            let Some(user) = &session.user else {
                return true;
            };
            let same = match sid {
                Some(sid) => user.sid.as_deref() == Some(sid),
                None => sub == Some(user.claims.subject().as_str()),
            };
            !same
        });
        before - sessions.len()
    }

    /// Forgets a session.
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// For POST handlers: `None` when nobody is signed in, an error page when
    /// the CSRF token is wrong, else the session id and user.
    pub fn authorize_post(
        &self,
        jar: &CookieJar,
        form: Result<Form<CsrfForm>, FormRejection>,
    ) -> Result<Option<(String, SignedIn)>, ErrorPage> {
        let Some(id) = session_id(jar) else {
            return Ok(None);
        };
        let (user, expected) = {
            let mut sessions = self.lock();
            let Some(session) = live_session(&mut sessions, &id) else {
                return Ok(None);
            };
            let Some(user) = session.user.clone() else {
                return Ok(None);
            };
            (user, session.csrf_token.clone())
        };
        let presented = form.map(|Form(form)| form.csrf_token).unwrap_or_default();
        if !same_secret(&presented, &expected) {
            return Err(ErrorPage::csrf());
        }
        Ok(Some((id, user)))
    }

    /// The session cookie for `id`.
    pub fn cookie(&self, id: String) -> Cookie<'static> {
        Cookie::build((SESSION_COOKIE, id))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure_cookies)
            .path("/")
            .build()
    }
}

/// The session of `id` if it exists and has not idled out; marks it used.
fn live_session<'a>(
    sessions: &'a mut HashMap<String, Session>,
    id: &str,
) -> Option<&'a mut Session> {
    let expired = sessions.get(id)?.last_seen.elapsed() > SESSION_IDLE_TIMEOUT;
    if expired {
        sessions.remove(id);
        return None;
    }
    let session = sessions.get_mut(id)?;
    session.last_seen = Instant::now();
    Some(session)
}

/// Stores a session under a fresh random id, making room first if needed.
fn insert_session(sessions: &mut HashMap<String, Session>, session: Session) -> String {
    sessions.retain(|_, s| s.last_seen.elapsed() <= SESSION_IDLE_TIMEOUT);
    if sessions.len() >= MAX_SESSIONS {
        let oldest = sessions
            .iter()
            .min_by_key(|(_, s)| s.last_seen)
            .map(|(id, _)| id.clone());
        if let Some(oldest) = oldest {
            sessions.remove(&oldest);
        }
    }
    let id = random_token();
    sessions.insert(id.clone(), session);
    id
}

/// The session id from the cookie, if any.
pub fn session_id(jar: &CookieJar) -> Option<String> {
    jar.get(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
}

/// A cookie that, once removed from the jar, deletes the session cookie.
pub fn removal_cookie() -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE).path("/").build()
}

/// 256 random bits, base64url encoded.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}
