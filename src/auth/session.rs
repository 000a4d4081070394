//! Login session lifetimes: what a new session looks like and when a used one is renewed.
//! Without "remember me" a session ends after an idle timeout or a maximum lifetime, and its
//! cookie dies with the browser; with it, both last the remember-me period.

use crate::config::SessionSettings;
use crate::store::{NewSession, SessionRow};

/// How far a sign-in has got. A half-signed-in session (password accepted, second factor
/// pending) serves only the step it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Fully signed in.
    Complete,
    /// Waiting for the second factor.
    SecondFactor,
}

impl Stage {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Complete => "complete",
            Stage::SecondFactor => "second_factor",
        }
    }
}

/// How a user proved who they are: what the completion step records in the session and,
/// through it, in ID tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// Authentication methods (RFC 8176 values: `pwd`, `otp`, `mfa`, …).
    pub amr: Vec<&'static str>,
    /// Authentication Context Class Reference reached.
    pub acr: &'static str,
    /// Whether the sign-in is complete or waits for another step.
    pub stage: Stage,
    /// When the user authenticated, if before the sign-in completes here (an upstream
    /// provider's `auth_time`); `None` for now.
    pub at: Option<i64>,
}

/// `acr` after a password alone.
pub const ACR_PASSWORD: &str = "urn:tessera:acr:pwd";
/// `acr` after a password and a second factor.
pub const ACR_MFA: &str = "urn:tessera:acr:mfa";
/// `acr` after a sign-in at an upstream provider.
pub const ACR_UPSTREAM: &str = "urn:tessera:acr:upstream";

/// RFC 8176's registered `amr` values: only these reach sessions and tokens.
const AMR_VALUES: [&str; 21] = [
    "face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pop", "pwd", "rba",
    "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia",
];

/// The registered `amr` value `word` is, if it is one.
pub fn amr_value(word: &str) -> Option<&'static str> {
    AMR_VALUES.iter().find(|known| **known == word).copied()
}

impl Authentication {
    /// A complete sign-in with a password alone.
    pub fn password() -> Authentication {
        Authentication {
            amr: vec!["pwd"],
            acr: ACR_PASSWORD,
            stage: Stage::Complete,
            at: None,
        }
    }

    /// A password accepted, the second factor still to come: nothing is usable yet.
    pub fn password_awaiting_second_factor() -> Authentication {
        Authentication {
            stage: Stage::SecondFactor,
            ..Authentication::password()
        }
    }

    /// A complete sign-in with a first factor (`first`: its `amr`, as the half-signed-in
    /// session recorded it) and a one-time code (RFC 8176 `otp`, `mfa`).
    pub fn two_factor_after(first: &str) -> Authentication {
        let mut amr: Vec<&'static str> = first
            .split_whitespace()
            .filter_map(amr_value)
            .filter(|v| !matches!(*v, "otp" | "mfa"))
            .collect();
        amr.extend(["otp", "mfa"]);
        Authentication {
            amr,
            acr: ACR_MFA,
            stage: Stage::Complete,
            at: None,
        }
    }

    /// A sign-in at an upstream provider at `at` (its `auth_time`), with the `amr` it
    /// reported. Its own second factor counts (`acr` mfa) when `mfa_trusted`; otherwise its
    /// `mfa` and `otp` are dropped, so no client reads an assurance Tessera did not accept.
    /// A second factor of Tessera's may still be due.
    pub fn upstream(
        amr: Vec<&'static str>,
        mfa_trusted: bool,
        second_factor_due: bool,
        at: Option<i64>,
    ) -> Authentication {
        let amr = if mfa_trusted {
            amr
        } else {
            amr.into_iter()
                .filter(|v| !matches!(*v, "mfa" | "otp"))
                .collect()
        };
        Authentication {
            amr,
            acr: if mfa_trusted { ACR_MFA } else { ACR_UPSTREAM },
            stage: if second_factor_due {
                Stage::SecondFactor
            } else {
                Stage::Complete
            },
            at,
        }
    }
}

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

    /// A fresh session for `user_id` authenticated as `auth` at `now`, started from `ip` with
    /// `user_agent`. Its id and secret are new, which is what prevents session fixation.
    pub fn issue(
        &self,
        user_id: &str,
        auth: &Authentication,
        remember: bool,
        now: i64,
        origin: (Option<String>, Option<String>),
    ) -> IssuedSession {
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
            auth_time: auth.at.map_or(now, |at| at.min(now)),
            amr: auth.amr.join(" "),
            acr: auth.acr.to_string(),
            stage: auth.stage.as_str().to_string(),
            remember: i64::from(remember),
            last_seen_at: now,
            idle_expires_at: now + idle,
            expires_at: now + max,
            ip: origin.0,
            user_agent: origin.1,
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
        if now - session.last_seen_at < self.settings.touch_interval_secs {
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
