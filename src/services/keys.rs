//! Signing key use cases: the first keys at start, reloads, rotation and removal of keys no
//! token can need. The keyring signs and verifies; these functions read and write its rows.

use std::collections::HashMap;

use super::audit::{Event, EventType};
use super::{Caller, ServiceResult, Services};
use crate::domain::SigningAlg;
use crate::signing::{KeyInfo, StoredKey};
use crate::store::KeyRow;

impl Services {
    /// Creates the first key of every algorithm that has none (nodes starting together agree
    /// on one through the unique generation), then loads every key.
    pub async fn open_keys(&self) -> ServiceResult<()> {
        let mut tx = self.db.read().await?;
        let rows = tx.list_keys().await?;
        drop(tx);
        let missing: Vec<SigningAlg> = SigningAlg::ALL
            .into_iter()
            .filter(|alg| !rows.iter().any(|r| r.alg == alg.as_str()))
            .collect();
        if !missing.is_empty() {
            // Generate before the transaction: RSA key generation takes a while.
            let now = self.now();
            let mut fresh = Vec::new();
            for alg in missing {
                fresh.push(self.keys.new_key(alg, 1, now)?);
            }
            let mut tx = self.db.write().await?;
            for row in &fresh {
                if tx.insert_key(&to_row(row)).await? {
                    tracing::info!(alg = row.alg, "generated the first signing key");
                }
            }
            tx.commit().await?;
        }
        self.reload_keys().await
    }

    /// Re-reads every key (run periodically, so keys rotated on another node arrive).
    pub async fn reload_keys(&self) -> ServiceResult<()> {
        let mut tx = self.db.read().await?;
        let rows = tx.list_keys().await?;
        self.keys.load(rows.into_iter().map(from_row).collect())?;
        Ok(())
    }

    /// Adds a new generation of each algorithm in `algs`, signing from
    /// `now + activation_delay`. Returns the new key ids.
    pub async fn rotate_keys(
        &self,
        caller: &Caller,
        algs: &[SigningAlg],
        activation_delay: i64,
    ) -> ServiceResult<Vec<String>> {
        self.audited(caller, Event::failure(EventType::KeyRotated), async {
            let now = self.now();
            let mut tx = self.db.read().await?;
            let rows = tx.list_keys().await?;
            drop(tx);
            let mut newest: HashMap<&str, i64> = HashMap::new();
            for row in &rows {
                let entry = newest.entry(row.alg.as_str()).or_insert(0);
                *entry = (*entry).max(row.generation);
            }
            let mut fresh = Vec::new();
            for alg in algs {
                let generation = newest.get(alg.as_str()).copied().unwrap_or(0) + 1;
                fresh.push(
                    self.keys
                        .new_key(*alg, generation, now + activation_delay)?,
                );
            }
            let mut tx = self.db.write().await?;
            let mut created = Vec::new();
            for row in fresh {
                // Another node may have stored this generation first: theirs stands.
                if tx.insert_key(&to_row(&row)).await? {
                    created.push(row.kid);
                }
            }
            self.record(
                &mut tx,
                caller,
                Event::success(EventType::KeyRotated).details(serde_json::json!({
                    "algs": algs.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
                    "kids": created,
                    "activate_at": now + activation_delay,
                })),
                now,
            )
            .await?;
            tx.commit().await?;
            self.reload_keys().await?;
            Ok(created)
        })
        .await
    }

    /// Every loaded key with its state.
    pub fn list_keys(&self) -> Vec<KeyInfo> {
        self.keys.list()
    }

    /// Deletes keys no token can need any more.
    pub async fn delete_expired_keys(&self) -> ServiceResult<()> {
        let expired = self.keys.expired_kids();
        if expired.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.write().await?;
        tx.delete_keys(&expired).await?;
        tx.commit().await?;
        self.reload_keys().await
    }
}

fn to_row(key: &StoredKey) -> KeyRow {
    KeyRow {
        kid: key.kid.clone(),
        alg: key.alg.clone(),
        generation: key.generation,
        private_jwe: key.private_jwe.clone(),
        public_jwk: key.public_jwk.clone(),
        created_at: key.created_at,
        activate_at: key.activate_at,
    }
}

fn from_row(row: KeyRow) -> StoredKey {
    StoredKey {
        kid: row.kid,
        alg: row.alg,
        generation: row.generation,
        private_jwe: row.private_jwe,
        public_jwk: row.public_jwk,
        created_at: row.created_at,
        activate_at: row.activate_at,
    }
}
