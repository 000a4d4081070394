//! `tessera client …`.

use clap::Subcommand;
use serde_json::json;

use super::{Output, print_json};
use crate::domain::Client;
use crate::services::clients::{ClientOptions, ClientSpec, ClientView};
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
        /// Let this confidential client leave PKCE out (RFC 9700 recommends against it; the
        /// choice is audited and warned about at every start).
        #[arg(long)]
        allow_no_pkce: bool,
        /// A resource server: may introspect tokens issued to other clients.
        #[arg(long)]
        introspect_any: bool,
        /// Authorization requests must be pushed first (POST /par, RFC 9126).
        #[arg(long)]
        require_par: bool,
        /// Access tokens must be bound to a DPoP key (RFC 9449).
        #[arg(long)]
        require_dpop: bool,
        /// A resource indicator (RFC 8707) the client's tokens may be minted for (repeatable).
        #[arg(long = "resource", value_name = "URI")]
        resources: Vec<String>,
        /// Where logout tokens are POSTed when a user's session ends (https; http only for
        /// loopback hosts).
        #[arg(long, value_name = "URI")]
        backchannel_logout_uri: Option<String>,
        /// Logout tokens must carry the session id (`sid`).
        #[arg(long)]
        backchannel_logout_session_required: bool,
        /// A file with the client's public keys (a JWKS): it authenticates with
        /// private_key_jwt instead of a secret.
        #[arg(long, value_name = "PATH", conflicts_with = "jwks_uri")]
        jwks_file: Option<std::path::PathBuf>,
        /// Where the client publishes its public keys (https, or http on loopback): it
        /// authenticates with private_key_jwt instead of a secret.
        #[arg(long, value_name = "URI")]
        jwks_uri: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Change the settings of a client; those not given stay as they are.
    Update {
        /// client_id.
        id: String,
        /// A new name shown on the consent page.
        #[arg(long)]
        name: Option<String>,
        /// Replace the redirect URIs with these (repeatable).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// Replace the post-logout redirect URIs with these (repeatable).
        #[arg(
            long = "post-logout-redirect-uri",
            value_name = "URI",
            conflicts_with = "no_post_logout_redirect_uris"
        )]
        post_logout_redirect_uris: Vec<String>,
        /// Remove every post-logout redirect URI.
        #[arg(long)]
        no_post_logout_redirect_uris: bool,
        /// Replace the grant types (comma-separated).
        #[arg(long, value_delimiter = ',', value_name = "LIST")]
        grant_types: Vec<String>,
        /// Replace the allowed scopes (space- or comma-separated).
        #[arg(long, num_args = 1.., value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Replace the client's own roles (repeatable).
        #[arg(long = "role", value_name = "ROLE", conflicts_with = "no_roles")]
        roles: Vec<String>,
        /// Remove every role of the client.
        #[arg(long)]
        no_roles: bool,
        /// Do not ask users for consent.
        #[arg(long, value_name = "BOOL")]
        skip_consent: Option<bool>,
        /// Demand a sign-in with two factors for this client.
        #[arg(long, value_name = "BOOL")]
        require_mfa: Option<bool>,
        /// ID token signing algorithm: RS256, ES256 or EdDSA.
        #[arg(long, value_name = "ALG")]
        id_token_alg: Option<String>,
        /// Let this confidential client leave PKCE out (audited, warned about at start).
        #[arg(long, value_name = "BOOL")]
        allow_no_pkce: Option<bool>,
        /// A resource server: may introspect tokens issued to other clients.
        #[arg(long, value_name = "BOOL")]
        introspect_any: Option<bool>,
        /// Authorization requests must be pushed first.
        #[arg(long, value_name = "BOOL")]
        require_par: Option<bool>,
        /// Access tokens must be bound to a DPoP key.
        #[arg(long, value_name = "BOOL")]
        require_dpop: Option<bool>,
        /// Replace the resource indicators with these (repeatable).
        #[arg(long = "resource", value_name = "URI", conflicts_with = "no_resources")]
        resources: Vec<String>,
        /// Remove every resource indicator.
        #[arg(long)]
        no_resources: bool,
        /// Set the back-channel logout URI ("" removes it).
        #[arg(long, value_name = "URI")]
        backchannel_logout_uri: Option<String>,
        /// Logout tokens must carry the session id.
        #[arg(long, value_name = "BOOL")]
        backchannel_logout_session_required: Option<bool>,
        /// A file with the client's public keys (a JWKS): it authenticates with
        /// private_key_jwt instead of a secret.
        #[arg(long, value_name = "PATH", conflicts_with = "jwks_uri")]
        jwks_file: Option<std::path::PathBuf>,
        /// Where the client publishes its public keys (https, or http on loopback): it
        /// authenticates with private_key_jwt instead of a secret.
        #[arg(long, value_name = "URI")]
        jwks_uri: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Make an initial access token for dynamic registration (POST /connect/register).
    InitialToken {
        /// How long it is good for (30m, 1h, 7d).
        #[arg(long, default_value = "1h", value_parser = super::audit::parse_duration)]
        expires: i64,
        /// How many clients it may register [default: any number until it expires].
        #[arg(long)]
        uses: Option<i64>,
        /// Clients registered with it may use the client_credentials grant.
        #[arg(long)]
        allow_client_credentials: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Switch a client off: it can no longer sign anyone in or get tokens.
    Disable {
        /// client_id.
        id: String,
    },
    /// Switch a disabled client on again.
    Enable {
        /// client_id.
        id: String,
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

/// The key set in `path`, if one is given.
fn read_jwks(path: Option<&std::path::Path>) -> anyhow::Result<Option<String>> {
    path.map(|p| {
        std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
    })
    .transpose()
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
    serde_json::to_value(ClientView::from(c)).unwrap_or_default()
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
    say!(
        "PKCE:          {}",
        if c.requires_pkce() {
            "required"
        } else {
            "optional (opted out)"
        }
    );
    say!("introspect any: {}", c.introspect_any);
    say!("require PAR:   {}", c.require_par);
    say!("require DPoP:  {}", c.require_dpop);
    say!("resources:     {}", c.resources.join(" "));
    say!(
        "back-channel logout: {}{}",
        c.backchannel_logout_uri
            .as_ref()
            .map(|u| u.as_str())
            .unwrap_or("-"),
        if c.backchannel_logout_session_required {
            " (sid required)"
        } else {
            ""
        }
    );
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
            allow_no_pkce,
            introspect_any,
            require_par,
            require_dpop,
            resources,
            backchannel_logout_uri,
            backchannel_logout_session_required,
            jwks_file,
            jwks_uri,
            output,
        } => {
            let options = ClientOptions {
                jwks: read_jwks(jwks_file.as_deref())?,
                jwks_uri,
                allow_no_pkce: Some(allow_no_pkce),
                introspect_any: Some(introspect_any),
                require_par: Some(require_par),
                require_dpop: Some(require_dpop),
                resources: Some(resources),
                backchannel_logout_uri,
                backchannel_logout_session_required: Some(backchannel_logout_session_required),
                ..ClientOptions::default()
            };
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
                options,
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
        ClientCommand::Update {
            id,
            name,
            redirect_uris,
            post_logout_redirect_uris,
            no_post_logout_redirect_uris,
            grant_types,
            scopes,
            roles,
            no_roles,
            skip_consent,
            require_mfa,
            id_token_alg,
            allow_no_pkce,
            introspect_any,
            require_par,
            require_dpop,
            resources,
            no_resources,
            backchannel_logout_uri,
            backchannel_logout_session_required,
            jwks_file,
            jwks_uri,
            output,
        } => {
            let replaced =
                |flag: bool, values: Vec<String>| (flag || !values.is_empty()).then_some(values);
            let options = ClientOptions {
                name,
                redirect_uris: replaced(false, redirect_uris),
                post_logout_redirect_uris: replaced(
                    no_post_logout_redirect_uris,
                    post_logout_redirect_uris,
                ),
                grant_types: replaced(false, grant_types),
                scopes: replaced(false, split_words(&scopes)),
                roles: replaced(no_roles, roles),
                skip_consent,
                require_mfa,
                id_token_alg,
                jwks: read_jwks(jwks_file.as_deref())?,
                jwks_uri,
                allow_no_pkce,
                introspect_any,
                require_par,
                require_dpop,
                resources: replaced(no_resources, resources),
                backchannel_logout_uri,
                backchannel_logout_session_required,
            };
            let client = services.update_client(&cli, &id, options).await?;
            if output.json {
                print_json(&client_json(&client));
            } else {
                print_client(&client);
            }
        }
        ClientCommand::InitialToken {
            expires,
            uses,
            allow_client_credentials,
            output,
        } => {
            let (token, expires_at) = services
                .create_initial_token(&cli, expires, uses, allow_client_credentials)
                .await?;
            if output.json {
                print_json(&json!({ "token": token, "expires_at": expires_at, "uses": uses }));
            } else {
                say!("initial access token: {token}   (shown once)");
                say!("send it as `Authorization: Bearer …` to POST /connect/register");
            }
        }
        ClientCommand::Disable { id } => {
            services.set_client_enabled(&cli, &id, false).await?;
            say!("disabled client {id}");
        }
        ClientCommand::Enable { id } => {
            services.set_client_enabled(&cli, &id, true).await?;
            say!("enabled client {id}");
        }
        ClientCommand::List { output } => {
            let clients = services.list_clients().await?;
            if output.json {
                print_json(&json!(clients.iter().map(client_json).collect::<Vec<_>>()));
            } else {
                say!("{:<34} {:<13} {:<16} NAME", "CLIENT_ID", "TYPE", "STATUS");
                for c in &clients {
                    let kind = if c.public { "public" } else { "confidential" };
                    let status = match (c.enabled, c.self_registered) {
                        (false, _) => "disabled",
                        (true, true) => "self-registered",
                        (true, false) => "",
                    };
                    say!("{:<34} {:<13} {:<16} {}", c.id, kind, status, c.name);
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
