//! Self-service sign-up (`registration.mode`), e-mail verification and invitations.
//!
//! Signing up with an address that already has an account answers exactly as a fresh
//! sign-up does ("check your mail"), after the same hashing work, and mails the owner instead,
//! so the form reveals nothing. A self-registered account verifies its address before its
//! first sign-in completes (`registration.require_verified_email`); an invitation link proves
//! the address, so invited accounts start verified.

use serde_json::json;

use super::audit::{Event, EventType};
use super::links::{LinkKind, LinkMail, LinkProblem};
use super::{Actor, Caller, ServiceError, ServiceResult, Services, accounts, convert};
use crate::config::RegistrationMode;
use crate::domain::{Email, Username};

/// A sign-up form as submitted.
#[derive(Debug, Clone, Default)]
pub struct SignUpForm {
    /// Username.
    pub username: String,
    /// E-mail address (ignored with an invitation, which fixes it).
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Password.
    pub password: String,
    /// The password again.
    pub confirmation: String,
    /// The parked authorization request (`prompt=create`) to return to.
    pub interaction: Option<String>,
    /// The invitation token, in `invite` mode.
    pub invitation: Option<String>,
}

/// What a sign-up leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedUp {
    /// "Check your mail": the same answer whether the address was new or not.
    CheckYourMail,
    /// The account is ready (invited, or verification not required): sign in.
    Ready,
}

/// What the invitation page shows.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The invited address.
    pub email: String,
}

impl Services {
    /// Whether sign-up pages are offered at all.
    pub fn registration_mode(&self) -> RegistrationMode {
        self.config.settings.registration.mode
    }

    /// An invitation link's address, when the link works.
    pub async fn invitation(&self, token: &str) -> ServiceResult<Result<Invitation, LinkProblem>> {
        Ok(self
            .check_link(LinkKind::Invitation, token)
            .await?
            .map(|link| Invitation {
                email: link.row.email,
            }))
    }

    /// `POST /register`: validates the form and creates the account, or mails the owner of
    /// the address when it already has one.
    pub async fn sign_up(&self, caller: &Caller, form: SignUpForm) -> ServiceResult<SignedUp> {
        let settings = &self.config.settings.registration;
        let invitation = match (settings.mode, &form.invitation) {
            (RegistrationMode::Closed, _) => {
                return Err(ServiceError::Forbidden(
                    "accounts are created by an administrator here".into(),
                ));
            }
            (RegistrationMode::Invite, None) => {
                return Err(ServiceError::Forbidden(
                    "an invitation is needed to create an account here".into(),
                ));
            }
            (_, Some(token)) => match self.check_link(LinkKind::Invitation, token).await? {
                Ok(link) => Some(link),
                Err(_) => {
                    return Err(ServiceError::invalid(
                        "invitation",
                        "this invitation link is no longer valid; ask for a new one",
                    ));
                }
            },
            (RegistrationMode::Open, None) => None,
        };
        let email_text = match &invitation {
            Some(link) => link.row.email.clone(),
            None => form.email.clone(),
        };
        let username =
            Username::parse(&form.username).map_err(|m| ServiceError::invalid("username", m))?;
        let email = Email::parse(&email_text).map_err(|m| ServiceError::invalid("email", m))?;
        let name = accounts::display_name(form.name.as_deref())?;
        self.check_new_password(
            &form.password,
            Some(&form.confirmation),
            username.as_str(),
            email.as_str(),
        )?;
        // Hash in every case, so an address that has an account takes as long as a new one.
        let password_hash = self.passwords.hash(form.password).await?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        if let Some(owner) = tx.find_user_by_email(&email.normalized()).await? {
            let reset = self
                .issue_link(
                    &mut tx,
                    LinkKind::ResetPassword,
                    Some(&owner.id),
                    &owner.email,
                    json!({}),
                    now,
                )
                .await?;
            self.queue_mail(
                &mut tx,
                &owner.email,
                "signup_attempt",
                json!({ "username": owner.username, "reset_link": reset }),
                now,
            )
            .await?;
            self.record(
                &mut tx,
                caller,
                Event::failure(EventType::SignUp)
                    .user(&owner.id, &owner.username)
                    .typed_username(username.as_str())
                    .details(json!({ "reason": "email_taken" })),
                now,
            )
            .await?;
            tx.commit().await?;
            return Ok(SignedUp::CheckYourMail);
        }
        if tx
            .taken_login(&username.normalized(), &email.normalized())
            .await?
            .is_some()
        {
            return Err(ServiceError::conflict(
                "username",
                "that username is taken; choose another",
            ));
        }
        let roles = match &invitation {
            Some(link) => link.data["roles"]
                .as_array()
                .map(|roles| {
                    roles
                        .iter()
                        .filter_map(|r| r.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_else(|| settings.default_roles.clone()),
            None => settings.default_roles.clone(),
        };
        let roles = accounts::checked_roles(&mut tx, &roles).await?;
        if let Some(link) = &invitation
            && !tx.use_action_token(&link.hash, now).await?
        {
            return Err(ServiceError::invalid(
                "invitation",
                "this invitation link was used already",
            ));
        }
        let verified = invitation.is_some();
        let new = convert::new_user(
            &username,
            &email,
            name,
            password_hash,
            roles.clone(),
            verified,
            now,
        );
        tx.insert_user(&new).await?;
        let id = new.id;
        if !verified {
            self.mail_link(
                &mut tx,
                LinkMail {
                    kind: LinkKind::VerifyEmail,
                    user_id: Some(&id),
                    username: username.as_str(),
                    email: email.as_str(),
                    template: "verify_email",
                    data: json!({ "interaction": form.interaction }),
                    context: serde_json::Value::Null,
                },
                now,
            )
            .await?;
            // A request parked for sign-up waits as long as its verification link.
            if let Some(interaction) = &form.interaction {
                tx.extend_interaction(interaction, now + LinkKind::VerifyEmail.lifetime_secs())
                    .await?;
            }
        }
        self.record(
            &mut tx,
            &caller.as_actor(Actor::User(id.clone())),
            Event::success(EventType::SignUp)
                .user(&id, username.as_str())
                .details(json!({ "roles": roles, "invited": invitation.is_some() })),
            now,
        )
        .await?;
        tx.commit().await?;
        let must_verify = !verified && settings.require_verified_email;
        Ok(if must_verify {
            SignedUp::CheckYourMail
        } else {
            SignedUp::Ready
        })
    }

    /// `POST /verify-email`: confirms the address a link was sent to (a new account's, or
    /// the new address of an e-mail change). Returns the parked authorization request to
    /// resume after signing in, if the sign-up came from one.
    pub async fn verify_email(
        &self,
        caller: &Caller,
        token: &str,
    ) -> ServiceResult<Result<Option<String>, LinkProblem>> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let (link, kind) = match self
            .use_link(&mut tx, LinkKind::VerifyEmail, token, now)
            .await?
        {
            Ok(link) => (link, LinkKind::VerifyEmail),
            Err(LinkProblem::Unknown) => {
                match self
                    .use_link(&mut tx, LinkKind::ChangeEmail, token, now)
                    .await?
                {
                    Ok(link) => (link, LinkKind::ChangeEmail),
                    Err(problem) => return Ok(Err(problem)),
                }
            }
            Err(problem) => return Ok(Err(problem)),
        };
        let Some(user_id) = link.row.user_id.clone() else {
            return Ok(Err(LinkProblem::Unknown));
        };
        let Some(user) = tx.find_user(&user_id).await? else {
            return Ok(Err(LinkProblem::Unknown));
        };
        if kind == LinkKind::ChangeEmail {
            let new =
                Email::parse(&link.row.email).map_err(|m| ServiceError::invalid("email", m))?;
            if tx.find_user_by_email(&new.normalized()).await?.is_some() {
                return Err(ServiceError::conflict(
                    "email",
                    "another account uses that address now",
                ));
            }
            tx.set_email(&user.id, new.as_str(), &new.normalized(), now)
                .await?;
            self.queue_mail(
                &mut tx,
                &user.email,
                "email_changed",
                json!({ "username": user.username, "new_email": new.as_str() }),
                now,
            )
            .await?;
            self.record(
                &mut tx,
                &caller.as_actor(Actor::User(user.id.clone())),
                Event::success(EventType::EmailChanged)
                    .user(&user.id, &user.username)
                    .details(json!({ "from": user.email, "to": new.as_str() })),
                now,
            )
            .await?;
        } else {
            tx.set_email_verified(&user.id, now).await?;
            self.record(
                &mut tx,
                &caller.as_actor(Actor::User(user.id.clone())),
                Event::success(EventType::EmailVerified).user(&user.id, &user.username),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        let interaction = link.data["interaction"].as_str().map(str::to_string);
        Ok(Ok(interaction))
    }

    /// "Send the link again": mails a new verification link when `email` belongs to an
    /// account that still has to verify; the same answer otherwise.
    pub async fn resend_verification(&self, caller: &Caller, email: &str) -> ServiceResult<()> {
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        let now = self.now();
        let mut tx = self.db.write().await?;
        let Some(user) = tx
            .find_user_by_email(&email.normalized())
            .await?
            .filter(|u| u.email_verified == 0)
        else {
            return Ok(());
        };
        if self
            .link_limit_reached(&mut tx, LinkKind::VerifyEmail, &user.email, now)
            .await?
        {
            return Ok(());
        }
        self.mail_link(
            &mut tx,
            LinkMail {
                kind: LinkKind::VerifyEmail,
                user_id: Some(&user.id),
                username: &user.username,
                email: &user.email,
                template: "verify_email",
                data: json!({}),
                context: serde_json::Value::Null,
            },
            now,
        )
        .await?;
        self.record(
            &mut tx,
            caller,
            Event::success(EventType::VerificationResent).user(&user.id, &user.username),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `tessera user invite`: mails an invitation link to `email` with `roles` for the
    /// account it creates; returns the link.
    pub async fn invite(
        &self,
        caller: &Caller,
        email: &str,
        roles: &[String],
    ) -> ServiceResult<String> {
        self.audited(
            caller,
            Event::failure(EventType::InvitationSent).typed_username(email),
            async {
                let email = Email::parse(email).map_err(|m| ServiceError::invalid("email", m))?;
                let now = self.now();
                let mut tx = self.db.write().await?;
                let roles = if roles.is_empty() {
                    self.config.settings.registration.default_roles.clone()
                } else {
                    roles.to_vec()
                };
                let roles = accounts::checked_roles(&mut tx, &roles).await?;
                if tx.find_user_by_email(&email.normalized()).await?.is_some() {
                    return Err(ServiceError::conflict(
                        "email",
                        "an account with that address exists already",
                    ));
                }
                let link = self
                    .issue_link(
                        &mut tx,
                        LinkKind::Invitation,
                        None,
                        email.as_str(),
                        json!({ "roles": roles }),
                        now,
                    )
                    .await?;
                self.queue_mail(
                    &mut tx,
                    email.as_str(),
                    "invitation",
                    json!({ "link": link }),
                    now,
                )
                .await?;
                self.record(
                    &mut tx,
                    caller,
                    Event::success(EventType::InvitationSent)
                        .details(json!({ "email": email.as_str(), "roles": roles })),
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(link)
            },
        )
        .await
    }
}
