//! The discovery document (OpenID Connect Discovery 1.0 §3, RFC 8414 §2), built once at
//! start from what the server really does.

use serde_json::{Value, json};

use crate::auth::session::{ACR_MFA, ACR_PASSWORD};

use super::scopes;

/// Endpoint paths, relative to the issuer.
pub mod paths {
    /// Authorization endpoint.
    pub const AUTHORIZE: &str = "/authorize";
    /// Token endpoint.
    pub const TOKEN: &str = "/token";
    /// UserInfo endpoint.
    pub const USERINFO: &str = "/userinfo";
    /// JWKS.
    pub const JWKS: &str = "/jwks";
    /// Introspection (RFC 7662).
    pub const INTROSPECT: &str = "/introspect";
    /// Revocation (RFC 7009).
    pub const REVOKE: &str = "/revoke";
    /// RP-initiated logout.
    pub const END_SESSION: &str = "/end-session";
    /// Pushed authorization requests (RFC 9126).
    pub const PAR: &str = "/par";
    /// Device authorization (RFC 8628 §3.1).
    pub const DEVICE_AUTHORIZATION: &str = "/device_authorization";
    /// Where a person types a device's user code (RFC 8628 §3.3).
    pub const DEVICE: &str = "/device";
    /// Dynamic client registration (RFC 7591 §3).
    pub const REGISTRATION: &str = "/connect/register";
}

/// What the discovery document says beyond the endpoints.
#[derive(Debug, Clone, Copy)]
pub struct Features {
    /// `prompt=create` can sign people up (Initiating User Registration §5).
    pub registration_open: bool,
    /// Every client must push its requests (RFC 9126 §5).
    pub par_required: bool,
    /// A `client_id` may be the URL of a metadata document.
    pub client_id_documents: bool,
}

/// The metadata document.
pub fn document(issuer: &str, features: Features) -> Value {
    let Features {
        registration_open,
        par_required,
        client_id_documents,
    } = features;
    let url = |path: &str| format!("{issuer}{path}");
    let auth_methods = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ];
    let confidential_methods = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ];
    let assertion_algs: Vec<&str> = super::dpop::ALGS.iter().map(|a| a.as_str()).collect();
    let mut claims: Vec<&str> = vec![
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "amr",
        "acr",
        "azp",
        "sid",
        "at_hash",
    ];
    for scope in scopes::SUPPORTED {
        claims.extend(scopes::claims_of(scope));
    }
    let mut prompts = vec!["none", "login", "consent", "select_account"];
    if registration_open {
        prompts.push("create");
    }
    json!({
        "issuer": issuer,
        "authorization_endpoint": url(paths::AUTHORIZE),
        "token_endpoint": url(paths::TOKEN),
        "userinfo_endpoint": url(paths::USERINFO),
        "jwks_uri": url(paths::JWKS),
        "end_session_endpoint": url(paths::END_SESSION),
        "introspection_endpoint": url(paths::INTROSPECT),
        "revocation_endpoint": url(paths::REVOKE),
        "scopes_supported": scopes::SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        "device_authorization_endpoint": url(paths::DEVICE_AUTHORIZATION),
        "registration_endpoint": url(paths::REGISTRATION),
        "client_id_metadata_document_supported": client_id_documents,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint_auth_methods_supported": confidential_methods,
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": claims,
        "prompt_values_supported": prompts,
        "acr_values_supported": [ACR_PASSWORD, ACR_MFA],
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "access_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "pushed_authorization_request_endpoint": url(paths::PAR),
        "require_pushed_authorization_requests": par_required,
        "dpop_signing_alg_values_supported": super::dpop::ALGS.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    })
}
