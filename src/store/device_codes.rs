//! Device codes (RFC 8628): the device polls by the SHA-256 of its code, the person types
//! the user code; state changes are conditional updates, so of racing polls or answers on
//! any nodes exactly one wins.

use sqlx::FromRow;

use super::{StoreResult, Tx};

/// A stored device code.
#[derive(Debug, Clone, FromRow)]
pub struct DeviceCodeRow {
    /// SHA-256 of the device code.
    pub device_code_hash: String,
    /// The user code, without its dash.
    pub user_code: String,
    /// The client.
    pub client_id: String,
    /// Requested scopes, narrowed to the client's.
    pub scope: String,
    /// Expiry.
    pub expires_at: i64,
    /// Polling interval in seconds.
    pub interval_secs: i64,
    /// The previous poll.
    pub last_poll_at: Option<i64>,
    /// pending, approved, denied or used.
    pub state: String,
    /// Who approved.
    pub user_id: Option<String>,
    /// In which session.
    pub session_id: Option<String>,
    /// When they had signed in.
    pub auth_time: Option<i64>,
    /// How.
    pub amr: Option<String>,
    /// The authentication class reached.
    pub acr: Option<String>,
}

const COLUMNS: &str = "device_code_hash, user_code, client_id, scope, expires_at, interval_secs, \
     last_poll_at, state, user_id, session_id, auth_time, amr, acr";

/// Who approved a device code.
#[derive(Debug, Clone)]
pub struct DeviceApproval {
    /// The user.
    pub user_id: String,
    /// Their session.
    pub session_id: String,
    /// When they signed in.
    pub auth_time: i64,
    /// How (space-separated `amr`).
    pub amr: String,
    /// The class reached.
    pub acr: String,
}

impl Tx {
    /// Stores a new device code.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_device_code(
        &mut self,
        device_code_hash: &str,
        user_code: &str,
        client_id: &str,
        scope: &str,
        now: i64,
        expires_at: i64,
        interval: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, created_at, \
             expires_at, interval_secs) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(device_code_hash)
        .bind(user_code)
        .bind(client_id)
        .bind(scope)
        .bind(now)
        .bind(expires_at)
        .bind(interval)
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// The device code a device polls with.
    pub async fn find_device_code(&mut self, hash: &str) -> StoreResult<Option<DeviceCodeRow>> {
        let sql = format!("SELECT {COLUMNS} FROM device_codes WHERE device_code_hash = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(hash)
            .fetch_optional(self.c())
            .await?)
    }

    /// The live, unanswered device code a person typed.
    pub async fn find_pending_user_code(
        &mut self,
        user_code: &str,
        now: i64,
    ) -> StoreResult<Option<DeviceCodeRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM device_codes WHERE user_code = $1 AND state = 'pending' \
             AND expires_at > $2"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(user_code)
            .bind(now)
            .fetch_optional(self.c())
            .await?)
    }

    /// Records a poll, and the interval from now on.
    pub async fn record_device_poll(
        &mut self,
        hash: &str,
        now: i64,
        interval: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE device_codes SET last_poll_at = $1, interval_secs = $2 WHERE device_code_hash = $3",
        )
        .bind(now)
        .bind(interval)
        .bind(hash)
        .execute(self.c())
        .await?;
        Ok(())
    }

    /// Records the person's answer to a pending code; false when it was answered already or
    /// expired.
    pub async fn answer_device_code(
        &mut self,
        user_code: &str,
        approval: Option<&DeviceApproval>,
        now: i64,
    ) -> StoreResult<bool> {
        let state = if approval.is_some() {
            "approved"
        } else {
            "denied"
        };
        let done = sqlx::query(
            "UPDATE device_codes SET state = $1, user_id = $2, session_id = $3, auth_time = $4, \
             amr = $5, acr = $6 WHERE user_code = $7 AND state = 'pending' AND expires_at > $8",
        )
        .bind(state)
        .bind(approval.map(|a| a.user_id.as_str()))
        .bind(approval.map(|a| a.session_id.as_str()))
        .bind(approval.map(|a| a.auth_time))
        .bind(approval.map(|a| a.amr.as_str()))
        .bind(approval.map(|a| a.acr.as_str()))
        .bind(user_code)
        .bind(now)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks an approved code used; true for exactly one caller.
    pub async fn use_device_code(&mut self, hash: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE device_codes SET state = 'used' WHERE device_code_hash = $1 AND state = 'approved'",
        )
        .bind(hash)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
