//! `tessera audit list`: what happened, newest first.

use clap::Subcommand;
use serde_json::json;

use super::{Output, print_json};
use crate::services::Services;
use crate::services::audit::AuditQuery;

/// Audit log commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit events, newest first.
    List {
        /// Only events concerning this user (username or id; also failed sign-ins typed as it).
        #[arg(long)]
        user: Option<String>,
        /// Only events of this type (e.g. sign_in, password_set, client_created).
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// Only events of the last DURATION (e.g. 30m, 24h, 7d; plain numbers are seconds).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        since: Option<i64>,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[command(flatten)]
        output: Output,
    },
}

/// Parses `90`, `30s`, `15m`, `24h` or `7d` into seconds.
pub(super) fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: i64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration like 30m, 24h or 7d"))?;
    let unit = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        other => return Err(format!("unknown unit '{other}' (use s, m, h or d)")),
    };
    n.checked_mul(unit)
        .filter(|s| *s >= 0)
        .ok_or_else(|| format!("'{text}' is out of range"))
}

/// Runs a `tessera audit …` command.
pub async fn run(command: AuditCommand, services: &Services) -> anyhow::Result<()> {
    match command {
        AuditCommand::List {
            user,
            kind,
            since,
            limit,
            output,
        } => {
            let events = services
                .list_audit_events(AuditQuery {
                    user,
                    kind,
                    since_secs: since,
                    limit,
                    ..AuditQuery::default()
                })
                .await?;
            if output.json {
                print_json(&json!(events));
            } else {
                say!(
                    "{:<20} {:<22} {:<8} {:<20} {:<16} DETAILS",
                    "TIME",
                    "TYPE",
                    "OUTCOME",
                    "USER",
                    "IP"
                );
                for e in events {
                    let user = e
                        .user
                        .as_ref()
                        .and_then(|u| u["username"].as_str().map(str::to_string))
                        .or(e.username.clone())
                        .unwrap_or_default();
                    let count = if e.count > 1 {
                        format!(" (x{})", e.count)
                    } else {
                        String::new()
                    };
                    say!(
                        "{:<20} {:<22} {:<8} {:<20} {:<16} {}{count}",
                        e.time.trim_end_matches('Z').replace('T', " "),
                        e.kind,
                        e.outcome,
                        user,
                        e.ip.unwrap_or_default(),
                        e.details
                    );
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("24h"), Ok(86_400));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert!(parse_duration("3y").is_err());
        assert!(parse_duration("h").is_err());
    }
}
