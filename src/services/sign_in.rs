//! Signing in. Every way of proving identity (password now; second factors, passkeys,
//! upstream providers and sign-up later) ends in [`Services::complete_sign_in`], the one step
//! that starts the session under a new id, records `auth_time`, `amr` and `acr`, carries over
//! the grants of the session it replaces, audits, and says where to resume.
//!
//! Password checks give one answer for an unknown user, a wrong password and a disabled
//! account, after the same hashing work, so neither words nor timing tell them apart.

use super::audit::{Event, EventType};
use super::{Actor, Caller, ServiceError, ServiceResult, Services, convert};
use crate::auth::password::Verified;
use crate::auth::session::{Authentication, IssuedSession};
use crate::domain::User;

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
}

/// Where the browser goes after signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// Back into the parked authorization request.
    Authorization(String),
    /// To the account page.
    Account,
}

/// A completed sign-in: the session cookie to set and where to go.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The new session (its cookie secret is shown to the browser only).
    pub session: IssuedSession,
    /// Who signed in.
    pub user: User,
    /// Where to continue.
    pub resume: Resume,
}

/// Why a sign-in did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Wrong credentials, unknown user or disabled account: one answer for all.
    #[error("incorrect username or password")]
    Rejected,
    /// The password was right, but the address of this self-registered account is not
    /// verified yet (`registration.require_verified_email`).
    #[error("the e-mail address is not verified yet")]
    Unverified,
    /// Something else failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl Services {
    /// Checks a username and password and, when they match an enabled account, completes
    /// the sign-in.
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
        let verified = self
            .passwords
            .verify(
                attempt.password,
                found.as_ref().map(|u| u.password_hash.clone()),
            )
            .await;
        let (row, rehash) = match (found, verified) {
            (Some(row), Verified::Yes) if row.enabled != 0 => (row, None),
            (Some(row), Verified::YesRehashed(hash)) if row.enabled != 0 => (row, Some(hash)),
            (found, _) => {
                let reason = match &found {
                    None => "unknown_user",
                    Some(u) if u.enabled == 0 => "account_disabled",
                    Some(_) => "wrong_password",
                };
                let mut event = Event::failure(EventType::SignIn)
                    .typed_username(&login)
                    .details(serde_json::json!({ "method": "pwd", "reason": reason }));
                if let Some(user) = &found {
                    event = event.user(&user.id, &user.username);
                }
                self.record_failure(caller, event, self.now()).await;
                return Err(SignInError::Rejected);
            }
        };
        if row.email_verified == 0 && self.config.settings.registration.require_verified_email {
            self.record_failure(
                caller,
                Event::failure(EventType::SignIn)
                    .user(&row.id, &row.username)
                    .details(serde_json::json!({ "method": "pwd", "reason": "email_unverified" })),
                self.now(),
            )
            .await;
            return Err(SignInError::Unverified);
        }
        let user = {
            let mut tx = self.db.read().await.map_err(ServiceError::from)?;
            let roles = tx.user_roles(&row.id).await.map_err(ServiceError::from)?;
            convert::user(row, roles)
        };
        let signed_in = self
            .complete_sign_in(
                caller,
                user,
                Completion {
                    auth: Authentication::password(),
                    remember: attempt.remember,
                    previous_cookie: attempt.previous_cookie,
                    interaction: attempt.interaction,
                    rehash,
                },
            )
            .await?;
        Ok(signed_in)
    }

    /// The one completion step of every sign-in: a new session (new id and secret) replaces
    /// the browser's previous one and takes over its grants, so signing out later reaches
    /// them; `auth_time`, `amr` and `acr` are recorded; an upgraded password hash is stored;
    /// the event is audited. All in one transaction.
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
        let resume = match interaction {
            Some(id) if tx.find_interaction(&id, now).await?.is_some() => Resume::Authorization(id),
            _ => Resume::Account,
        };
        self.record(
            &mut tx,
            &caller.as_actor(Actor::User(user.id.clone())),
            Event::success(EventType::SignIn)
                .user(&user.id, &user.username)
                .details(serde_json::json!({
                    "amr": auth.amr,
                    "acr": auth.acr,
                    "remember": remember,
                    "sid": session.new.row.id,
                })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(SignedIn {
            session,
            user,
            resume,
        })
    }
}
