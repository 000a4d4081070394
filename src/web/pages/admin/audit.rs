//! The console's audit log: filters by user, client, event type, outcome and time range,
//! cursor paging, and the chart of sign-ins per hour over the last week.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde_json::{Value, json};

use super::{Console, chart, show};
use crate::error::AppError;
use crate::services::ServiceError;
use crate::services::audit::{AuditEntry, AuditQuery};
use crate::state::AppState;
use crate::web::{form, urlencode};

const AUDIT: (&str, &str, &str) = ("admin_audit.html", "audit", "Audit log");
/// Events per page.
const PAGE: i64 = 50;
/// The chart's span: seven days of hours.
const CHART_HOURS: i64 = 7 * 24;
/// The filters of the page, as query parameters.
const FILTERS: [&str; 6] = ["user", "client", "type", "outcome", "since", "until"];

/// Audit entries as the console's tables show them.
pub(super) fn rows(events: &[AuditEntry]) -> Vec<Value> {
    events
        .iter()
        .map(|e| {
            let actor = match (e.actor["kind"].as_str(), e.actor["id"].as_str()) {
                (Some(kind), Some(id)) => format!("{kind} {id}"),
                (Some(kind), None) => kind.to_string(),
                _ => String::new(),
            };
            let user = e
                .user
                .as_ref()
                .and_then(|u| u["username"].as_str().map(str::to_string))
                .or_else(|| e.username.clone());
            let details = match &e.details {
                Value::Object(map) if map.is_empty() => String::new(),
                other => other.to_string(),
            };
            json!({
                "time": e.time.replace('T', " ").replace('Z', " UTC"), "type": e.kind,
                "outcome": e.outcome, "actor": actor, "user": user, "client_id": e.client_id,
                "ip": e.ip, "details": details, "count": e.count,
            })
        })
        .collect()
}

/// `2026-12-07` as Unix seconds at the start of that day (UTC).
fn day_start(text: &str) -> Result<i64, ServiceError> {
    let mut parts = text.trim().splitn(3, '-').map(str::parse::<i32>);
    let date = match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) => u8::try_from(m)
            .ok()
            .and_then(|m| time::Month::try_from(m).ok())
            .zip(u8::try_from(d).ok())
            .and_then(|(m, d)| time::Date::from_calendar_date(y, m, d).ok()),
        _ => None,
    };
    date.map(|d| d.midnight().assume_utc().unix_timestamp())
        .ok_or_else(|| ServiceError::invalid("since", "dates are written 2026-12-07"))
}

/// `GET /admin/audit[?user=…&client=…&type=…&outcome=…&since=…&until=…&cursor=…]`.
pub async fn list(
    State(state): State<AppState>,
    _console: Console,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).unwrap_or_default();
    let text = |name| params.get(name).map(str::to_string);
    let outcome = text("outcome").filter(|o| o == "success" || o == "failure");
    let dates = (|| -> Result<(Option<i64>, Option<i64>), ServiceError> {
        let since = params.get("since").map(day_start).transpose()?;
        // The day named by `until` is included.
        let until = params
            .get("until")
            .map(|d| day_start(d).map(|s| s + 86_400))
            .transpose()
            .map_err(|_| ServiceError::invalid("until", "dates are written 2026-12-07"))?;
        Ok((since, until))
    })();
    let (events, next_page, error) = match dates {
        Ok((since, until)) => {
            let query = AuditQuery {
                user: text("user"),
                client: text("client"),
                kind: text("type"),
                outcome: outcome.clone(),
                since,
                until,
                after: text("cursor"),
                limit: PAGE + 1,
                since_secs: None,
            };
            let mut events = match state.services.list_audit_events(query.clone()).await {
                // A cursor that is not ours: start again from the newest event.
                Err(ServiceError::Invalid { .. }) => {
                    let fresh = AuditQuery {
                        after: None,
                        ..query
                    };
                    state.services.list_audit_events(fresh).await?
                }
                other => other?,
            };
            let next = (events.len() as i64 > PAGE).then(|| {
                events.truncate(PAGE as usize);
                let mut query: Vec<String> = FILTERS
                    .iter()
                    .filter_map(|f| Some(format!("{f}={}", urlencode(params.get(f)?))))
                    .collect();
                if let Some(last) = events.last() {
                    query.push(format!("cursor={}", urlencode(&last.cursor)));
                }
                format!("/admin/audit?{}", query.join("&"))
            });
            (events, next, None)
        }
        Err(e) => (Vec::new(), None, Some(super::refusal(e)?)),
    };
    let hours = state.services.sign_ins_per_hour(CHART_HOURS).await?;
    let filters: serde_json::Map<String, Value> = FILTERS
        .iter()
        .map(|f| (f.to_string(), json!(params.get(f).unwrap_or_default())))
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    show(
        &state,
        jar,
        status,
        AUDIT,
        json!({
            "chart": chart::sign_ins(&hours), "events": rows(&events), "filters": filters,
            "next_page": next_page, "error": error,
        }),
    )
}
