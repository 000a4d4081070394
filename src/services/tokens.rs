//! The token endpoint's grants (RFC 6749 §4.1.3, §4.4, §6), introspection (RFC 7662),
//! revocation (RFC 7009) and userinfo (OpenID Connect Core §5.3), as use cases. The hot paths
//! (client_credentials, refresh, introspection, userinfo) write nothing on success; a code
//! exchange consumes its code and records `code_redeemed` in one transaction. Every refusal
//! of a caller is audited, merged per address and minute when the caller proved nothing.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::audit::{Event, EventType};
use super::dpop::DpopRequest;
use super::{Actor, Caller, Services, convert};
use crate::auth::secret;
use crate::domain::{Client, GrantType, ScopeSet, User};
use crate::oidc::client::require_grant;
use crate::oidc::client_auth::{self, Credentials};
use crate::oidc::discovery::paths;
use crate::oidc::params::Params;
use crate::oidc::tokens::{AccessTokenClaims, Binding, Minted, TokenResponse, UserGrant};
use crate::oidc::{ErrorCode, OAuthError, authorize, grants, introspect, pkce};
use crate::store::{GrantFacts, Redemption, RefreshRow, RotateOutcome, StoreResult, Tx, UserRow};

impl Services {
    /// Authenticates the client of a token, introspection or revocation request.
    pub async fn authenticate_client(
        &self,
        caller: &Caller,
        credentials: Credentials,
    ) -> Result<Client, OAuthError> {
        if credentials.client_id.len() > 256 {
            return Err(client_auth::invalid_client(credentials.via_basic));
        }
        let mut client = self.requested_client(&credentials.client_id).await?;
        let mut authenticated = self.check_credentials(client.as_ref(), &credentials).await;
        // A secret or keys changed on another node, or by the CLI, work here at once.
        if client.is_some() && authenticated.is_err() {
            client = self.fresh_client(&credentials.client_id).await?;
            authenticated = self.check_credentials(client.as_ref(), &credentials).await;
        }
        match (client, authenticated) {
            (Some(client), Ok(())) => Ok(client),
            (found, Err(error)) => {
                let reason = if found.is_some() {
                    "wrong_secret"
                } else {
                    "unknown_client"
                };
                self.record_failure(
                    caller,
                    Event::failure(EventType::ClientAuthFailed)
                        .client(&credentials.client_id)
                        .details(json!({ "reason": reason })),
                    self.now(),
                )
                .await;
                Err(error)
            }
            (None, Ok(())) => Err(client_auth::invalid_client(credentials.via_basic)),
        }
    }

    /// Checks credentials against a client (if there is one), its keys included.
    async fn check_credentials(
        &self,
        client: Option<&Client>,
        credentials: &Credentials,
    ) -> Result<(), OAuthError> {
        let Some(client) = client.filter(|c| c.enabled) else {
            return Err(client_auth::invalid_client(credentials.via_basic));
        };
        match client_auth::authenticate(client, credentials)? {
            None => Ok(()),
            Some(assertion) => self.verify_client_assertion(client, assertion).await,
        }
    }

    /// `POST /token` for an authenticated client; `dpop` is the request's DPoP proof, which
    /// binds the access token to its key (RFC 9449 §5).
    pub async fn token(
        &self,
        caller: &Caller,
        client: &Client,
        params: &Params,
        dpop: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let caller = caller.as_actor(Actor::Client(client.id.clone()));
        let grant_type = params.require("grant_type")?;
        let proof = self
            .dpop_proof(
                DpopRequest {
                    proof: dpop,
                    method: "POST",
                    path: paths::TOKEN,
                },
                None,
            )
            .await?;
        if client.require_dpop && proof.is_none() {
            return Err(OAuthError::new(
                ErrorCode::InvalidDpopProof,
                "this client must send a DPoP proof",
            ));
        }
        let jkt = proof.as_ref().map(|p| p.jkt.as_str());
        let issued = match GrantType::parse(grant_type) {
            Some(GrantType::AuthorizationCode) => {
                self.exchange_code(&caller, client, params, jkt).await
            }
            Some(GrantType::RefreshToken) => self.refresh(&caller, client, params, jkt).await,
            Some(GrantType::DeviceCode) => {
                self.exchange_device_code(&caller, client, params, jkt)
                    .await
            }
            Some(GrantType::ClientCredentials) => {
                require_grant(client, GrantType::ClientCredentials)?;
                let scope = grants::client_credentials_scope(client, params)?;
                let audience = authorize::resources(params, |r| client.has_resource(r))?;
                self.provider.client_token(
                    client,
                    &scope,
                    Binding {
                        audience: &audience,
                        jkt,
                    },
                )
            }
            None => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type '{grant_type}' is not supported"),
            )),
        };
        let issued = issued.map(|minted| self.remember_minted(minted));
        if issued.is_ok() {
            metrics::counter!(
                crate::metrics::TOKENS_ISSUED,
                "grant_type" => grant_type.to_string(),
                "alg" => self.config.settings.tokens.access_token_alg.as_str(),
            )
            .increment(1);
        }
        issued
    }

    /// RFC 6749 §4.1.3: redeems a code for tokens. A second use of a code means it leaked:
    /// the grant its first use created is revoked (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
    async fn exchange_code(
        &self,
        caller: &Caller,
        client: &Client,
        params: &Params,
        jkt: Option<&str>,
    ) -> Result<Minted, OAuthError> {
        require_grant(client, GrantType::AuthorizationCode)?;
        let code = params.require("code")?;
        let code_hash = secret::hash(code);
        let now = self.now();
        let failed = |reason: &str, grant: Option<&str>| {
            Event::failure(EventType::CodeRedeemed)
                .client(&client.id)
                .details(json!({ "reason": reason, "grant_id": grant }))
        };
        let invalid = || {
            OAuthError::invalid_grant("the authorization code is invalid, expired or already used")
        };
        let found = self.db.read().await?.find_code(&code_hash).await?;
        let Some((row, user_row, roles)) = found else {
            self.record_failure(caller, failed("unknown_code", None), now)
                .await;
            return Err(invalid());
        };
        if row.grant.client_id != client.id {
            self.record_failure(caller, failed("other_client", None), now)
                .await;
            return Err(invalid());
        }
        let grant_id = row.grant_id.clone();
        let refusal = if row.consumed_at.is_some() {
            None
        } else if row.expires_at <= now || row.grant.revoked_at.is_some() {
            Some(("expired", invalid()))
        } else if params.get("redirect_uri") != Some(row.redirect_uri.as_str()) {
            // RFC 6749 §4.1.3: redirect_uri must be identical to the authorization request's.
            Some((
                "redirect_uri_mismatch",
                OAuthError::invalid_grant("redirect_uri does not match the authorization request"),
            ))
        } else if let Err(e) =
            pkce::verify(params.get("code_verifier"), row.code_challenge.as_deref())
        {
            Some(("pkce_failed", e))
        } else if let Err(e) = proves_key(row.code_dpop_jkt.as_deref(), jkt) {
            Some(("dpop_key_mismatch", e))
        } else {
            None
        };
        let audience = token_audience(params, &row.grant.resources);
        let refusal = refusal.or_else(|| audience.clone().err().map(|e| ("invalid_target", e)));
        if let Some((reason, error)) = refusal {
            self.record_failure(caller, failed(reason, Some(&grant_id)), now)
                .await;
            return Err(error);
        }
        let user = match row.consumed_at {
            None => enabled_user(user_row, roles),
            Some(_) => None,
        };
        let Some(user) = user else {
            let (reason, error) = if row.consumed_at.is_some() {
                ("code_reused", invalid())
            } else {
                (
                    "user_inactive",
                    OAuthError::invalid_grant("the user's account is no longer active"),
                )
            };
            let event = failed(reason, Some(&grant_id));
            return Err(self.end_grant(caller, &grant_id, event, error, now).await);
        };
        let scope = ScopeSet::from_stored(&row.grant.scope);
        let refresh_token = scope.contains("offline_access").then(secret::generate);
        let ttl = self.config.settings.tokens.refresh_token_ttl_secs;
        let event = self.audit_row(
            caller,
            &Event::success(EventType::CodeRedeemed)
                .user(&user.id, &user.username)
                .client(&client.id)
                .details(json!({ "grant_id": grant_id, "scope": row.grant.scope })),
            now,
        );
        // Settled in SQL: of many concurrent redemptions, on any nodes, exactly one wins; it
        // also loses when the grant was revoked since it was read.
        let won = self
            .db
            .redeem_code(&Redemption {
                code_hash: &code_hash,
                grant_id: &grant_id,
                now,
                event: &event,
                refresh_token: refresh_token.as_ref().map(|t| (secret::hash(t), now + ttl)),
                // RFC 9449 §5: a public client's refresh tokens are bound to its DPoP key.
                dpop_jkt: jkt.filter(|_| client.public),
            })
            .await?;
        if !won {
            // Used meanwhile (it leaked), or its grant was revoked meanwhile.
            let event = failed("code_reused", Some(&grant_id));
            return Err(self
                .end_grant(caller, &grant_id, event, invalid(), now)
                .await);
        }
        super::audit::log(&event);
        self.provider.user_tokens(
            client,
            UserGrant {
                nonce: row.nonce.as_deref(),
                refresh_token,
                binding: Binding {
                    audience: &audience.unwrap_or_default(),
                    jkt,
                },
                ..user_grant(&grant_id, &row.grant, &user, &scope)
            },
        )
    }

    /// Revokes a grant whose code or refresh token was used twice (it leaked) or whose user is
    /// no longer active, recording `event`; returns `error`, or what kept the revocation from
    /// happening.
    async fn end_grant(
        &self,
        caller: &Caller,
        grant_id: &str,
        event: Event,
        error: OAuthError,
        now: i64,
    ) -> OAuthError {
        let ended = async {
            let mut tx = self.db.write().await?;
            tx.revoke_grant(grant_id, now).await?;
            self.record(&mut tx, caller, event, now).await?;
            tx.commit().await?;
            Ok::<(), OAuthError>(())
        };
        match ended.await {
            Ok(()) => {
                tracing::warn!(grant_id = %grant_id, reason = %error.description, "grant revoked");
                error
            }
            Err(e) => e,
        }
    }

    /// The first refresh token of a grant, stored, when `offline_access` was granted.
    pub(crate) async fn first_refresh_token(
        &self,
        tx: &mut Tx,
        grant_id: &str,
        scope: &ScopeSet,
        now: i64,
    ) -> Result<Option<String>, OAuthError> {
        if !scope.contains("offline_access") {
            return Ok(None);
        }
        let token = secret::generate();
        let ttl = self.config.settings.tokens.refresh_token_ttl_secs;
        tx.insert_refresh_token(&secret::hash(&token), grant_id, now, now + ttl)
            .await?;
        Ok(Some(token))
    }

    /// RFC 6749 §6: exchanges a refresh token for new tokens and a new refresh token. A spent
    /// token presented again, including the loser of two concurrent uses, revokes the whole
    /// grant (RFC 9700 §4.14.2).
    async fn refresh(
        &self,
        caller: &Caller,
        client: &Client,
        params: &Params,
        jkt: Option<&str>,
    ) -> Result<Minted, OAuthError> {
        require_grant(client, GrantType::RefreshToken)?;
        let presented = params.require("refresh_token")?;
        let old_hash = secret::hash(presented);
        let now = self.now();
        let invalid =
            || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
        let failed = |reason: &str| {
            Event::failure(EventType::RefreshFailed)
                .client(&client.id)
                .details(json!({ "reason": reason }))
        };
        let row: Option<RefreshRow> = {
            let mut tx = self.db.read().await?;
            tx.find_refresh_token(&old_hash).await?
        };
        let row = match row {
            Some(row) if row.grant.client_id == client.id => row,
            _ => {
                self.record_failure(caller, failed("unknown_token"), now)
                    .await;
                return Err(invalid());
            }
        };
        if row.grant.revoked_at.is_some() || row.expires_at <= now {
            self.record_failure(caller, failed("expired_or_revoked"), now)
                .await;
            return Err(invalid());
        }
        let scope = grants::refresh_scope(ScopeSet::from_stored(&row.grant.scope), params)?;
        if let Err(e) = proves_key(row.grant.dpop_jkt.as_deref(), jkt) {
            self.record_failure(caller, failed("dpop_key_mismatch"), now)
                .await;
            return Err(e);
        }
        let audience = token_audience(params, &row.grant.resources)?;
        let new_token = secret::generate();
        let ttl = self.config.settings.tokens.refresh_token_ttl_secs;
        let mut tx = self.db.write().await?;
        let outcome = if row.used_at.is_some() {
            RotateOutcome::AlreadyUsed
        } else {
            tx.rotate_refresh_token(
                &old_hash,
                &secret::hash(&new_token),
                &row.grant_id,
                now,
                now + ttl,
            )
            .await?
        };
        if outcome == RotateOutcome::AlreadyUsed {
            drop(tx);
            let event = failed("refresh_token_reused");
            return Err(self
                .end_grant(caller, &row.grant_id, event, invalid(), now)
                .await);
        }
        let Some(user) = live_user(&mut tx, &row.grant.user_id).await? else {
            // Roll back the rotation, then revoke: the grant's user is gone or disabled.
            drop(tx);
            let error = OAuthError::invalid_grant("the user's account is no longer active");
            let event = failed("user_inactive");
            return Err(self
                .end_grant(caller, &row.grant_id, event, error, now)
                .await);
        };
        tx.commit().await?;
        self.provider.user_tokens(
            client,
            UserGrant {
                refresh_token: Some(new_token),
                binding: Binding {
                    audience: &audience,
                    jkt,
                },
                ..user_grant(&row.grant_id, &row.grant, &user, &scope)
            },
        )
    }

    /// Keeps the claims of an access token just minted as if this node had verified it:
    /// clients call userinfo or introspection with it next, and need not wait for a
    /// signature check of what this node signed.
    fn remember_minted(&self, minted: Minted) -> TokenResponse {
        let key = secret::digest(&minted.response.access_token);
        let expires_at = minted.access.exp;
        self.verified_tokens
            .insert(key, Arc::new(minted.access), expires_at, self.now());
        minted.response
    }

    /// An access token of ours with a valid signature and claims, unexpired; from the cache
    /// when this node minted or checked the very same token before.
    fn verified_access_token(&self, token: &str) -> Result<Arc<AccessTokenClaims>, OAuthError> {
        let key = secret::digest(token);
        let now = self.now();
        if let Some(at) = self.verified_tokens.get(&key, now) {
            return Ok(at);
        }
        let at = Arc::new(self.provider.verify_access_token(token)?);
        self.verified_tokens.insert(key, at.clone(), at.exp, now);
        Ok(at)
    }

    /// A valid access token of ours whose grant is live and which was not revoked.
    pub async fn access_token(&self, token: &str) -> Result<Arc<AccessTokenClaims>, OAuthError> {
        let at = self.verified_access_token(token)?;
        let mut tx = self.db.read().await?;
        let live = tx
            .access_token_is_live(at.grant_id.as_deref(), &at.jti, self.now())
            .await?;
        if !live {
            return Err(OAuthError::invalid_token(
                "the access token is invalid, expired or revoked",
            ));
        }
        Ok(at)
    }

    /// An access token if `token` is one; `None` for anything else.
    async fn find_access_token(
        &self,
        token: &str,
    ) -> Result<Option<Arc<AccessTokenClaims>>, OAuthError> {
        if token.split('.').count() != 3 {
            return Ok(None);
        }
        match self.access_token(token).await {
            Ok(at) => Ok(Some(at)),
            Err(e) if e.code == ErrorCode::InvalidToken => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn find_token(&self, token: &str, hint: Option<&str>) -> Result<Found, OAuthError> {
        let refresh_first = hint == Some("refresh_token");
        if !refresh_first && let Some(at) = self.find_access_token(token).await? {
            return Ok(Found::Access(at));
        }
        let refresh = {
            let mut tx = self.db.read().await?;
            tx.find_refresh_token(&secret::hash(token)).await?
        };
        if let Some(row) = refresh {
            return Ok(Found::Refresh(Box::new(row)));
        }
        if refresh_first && let Some(at) = self.find_access_token(token).await? {
            return Ok(Found::Access(at));
        }
        Ok(Found::Nothing)
    }

    /// RFC 7662 §2: introspection by a confidential client. A token issued to another client
    /// is inactive unless the caller is a resource server (RFC 7662 §4 lets the server tell
    /// each caller only what it may know).
    pub async fn introspect(
        &self,
        client: &Client,
        params: &Params,
    ) -> Result<Map<String, Value>, OAuthError> {
        if client.public {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "public clients may not introspect tokens",
            ));
        }
        let token = params.require("token")?;
        let now = self.now();
        match self
            .find_token(token, params.get("token_type_hint"))
            .await?
        {
            // Only the token's own client, or a resource server, learns it is active.
            Found::Access(at) if !client.may_introspect(&at.client_id) => {
                Ok(introspect::inactive())
            }
            Found::Refresh(row) if !client.may_introspect(&row.grant.client_id) => {
                Ok(introspect::inactive())
            }
            Found::Access(at) => {
                let username = if at.grant_id.is_some() {
                    let mut tx = self.db.read().await?;
                    tx.find_user(&at.sub).await?.map(|u| u.username)
                } else {
                    None
                };
                Ok(introspect::access_token(&at, username.as_deref()))
            }
            Found::Refresh(row) => {
                let live =
                    row.used_at.is_none() && row.grant.revoked_at.is_none() && row.expires_at > now;
                Ok(if live {
                    introspect::refresh_token(
                        introspect::RefreshTokenFacts {
                            scope: &row.grant.scope,
                            client_id: &row.grant.client_id,
                            user_id: &row.grant.user_id,
                            expires_at: row.expires_at,
                        },
                        &self.config.issuer,
                    )
                } else {
                    introspect::inactive()
                })
            }
            Found::Nothing => Ok(introspect::inactive()),
        }
    }

    /// RFC 7009 §2.1: revokes an access token, or a refresh token with its whole grant. A
    /// token of another client is refused and left alone; an unknown one is no error.
    pub async fn revoke(
        &self,
        caller: &Caller,
        client: &Client,
        params: &Params,
    ) -> Result<(), OAuthError> {
        let caller = caller.as_actor(Actor::Client(client.id.clone()));
        let token = params.require("token")?;
        let now = self.now();
        let not_yours = || {
            OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "the token was not issued to this client",
            )
        };
        match self
            .find_token(token, params.get("token_type_hint"))
            .await?
        {
            Found::Access(at) => {
                if at.client_id != client.id {
                    return Err(not_yours());
                }
                let mut tx = self.db.write().await?;
                tx.revoke_access_token(&at.jti, at.exp).await?;
                self.record(
                    &mut tx,
                    &caller,
                    Event::success(EventType::TokenRevoked)
                        .client(&client.id)
                        .details(json!({ "token_type": "access_token", "jti": at.jti })),
                    now,
                )
                .await?;
                tx.commit().await?;
            }
            Found::Refresh(row) => {
                if row.grant.client_id != client.id {
                    return Err(not_yours());
                }
                let mut tx = self.db.write().await?;
                tx.revoke_grant(&row.grant_id, now).await?;
                self.record(
                    &mut tx,
                    &caller,
                    Event::success(EventType::GrantRevoked)
                        .client(&client.id)
                        .details(json!({ "grant_id": row.grant_id, "by": "token_revocation" })),
                    now,
                )
                .await?;
                tx.commit().await?;
            }
            Found::Nothing => {}
        }
        Ok(())
    }

    /// An access token presented to one of Tessera's own resources: valid, minted for its
    /// client rather than another resource (RFC 8707), and presented as its binding demands
    /// (RFC 9449 §7: a DPoP-bound token only with the DPoP scheme and a proof of its key, which
    /// carries the token's hash). Whether its grant is live is the caller's read.
    pub(crate) async fn resource_token(
        &self,
        presented: &Presented<'_>,
    ) -> Result<Arc<AccessTokenClaims>, OAuthError> {
        let at = self.verified_access_token(presented.token)?;
        if at.for_other_resource() {
            return Err(OAuthError::invalid_token(
                "this token was minted for another resource",
            ));
        }
        match (&at.jkt, presented.dpop_scheme) {
            (None, false) => {}
            (None, true) => {
                return Err(OAuthError::invalid_token(
                    "this token is not DPoP-bound; present it as a Bearer token",
                ));
            }
            (Some(_), false) => {
                return Err(OAuthError::invalid_token(
                    "this token is DPoP-bound; present it with the DPoP scheme and a proof",
                ));
            }
            (Some(jkt), true) => {
                let proof = self
                    .dpop_proof(presented.dpop, Some(presented.token))
                    .await?
                    .ok_or_else(|| {
                        OAuthError::new(ErrorCode::InvalidDpopProof, "the DPoP proof is missing")
                    })?;
                crate::oidc::dpop::bound_to(&proof, jkt)?;
            }
        }
        Ok(at)
    }

    /// OpenID Connect Core §5.3: the claims released by a user access token's scopes.
    pub async fn userinfo(
        &self,
        presented: &Presented<'_>,
    ) -> Result<Map<String, Value>, OAuthError> {
        let at = self.resource_token(presented).await?;
        let Some(grant_id) = at.grant_id.as_deref() else {
            return Err(OAuthError::invalid_token(
                "this token was not issued for a user",
            ));
        };
        if !at.scope.contains("openid") {
            return Err(OAuthError::new(
                ErrorCode::InsufficientScope,
                "the openid scope is required",
            ));
        }
        // Liveness and the user in one statement: the grant read is what makes revocation
        // take effect.
        let mut tx = self.db.read().await?;
        let user = tx
            .user_of_live_token(&at.sub, grant_id, &at.jti, self.now())
            .await?
            .map(|(row, roles)| convert::user(row, roles))
            .filter(|u| u.enabled)
            .ok_or_else(|| {
                OAuthError::invalid_token("the access token is invalid, expired or revoked")
            })?;
        let mut body = crate::oidc::claims::user_claims(&user, &at.scope);
        body.insert("sub".into(), json!(user.id));
        Ok(body)
    }
}

/// RFC 9449 §10 and §5: a code or refresh token bound to a key needs a proof with that key.
fn proves_key(bound: Option<&str>, proved: Option<&str>) -> Result<(), OAuthError> {
    match (bound, proved) {
        (None, _) => Ok(()),
        (Some(bound), Some(proved)) if secret::constant_time_eq(bound, proved) => Ok(()),
        (Some(_), _) => Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "a DPoP proof with the key this grant is bound to is required",
        )),
    }
}

/// RFC 8707 §2.2: the audience of tokens from a grant: the resources the token request
/// names, each of which the grant (its stored, space-separated list) must allow, or all the
/// grant's resources.
fn token_audience(params: &Params, granted: &str) -> Result<Vec<String>, OAuthError> {
    let asked = authorize::resources(params, |r| convert::words(granted).any(|g| g == r))?;
    Ok(if asked.is_empty() {
        convert::words(granted).map(str::to_string).collect()
    } else {
        asked
    })
}

/// The tokens a grant's stored facts describe, for `user` and `scope`: no nonce, no refresh
/// token and an unbound token for the client, unless the caller says otherwise.
pub(crate) fn user_grant<'a>(
    grant_id: &'a str,
    facts: &'a GrantFacts,
    user: &'a User,
    scope: &'a ScopeSet,
) -> UserGrant<'a> {
    UserGrant {
        grant_id,
        session_id: facts.session_id.as_deref(),
        auth_time: facts.auth_time,
        amr: &facts.amr,
        acr: &facts.acr,
        user,
        scope,
        nonce: None,
        refresh_token: None,
        binding: Binding::default(),
    }
}

/// An access token as a request to a resource presents it.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    /// The token.
    pub token: &'a str,
    /// It came with the `DPoP` authorization scheme rather than `Bearer`.
    pub dpop_scheme: bool,
    /// The request's DPoP proof and what it must match.
    pub dpop: DpopRequest<'a>,
}

/// What a presented token turned out to be.
enum Found {
    Access(Arc<AccessTokenClaims>),
    Refresh(Box<RefreshRow>),
    Nothing,
}

/// The grant's user with their current roles, if the account still exists and is enabled.
pub(crate) async fn live_user(tx: &mut Tx, user_id: &str) -> StoreResult<Option<User>> {
    Ok(tx
        .find_user_with_roles(user_id)
        .await?
        .and_then(|(row, roles)| enabled_user(row, roles)))
}

/// The user a stored row and their roles make, if the account is enabled.
fn enabled_user(row: UserRow, roles: Vec<String>) -> Option<User> {
    Some(convert::user(row, roles)).filter(|u| u.enabled)
}
