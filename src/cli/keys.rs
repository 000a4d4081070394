//! `tessera keys …`.

use clap::Subcommand;
use serde_json::json;

use super::{Output, print_json};
use crate::domain::SigningAlg;
use crate::services::{Caller, Services};

/// `tessera keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys with their state (next, active, retired).
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Create a new key per algorithm. It is published at once and signs after
    /// `tokens.key_refresh_secs`, when every node has loaded it; old keys stay published until
    /// the tokens they signed have expired.
    Rotate {
        /// Only this algorithm (repeatable): RS256, ES256, EdDSA [default: all].
        #[arg(long = "alg", value_name = "ALG")]
        algs: Vec<String>,
        #[command(flatten)]
        output: Output,
    },
}

/// Runs a `keys` command.
pub async fn run(command: KeysCommand, services: &Services) -> anyhow::Result<()> {
    services.open_keys().await?;
    match command {
        KeysCommand::List { output } => {
            let list = services.list_keys();
            if output.json {
                print_json(&json!(list));
            } else {
                say!(
                    "{:<34} {:<6} {:<4} {:<8} ACTIVATES",
                    "KID",
                    "ALG",
                    "GEN",
                    "STATE"
                );
                for k in list {
                    say!(
                        "{:<34} {:<6} {:<4} {:<8} {}",
                        k.kid,
                        k.alg,
                        k.generation,
                        k.state.as_str(),
                        k.activate_at
                    );
                }
            }
        }
        KeysCommand::Rotate { algs, output } => {
            let algs = if algs.is_empty() {
                SigningAlg::ALL.to_vec()
            } else {
                algs.iter()
                    .map(|a| {
                        SigningAlg::parse(a).ok_or_else(|| {
                            anyhow::anyhow!("unknown algorithm '{a}' (RS256, ES256, EdDSA)")
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?
            };
            let delay = services.config().settings.tokens.key_refresh_secs as i64;
            let created = services.rotate_keys(&Caller::cli(), &algs, delay).await?;
            if output.json {
                print_json(&json!({ "created": created, "activates_in_secs": delay }));
            } else {
                say!(
                    "created {} key(s): {}; they sign in {delay} s",
                    created.len(),
                    created.join(", ")
                );
            }
        }
    }
    Ok(())
}
