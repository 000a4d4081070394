//! `tessera upstream …`: upstream OpenID Connect providers people may sign in with. Those
//! of the configuration file (`[[upstream]]`) are listed too once a server started with it
//! wrote them; they change in the file. The command never writes the file's upstreams
//! itself, so running it with another configuration cannot take them away.

use std::collections::BTreeMap;

use clap::Subcommand;
use serde_json::json;

use super::{Output, print_json};
use crate::domain::Upstream;
use crate::services::upstreams::UpstreamSpec;
use crate::services::{Caller, Services};

/// Upstream provider commands.
#[derive(Debug, Subcommand)]
pub enum UpstreamCommand {
    /// List the upstream providers, from the file and from this command.
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Add an upstream provider; its client secret is stored sealed under the master key.
    Add {
        /// Appears in URLs (/upstream/ID/…): lower-case letters, digits and '-'.
        id: String,
        /// The button text on the login page, e.g. "Sign in with Corp".
        #[arg(long)]
        name: String,
        /// The upstream's issuer (its discovery document is read from there).
        #[arg(long)]
        issuer: String,
        /// Tessera's client_id at the upstream.
        #[arg(long)]
        client_id: String,
        /// A file holding Tessera's client secret at the upstream.
        #[arg(long, value_name = "PATH")]
        client_secret_file: Option<std::path::PathBuf>,
        /// Scopes to ask for [default: openid profile email].
        #[arg(long, num_args = 1.., value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Link a first sign-in to the local account with the same address when both sides
        /// have it verified.
        #[arg(long)]
        link_by_verified_email: bool,
        /// Create local accounts on first sign-in.
        #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
        create_users: bool,
        /// Let the upstream's second factor (its `amr`) stand for Tessera's own.
        #[arg(long)]
        trust_upstream_mfa: bool,
        /// The upstream claim whose values map to local roles (e.g. groups).
        #[arg(long, value_name = "CLAIM")]
        roles_claim: Option<String>,
        /// Map an upstream claim value to a local role: VALUE=ROLE (repeatable). Mapping to
        /// admin trusts the upstream's group management completely.
        #[arg(long = "map", value_name = "VALUE=ROLE", value_parser = parse_mapping)]
        role_map: Vec<(String, String)>,
        /// A role of every account created through this upstream (repeatable).
        #[arg(long = "default-role", value_name = "ROLE")]
        default_roles: Vec<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Remove an upstream provider added with `upstream add`.
    Remove {
        /// The upstream's id.
        id: String,
    },
}

fn parse_mapping(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((value, role)) if !value.is_empty() && !role.is_empty() => {
            Ok((value.to_string(), role.to_string()))
        }
        _ => Err(format!("'{text}' is not VALUE=ROLE")),
    }
}

fn upstream_json(u: &Upstream) -> serde_json::Value {
    json!({
        "id": u.id, "name": u.name, "issuer": u.issuer, "client_id": u.client_id,
        "has_client_secret": u.has_secret, "scopes": u.scopes,
        "link_by_verified_email": u.link_by_verified_email, "create_users": u.create_users,
        "trust_upstream_mfa": u.trust_upstream_mfa, "roles_claim": u.roles_claim,
        "role_map": u.role_map, "default_roles": u.default_roles, "source": u.source.as_str(),
    })
}

/// Runs a `tessera upstream …` command.
pub async fn run(command: UpstreamCommand, services: &Services) -> anyhow::Result<()> {
    let cli = Caller::cli();
    match command {
        UpstreamCommand::List { output } => {
            let upstreams = services.list_upstreams().await?;
            if output.json {
                print_json(&json!(
                    upstreams.iter().map(upstream_json).collect::<Vec<_>>()
                ));
            } else if upstreams.is_empty() {
                say!("no upstream providers");
            } else {
                for u in &upstreams {
                    say!(
                        "{:<16} {:<28} {} ({})",
                        u.id,
                        u.name,
                        u.issuer,
                        u.source.as_str()
                    );
                }
            }
        }
        UpstreamCommand::Add {
            id,
            name,
            issuer,
            client_id,
            client_secret_file,
            scopes,
            link_by_verified_email,
            create_users,
            trust_upstream_mfa,
            roles_claim,
            role_map,
            default_roles,
            output,
        } => {
            let client_secret = client_secret_file
                .map(|path| {
                    std::fs::read_to_string(&path)
                        .map(|s| s.trim().to_string())
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
                })
                .transpose()?;
            let spec = UpstreamSpec {
                id,
                name,
                issuer,
                client_id,
                client_secret,
                scopes: scopes
                    .iter()
                    .flat_map(|s| s.split([' ', ',']))
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                link_by_verified_email,
                create_users,
                trust_upstream_mfa,
                roles_claim,
                role_map: role_map.into_iter().collect::<BTreeMap<_, _>>(),
                default_roles,
            };
            let upstream = services.add_upstream(&cli, spec).await?;
            if output.json {
                print_json(&upstream_json(&upstream));
            } else {
                say!("added upstream {} ({})", upstream.id, upstream.issuer);
            }
        }
        UpstreamCommand::Remove { id } => {
            services.remove_upstream(&cli, &id).await?;
            say!("removed upstream {id}");
        }
    }
    Ok(())
}
