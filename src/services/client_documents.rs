//! Clients that identify themselves by a URL (OAuth Client ID Metadata Document,
//! draft-ietf-oauth-client-id-metadata-document): a `client_id` that is an https URL with a
//! path names a JSON document of the client's metadata. It is fetched when the client first
//! appears and again when its HTTP caching says (5 s, 5 KB, no redirects, public addresses
//! only; on a development issuer, loopback http too), must name itself as `client_id`, and
//! passes the same policy as a self-registered client, without a secret.

use serde_json::Value;

use super::client_registration::{apply, blank, open_scopes};
use super::{Services, convert};
use crate::config::Switch;
use crate::domain::{Client, ScopeSet, is_loopback_host};
use crate::oidc::client_metadata::{self, Policy};
use crate::oidc::{ErrorCode, OAuthError};

/// The largest metadata document fetched.
const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
/// How long a document is kept when its answer says nothing, and the bounds on what it says.
const DEFAULT_KEEP_SECS: i64 = 3600;
const MIN_KEEP_SECS: i64 = 60;
const MAX_KEEP_SECS: i64 = 86_400;
/// How long a document that could not be used is not fetched again, in seconds.
const FAILURE_KEEP_SECS: i64 = 60;

fn refused(description: String) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, description)
}

impl Services {
    /// Whether metadata documents are on and `id` names one: https with a path, or on a
    /// development issuer (loopback http) also http on a loopback host.
    pub(crate) fn names_document(&self, id: &str) -> bool {
        if self.config.settings.client_metadata_documents == Switch::Off {
            return false;
        }
        let Ok(url) = url::Url::parse(id) else {
            return false;
        };
        let has_path = url.path().len() > 1 && url.fragment().is_none();
        let loopback = url.host_str().is_some_and(is_loopback_host);
        has_path
            && match url.scheme() {
                "https" => true,
                "http" => loopback && self.development_issuer(),
                _ => false,
            }
    }

    fn development_issuer(&self) -> bool {
        url::Url::parse(&self.config.issuer)
            .is_ok_and(|u| u.scheme() == "http" && u.host_str().is_some_and(is_loopback_host))
    }

    /// The client a request names: a registered one, or the one a metadata document
    /// describes (fetched when new or stale). A self-registered client may ask for the
    /// resources an administrator opened to such clients (`open_resources`).
    pub(crate) async fn requested_client(&self, id: &str) -> Result<Option<Client>, OAuthError> {
        let client = if self.names_document(id) {
            self.document_client(id).await?
        } else {
            self.cached_client(id).await?
        };
        Ok(client.map(|mut client| {
            if client.self_registered {
                client.resources = self.config.settings.open_resources.clone();
            }
            client
        }))
    }

    /// The client of a metadata document, from the database while its document is fresh.
    async fn document_client(&self, id: &str) -> Result<Option<Client>, OAuthError> {
        let now = self.now();
        let known = self.cached_client(id).await?;
        if let Some(client) = &known
            && client.document_expires_at.is_some_and(|at| at > now)
        {
            return Ok(known);
        }
        if let Some(why) = self.document_failures.get(id, now) {
            return Err(refused(why));
        }
        let Ok(_turn) = self.document_fetches.try_acquire() else {
            return Err(OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "too many client metadata documents are being fetched; try again shortly",
            ));
        };
        self.fetch_document(id, known).await.inspect_err(|e| {
            tracing::warn!(client_id = %id, error = %e.description, "client metadata document refused");
            self.document_failures.insert(
                id.to_string(),
                e.description.to_string(),
                now + FAILURE_KEEP_SECS,
                now,
            );
        })
    }

    /// Fetches and checks a metadata document, and stores its client (`known` is the one
    /// stored before, if any).
    async fn fetch_document(
        &self,
        id: &str,
        known: Option<Client>,
    ) -> Result<Option<Client>, OAuthError> {
        let now = self.now();
        // Development: the examples and tests serve documents on loopback http.
        let public_only = !(self.development_issuer() && id.starts_with("http:"));
        let fetched = self
            .outbound
            .get_json(id, MAX_DOCUMENT_BYTES, public_only)
            .await
            .map_err(|e| {
                refused(format!(
                    "the client's metadata document could not be used: {e}"
                ))
            })?;
        let document: &Value = &fetched.body;
        if document.get("client_id").and_then(Value::as_str) != Some(id) {
            return Err(refused(
                "the metadata document's client_id is not its own URL".into(),
            ));
        }
        if document.get("client_secret").is_some() {
            return Err(refused(
                "a metadata document cannot carry a client secret".into(),
            ));
        }
        let mut metadata = client_metadata::validate(
            document,
            Policy {
                allow_client_credentials: false,
                allow_secret: false,
            },
        )
        .map_err(|e| refused(format!("the client's metadata document: {}", e.description)))?;
        let mut tx = self.db.write().await?;
        let offered = open_scopes(&mut tx).await?;
        metadata.scope = ScopeSet::from_stored(
            &metadata
                .scope
                .iter()
                .filter(|s| offered.iter().any(|o| o == s))
                .collect::<Vec<_>>()
                .join(" "),
        );
        let mut client = known.unwrap_or_else(|| blank(id.to_string(), now));
        apply(&mut client, metadata);
        let keep = fetched
            .max_age
            .unwrap_or(DEFAULT_KEEP_SECS)
            .clamp(MIN_KEEP_SECS, MAX_KEEP_SECS);
        client.document_expires_at = Some(now + keep);
        let row = convert::client_row(&client);
        if !tx.replace_client_metadata(&row, now).await? {
            tx.insert_client(&row).await?;
            tracing::info!(client_id = %id, "client identified by its metadata document");
        }
        tx.commit().await?;
        self.clients_changed();
        Ok(Some(client))
    }
}
