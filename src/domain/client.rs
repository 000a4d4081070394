//! The registered client: one type of client metadata for the protocol, the use cases, the
//! CLI and discovery. The store keeps it as a row; the use cases convert.

use super::{RedirectUri, ScopeSet, SigningAlg};

/// Grant types a client may be registered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    /// RFC 6749 §4.1.
    AuthorizationCode,
    /// RFC 6749 §6.
    RefreshToken,
    /// RFC 6749 §4.4.
    ClientCredentials,
    /// RFC 8628 §3.4.
    DeviceCode,
}

impl GrantType {
    /// Every grant type.
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
    ];

    /// The `grant_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    /// Parses a `grant_type` value.
    pub fn parse(value: &str) -> Option<GrantType> {
        Self::ALL.into_iter().find(|g| g.as_str() == value)
    }
}

/// How a client proves who it is at the token endpoint (RFC 7591 §2
/// `token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// A shared secret, by HTTP Basic or in the body.
    ClientSecret,
    /// Nothing: a public client.
    None,
    /// A JWT signed with one of its registered keys (RFC 7523, OpenID Connect Core §9).
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The stored and advertised name (`client_secret_basic` for secrets).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecret => "client_secret_basic",
            AuthMethod::None => "none",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    /// The method a stored name stands for; an empty name (clients registered before
    /// methods were stored) follows from whether the client is public.
    pub fn parse(stored: &str, public: bool) -> AuthMethod {
        match stored {
            "private_key_jwt" => AuthMethod::PrivateKeyJwt,
            "none" => AuthMethod::None,
            "client_secret_basic" | "client_secret_post" => AuthMethod::ClientSecret,
            _ if public => AuthMethod::None,
            _ => AuthMethod::ClientSecret,
        }
    }
}

/// Links a client registered about itself (RFC 7591 §2), https only.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientLinks {
    /// Its home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// Its logo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// Its privacy policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    /// Its terms of service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
}

/// A registered client.
#[derive(Debug, Clone)]
pub struct Client {
    /// client_id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// SHA-256 hex of the secret (confidential clients).
    pub secret_hash: Option<String>,
    /// Public clients have no secret and must use PKCE.
    pub public: bool,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<RedirectUri>,
    /// Registered post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// Allowed grant types.
    pub grant_types: Vec<GrantType>,
    /// Allowed scopes.
    pub scopes: ScopeSet,
    /// The client's own roles (client_credentials tokens).
    pub roles: Vec<String>,
    /// Users are not asked for consent.
    pub skip_consent: bool,
    /// ID token signing algorithm.
    pub id_token_alg: SigningAlg,
    /// Sign-ins for this client need two factors (`acr` `urn:tessera:acr:mfa`).
    pub require_mfa: bool,
    /// RFC 9700 §2.1.1 opt-out: the client may leave PKCE out (confidential clients only).
    pub allow_no_pkce: bool,
    /// A resource server: may introspect tokens issued to other clients.
    pub introspect_any: bool,
    /// Authorization requests must be pushed first (RFC 9126 §6).
    pub require_par: bool,
    /// Access tokens must be DPoP-bound (RFC 9449 §5.2 `dpop_bound_access_tokens`).
    pub require_dpop: bool,
    /// Resource indicators (RFC 8707) its tokens may be minted for.
    pub resources: Vec<String>,
    /// Where logout tokens are POSTed (Back-Channel Logout 1.0 §2.2).
    pub backchannel_logout_uri: Option<RedirectUri>,
    /// The client needs `sid` in its logout tokens.
    pub backchannel_logout_session_required: bool,
    /// How it authenticates at the token endpoint.
    pub auth_method: AuthMethod,
    /// Its public keys, a JWKS document (private_key_jwt).
    pub jwks: Option<String>,
    /// Where its public keys are published (private_key_jwt).
    pub jwks_uri: Option<RedirectUri>,
    /// It registered itself (RFC 7591) or came from a metadata document: consent is always
    /// asked, and the consent page says no administrator verified it.
    pub self_registered: bool,
    /// An admin may switch a client off: it can then neither sign anyone in nor get tokens.
    pub enabled: bool,
    /// Links about the client (RFC 7591 §2): `client_uri`, `logo_uri`, `policy_uri`,
    /// `tos_uri`.
    pub links: ClientLinks,
    /// For a client named by its metadata document: when the document must be fetched
    /// again.
    pub document_expires_at: Option<i64>,
    /// When it was registered.
    pub created_at: i64,
}

/// JWK members only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1,
/// RFC 8037 §2): a key carrying one of them is never accepted as someone's public key.
pub const PRIVATE_KEY_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// RFC 7591 §2 `jwks`: a JSON Web Key Set of public keys, at most 32 KiB; returned compact.
pub fn parse_jwks(input: &str) -> Result<String, String> {
    if input.len() > 32 * 1024 {
        return Err("the key set is larger than 32 KiB".into());
    }
    if input.contains("\\u0000") || input.contains('\0') {
        return Err("the key set contains a NUL character".into());
    }
    let value: serde_json::Value =
        serde_json::from_str(input).map_err(|e| format!("the key set is not JSON ({e})"))?;
    let keys = value
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .filter(|keys| !keys.is_empty())
        .ok_or("a key set needs a non-empty \"keys\" array")?;
    for key in keys {
        let key = key.as_object().ok_or("every key must be a JSON object")?;
        if !key.get("kty").is_some_and(serde_json::Value::is_string) {
            return Err("every key needs a \"kty\"".into());
        }
        if PRIVATE_KEY_MEMBERS.iter().any(|m| key.contains_key(*m)) {
            return Err(
                "the key set holds a private or symmetric key; register public keys only".into(),
            );
        }
    }
    Ok(value.to_string())
}

/// RFC 8707 §2: a resource indicator is an absolute URI without a fragment.
pub fn parse_resource(input: &str) -> Result<String, String> {
    if input.chars().any(|c| c.is_whitespace() || c.is_control()) || input.len() > 512 {
        return Err(format!(
            "'{}' is not a resource indicator (spaces, control characters or over 512 characters)",
            input.escape_debug()
        ));
    }
    let url =
        url::Url::parse(input).map_err(|e| format!("'{input}' is not an absolute URI ({e})"))?;
    if url.fragment().is_some() || input.contains('#') {
        return Err(format!("'{input}' must not contain a fragment"));
    }
    Ok(input.to_string())
}

impl Client {
    /// RFC 9700 §4.1.3: the redirect URI must match a registered one exactly.
    pub fn registered_redirect_uri(&self, candidate: &str) -> Option<&RedirectUri> {
        self.redirect_uris
            .iter()
            .find(|u| u.matches_exactly(candidate))
    }

    /// RP-Initiated Logout §3: the post-logout URI must match a registered one exactly.
    pub fn registered_post_logout_uri(&self, candidate: &str) -> Option<&RedirectUri> {
        self.post_logout_redirect_uris
            .iter()
            .find(|u| u.matches_exactly(candidate))
    }

    /// Whether users are not asked for consent: only first-party clients an administrator
    /// registered so.
    pub fn skips_consent(&self) -> bool {
        self.skip_consent && !self.self_registered
    }

    /// Whether the client must send a PKCE challenge (RFC 9700 §2.1.1).
    pub fn requires_pkce(&self) -> bool {
        self.public || !self.allow_no_pkce
    }

    /// Whether the client may learn that a token issued to `owner` is active.
    pub fn may_introspect(&self, owner: &str) -> bool {
        self.introspect_any || self.id == owner
    }

    /// Whether `resource` is registered for the client (exact match).
    pub fn has_resource(&self, resource: &str) -> bool {
        self.resources.iter().any(|r| r == resource)
    }

    /// Whether the client may use a grant type.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}
