//! Signing in. Every way of proving identity (password now; second factors, passkeys,
//! upstream providers and sign-up later) ends in [`Services::complete_sign_in`], the one step
//! that starts the session under a new id, records `auth_time`, `amr` and `acr`, carries over
//! the grants of the session it replaces, audits, and says where to resume.
//!
//! Password checks give one answer for an unknown user, a wrong password and a disabled
//! account, after the same hashing work, so neither words nor timing tell them apart.

use serde_json::json;

use super::audit::{Event, EventType};
use super::defence::{Refusal, Target};
use super::links::{LinkKind, LinkMail};
use super::{Actor, Caller, ServiceError, ServiceResult, Services, convert};
use crate::auth::device_cookie::DeviceCookie;
use crate::auth::password::Verified;
use crate::auth::session::{Authentication, IssuedSession, Stage};
use crate::clock::format_time;
use crate::domain::{User, device};

/// A password sign-in as typed into the form.
#[derive(Debug, Clone)]
pub struct PasswordAttempt {
    /// Username or e-mail as typed.
    pub login: String,
    /// The password.
    pub password: String,
    /// "Remember me".
    pub remember: bool,
    /// The parked authorization request this sign-in is for.
    pub interaction: Option<String>,
    /// The cookie secret of the browser's current session, which the new one replaces.
    pub previous_cookie: Option<String>,
    /// The browser's device cookie.
    pub device_cookie: Option<String>,
}

/// What the completion step needs besides the user.
#[derive(Debug, Clone)]
pub struct Completion {
    /// How the user proved who they are.
    pub auth: Authentication,
    /// "Remember me".
    pub remember: bool,
    /// The cookie secret of the session the new one replaces.
    pub previous_cookie: Option<String>,
    /// The parked authorization request to resume.
    pub interaction: Option<String>,
    /// A stronger hash of the password just proven, to store.
    pub rehash: Option<String>,
    /// The browser's device cookie.
    pub device_cookie: Option<String>,
    /// The upstream provider the user signed in at, if any (for the audit log).
    pub upstream: Option<String>,
}

/// Where the browser goes after signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// Back into the parked authorization request.
    Authorization(String),
    /// To the account page.
    Account,
    /// To the second-factor page (for the parked request, if any).
    SecondFactor(Option<String>),
}

/// A completed sign-in (or its first step): the cookies to set and where to go.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The new session (its cookie secret is shown to the browser only).
    pub session: IssuedSession,
    /// Who signed in.
    pub user: User,
    /// Where to continue.
    pub resume: Resume,
    /// The device cookie to set, once the sign-in is complete.
    pub device_cookie: Option<String>,
}

/// Why a sign-in did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Wrong credentials, unknown user or disabled account: one answer for all.
    #[error("incorrect username or password")]
    Rejected,
    /// The password was right, but an administrator disabled the account (said only to
    /// someone who proved the password).
    #[error("the account is disabled")]
    Disabled,
    /// The password was right, but the address of this self-registered account is not
    /// verified yet (`registration.require_verified_email`).
    #[error("the e-mail address is not verified yet")]
    Unverified,
    /// Refused before any check: the address is throttled or the account locked for this
    /// device (the same for accounts that do not exist).
    #[error("too many failed sign-ins")]
    Refused(Refusal),
    /// Every password-hashing slot is busy and the queue is full: try again in a moment.
    #[error("too busy")]
    Busy,
    /// Something else failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl Services {
    /// Checks a username and password and, when they match an enabled account, completes
    /// the sign-in, or starts it when a second factor is due (the user has one, or a role of
    /// theirs demands one). Throttled addresses and locked accounts are refused before any
    /// password work.
    pub async fn sign_in_with_password(
        &self,
        caller: &Caller,
        attempt: PasswordAttempt,
    ) -> Result<SignedIn, SignInError> {
        let login = attempt.login.trim().to_string();
        let found = if login.is_empty() || login.len() > 254 {
            None
        } else {
            let mut tx = self.db.read().await.map_err(ServiceError::from)?;
            tx.find_user_by_login(&login.to_lowercase())
                .await
                .map_err(ServiceError::from)?
        };
        let target = self.target(&login, found, attempt.device_cookie.as_deref())?;
        if let Some(refusal) = self.sign_in_refusal(caller, &target, &login).await? {
            return Err(SignInError::Refused(refusal));
        }
        let verified = self
            .passwords
            .verify(
                attempt.password,
                target.user.as_ref().map(|u| u.password_hash.clone()),
            )
            .await;
        let rehash = match verified {
            Verified::Yes => None,
            Verified::YesRehashed(hash) => Some(hash),
            Verified::Busy => return Err(SignInError::Busy),
            Verified::No => {
                self.password_failed(caller, &target, &login).await?;
                return Err(SignInError::Rejected);
            }
        };
        let Some(row) = target.user else {
            return Err(SignInError::Rejected);
        };
        if row.enabled == 0 {
            self.record_failure(
                caller,
                Event::failure(EventType::SignIn)
                    .user(&row.id, &row.username)
                    .details(json!({ "method": "pwd", "reason": "account_disabled" })),
                self.now(),
            )
            .await;
            return Err(SignInError::Disabled);
        }
        if row.email_verified == 0 && self.config.settings.registration.require_verified_email {
            self.record_failure(
                caller,
                Event::failure(EventType::SignIn)
                    .user(&row.id, &row.username)
                    .details(json!({ "method": "pwd", "reason": "email_unverified" })),
                self.now(),
            )
            .await;
            return Err(SignInError::Unverified);
        }
        let (user, has_totp) = {
            let mut tx = self.db.read().await.map_err(ServiceError::from)?;
            let roles = tx.user_roles(&row.id).await.map_err(ServiceError::from)?;
            let has_totp = tx.has_totp(&row.id).await.map_err(ServiceError::from)?;
            (convert::user(row, roles), has_totp)
        };
        let auth = if has_totp || self.role_requires_mfa(&user) {
            Authentication::password_awaiting_second_factor()
        } else {
            Authentication::password()
        };
        let signed_in = self
            .complete_sign_in(
                caller,
                user,
                Completion {
                    auth,
                    remember: attempt.remember,
                    previous_cookie: attempt.previous_cookie,
                    interaction: attempt.interaction,
                    rehash,
                    device_cookie: attempt.device_cookie,
                    upstream: None,
                },
            )
            .await?;
        Ok(signed_in)
    }

    /// Whether a role of `user` is one of `mfa.required_roles`.
    pub(crate) fn role_requires_mfa(&self, user: &User) -> bool {
        let required = &self.config.settings.mfa.required_roles;
        user.roles.iter().any(|r| required.contains(r))
    }

    /// A wrong password (or an unknown or disabled account): counted, audited, maybe locking.
    async fn password_failed(
        &self,
        caller: &Caller,
        target: &Target,
        typed: &str,
    ) -> ServiceResult<()> {
        let reason = match &target.user {
            None => "unknown_user",
            Some(_) => "wrong_password",
        };
        let mut event = Event::failure(EventType::SignIn)
            .typed_username(typed)
            .details(json!({ "method": "pwd", "reason": reason }));
        if let Some(user) = &target.user {
            event = event.user(&user.id, &user.username);
        }
        metrics::counter!(crate::metrics::SIGN_INS, "outcome" => "failure").increment(1);
        let now = self.now();
        let mut tx = self.db.write().await?;
        self.count_failure(&mut tx, caller, target, now).await?;
        self.record(&mut tx, caller, event, now).await?;
        Ok(tx.commit().await?)
    }

    /// The one completion step of every sign-in: a new session (new id and secret) replaces
    /// the browser's previous one and takes over its grants, so signing out later reaches
    /// them; `auth_time`, `amr` and `acr` are recorded; an upgraded password hash is stored;
    /// the event is audited. A complete sign-in also forgets the account's failed attempts,
    /// mails the owner when the device is new to the account, and gives the browser its
    /// device cookie. All in one transaction.
    pub async fn complete_sign_in(
        &self,
        caller: &Caller,
        user: User,
        completion: Completion,
    ) -> ServiceResult<SignedIn> {
        let Completion {
            auth,
            remember,
            previous_cookie,
            interaction,
            rehash,
            device_cookie,
            upstream,
        } = completion;
        let previous = self.find_session(previous_cookie.as_deref()).await?;
        let now = self.now();
        let session = self.sessions.issue(
            &user.id,
            &auth,
            remember,
            now,
            (caller.ip.clone(), caller.user_agent.clone()),
        );
        let mut tx = self.db.write().await?;
        if let Some(previous) = &previous {
            tx.delete_session(&previous.id).await?;
            tx.move_session_grants(&previous.id, &session.new.row.id)
                .await?;
        }
        tx.insert_session(&session.new).await?;
        if let Some(hash) = rehash {
            tx.set_password_hash(&user.id, &hash, now).await?;
        }
        let interaction = match interaction {
            Some(id) if tx.find_interaction(&id, now).await?.is_some() => Some(id),
            _ => None,
        };
        let caller = caller.as_actor(Actor::User(user.id.clone()));
        if auth.stage != Stage::Complete {
            self.record(
                &mut tx,
                &caller,
                Event::success(EventType::FirstFactorPassed)
                    .user(&user.id, &user.username)
                    .details(
                        json!({ "amr": auth.amr, "sid": session.new.row.id, "upstream": upstream }),
                    ),
                now,
            )
            .await?;
            tx.commit().await?;
            return Ok(SignedIn {
                session,
                user,
                resume: Resume::SecondFactor(interaction),
                device_cookie: None,
            });
        }
        self.clear_failures(&mut tx, &user.id, now).await?;
        metrics::counter!(crate::metrics::SIGN_INS, "outcome" => "success").increment(1);
        let epoch = tx
            .find_user(&user.id)
            .await?
            .map(|u| u.device_epoch)
            .unwrap_or_default();
        let key = self.device_key()?;
        let device = DeviceCookie::parse(device_cookie.as_deref());
        let new_device = !device.knows(&key, &user.id, epoch);
        if new_device {
            self.mail_new_device(&mut tx, &caller, &user, now).await?;
        }
        self.record(
            &mut tx,
            &caller,
            Event::success(EventType::SignIn)
                .user(&user.id, &user.username)
                .details(json!({
                    "amr": auth.amr,
                    "acr": auth.acr,
                    "remember": remember,
                    "sid": session.new.row.id,
                    "new_device": new_device,
                    "upstream": upstream,
                })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(SignedIn {
            session,
            device_cookie: Some(device.remember(&key, &user.id, epoch)),
            user,
            resume: match interaction {
                Some(id) => Resume::Authorization(id),
                None => Resume::Account,
            },
        })
    }

    /// Mails the owner about a sign-in from a device new to the account, with a "This wasn't
    /// me" link.
    async fn mail_new_device(
        &self,
        tx: &mut crate::store::Tx,
        caller: &Caller,
        user: &User,
        now: i64,
    ) -> ServiceResult<()> {
        self.mail_link(
            tx,
            LinkMail {
                kind: LinkKind::NotMe,
                user_id: Some(&user.id),
                username: &user.username,
                email: &user.email,
                template: "new_device",
                data: json!({}),
                context: json!({
                    "time": format_time(now),
                    "ip": caller.ip.as_deref().unwrap_or("unknown"),
                    "browser": device::describe(caller.user_agent.as_deref()),
                }),
            },
            now,
        )
        .await
    }
}
