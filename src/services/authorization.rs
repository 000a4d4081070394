//! The authorization endpoint's use cases (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2):
//! start a request, resume it after sign-in, record the consent answer. Each of them ends in
//! [`Services::proceed`], which runs the full decision against the current session before
//! anything is issued, so no page can skip a demanded re-authentication or consent.

use super::audit::{Event, EventType};
use super::interaction::Interaction;
use super::tokens::live_user;
use super::{Actor, Caller, ServiceResult, Services};
use crate::auth::secret;
use crate::config::RegistrationMode;
use crate::domain::{Client, ScopeSet, Session, User};
use crate::oidc::authorize::{
    self, AuthorizationRequest, AuthorizeError, ConsentState, Next, ResponseTarget, SessionView,
};
use crate::oidc::params::Params;
use crate::oidc::{ErrorCode, OAuthError};
use crate::store::{GrantFacts, NewCode, NewGrant};

/// Which page the user must see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractionPage {
    /// Sign in.
    Login,
    /// Create an account (`prompt=create`).
    Register,
    /// Allow or deny the client.
    Consent,
    /// Add the second factor (or set one up) to the current session.
    SecondFactor,
}

/// What the authorization endpoint answers.
#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// The client or redirect URI cannot be trusted: a page, never a redirect.
    Untrusted(OAuthError),
    /// The answer goes back to the client: a code or an error.
    Respond {
        /// Where it goes.
        target: ResponseTarget,
        /// The code, or the error.
        result: Result<String, OAuthError>,
    },
    /// The user must act on a page first.
    Interact {
        /// Which page.
        page: InteractionPage,
        /// The parked request.
        interaction: String,
    },
}

/// What the consent page shows.
#[derive(Debug, Clone)]
pub struct ConsentPrompt {
    /// The parked request.
    pub interaction: String,
    /// The client's name.
    pub client_name: String,
    /// The signed-in user's username.
    pub username: String,
    /// Each requested scope with what it shares.
    pub scopes: Vec<(String, String)>,
    /// An administrator registered the client (not so for self-registered ones).
    pub verified: bool,
    /// The client's links (label, URL) that share the redirect URI's host.
    pub links: Vec<(&'static str, String)>,
}

impl Services {
    /// `GET|POST /authorize`: validates the request, then proceeds.
    pub async fn authorize(
        &self,
        caller: &Caller,
        params: &Params,
        session: Option<Session>,
    ) -> ServiceResult<AuthorizeOutcome> {
        let client_id = match authorize::check_client_id(params) {
            Ok(id) => id,
            Err(error) => return Ok(untrusted(error)),
        };
        let client = match self.requested_client(client_id).await {
            Ok(client) => client,
            Err(error) => return Ok(AuthorizeOutcome::Untrusted(error)),
        };
        let Some(client) = client else {
            return Ok(AuthorizeOutcome::Untrusted(OAuthError::invalid_request(
                "unknown client_id",
            )));
        };
        if !client.enabled {
            return Ok(AuthorizeOutcome::Untrusted(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this application has been switched off by the administrator",
            )));
        }
        let params = match self.authorization_parameters(&client, params).await {
            Ok(params) => params,
            Err(error) => return Ok(AuthorizeOutcome::Untrusted(error)),
        };
        let validated = authorize::check_redirect_uri(&params, &client).and_then(|redirect_uri| {
            authorize::validate(
                &params,
                &client,
                redirect_uri,
                &self.keys,
                &self.config.issuer,
            )
        });
        match validated {
            Ok(mut request) => {
                // Without self-service sign-up, `prompt=create` is ignored (the spec lets an
                // OP that cannot create accounts go on as usual).
                if self.registration_mode() == RegistrationMode::Closed {
                    request.prompt.create = false;
                }
                let ip = caller.ip.as_deref();
                self.proceed(ip, &client, request, None, session, false)
                    .await
            }
            Err(error) => Ok(untrusted(error)),
        }
    }

    /// `GET /authorize/resume`: continues a parked request with the current session. `None`
    /// when the interaction is unknown or expired.
    pub async fn resume_authorization(
        &self,
        interaction: &str,
        session: Option<Session>,
    ) -> ServiceResult<Option<AuthorizeOutcome>> {
        let Some((parked, client)) = self.interaction(interaction).await? else {
            return Ok(None);
        };
        let request = parked.request.clone();
        Ok(Some(
            self.proceed(None, &client, request, Some(parked), session, false)
                .await?,
        ))
    }

    /// What the consent page of a parked request shows; `Err` outcome when the user must
    /// sign in first; `None` when the request expired.
    pub async fn consent_prompt(
        &self,
        interaction: &str,
        session: Option<&Session>,
    ) -> ServiceResult<Option<Result<ConsentPrompt, AuthorizeOutcome>>> {
        let Some((parked, client)) = self.interaction(interaction).await? else {
            return Ok(None);
        };
        let user = match session {
            Some(s) => self.session_user(s).await?,
            None => None,
        };
        let Some(user) = user else {
            return Ok(Some(Err(AuthorizeOutcome::Interact {
                page: InteractionPage::Login,
                interaction: parked.id,
            })));
        };
        let requested = ScopeSet::from_stored(&parked.request.scope);
        let names: Vec<&str> = requested.iter().collect();
        let host = |uri: &str| {
            url::Url::parse(uri)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
        };
        let redirect_host = host(&parked.request.target.redirect_uri);
        let links = [
            ("Website", &client.links.client_uri),
            ("Privacy policy", &client.links.policy_uri),
            ("Terms of service", &client.links.tos_uri),
        ]
        .into_iter()
        .filter_map(|(label, uri)| uri.clone().map(|u| (label, u)))
        // RFC 7591 §5: a link is shown only where it cannot pass for another site's.
        .filter(|(_, uri)| redirect_host.is_some() && host(uri) == redirect_host)
        .collect();
        Ok(Some(Ok(ConsentPrompt {
            verified: !client.self_registered,
            links,
            scopes: self.describe_scopes(&names).await?,
            interaction: parked.id,
            client_name: client.name,
            username: user.username,
        })))
    }

    /// `POST /consent`: records the user's answer. An approval is remembered (consent
    /// accumulates) and the request proceeds through the full decision; a denial answers the
    /// client `access_denied`. `None` when the request expired.
    pub async fn decide_consent(
        &self,
        caller: &Caller,
        interaction: &str,
        session: Option<Session>,
        approve: bool,
    ) -> ServiceResult<Option<AuthorizeOutcome>> {
        let Some((parked, client)) = self.interaction(interaction).await? else {
            return Ok(None);
        };
        let user = match &session {
            Some(s) => self.session_user(s).await?,
            None => None,
        };
        let Some(user) = user else {
            return Ok(Some(AuthorizeOutcome::Interact {
                page: InteractionPage::Login,
                interaction: parked.id,
            }));
        };
        let caller = caller.as_actor(Actor::User(user.id.clone()));
        let now = self.now();
        let mut tx = self.db.write().await?;
        let requested = ScopeSet::from_stored(&parked.request.scope);
        if !approve {
            self.finish(&mut tx, &parked.id).await?;
            self.record(
                &mut tx,
                &caller,
                Event::success(EventType::ConsentDenied)
                    .user(&user.id, &user.username)
                    .client(&client.id),
                now,
            )
            .await?;
            tx.commit().await?;
            return Ok(Some(AuthorizeOutcome::Respond {
                target: parked.request.target,
                result: Err(OAuthError::new(
                    ErrorCode::AccessDenied,
                    "the user denied the request",
                )),
            }));
        }
        // Consent accumulates: allowing new scopes keeps what was allowed before.
        let before = tx.find_consent(&user.id, &client.id).await?;
        let allowed =
            ScopeSet::from_stored(before.as_deref().unwrap_or_default()).union(&requested);
        tx.save_consent(&user.id, &client.id, &allowed.to_string(), now)
            .await?;
        self.record(
            &mut tx,
            &caller,
            Event::success(EventType::ConsentGranted)
                .user(&user.id, &user.username)
                .client(&client.id)
                .details(serde_json::json!({ "scope": requested.to_string() })),
            now,
        )
        .await?;
        tx.commit().await?;
        let request = parked.request.clone();
        Ok(Some(
            self.proceed(None, &client, request, Some(parked), session, true)
                .await?,
        ))
    }

    /// The signed-in user of a session, if the account is still enabled.
    async fn session_user(&self, session: &Session) -> ServiceResult<Option<User>> {
        let mut tx = self.db.read().await?;
        Ok(live_user(&mut tx, &session.user_id).await?)
    }

    /// Decides what a valid request needs next against the current session, and does it:
    /// park it for the login or consent page (a new request is parked under the address
    /// `ip` it came from), answer with an error, or issue the code.
    async fn proceed(
        &self,
        ip: Option<&str>,
        client: &Client,
        request: AuthorizationRequest,
        parked: Option<Interaction>,
        session: Option<Session>,
        consent_given_now: bool,
    ) -> ServiceResult<AuthorizeOutcome> {
        let now = self.now();
        let consent_on_file = match &session {
            Some(s) if !client.skips_consent() => {
                let mut tx = self.db.read().await?;
                let requested = ScopeSet::from_stored(&request.scope);
                tx.find_consent(&s.user_id, &client.id)
                    .await?
                    .is_some_and(|given| requested.is_subset(&ScopeSet::from_stored(&given)))
            }
            _ => false,
        };
        // A sign-in during this request is one that happened after it was parked, in a
        // session other than the one present then.
        let signed_in_during_request = match (&parked, &session) {
            (Some(p), Some(s)) => {
                s.auth_time >= p.created_at && p.prior_session_id.as_deref() != Some(s.id.as_str())
            }
            _ => false,
        };
        let view = session.as_ref().map(|s| SessionView {
            user_id: s.user_id.clone(),
            auth_time: s.auth_time,
            acr: s.acr.clone(),
        });
        let decision = authorize::decide(
            &request,
            view.as_ref(),
            signed_in_during_request,
            now,
            ConsentState {
                skip: client.skips_consent(),
                on_file: consent_on_file,
                given_now: consent_given_now && parked.is_some(),
            },
        );
        let parked_id = parked.map(|p| p.id);
        // A write transaction only where something is written: resuming a parked request
        // that still waits for a page takes no write lock.
        match decision {
            Err(error) => {
                if let Some(id) = &parked_id {
                    let mut tx = self.db.write().await?;
                    self.finish(&mut tx, id).await?;
                    tx.commit().await?;
                }
                Ok(AuthorizeOutcome::Respond {
                    target: request.target,
                    result: Err(error),
                })
            }
            Ok(Next::Issue) => {
                let Some(session) = session else {
                    return Err(anyhow::anyhow!("issue decided without a session").into());
                };
                let code = self
                    .issue_code(&request, &session, parked_id.as_deref(), now)
                    .await?;
                Ok(AuthorizeOutcome::Respond {
                    target: request.target,
                    result: Ok(code),
                })
            }
            Ok(next) => {
                let interaction = match parked_id {
                    Some(id) => id,
                    None => {
                        let mut tx = self.db.write().await?;
                        let id = self
                            .park(&mut tx, &request, (session.map(|s| s.id), ip), now)
                            .await?;
                        tx.commit().await?;
                        id
                    }
                };
                Ok(AuthorizeOutcome::Interact {
                    page: match next {
                        Next::Login => InteractionPage::Login,
                        Next::Register => InteractionPage::Register,
                        Next::SecondFactor => InteractionPage::SecondFactor,
                        _ => InteractionPage::Consent,
                    },
                    interaction,
                })
            }
        }
    }

    /// RFC 6749 §4.1.2: creates the grant and a single-use code bound to the client, the
    /// redirect URI, the PKCE challenge and the nonce, and ends the parked request `parked`
    /// answers (if any); returns the code.
    async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        session: &Session,
        parked: Option<&str>,
        now: i64,
    ) -> ServiceResult<String> {
        let grant = self.new_user_grant(
            GrantFacts {
                client_id: request.client_id.clone(),
                user_id: session.user_id.clone(),
                session_id: Some(session.id.clone()),
                scope: request.scope.clone(),
                auth_time: session.auth_time,
                amr: session.amr.join(" "),
                acr: session.acr.clone(),
                revoked_at: None,
                resources: request.resources.join(" "),
                dpop_jkt: None,
            },
            now,
        );
        let code = secret::generate();
        let new_code = NewCode {
            code_hash: secret::hash(&code),
            redirect_uri: request.target.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            nonce: request.nonce.clone(),
            dpop_jkt: request.dpop_jkt.clone(),
            expires_at: now + self.config.settings.tokens.code_ttl_secs,
        };
        self.db.issue_code(&grant, &new_code, parked).await?;
        Ok(code)
    }
}

impl Services {
    /// A new grant of a user to a client. It lives as long as a refresh token when
    /// `offline_access` is granted, else as long as a code and its access token.
    pub(crate) fn new_user_grant(&self, facts: GrantFacts, now: i64) -> NewGrant {
        let tokens = &self.config.settings.tokens;
        let lifetime = if ScopeSet::from_stored(&facts.scope).contains("offline_access") {
            tokens.refresh_token_ttl_secs
        } else {
            tokens.code_ttl_secs + tokens.access_token_ttl_secs
        };
        NewGrant {
            id: uuid::Uuid::new_v4().to_string(),
            facts,
            expires_at: now + lifetime,
            now,
        }
    }
}

fn untrusted(error: AuthorizeError) -> AuthorizeOutcome {
    match error {
        AuthorizeError::Page { error } => AuthorizeOutcome::Untrusted(error),
        AuthorizeError::Redirect { target, error } => AuthorizeOutcome::Respond {
            target,
            result: Err(error),
        },
    }
}
