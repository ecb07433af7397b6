//! `auditlog demo`: seed a realistic instance through the demo records
//! module (each action in its own unit of work).

use std::time::Instant;

use auditlog_demo::{DemoOptions, demo_audit_log, demo_users, generate};

use crate::config::Loaded;
use crate::progress::Progress;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of events to generate.
    #[arg(long, default_value_t = 10_000)]
    pub events: u64,
    /// Number of simulated users.
    #[arg(long, default_value_t = 300)]
    pub users: usize,
    /// Random seed (a fresh one by default; give one to reproduce an instance).
    #[arg(long)]
    pub seed: Option<u64>,
}

pub async fn run(loaded: &Loaded, args: Args) -> anyhow::Result<()> {
    let store = std::sync::Arc::new(loaded.open_sqlite("demo")?);
    let signer = crate::sequencing::signer_for_writes(loaded)?;
    let seed = args.seed.unwrap_or_else(rand::random);
    let opts = DemoOptions { events: args.events, users: args.users, seed, ..Default::default() };
    let users = demo_users(opts.users, opts.seed);
    let audit = demo_audit_log(&loaded.config, &users)?;
    if !audit.is_enabled() {
        anyhow::bail!("audit logging is disabled (AUDIT_LOGS_ENABLED = false): the demo would log nothing");
    }
    let started = Instant::now();
    let location = store.path().display().to_string();
    let writer = store.clone();
    let report = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let store = writer;
        let mut conn = store.connect()?;
        let mut progress = Progress::new("demo", opts.events);
        let report = generate(&mut conn, &audit, &opts, |n| progress.set(n))?;
        progress.finish();
        Ok(report)
    })
    .await??;
    let round = crate::sequencing::integrate_now(&signer, store).await?;
    let by_action: Vec<String> = report.by_action.iter().map(|(a, n)| format!("{a} {n}")).collect();
    println!(
        "demo: logged {} events ({}) by {} users on {} records into {location} in {:.1}s (seed {seed}); transparency log at {} leaves",
        report.events,
        by_action.join(", "),
        report.users,
        report.records,
        started.elapsed().as_secs_f64(),
        round.size
    );
    Ok(())
}
