//! A third-party application built on the `openidconnect` crate, as tests drive it: it
//! discovers Tessera, builds authorization URLs with PKCE and a nonce, walks the hosted login
//! and consent pages over HTTP like a browser, and exchanges and verifies what comes back.

use openidconnect::core::{
    CoreClient, CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType, CoreTokenResponse,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalClaims, AuthenticationFlow, AuthorizationCode,
    ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RefreshToken, RequestTokenError, Scope, TokenResponse, UserInfoClaims,
};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use crate::helpers::{JsonReply, TestApp, hidden_input, location};

/// The `roles` claim Tessera adds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Roles {
    /// Role names.
    #[serde(default)]
    pub roles: Vec<String>,
}
impl AdditionalClaims for Roles {}

/// An ID token with the roles claim.
pub type RolesIdToken =
    IdToken<Roles, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// The client type after discovery.
pub type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The redirect URI every test client registers.
pub const REDIRECT_URI: &str = "http://127.0.0.1:3999/callback";
/// The post-logout URI every test client registers.
pub const POST_LOGOUT_URI: &str = "http://127.0.0.1:3999/";

/// A registered relying party.
pub struct Rp {
    /// The openidconnect client.
    pub client: DiscoveredClient,
    /// Its id.
    pub client_id: String,
    /// Its secret (confidential clients).
    pub secret: Option<String>,
    /// HTTP client for back-channel calls (no redirects, as openidconnect requires).
    pub http: openidconnect::reqwest::Client,
}

/// One authorization request in flight.
pub struct Pending {
    /// The URL to send the browser to.
    pub url: url::Url,
    /// The state sent.
    pub state: CsrfToken,
    /// The nonce sent.
    pub nonce: Nonce,
    /// The PKCE verifier.
    pub verifier: PkceCodeVerifier,
}

/// The spec a test client is registered with.
pub fn spec(name: &str) -> tessera::services::clients::ClientSpec {
    tessera::services::clients::ClientSpec {
        name: name.into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        post_logout_redirect_uris: vec![POST_LOGOUT_URI.into()],
        grant_types: vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ],
        roles: vec!["user".into()],
        ..Default::default()
    }
}

/// The back-channel HTTP client.
pub fn http_client() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

impl Rp {
    /// Registers a client with `spec` and discovers the provider.
    pub async fn register(app: &TestApp, spec: tessera::services::clients::ClientSpec) -> Rp {
        let (client_id, secret) = app.create_client(spec).await;
        Rp::discover(app, client_id, secret).await
    }

    /// Discovers the provider for an existing client.
    pub async fn discover(app: &TestApp, client_id: String, secret: Option<String>) -> Rp {
        Rp::discover_with(app, client_id, secret, http_client()).await
    }

    /// Discovers the provider for an existing client, calling it through `http`.
    pub async fn discover_with(
        app: &TestApp,
        client_id: String,
        secret: Option<String>,
        http: openidconnect::reqwest::Client,
    ) -> Rp {
        let metadata = CoreProviderMetadata::discover_async(
            IssuerUrl::new(app.address.clone()).unwrap(),
            &http,
        )
        .await
        .expect("discovery");
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(client_id.clone()),
            secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
        Rp {
            client,
            client_id,
            secret,
            http,
        }
    }

    /// An authorization URL with PKCE S256, state and nonce, for `scopes` beyond openid.
    pub fn authorize(&self, scopes: &[&str], extra: &[(&str, &str)]) -> Pending {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in scopes {
            request = request.add_scope(Scope::new(scope.to_string()));
        }
        for (k, v) in extra {
            request = request.add_extra_param(*k, *v);
        }
        let (url, state, nonce) = request.url();
        Pending {
            url,
            state,
            nonce,
            verifier,
        }
    }

    /// Exchanges a code.
    pub async fn exchange(
        &self,
        code: &str,
        verifier: PkceCodeVerifier,
    ) -> Result<CoreTokenResponse, String> {
        self.client
            .exchange_code(AuthorizationCode::new(code.into()))
            .expect("token endpoint")
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| format!("{e:?}"))
    }

    /// Verifies an ID token (signature via JWKS, iss, aud, exp, nonce, at_hash) and returns its claims.
    pub fn verify_id_token(
        &self,
        tokens: &CoreTokenResponse,
        nonce: &Nonce,
    ) -> openidconnect::IdTokenClaims<Roles, CoreGenderClaim> {
        let raw = tokens.id_token().expect("an ID token").to_string();
        let id_token: RolesIdToken = raw.parse().expect("ID token parses");
        let verifier = self.client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, nonce)
            .expect("ID token verifies")
            .clone();
        let expected = claims.access_token_hash().expect("at_hash present");
        let key: &CoreJsonWebKey = id_token.signing_key(&verifier).expect("signing key");
        let actual = AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg().unwrap(),
            key,
        )
        .unwrap();
        assert_eq!(&actual, expected, "at_hash matches");
        claims
    }

    /// The client's HTTP Basic credentials (confidential clients).
    pub fn basic(&self) -> Option<(&str, &str)> {
        self.secret
            .as_deref()
            .map(|secret| (self.client_id.as_str(), secret))
    }

    /// A raw token request, authenticated with HTTP Basic when the client has a secret.
    pub async fn token(&self, app: &TestApp, form: &[(&str, &str)]) -> JsonReply {
        app.post_form("/token", self.basic(), form).await
    }

    /// Walks an authorization request for `scopes` through login and consent to its code.
    pub async fn code(
        &self,
        app: &TestApp,
        scopes: &[&str],
        credentials: (&str, &str),
    ) -> (String, Pending) {
        let pending = self.authorize(scopes, &[]);
        let landing = browse(app, pending.url.as_str(), credentials, Consent::Approve).await;
        (landing.code(), pending)
    }

    /// Uses a refresh token with the openidconnect crate, optionally asking for `scopes`;
    /// `Err` holds the error code of a refusal.
    pub async fn refresh(
        &self,
        refresh_token: &RefreshToken,
        scopes: Option<&[&str]>,
    ) -> Result<CoreTokenResponse, String> {
        let mut request = self
            .client
            .exchange_refresh_token(refresh_token)
            .expect("token endpoint");
        for scope in scopes.unwrap_or_default() {
            request = request.add_scope(Scope::new(scope.to_string()));
        }
        request
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => r.error().to_string(),
                other => format!("{other:?}"),
            })
    }

    /// Calls userinfo.
    pub async fn userinfo(
        &self,
        token: &AccessToken,
    ) -> Result<UserInfoClaims<Roles, CoreGenderClaim>, String> {
        self.client
            .user_info(token.clone(), None)
            .expect("userinfo endpoint")
            .request_async(&self.http)
            .await
            .map_err(|e| format!("{e:?}"))
    }
}

/// Where the browser ended up after the authorization request.
#[derive(Debug)]
pub enum Landing {
    /// Redirected back to the client with these query parameters.
    Callback(Vec<(String, String)>),
    /// Shown a page (status and body).
    Page(StatusCode, String),
}

impl Landing {
    /// A query parameter of the callback.
    pub fn param(&self, name: &str) -> Option<String> {
        match self {
            Landing::Callback(params) => params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone()),
            Landing::Page(..) => None,
        }
    }

    /// RFC 6749 §4.1.2 and RFC 9207: the response echoes the request's `state` and names the
    /// issuer.
    pub fn assert_from(&self, app: &TestApp, pending: &Pending) {
        assert_eq!(
            self.param("state").as_deref(),
            Some(pending.state.secret().as_str())
        );
        assert_eq!(self.param("iss").as_deref(), Some(app.address.as_str()));
    }

    /// The code of a successful callback.
    pub fn code(&self) -> String {
        self.param("code")
            .unwrap_or_else(|| panic!("expected a code, got {self:?}"))
    }
}

/// What the simulated user does on the pages.
#[derive(Debug, Clone, Copy)]
pub enum Consent {
    /// Press Allow.
    Approve,
    /// Press Deny.
    Deny,
}

/// Follows redirects from `start` like a browser, signing in with `credentials` when the
/// login page appears and answering the consent page.
pub async fn browse(
    app: &TestApp,
    start: &str,
    credentials: (&str, &str),
    consent: Consent,
) -> Landing {
    let mut next = start.to_string();
    for _ in 0..10 {
        if next.starts_with(REDIRECT_URI) || next.starts_with(POST_LOGOUT_URI) {
            let url = url::Url::parse(&next).unwrap();
            return Landing::Callback(
                url.query_pairs()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            );
        }
        let response = app.get(&next).await;
        let status = response.status();
        if status.is_redirection() {
            next = location(response.headers());
            let path = next.strip_prefix(&app.address).unwrap_or(&next).to_string();
            if let Some(interaction) = path.strip_prefix("/login?interaction=") {
                let reply = app
                    .post_login(credentials.0, credentials.1, false, Some(interaction))
                    .await;
                assert_eq!(
                    reply.status(),
                    StatusCode::SEE_OTHER,
                    "login should succeed"
                );
                next = location(reply.headers());
            } else if path.starts_with("/consent?") {
                let page = app.get(&path).await.text().await.unwrap();
                let csrf = hidden_input(&page, "csrf_token").expect("consent form");
                let interaction = hidden_input(&page, "interaction").expect("interaction");
                let decision = match consent {
                    Consent::Approve => "approve",
                    Consent::Deny => "deny",
                };
                let reply = app
                    .http
                    .post(app.url("/consent"))
                    .form(&[
                        ("csrf_token", csrf.as_str()),
                        ("interaction", &interaction),
                        ("decision", decision),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(reply.status(), StatusCode::SEE_OTHER, "consent answered");
                next = location(reply.headers());
            }
            continue;
        }
        return Landing::Page(status, response.text().await.unwrap_or_default());
    }
    panic!("too many redirects from {start}");
}

/// Runs a whole sign-in for `user` and returns the verified token response.
pub async fn sign_in(
    app: &TestApp,
    rp: &Rp,
    scopes: &[&str],
    credentials: (&str, &str),
) -> (CoreTokenResponse, Nonce) {
    let pending = rp.authorize(scopes, &[]);
    let landing = browse(app, pending.url.as_str(), credentials, Consent::Approve).await;
    landing.assert_from(app, &pending);
    let tokens = rp
        .exchange(&landing.code(), pending.verifier)
        .await
        .expect("code exchange");
    (tokens, pending.nonce)
}
