//! Forgotten passwords: `/forgot-password` mails a reset link (the same answer whether or not
//! the account exists, and at most three links per address in 15 minutes); the link sets a
//! new password, ends every session, revokes every grant, and mails a notice.

use serde_json::json;

use super::audit::{Event, EventType};
use super::links::{LinkKind, LinkMail, LinkProblem};
use super::{Actor, Caller, ServiceResult, Services};

impl Services {
    /// `POST /forgot-password`: mails a reset link when `login` (an e-mail address or a
    /// username) names an account and the address's limit allows; the caller always answers
    /// the same.
    pub async fn forgot_password(&self, caller: &Caller, login: &str) -> ServiceResult<()> {
        let login = login.trim().to_lowercase();
        if login.is_empty() || login.len() > 254 {
            return Ok(());
        }
        let now = self.now();
        let mut tx = self.db.write().await?;
        let Some(user) = tx.find_user_by_login(&login).await? else {
            self.record(
                &mut tx,
                caller,
                Event::failure(EventType::PasswordResetRequested)
                    .typed_username(&login)
                    .details(json!({ "reason": "unknown_user" })),
                now,
            )
            .await?;
            return Ok(tx.commit().await?);
        };
        if self
            .link_limit_reached(&mut tx, LinkKind::ResetPassword, &user.email, now)
            .await?
        {
            self.record(
                &mut tx,
                caller,
                Event::failure(EventType::PasswordResetRequested)
                    .user(&user.id, &user.username)
                    .details(json!({ "reason": "rate_limited" })),
                now,
            )
            .await?;
            return Ok(tx.commit().await?);
        }
        self.mail_reset_link(&mut tx, (&user.id, &user.username, &user.email), now)
            .await?;
        self.record(
            &mut tx,
            caller,
            Event::success(EventType::PasswordResetRequested).user(&user.id, &user.username),
            now,
        )
        .await?;
        Ok(tx.commit().await?)
    }

    /// `POST /reset-password`: sets the new password a reset link allows. Every session of
    /// the user ends and every grant is revoked; the address counts as verified (the link
    /// reached it); the owner is mailed a notice.
    pub async fn reset_password(
        &self,
        caller: &Caller,
        token: &str,
        password: String,
        confirmation: &str,
    ) -> ServiceResult<Result<(), LinkProblem>> {
        let link = match self.check_link(LinkKind::ResetPassword, token).await? {
            Ok(link) => link,
            Err(problem) => return Ok(Err(problem)),
        };
        let Some(user_id) = link.row.user_id.clone() else {
            return Ok(Err(LinkProblem::Unknown));
        };
        let user = self.user(&user_id).await?;
        self.check_new_password(&password, Some(confirmation), &user.username, &user.email)?;
        let hash = self.passwords.hash(password).await?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        if let Err(problem) = self
            .use_link(&mut tx, LinkKind::ResetPassword, token, now)
            .await?
        {
            return Ok(Err(problem));
        }
        tx.set_password_hash(&user.id, &hash, now).await?;
        tx.set_email_verified(&user.id, now).await?;
        let (sessions, grants) = self.end_all_sessions(&mut tx, &user.id, now).await?;
        self.queue_mail(
            &mut tx,
            &user.email,
            "password_changed",
            json!({ "username": user.username, "forgot_link": format!("{}/forgot-password", self.config.issuer) }),
            now,
        )
        .await?;
        self.record(
            &mut tx,
            &caller.as_actor(Actor::User(user.id.clone())),
            Event::success(EventType::PasswordReset)
                .user(&user.id, &user.username)
                .details(json!({ "sessions_ended": sessions, "grants_revoked": grants })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// `POST /not-me`: the owner disowns a sign-in from a new device. Every device cookie of
    /// the account is disowned, every session ends, every grant (refresh tokens included) is
    /// revoked, the password stops working and a reset link is mailed, so whoever signed in
    /// is out and cannot come back with the password they used.
    pub async fn disown_sign_in(
        &self,
        caller: &Caller,
        token: &str,
    ) -> ServiceResult<Result<(), LinkProblem>> {
        let link = match self.check_link(LinkKind::NotMe, token).await? {
            Ok(link) => link,
            Err(problem) => return Ok(Err(problem)),
        };
        let Some(user_id) = link.row.user_id.clone() else {
            return Ok(Err(LinkProblem::Unknown));
        };
        let user = self.user(&user_id).await?;
        // A hash of a random secret nobody knows: the old password no longer signs in.
        let unusable = self.passwords.hash(crate::auth::secret::generate()).await?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        if let Err(problem) = self.use_link(&mut tx, LinkKind::NotMe, token, now).await? {
            return Ok(Err(problem));
        }
        tx.bump_device_epoch(&user.id).await?;
        tx.set_password_hash(&user.id, &unusable, now).await?;
        let (sessions, grants) = self.end_all_sessions(&mut tx, &user.id, now).await?;
        self.mail_reset_link(&mut tx, (&user.id, &user.username, &user.email), now)
            .await?;
        self.record(
            &mut tx,
            &caller.as_actor(Actor::User(user.id.clone())),
            Event::success(EventType::SignInDisowned)
                .user(&user.id, &user.username)
                .details(json!({ "sessions_ended": sessions, "grants_revoked": grants })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Mails the owner of an account (id, username, address) a password-reset link.
    pub(crate) async fn mail_reset_link(
        &self,
        tx: &mut crate::store::Tx,
        owner: (&str, &str, &str),
        now: i64,
    ) -> ServiceResult<()> {
        self.mail_password_link(tx, owner, "reset_password", now)
            .await
    }

    /// Mails the owner of an account a link to choose a password, in mail `template`.
    pub(crate) async fn mail_password_link(
        &self,
        tx: &mut crate::store::Tx,
        (user_id, username, email): (&str, &str, &str),
        template: &str,
        now: i64,
    ) -> ServiceResult<()> {
        self.mail_link(
            tx,
            LinkMail {
                kind: LinkKind::ResetPassword,
                user_id: Some(user_id),
                username,
                email,
                template,
                data: json!({}),
                context: json!({}),
            },
            now,
        )
        .await
    }
}
