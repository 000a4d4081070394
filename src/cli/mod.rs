//! The command line: `serve`, `migrate`, `config check`, and the `user`, `role`, `client` and
//! `keys` administration commands. Every command that creates something can answer in JSON.

/// Prints a line on standard output. A closed pipe (`tessera … | head -1`) ends the output
/// quietly instead of panicking, as `println!` would.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod audit;
pub mod bootstrap;
mod clients;
mod keys;
mod scopes;
mod upstreams;
mod users;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, Settings};

/// Tessera: a self-hosted OpenID Connect provider.
///
/// Configuration comes from built-in defaults, then tessera.toml (--config PATH, else
/// ./tessera.toml when present), then TESSERA_* environment variables (nested settings use a
/// double underscore, e.g. TESSERA_PASSWORD__MEMORY_KIB). Run `tessera config check` to see
/// the effective configuration.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about, long_about)]
pub struct Cli {
    /// Configuration file (default: ./tessera.toml when present).
    #[arg(long, global = true, value_name = "PATH", env = "TESSERA_CONFIG")]
    pub config: Option<PathBuf>,

    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve until SIGINT/SIGTERM (graceful shutdown). The default.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Manage roles (admin, user and guest exist from the start).
    #[command(subcommand)]
    Role(users::RoleCommand),
    /// Manage OAuth clients (the applications that sign users in through Tessera).
    #[command(subcommand)]
    Client(clients::ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Manage the scope catalogue (built-in and custom scopes).
    #[command(subcommand)]
    Scope(scopes::ScopeCommand),
    /// Manage upstream OpenID Connect providers people may sign in with.
    #[command(subcommand)]
    Upstream(upstreams::UpstreamCommand),
    /// Read the audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Database upkeep.
    #[command(subcommand)]
    Db(DbCommand),
}

/// `tessera db …`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Write a consistent copy of the SQLite database to a new file while Tessera keeps
    /// serving (VACUUM INTO; the copy is readable only by its owner). Restore by pointing
    /// database_url at the copy. For PostgreSQL use pg_dump.
    Backup {
        /// The new file to write.
        path: std::path::PathBuf,
    },
}

/// `tessera config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective settings (secrets redacted).
    Check,
}

/// `--json` for commands that print something a script may read.
#[derive(Debug, Clone, Copy, Args)]
pub struct Output {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Loads and validates the configuration for `cli`.
pub fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let settings = Settings::load(cli.config.as_deref(), std::env::vars())?;
    Ok(settings.validate()?)
}

/// Runs a parsed command line.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    let clock: SharedClock = std::sync::Arc::new(SystemClock);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = crate::startup::Application::build(config, clock).await?;
            app.run_until_stopped(crate::startup::shutdown_signal())
                .await?;
            Ok(())
        }
        Command::Migrate => {
            crate::startup::open_database(&config).await?;
            say!("migrations applied");
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            for warning in config.warnings() {
                eprintln!("warning: {warning}");
            }
            say!("# configuration is valid\n{}", config.redacted_toml());
            Ok(())
        }
        command => {
            let services = crate::startup::open_services(config, clock).await?;
            let result = match command {
                Command::User(command) => users::run_user(command, &services).await,
                Command::Role(command) => users::run_role(command, &services).await,
                Command::Client(command) => clients::run(command, &services).await,
                Command::Keys(command) => keys::run(command, &services).await,
                Command::Scope(command) => scopes::run(command, &services).await,
                Command::Upstream(command) => upstreams::run(command, &services).await,
                Command::Audit(command) => audit::run(command, &services).await,
                Command::Db(DbCommand::Backup { path }) => {
                    services.back_up(&path).await.map_err(anyhow::Error::from)?;
                    say!("backed up to {}", path.display());
                    Ok(())
                }
                Command::Serve | Command::Migrate | Command::Config(_) => Ok(()),
            };
            services.db().close().await;
            result
        }
    }
}

/// Prints a JSON value on one line.
fn print_json(value: &serde_json::Value) {
    say!("{value}");
}
