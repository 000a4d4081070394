//! The audit log: one row per security-relevant event, written in the transaction of the
//! change it records. Failures from callers who proved nothing carry a de-duplication key
//! (type, address, details and the minute), so a flood of identical failures counts up one
//! row instead of growing the table.

use sqlx::FromRow;

use super::{AnyQuery, StoreResult, Tx};

/// An event to record.
#[derive(Debug, Clone, Default)]
pub struct NewAuditEvent {
    /// When it happened.
    pub time: i64,
    /// Event type, snake case (`sign_in`, `client_created`, …).
    pub kind: String,
    /// `success` or `failure`.
    pub outcome: &'static str,
    /// `user`, `client`, `admin`, `cli` or `anonymous`.
    pub actor_kind: &'static str,
    /// The actor's id (user id or client id).
    pub actor_id: Option<String>,
    /// The user the event concerns.
    pub user_id: Option<String>,
    /// That user's username at the time.
    pub user_name: Option<String>,
    /// The username as typed (failed sign-ins).
    pub username: Option<String>,
    /// The client involved.
    pub client_id: Option<String>,
    /// Client IP address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Further facts, a JSON object.
    pub details: String,
    /// Set for failures that may be merged with identical ones of the same minute.
    pub dedupe_key: Option<String>,
}

/// A recorded event.
#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    /// Row id (newer events have larger ids).
    pub id: i64,
    /// When it happened (the latest occurrence, for merged failures).
    pub time: i64,
    /// Event type.
    #[sqlx(rename = "type")]
    pub kind: String,
    /// `success` or `failure`.
    pub outcome: String,
    /// Kind of actor.
    pub actor_kind: String,
    /// Actor id.
    pub actor_id: Option<String>,
    /// User concerned.
    pub user_id: Option<String>,
    /// Their username then.
    pub user_name: Option<String>,
    /// Username as typed.
    pub username: Option<String>,
    /// Client involved.
    pub client_id: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// JSON object of further facts.
    pub details: String,
    /// How many identical events this row stands for.
    pub count: i64,
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Events concerning this user (id, username, or the username typed).
    pub user: Option<String>,
    /// Events of this type.
    pub kind: Option<String>,
    /// Events at or after this time.
    pub since: Option<i64>,
    /// Events before this time.
    pub until: Option<i64>,
    /// Events involving this client.
    pub client: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// Events that come after this (time, id) in the newest-first order (paging).
    pub after: Option<(i64, i64)>,
    /// At most this many, newest first.
    pub limit: i64,
}

impl Tx {
    /// Records an event, or counts it into the identical failure already recorded this minute.
    pub async fn insert_audit_event(&mut self, e: &NewAuditEvent) -> StoreResult<()> {
        let query = sqlx::query(
            "INSERT INTO audit_events (time, type, outcome, actor_kind, actor_id, user_id, user_name, \
             username, client_id, ip, user_agent, details, count, dedupe_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13) \
             ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO UPDATE SET count = audit_events.count + 1, time = excluded.time",
        );
        bind_event(query, e).execute(self.c()).await?;
        Ok(())
    }

    /// Events matching `filter`, newest first.
    pub async fn list_audit_events(&mut self, filter: &AuditFilter) -> StoreResult<Vec<AuditRow>> {
        let mut sql = String::from(
            "SELECT id, time, type, outcome, actor_kind, actor_id, user_id, user_name, username, \
             client_id, ip, user_agent, details, count FROM audit_events WHERE 1 = 1",
        );
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if filter.user.is_some() {
            let i = next();
            sql.push_str(&format!(
                " AND (user_id = ${i} OR LOWER(user_name) = LOWER(${i}) OR LOWER(username) = LOWER(${i}))"
            ));
        }
        if filter.kind.is_some() {
            sql.push_str(&format!(" AND type = ${}", next()));
        }
        if filter.since.is_some() {
            sql.push_str(&format!(" AND time >= ${}", next()));
        }
        if filter.until.is_some() {
            sql.push_str(&format!(" AND time < ${}", next()));
        }
        if filter.client.is_some() {
            sql.push_str(&format!(" AND client_id = ${}", next()));
        }
        if filter.outcome.is_some() {
            sql.push_str(&format!(" AND outcome = ${}", next()));
        }
        if filter.after.is_some() {
            let (t, i) = (next(), next());
            sql.push_str(&format!(
                " AND (time < ${t} OR (time = ${t} AND id < ${i}))"
            ));
        }
        sql.push_str(&format!(" ORDER BY time DESC, id DESC LIMIT ${}", next()));
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        if let Some(user) = &filter.user {
            query = query.bind(user);
        }
        if let Some(kind) = &filter.kind {
            query = query.bind(kind);
        }
        if let Some(since) = filter.since {
            query = query.bind(since);
        }
        if let Some(until) = filter.until {
            query = query.bind(until);
        }
        if let Some(client) = &filter.client {
            query = query.bind(client);
        }
        if let Some(outcome) = &filter.outcome {
            query = query.bind(outcome);
        }
        if let Some((time, id)) = filter.after {
            query = query.bind(time).bind(id);
        }
        Ok(query.bind(filter.limit).fetch_all(self.c()).await?)
    }

    /// Sign-in events per hour from `since` on: (hour as Unix seconds / 3600, outcome, events).
    pub async fn sign_ins_per_hour(&mut self, since: i64) -> StoreResult<Vec<(i64, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT time / 3600 AS hour, outcome, CAST(SUM(count) AS BIGINT) AS n \
             FROM audit_events WHERE type = 'sign_in' AND time >= $1 \
             GROUP BY time / 3600, outcome",
        )
        .bind(since)
        .fetch_all(self.c())
        .await?)
    }

    /// Deletes events older than `before` (retention).
    pub async fn delete_audit_events_before(&mut self, before: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM audit_events WHERE time < $1")
            .bind(before)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected())
    }
}

/// Binds an event's thirteen values, in the column order of `audit_events` (time, type,
/// outcome, actor_kind, actor_id, user_id, user_name, username, client_id, ip, user_agent,
/// details, dedupe_key), after the arguments `query` has already.
pub(super) fn bind_event(query: AnyQuery, e: &NewAuditEvent) -> AnyQuery {
    query
        .bind(e.time)
        .bind(e.kind.clone())
        .bind(e.outcome)
        .bind(e.actor_kind)
        .bind(e.actor_id.clone())
        .bind(e.user_id.clone())
        .bind(e.user_name.clone())
        .bind(e.username.clone())
        .bind(e.client_id.clone())
        .bind(e.ip.clone())
        .bind(e.user_agent.clone())
        .bind(e.details.clone())
        .bind(e.dedupe_key.clone())
}
