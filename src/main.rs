//! The `tessera` binary: parse the command line, set up logging, run the command.

use std::process::ExitCode;

use clap::Parser;
use tessera::cli::{self, Cli};
use tessera::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Logs go to stderr. The server logs what happens at info; administration commands only
/// warnings, so their output stays what they print (their changes are in the audit log).
fn init_logging(format: LogFormat, serving: bool) {
    let default = if serving { "info,sqlx=warn" } else { "warn" };
    let filter = EnvFilter::try_from_env("TESSERA_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default));
    // Colour codes only for a person at a terminal, never into files or journald.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tessera::auth::password::keep_large_allocations_returnable();
    let cli = Cli::parse();
    let config = match cli::load_config(&cli) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let serving = matches!(
        cli.command,
        None | Some(cli::Command::Serve) | Some(cli::Command::Migrate)
    );
    init_logging(config.settings.log_format, serving);
    for name in tessera::config::unknown_variables(std::env::vars()) {
        tracing::warn!(variable = %name, "{name} names no setting and is ignored; `tessera config check` shows the settings");
    }
    match cli::run(cli, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
