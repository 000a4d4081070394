//! Signing in at an upstream OpenID Connect provider (identity brokering). Tessera is the
//! upstream's relying party: the browser goes there with PKCE S256, `state` and `nonce`
//! sealed into a cookie of its own (so any node can take the answer), comes back to
//! `/upstream/{id}/callback`, and the code is exchanged and its ID token checked to the
//! letter. The upstream identity (issuer + `sub`) is linked to one local account, made on the
//! first sign-in when the upstream allows it; an existing account is linked by e-mail only
//! when both sides verified the address and the upstream is configured to, so an upstream
//! account with someone's address cannot take their account over. Roles are mapped from an
//! upstream claim on every sign-in, and the sign-in ends in the shared completion step.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::audit::{Event, EventType};
use super::cache::ExpiringCache;
use super::client_keys::signed_by;
use super::sign_in::{Completion, SignedIn};
use super::{Actor, Caller, ServiceError, ServiceResult, Services, convert};
use crate::auth::password::NO_PASSWORD;
use crate::auth::secret;
use crate::auth::session::Authentication;
use crate::domain::{Email, Upstream, User, Username};
use crate::oidc::upstream::{
    AuthorizationRequest, Expected, ProviderMetadata, UpstreamIdentity, check_id_token,
};
use crate::store::{LinkedIdentityRow, Tx};

/// How long a browser has to come back from the upstream, in seconds.
pub const FLOW_SECS: i64 = 600;
/// How long an upstream's discovery document is used before it is read again, in seconds.
const METADATA_SECS: i64 = 3600;
/// The largest discovery document or token answer read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Keys fetched this recently are not fetched again for a token that fits none.
const JWKS_REFETCH_SECS: i64 = 10;

/// Discovery documents of upstreams, by issuer.
pub(crate) type MetadataCache = Arc<ExpiringCache<String, ProviderMetadata>>;

/// What the flow cookie holds, sealed under the master key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Flow {
    /// The upstream's id.
    u: String,
    /// `state` sent.
    s: String,
    /// `nonce` sent.
    n: String,
    /// PKCE verifier.
    v: String,
    /// The parked authorization request to resume.
    i: Option<String>,
    /// The signed-in user linking this upstream from their account page.
    l: Option<String>,
    /// Unix seconds after which the flow is dead.
    e: i64,
    /// When the flow started.
    t: i64,
    /// The client asked for a fresh sign-in (`prompt=login`).
    p: bool,
    /// The client's `max_age`.
    m: Option<i64>,
}

/// Where the browser goes to sign in at the upstream, and the flow cookie to set.
#[derive(Debug, Clone)]
pub struct UpstreamStart {
    /// The upstream's authorization URL.
    pub redirect: String,
    /// The sealed flow, for the flow cookie.
    pub flow_cookie: String,
}

/// What came back to the callback.
#[derive(Debug, Clone, Default)]
pub struct UpstreamAnswer {
    /// The flow cookie.
    pub flow_cookie: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `code`.
    pub code: Option<String>,
    /// `error`, when the upstream refused.
    pub error: Option<String>,
    /// The browser's current session cookie secret.
    pub previous_cookie: Option<String>,
    /// The browser's device cookie.
    pub device_cookie: Option<String>,
    /// The user signed in now, for a link from the account page.
    pub signed_in_user: Option<String>,
}

/// How an upstream sign-in ended well.
#[derive(Debug, Clone)]
pub enum UpstreamOutcome {
    /// Signed in (or the second factor is next).
    SignedIn(Box<SignedIn>),
    /// The upstream identity is now linked to the signed-in account.
    Linked(String),
}

/// Why an upstream sign-in did not end in a session.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No such upstream.
    #[error("no such upstream provider")]
    Unknown,
    /// The upstream could not be reached or answered nonsense.
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    /// The answer does not belong to this browser's sign-in (bad, stale or replayed state).
    #[error("this answer does not belong to a sign-in started here")]
    BadState,
    /// The upstream said no (`error` in the answer, or the code exchange failed).
    #[error("the provider refused: {0}")]
    Refused(String),
    /// The ID token failed a check.
    #[error("the provider's answer failed a check: {0}")]
    Invalid(String),
    /// No local account, and the upstream may not make one.
    #[error("no account")]
    NoAccount,
    /// The upstream did not say it verified the address, so no account is found or made
    /// through it.
    #[error("the provider did not verify the e-mail address")]
    EmailNotVerified,
    /// A local account has this address, but may not be linked automatically.
    #[error("an account with this address exists")]
    SignInLocallyFirst,
    /// The upstream identity is linked to another account already.
    #[error("linked to another account")]
    LinkedElsewhere,
    /// The account is switched off.
    #[error("the account is disabled")]
    Disabled,
    /// Something else failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::store::StoreError> for UpstreamError {
    fn from(e: crate::store::StoreError) -> Self {
        UpstreamError::Service(e.into())
    }
}

impl UpstreamError {
    /// The reason an audit event records.
    fn reason(&self) -> &'static str {
        match self {
            UpstreamError::Unknown => "unknown_upstream",
            UpstreamError::Unreachable(_) => "upstream_unreachable",
            UpstreamError::BadState => "bad_state",
            UpstreamError::Refused(_) => "upstream_refused",
            UpstreamError::Invalid(_) => "invalid_id_token",
            UpstreamError::NoAccount => "no_account",
            UpstreamError::EmailNotVerified => "email_not_verified",
            UpstreamError::SignInLocallyFirst => "local_account_exists",
            UpstreamError::LinkedElsewhere => "linked_elsewhere",
            UpstreamError::Disabled => "account_disabled",
            UpstreamError::Service(_) => "error",
        }
    }
}

/// The account an upstream identity signs in to.
struct Resolved {
    user: User,
    created: bool,
}

/// The roles of `names` that exist; a role deleted from the catalogue since the upstream
/// was configured is skipped (and logged) rather than failing every sign-in.
async fn existing_roles(
    tx: &mut Tx,
    upstream_id: &str,
    names: Vec<String>,
) -> Result<Vec<String>, UpstreamError> {
    let unknown = tx.unknown_roles(&names).await?;
    if !unknown.is_empty() {
        tracing::warn!(upstream = %upstream_id, roles = ?unknown, "upstream maps to roles that no longer exist; skipped");
    }
    let mut names: Vec<String> = names.into_iter().filter(|r| !unknown.contains(r)).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// A username made from what the upstream says, `fallback` when it says nothing usable.
fn username_base(identity: &UpstreamIdentity) -> String {
    let candidate = identity
        .preferred_username
        .clone()
        .or_else(|| {
            identity
                .email
                .as_deref()
                .and_then(|e| e.split('@').next())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let cleaned: String = candidate
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(48)
        .collect();
    let cleaned = cleaned.trim_matches(|c| matches!(c, '.' | '_' | '-'));
    if cleaned.chars().count() >= 3 {
        cleaned.to_string()
    } else {
        "user".to_string()
    }
}

impl Services {
    /// An upstream by id.
    async fn upstream(&self, id: &str) -> Result<Upstream, UpstreamError> {
        self.find_upstream(id).await?.ok_or(UpstreamError::Unknown)
    }

    /// The upstream's discovery document, from this node's cache or fetched.
    async fn provider_metadata(
        &self,
        upstream: &Upstream,
    ) -> Result<ProviderMetadata, UpstreamError> {
        let now = self.now();
        if let Some(cached) = self.upstream_metadata.get(&upstream.issuer, now) {
            return Ok(cached);
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            upstream.issuer.trim_end_matches('/')
        );
        // An administrator configured this address: it may be beside Tessera.
        let doc = self
            .outbound
            .get_json(&url, MAX_ANSWER_BYTES, false)
            .await
            .map_err(UpstreamError::Unreachable)?
            .body;
        let metadata =
            ProviderMetadata::parse(&doc, &upstream.issuer).map_err(UpstreamError::Unreachable)?;
        self.upstream_metadata.insert(
            upstream.issuer.clone(),
            metadata.clone(),
            now + METADATA_SECS,
            now,
        );
        Ok(metadata)
    }

    /// Where the upstream sends the browser back.
    fn callback_uri(&self, upstream_id: &str) -> String {
        format!("{}/upstream/{upstream_id}/callback", self.config.issuer)
    }

    /// Starts a sign-in (or, with `linking`, a link from the account page) at an upstream:
    /// its authorization URL and the sealed flow for the browser's cookie.
    pub async fn start_upstream(
        &self,
        id: &str,
        interaction: Option<String>,
        linking: Option<String>,
    ) -> Result<UpstreamStart, UpstreamError> {
        let upstream = self.upstream(id).await?;
        let metadata = self.provider_metadata(&upstream).await?;
        // What the client asked of the sign-in is asked of the upstream too.
        let (prompt_login, max_age) = match &interaction {
            Some(i) => match self.interaction(i).await? {
                Some((parked, _)) => (parked.request.prompt.login, parked.request.max_age),
                None => (false, None),
            },
            None => (false, None),
        };
        let now = self.now();
        let flow = Flow {
            u: upstream.id.clone(),
            s: secret::generate(),
            n: secret::generate(),
            v: secret::generate(),
            i: interaction,
            l: linking,
            e: now + FLOW_SECS,
            t: now,
            p: prompt_login,
            m: max_age,
        };
        let redirect_uri = self.callback_uri(&upstream.id);
        let redirect = AuthorizationRequest {
            endpoint: &metadata.authorization_endpoint,
            client_id: &upstream.client_id,
            redirect_uri: &redirect_uri,
            scopes: &upstream.scopes,
            state: &flow.s,
            nonce: &flow.n,
            verifier: &flow.v,
            prompt_login: flow.p,
            max_age: flow.m,
        }
        .url()
        .map_err(UpstreamError::Unreachable)?;
        let plain = serde_json::to_vec(&flow).map_err(|e| ServiceError::Internal(e.into()))?;
        let flow_cookie = self
            .keys
            .master_key()
            .seal(&plain)
            .map_err(ServiceError::from)?;
        Ok(UpstreamStart {
            redirect,
            flow_cookie,
        })
    }

    /// Takes the upstream's answer: the flow checked against the browser's cookie (once), the
    /// code exchanged, the ID token checked, the account found, made or linked, roles
    /// mapped, and the sign-in completed. Every failure is audited.
    pub async fn finish_upstream(
        &self,
        caller: &Caller,
        id: &str,
        answer: UpstreamAnswer,
    ) -> Result<UpstreamOutcome, UpstreamError> {
        let result = self.take_answer(caller, id, answer).await;
        if let Err(e) = &result {
            let mut details = json!({ "method": "upstream", "upstream": id, "reason": e.reason() });
            if let UpstreamError::Refused(why)
            | UpstreamError::Invalid(why)
            | UpstreamError::Unreachable(why) = e
            {
                details["error"] = json!(why);
            }
            tracing::warn!(upstream = %id, ip = ?caller.ip, reason = e.reason(), error = %e, "upstream sign-in failed");
            metrics::counter!(crate::metrics::SIGN_INS, "outcome" => "failure").increment(1);
            let mut tx = self.db.write().await?;
            self.record(
                &mut tx,
                caller,
                Event::failure(EventType::SignIn).details(details),
                self.now(),
            )
            .await?;
            tx.commit().await?;
        }
        result
    }

    async fn take_answer(
        &self,
        caller: &Caller,
        id: &str,
        answer: UpstreamAnswer,
    ) -> Result<UpstreamOutcome, UpstreamError> {
        let now = self.now();
        let flow: Flow = answer
            .flow_cookie
            .as_deref()
            .and_then(|sealed| self.keys.master_key().open(sealed).ok())
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .ok_or(UpstreamError::BadState)?;
        let state_matches = answer
            .state
            .as_deref()
            .is_some_and(|s| secret::constant_time_eq(s, &flow.s));
        if flow.u != id || flow.e < now || !state_matches {
            return Err(UpstreamError::BadState);
        }
        // Each state works once, on any node: a replayed answer is refused.
        {
            let mut tx = self.db.write().await?;
            if !tx
                .remember_jwt(&secret::hash(&format!("upstream-state.{}", flow.s)), flow.e)
                .await?
            {
                return Err(UpstreamError::BadState);
            }
            tx.commit().await?;
        }
        if let Some(error) = answer.error {
            return Err(UpstreamError::Refused(error.chars().take(64).collect()));
        }
        let code = answer
            .code
            .ok_or_else(|| UpstreamError::Refused("no code came back".into()))?;
        let upstream = self.upstream(id).await?;
        let metadata = self.provider_metadata(&upstream).await?;
        let id_token = self.redeem(&upstream, &metadata, &code, &flow.v).await?;
        let identity = self
            .check_upstream_token(&upstream, &metadata, &id_token, &flow)
            .await?;
        if let Some(linking) = &flow.l {
            if answer.signed_in_user.as_deref() != Some(linking.as_str()) {
                return Err(UpstreamError::BadState);
            }
            return self.link(caller, &upstream, &identity, linking).await;
        }
        let resolved = self.resolve_account(caller, &upstream, &identity).await?;
        let user = resolved.user;
        if !user.enabled {
            return Err(UpstreamError::Disabled);
        }
        let user = self.map_roles(caller, &upstream, &identity, user).await?;
        let mfa_trusted = upstream.trust_upstream_mfa && identity.used_mfa();
        let has_totp = self.has_totp(&user.id).await?;
        let second_factor_due = !mfa_trusted && (has_totp || self.role_requires_mfa(&user));
        let auth = Authentication::upstream(
            identity.amr.clone(),
            mfa_trusted,
            second_factor_due,
            identity.auth_time,
        );
        let signed_in = self
            .complete_sign_in(
                caller,
                user,
                Completion {
                    auth,
                    remember: false,
                    previous_cookie: answer.previous_cookie,
                    interaction: flow.i,
                    rehash: None,
                    device_cookie: answer.device_cookie,
                    upstream: Some(upstream.id.clone()),
                },
            )
            .await?;
        if resolved.created {
            tracing::info!(upstream = %upstream.id, user = %signed_in.user.username, "account created at first upstream sign-in");
        }
        Ok(UpstreamOutcome::SignedIn(Box::new(signed_in)))
    }

    /// Exchanges the code at the upstream's token endpoint; its ID token.
    async fn redeem(
        &self,
        upstream: &Upstream,
        metadata: &ProviderMetadata,
        code: &str,
        verifier: &str,
    ) -> Result<String, UpstreamError> {
        let client_secret = self.upstream_secret(&upstream.id).await?;
        let redirect_uri = self.callback_uri(&upstream.id);
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier),
        ];
        if client_secret.is_none() {
            form.push(("client_id", upstream.client_id.as_str()));
        }
        let basic = client_secret
            .as_deref()
            .map(|secret| (upstream.client_id.as_str(), secret));
        let (status, body) = self
            .outbound
            .post_form_for_json(&metadata.token_endpoint, &form, basic, MAX_ANSWER_BYTES)
            .await
            .map_err(UpstreamError::Unreachable)?;
        if status != 200 {
            let error = body
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no error code");
            return Err(UpstreamError::Refused(format!(
                "the code exchange answered {status} ({})",
                error.chars().take(64).collect::<String>()
            )));
        }
        body.get("id_token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| UpstreamError::Invalid("the token answer has no ID token".into()))
    }

    /// The upstream's client secret, opened.
    async fn upstream_secret(&self, id: &str) -> Result<Option<String>, UpstreamError> {
        let sealed = {
            let mut tx = self.db.read().await?;
            tx.find_upstream(id).await?.and_then(|u| u.client_secret)
        };
        match sealed {
            None => Ok(None),
            Some(sealed) => {
                let plain = self
                    .keys
                    .master_key()
                    .open(&sealed)
                    .map_err(ServiceError::from)?;
                Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
            }
        }
    }

    /// Verifies the ID token's signature with the upstream's keys (fetched again once when
    /// none fits: the upstream may have rotated them) and checks its claims.
    async fn check_upstream_token(
        &self,
        upstream: &Upstream,
        metadata: &ProviderMetadata,
        id_token: &str,
        flow: &Flow,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let (keys, fetched_at) = self
            .published_keys(&metadata.jwks_uri, false, false)
            .await
            .map_err(UpstreamError::Unreachable)?;
        let claims = match signed_by(id_token, &keys) {
            Some(claims) => Some(claims),
            None if fetched_at < self.now() - JWKS_REFETCH_SECS => {
                let (keys, _) = self
                    .published_keys(&metadata.jwks_uri, false, true)
                    .await
                    .map_err(UpstreamError::Unreachable)?;
                signed_by(id_token, &keys)
            }
            None => None,
        }
        .ok_or_else(|| {
            UpstreamError::Invalid("no key of the provider verifies the ID token".into())
        })?;
        check_id_token(
            &claims,
            &Expected {
                issuer: &upstream.issuer,
                client_id: &upstream.client_id,
                nonce: &flow.n,
                now: self.now(),
                max_age: flow.m,
                login_since: flow.p.then_some(flow.t),
            },
            upstream.roles_claim.as_deref(),
        )
        .map_err(UpstreamError::Invalid)
    }

    /// Links the upstream identity to the signed-in `user_id` (from the account page).
    async fn link(
        &self,
        caller: &Caller,
        upstream: &Upstream,
        identity: &UpstreamIdentity,
        user_id: &str,
    ) -> Result<UpstreamOutcome, UpstreamError> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        match tx
            .find_linked_identity(&identity.issuer, &identity.subject)
            .await?
        {
            Some(link) if link.user_id != user_id => return Err(UpstreamError::LinkedElsewhere),
            Some(_) => return Ok(UpstreamOutcome::Linked(upstream.name.clone())),
            None => {}
        }
        let user = tx
            .find_user(user_id)
            .await?
            .ok_or(UpstreamError::BadState)?;
        self.insert_link(&mut tx, upstream, identity, user_id, now)
            .await?;
        self.record(
            &mut tx,
            &caller.as_actor(Actor::User(user_id.to_string())),
            Event::success(EventType::IdentityLinked)
                .user(&user.id, &user.username)
                .details(json!({ "upstream": upstream.id, "subject": identity.subject })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(UpstreamOutcome::Linked(upstream.name.clone()))
    }

    async fn insert_link(
        &self,
        tx: &mut Tx,
        upstream: &Upstream,
        identity: &UpstreamIdentity,
        user_id: &str,
        now: i64,
    ) -> Result<(), UpstreamError> {
        let inserted = tx
            .insert_linked_identity(&LinkedIdentityRow {
                issuer: identity.issuer.clone(),
                subject: identity.subject.clone(),
                user_id: user_id.to_string(),
                upstream_id: upstream.id.clone(),
                email: identity.email.clone(),
                created_at: now,
                last_used_at: now,
            })
            .await?;
        if inserted {
            Ok(())
        } else {
            Err(UpstreamError::LinkedElsewhere)
        }
    }

    /// The local account of an upstream identity: the linked one; else one with the same
    /// address when both sides verified it and the upstream links by e-mail; else a new one
    /// when the upstream makes accounts.
    async fn resolve_account(
        &self,
        caller: &Caller,
        upstream: &Upstream,
        identity: &UpstreamIdentity,
    ) -> Result<Resolved, UpstreamError> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        if let Some(link) = tx
            .find_linked_identity(&identity.issuer, &identity.subject)
            .await?
        {
            tx.touch_linked_identity(
                &identity.issuer,
                &identity.subject,
                identity.email.as_deref(),
                now,
            )
            .await?;
            let row = tx
                .find_user(&link.user_id)
                .await?
                .ok_or(UpstreamError::NoAccount)?;
            let roles = tx.user_roles(&row.id).await?;
            tx.commit().await?;
            return Ok(Resolved {
                user: convert::user(row, roles),
                created: false,
            });
        }
        // An address the upstream did not verify finds no account and makes none: anyone
        // there could type someone else's address, to probe for it or to take it first.
        let email = match identity.email.as_deref().map(Email::parse) {
            Some(Ok(email)) if identity.email_verified => email,
            Some(_) => return Err(UpstreamError::EmailNotVerified),
            None if upstream.create_users => return Err(UpstreamError::EmailNotVerified),
            None => return Err(UpstreamError::NoAccount),
        };
        if let Some(row) = tx.find_user_by_email(&email.normalized()).await? {
            if !(upstream.link_by_verified_email && row.email_verified != 0) {
                return Err(UpstreamError::SignInLocallyFirst);
            }
            if row.enabled == 0 {
                return Err(UpstreamError::Disabled);
            }
            self.insert_link(&mut tx, upstream, identity, &row.id, now)
                .await?;
            self.record(
                &mut tx,
                &caller.as_actor(Actor::User(row.id.clone())),
                Event::success(EventType::IdentityLinked)
                    .user(&row.id, &row.username)
                    .details(json!({ "upstream": upstream.id, "subject": identity.subject, "by": "verified_email" })),
                now,
            )
            .await?;
            let roles = tx.user_roles(&row.id).await?;
            tx.commit().await?;
            return Ok(Resolved {
                user: convert::user(row, roles),
                created: false,
            });
        }
        if !upstream.create_users {
            return Err(UpstreamError::NoAccount);
        }
        let username = self
            .unused_username(&mut tx, &username_base(identity))
            .await?;
        let roles = existing_roles(&mut tx, &upstream.id, upstream.default_roles.clone()).await?;
        let new = convert::new_user(
            &username,
            &email,
            identity.name.clone(),
            NO_PASSWORD.to_string(),
            roles,
            true,
            now,
        );
        tx.insert_user(&new).await?;
        let id = new.id;
        self.insert_link(&mut tx, upstream, identity, &id, now)
            .await?;
        let row = tx.find_user(&id).await?.ok_or(UpstreamError::NoAccount)?;
        let roles = tx.user_roles(&id).await?;
        let user = convert::user(row, roles);
        self.record(
            &mut tx,
            &caller.as_actor(Actor::User(id.clone())),
            Event::success(EventType::UserCreated)
                .user(&user.id, &user.username)
                .details(json!({ "roles": user.roles, "upstream": upstream.id })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Resolved {
            user,
            created: true,
        })
    }

    /// `base`, or `base` with a number, whichever is free.
    async fn unused_username(&self, tx: &mut Tx, base: &str) -> Result<Username, UpstreamError> {
        for n in 0..100 {
            let candidate = if n == 0 {
                base.to_string()
            } else {
                format!("{base}{}", n + 1)
            };
            let Ok(username) = Username::parse(&candidate) else {
                continue;
            };
            if tx
                .find_user_by_login(&username.normalized())
                .await?
                .is_none()
            {
                return Ok(username);
            }
        }
        let random = format!("user-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        Username::parse(&random)
            .map_err(|m| UpstreamError::Service(ServiceError::invalid("username", m)))
    }

    /// Applies the upstream's role mapping: roles its claim names now are granted, those an
    /// earlier mapping granted and the claim no longer names are taken back; roles assigned
    /// locally are never touched.
    async fn map_roles(
        &self,
        caller: &Caller,
        upstream: &Upstream,
        identity: &UpstreamIdentity,
        user: User,
    ) -> Result<User, UpstreamError> {
        if upstream.roles_claim.is_none() {
            return Ok(user);
        }
        let now = self.now();
        let mut tx = self.db.write().await?;
        let named: Vec<String> = identity
            .groups
            .iter()
            .filter_map(|g| upstream.role_map.get(g).cloned())
            .collect();
        let wanted: BTreeSet<String> = existing_roles(&mut tx, &upstream.id, named)
            .await?
            .into_iter()
            .collect();
        let mapped: BTreeSet<String> = tx
            .mapped_roles(&user.id, &upstream.id)
            .await?
            .into_iter()
            .collect();
        let mut roles: BTreeSet<String> = user.roles.iter().cloned().collect();
        for role in &wanted {
            // A role the user holds already was assigned locally: it stays theirs, unmapped.
            if !roles.contains(role) {
                roles.insert(role.clone());
                tx.set_mapped_role(&user.id, role, &upstream.id, true)
                    .await?;
            }
        }
        for role in mapped.difference(&wanted) {
            roles.remove(role);
            tx.set_mapped_role(&user.id, role, &upstream.id, false)
                .await?;
        }
        let roles: Vec<String> = roles.into_iter().collect();
        if roles == user.roles {
            // The bookkeeping of taken-back roles may still have changed.
            tx.commit().await?;
            return Ok(user);
        }
        tx.set_user_roles(&user.id, &roles, now).await?;
        self.record(
            &mut tx,
            &caller.as_actor(Actor::User(user.id.clone())),
            Event::success(EventType::RolesSet)
                .user(&user.id, &user.username)
                .details(json!({ "roles": roles, "upstream": upstream.id })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(User { roles, ..user })
    }

    /// The upstreams a user's account is linked to: (upstream id, upstream's address).
    pub async fn linked_identities(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, Option<String>)>, ServiceError> {
        let mut tx = self.db.read().await?;
        Ok(tx
            .linked_identities_of(user_id)
            .await?
            .into_iter()
            .map(|l| (l.upstream_id, l.email))
            .collect())
    }

    /// Unlinks an upstream from the signed-in user's account, if a way to sign in remains
    /// (a password, or another linked identity).
    pub async fn unlink_upstream(
        &self,
        caller: &Caller,
        user_id: &str,
        upstream_id: &str,
    ) -> Result<(), ServiceError> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let row = tx
            .find_user(user_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("user".into()))?;
        let links = tx.linked_identities_of(user_id).await?;
        if !links.iter().any(|l| l.upstream_id == upstream_id) {
            return Err(ServiceError::NotFound(format!("link to '{upstream_id}'")));
        }
        let others = links
            .iter()
            .filter(|l| l.upstream_id != upstream_id)
            .count();
        if !crate::auth::password::is_set(&row.password_hash) && others == 0 {
            return Err(ServiceError::invalid(
                "upstream",
                "this is your only way to sign in: set a password first (\"Forgot password?\" mails you a link)",
            ));
        }
        tx.delete_linked_identity(user_id, upstream_id).await?;
        // Roles the upstream's mapping granted go with the link.
        tx.take_back_mapped_roles(Some(user_id), upstream_id)
            .await?;
        self.record(
            &mut tx,
            &caller.as_actor(Actor::User(user_id.to_string())),
            Event::success(EventType::IdentityUnlinked)
                .user(&row.id, &row.username)
                .details(json!({ "upstream": upstream_id })),
            now,
        )
        .await?;
        Ok(tx.commit().await?)
    }

    /// Where a user who signed out of Tessera may also sign out at the upstreams linked to
    /// their account (RP-Initiated Logout): (button text, URL) for each that offers it.
    pub async fn upstream_sign_outs(&self, user_id: &str) -> ServiceResult<Vec<(String, String)>> {
        let mut sign_outs = Vec::new();
        for (id, _) in self.linked_identities(user_id).await? {
            let Ok(upstream) = self.upstream(&id).await else {
                continue;
            };
            let Ok(metadata) = self.provider_metadata(&upstream).await else {
                continue;
            };
            let Some(mut url) = metadata
                .end_session_endpoint
                .and_then(|endpoint| url::Url::parse(&endpoint).ok())
            else {
                continue;
            };
            url.query_pairs_mut()
                .append_pair("client_id", &upstream.client_id);
            sign_outs.push((upstream.name, url.into()));
        }
        Ok(sign_outs)
    }
}
