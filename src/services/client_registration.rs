//! Dynamic Client Registration (RFC 7591) and its management protocol (RFC 7592) as use
//! cases: a client registers itself, under the policy for clients no administrator vetted,
//! with an initial access token unless registration is open; it gets a registration access
//! token that lets it read, replace and delete its own registration. Admins see these
//! clients in the CLI and can switch them off.

use serde_json::{Value, json};

use super::audit::{Event, EventType};
use super::{Caller, ServiceError, ServiceResult, Services, convert};
use crate::auth::secret;
use crate::config::ClientRegistration;
use crate::domain::{AuthMethod, Client};
use crate::oidc::client_metadata::{self, Metadata, Policy};
use crate::oidc::{ErrorCode, OAuthError};
use crate::store::Tx;

/// A self-registered client and what it is shown once.
#[derive(Debug, Clone)]
pub struct SelfRegistered {
    /// The client.
    pub client: Client,
    /// Its secret (confidential clients).
    pub secret: Option<String>,
    /// Its registration access token (RFC 7592).
    pub registration_token: String,
}

fn bad_token() -> OAuthError {
    OAuthError::invalid_token("the access token for this registration is missing or invalid")
}

/// The scopes of the catalogue a self-registered client may hold.
pub(super) async fn open_scopes(tx: &mut Tx) -> Result<Vec<String>, OAuthError> {
    Ok(tx
        .list_scopes()
        .await?
        .into_iter()
        .filter(|s| client_metadata::is_open_scope(&s.name, s.builtin != 0))
        .map(|s| s.name)
        .collect())
}

/// The metadata's scopes must all be open to self-registered clients.
/// RFC 7592 §2: the client whose registration access token `token` is, read in `tx` so that
/// an update or deletion acts on what the token was checked against.
async fn registered_with_token(
    tx: &mut Tx,
    client_id: &str,
    token: &str,
) -> Result<Client, OAuthError> {
    if client_id.chars().any(char::is_control) {
        return Err(bad_token());
    }
    let stored = tx.client_registration_token(client_id).await?;
    if !stored.is_some_and(|hash| secret::verify(token, &hash)) {
        return Err(bad_token());
    }
    tx.find_client(client_id)
        .await?
        .map(convert::client)
        .ok_or_else(bad_token)
}

async fn check_scopes(tx: &mut Tx, metadata: &Metadata) -> Result<(), OAuthError> {
    let open = open_scopes(tx).await?;
    if let Some(closed) = metadata.scope.iter().find(|s| !open.iter().any(|k| k == s)) {
        return Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            format!("the scope '{closed}' is not open to self-registered clients"),
        ));
    }
    Ok(())
}

/// Applies validated metadata to a client.
pub(super) fn apply(client: &mut Client, metadata: Metadata) {
    client.name = metadata.name;
    client.redirect_uris = metadata.redirect_uris;
    client.post_logout_redirect_uris = metadata.post_logout_redirect_uris;
    client.grant_types = metadata.grant_types;
    client.scopes = metadata.scope;
    client.auth_method = metadata.auth_method;
    client.public = metadata.auth_method == AuthMethod::None;
    // A client that no longer authenticates with its secret must not keep one that works.
    if metadata.auth_method != AuthMethod::ClientSecret {
        client.secret_hash = None;
    }
    client.jwks = metadata.jwks;
    client.jwks_uri = metadata.jwks_uri;
    client.id_token_alg = metadata.id_token_alg;
    client.backchannel_logout_uri = metadata.backchannel_logout_uri;
    client.links = metadata.links;
}

/// A client that registered itself, before its metadata is applied.
pub(super) fn blank(id: String, now: i64) -> Client {
    Client {
        id,
        name: String::new(),
        secret_hash: None,
        public: false,
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        grant_types: Vec::new(),
        scopes: Default::default(),
        roles: Vec::new(),
        skip_consent: false,
        id_token_alg: crate::domain::SigningAlg::RS256,
        require_mfa: false,
        allow_no_pkce: false,
        introspect_any: false,
        require_par: false,
        require_dpop: false,
        resources: Vec::new(),
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        auth_method: AuthMethod::None,
        jwks: None,
        jwks_uri: None,
        self_registered: true,
        enabled: true,
        links: Default::default(),
        document_expires_at: None,
        created_at: now,
    }
}

impl Services {
    /// `tessera client initial-token`: a token that lets `uses` registrations (or any number)
    /// happen within `lifetime_secs`. Returns it (shown once) and its expiry.
    pub async fn create_initial_token(
        &self,
        caller: &Caller,
        lifetime_secs: i64,
        uses: Option<i64>,
        allow_client_credentials: bool,
    ) -> ServiceResult<(String, i64)> {
        if lifetime_secs <= 0 || uses.is_some_and(|u| u <= 0) {
            return Err(ServiceError::invalid(
                "expires",
                "the lifetime and the number of uses must be positive",
            ));
        }
        let token = secret::generate();
        let now = self.now();
        let expires_at = now + lifetime_secs;
        let mut tx = self.db.write().await?;
        tx.insert_initial_token(
            &secret::hash(&token),
            now,
            expires_at,
            uses,
            allow_client_credentials,
        )
        .await?;
        self.record(
            &mut tx,
            caller,
            Event::success(EventType::InitialTokenCreated).details(json!({
                "expires_at": expires_at,
                "uses": uses,
                "client_credentials": allow_client_credentials,
            })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok((token, expires_at))
    }

    /// `POST /connect/register` (RFC 7591 §3).
    pub async fn register_self(
        &self,
        caller: &Caller,
        initial_token: Option<&str>,
        document: &Value,
    ) -> Result<SelfRegistered, OAuthError> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        // The token's use is spent in the transaction that registers the client, so an
        // invalid request spends nothing.
        let token_allows = match initial_token {
            Some(token) => Some(
                tx.spend_initial_token(&secret::hash(token), now)
                    .await?
                    .ok_or_else(bad_token)?,
            ),
            None => None,
        };
        if token_allows.is_none()
            && self.config.settings.client_registration == ClientRegistration::InitialToken
        {
            return Err(bad_token());
        }
        let metadata = client_metadata::validate(
            document,
            Policy {
                allow_client_credentials: token_allows == Some(true),
                allow_secret: true,
            },
        )?;
        check_scopes(&mut tx, &metadata).await?;
        let mut client = blank(uuid::Uuid::new_v4().simple().to_string(), now);
        apply(&mut client, metadata);
        let secret = (client.auth_method == AuthMethod::ClientSecret).then(secret::generate);
        client.secret_hash = secret.as_deref().map(secret::hash);
        let registration_token = secret::generate();
        let mut row = convert::client_row(&client);
        row.registration_token_hash = Some(secret::hash(&registration_token));
        tx.insert_client(&row).await?;
        self.record(
            &mut tx,
            caller,
            Event::success(EventType::ClientCreated)
                .client(&client.id)
                .details(json!({ "self_registered": true, "name": client.name })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(SelfRegistered {
            client,
            secret,
            registration_token,
        })
    }

    /// RFC 7592 §2: the client whose registration access token `token` is.
    pub async fn own_registration(
        &self,
        client_id: &str,
        token: &str,
    ) -> Result<Client, OAuthError> {
        let mut tx = self.db.read().await?;
        registered_with_token(&mut tx, client_id, token).await
    }

    /// RFC 7592 §2.2: replaces a client's registered metadata.
    pub async fn update_own_registration(
        &self,
        caller: &Caller,
        client_id: &str,
        token: &str,
        document: &Value,
    ) -> Result<Client, OAuthError> {
        let mut tx = self.db.write().await?;
        let mut client = registered_with_token(&mut tx, client_id, token).await?;
        if document.get("client_id").and_then(Value::as_str) != Some(client_id) {
            return Err(OAuthError::invalid_request(
                "the body must carry the client_id it updates",
            ));
        }
        if let Some(given) = document.get("client_secret").and_then(Value::as_str)
            && !client
                .secret_hash
                .as_deref()
                .is_some_and(|hash| secret::verify(given, hash))
        {
            return Err(OAuthError::invalid_request(
                "client_secret does not match the client's secret",
            ));
        }
        let allow_cc = client.allows(crate::domain::GrantType::ClientCredentials);
        let metadata = client_metadata::validate(
            document,
            Policy {
                allow_client_credentials: allow_cc,
                allow_secret: client.secret_hash.is_some(),
            },
        )?;
        let now = self.now();
        check_scopes(&mut tx, &metadata).await?;
        apply(&mut client, metadata);
        tx.replace_client_metadata(&convert::client_row(&client), now)
            .await?;
        self.commit_client_change(
            tx,
            caller,
            Event::success(EventType::ClientUpdated)
                .client(client_id)
                .details(json!({ "self_registered": true })),
            now,
        )
        .await?;
        Ok(client)
    }

    /// RFC 7592 §2.3: a client deletes its own registration.
    pub async fn delete_own_registration(
        &self,
        caller: &Caller,
        client_id: &str,
        token: &str,
    ) -> Result<(), OAuthError> {
        let mut tx = self.db.write().await?;
        registered_with_token(&mut tx, client_id, token).await?;
        let now = self.now();
        tx.delete_client(client_id).await?;
        self.commit_client_change(
            tx,
            caller,
            Event::success(EventType::ClientDeleted)
                .client(client_id)
                .details(json!({ "self_registered": true })),
            now,
        )
        .await?;
        Ok(())
    }

    /// Switches a client on or off (audited); a disabled client can neither sign anyone in
    /// nor get tokens.
    pub async fn set_client_enabled(
        &self,
        caller: &Caller,
        id: &str,
        enabled: bool,
    ) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        if !tx.set_client_enabled(id, enabled, now).await? {
            return Err(ServiceError::NotFound(format!("client '{id}'")));
        }
        self.commit_client_change(
            tx,
            caller,
            Event::success(EventType::ClientUpdated)
                .client(id)
                .details(json!({ "enabled": enabled })),
            now,
        )
        .await?;
        Ok(())
    }
}
