//! Housekeeping that every node may run at once (expired rows, the audit log's retention,
//! keys no token can need), and the readiness check.

use super::{ServiceResult, Services};

impl Services {
    /// Why this node cannot serve now, if it cannot: the database does not answer, or the
    /// signing keys are not loaded (`/readyz`).
    pub async fn not_ready(&self) -> Option<String> {
        match self.db.ping().await {
            Err(e) => Some(format!("database unreachable: {e}")),
            Ok(()) if !self.keys.is_ready() => Some("signing keys not loaded".to_string()),
            Ok(()) => None,
        }
    }

    /// `tessera db backup`: a consistent online copy of a SQLite database in the new file
    /// `path`. PostgreSQL is backed up with `pg_dump`, which the error says.
    pub async fn back_up(&self, path: &std::path::Path) -> ServiceResult<()> {
        if self.db.backup_into(path).await? {
            return Ok(());
        }
        Err(super::ServiceError::invalid(
            "database_url",
            "this database is PostgreSQL: back it up with pg_dump (e.g. `pg_dump -Fc -f tessera.dump DBNAME`), or with your provider's snapshots",
        ))
    }

    /// Removes expired sessions, requests, codes, tokens and grants, audit events older than
    /// `audit.retention_days`, and expired keys. Returns how many rows went.
    pub async fn clean_up(&self) -> ServiceResult<u64> {
        let now = self.now();
        let retention = self.config.settings.audit.retention_days * 24 * 3600;
        let mut tx = self.db.write().await?;
        let mut removed = tx.delete_expired(now).await?;
        removed += tx.delete_audit_events_before(now - retention).await?;
        tx.commit().await?;
        self.delete_expired_keys().await?;
        Ok(removed)
    }
}
