//! Login session lifetimes: what a new session looks like and when a used one is renewed.
//! Without "remember me" a session ends after an idle timeout or a maximum lifetime, and its
//! cookie dies with the browser; with it, both last the remember-me period.

use crate::config::SessionSettings;
use crate::store::{NewSession, SessionRow};

/// Sessions are touched at most this often, so page views do not each cost a write.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// A session just created at sign-in.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    /// The cookie value (never stored).
    pub cookie_secret: String,
    /// The row to store.
    pub new: NewSession,
    /// Cookie Max-Age; `None` for a browser-session cookie.
    pub cookie_max_age: Option<i64>,
}

/// Session lifetime rules.
#[derive(Debug, Clone)]
pub struct SessionPolicy {
    settings: SessionSettings,
}

impl SessionPolicy {
    /// Rules from settings.
    pub fn new(settings: SessionSettings) -> Self {
        Self { settings }
    }

    fn remember_secs(&self) -> i64 {
        self.settings.remember_me_days * 24 * 3600
    }

    /// A fresh session for `user_id` authenticated by `amr` at `now`. Its id and secret are
    /// new, which is what prevents session fixation.
    pub fn issue(&self, user_id: &str, amr: &[&str], remember: bool, now: i64) -> IssuedSession {
        let cookie_secret = crate::auth::secret::generate();
        let (idle, max) = if remember {
            (self.remember_secs(), self.remember_secs())
        } else {
            (
                self.settings.idle_timeout_secs,
                self.settings.max_lifetime_secs,
            )
        };
        let row = SessionRow {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user_id.to_string(),
            auth_time: now,
            amr: amr.join(" "),
            remember: i64::from(remember),
            last_seen_at: now,
            idle_expires_at: now + idle,
            expires_at: now + max,
        };
        IssuedSession {
            new: NewSession {
                secret_hash: crate::auth::secret::hash(&cookie_secret),
                row,
            },
            cookie_secret,
            cookie_max_age: remember.then(|| self.remember_secs()),
        }
    }

    /// The new idle deadline when a session used at `now` is due a touch.
    pub fn touch(&self, session: &SessionRow, now: i64) -> Option<i64> {
        if now - session.last_seen_at < TOUCH_INTERVAL_SECS {
            return None;
        }
        let idle = if session.remember != 0 {
            self.remember_secs()
        } else {
            self.settings.idle_timeout_secs
        };
        Some((now + idle).min(session.expires_at))
    }
}
