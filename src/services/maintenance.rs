//! Housekeeping that every node may run at once: expired rows, the audit log's retention,
//! and keys no token can need.

use super::{ServiceResult, Services};

impl Services {
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
