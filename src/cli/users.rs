//! `tessera user …` and `tessera role …`.

use std::io::BufRead;

use clap::Subcommand;
use serde_json::json;

use super::{Output, print_json};
use crate::auth::accounts::{self, AccountError, NewAccount};
use crate::auth::password::PasswordHasher;
use crate::auth::secret;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::domain::RoleName;
use crate::store::{Db, UserRow};

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

fn user_json(user: &UserRow, roles: &[String]) -> serde_json::Value {
    json!({
        "id": user.id, "username": user.username, "email": user.email, "name": user.name,
        "roles": roles, "enabled": user.is_enabled(), "created_at": user.created_at,
    })
}

async fn open(config: &Config) -> anyhow::Result<Db> {
    crate::startup::open_database(config).await
}

/// Runs a `user` command.
pub async fn run_user(
    command: UserCommand,
    config: &Config,
    clock: SharedClock,
) -> anyhow::Result<()> {
    let db = open(config).await?;
    let now = clock.now();
    match command {
        UserCommand::Add {
            username,
            email,
            name,
            roles,
            password_stdin,
            output,
        } => {
            let hasher = PasswordHasher::new(&config.settings.password)?;
            let (password, generated) = if password_stdin {
                (read_password_line()?, false)
            } else {
                (secret::generate(), true)
            };
            let account = NewAccount {
                username,
                email,
                name,
                password: password.clone(),
                roles,
            };
            let user = accounts::create(&db, &hasher, account, now).await?;
            let roles = db.user_roles(&user.id).await?;
            if output.json {
                let mut value = user_json(&user, &roles);
                if generated {
                    value["password"] = json!(password);
                }
                print_json(&value);
            } else {
                println!(
                    "created user {} ({}) with roles [{}]",
                    user.username,
                    user.id,
                    roles.join(", ")
                );
                if generated {
                    println!("generated password (shown once): {password}");
                }
            }
        }
        UserCommand::List { output } => {
            let users = db.list_users().await?;
            if output.json {
                print_json(&json!(
                    users
                        .iter()
                        .map(|(u, r)| user_json(u, r))
                        .collect::<Vec<_>>()
                ));
            } else {
                println!("{:<24} {:<32} {:<8} ROLES", "USERNAME", "EMAIL", "ENABLED");
                for (u, r) in &users {
                    println!(
                        "{:<24} {:<32} {:<8} {}",
                        u.username,
                        u.email,
                        u.is_enabled(),
                        r.join(",")
                    );
                }
            }
        }
        UserCommand::SetPassword { user, .. } => {
            let hasher = PasswordHasher::new(&config.settings.password)?;
            accounts::set_password(&db, &hasher, &user, read_password_line()?, now).await?;
            println!("password changed for {user}");
        }
        UserCommand::SetRoles { user, roles } => {
            let found = accounts::find(&db, &user).await?;
            let roles = accounts::checked_roles(&db, &roles).await?;
            db.set_user_roles(&found.id, &roles, now).await?;
            println!("{} now has roles [{}]", found.username, roles.join(", "));
        }
        UserCommand::Disable { user } => {
            let found = accounts::find(&db, &user).await?;
            db.set_user_enabled(&found.id, false, now).await?;
            println!(
                "disabled {} (sessions ended, tokens revoked)",
                found.username
            );
        }
        UserCommand::Enable { user } => {
            let found = accounts::find(&db, &user).await?;
            db.set_user_enabled(&found.id, true, now).await?;
            println!("enabled {}", found.username);
        }
        UserCommand::Delete { user } => {
            let found = accounts::find(&db, &user).await?;
            db.delete_user(&found.id).await?;
            println!("deleted {}", found.username);
        }
    }
    Ok(())
}

/// Runs a `role` command.
pub async fn run_role(
    command: RoleCommand,
    config: &Config,
    clock: SharedClock,
) -> anyhow::Result<()> {
    let db = open(config).await?;
    match command {
        RoleCommand::Add {
            name,
            description,
            output,
        } => {
            let role = RoleName::parse(&name).map_err(AccountError::Invalid)?;
            db.insert_role(role.as_str(), description.trim(), clock.now())
                .await?;
            if output.json {
                print_json(&json!({ "name": role.as_str(), "description": description.trim() }));
            } else {
                println!("added role {role}");
            }
        }
        RoleCommand::List { output } => {
            let roles = db.list_roles().await?;
            if output.json {
                print_json(&json!(
                    roles
                        .iter()
                        .map(|r| json!({ "name": r.name, "description": r.description }))
                        .collect::<Vec<_>>()
                ));
            } else {
                for r in roles {
                    println!("{:<20} {}", r.name, r.description);
                }
            }
        }
        RoleCommand::Delete { name } => {
            if !db.delete_role(&name).await? {
                return Err(AccountError::NotFound(format!("role '{name}'")).into());
            }
            println!("deleted role {name}");
        }
    }
    Ok(())
}
