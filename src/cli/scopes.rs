//! `tessera scope …`: the scope catalogue.

use clap::Subcommand;
use serde_json::json;

use super::{Output, print_json};
use crate::services::{Caller, Services};

/// Scope catalogue commands.
#[derive(Debug, Subcommand)]
pub enum ScopeCommand {
    /// Add a custom scope; clients can then be registered for it.
    Add {
        /// Scope name (printable ASCII, no spaces or quotes).
        name: String,
        /// What granting it shares, as the consent page shows it.
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        output: Output,
    },
    /// List the built-in and custom scopes.
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Delete a custom scope; clients registered for it lose it.
    Delete {
        /// Scope name.
        name: String,
    },
}

/// Runs a `tessera scope …` command.
pub async fn run(command: ScopeCommand, services: &Services) -> anyhow::Result<()> {
    let cli = Caller::cli();
    match command {
        ScopeCommand::Add {
            name,
            description,
            output,
        } => {
            let scope = services.create_scope(&cli, &name, &description).await?;
            if output.json {
                print_json(
                    &json!({ "name": scope.name, "description": scope.description, "builtin": false }),
                );
            } else {
                say!("added scope {}", scope.name);
            }
        }
        ScopeCommand::List { output } => {
            let scopes = services.list_scopes().await?;
            if output.json {
                print_json(&json!(
                    scopes
                        .iter()
                        .map(|s| json!({ "name": s.name, "description": s.description, "builtin": s.builtin != 0 }))
                        .collect::<Vec<_>>()
                ));
            } else {
                for s in scopes {
                    let kind = if s.builtin != 0 { "built-in" } else { "custom" };
                    say!("{:<20} {:<9} {}", s.name, kind, s.description);
                }
            }
        }
        ScopeCommand::Delete { name } => {
            let changed = services.delete_scope(&cli, &name).await?;
            say!("deleted scope {name} ({changed} client(s) lost it)");
        }
    }
    Ok(())
}
