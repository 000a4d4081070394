//! `tessera user …` and `tessera role …`.

use std::io::BufRead;

use clap::Subcommand;
use serde_json::json;

use super::{Output, print_json};
use crate::auth::secret;
use crate::domain::User;
use crate::services::accounts::NewAccount;
use crate::services::{Caller, Services};

/// `tessera user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. Without --password-stdin a strong password is generated and printed once.
    Add {
        /// Username (3-64 letters, digits, '.', '_', '-').
        #[arg(long)]
        username: String,
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// A role to give (repeatable), e.g. --role admin --role user.
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        output: Output,
    },
    /// List users.
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Set a user's password, read from the first line of standard input.
    /// Invite someone by e-mail: prints the sign-up link and mails it (works in every
    /// registration mode; in `invite` mode it is the only way to sign up).
    Invite {
        /// The address to invite.
        #[arg(long)]
        email: String,
        /// Roles the new account gets (default: registration.default_roles).
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        #[command(flatten)]
        output: Output,
    },
    SetPassword {
        /// Username or e-mail.
        user: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Replace a user's roles (none given: remove all).
    SetRoles {
        /// Username or e-mail.
        user: String,
        /// The new roles.
        roles: Vec<String>,
    },
    /// Disable a user: sign-in refused, sessions ended, tokens revoked.
    Disable {
        /// Username or e-mail.
        user: String,
    },
    /// Enable a disabled user.
    Enable {
        /// Username or e-mail.
        user: String,
    },
    /// Lift a sign-in lock placed after failed attempts, and forget those attempts. Locks
    /// appear in `tessera audit list --type account_locked`.
    Unlock {
        /// Username or e-mail.
        user: String,
    },
    /// Remove a user's second factor (TOTP and recovery codes), for someone who lost their
    /// authenticator app. The user is told by mail.
    ResetMfa {
        /// Username or e-mail.
        user: String,
    },
    /// Delete a user and everything that belongs to them.
    Delete {
        /// Username or e-mail.
        user: String,
    },
}

/// `tessera role …`.
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Add a custom role.
    Add {
        /// Role name (lower-case letters, digits, '_', '-', ':').
        name: String,
        /// What the role is for.
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        output: Output,
    },
    /// List roles.
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Delete a role (users and clients lose it).
    Delete {
        /// Role name.
        name: String,
    },
}

fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        anyhow::bail!("no password on standard input");
    }
    Ok(password)
}

fn user_json(user: &User) -> serde_json::Value {
    json!({
        "id": user.id, "username": user.username, "email": user.email, "name": user.name,
        "roles": user.roles, "enabled": user.enabled, "created_at": user.created_at,
    })
}

/// Runs a `tessera user …` command.
pub async fn run_user(command: UserCommand, services: &Services) -> anyhow::Result<()> {
    let cli = Caller::cli();
    match command {
        UserCommand::Add {
            username,
            email,
            name,
            roles,
            password_stdin,
            output,
        } => {
            let (password, generated) = if password_stdin {
                (read_password_line()?, false)
            } else {
                (secret::generate(), true)
            };
            // Without --role, an account gets what a self-registered one would.
            let roles = if roles.is_empty() {
                services
                    .config()
                    .settings
                    .registration
                    .default_roles
                    .clone()
            } else {
                roles
            };
            let account = NewAccount {
                username,
                email,
                name,
                password: password.clone(),
                roles,
            };
            let user = services.create_user(&cli, account).await?;
            if output.json {
                let mut value = user_json(&user);
                if generated {
                    value["password"] = json!(password);
                }
                print_json(&value);
            } else {
                say!(
                    "created user {} ({}) with roles [{}]",
                    user.username,
                    user.id,
                    user.roles.join(", ")
                );
                if generated {
                    say!("generated password (shown once): {password}");
                }
            }
        }
        UserCommand::List { output } => {
            let users = services.list_users().await?;
            if output.json {
                print_json(&json!(users.iter().map(user_json).collect::<Vec<_>>()));
            } else {
                say!("{:<24} {:<32} {:<8} ROLES", "USERNAME", "EMAIL", "ENABLED");
                for u in &users {
                    say!(
                        "{:<24} {:<32} {:<8} {}",
                        u.username,
                        u.email,
                        u.enabled,
                        u.roles.join(",")
                    );
                }
            }
        }
        UserCommand::Invite {
            email,
            roles,
            output,
        } => {
            let link = services.invite(&cli, &email, &roles).await?;
            if output.json {
                print_json(&json!({ "email": email, "link": link }));
            } else {
                say!("invited {email}; the link (also mailed, valid 7 days): {link}");
            }
        }
        UserCommand::SetPassword { user, .. } => {
            let user = services
                .set_password(&cli, &user, read_password_line()?)
                .await?;
            say!(
                "password changed for {} (sessions ended, tokens revoked)",
                user.username
            );
        }
        UserCommand::SetRoles { user, roles } => {
            let user = services.set_roles(&cli, &user, &roles).await?;
            say!(
                "{} now has roles [{}]",
                user.username,
                user.roles.join(", ")
            );
        }
        UserCommand::Disable { user } => {
            let user = services.set_enabled(&cli, &user, false).await?;
            say!(
                "disabled {} (sessions ended, tokens revoked)",
                user.username
            );
        }
        UserCommand::Enable { user } => {
            let user = services.set_enabled(&cli, &user, true).await?;
            say!("enabled {}", user.username);
        }
        UserCommand::Unlock { user } => {
            let (user, until) = services.unlock_user(&cli, &user).await?;
            let name = user.username;
            match until {
                Some(until) => say!(
                    "unlocked {name} (it was locked until {})",
                    crate::clock::format_time(until)
                ),
                None => say!("{name} was not locked; its failed attempts are forgotten"),
            }
        }
        UserCommand::ResetMfa { user } => {
            let (user, had) = services.reset_mfa(&cli, &user).await?;
            let name = user.username;
            if had {
                say!("removed the second factor of {name} (they were mailed)");
            } else {
                say!("{name} had no second factor");
            }
        }
        UserCommand::Delete { user } => {
            let user = services.delete_user(&cli, &user).await?;
            say!("deleted {}", user.username);
        }
    }
    Ok(())
}

/// Runs a `tessera role …` command.
pub async fn run_role(command: RoleCommand, services: &Services) -> anyhow::Result<()> {
    let cli = Caller::cli();
    match command {
        RoleCommand::Add {
            name,
            description,
            output,
        } => {
            let role = services.create_role(&cli, &name, &description).await?;
            if output.json {
                print_json(&json!({ "name": role.name, "description": role.description }));
            } else {
                say!("added role {}", role.name);
            }
        }
        RoleCommand::List { output } => {
            let roles = services.list_roles().await?;
            if output.json {
                print_json(&json!(
                    roles
                        .iter()
                        .map(|r| json!({ "name": r.name, "description": r.description }))
                        .collect::<Vec<_>>()
                ));
            } else {
                for r in roles {
                    say!("{:<20} {}", r.name, r.description);
                }
            }
        }
        RoleCommand::Delete { name } => {
            let (users, clients) = services.delete_role(&cli, &name).await?;
            say!("deleted role {name}: {users} user(s) and {clients} client(s) lost it");
        }
    }
    Ok(())
}
