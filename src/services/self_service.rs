//! The account area's use cases: what a signed-in user changes about their own account.
//! Each checks that the session's user acts on their own things, runs in one transaction and
//! is audited with the user as actor.

use serde_json::json;

use super::audit::{AuditEntry, AuditQuery, Event, EventType};
use super::links::{LinkKind, LinkMail};
use super::{Actor, Caller, ServiceError, ServiceResult, Services, accounts};
use crate::auth::password::Verified;
use crate::domain::{Email, Session, device};

/// A session as the sessions page lists it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    /// Session id.
    pub id: String,
    /// The device, named from its user agent.
    pub device: String,
    /// Where it signed in from.
    pub ip: Option<String>,
    /// When it signed in.
    pub signed_in_at: i64,
    /// When it was last used (coarse).
    pub last_used_at: i64,
    /// Whether it is the session looking at the page.
    pub current: bool,
}

/// An application the user allowed.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct GrantedApp {
    /// Its client id.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// The scopes allowed.
    pub scopes: Vec<String>,
    /// When they were last allowed.
    pub granted_at: i64,
}

/// The profile fields a user edits.
#[derive(Debug, Clone, Default)]
pub struct ProfileForm {
    /// Display name.
    pub name: Option<String>,
    /// Preferred language (BCP 47, e.g. `en`, `de-CH`).
    pub locale: Option<String>,
    /// Time zone (IANA, e.g. `Europe/Berlin`).
    pub time_zone: Option<String>,
}

fn trimmed(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl Services {
    /// Checks `password` against the session user's stored hash (same work when wrong). A
    /// full hashing queue is "try again", never "wrong password".
    pub(crate) async fn proves_password(
        &self,
        user_id: &str,
        password: String,
    ) -> ServiceResult<bool> {
        let stored = {
            let mut tx = self.db.read().await?;
            tx.find_user(user_id).await?.map(|u| u.password_hash)
        };
        match self.passwords.verify(password, stored).await {
            Verified::Yes | Verified::YesRehashed(_) => Ok(true),
            Verified::No => Ok(false),
            Verified::Busy => Err(crate::auth::password::PasswordError::Busy.into()),
        }
    }

    /// Saves the display name, language and time zone.
    pub async fn update_profile(
        &self,
        caller: &Caller,
        session: &Session,
        form: ProfileForm,
    ) -> ServiceResult<()> {
        let name = accounts::display_name(form.name.as_deref())?;
        let locale = trimmed(form.locale);
        let time_zone = trimmed(form.time_zone);
        let tag_like = |v: &str, extra: &[char]| {
            v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
        };
        if locale.as_deref().is_some_and(|l| !tag_like(l, &['-'])) {
            return Err(ServiceError::invalid(
                "locale",
                "use a language tag such as en or de-CH",
            ));
        }
        if time_zone
            .as_deref()
            .is_some_and(|z| !tag_like(z, &['/', '_', '-', '+']))
        {
            return Err(ServiceError::invalid(
                "time_zone",
                "use a time zone such as Europe/Berlin",
            ));
        }
        let user = self.user(&session.user_id).await?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        tx.set_profile(
            &session.user_id,
            (name.as_deref(), locale.as_deref(), time_zone.as_deref()),
            now,
        )
        .await?;
        self.record(
            &mut tx,
            &caller.as_actor(Actor::User(session.user_id.clone())),
            Event::success(EventType::ProfileUpdated)
                .user(&user.id, &user.username)
                .details(json!({ "name": name, "locale": locale, "time_zone": time_zone })),
            now,
        )
        .await?;
        Ok(tx.commit().await?)
    }

    /// Starts an e-mail change: a link to confirm goes to the new address, a notice to the
    /// old one; the address changes when the link is used.
    pub async fn request_email_change(
        &self,
        caller: &Caller,
        session: &Session,
        new_email: &str,
    ) -> ServiceResult<()> {
        let new = Email::parse(new_email).map_err(|m| ServiceError::invalid("email", m))?;
        let user = self.user(&session.user_id).await?;
        if new.normalized() == user.email.to_lowercase() {
            return Err(ServiceError::invalid(
                "email",
                "that is your address already",
            ));
        }
        let now = self.now();
        let mut tx = self.db.write().await?;
        // An address in use gets the same answer; its owner is not told anything.
        if tx.find_user_by_email(&new.normalized()).await?.is_none() {
            self.mail_link(
                &mut tx,
                LinkMail {
                    kind: LinkKind::ChangeEmail,
                    user_id: Some(&user.id),
                    username: &user.username,
                    email: new.as_str(),
                    template: "change_email",
                    data: json!({}),
                    context: serde_json::Value::Null,
                },
                now,
            )
            .await?;
        }
        self.queue_mail(
            &mut tx,
            &user.email,
            "email_change_requested",
            json!({ "username": user.username, "new_email": new.as_str() }),
            now,
        )
        .await?;
        self.record(
            &mut tx,
            &caller.as_actor(Actor::User(user.id.clone())),
            Event::success(EventType::EmailChangeRequested)
                .user(&user.id, &user.username)
                .details(json!({ "to": new.as_str() })),
            now,
        )
        .await?;
        Ok(tx.commit().await?)
    }

    /// Changes the password after proving the current one. Every other session ends (their
    /// grants with them); this one stays.
    pub async fn change_password(
        &self,
        caller: &Caller,
        session: &Session,
        current: String,
        new: String,
        confirmation: &str,
    ) -> ServiceResult<()> {
        let user = self.user(&session.user_id).await?;
        if !self.proves_password(&user.id, current).await? {
            return Err(ServiceError::invalid(
                "current_password",
                "the current password is not right",
            ));
        }
        self.check_new_password(&new, Some(confirmation), &user.username, &user.email)?;
        let hash = self.passwords.hash(new).await?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        tx.set_password_hash(&user.id, &hash, now).await?;
        let mut ended = 0;
        for other in tx.list_user_sessions(&user.id, now).await? {
            if other.id != session.id {
                self.end_session(&mut tx, &other.id, now).await?;
                ended += 1;
            }
        }
        self.record(
            &mut tx,
            &caller.as_actor(Actor::User(user.id.clone())),
            Event::success(EventType::PasswordChanged)
                .user(&user.id, &user.username)
                .details(json!({ "other_sessions_ended": ended })),
            now,
        )
        .await?;
        Ok(tx.commit().await?)
    }

    /// The user's live sessions, this one marked.
    pub async fn my_sessions(&self, session: &Session) -> ServiceResult<Vec<SessionInfo>> {
        self.sessions_of(&session.user_id, Some(&session.id)).await
    }

    /// A user's live sessions; `current` is marked.
    pub async fn sessions_of(
        &self,
        user_id: &str,
        current: Option<&str>,
    ) -> ServiceResult<Vec<SessionInfo>> {
        let mut tx = self.db.read().await?;
        Ok(tx
            .list_user_sessions(user_id, self.now())
            .await?
            .into_iter()
            .map(|s| SessionInfo {
                device: device::describe(s.user_agent.as_deref()),
                current: current == Some(s.id.as_str()),
                ip: s.ip,
                signed_in_at: s.auth_time,
                last_used_at: s.last_seen_at,
                id: s.id,
            })
            .collect())
    }

    /// Ends one of the user's sessions (`Some(id)`), or every one but this (`None`).
    pub async fn end_my_sessions(
        &self,
        caller: &Caller,
        session: &Session,
        which: Option<&str>,
    ) -> ServiceResult<u64> {
        let caller = caller.as_actor(Actor::User(session.user_id.clone()));
        self.end_sessions(&caller, &session.user_id, which, Some(&session.id))
            .await
    }

    /// Ends one session of a user (`Some(id)`), or all of them but `keep` (`None`); each
    /// ending revokes its grants and tells the clients that listen.
    pub async fn end_sessions(
        &self,
        caller: &Caller,
        user_id: &str,
        which: Option<&str>,
        keep: Option<&str>,
    ) -> ServiceResult<u64> {
        let user = self.user(user_id).await?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        let mut ended = 0;
        for other in tx.list_user_sessions(&user.id, now).await? {
            let chosen = match which {
                Some(id) => other.id == id,
                None => keep != Some(other.id.as_str()),
            };
            if chosen {
                self.end_session(&mut tx, &other.id, now).await?;
                ended += 1;
            }
        }
        if which.is_some() && ended == 0 {
            return Err(ServiceError::NotFound("session".into()));
        }
        let scope = match (which, keep) {
            (Some(id), _) => id,
            (None, Some(_)) => "others",
            (None, None) => "all",
        };
        self.record(
            &mut tx,
            caller,
            Event::success(EventType::SessionEnded)
                .user(&user.id, &user.username)
                .details(json!({ "ended": ended, "which": scope })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// The applications the user allowed.
    pub async fn my_apps(&self, session: &Session) -> ServiceResult<Vec<GrantedApp>> {
        self.apps_of(&session.user_id).await
    }

    /// The applications a user allowed.
    pub async fn apps_of(&self, user_id: &str) -> ServiceResult<Vec<GrantedApp>> {
        let mut tx = self.db.read().await?;
        Ok(tx
            .list_user_consents(user_id)
            .await?
            .into_iter()
            .map(|(client_id, name, scope, granted_at)| GrantedApp {
                client_id,
                name,
                scopes: scope
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                granted_at,
            })
            .collect())
    }

    /// Takes an application's access back: its consent is forgotten and every grant (refresh
    /// and access tokens) of the user to it is revoked.
    pub async fn revoke_my_app(
        &self,
        caller: &Caller,
        session: &Session,
        client_id: &str,
    ) -> ServiceResult<()> {
        let caller = caller.as_actor(Actor::User(session.user_id.clone()));
        self.revoke_app(&caller, &session.user_id, client_id).await
    }

    /// Takes an application's access to a user back (consent and grants).
    pub async fn revoke_app(
        &self,
        caller: &Caller,
        user_id: &str,
        client_id: &str,
    ) -> ServiceResult<()> {
        let user = self.user(user_id).await?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        let had_consent = tx.delete_consent(&user.id, client_id).await?;
        let revoked = tx
            .revoke_user_client_grants(&user.id, client_id, now)
            .await?;
        if !had_consent && revoked == 0 {
            return Err(ServiceError::NotFound(format!("application '{client_id}'")));
        }
        self.record(
            &mut tx,
            caller,
            Event::success(EventType::ConsentRevoked)
                .user(&user.id, &user.username)
                .client(client_id)
                .details(json!({ "grants_revoked": revoked })),
            now,
        )
        .await?;
        Ok(tx.commit().await?)
    }

    /// The user's recent audit events.
    pub async fn my_activity(&self, session: &Session) -> ServiceResult<Vec<AuditEntry>> {
        self.list_audit_events(AuditQuery {
            user: Some(session.user_id.clone()),
            limit: 50,
            ..AuditQuery::default()
        })
        .await
    }

    /// Deletes the user's own account after the password: sessions end, tokens are
    /// revoked, and everything that belongs to the account goes with it.
    pub async fn delete_my_account(
        &self,
        caller: &Caller,
        session: &Session,
        password: String,
    ) -> ServiceResult<()> {
        if !self.proves_password(&session.user_id, password).await? {
            return Err(ServiceError::invalid(
                "password",
                "the password is not right",
            ));
        }
        self.delete_user(
            &caller.as_actor(Actor::User(session.user_id.clone())),
            &session.user_id,
        )
        .await
        .map(|_| ())
    }
}
