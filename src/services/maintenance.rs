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

    /// Sets the gauges read at scrape time (database pool, mail backlog, signing key age).
    pub async fn observe_gauges(&self) -> ServiceResult<()> {
        use super::outbox::Channel;
        use crate::metrics::{
            BACKCHANNEL_OLDEST, BACKCHANNEL_QUEUE, DB_CONNECTIONS, MAIL_OLDEST, MAIL_QUEUE,
            SIGNING_KEY_AGE,
        };
        let (open, idle) = self.db.pool_state();
        let in_use = f64::from(open) - idle as f64;
        metrics::gauge!(DB_CONNECTIONS, "state" => "in_use").set(in_use);
        metrics::gauge!(DB_CONNECTIONS, "state" => "idle").set(idle as f64);
        let now = self.now();
        let mut tx = self.db.read().await?;
        let (queued, oldest) = tx.mail_backlog(Channel::Mail.as_str()).await?;
        let (logouts, oldest_logout) = tx.mail_backlog(Channel::Backchannel.as_str()).await?;
        let newest_key = tx.newest_key_created_at().await?;
        drop(tx);
        metrics::gauge!(MAIL_QUEUE).set(queued as f64);
        metrics::gauge!(MAIL_OLDEST).set(oldest.map_or(0, |t| now - t) as f64);
        metrics::gauge!(BACKCHANNEL_QUEUE).set(logouts as f64);
        metrics::gauge!(BACKCHANNEL_OLDEST).set(oldest_logout.map_or(0, |t| now - t) as f64);
        if let Some(created) = newest_key {
            metrics::gauge!(SIGNING_KEY_AGE).set((now - created) as f64);
        }
        Ok(())
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
