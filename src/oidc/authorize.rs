//! The authorization endpoint's rules (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2), as an
//! ordered list of small named checks. Until the client and its redirect URI are trusted,
//! errors are shown as a page and never redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.11);
//! after that they go back to the client with `state` and `iss`.

use serde::{Deserialize, Serialize};

use super::client::{Client, GrantType};
use super::id_token_hint::IdTokenHint;
use super::params::Params;
use super::{ErrorCode, OAuthError, pkce};
use crate::auth::session::ACR_MFA;
use crate::domain::ScopeSet;
use crate::signing::KeyRing;

/// How the response travels back (OAuth 2.0 Multiple Response Types §2.1, Form Post).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    /// Parameters in the redirect URI's query.
    Query,
    /// Parameters POSTed by an auto-submitting form.
    FormPost,
}

/// The `prompt` values (OpenID Connect Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// Show no page; fail with `login_required` or `consent_required` instead.
    pub none: bool,
    /// Ask the user to sign in again.
    pub login: bool,
    /// Ask for consent again.
    pub consent: bool,
    /// Open account creation (Initiating User Registration via OpenID Connect 1.0 §4).
    #[serde(default)]
    pub create: bool,
}

/// Where and how to send a response once the client and redirect URI are trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseTarget {
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// Query or form post.
    pub response_mode: ResponseMode,
    /// The client's `state`, echoed in every response.
    pub state: Option<String>,
}

/// A validated authorization request: what is parked while the user signs in or consents.
/// Every field but the client and target defaults when absent, so rows parked by an older
/// version still load; fields a newer version added are ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// Where the response goes.
    pub target: ResponseTarget,
    /// Requested scopes, narrowed to what the client may ask for.
    #[serde(default)]
    pub scope: String,
    /// OpenID Connect nonce.
    #[serde(default)]
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    #[serde(default)]
    pub code_challenge: Option<String>,
    /// Prompt flags.
    #[serde(default)]
    pub prompt: Prompt,
    /// Maximum authentication age in seconds.
    #[serde(default)]
    pub max_age: Option<i64>,
    /// Pre-fill for the login form.
    #[serde(default)]
    pub login_hint: Option<String>,
    /// The `sub` of a valid `id_token_hint`.
    #[serde(default)]
    pub id_token_hint_sub: Option<String>,
    /// The sign-in must have used two factors: `acr_values` asked for
    /// `urn:tessera:acr:mfa`, or the client demands it.
    #[serde(default)]
    pub require_mfa: bool,
    /// Resource indicators the grant's tokens may name (RFC 8707).
    #[serde(default)]
    pub resources: Vec<String>,
    /// The DPoP key thumbprint the code is bound to (RFC 9449 §10).
    #[serde(default)]
    pub dpop_jkt: Option<String>,
}

/// Why an authorization request failed.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: show a page, never redirect.
    Page {
        /// The protocol error.
        error: OAuthError,
    },
    /// Send the error back to the client.
    Redirect {
        /// Where to send it.
        target: ResponseTarget,
        /// The error.
        error: OAuthError,
    },
}

fn page(error: OAuthError) -> AuthorizeError {
    AuthorizeError::Page { error }
}

/// Check 1: the request names a client.
pub fn check_client_id(params: &Params) -> Result<&str, AuthorizeError> {
    params.require("client_id").map_err(page)
}

/// Check 2: the redirect URI is present and registered for the client, by exact match.
pub fn check_redirect_uri(params: &Params, client: &Client) -> Result<String, AuthorizeError> {
    let candidate = params.require("redirect_uri").map_err(page)?;
    client
        .registered_redirect_uri(candidate)
        .map(|u| u.as_str().to_string())
        .ok_or_else(|| {
            page(OAuthError::invalid_request(
                "the redirect_uri is not registered for this client",
            ))
        })
}

/// Where errors go from here on. An unknown `response_mode` falls back to `query` so the
/// error about it can still be delivered.
fn response_target(params: &Params, redirect_uri: String) -> (ResponseTarget, Option<OAuthError>) {
    let (mode, error) = match params.get("response_mode") {
        None | Some("query") => (ResponseMode::Query, None),
        Some("form_post") => (ResponseMode::FormPost, None),
        Some(_) => (
            ResponseMode::Query,
            Some(OAuthError::invalid_request(
                "response_mode must be query or form_post",
            )),
        ),
    };
    let target = ResponseTarget {
        redirect_uri,
        response_mode: mode,
        state: params.get("state").map(str::to_string),
    };
    (target, error)
}

/// Check 3: OpenID Connect Core §6: request objects and registration are not supported.
fn check_unsupported(params: &Params) -> Result<(), OAuthError> {
    if params.get("request").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    if params.get("registration").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RegistrationNotSupported,
            "registration is not supported",
        ));
    }
    Ok(())
}

/// Check 4: `response_type=code` only, and the client may use the code grant.
fn check_response_type(params: &Params, client: &Client) -> Result<(), OAuthError> {
    match params.require("response_type")? {
        "code" if client.allows(GrantType::AuthorizationCode) => Ok(()),
        "code" => Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow",
        )),
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            "only response_type=code is supported",
        )),
    }
}

/// Check 5: `openid` is requested; other scopes are narrowed to the client's registration
/// (RFC 6749 §3.3 lets the server grant less than asked). `offline_access` needs the
/// refresh_token grant (OpenID Connect Core §11).
fn check_scope(params: &Params, client: &Client) -> Result<ScopeSet, OAuthError> {
    let requested = ScopeSet::parse(params.get("scope").unwrap_or_default())
        .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e))?;
    if !requested.contains("openid") {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "the openid scope is required",
        ));
    }
    if !client.scopes.contains("openid") {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "this client may not request openid",
        ));
    }
    let mut granted = requested.intersection(&client.scopes);
    if !client.allows(GrantType::RefreshToken) {
        granted = granted.without("offline_access");
    }
    Ok(granted)
}

/// Check 6: PKCE S256, required for every client an admin did not opt out (RFC 9700
/// §2.1.1).
fn check_pkce(params: &Params, client: &Client) -> Result<Option<String>, OAuthError> {
    pkce::check_challenge(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
        client.requires_pkce(),
    )
}

/// Check 6b: RFC 8707 §2: every `resource` is an absolute URI registered for the client.
fn check_resources(params: &Params, client: &Client) -> Result<Vec<String>, OAuthError> {
    resources(params, |r| client.has_resource(r))
}

/// The `resource` values of a request, each of which `allowed` must accept (RFC 8707 §2:
/// `invalid_target` otherwise).
pub fn resources(
    params: &Params,
    allowed: impl Fn(&str) -> bool,
) -> Result<Vec<String>, OAuthError> {
    let mut out: Vec<String> = Vec::new();
    for value in params.all("resource") {
        let resource = crate::domain::parse_resource(value)
            .map_err(|e| OAuthError::new(ErrorCode::InvalidTarget, e))?;
        if !allowed(&resource) {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                format!("the resource '{resource}' is not registered for this client"),
            ));
        }
        if !out.contains(&resource) {
            out.push(resource);
        }
    }
    Ok(out)
}

/// Check 6c: RFC 9449 §10: `dpop_jkt` is a base64url SHA-256 thumbprint.
fn check_dpop_jkt(params: &Params) -> Result<Option<String>, OAuthError> {
    match params.get("dpop_jkt") {
        None => Ok(None),
        Some(jkt)
            if jkt.len() == 43
                && jkt
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(Some(jkt.to_string()))
        }
        Some(_) => Err(OAuthError::invalid_request(
            "dpop_jkt must be a base64url SHA-256 JWK thumbprint",
        )),
    }
}

/// Check 7: `prompt` values; `none` may not be combined with others.
fn check_prompt(params: &Params) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    let Some(value) = params.get("prompt") else {
        return Ok(prompt);
    };
    for word in value.split(' ').filter(|w| !w.is_empty()) {
        match word {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "create" => prompt.create = true,
            // Tessera has one account per session, so choosing one is a no-op.
            "select_account" => {}
            other => {
                return Err(OAuthError::invalid_request(format!(
                    "unsupported prompt value '{other}'"
                )));
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent || prompt.create) {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

/// Check 8: `max_age` is a non-negative number of seconds.
fn check_max_age(params: &Params) -> Result<Option<i64>, OAuthError> {
    params
        .get("max_age")
        .map(|v| {
            v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                OAuthError::invalid_request("max_age must be a non-negative integer")
            })
        })
        .transpose()
}

/// Check 9: an `id_token_hint` must be an ID token this server issued to this client
/// (expired ones are fine: OpenID Connect Core §3.1.2.1).
fn check_id_token_hint(
    params: &Params,
    client: &Client,
    keys: &KeyRing,
    issuer: &str,
) -> Result<Option<String>, OAuthError> {
    let Some(hint) = params.get("id_token_hint") else {
        return Ok(None);
    };
    IdTokenHint::verify(hint, keys, issuer)
        .filter(|h| h.issued_to(&client.id))
        .map(|h| Some(h.sub))
        .ok_or_else(|| {
            OAuthError::invalid_request(
                "id_token_hint is not an ID token issued by this server to this client",
            )
        })
}

/// The longest `state` echoed back to the client.
const MAX_STATE_LEN: usize = 2048;

/// Check 10: hints and nonce have sane sizes.
fn check_lengths(params: &Params) -> Result<(), OAuthError> {
    for (name, max) in [
        ("nonce", 512),
        ("login_hint", 256),
        ("state", MAX_STATE_LEN),
    ] {
        if params.get(name).is_some_and(|v| v.len() > max) {
            return Err(OAuthError::invalid_request(format!(
                "{name} is longer than {max} characters"
            )));
        }
    }
    Ok(())
}

/// OpenID Connect Core §3.1.2.1 `acr_values`: Tessera honours a request for its two-factor
/// class (values it does not know are ignored, as the claim is voluntary).
fn asks_for_mfa(params: &Params) -> bool {
    params
        .get("acr_values")
        .is_some_and(|values| values.split(' ').any(|v| v == ACR_MFA))
}

/// Runs checks 3 to 10 for a trusted client and redirect URI.
pub fn validate(
    params: &Params,
    client: &Client,
    redirect_uri: String,
    keys: &KeyRing,
    issuer: &str,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let (mut target, mode_error) = response_target(params, redirect_uri);
    let redirect = |target: &ResponseTarget, error: OAuthError| AuthorizeError::Redirect {
        target: target.clone(),
        error,
    };
    if let Some(error) = mode_error {
        return Err(redirect(&target, error));
    }
    if let Err(error) = check_lengths(params) {
        // An oversized state is not echoed back; a state of sane size is, whatever else was
        // too long (RFC 6749 §4.1.2.1: state is required in the error response).
        if target
            .state
            .as_ref()
            .is_some_and(|s| s.len() > MAX_STATE_LEN)
        {
            target.state = None;
        }
        return Err(redirect(&target, error));
    }
    let checked = (|| {
        check_unsupported(params)?;
        check_response_type(params, client)?;
        let scope = check_scope(params, client)?;
        let code_challenge = check_pkce(params, client)?;
        let resources = check_resources(params, client)?;
        let dpop_jkt = check_dpop_jkt(params)?;
        let prompt = check_prompt(params)?;
        let max_age = check_max_age(params)?;
        let id_token_hint_sub = check_id_token_hint(params, client, keys, issuer)?;
        Ok::<_, OAuthError>(AuthorizationRequest {
            client_id: client.id.clone(),
            target: target.clone(),
            scope: scope.to_string(),
            nonce: params.get("nonce").map(str::to_string),
            code_challenge,
            prompt,
            max_age,
            login_hint: params.get("login_hint").map(str::to_string),
            id_token_hint_sub,
            require_mfa: client.require_mfa || asks_for_mfa(params),
            resources,
            dpop_jkt,
        })
    })();
    checked.map_err(|error| redirect(&target, error))
}

/// What the signed-in user looks like to the decision.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// Signed-in user.
    pub user_id: String,
    /// When they authenticated.
    pub auth_time: i64,
    /// The authentication class the session reached.
    pub acr: String,
}

/// What to do next with a valid request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Show the login page.
    Login,
    /// Show the sign-up page (`prompt=create`).
    Register,
    /// Ask for the second factor (or its set-up) in the current session.
    SecondFactor,
    /// Show the consent page.
    Consent,
    /// Issue the code.
    Issue,
}

/// What is known about consent when deciding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentState {
    /// The client is first-party: never ask.
    pub skip: bool,
    /// The user allowed at least the requested scopes before.
    pub on_file: bool,
    /// The user allowed them on the consent page of this very request, which satisfies
    /// `prompt=consent`.
    pub given_now: bool,
}

/// Decides between login, consent and issuing a code. `signed_in_during_request` says the
/// user signed in after this request was parked, which satisfies `prompt=login` and
/// `max_age`. Every path that issues a code runs this against the current session.
pub fn decide(
    request: &AuthorizationRequest,
    session: Option<&SessionView>,
    signed_in_during_request: bool,
    now: i64,
    consent: ConsentState,
) -> Result<Next, OAuthError> {
    // Initiating User Registration §4: `prompt=create` opens sign-up first; a sign-in during
    // the request (the new account's) satisfies it.
    if request.prompt.create && !signed_in_during_request {
        return Ok(Next::Register);
    }
    let needs_login = match session {
        None => true,
        Some(s) => {
            let fresh = signed_in_during_request;
            let wrong_user = request
                .id_token_hint_sub
                .as_deref()
                .is_some_and(|sub| sub != s.user_id);
            // OpenID Connect Core §3.1.2.1: max_age=0 is equivalent to prompt=login, also
            // within the second of the last sign-in (when the elapsed time is still 0).
            let too_old = request
                .max_age
                .is_some_and(|max| max == 0 || now - s.auth_time > max);
            wrong_user || (!fresh && (request.prompt.login || too_old))
        }
    };
    if needs_login {
        return if request.prompt.none {
            Err(OAuthError::new(
                ErrorCode::LoginRequired,
                "the user must sign in",
            ))
        } else {
            Ok(Next::Login)
        };
    }
    // Step-up: a session that used one factor must add the second.
    if request.require_mfa && session.is_some_and(|s| s.acr != ACR_MFA) {
        return if request.prompt.none {
            Err(OAuthError::new(
                ErrorCode::LoginRequired,
                "the user must sign in with a second factor",
            ))
        } else {
            Ok(Next::SecondFactor)
        };
    }
    let needs_consent =
        !consent.skip && !consent.given_now && (request.prompt.consent || !consent.on_file);
    if needs_consent {
        return if request.prompt.none {
            Err(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the user must consent",
            ))
        } else {
            Ok(Next::Consent)
        };
    }
    Ok(Next::Issue)
}

/// RFC 6749 §4.1.2 / §4.1.2.1 and RFC 9207: the parameters of the response to the client,
/// `state` and `iss` always included.
pub fn response_parameters(
    target: &ResponseTarget,
    issuer: &str,
    outcome: Result<&str, &OAuthError>,
) -> Vec<(&'static str, String)> {
    let mut params = match outcome {
        Ok(code) => vec![("code", code.to_string())],
        Err(error) => vec![
            ("error", error.code.as_str().to_string()),
            ("error_description", error.description.to_string()),
        ],
    };
    if let Some(state) = &target.state {
        params.push(("state", state.clone()));
    }
    params.push(("iss", issuer.to_string()));
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent(on_file: bool, skip: bool) -> ConsentState {
        ConsentState {
            skip,
            on_file,
            given_now: false,
        }
    }

    fn request(prompt: Prompt, max_age: Option<i64>) -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: "c".into(),
            target: ResponseTarget {
                redirect_uri: "https://app/cb".into(),
                response_mode: ResponseMode::Query,
                state: None,
            },
            scope: "openid".into(),
            nonce: None,
            code_challenge: None,
            prompt,
            max_age,
            login_hint: None,
            id_token_hint_sub: None,
            require_mfa: false,
            resources: Vec::new(),
            dpop_jkt: None,
        }
    }

    #[test]
    fn decisions() {
        let session = SessionView {
            user_id: "u".into(),
            auth_time: 100,
            acr: "urn:tessera:acr:pwd".into(),
        };
        let plain = request(Prompt::default(), None);
        assert_eq!(
            decide(&plain, None, false, 200, consent(false, false)).unwrap(),
            Next::Login
        );
        assert_eq!(
            decide(&plain, Some(&session), false, 200, consent(false, false)).unwrap(),
            Next::Consent
        );
        assert_eq!(
            decide(&plain, Some(&session), false, 200, consent(true, false)).unwrap(),
            Next::Issue
        );
        assert_eq!(
            decide(&plain, Some(&session), false, 200, consent(false, true)).unwrap(),
            Next::Issue
        );
        let none = request(
            Prompt {
                none: true,
                ..Prompt::default()
            },
            None,
        );
        assert_eq!(
            decide(&none, None, false, 200, consent(true, false))
                .unwrap_err()
                .code,
            ErrorCode::LoginRequired
        );
        assert_eq!(
            decide(&none, Some(&session), false, 200, consent(false, false))
                .unwrap_err()
                .code,
            ErrorCode::ConsentRequired
        );
        let aged = request(Prompt::default(), Some(50));
        assert_eq!(
            decide(&aged, Some(&session), false, 200, consent(true, false)).unwrap(),
            Next::Login
        );
        let fresh = SessionView {
            auth_time: 201,
            ..session.clone()
        };
        assert_eq!(
            decide(&aged, Some(&fresh), true, 300, consent(true, false)).unwrap(),
            Next::Issue
        );
        let zero = request(Prompt::default(), Some(0));
        let just_now = SessionView {
            auth_time: 200,
            ..session.clone()
        };
        assert_eq!(
            decide(&zero, Some(&just_now), false, 200, consent(true, false)).unwrap(),
            Next::Login
        );
        assert_eq!(
            decide(&zero, Some(&just_now), true, 200, consent(true, false)).unwrap(),
            Next::Issue
        );
        let login = request(
            Prompt {
                login: true,
                ..Prompt::default()
            },
            None,
        );
        assert_eq!(
            decide(&login, Some(&session), false, 200, consent(true, false)).unwrap(),
            Next::Login
        );
        assert_eq!(
            decide(&login, Some(&fresh), true, 201, consent(true, false)).unwrap(),
            Next::Issue
        );
    }

    #[test]
    fn step_up_asks_a_one_factor_session_for_the_second() {
        let one = SessionView {
            user_id: "u".into(),
            auth_time: 100,
            acr: "urn:tessera:acr:pwd".into(),
        };
        let two = SessionView {
            acr: ACR_MFA.into(),
            ..one.clone()
        };
        let mut demanding = request(Prompt::default(), None);
        demanding.require_mfa = true;
        let skip = consent(true, true);
        assert_eq!(
            decide(&demanding, Some(&one), false, 110, skip).unwrap(),
            Next::SecondFactor
        );
        assert_eq!(
            decide(&demanding, Some(&one), true, 110, skip).unwrap(),
            Next::SecondFactor,
            "a fresh password-only sign-in is not enough"
        );
        assert_eq!(
            decide(&demanding, Some(&two), false, 110, skip).unwrap(),
            Next::Issue
        );
        assert_eq!(
            decide(&demanding, None, false, 110, skip).unwrap(),
            Next::Login
        );
        demanding.prompt.none = true;
        assert_eq!(
            decide(&demanding, Some(&one), false, 110, skip)
                .unwrap_err()
                .code,
            ErrorCode::LoginRequired
        );
    }
}
