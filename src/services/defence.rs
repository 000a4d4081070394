//! Sign-in defence: before any password work, an address that failed too often is throttled
//! and an account that failed too often from unknown devices is locked for them; after a
//! failure it is counted, and the failure that reaches the threshold places the lock, audits
//! it and mails the owner once. A device the owner signed in from before is never locked out,
//! so an attacker cannot lock the owner out. Counts live in the database, shared by nodes.

use serde_json::json;

use super::audit::{Event, EventType};
use super::links::{LinkKind, LinkMail};
use super::{Caller, ServiceResult, Services};
use crate::auth::device_cookie::DeviceCookie;
use crate::auth::lockout::{ACCOUNT_WINDOW_SECS, IP_WINDOW_SECS, LockoutPolicy};
use crate::auth::secret;
use crate::clock::format_time;
use crate::domain::User;
use crate::store::{Tx, UserRow};

/// Why a sign-in is refused before the password is even checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This address failed too often lately (password spraying): try again after so many
    /// seconds.
    Throttled(i64),
    /// This account failed too often from devices its owner never used: wait so many
    /// seconds, or reset the password.
    Locked(i64),
}

impl Refusal {
    /// The reason recorded in the audit log.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Throttled(_) => "ip_throttled",
            Refusal::Locked(_) => "locked",
        }
    }
}

/// Who a sign-in attempt is aimed at, as the defence sees it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The account's id, or a hash of the login typed when it names no account: the counters
    /// apply to any username, so a lock says nothing about whether the account exists.
    pub subject: String,
    /// The account, when there is one.
    pub user: Option<UserRow>,
    /// The browser holds a device cookie of this account.
    pub known_device: bool,
}

/// What a failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counted {
    /// Counted; no lock yet.
    Counted,
    /// This failure locked the account.
    Locked,
}

impl Services {
    fn lockout(&self) -> LockoutPolicy {
        LockoutPolicy::new(self.config.settings.lockout.clone())
    }

    /// The key of device cookie tags.
    pub(crate) fn device_key(&self) -> ServiceResult<[u8; 32]> {
        Ok(self.keys.master_key().derive_subkey("device-cookie")?)
    }

    /// The defence's view of an attempt on `login` (already looked up as `user`).
    pub(crate) fn target(
        &self,
        login: &str,
        user: Option<UserRow>,
        device_cookie: Option<&str>,
    ) -> ServiceResult<Target> {
        let key = self.device_key()?;
        Ok(match user {
            Some(user) => Target {
                subject: user.id.clone(),
                known_device: DeviceCookie::parse(device_cookie).knows(
                    &key,
                    &user.id,
                    user.device_epoch,
                ),
                user: Some(user),
            },
            None => Target {
                subject: format!("login:{}", secret::hash(&login.to_lowercase())),
                user: None,
                known_device: false,
            },
        })
    }

    /// Whether the address of `caller` is throttled: a refusal with the seconds to wait.
    pub(crate) async fn ip_refusal(&self, caller: &Caller) -> ServiceResult<Option<Refusal>> {
        let mut tx = self.db.read().await?;
        self.ip_refusal_in(&mut tx, caller, self.now()).await
    }

    async fn ip_refusal_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        now: i64,
    ) -> ServiceResult<Option<Refusal>> {
        let (Some(threshold), Some(ip)) = (self.lockout().ip_threshold(), caller.ip.as_deref())
        else {
            return Ok(None);
        };
        // The throttle lifts once the failure that reached the threshold leaves the window.
        let (count, reached_at) = tx
            .ip_failures(ip, now - IP_WINDOW_SECS, threshold - 1)
            .await?;
        Ok(match reached_at {
            Some(at) if count >= threshold => {
                Some(Refusal::Throttled((at + IP_WINDOW_SECS - now).max(1)))
            }
            _ => None,
        })
    }

    /// Whether a sign-in to `target` from this caller is refused before the password is
    /// checked. The refusal is audited; it does not count as a failure and does not extend a
    /// lock.
    pub(crate) async fn sign_in_refusal(
        &self,
        caller: &Caller,
        target: &Target,
        typed: &str,
    ) -> ServiceResult<Option<Refusal>> {
        let now = self.now();
        let mut tx = self.db.read().await?;
        let mut refusal = self.ip_refusal_in(&mut tx, caller, now).await?;
        if refusal.is_none() && !target.known_device {
            refusal = tx
                .find_lock(&target.subject)
                .await?
                .filter(|lock| lock.locked_until > now)
                .map(|lock| Refusal::Locked(lock.locked_until - now));
        }
        drop(tx);
        if let Some(refusal) = refusal {
            metrics::counter!(crate::metrics::SIGN_INS, "outcome" => "refused").increment(1);
            let mut event = Event::failure(EventType::SignIn)
                .typed_username(typed)
                .details(json!({ "method": "pwd", "reason": refusal.reason() }));
            if let Some(user) = &target.user {
                event = event.user(&user.id, &user.username);
            }
            self.record_failure(caller, event, self.now()).await;
        }
        Ok(refusal)
    }

    /// Counts a failed sign-in in `tx`: for the caller's address always, for the account
    /// unless the browser is a known device of it. The failure that reaches the threshold
    /// locks the account (each lock in a row twice as long), audits the lock and mails the
    /// owner.
    pub(crate) async fn count_failure(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        target: &Target,
        now: i64,
    ) -> ServiceResult<Counted> {
        let counts_for_account = !target.known_device;
        tx.insert_sign_in_failure(
            counts_for_account.then_some(target.subject.as_str()),
            caller.ip.as_deref(),
            now,
        )
        .await?;
        if !counts_for_account {
            return Ok(Counted::Counted);
        }
        let failures = tx
            .subject_failures(&target.subject, now - ACCOUNT_WINDOW_SECS)
            .await?;
        let policy = self.lockout();
        if !policy.locks_account(failures.len() as i64) {
            return Ok(Counted::Counted);
        }
        // A lock that ended within the last day makes this one the next in a row.
        let nth = match tx.find_lock(&target.subject).await? {
            Some(previous) if previous.locked_until > now - 24 * 3600 => previous.locks + 1,
            _ => 1,
        };
        let until = now + policy.lock_secs(nth);
        let user_id = target.user.as_ref().map(|u| u.id.as_str());
        if !tx
            .place_lock(&target.subject, user_id, now, until, nth)
            .await?
        {
            return Ok(Counted::Counted);
        }
        // The attempts behind this lock are spent: a new count starts after it.
        tx.forget_subject_failures(&target.subject).await?;
        let attempts = failures.len() as i64;
        let mut ips: Vec<String> = failures.into_iter().filter_map(|(_, ip)| ip).collect();
        ips.sort();
        ips.dedup();
        let mut event = Event::success(EventType::AccountLocked).details(json!({
            "until": until,
            "lock": nth,
            "attempts": attempts,
            "ips": ips,
        }));
        if let Some(user) = &target.user {
            event = event.user(&user.id, &user.username);
            self.mail_lock(tx, user, attempts, &ips, now, until).await?;
        }
        self.record(tx, caller, event, now).await?;
        Ok(Counted::Locked)
    }

    async fn mail_lock(
        &self,
        tx: &mut Tx,
        user: &UserRow,
        attempts: i64,
        ips: &[String],
        now: i64,
        until: i64,
    ) -> ServiceResult<()> {
        let ips = if ips.is_empty() {
            "unknown addresses".to_string()
        } else {
            ips.join(", ")
        };
        self.mail_link(
            tx,
            LinkMail {
                kind: LinkKind::ResetPassword,
                user_id: Some(&user.id),
                username: &user.username,
                email: &user.email,
                template: "account_locked",
                data: json!({}),
                context: json!({
                    "time": format_time(now),
                    "until": format_time(until),
                    "attempts": attempts,
                    "ips": ips,
                }),
            },
            now,
        )
        .await
    }

    /// After a complete sign-in: the account's failures stop counting, and a lock no longer
    /// in force is forgotten (the next one starts short again).
    pub(crate) async fn clear_failures(
        &self,
        tx: &mut Tx,
        user_id: &str,
        now: i64,
    ) -> ServiceResult<()> {
        tx.forget_subject_failures(user_id).await?;
        tx.delete_ended_lock(user_id, now).await?;
        Ok(())
    }

    /// `tessera user unlock`: lifts the lock of an account and forgets its failures. Returns
    /// the account and when the lock in force would have ended (`None`: none was).
    pub async fn unlock_user(
        &self,
        caller: &Caller,
        login: &str,
    ) -> ServiceResult<(User, Option<i64>)> {
        let user = self.user(login).await?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        let until = tx
            .find_lock(&user.id)
            .await?
            .map(|lock| lock.locked_until)
            .filter(|until| *until > now);
        tx.delete_lock(&user.id).await?;
        tx.forget_subject_failures(&user.id).await?;
        self.record(
            &mut tx,
            caller,
            Event::success(EventType::AccountUnlocked)
                .user(&user.id, &user.username)
                .details(json!({ "was_locked": until.is_some() })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok((user, until))
    }
}
