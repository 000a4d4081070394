//! The scope catalogue as data: the built-in OpenID Connect scopes and custom ones an admin
//! adds with the words the consent page shows. A client may only be registered for scopes in
//! the catalogue; deleting a custom scope takes it away from every client.

use super::audit::{Event, EventType};
use super::{Caller, ServiceError, ServiceResult, Services, convert};
use crate::domain::Scope;
use crate::store::ScopeRow;

impl Services {
    /// The catalogue, by name.
    pub async fn list_scopes(&self) -> ServiceResult<Vec<ScopeRow>> {
        let mut tx = self.db.read().await?;
        Ok(tx.list_scopes().await?)
    }

    /// Adds a custom scope with the description shown on consent pages.
    pub async fn create_scope(
        &self,
        caller: &Caller,
        name: &str,
        description: &str,
    ) -> ServiceResult<ScopeRow> {
        self.audited(
            caller,
            Event::failure(EventType::ScopeCreated).details(serde_json::json!({ "scope": name })),
            async {
                let scope = Scope::parse(name).map_err(|m| ServiceError::invalid("name", m))?;
                let description = description.trim().to_string();
                if description.chars().count() > 200 {
                    return Err(ServiceError::invalid(
                        "description",
                        "a description may have at most 200 characters",
                    ));
                }
                let now = self.now();
                let mut tx = self.db.write().await?;
                if !tx.insert_scope(scope.as_str(), &description, now).await? {
                    return Err(ServiceError::conflict(
                        "name",
                        format!("scope '{}' already exists", scope.as_str()),
                    ));
                }
                self.record(
                    &mut tx,
                    caller,
                    Event::success(EventType::ScopeCreated)
                        .details(serde_json::json!({ "scope": scope.as_str() })),
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(ScopeRow {
                    name: scope.as_str().to_string(),
                    description,
                    builtin: 0,
                })
            },
        )
        .await
    }

    /// Deletes a custom scope and removes it from every client registered for it. Built-in
    /// scopes stay.
    pub async fn delete_scope(&self, caller: &Caller, name: &str) -> ServiceResult<usize> {
        self.audited(
            caller,
            Event::failure(EventType::ScopeDeleted).details(serde_json::json!({ "scope": name })),
            async {
                let now = self.now();
                let mut tx = self.db.write().await?;
                let known = tx.list_scopes().await?;
                match known.iter().find(|s| s.name == name) {
                    None => return Err(ServiceError::NotFound(format!("scope '{name}'"))),
                    Some(s) if s.builtin != 0 => {
                        return Err(ServiceError::Forbidden(format!(
                            "'{name}' is a built-in scope and cannot be deleted"
                        )));
                    }
                    Some(_) => {}
                }
                tx.delete_scope(name).await?;
                let mut changed = 0;
                for row in tx.list_clients().await? {
                    let mut client = convert::client(row);
                    if client.scopes.contains(name) {
                        client.scopes = client.scopes.without(name);
                        tx.update_client_scopes(&client.id, &client.scopes.to_string(), now)
                            .await?;
                        changed += 1;
                    }
                }
                self.record(
                    &mut tx,
                    caller,
                    Event::success(EventType::ScopeDeleted)
                        .details(serde_json::json!({ "scope": name, "clients_changed": changed })),
                    now,
                )
                .await?;
                tx.commit().await?;
                self.clients_changed();
                Ok(changed)
            },
        )
        .await
    }

    /// What each scope of `names` shares, in the catalogue's words, for the consent page.
    pub async fn describe_scopes(&self, names: &[&str]) -> ServiceResult<Vec<(String, String)>> {
        let catalogue = self.list_scopes().await?;
        Ok(names
            .iter()
            .map(|name| {
                let description = catalogue
                    .iter()
                    .find(|s| s.name == *name)
                    .map(|s| s.description.clone())
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| format!("Access to \u{201c}{name}\u{201d}"));
                (name.to_string(), description)
            })
            .collect())
    }
}
