//! Client registration and management (the CLI, the first development start, later the admin
//! API): every field validated, scopes checked against the catalogue, and a 256-bit secret
//! shown once and stored only as its SHA-256.

use super::audit::{Event, EventType};
use super::{Caller, ServiceError, ServiceResult, Services, accounts, convert};
use crate::auth::secret;
use crate::domain::{
    AuthMethod, Client, GrantType, RedirectUri, ScopeSet, SigningAlg, parse_jwks, parse_resource,
};
use crate::oidc::scopes;
use crate::store::{StoreResult, Tx};

/// What a new client needs.
#[derive(Debug, Clone, Default)]
pub struct ClientSpec {
    /// Fixed client_id (default: random).
    pub client_id: Option<String>,
    /// Display name.
    pub name: String,
    /// Redirect URIs (at least one unless only client_credentials).
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Public client (no secret, PKCE required).
    pub public: bool,
    /// Grant types (default: authorization_code and refresh_token).
    pub grant_types: Vec<String>,
    /// Allowed scopes (default: the standard ones).
    pub scopes: Vec<String>,
    /// The client's own roles.
    pub roles: Vec<String>,
    /// Skip the consent page.
    pub skip_consent: bool,
    /// Demand two-factor sign-ins.
    pub require_mfa: bool,
    /// ID token algorithm (default RS256).
    pub id_token_alg: Option<String>,
    /// The settings an admin may also change later.
    pub options: ClientOptions,
}

/// Client settings an admin may change after registration; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Display name.
    pub name: Option<String>,
    /// Redirect URIs (replaces all).
    pub redirect_uris: Option<Vec<String>>,
    /// Post-logout redirect URIs (replaces all).
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Grant types (replaces all).
    pub grant_types: Option<Vec<String>>,
    /// Allowed scopes, each in the catalogue (replaces all).
    pub scopes: Option<Vec<String>>,
    /// The client's own roles (replaces all).
    pub roles: Option<Vec<String>>,
    /// Users are not asked for consent.
    pub skip_consent: Option<bool>,
    /// Sign-ins need two factors.
    pub require_mfa: Option<bool>,
    /// ID token algorithm.
    pub id_token_alg: Option<String>,
    /// Let a confidential client leave PKCE out (RFC 9700 §2.1.1 opt-out).
    pub allow_no_pkce: Option<bool>,
    /// A resource server that may introspect tokens issued to other clients.
    pub introspect_any: Option<bool>,
    /// Authorization requests must be pushed first (RFC 9126).
    pub require_par: Option<bool>,
    /// Access tokens must be DPoP-bound (RFC 9449).
    pub require_dpop: Option<bool>,
    /// Resource indicators (RFC 8707) the client's tokens may be minted for (replaces all).
    pub resources: Option<Vec<String>>,
    /// Back-channel logout URI; `Some("")` removes it.
    pub backchannel_logout_uri: Option<String>,
    /// Logout tokens must carry `sid`.
    pub backchannel_logout_session_required: Option<bool>,
    /// A JWKS of the client's public keys (JSON): it authenticates with `private_key_jwt`.
    pub jwks: Option<String>,
    /// Where the client publishes its keys: it authenticates with `private_key_jwt`.
    pub jwks_uri: Option<String>,
}

impl ClientOptions {
    /// Whether these settings give the client keys to authenticate with.
    fn gives_keys(&self) -> bool {
        self.jwks.is_some() || self.jwks_uri.is_some()
    }

    /// Applies the given settings to `client` and validates the result; scopes and roles
    /// are checked against the catalogue in `tx`.
    async fn apply(self, tx: &mut Tx, client: &mut Client) -> ServiceResult<()> {
        if self.jwks.is_some() && self.jwks_uri.is_some() {
            // RFC 7591 §2: the two must not both be present.
            return Err(ServiceError::invalid(
                "jwks_uri",
                "give jwks or jwks_uri, not both",
            ));
        }
        if let Some(name) = self.name {
            let name = name.trim().to_string();
            if name.is_empty() || name.chars().count() > 128 {
                return Err(ServiceError::invalid(
                    "name",
                    "a client name needs 1 to 128 characters",
                ));
            }
            client.name = name;
        }
        if let Some(values) = self.redirect_uris {
            client.redirect_uris = uris("redirect_uris", &values)?;
        }
        if let Some(values) = self.post_logout_redirect_uris {
            client.post_logout_redirect_uris = uris("post_logout_redirect_uris", &values)?;
        }
        if let Some(names) = self.grant_types {
            client.grant_types = grant_types(&names)?;
        }
        if let Some(requested) = self.scopes {
            client.scopes = checked_scopes(tx, &requested).await?;
        }
        if let Some(roles) = self.roles {
            client.roles = accounts::checked_roles(tx, &roles).await?;
        }
        if let Some(v) = self.skip_consent {
            client.skip_consent = v;
        }
        if let Some(v) = self.require_mfa {
            client.require_mfa = v;
        }
        if let Some(a) = self.id_token_alg {
            client.id_token_alg = SigningAlg::parse(&a).ok_or_else(|| {
                ServiceError::invalid(
                    "id_token_alg",
                    format!("unknown algorithm '{a}' (RS256, ES256, EdDSA)"),
                )
            })?;
        }
        if let Some(v) = self.allow_no_pkce {
            client.allow_no_pkce = v;
        }
        if let Some(v) = self.introspect_any {
            client.introspect_any = v;
        }
        if let Some(v) = self.require_par {
            client.require_par = v;
        }
        if let Some(v) = self.require_dpop {
            client.require_dpop = v;
        }
        if let Some(v) = self.backchannel_logout_session_required {
            client.backchannel_logout_session_required = v;
        }
        if let Some(resources) = self.resources {
            let mut parsed: Vec<String> = Vec::new();
            for r in resources {
                let r = parse_resource(&r).map_err(|m| ServiceError::invalid("resources", m))?;
                if !parsed.contains(&r) {
                    parsed.push(r);
                }
            }
            client.resources = parsed;
        }
        if let Some(uri) = self.backchannel_logout_uri {
            client.backchannel_logout_uri = if uri.is_empty() {
                None
            } else {
                Some(
                    RedirectUri::parse(&uri)
                        .map_err(|m| ServiceError::invalid("backchannel_logout_uri", m))?,
                )
            };
        }
        if let Some(jwks) = self.jwks {
            client.jwks = Some(parse_jwks(&jwks).map_err(|m| ServiceError::invalid("jwks", m))?);
            client.jwks_uri = None;
            client.auth_method = AuthMethod::PrivateKeyJwt;
            // Keys replace the secret: it must stop working.
            client.secret_hash = None;
        }
        if let Some(uri) = self.jwks_uri {
            client.jwks_uri =
                Some(RedirectUri::parse(&uri).map_err(|m| ServiceError::invalid("jwks_uri", m))?);
            client.jwks = None;
            client.auth_method = AuthMethod::PrivateKeyJwt;
            client.secret_hash = None;
        }
        check(client)
    }
}

/// The rules a client's settings must meet together, whichever of them changed.
fn check(client: &Client) -> ServiceResult<()> {
    if client.public && client.grant_types.contains(&GrantType::ClientCredentials) {
        return Err(ServiceError::invalid(
            "grant_types",
            "a public client cannot use client_credentials",
        ));
    }
    if client.grant_types.contains(&GrantType::AuthorizationCode) && client.redirect_uris.is_empty()
    {
        return Err(ServiceError::invalid(
            "redirect_uris",
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    if client.public && client.auth_method == AuthMethod::PrivateKeyJwt {
        return Err(ServiceError::invalid(
            "jwks",
            "a public client has no keys to authenticate with",
        ));
    }
    if client.public && client.allow_no_pkce {
        return Err(ServiceError::invalid(
            "allow_no_pkce",
            "a public client must use PKCE; only confidential clients may opt out",
        ));
    }
    if client.public && client.introspect_any {
        return Err(ServiceError::invalid(
            "introspect_any",
            "a public client cannot authenticate, so it cannot introspect",
        ));
    }
    if client.backchannel_logout_session_required && client.backchannel_logout_uri.is_none() {
        return Err(ServiceError::invalid(
            "backchannel_logout_session_required",
            "needs a back-channel logout URI",
        ));
    }
    Ok(())
}

/// What an audit event says about the settings of a client.
fn options_details(client: &Client) -> serde_json::Value {
    let list = |uris: &[RedirectUri]| -> Vec<String> {
        uris.iter().map(|u| u.as_str().to_string()).collect()
    };
    serde_json::json!({
        "name": client.name,
        "redirect_uris": list(&client.redirect_uris),
        "post_logout_redirect_uris": list(&client.post_logout_redirect_uris),
        "grant_types": client.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "scopes": client.scopes.to_string(),
        "roles": client.roles,
        "skip_consent": client.skip_consent,
        "require_mfa": client.require_mfa,
        "id_token_alg": client.id_token_alg.as_str(),
        "allow_no_pkce": client.allow_no_pkce,
        "introspect_any": client.introspect_any,
        "require_par": client.require_par,
        "require_dpop": client.require_dpop,
        "resources": client.resources,
        "backchannel_logout_uri": client.backchannel_logout_uri.as_ref().map(RedirectUri::as_str),
        "token_endpoint_auth_method": client.auth_method.as_str(),
        "jwks_uri": client.jwks_uri.as_ref().map(RedirectUri::as_str),
    })
}

/// A client as the CLI's `--json` and the admin API show it: the same fields in both.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ClientView {
    /// client_id.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// A public client (no secret).
    pub public: bool,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types.
    pub grant_types: Vec<String>,
    /// Scopes it may ask for.
    pub scopes: Vec<String>,
    /// Its own roles (client_credentials tokens).
    pub roles: Vec<String>,
    /// Users are not asked for consent.
    pub skip_consent: bool,
    /// Sign-ins need two factors.
    pub require_mfa: bool,
    /// ID token algorithm.
    pub id_token_alg: String,
    /// May leave PKCE out.
    pub allow_no_pkce: bool,
    /// A resource server that may introspect any token.
    pub introspect_any: bool,
    /// Must push authorization requests.
    pub require_par: bool,
    /// Access tokens must be DPoP-bound.
    pub require_dpop: bool,
    /// Resource indicators.
    pub resources: Vec<String>,
    /// Back-channel logout URI.
    pub backchannel_logout_uri: Option<String>,
    /// Logout tokens carry `sid`.
    pub backchannel_logout_session_required: bool,
    /// `client_secret_basic`, `none` or `private_key_jwt`.
    pub token_endpoint_auth_method: String,
    /// Where its keys are published.
    pub jwks_uri: Option<String>,
    /// Its keys, when registered inline.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// It registered itself or came from a metadata document.
    pub self_registered: bool,
    /// Switched on.
    pub enabled: bool,
    /// Registration time, Unix seconds.
    pub created_at: i64,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        let uris = |list: &[RedirectUri]| list.iter().map(|u| u.as_str().to_string()).collect();
        ClientView {
            client_id: c.id.clone(),
            name: c.name.clone(),
            public: c.public,
            redirect_uris: uris(&c.redirect_uris),
            post_logout_redirect_uris: uris(&c.post_logout_redirect_uris),
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str().to_string())
                .collect(),
            scopes: c.scopes.iter().map(str::to_string).collect(),
            roles: c.roles.clone(),
            skip_consent: c.skip_consent,
            require_mfa: c.require_mfa,
            id_token_alg: c.id_token_alg.as_str().to_string(),
            allow_no_pkce: c.allow_no_pkce,
            introspect_any: c.introspect_any,
            require_par: c.require_par,
            require_dpop: c.require_dpop,
            resources: c.resources.clone(),
            backchannel_logout_uri: c
                .backchannel_logout_uri
                .as_ref()
                .map(|u| u.as_str().to_string()),
            backchannel_logout_session_required: c.backchannel_logout_session_required,
            token_endpoint_auth_method: c.auth_method.as_str().to_string(),
            jwks_uri: c.jwks_uri.as_ref().map(|u| u.as_str().to_string()),
            jwks: c.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
            self_registered: c.self_registered,
            enabled: c.enabled,
            created_at: c.created_at,
        }
    }
}

/// A registered client and its secret (shown once).
#[derive(Debug, Clone)]
pub struct Registered {
    /// The client.
    pub client: Client,
    /// The plain secret of a confidential client.
    pub secret: Option<String>,
}

fn uris(field: &'static str, values: &[String]) -> ServiceResult<Vec<RedirectUri>> {
    let mut out: Vec<RedirectUri> = Vec::new();
    for value in values {
        let uri = RedirectUri::parse(value).map_err(|m| ServiceError::invalid(field, m))?;
        if !out.contains(&uri) {
            out.push(uri);
        }
    }
    Ok(out)
}

fn client_id(requested: Option<String>) -> ServiceResult<String> {
    let Some(id) = requested else {
        return Ok(uuid::Uuid::new_v4().simple().to_string());
    };
    let ok = (3..=128).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(ServiceError::invalid(
            "client_id",
            "a client id needs 3 to 128 letters, digits, '-', '_' or '.'",
        ));
    }
    Ok(id)
}

fn grant_types(names: &[String]) -> ServiceResult<Vec<GrantType>> {
    if names.is_empty() {
        return Ok(vec![GrantType::AuthorizationCode, GrantType::RefreshToken]);
    }
    let mut grants = Vec::new();
    for name in names {
        let grant = GrantType::parse(name.trim()).ok_or_else(|| {
            ServiceError::invalid(
                "grant_types",
                format!("unknown grant type '{name}' (use authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code)"),
            )
        })?;
        if !grants.contains(&grant) {
            grants.push(grant);
        }
    }
    Ok(grants)
}

/// The requested scopes, each of which must be in the catalogue.
async fn checked_scopes(tx: &mut Tx, requested: &[String]) -> ServiceResult<ScopeSet> {
    let text = if requested.is_empty() {
        scopes::DEFAULT_CLIENT_SCOPES.to_string()
    } else {
        requested.join(" ")
    };
    let scope = ScopeSet::parse(&text).map_err(|m| ServiceError::invalid("scopes", m))?;
    let known: Vec<String> = tx
        .list_scopes()
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let unknown: Vec<&str> = scope
        .iter()
        .filter(|s| !known.iter().any(|k| k == s))
        .collect();
    if !unknown.is_empty() {
        return Err(ServiceError::invalid(
            "scopes",
            format!(
                "unknown scope(s): {} (add them with `tessera scope add`)",
                unknown.join(", ")
            ),
        ));
    }
    Ok(scope)
}

impl Services {
    /// Validates and registers a client.
    pub async fn register_client(
        &self,
        caller: &Caller,
        spec: ClientSpec,
    ) -> ServiceResult<Registered> {
        self.audited(
            caller,
            Event::failure(EventType::ClientCreated)
                .details(serde_json::json!({ "name": spec.name })),
            async {
                let id = client_id(spec.client_id)?;
                let secret = (!spec.public && !spec.options.gives_keys()).then(secret::generate);
                let now = self.now();
                let mut tx = self.db.write().await?;
                if tx.find_client(&id).await?.is_some() {
                    return Err(ServiceError::conflict(
                        "client_id",
                        format!("client id '{id}' is taken"),
                    ));
                }
                // Empty lists ask for the defaults of a new client.
                let given = |values: Vec<String>| (!values.is_empty()).then_some(values);
                let options = ClientOptions {
                    name: Some(spec.name),
                    redirect_uris: Some(spec.redirect_uris),
                    post_logout_redirect_uris: Some(spec.post_logout_redirect_uris),
                    grant_types: given(spec.grant_types),
                    scopes: Some(spec.scopes),
                    roles: Some(spec.roles),
                    skip_consent: Some(spec.skip_consent),
                    require_mfa: Some(spec.require_mfa),
                    id_token_alg: spec.id_token_alg,
                    ..spec.options
                };
                let mut client = Client {
                    id,
                    name: String::new(),
                    secret_hash: secret.as_deref().map(secret::hash),
                    public: spec.public,
                    redirect_uris: Vec::new(),
                    post_logout_redirect_uris: Vec::new(),
                    grant_types: grant_types(&[])?,
                    scopes: ScopeSet::default(),
                    roles: Vec::new(),
                    skip_consent: false,
                    require_mfa: false,
                    id_token_alg: SigningAlg::RS256,
                    created_at: now,
                    allow_no_pkce: false,
                    introspect_any: false,
                    require_par: false,
                    require_dpop: false,
                    resources: Vec::new(),
                    backchannel_logout_uri: None,
                    backchannel_logout_session_required: false,
                    auth_method: if spec.public {
                        AuthMethod::None
                    } else {
                        AuthMethod::ClientSecret
                    },
                    jwks: None,
                    jwks_uri: None,
                    self_registered: false,
                    enabled: true,
                    links: Default::default(),
                    document_expires_at: None,
                };
                options.apply(&mut tx, &mut client).await?;
                tx.insert_client(&convert::client_row(&client)).await?;
                self.record(
                    &mut tx,
                    caller,
                    Event::success(EventType::ClientCreated)
                        .client(&client.id)
                        .details(options_details(&client)),
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(Registered { client, secret })
            },
        )
        .await
    }

    /// The registered client `id` as this node last read it, at most a few seconds ago
    /// ([`super::CLIENT_CACHE_SECS`]); `None` when there is no such client.
    pub(crate) async fn cached_client(&self, id: &str) -> StoreResult<Option<Client>> {
        match self.clients.get(id, self.now()) {
            Some(client) => Ok(Some(client)),
            None => self.fresh_client(id).await,
        }
    }

    /// The registered client `id` read from the database now (and kept for the next ask).
    pub(crate) async fn fresh_client(&self, id: &str) -> StoreResult<Option<Client>> {
        let client = {
            let mut tx = self.db.read().await?;
            tx.find_client(id).await?.map(convert::client)
        };
        if let Some(client) = &client {
            let now = self.now();
            self.clients.insert(
                id.to_string(),
                client.clone(),
                now + super::CLIENT_CACHE_SECS,
                now,
            );
        }
        Ok(client)
    }

    /// Ends the transaction of a client change: its audit event, the commit, and this
    /// node's cache of clients forgotten (other nodes see it within seconds).
    pub(crate) async fn commit_client_change(
        &self,
        mut tx: Tx,
        caller: &Caller,
        event: Event,
        now: i64,
    ) -> ServiceResult<()> {
        self.record(&mut tx, caller, event, now).await?;
        tx.commit().await?;
        self.clients_changed();
        Ok(())
    }

    /// Forgets the clients this node read, after it changed one.
    pub(crate) fn clients_changed(&self) {
        self.clients.clear();
    }

    /// A client by id.
    pub async fn client(&self, id: &str) -> ServiceResult<Client> {
        let mut tx = self.db.read().await?;
        tx.find_client(id)
            .await?
            .map(convert::client)
            .ok_or_else(|| ServiceError::NotFound(format!("client '{id}'")))
    }

    /// Every client, by id.
    pub async fn list_clients(&self) -> ServiceResult<Vec<Client>> {
        let mut tx = self.db.read().await?;
        Ok(tx
            .list_clients()
            .await?
            .into_iter()
            .map(convert::client)
            .collect())
    }

    /// How many clients exist.
    pub async fn count_clients(&self) -> ServiceResult<i64> {
        let mut tx = self.db.read().await?;
        Ok(tx.count_clients().await?)
    }

    /// Replaces a confidential client's secret; returns the new one (shown once).
    pub async fn rotate_client_secret(&self, caller: &Caller, id: &str) -> ServiceResult<String> {
        self.audited(
            caller,
            Event::failure(EventType::ClientSecretRotated).client(id),
            async {
                let secret = secret::generate();
                let now = self.now();
                let mut tx = self.db.write().await?;
                if !tx
                    .set_client_secret(id, &secret::hash(&secret), now)
                    .await?
                {
                    return Err(ServiceError::NotFound(format!(
                        "confidential client with a secret '{id}' (clients with keys have none)"
                    )));
                }
                self.commit_client_change(
                    tx,
                    caller,
                    Event::success(EventType::ClientSecretRotated).client(id),
                    now,
                )
                .await?;
                Ok(secret)
            },
        )
        .await
    }

    /// Changes the settings of a client an admin may change after registration.
    pub async fn update_client(
        &self,
        caller: &Caller,
        id: &str,
        options: ClientOptions,
    ) -> ServiceResult<Client> {
        self.audited(
            caller,
            Event::failure(EventType::ClientUpdated).client(id),
            async {
                let now = self.now();
                let mut tx = self.db.write().await?;
                let mut client = tx
                    .find_client(id)
                    .await?
                    .map(convert::client)
                    .ok_or_else(|| ServiceError::NotFound(format!("client '{id}'")))?;
                options.apply(&mut tx, &mut client).await?;
                tx.update_client_settings(&convert::client_row(&client), now)
                    .await?;
                self.commit_client_change(
                    tx,
                    caller,
                    Event::success(EventType::ClientUpdated)
                        .client(id)
                        .details(options_details(&client)),
                    now,
                )
                .await?;
                Ok(client)
            },
        )
        .await
    }

    /// Deletes a client; its grants, tokens and consents go with it.
    pub async fn delete_client(&self, caller: &Caller, id: &str) -> ServiceResult<()> {
        self.audited(
            caller,
            Event::failure(EventType::ClientDeleted).client(id),
            async {
                let now = self.now();
                let mut tx = self.db.write().await?;
                if !tx.delete_client(id).await? {
                    return Err(ServiceError::NotFound(format!("client '{id}'")));
                }
                self.commit_client_change(
                    tx,
                    caller,
                    Event::success(EventType::ClientDeleted).client(id),
                    now,
                )
                .await?;
                Ok(())
            },
        )
        .await
    }
}
