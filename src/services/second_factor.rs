//! Two-factor authentication: setting up TOTP (a sealed secret, confirmed by a first code),
//! recovery codes (shown once, stored as keyed hashes), the second step of a sign-in and of a
//! step-up, and turning it off or resetting it. A TOTP code works once; five wrong codes end
//! the half-signed-in session and count as one failed sign-in for lockout.

use serde_json::json;

use super::audit::{Event, EventType};
use super::defence::Refusal;
use super::sign_in::{Completion, SignedIn};
use super::{Actor, Caller, ServiceError, ServiceResult, Services, convert};
use crate::auth::one_time_codes::{self, RECOVERY_CODES};
use crate::auth::secret;
use crate::auth::session::Authentication;
use crate::domain::User;
use crate::store::{SessionRow, Tx};

/// Wrong codes one half-signed-in session may type before it ends.
pub const MAX_CODE_FAILURES: i64 = 5;
/// The name authenticator apps show for Tessera's entries.
const TOTP_ISSUER: &str = "Tessera";

/// What the set-up page shows: the secret three ways.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret, base32 (for typing into an app).
    pub secret: String,
    /// The `otpauth://` URI (what the QR code holds).
    pub uri: String,
}

/// A session waiting for (or able to add) a second factor, with its user.
#[derive(Debug, Clone)]
pub struct FactorSession {
    /// The session (half or fully signed in).
    pub session: SessionRow,
    /// Its user.
    pub user: User,
    /// Whether the user has TOTP set up (else the page offers the set-up).
    pub enrolled: bool,
}

/// A second-factor code as typed, with what the completion needs.
#[derive(Debug, Clone)]
pub struct FactorAttempt {
    /// The session cookie's secret.
    pub cookie: Option<String>,
    /// A TOTP code or a recovery code.
    pub code: String,
    /// The parked authorization request, if any.
    pub interaction: Option<String>,
    /// The browser's device cookie.
    pub device_cookie: Option<String>,
}

/// Why a code did not complete the sign-in.
#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    /// No session waits for a second factor: sign in again.
    #[error("no sign-in is waiting for a code")]
    NoSession,
    /// The user has no second factor set up yet.
    #[error("no second factor is set up")]
    NotEnrolled,
    /// The code is wrong, used or expired; so many tries are left.
    #[error("that code is not right")]
    Wrong(i64),
    /// Too many wrong codes: the session ended.
    #[error("too many wrong codes")]
    Ended,
    /// The address is throttled.
    #[error("too many failed sign-ins")]
    Refused(Refusal),
    /// Something else failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::store::StoreError> for FactorError {
    fn from(e: crate::store::StoreError) -> Self {
        FactorError::Service(e.into())
    }
}

/// How a set-up during sign-in went.
#[derive(Debug)]
pub enum SignInEnrolment {
    /// Done: the sign-in, and the recovery codes to show once.
    Done(Box<SignedIn>, Vec<String>),
    /// The confirming code is not right.
    WrongCode,
    /// No session waits for a second factor: sign in again.
    NoSession,
}

/// Which kind of code was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accepted {
    Totp,
    Recovery,
}

impl Services {
    fn recovery_key(&self) -> ServiceResult<[u8; 32]> {
        Ok(self.keys.master_key().derive_subkey("recovery-codes")?)
    }

    /// The session of a cookie at any stage, with its user, for the second-factor pages.
    pub async fn factor_session(
        &self,
        cookie: Option<&str>,
    ) -> ServiceResult<Option<FactorSession>> {
        let Some(session) = self.find_session(cookie).await? else {
            return Ok(None);
        };
        let mut tx = self.db.read().await?;
        let Some((row, roles)) = tx.find_user_with_roles(&session.user_id).await? else {
            return Ok(None);
        };
        let enrolled = tx.has_totp(&row.id).await?;
        let user = convert::user(row, roles);
        Ok(user.enabled.then_some(FactorSession {
            session,
            user,
            enrolled,
        }))
    }

    /// Starts (or shows again) the TOTP set-up of a user who has none: the pending secret is
    /// kept sealed until a first code confirms it.
    pub async fn totp_enrolment(&self, user: &User) -> ServiceResult<Enrolment> {
        let master = self.keys.master_key();
        let now = self.now();
        let mut tx = self.db.write().await?;
        let secret = match tx.find_totp(&user.id).await? {
            Some(row) if row.confirmed_at.is_some() => {
                return Err(ServiceError::conflict(
                    "totp",
                    "two-factor authentication is already set up",
                ));
            }
            Some(row) => master.open(&row.secret)?,
            None => {
                let secret = one_time_codes::new_secret();
                tx.insert_pending_totp(&user.id, &master.seal(&secret)?, now)
                    .await?;
                secret
            }
        };
        tx.commit().await?;
        let uri = one_time_codes::otpauth_uri(&secret, TOTP_ISSUER, &user.username)
            .ok_or_else(|| anyhow::anyhow!("cannot build the otpauth URI"))?;
        Ok(Enrolment {
            secret: one_time_codes::base32(&secret),
            uri,
        })
    }

    /// Confirms a pending TOTP set-up with a current code: TOTP is on, and a fresh set of
    /// recovery codes is returned (to show once). `Ok(None)` when the code is not right.
    pub async fn confirm_totp(
        &self,
        caller: &Caller,
        user: &User,
        code: &str,
    ) -> ServiceResult<Option<Vec<String>>> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let Some(row) = tx.find_totp(&user.id).await? else {
            return Ok(None);
        };
        if row.confirmed_at.is_some() {
            return Err(ServiceError::conflict(
                "totp",
                "two-factor authentication is already set up",
            ));
        }
        let secret = self.keys.master_key().open(&row.secret)?;
        let accepted = match one_time_codes::matching_step(&secret, code, now, row.last_step) {
            Some(step) => tx.accept_totp_step(&user.id, step, now).await?,
            None => false,
        };
        if !accepted {
            return Ok(None);
        }
        let codes = self.store_recovery_codes(&mut tx, &user.id).await?;
        self.record(
            &mut tx,
            &caller.as_actor(Actor::User(user.id.clone())),
            Event::success(EventType::MfaEnrolled).user(&user.id, &user.username),
            now,
        )
        .await?;
        self.security_mail(
            &mut tx,
            user,
            "Two-factor authentication was turned on",
            "Signing in to your account now needs a code from your authenticator app (or one of your recovery codes) after the password.",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(codes))
    }

    async fn store_recovery_codes(&self, tx: &mut Tx, user_id: &str) -> ServiceResult<Vec<String>> {
        let key = self.recovery_key()?;
        let codes = one_time_codes::new_recovery_codes();
        let hashes: Vec<String> = codes
            .iter()
            .filter_map(|c| one_time_codes::canonical_recovery_code(c))
            .map(|c| secret::keyed_hash(&key, &[user_id, &c]))
            .collect();
        debug_assert_eq!(hashes.len(), RECOVERY_CODES);
        tx.replace_recovery_codes(user_id, &hashes).await?;
        Ok(codes)
    }

    /// Replaces a user's recovery codes; returns the new ones (to show once).
    pub async fn regenerate_recovery_codes(
        &self,
        caller: &Caller,
        user: &User,
    ) -> ServiceResult<Vec<String>> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        if !tx.has_totp(&user.id).await? {
            return Err(ServiceError::conflict(
                "totp",
                "set up two-factor authentication first",
            ));
        }
        let codes = self.store_recovery_codes(&mut tx, &user.id).await?;
        self.record(
            &mut tx,
            &caller.as_actor(Actor::User(user.id.clone())),
            Event::success(EventType::RecoveryCodesRegenerated).user(&user.id, &user.username),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Whether a user has TOTP set up.
    pub async fn has_totp(&self, user_id: &str) -> ServiceResult<bool> {
        let mut tx = self.db.read().await?;
        Ok(tx.has_totp(user_id).await?)
    }

    /// How many unused recovery codes a user has.
    pub async fn recovery_codes_left(&self, user_id: &str) -> ServiceResult<i64> {
        let mut tx = self.db.read().await?;
        Ok(tx.count_recovery_codes(user_id).await?)
    }

    /// Checks `code` (TOTP or recovery) for `user_id` in `tx`, consuming it when right.
    async fn accept_code(
        &self,
        tx: &mut Tx,
        user_id: &str,
        code: &str,
        now: i64,
    ) -> ServiceResult<Option<Accepted>> {
        let Some(row) = tx.find_totp(user_id).await? else {
            return Ok(None);
        };
        if row.confirmed_at.is_none() {
            return Ok(None);
        }
        if one_time_codes::is_totp_shaped(code) {
            let secret = self.keys.master_key().open(&row.secret)?;
            return Ok(
                match one_time_codes::matching_step(&secret, code, now, row.last_step) {
                    Some(step) if tx.accept_totp_step(user_id, step, now).await? => {
                        Some(Accepted::Totp)
                    }
                    _ => None,
                },
            );
        }
        let Some(canonical) = one_time_codes::canonical_recovery_code(code) else {
            return Ok(None);
        };
        let hash = secret::keyed_hash(&self.recovery_key()?, &[user_id, &canonical]);
        Ok(tx
            .use_recovery_code(user_id, &hash, now)
            .await?
            .then_some(Accepted::Recovery))
    }

    /// The second step of a sign-in (or a step-up): a right code completes it with two
    /// factors under a new session; a wrong one is counted, and the fifth ends the session and
    /// counts as one failed sign-in. A recovery code used is mailed to the owner.
    pub async fn verify_second_factor(
        &self,
        caller: &Caller,
        attempt: FactorAttempt,
    ) -> Result<SignedIn, FactorError> {
        if let Some(refusal) = self.ip_refusal(caller).await? {
            return Err(FactorError::Refused(refusal));
        }
        let Some(current) = self.factor_session(attempt.cookie.as_deref()).await? else {
            return Err(FactorError::NoSession);
        };
        if !current.enrolled {
            return Err(FactorError::NotEnrolled);
        }
        let user = current.user;
        let owner = caller.as_actor(Actor::User(user.id.clone()));
        let now = self.now();
        let mut tx = self.db.write().await?;
        let accepted = self
            .accept_code(&mut tx, &user.id, &attempt.code, now)
            .await?;
        let Some(accepted) = accepted else {
            metrics::counter!(crate::metrics::SIGN_INS, "outcome" => "failure").increment(1);
            let failures = tx.add_factor_failure(&current.session.id).await?;
            let ended = failures >= MAX_CODE_FAILURES;
            self.record(
                &mut tx,
                &owner,
                Event::failure(EventType::SignIn)
                    .user(&user.id, &user.username)
                    .details(
                        json!({ "method": "otp", "reason": "wrong_code", "session_ended": ended }),
                    ),
                now,
            )
            .await?;
            if ended {
                self.end_session(&mut tx, &current.session.id, now).await?;
                let row = tx.find_user(&user.id).await?;
                let target = self.target(&user.username, row, attempt.device_cookie.as_deref())?;
                self.count_failure(&mut tx, caller, &target, now).await?;
            }
            tx.commit().await?;
            return Err(if ended {
                FactorError::Ended
            } else {
                FactorError::Wrong(MAX_CODE_FAILURES - failures)
            });
        };
        if accepted == Accepted::Recovery {
            let left = tx.count_recovery_codes(&user.id).await?;
            self.record(
                &mut tx,
                &owner,
                Event::success(EventType::RecoveryCodeUsed)
                    .user(&user.id, &user.username)
                    .details(json!({ "left": left })),
                now,
            )
            .await?;
            self.security_mail(
                &mut tx,
                &user,
                "A recovery code was used to sign in",
                &format!("A recovery code was just used to sign in to your account instead of a code from your authenticator app. {left} unused recovery codes are left; you can make a new set on your account's security page."),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(self
            .complete_sign_in(
                caller,
                user,
                Completion {
                    auth: Authentication::two_factor_after(&current.session.amr),
                    remember: current.session.remember != 0,
                    previous_cookie: attempt.cookie,
                    interaction: attempt.interaction,
                    rehash: None,
                    device_cookie: attempt.device_cookie,
                    upstream: None,
                },
            )
            .await?)
    }

    /// Sets up TOTP during a sign-in that demands it (a role requires it, or a client asked
    /// for two factors): the confirming code is the second factor, so the sign-in completes
    /// with two factors.
    pub async fn enrol_during_sign_in(
        &self,
        caller: &Caller,
        attempt: FactorAttempt,
    ) -> ServiceResult<SignInEnrolment> {
        let Some(current) = self.factor_session(attempt.cookie.as_deref()).await? else {
            return Ok(SignInEnrolment::NoSession);
        };
        let Some(codes) = self
            .confirm_totp(caller, &current.user, &attempt.code)
            .await?
        else {
            return Ok(SignInEnrolment::WrongCode);
        };
        let signed_in = self
            .complete_sign_in(
                caller,
                current.user,
                Completion {
                    auth: Authentication::two_factor_after(&current.session.amr),
                    remember: current.session.remember != 0,
                    previous_cookie: attempt.cookie,
                    interaction: attempt.interaction,
                    rehash: None,
                    device_cookie: attempt.device_cookie,
                    upstream: None,
                },
            )
            .await?;
        Ok(SignInEnrolment::Done(Box::new(signed_in), codes))
    }

    /// Turns TOTP off after the password and a current code prove the owner; recovery codes
    /// go too. `Ok(false)` when either is wrong.
    pub async fn disable_totp(
        &self,
        caller: &Caller,
        user: &User,
        password: String,
        code: &str,
    ) -> ServiceResult<bool> {
        let password_right = self.proves_password(&user.id, password).await?;
        let owner = caller.as_actor(Actor::User(user.id.clone()));
        let now = self.now();
        let mut tx = self.db.write().await?;
        // Only an authenticator code turns it off (a recovery code typed here is not spent).
        let proven = password_right
            && one_time_codes::is_totp_shaped(code)
            && self.accept_code(&mut tx, &user.id, code, now).await? == Some(Accepted::Totp);
        if !proven {
            drop(tx);
            self.record_failure(
                &owner,
                Event::failure(EventType::MfaDisabled)
                    .user(&user.id, &user.username)
                    .details(json!({ "reason": "wrong_password_or_code" })),
                now,
            )
            .await;
            return Ok(false);
        }
        tx.delete_second_factor(&user.id).await?;
        self.record(
            &mut tx,
            &owner,
            Event::success(EventType::MfaDisabled).user(&user.id, &user.username),
            now,
        )
        .await?;
        self.security_mail(
            &mut tx,
            user,
            "Two-factor authentication was turned off",
            "Signing in to your account no longer asks for a code after the password.",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// `tessera user reset-mfa`: removes a user's second factor (they set up a new one at
    /// their next sign-in if a role demands it); audited and mailed. Returns the account and
    /// whether it had one.
    pub async fn reset_mfa(&self, caller: &Caller, login: &str) -> ServiceResult<(User, bool)> {
        let user = self.user(login).await?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        let had = tx.delete_second_factor(&user.id).await?;
        self.record(
            &mut tx,
            caller,
            Event::success(EventType::MfaReset)
                .user(&user.id, &user.username)
                .details(json!({ "had_second_factor": had })),
            now,
        )
        .await?;
        if had {
            self.security_mail(
                &mut tx,
                &user,
                "Your second factor was reset",
                "An administrator removed the two-factor authentication of your account. Set it up again on your account's security page.",
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok((user, had))
    }

    /// Queues a short security notice to the owner.
    pub(crate) async fn security_mail(
        &self,
        tx: &mut Tx,
        user: &User,
        subject: &str,
        message: &str,
        now: i64,
    ) -> ServiceResult<()> {
        self.queue_mail(
            tx,
            &user.email,
            "security_notice",
            json!({
                "username": user.username,
                "subject": subject,
                "message": message,
                "forgot_link": format!("{}/forgot-password", self.config.issuer),
            }),
            now,
        )
        .await
    }
}
