//! `auditlog serve`: the HTTP server. With no configuration file at all it
//! writes one (logging on, the embedded store, a first admin token) so that
//! `auditlog serve` just works; `--demo` seeds an empty store first.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use auditlog_core::Role;
use auditlog_server::AppState;
use auditlog_store::AuditLogService;

use crate::commands::{demo, token};
use crate::config::{self, DEFAULT_PATH, Loaded};
use crate::jobs;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seed the demo instance first when the store is empty.
    #[arg(long)]
    demo: bool,
    /// Listen here instead of the configured `bind` (e.g. 127.0.0.1:0 for any free port).
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
}

const GENERATED: &str = "# auditlog configuration, written by `auditlog serve` because none was found.
# Every key is described in docs/CONFIGURATION.md.
AUDIT_LOGS_ENABLED = true
database_url = \"sqlite://./auditlog-data/auditlog.db\"
bind = \"127.0.0.1:5000\"
base_url = \"http://127.0.0.1:5000\"
";

/// Writes the generated configuration with a first token (admin and system
/// roles) and keeps the token in a file only its owner can read.
fn generate(path: &Path) -> anyhow::Result<()> {
    token::write_private(path, GENERATED)?;
    let token = token::add_token(path, "admin", &[Role::Admin, Role::System])?;
    let dir = Path::new("auditlog-data");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let token_file = dir.join("admin.token");
    token::write_private(&token_file, &format!("{token}\n"))?;
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    println!("no configuration found: wrote {}", abs(path).display());
    println!("first admin token (roles admin, system) written to {}:", abs(&token_file).display());
    println!("  {token}");
    Ok(())
}

fn init_logging(format: auditlog_core::config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUDITLOG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        auditlog_core::config::LogFormat::Json => builder.json().try_init(),
        auditlog_core::config::LogFormat::Text => builder.try_init(),
    };
}

pub async fn run(explicit_config: Option<&Path>, loaded: Loaded, args: Args) -> anyhow::Result<()> {
    let loaded = if loaded.path.is_none() && explicit_config.is_none() {
        generate(Path::new(DEFAULT_PATH))?;
        config::load(None)?
    } else {
        loaded
    };
    init_logging(loaded.config.log_format);
    // Database and background jobs (migrations, partitions, retention): jobs.rs.
    // The sequencer wakes on each commit of the server's own inserts.
    let commits = Arc::new(tokio::sync::Notify::new());
    let database = loaded.open_database_waking(Some(commits.clone()))?;
    jobs::prepare(&database, &loaded.config).await?;
    let store = database.store();
    if args.demo {
        if store.count().await? == 0 {
            demo::run(&loaded, demo::Args { events: 10_000, users: 300, seed: None }).await?;
        } else {
            println!("demo: the store already holds events; not seeding");
        }
    }
    let audit = loaded.audit_log()?;
    let mut config = loaded.config.clone();
    let bind = args.bind.as_deref().unwrap_or(&config.bind);
    let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind}"))?;
    let addr = listener.local_addr()?;
    // Links point at the address actually bound unless a base_url was configured.
    if config.base_url == auditlog_core::Config::default().base_url {
        config.base_url = format!("http://{addr}");
    }
    // The transparency log: its key (generated on first start), the
    // sequencer, and the admin page's view of it.
    let signer = Arc::new(crate::keys::load_or_create(&loaded)?);
    let service = AuditLogService::new(audit, store.clone()).with_log_key(signer.verifier());
    let integrity = auditlog_server::LogIntegrity::new(service.clone());
    let state = AppState::new(Arc::new(config), service).with_integrity(Arc::new(integrity));
    println!("listening on http://{addr}");
    tracing::info!(%addr, store = %database.location(), "auditlog serving");
    let background = jobs::Jobs::start(&database, &loaded.config);
    let sequencer = crate::sequencing::start(signer, store, commits);
    auditlog_server::serve(listener, state, auditlog_server::shutdown_signal()).await?;
    background.stop().await;
    sequencer.stop().await;
    tracing::info!("stopped");
    Ok(())
}
