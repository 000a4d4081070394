//! The OpenID Connect side of the app, written with the `openidconnect`
//! crate alone: discovery (again when Tessera's signing keys change), the
//! checks on the redirect back from Tessera, ID-token verification,
//! userinfo, refreshed tokens and the RP-initiated logout URL.
//!
//! Log lines name the program as their target (not `relying_party::oidc`),
//! like the rest of its logs.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use anyhow::bail;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalClaims, ClaimsVerificationError, Client, CsrfToken,
    DiscoveryError, EmptyExtraTokenFields, EndSessionUrl, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, HttpClientError, IdToken, IdTokenClaims, IdTokenFields, LogoutRequest, Nonce,
    NonceVerifier, OAuth2TokenResponse, ProviderMetadataWithLogout, RefreshToken,
    RequestTokenError, SignatureVerificationError, StandardErrorResponse, StandardTokenResponse,
    SubjectIdentifier, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::App;
use crate::errors::{ErrorPage, error_chain};
use crate::session::same_secret;
use crate::settings::Settings;

/// How many times discovery is tried at start while Tessera may be starting.
const DISCOVERY_ATTEMPTS: u32 = 6;

/// Pause between two discovery attempts (6 × 2 s ≈ 10 s in all).
const DISCOVERY_RETRY_DELAY: Duration = Duration::from_secs(2);

/// Shortest time between two discoveries caused by an unknown signing key.
const REDISCOVERY_INTERVAL: Duration = Duration::from_secs(10);

/// The custom claim Tessera adds when the `roles` scope is granted.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct RoleClaims {
    /// The user's roles; empty when the claim is absent.
    #[serde(default)]
    pub roles: Vec<String>,
}

impl AdditionalClaims for RoleClaims {}

/// ID token carrying [`RoleClaims`].
pub type RoleIdToken = IdToken<
    RoleClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// Verified claims of a [`RoleIdToken`].
pub type RoleIdTokenClaims = IdTokenClaims<RoleClaims, CoreGenderClaim>;

/// Userinfo answer carrying [`RoleClaims`].
pub type RoleUserInfo = UserInfoClaims<RoleClaims, CoreGenderClaim>;

/// Token response whose ID token carries [`RoleClaims`].
pub type RoleTokenResponse = StandardTokenResponse<
    IdTokenFields<
        RoleClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// Errors from the token endpoint.
pub type TokenError = RequestTokenError<
    HttpClientError<reqwest::Error>,
    StandardErrorResponse<CoreErrorResponseType>,
>;

/// The OpenID Connect client: like `CoreClient` but with [`RoleClaims`], and
/// with the token endpoint known to be set (checked at start).
pub type RpClient = Client<
    RoleClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    RoleTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointMaybeSet,
>;

/// What discovery told us about Tessera.
pub struct Provider {
    /// Client configured from the discovery document and JWKS.
    pub client: RpClient,
    /// Tessera's signing keys, for logout tokens.
    pub jwks: CoreJsonWebKeySet,
    /// Tessera's issuer identifier.
    pub issuer: String,
    /// RP-initiated logout endpoint, when Tessera offers one.
    end_session: Option<EndSessionUrl>,
}

/// Values bound to one authorization request; used once by the callback.
pub struct PendingLogin {
    /// Expected `state` (the CSRF token of the authorization request).
    pub state: String,
    /// Expected `nonce` in the ID token.
    pub nonce: Nonce,
    /// PKCE verifier matching the challenge that was sent.
    pub pkce_verifier: String,
}

/// A signed-in user's tokens and claims.
#[derive(Clone)]
pub struct SignedIn {
    /// The raw ID token, sent back as `id_token_hint` at logout.
    id_token: RoleIdToken,
    /// Its verified claims.
    pub claims: RoleIdTokenClaims,
    /// Nonce of the sign-in, to check refreshed ID tokens against.
    nonce: Nonce,
    /// Access token for userinfo and the resource server.
    pub access_token: AccessToken,
    /// Present when `offline_access` was granted.
    pub refresh_token: Option<RefreshToken>,
    /// Userinfo answer, or why it could not be had.
    pub userinfo: Result<RoleUserInfo, String>,
    /// Tessera's session id (`sid`), which its logout tokens name.
    pub sid: Option<String>,
}

/// The query parameters of the redirect back from Tessera.
#[derive(Debug, Default)]
pub struct CallbackParams {
    /// Authorization code.
    pub code: Option<String>,
    /// Echoed `state`.
    state: Option<String>,
    /// Issuer identifier (RFC 9207), when Tessera sends it.
    iss: Option<String>,
    /// Error code, when the request failed.
    pub error: Option<String>,
    /// Human-readable error detail.
    pub error_description: Option<String>,
}

impl CallbackParams {
    /// Parses the query; the first occurrence of a parameter wins.
    pub fn parse(query: &str) -> Self {
        let mut params = Self::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match key.as_ref() {
                "code" => &mut params.code,
                "state" => &mut params.state,
                "iss" => &mut params.iss,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        params
    }
}

/// Runs discovery, retrying while Tessera is unreachable or failing.
pub async fn discover_with_retry(
    http: &reqwest::Client,
    settings: &Settings,
) -> anyhow::Result<Provider> {
    let mut attempt = 1;
    loop {
        match discover(http, settings).await {
            Ok(provider) => return Ok(provider),
            Err(Discovery::Transient(reason)) if attempt < DISCOVERY_ATTEMPTS => {
                info!(
                    target: env!("CARGO_CRATE_NAME"),
                    "Tessera is not ready yet ({reason}), retrying"
                );
                attempt += 1;
                tokio::time::sleep(DISCOVERY_RETRY_DELAY).await;
            }
            Err(Discovery::Transient(reason) | Discovery::Fatal(reason)) => bail!(
                "OpenID Connect discovery for issuer {} failed: {reason}; check that Tessera \
                 is running and that --issuer / RP_ISSUER is its issuer URL",
                settings.issuer.as_str()
            ),
        }
    }
}

/// Why discovery failed, and whether trying again may help.
enum Discovery {
    /// Unreachable or a server error: Tessera may still be starting.
    Transient(String),
    /// Anything else (wrong issuer, bad document): retrying will not help.
    Fatal(String),
}

/// Fetches the discovery document and JWKS and builds the client.
async fn discover(http: &reqwest::Client, settings: &Settings) -> Result<Provider, Discovery> {
    let metadata = ProviderMetadataWithLogout::discover_async(settings.issuer.clone(), http)
        .await
        .map_err(|err| {
            let reason = error_chain(&err);
            match err {
                DiscoveryError::Request(_) => Discovery::Transient(reason),
                DiscoveryError::Response(status, ..) if status.is_server_error() => {
                    Discovery::Transient(reason)
                }
                _ => Discovery::Fatal(reason),
            }
        })?;
    let end_session = metadata.additional_metadata().end_session_endpoint.clone();
    let jwks = metadata.jwks().clone();
    let issuer = metadata.issuer().to_string();
    let token_url = metadata.token_endpoint().cloned().ok_or_else(|| {
        Discovery::Fatal("the discovery document has no token_endpoint".to_owned())
    })?;
    let client = Client::from_provider_metadata(
        metadata,
        settings.client_id.clone(),
        Some(settings.client_secret.clone()),
    )
    .set_redirect_uri(settings.redirect_url.clone())
    .set_token_uri(token_url);
    Ok(Provider {
        client,
        jwks,
        issuer,
        end_session,
    })
}

impl App {
    /// The current discovery result.
    pub fn provider(&self) -> Arc<Provider> {
        self.provider
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Checks `state` (login CSRF) and, when present, `iss` (mix-up attacks).
    pub fn check_callback(
        &self,
        params: &CallbackParams,
        pending: &PendingLogin,
    ) -> Result<(), ErrorPage> {
        let state_matches = params
            .state
            .as_deref()
            .is_some_and(|state| same_secret(state, &pending.state));
        if !state_matches {
            return Err(ErrorPage::state_mismatch());
        }
        if let Some(iss) = &params.iss
            && iss != self.settings.issuer.as_str()
        {
            return Err(ErrorPage::wrong_issuer(iss));
        }
        Ok(())
    }

    /// Verifies the ID token of a fresh sign-in and fetches userinfo.
    pub async fn user_from_tokens(
        &self,
        tokens: &RoleTokenResponse,
        nonce: Nonce,
    ) -> Result<SignedIn, ErrorPage> {
        let id_token = tokens
            .extra_fields()
            .id_token()
            .cloned()
            .ok_or_else(ErrorPage::no_id_token)?;
        let access_token = tokens.access_token().clone();
        let claims = self
            .verify_id_token(&id_token, &access_token, &nonce)
            .await?;
        let userinfo = self.fetch_userinfo(&access_token, claims.subject()).await;
        Ok(SignedIn {
            sid: crate::backchannel::session_of(&id_token.to_string()),
            id_token,
            claims,
            nonce,
            access_token,
            refresh_token: tokens.refresh_token().cloned(),
            userinfo,
        })
    }

    /// Applies a refresh-token response to the signed-in user.
    pub async fn refreshed_user(
        &self,
        mut user: SignedIn,
        tokens: &RoleTokenResponse,
    ) -> Result<SignedIn, ErrorPage> {
        user.access_token = tokens.access_token().clone();
        if let Some(id_token) = tokens.extra_fields().id_token() {
            let original = &user.nonce;
            // A refreshed ID token need not carry a nonce (OpenID Connect
            // Core §12.2); if it does, it must be the sign-in's.
            let nonce_check = move |nonce: Option<&Nonce>| match nonce {
                Some(nonce) if !same_secret(nonce.secret(), original.secret()) => {
                    Err("nonce differs from the sign-in's".to_owned())
                }
                _ => Ok(()),
            };
            let claims = self
                .verify_id_token(id_token, &user.access_token, nonce_check)
                .await?;
            if claims.subject() != user.claims.subject() {
                return Err(ErrorPage::subject_changed());
            }
            user.id_token = id_token.clone();
            user.claims = claims;
        }
        // Tessera may rotate refresh tokens; keep the old one otherwise.
        if let Some(refresh_token) = tokens.refresh_token() {
            user.refresh_token = Some(refresh_token.clone());
        }
        user.userinfo = self
            .fetch_userinfo(&user.access_token, user.claims.subject())
            .await;
        Ok(user)
    }

    /// Verifies an ID token; on an unknown key, rediscovers once and retries,
    /// since Tessera may have rotated its keys since start.
    async fn verify_id_token<N>(
        &self,
        id_token: &RoleIdToken,
        access_token: &AccessToken,
        nonce: N,
    ) -> Result<RoleIdTokenClaims, ErrorPage>
    where
        N: NonceVerifier + Copy,
    {
        let provider = self.provider();
        let result = match check_id_token(&provider, id_token, access_token, nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let provider = self.rediscover().await;
                check_id_token(&provider, id_token, access_token, nonce)
            }
            other => other,
        };
        result.map_err(|err| ErrorPage::invalid_id_token(&err))
    }

    /// Runs discovery again (at most once per [`REDISCOVERY_INTERVAL`]).
    async fn rediscover(&self) -> Arc<Provider> {
        let mut last = self.last_discovery.lock().await;
        if last.elapsed() < REDISCOVERY_INTERVAL {
            return self.provider();
        }
        *last = Instant::now();
        match discover(&self.http, &self.settings).await {
            Ok(provider) => {
                let provider = Arc::new(provider);
                *self
                    .provider
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = provider.clone();
                info!(
                    target: env!("CARGO_CRATE_NAME"),
                    "refreshed Tessera's discovery document and keys"
                );
                provider
            }
            Err(Discovery::Transient(reason) | Discovery::Fatal(reason)) => {
                warn!(target: env!("CARGO_CRATE_NAME"), "rediscovery failed: {reason}");
                self.provider()
            }
        }
    }

    /// Calls the userinfo endpoint; failures are kept for display.
    async fn fetch_userinfo(
        &self,
        access_token: &AccessToken,
        subject: &SubjectIdentifier,
    ) -> Result<RoleUserInfo, String> {
        let provider = self.provider();
        let request = provider
            .client
            .user_info(access_token.clone(), Some(subject.clone()))
            .map_err(|_| "Tessera offers no userinfo endpoint".to_owned())?;
        request
            .request_async(&self.http)
            .await
            .map_err(|err| error_chain(&err))
    }

    /// The RP-initiated logout URL, when Tessera has an end-session endpoint.
    pub fn end_session_url(&self, user: &SignedIn) -> Option<String> {
        let endpoint = self.provider().end_session.clone()?;
        let url = LogoutRequest::from(endpoint)
            .set_id_token_hint(&user.id_token)
            .set_client_id(self.settings.client_id.clone())
            .set_post_logout_redirect_uri(self.settings.post_logout_url.clone())
            .set_state(CsrfToken::new_random())
            .http_get_url();
        Some(url.into())
    }
}

/// Library verification of the ID token, plus `at_hash` when present.
fn check_id_token<N: NonceVerifier>(
    provider: &Provider,
    id_token: &RoleIdToken,
    access_token: &AccessToken,
    nonce: N,
) -> Result<RoleIdTokenClaims, ClaimsVerificationError> {
    let verifier = provider.client.id_token_verifier();
    let claims = id_token.claims(&verifier, nonce)?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token
            .signing_alg()
            .map_err(ClaimsVerificationError::SignatureVerification)?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(ClaimsVerificationError::SignatureVerification)?;
        let actual = AccessTokenHash::from_token(access_token, alg, key)
            .map_err(|err| ClaimsVerificationError::Other(err.to_string()))?;
        if actual != *expected {
            return Err(ClaimsVerificationError::Other(
                "at_hash does not match the access token".to_owned(),
            ));
        }
    }
    Ok(claims.clone())
}

/// Whether the verified ID token lists `role`.
pub fn has_role(claims: &RoleIdTokenClaims, role: &str) -> bool {
    claims.additional_claims().roles.iter().any(|r| r == role)
}
