//! Upstream OpenID Connect providers: validated, their client secrets sealed under the master
//! key, and kept in one table whether they come from the configuration file (written again
//! at every start) or from `tessera upstream add`, so every node offers the same ones.

use std::collections::BTreeMap;

use super::audit::{Event, EventType};
use super::{Caller, ServiceError, ServiceResult, Services, accounts};
use crate::domain::{RedirectUri, Upstream, UpstreamSource, parse_upstream_id};
use crate::store::{Tx, UpstreamRow};

/// What an upstream needs, from the file or the command line.
#[derive(Debug, Clone, Default)]
pub struct UpstreamSpec {
    /// Appears in URLs.
    pub id: String,
    /// The button text.
    pub name: String,
    /// The issuer URL.
    pub issuer: String,
    /// Tessera's client_id there.
    pub client_id: String,
    /// Tessera's client secret there, if it has one.
    pub client_secret: Option<String>,
    /// Scopes to ask for (empty: openid profile email).
    pub scopes: Vec<String>,
    /// Link by verified e-mail on both sides.
    pub link_by_verified_email: bool,
    /// Create accounts on first sign-in.
    pub create_users: bool,
    /// The upstream's MFA stands for Tessera's.
    pub trust_upstream_mfa: bool,
    /// The claim mapped to roles.
    pub roles_claim: Option<String>,
    /// Claim value → local role.
    pub role_map: BTreeMap<String, String>,
    /// Roles of accounts created through it.
    pub default_roles: Vec<String>,
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

fn upstream(row: UpstreamRow) -> Upstream {
    Upstream {
        has_secret: row.client_secret.is_some(),
        scopes: words(&row.scopes),
        link_by_verified_email: row.link_by_verified_email != 0,
        create_users: row.create_users != 0,
        trust_upstream_mfa: row.trust_upstream_mfa != 0,
        role_map: serde_json::from_str(&row.role_map).unwrap_or_default(),
        default_roles: words(&row.default_roles),
        source: UpstreamSource::parse(&row.source),
        id: row.id,
        name: row.name,
        issuer: row.issuer,
        client_id: row.client_id,
        roles_claim: row.roles_claim,
    }
}

impl Services {
    /// Checks `spec` (roles against the catalogue in `tx`) and turns it into a row, the
    /// secret sealed.
    async fn upstream_row(
        &self,
        tx: &mut Tx,
        spec: UpstreamSpec,
        source: UpstreamSource,
        now: i64,
    ) -> ServiceResult<UpstreamRow> {
        let id = parse_upstream_id(&spec.id).map_err(|m| ServiceError::invalid("id", m))?;
        let name = spec.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(ServiceError::invalid(
                "name",
                "the button text needs 1 to 64 characters",
            ));
        }
        // The same rules as a redirect URI: https, or http on a loopback host; no fragment.
        let issuer = RedirectUri::parse(spec.issuer.trim())
            .map_err(|m| ServiceError::invalid("issuer", format!("the issuer: {m}")))?;
        let client_id = spec.client_id.trim().to_string();
        if client_id.is_empty() {
            return Err(ServiceError::invalid("client_id", "a client_id is needed"));
        }
        let scopes = if spec.scopes.is_empty() {
            words("openid profile email")
        } else {
            spec.scopes
        };
        if !scopes.iter().any(|s| s == "openid") {
            return Err(ServiceError::invalid(
                "scopes",
                "the scopes must include openid",
            ));
        }
        let default_roles = accounts::checked_roles(tx, &spec.default_roles).await?;
        let mapped: Vec<String> = spec.role_map.values().cloned().collect();
        accounts::checked_roles(tx, &mapped)
            .await
            .map_err(|e| match e {
                ServiceError::Invalid { message, .. } => ServiceError::invalid("role_map", message),
                other => other,
            })?;
        if !spec.role_map.is_empty() && spec.roles_claim.is_none() {
            return Err(ServiceError::invalid(
                "roles_claim",
                "a role_map needs the roles_claim it maps",
            ));
        }
        let client_secret = match spec.client_secret.filter(|s| !s.is_empty()) {
            Some(secret) => Some(self.keys.master_key().seal(secret.as_bytes())?),
            None => None,
        };
        Ok(UpstreamRow {
            id,
            name,
            issuer: issuer.as_str().to_string(),
            client_id,
            client_secret,
            scopes: scopes.join(" "),
            link_by_verified_email: i64::from(spec.link_by_verified_email),
            create_users: i64::from(spec.create_users),
            trust_upstream_mfa: i64::from(spec.trust_upstream_mfa),
            roles_claim: spec.roles_claim.filter(|c| !c.is_empty()),
            role_map: serde_json::to_string(&spec.role_map).unwrap_or_else(|_| "{}".into()),
            default_roles: default_roles.join(" "),
            source: source.as_str().to_string(),
            created_at: now,
        })
    }

    /// `tessera upstream add`: a new upstream provider; 409 when the id is taken.
    pub async fn add_upstream(
        &self,
        caller: &Caller,
        spec: UpstreamSpec,
    ) -> ServiceResult<Upstream> {
        let id = spec.id.clone();
        self.audited(
            caller,
            Event::failure(EventType::UpstreamSaved).details(serde_json::json!({ "upstream": id })),
            async {
                let now = self.now();
                let mut tx = self.db.write().await?;
                let row = self
                    .upstream_row(&mut tx, spec, UpstreamSource::Cli, now)
                    .await?;
                if !tx.save_upstream(&row, false, now).await? {
                    return Err(ServiceError::conflict(
                        "id",
                        format!("an upstream '{}' exists already", row.id),
                    ));
                }
                self.record(
                    &mut tx,
                    caller,
                    Event::success(EventType::UpstreamSaved)
                        .details(serde_json::json!({ "upstream": row.id, "issuer": row.issuer })),
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(upstream(row))
            },
        )
        .await
    }

    /// At start: the configuration file's upstreams are written (replacing any of the same
    /// id) and those the file no longer names are removed; the CLI's stay as they are.
    pub async fn sync_file_upstreams(&self, specs: Vec<UpstreamSpec>) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let mut kept = Vec::new();
        for spec in specs {
            let id = spec.id.clone();
            let row = self
                .upstream_row(&mut tx, spec, UpstreamSource::File, now)
                .await
                .map_err(|e| match e {
                    ServiceError::Invalid { field, message } => ServiceError::Invalid {
                        field,
                        message: format!("[[upstream]] '{id}': {message}"),
                    },
                    other => other,
                })?;
            tx.save_upstream(&row, true, now).await?;
            kept.push(row.id);
        }
        for stale in tx.list_upstreams().await? {
            if stale.source == UpstreamSource::File.as_str() && !kept.contains(&stale.id) {
                tx.delete_upstream(&stale.id).await?;
                tx.take_back_mapped_roles(None, &stale.id).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every upstream provider, by id.
    pub async fn list_upstreams(&self) -> ServiceResult<Vec<Upstream>> {
        let mut tx = self.db.read().await?;
        Ok(tx
            .list_upstreams()
            .await?
            .into_iter()
            .map(upstream)
            .collect())
    }

    /// One upstream provider, by id.
    pub async fn find_upstream(&self, id: &str) -> ServiceResult<Option<Upstream>> {
        let mut tx = self.db.read().await?;
        Ok(tx.find_upstream(id).await?.map(upstream))
    }

    /// `tessera upstream remove`: an upstream added from the command line (the file's are
    /// removed from the file).
    pub async fn remove_upstream(&self, caller: &Caller, id: &str) -> ServiceResult<()> {
        self.audited(
            caller,
            Event::failure(EventType::UpstreamRemoved).details(serde_json::json!({ "upstream": id })),
            async {
                let now = self.now();
                let mut tx = self.db.write().await?;
                let found = tx.find_upstream(id).await?;
                match found {
                    None => return Err(ServiceError::NotFound(format!("upstream '{id}'"))),
                    Some(u) if u.source == UpstreamSource::File.as_str() => {
                        return Err(ServiceError::invalid(
                            "id",
                            format!("upstream '{id}' comes from the configuration file: remove its [[upstream]] table there"),
                        ));
                    }
                    Some(_) => {}
                }
                tx.delete_upstream(id).await?;
                // What its role mapping granted goes with it.
                tx.take_back_mapped_roles(None, id).await?;
                self.record(
                    &mut tx,
                    caller,
                    Event::success(EventType::UpstreamRemoved)
                        .details(serde_json::json!({ "upstream": id })),
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(())
            },
        )
        .await
    }
}
