//! The `auditlog` binary: command-line parsing, configuration loading, and
//! exit codes (0 ok, 1 failure, 2 bad usage — including a bad configuration).

mod bundle;
mod commands;
mod config;
mod jobs;
mod keys;
mod output;
mod progress;
mod sequencing;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "auditlog", version, about = "Audit logging for research-data repositories", propagate_version = true)]
struct Cli {
    /// Configuration file (TOML). Default: ./auditlog.toml when it exists.
    #[arg(long, global = true, env = "AUDITLOG_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

/// Output format of commands that print results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Ndjson,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (writes a first configuration when there is none).
    Serve(commands::serve::Args),
    /// Create or upgrade the database schema.
    Migrate,
    /// Store events from an NDJSON file (one event per line; `-` reads stdin).
    Ingest(commands::ingest::Args),
    /// Search events with the query language.
    Search(commands::search::Args),
    /// Show one event.
    Show(commands::show::Args),
    /// Work with the registered actions.
    Actions {
        #[command(subcommand)]
        command: commands::actions::Command,
    },
    /// Seed a realistic demo instance through the drafts/records demo module.
    Demo(commands::demo::Args),
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: commands::token::Command,
    },
    /// Export every event a query matches (NDJSON or CSV), optionally with
    /// inclusion proofs for offline verification.
    Export(commands::export::Args),
    /// Import events: NDJSON exports, or rows of the reference's
    /// `audit_logs_metadata` table as JSON lines.
    Import(commands::import::Args),
    /// Check the transparency log: the database, a server (as a monitor), or an export (offline).
    Verify(commands::verify::Args),
    /// The checkpoint signing key.
    Key {
        #[command(subcommand)]
        command: commands::key::Command,
    },
    /// Delete expired events under the retention policy.
    Retention {
        #[command(subcommand)]
        command: commands::retention::Command,
    },
}

/// A failure that is the user's to fix (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A command's verdict when it ran but found problems (exit code 1, after
/// it has printed them).
#[derive(Debug)]
pub struct Failed;

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed")
    }
}

impl std::error::Error for Failed {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Failed>() => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.is::<UsageError>() || e.is::<auditlog_core::config::ConfigError>() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let loaded = config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve(args) => commands::serve::run(cli.config.as_deref(), loaded, args).await,
        Command::Token { command } => commands::token::run(&loaded, command),
        Command::Migrate => commands::migrate::run(&loaded).await,
        Command::Ingest(args) => commands::ingest::run(&loaded, args).await,
        Command::Search(args) => commands::search::run(&loaded, args).await,
        Command::Show(args) => commands::show::run(&loaded, args).await,
        Command::Actions { command } => commands::actions::run(&loaded, command),
        Command::Demo(args) => commands::demo::run(&loaded, args).await,
        Command::Export(args) => commands::export::run(&loaded, args).await,
        Command::Import(args) => commands::import::run(&loaded, args).await,
        Command::Retention { command } => commands::retention::run(&loaded, command).await,
        Command::Verify(args) => commands::verify::run(&loaded, args).await,
        Command::Key { command } => commands::key::run(&loaded, command),
    }
}
