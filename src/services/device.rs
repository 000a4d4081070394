//! The Device Authorization Grant (RFC 8628) as use cases: a device asks for a code pair, a
//! signed-in person types the user code at `/device` and allows or denies, and the device's
//! polls of the token endpoint get `authorization_pending`, `slow_down`, `access_denied`,
//! `expired_token`, and the tokens exactly once. Wrong user codes count against the person
//! and their address like failed sign-ins, so codes cannot be guessed at leisure.

use serde::Serialize;
use serde_json::json;

use super::audit::{Event, EventType};
use super::tokens::{live_user, user_grant};
use super::{Actor, Caller, ServiceResult, Services, convert};
use crate::auth::secret;
use crate::auth::session::ACR_MFA;
use crate::domain::{Client, GrantType, ScopeSet, Session};
use crate::oidc::client::require_grant;
use crate::oidc::device_flow::{self, Poll, State};
use crate::oidc::discovery::paths;
use crate::oidc::params::Params;
use crate::oidc::tokens::{Binding, Minted, UserGrant};
use crate::oidc::{ErrorCode, OAuthError};
use crate::store::{DeviceApproval, DeviceCodeRow, GrantFacts, StoreError};

/// Wrong user codes one person may type within [`GUESS_WINDOW_SECS`].
const MAX_WRONG_CODES: usize = 10;
/// The window wrong user codes are counted in, in seconds.
const GUESS_WINDOW_SECS: i64 = 15 * 60;

/// RFC 8628 §3.2: the answer to a device authorization request.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceAuthorization {
    /// What the device polls with.
    pub device_code: String,
    /// What the person types, `XXXX-XXXX`.
    pub user_code: String,
    /// Where they type it.
    pub verification_uri: String,
    /// The same page with the code filled in.
    pub verification_uri_complete: String,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// Seconds between polls.
    pub interval: i64,
}

/// What the approval page shows.
#[derive(Debug, Clone)]
pub struct DevicePrompt {
    /// The code, `XXXX-XXXX`.
    pub user_code: String,
    /// The client's name.
    pub client_name: String,
    /// Each requested scope with what it shares.
    pub scopes: Vec<(String, String)>,
}

/// Why a typed user code led nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrongCode {
    /// No live, unanswered code is this one.
    Unknown,
    /// Too many wrong codes lately: wait.
    TooMany,
    /// The client demands a sign-in with two factors, and this session used one.
    NeedsSecondFactor,
}

fn guess_subject(user_id: &str) -> String {
    format!("device-code:{user_id}")
}

impl Services {
    /// `POST /device_authorization` for an authenticated client (RFC 8628 §3.1).
    pub async fn start_device_authorization(
        &self,
        client: &Client,
        params: &Params,
    ) -> Result<DeviceAuthorization, OAuthError> {
        require_grant(client, GrantType::DeviceCode)?;
        let asked = ScopeSet::parse(params.get("scope").unwrap_or("openid"))
            .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e))?;
        let mut scope = asked.intersection(&client.scopes);
        if !client.allows(GrantType::RefreshToken) {
            scope = scope.without("offline_access");
        }
        let device_code = secret::generate();
        let now = self.now();
        let settings = &self.config.settings.device;
        // A clash of user codes is rare (2^34 codes); try again with another.
        for _ in 0..3 {
            let user_code = device_flow::new_user_code();
            let mut tx = self.db.write().await?;
            let inserted = tx
                .insert_device_code(
                    &secret::hash(&device_code),
                    &user_code,
                    &client.id,
                    &scope.to_string(),
                    now,
                    now + settings.lifetime_secs,
                    settings.interval_secs,
                )
                .await;
            match inserted {
                Ok(()) => {
                    tx.commit().await?;
                    let shown = device_flow::display(&user_code);
                    let page = format!("{}{}", self.config.issuer, paths::DEVICE);
                    return Ok(DeviceAuthorization {
                        device_code,
                        verification_uri_complete: format!(
                            "{page}?user_code={}",
                            url::form_urlencoded::byte_serialize(shown.as_bytes())
                                .collect::<String>()
                        ),
                        verification_uri: page,
                        user_code: shown,
                        expires_in: settings.lifetime_secs,
                        interval: settings.interval_secs,
                    });
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "no free user code; try again",
        ))
    }

    /// The live, unanswered code a person typed, with its client; a wrong code counts
    /// against the person and their address, and too many wrong ones lock them out for a
    /// while. A client that demands two factors needs a two-factor session.
    async fn typed_code(
        &self,
        tx: &mut crate::store::Tx,
        caller: &Caller,
        session: &Session,
        typed: &str,
    ) -> ServiceResult<Result<(DeviceCodeRow, Client), WrongCode>> {
        let now = self.now();
        let subject = guess_subject(&session.user_id);
        let wrong = tx
            .subject_failures(&subject, now - GUESS_WINDOW_SECS)
            .await?;
        if wrong.len() >= MAX_WRONG_CODES {
            return Ok(Err(WrongCode::TooMany));
        }
        let row = match device_flow::normalise(typed) {
            Some(code) => tx.find_pending_user_code(&code, now).await?,
            None => None,
        };
        let Some(row) = row else {
            tx.insert_sign_in_failure(Some(&subject), caller.ip.as_deref(), now)
                .await?;
            return Ok(Err(WrongCode::Unknown));
        };
        let Some(client) = tx.find_client(&row.client_id).await?.map(convert::client) else {
            return Ok(Err(WrongCode::Unknown));
        };
        if client.require_mfa && session.acr != ACR_MFA {
            return Ok(Err(WrongCode::NeedsSecondFactor));
        }
        Ok(Ok((row, client)))
    }

    /// The approval page for a typed code, or why there is none.
    pub async fn device_prompt(
        &self,
        caller: &Caller,
        session: &Session,
        typed: &str,
    ) -> ServiceResult<Result<DevicePrompt, WrongCode>> {
        let mut tx = self.db.write().await?;
        let found = self.typed_code(&mut tx, caller, session, typed).await?;
        tx.commit().await?;
        let (row, client) = match found {
            Ok(found) => found,
            Err(wrong) => return Ok(Err(wrong)),
        };
        let requested = ScopeSet::from_stored(&row.scope);
        let names: Vec<&str> = requested.iter().collect();
        Ok(Ok(DevicePrompt {
            user_code: device_flow::display(&row.user_code),
            client_name: client.name,
            scopes: self.describe_scopes(&names).await?,
        }))
    }

    /// Records the person's answer to a device code; `Ok(false)` when another answer won.
    pub async fn answer_device(
        &self,
        caller: &Caller,
        session: &Session,
        typed: &str,
        approve: bool,
    ) -> ServiceResult<Result<bool, WrongCode>> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let (row, _) = match self.typed_code(&mut tx, caller, session, typed).await? {
            Ok(found) => found,
            Err(wrong) => {
                tx.commit().await?;
                return Ok(Err(wrong));
            }
        };
        let caller = caller.as_actor(Actor::User(session.user_id.clone()));
        let code = row.user_code.clone();
        let Some(user) = tx.find_user(&session.user_id).await? else {
            return Ok(Ok(false));
        };
        let approval = DeviceApproval {
            user_id: session.user_id.clone(),
            session_id: session.id.clone(),
            auth_time: session.auth_time,
            amr: session.amr.join(" "),
            acr: session.acr.clone(),
        };
        let answered = tx
            .answer_device_code(&code, approve.then_some(&approval), now)
            .await?;
        if answered {
            let kind = if approve {
                EventType::ConsentGranted
            } else {
                EventType::ConsentDenied
            };
            self.record(
                &mut tx,
                &caller,
                Event::success(kind)
                    .user(&user.id, &user.username)
                    .client(&row.client_id)
                    .details(json!({ "flow": "device", "scope": row.scope })),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Ok(answered))
    }

    /// RFC 8628 §3.4–3.5: a device's poll of the token endpoint.
    pub(crate) async fn exchange_device_code(
        &self,
        caller: &Caller,
        client: &Client,
        params: &Params,
        jkt: Option<&str>,
    ) -> Result<Minted, OAuthError> {
        require_grant(client, GrantType::DeviceCode)?;
        let hash = secret::hash(params.require("device_code")?);
        let now = self.now();
        let mut tx = self.db.write().await?;
        let row = match tx.find_device_code(&hash).await? {
            Some(row) if row.client_id == client.id => row,
            _ => {
                return Err(OAuthError::invalid_grant(
                    "the device code is invalid or was issued to another client",
                ));
            }
        };
        let poll = Poll {
            state: State::parse(&row.state),
            expires_at: row.expires_at,
            last_poll_at: row.last_poll_at,
            interval: row.interval_secs,
        };
        if let Err(refusal) = device_flow::answer(poll, now) {
            let interval = match refusal.code {
                ErrorCode::SlowDown => Some(row.interval_secs + device_flow::SLOW_DOWN_SECS),
                ErrorCode::AuthorizationPending => Some(row.interval_secs),
                _ => None,
            };
            if let Some(interval) = interval {
                tx.record_device_poll(&hash, now, interval).await?;
                tx.commit().await?;
            }
            return Err(refusal);
        }
        let used = || OAuthError::invalid_grant("the device code was already used");
        if !tx.use_device_code(&hash).await? {
            return Err(used());
        }
        let (Some(user_id), Some(session_id)) = (row.user_id, row.session_id) else {
            return Err(used());
        };
        let Some(user) = live_user(&mut tx, &user_id).await? else {
            tx.commit().await?;
            return Err(OAuthError::invalid_grant(
                "the user's account is no longer active",
            ));
        };
        let facts = GrantFacts {
            client_id: client.id.clone(),
            user_id: user.id.clone(),
            session_id: Some(session_id),
            scope: row.scope.clone(),
            auth_time: row.auth_time.unwrap_or(now),
            amr: row.amr.unwrap_or_default(),
            acr: row.acr.unwrap_or_default(),
            revoked_at: None,
            resources: String::new(),
            dpop_jkt: jkt.filter(|_| client.public).map(str::to_string),
        };
        let grant = self.new_user_grant(facts, now);
        tx.insert_grant(&grant).await?;
        let grant_id = grant.id.clone();
        let scope = ScopeSet::from_stored(&row.scope);
        let refresh_token = self
            .first_refresh_token(&mut tx, &grant_id, &scope, now)
            .await?;
        self.record(
            &mut tx,
            caller,
            Event::success(EventType::CodeRedeemed)
                .user(&user.id, &user.username)
                .client(&client.id)
                .details(json!({ "grant_id": grant_id, "scope": row.scope, "flow": "device" })),
            now,
        )
        .await?;
        tx.commit().await?;
        self.provider.user_tokens(
            client,
            UserGrant {
                refresh_token,
                binding: Binding { audience: &[], jkt },
                ..user_grant(&grant_id, &grant.facts, &user, &scope)
            },
        )
    }
}
