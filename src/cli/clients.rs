//! `tessera client …`.

use clap::Subcommand;
use serde_json::json;

use super::{Output, print_json};
use crate::domain::Client;
use crate::services::clients::ClientSpec;
use crate::services::{Caller, Services};

/// `tessera client …`.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client. Prints its client_id and (once) its secret.
    Add {
        /// Name shown to users on the consent page.
        #[arg(long)]
        name: String,
        /// Use this client_id instead of a random one.
        #[arg(long)]
        client_id: Option<String>,
        /// A redirect URI (repeatable); matched exactly. http only for loopback hosts.
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// A post-logout redirect URI (repeatable).
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// A public client (browser or native app): no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// Comma-separated grant types [default: authorization_code,refresh_token].
        #[arg(long, value_delimiter = ',', value_name = "LIST")]
        grant_types: Vec<String>,
        /// Allowed scopes, space- or comma-separated [default: openid profile email roles offline_access].
        #[arg(long, num_args = 1.., value_name = "SCOPE")]
        scopes: Vec<String>,
        /// A role of the client itself, carried by its client_credentials tokens (repeatable).
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// Do not ask users for consent (first-party apps).
        #[arg(long)]
        skip_consent: bool,
        /// Demand a sign-in with two factors for this client (`acr` urn:tessera:acr:mfa):
        /// users without a second factor are asked to set one up.
        #[arg(long)]
        require_mfa: bool,
        /// ID token signing algorithm: RS256, ES256 or EdDSA [default: RS256].
        #[arg(long, value_name = "ALG")]
        id_token_alg: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// List clients.
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Show one client.
    Show {
        /// client_id.
        id: String,
        #[command(flatten)]
        output: Output,
    },
    /// Replace a confidential client's secret; prints the new one once.
    RotateSecret {
        /// client_id.
        id: String,
        #[command(flatten)]
        output: Output,
    },
    /// Delete a client with its grants and consents.
    Delete {
        /// client_id.
        id: String,
    },
}

fn split_words(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split([' ', ',']))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

fn client_json(c: &Client) -> serde_json::Value {
    json!({
        "client_id": c.id,
        "name": c.name,
        "public": c.public,
        "redirect_uris": c.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "post_logout_redirect_uris": c.post_logout_redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "scopes": c.scopes.iter().collect::<Vec<_>>(),
        "roles": c.roles,
        "skip_consent": c.skip_consent,
        "require_mfa": c.require_mfa,
        "id_token_alg": c.id_token_alg.as_str(),
        "created_at": c.created_at,
    })
}

fn print_client(c: &Client) {
    let list = |items: Vec<&str>| items.join(" ");
    say!("client_id:     {}", c.id);
    say!("name:          {}", c.name);
    say!(
        "type:          {}",
        if c.public { "public" } else { "confidential" }
    );
    say!(
        "redirect URIs: {}",
        list(c.redirect_uris.iter().map(|u| u.as_str()).collect())
    );
    say!(
        "post-logout:   {}",
        list(
            c.post_logout_redirect_uris
                .iter()
                .map(|u| u.as_str())
                .collect()
        )
    );
    say!(
        "grant types:   {}",
        list(c.grant_types.iter().map(|g| g.as_str()).collect())
    );
    say!("scopes:        {}", c.scopes);
    say!("roles:         {}", c.roles.join(" "));
    say!("skip consent:  {}", c.skip_consent);
    say!("require MFA:   {}", c.require_mfa);
    say!("id token alg:  {}", c.id_token_alg.as_str());
}

/// Runs a `tessera client …` command.
pub async fn run(command: ClientCommand, services: &Services) -> anyhow::Result<()> {
    let cli = Caller::cli();
    match command {
        ClientCommand::Add {
            name,
            client_id,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            grant_types,
            scopes,
            roles,
            skip_consent,
            require_mfa,
            id_token_alg,
            output,
        } => {
            let spec = ClientSpec {
                client_id,
                name,
                redirect_uris,
                post_logout_redirect_uris,
                public,
                grant_types,
                scopes: split_words(&scopes),
                roles,
                skip_consent,
                require_mfa,
                id_token_alg,
            };
            let registered = services.register_client(&cli, spec).await?;
            if output.json {
                let mut value = client_json(&registered.client);
                value["client_secret"] = json!(registered.secret);
                print_json(&value);
            } else {
                print_client(&registered.client);
                if let Some(secret) = &registered.secret {
                    say!("client_secret: {secret}   (shown once: store it now)");
                }
            }
        }
        ClientCommand::List { output } => {
            let clients = services.list_clients().await?;
            if output.json {
                print_json(&json!(clients.iter().map(client_json).collect::<Vec<_>>()));
            } else {
                say!("{:<34} {:<13} NAME", "CLIENT_ID", "TYPE");
                for c in &clients {
                    let kind = if c.public { "public" } else { "confidential" };
                    say!("{:<34} {:<13} {}", c.id, kind, c.name);
                }
            }
        }
        ClientCommand::Show { id, output } => {
            let client = services.client(&id).await?;
            if output.json {
                print_json(&client_json(&client));
            } else {
                print_client(&client);
            }
        }
        ClientCommand::RotateSecret { id, output } => {
            let secret = services.rotate_client_secret(&cli, &id).await?;
            if output.json {
                print_json(&json!({ "client_id": id, "client_secret": secret }));
            } else {
                say!(
                    "new client_secret for {id}: {secret}   (shown once; the old secret no longer works)"
                );
            }
        }
        ClientCommand::Delete { id } => {
            services.delete_client(&cli, &id).await?;
            say!("deleted client {id}");
        }
    }
    Ok(())
}
