//! The audit log: who did what, from where, with what outcome. Every use case records its
//! event in its own transaction; a failure is recorded in a transaction of its own after the
//! failed one rolled back. Failures from callers who proved nothing (no session, no client
//! authentication) are merged per address and minute, so a flood cannot grow the table
//! without bound. Text that comes from clients is cleaned of control characters before it is
//! stored or logged, and a username typed into a failed sign-in goes only to the table.

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{ServiceError, ServiceResult, Services};
use crate::store::{AuditFilter, AuditRow, NewAuditEvent, Tx};

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Someone who has proved nothing yet.
    Anonymous,
    /// A signed-in user acting for themselves.
    User(String),
    /// An authenticated OAuth client.
    Client(String),
    /// A signed-in administrator acting on others.
    Admin(String),
    /// The command line on the server.
    Cli,
}

impl Actor {
    fn parts(&self) -> (&'static str, Option<String>) {
        match self {
            Actor::Anonymous => ("anonymous", None),
            Actor::User(id) => ("user", Some(id.clone())),
            Actor::Client(id) => ("client", Some(id.clone())),
            Actor::Admin(id) => ("admin", Some(id.clone())),
            Actor::Cli => ("cli", None),
        }
    }
}

/// The party behind a use case: the actor and where the request came from.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who acts.
    pub actor: Actor,
    /// Client IP address (see `trusted_proxies`).
    pub ip: Option<String>,
    /// The User-Agent header.
    pub user_agent: Option<String>,
}

impl Caller {
    /// The command line.
    pub fn cli() -> Caller {
        Caller {
            actor: Actor::Cli,
            ip: None,
            user_agent: None,
        }
    }

    /// The same request, now acting as `actor`.
    pub fn as_actor(&self, actor: Actor) -> Caller {
        Caller {
            actor,
            ..self.clone()
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// A sign-in (any method).
    SignIn,
    /// A sign-out, by the user or by an application.
    SignOut,
    /// The user allowed a client scopes.
    ConsentGranted,
    /// The user refused a client.
    ConsentDenied,
    /// An authorization code was exchanged (or the exchange failed).
    CodeRedeemed,
    /// A refresh token was refused.
    RefreshFailed,
    /// A grant (and its tokens) was revoked.
    GrantRevoked,
    /// A token was revoked by its client (RFC 7009).
    TokenRevoked,
    /// A client failed to authenticate.
    ClientAuthFailed,
    /// An account was created.
    UserCreated,
    /// An account was deleted.
    UserDeleted,
    /// An account was disabled.
    UserDisabled,
    /// An account was enabled.
    UserEnabled,
    /// A password was set.
    PasswordSet,
    /// A user's roles were replaced.
    RolesSet,
    /// A role was added to the catalogue.
    RoleCreated,
    /// A role was removed from the catalogue.
    RoleDeleted,
    /// A scope was added to the catalogue.
    ScopeCreated,
    /// A scope was removed from the catalogue.
    ScopeDeleted,
    /// A client was registered.
    ClientCreated,
    /// A client was deleted.
    ClientDeleted,
    /// A client's settings were changed.
    ClientUpdated,
    /// An initial access token for client registration was made.
    InitialTokenCreated,
    /// A client's secret was replaced.
    ClientSecretRotated,
    /// New signing keys were generated.
    KeyRotated,
    /// Someone signed up (or tried to, with an address that has an account).
    SignUp,
    /// An address was confirmed through its link.
    EmailVerified,
    /// A verification link was asked for again.
    VerificationResent,
    /// Someone asked for a password reset link.
    PasswordResetRequested,
    /// A password was reset through its link.
    PasswordReset,
    /// A user changed their own password.
    PasswordChanged,
    /// An invitation was sent.
    InvitationSent,
    /// A user asked to change their address.
    EmailChangeRequested,
    /// A user's address changed.
    EmailChanged,
    /// A user changed their profile.
    ProfileUpdated,
    /// A session was ended from the account or admin pages.
    SessionEnded,
    /// A user took back an application's access.
    ConsentRevoked,
    /// A password was accepted and the second factor is asked for.
    FirstFactorPassed,
    /// Sign-in to an account was locked for unknown devices after failed attempts.
    AccountLocked,
    /// An admin lifted an account's lock.
    AccountUnlocked,
    /// A user set up TOTP.
    MfaEnrolled,
    /// A user turned TOTP off.
    MfaDisabled,
    /// An admin removed a user's second factor.
    MfaReset,
    /// A user replaced their recovery codes.
    RecoveryCodesRegenerated,
    /// A recovery code was used to sign in.
    RecoveryCodeUsed,
    /// The owner disowned a sign-in through "This wasn't me".
    SignInDisowned,
    /// An upstream provider was added (or changed by the configuration file).
    UpstreamSaved,
    /// An upstream provider was removed.
    UpstreamRemoved,
    /// An upstream identity was linked to an account.
    IdentityLinked,
    /// An upstream identity was unlinked from an account.
    IdentityUnlinked,
}

impl EventType {
    /// The snake-case name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::SignIn => "sign_in",
            EventType::SignOut => "sign_out",
            EventType::ConsentGranted => "consent_granted",
            EventType::ConsentDenied => "consent_denied",
            EventType::CodeRedeemed => "code_redeemed",
            EventType::RefreshFailed => "refresh_failed",
            EventType::GrantRevoked => "grant_revoked",
            EventType::TokenRevoked => "token_revoked",
            EventType::ClientAuthFailed => "client_auth_failed",
            EventType::UserCreated => "user_created",
            EventType::UserDeleted => "user_deleted",
            EventType::UserDisabled => "user_disabled",
            EventType::UserEnabled => "user_enabled",
            EventType::PasswordSet => "password_set",
            EventType::RolesSet => "roles_set",
            EventType::RoleCreated => "role_created",
            EventType::RoleDeleted => "role_deleted",
            EventType::ScopeCreated => "scope_created",
            EventType::ScopeDeleted => "scope_deleted",
            EventType::ClientCreated => "client_created",
            EventType::ClientDeleted => "client_deleted",
            EventType::ClientUpdated => "client_updated",
            EventType::InitialTokenCreated => "initial_token_created",
            EventType::ClientSecretRotated => "client_secret_rotated",
            EventType::KeyRotated => "key_rotated",
            EventType::SignUp => "sign_up",
            EventType::EmailVerified => "email_verified",
            EventType::VerificationResent => "verification_resent",
            EventType::PasswordResetRequested => "password_reset_requested",
            EventType::PasswordReset => "password_reset",
            EventType::PasswordChanged => "password_changed",
            EventType::InvitationSent => "invitation_sent",
            EventType::EmailChangeRequested => "email_change_requested",
            EventType::EmailChanged => "email_changed",
            EventType::ProfileUpdated => "profile_updated",
            EventType::SessionEnded => "session_ended",
            EventType::ConsentRevoked => "consent_revoked",
            EventType::FirstFactorPassed => "first_factor_passed",
            EventType::AccountLocked => "account_locked",
            EventType::AccountUnlocked => "account_unlocked",
            EventType::MfaEnrolled => "mfa_enrolled",
            EventType::MfaDisabled => "mfa_disabled",
            EventType::MfaReset => "mfa_reset",
            EventType::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            EventType::RecoveryCodeUsed => "recovery_code_used",
            EventType::SignInDisowned => "sign_in_disowned",
            EventType::UpstreamSaved => "upstream_saved",
            EventType::UpstreamRemoved => "upstream_removed",
            EventType::IdentityLinked => "identity_linked",
            EventType::IdentityUnlinked => "identity_unlinked",
        }
    }
}

/// One event about to be recorded.
#[derive(Debug, Clone)]
pub struct Event {
    kind: EventType,
    success: bool,
    user: Option<(String, String)>,
    username: Option<String>,
    client_id: Option<String>,
    details: Value,
}

impl Event {
    /// Something that happened as asked.
    pub fn success(kind: EventType) -> Event {
        Event {
            kind,
            success: true,
            user: None,
            username: None,
            client_id: None,
            details: json!({}),
        }
    }

    /// Something that was refused or failed.
    pub fn failure(kind: EventType) -> Event {
        Event {
            success: false,
            ..Event::success(kind)
        }
    }

    /// The user it concerns (id and username).
    pub fn user(mut self, id: &str, username: &str) -> Event {
        self.user = Some((id.to_string(), username.to_string()));
        self
    }

    /// The username as typed (failed sign-ins).
    pub fn typed_username(mut self, typed: &str) -> Event {
        self.username = Some(clean(typed));
        self
    }

    /// The client involved.
    pub fn client(mut self, client_id: &str) -> Event {
        self.client_id = Some(clean(client_id));
        self
    }

    /// Further facts (a JSON object; string values are cleaned).
    pub fn details(mut self, details: Value) -> Event {
        self.details = clean_json(details);
        self
    }
}

/// At most this many characters of any text a client sent are kept.
const MAX_TEXT: usize = 200;

/// Client-supplied text made safe to store and print: control characters (newlines, escape
/// sequences) become visible escapes, and the length is bounded.
pub fn clean(text: &str) -> String {
    text.chars()
        .take(MAX_TEXT)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn clean_json(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(clean(&s)),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, clean_json(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(clean_json).collect()),
        other => other,
    }
}

impl Services {
    /// The row recording `event`, for a store call that writes it together with the change
    /// it records; [`log`] it once written.
    pub(crate) fn audit_row(&self, caller: &Caller, event: &Event, now: i64) -> NewAuditEvent {
        let (actor_kind, actor_id) = caller.actor.parts();
        let ip = caller.ip.as_deref().map(clean);
        let user_agent = caller.user_agent.as_deref().map(clean);
        let details = event.details.to_string();
        // A caller who proved nothing can repeat a failure at will: identical ones share a row.
        let dedupe_key = (!event.success && caller.actor == Actor::Anonymous).then(|| {
            let mut hash = Sha256::new();
            for part in [
                event.kind.as_str(),
                ip.as_deref().unwrap_or_default(),
                event.username.as_deref().unwrap_or_default(),
                event.client_id.as_deref().unwrap_or_default(),
                &details,
                &(now / 60).to_string(),
            ] {
                hash.update(part.as_bytes());
                hash.update([0]);
            }
            crate::auth::secret::hex(&hash.finalize())
        });
        NewAuditEvent {
            time: now,
            kind: event.kind.as_str().to_string(),
            outcome: if event.success { "success" } else { "failure" },
            actor_kind,
            actor_id,
            user_id: event.user.as_ref().map(|(id, _)| id.clone()),
            user_name: event.user.as_ref().map(|(_, name)| name.clone()),
            username: event.username.clone(),
            client_id: event.client_id.clone(),
            ip,
            user_agent,
            details,
            dedupe_key,
        }
    }

    /// Records `event` in the caller's transaction, and logs it.
    pub(crate) async fn record(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        event: Event,
        now: i64,
    ) -> ServiceResult<()> {
        let row = self.audit_row(caller, &event, now);
        log(&row);
        tx.insert_audit_event(&row).await?;
        Ok(())
    }

    /// Records a failure in a transaction of its own (the failed use case rolled back). A
    /// database that cannot take it is logged, not turned into the caller's error.
    pub(crate) async fn record_failure(&self, caller: &Caller, event: Event, now: i64) {
        let row = self.audit_row(caller, &event, now);
        log(&row);
        let written = async {
            let mut tx = self.db.write().await?;
            tx.insert_audit_event(&row).await?;
            tx.commit().await
        };
        if let Err(e) = written.await {
            tracing::warn!(error = %e, event = row.kind, "could not record an audit event");
        }
    }

    /// Runs the use case `work`; when it fails, its failure is recorded as `event` (with the
    /// reason) after its transaction rolled back.
    pub(crate) async fn audited<T>(
        &self,
        caller: &Caller,
        event: Event,
        work: impl std::future::Future<Output = ServiceResult<T>>,
    ) -> ServiceResult<T> {
        let result = work.await;
        if let Err(error) = &result {
            let reason = match error {
                // Server faults are logged with their cause; the table gets no internals.
                ServiceError::Internal(_) => "internal error".to_string(),
                other => other.to_string(),
            };
            let details = match event.details.clone() {
                Value::Object(mut map) => {
                    map.insert("error".into(), Value::String(reason));
                    Value::Object(map)
                }
                _ => json!({ "error": reason }),
            };
            self.record_failure(caller, event.details(details), self.now())
                .await;
        }
        result
    }

    /// `tessera audit list`: events matching `query`, newest first.
    pub async fn list_audit_events(&self, query: AuditQuery) -> ServiceResult<Vec<AuditEntry>> {
        let after = match query.after.as_deref() {
            None => None,
            Some(cursor) => Some(
                cursor
                    .split_once('.')
                    .and_then(|(t, i)| Some((t.parse().ok()?, i.parse().ok()?)))
                    .ok_or_else(|| ServiceError::invalid("cursor", "not a cursor of this list"))?,
            ),
        };
        let filter = AuditFilter {
            user: query.user,
            kind: query.kind,
            since: query.since_secs.map(|s| self.now() - s).or(query.since),
            until: query.until,
            client: query.client,
            outcome: query.outcome,
            after,
            limit: query.limit.clamp(1, 10_000),
        };
        let mut tx = self.db.read().await?;
        let rows = tx.list_audit_events(&filter).await?;
        Ok(rows.into_iter().map(AuditEntry::from_row).collect())
    }
}

/// The sign-ins of one hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourOfSignIns {
    /// The hour's start, Unix seconds.
    pub start: i64,
    /// Successful sign-ins.
    pub succeeded: i64,
    /// Failed sign-ins.
    pub failed: i64,
}

impl Services {
    /// Sign-ins and failed sign-ins in each of the last `hours` hours (the current one
    /// included), oldest first.
    pub async fn sign_ins_per_hour(&self, hours: i64) -> ServiceResult<Vec<HourOfSignIns>> {
        let current = self.now() / 3600;
        let first = current - hours + 1;
        let counts = {
            let mut tx = self.db.read().await?;
            tx.sign_ins_per_hour(first * 3600).await?
        };
        let mut out: Vec<HourOfSignIns> = (first..=current)
            .map(|h| HourOfSignIns {
                start: h * 3600,
                succeeded: 0,
                failed: 0,
            })
            .collect();
        for (hour, outcome, n) in counts {
            let Some(slot) = usize::try_from(hour - first)
                .ok()
                .and_then(|i| out.get_mut(i))
            else {
                continue;
            };
            if outcome == "success" {
                slot.succeeded += n;
            } else {
                slot.failed += n;
            }
        }
        Ok(out)
    }
}

/// Writes an audit event to the log too.
pub(crate) fn log(row: &NewAuditEvent) {
    // Debug formatting (`?`) escapes whatever a client managed to put into these values. Info
    // level: the server shows it by default, the CLI (warnings only) keeps its one-line errors.
    tracing::info!(
        event = row.kind,
        outcome = row.outcome,
        actor = row.actor_kind,
        user_id = ?row.user_id,
        client_id = ?row.client_id,
        ip = ?row.ip,
        details = %row.details,
        "audit"
    );
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Events concerning this user (id or username).
    pub user: Option<String>,
    /// Events of this type (`sign_in`, …).
    pub kind: Option<String>,
    /// Events of the last this many seconds.
    pub since_secs: Option<i64>,
    /// Events at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Events before this time (Unix seconds).
    pub until: Option<i64>,
    /// Events involving this client.
    pub client: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// The cursor of the previous page's last event.
    pub after: Option<String>,
    /// At most this many.
    pub limit: i64,
}

/// An event as `audit list --json` and the admin API show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Where this event stands in the newest-first order: pass it as `cursor` to list the
    /// events after it.
    pub cursor: String,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// Event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// `success` or `failure`.
    pub outcome: String,
    /// Who acted: `{ "kind", "id" }`.
    #[schema(value_type = Object)]
    pub actor: Value,
    /// The user concerned: `{ "id", "username" }`.
    #[schema(value_type = Option<Object>)]
    pub user: Option<Value>,
    /// Username as typed (failed sign-ins).
    pub username: Option<String>,
    /// The client involved.
    pub client_id: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Further facts.
    #[schema(value_type = Object)]
    pub details: Value,
    /// How many identical events this entry stands for.
    pub count: i64,
}

impl AuditEntry {
    fn from_row(row: AuditRow) -> AuditEntry {
        AuditEntry {
            cursor: format!("{}.{}", row.time, row.id),
            time: rfc3339(row.time),
            kind: row.kind,
            outcome: row.outcome,
            actor: json!({ "kind": row.actor_kind, "id": row.actor_id }),
            user: row
                .user_id
                .map(|id| json!({ "id": id, "username": row.user_name })),
            username: row.username,
            client_id: row.client_id,
            ip: row.ip,
            user_agent: row.user_agent,
            details: serde_json::from_str(&row.details).unwrap_or_else(|_| json!({})),
            count: row.count,
        }
    }
}

/// Unix seconds as an RFC 3339 UTC timestamp.
pub fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_escapes_control_characters_and_bounds_length() {
        assert_eq!(
            clean("eve\nINFO fake line\u{1b}[31m"),
            "eve\\nINFO fake line\\u{1b}[31m"
        );
        assert_eq!(clean(&"x".repeat(500)).len(), MAX_TEXT);
    }

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
