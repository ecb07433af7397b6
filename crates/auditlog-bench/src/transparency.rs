//! The transparency log's costs on SQLite, in one run:
//!
//! - ingest events/s with the log on (pending queue written with each
//!   event, a sequencer integrating and signing alongside) vs the same
//!   ingest with it off (the pending queue made a no-op, no sequencer);
//! - commit-to-integration latency p50/p99 under that ingest;
//! - the sequencer's integration rate (leaves/s) on a backlog;
//! - inclusion and consistency proof generation (store reads included) and
//!   verification at tree sizes 10^3, 10^6 and 10^7;
//! - storage per event of the log's tables.

use auditlog_store::TreeStore;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auditlog_core::{AuditLog, Config, EventInput, Identity, Timestamp};
use auditlog_merkle::{CompactRange, NoteSigner, verify_consistency, verify_inclusion};
use auditlog_store::service::LineOutcome;
use auditlog_store::sqlite::{SqliteOptions, SqliteStore};
use auditlog_store::{AuditLogService, Store};
use auditlog_transparency::{Sequencer, consistency_proof, inclusion_proof};
use rusqlite::params;

use crate::stats::{median, ms, percentile};
use crate::workload::ingest_line;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events ingested per run (log on, log off).
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// Concurrent ingest tasks, each sending 1,000-event batches.
    #[arg(long, default_value_t = 8)]
    tasks: usize,
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Tree sizes for the proof figures.
    #[arg(long, value_delimiter = ',', default_value = "1000,1000000,10000000")]
    sizes: Vec<u64>,
    /// Proofs generated and verified per size.
    #[arg(long, default_value_t = 1000)]
    proofs: usize,
    #[arg(long, default_value = "target/bench-data")]
    data: std::path::PathBuf,
    /// Events of the bulk-seeded store measured for storage (0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    storage_events: u64,
}

fn signer() -> Arc<NoteSigner> {
    Arc::new(NoteSigner::from_seed("bench.example/audit-logs", &[1; 32]).expect("key"))
}

/// Ingests `n` events from `tasks` tasks in 1,000-event batches; returns
/// events/s and, per batch, its ids and the moment its commit returned.
async fn ingest(
    service: &AuditLogService,
    n: usize,
    tasks: usize,
) -> anyhow::Result<(f64, Vec<(Vec<uuid::Uuid>, Timestamp)>)> {
    let batches = n / 1000;
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let service = service.clone();
        set.spawn(async move {
            let mut done = Vec::new();
            let mut b = t;
            while b < batches {
                let lines = (b * 1000..(b + 1) * 1000).map(|i| EventInput::from_json(&ingest_line(i))).collect();
                let out = service.create_many(&Identity::system(), lines, None).await?;
                let at = Timestamp::now();
                let ids = out
                    .into_iter()
                    .filter_map(|o| match o {
                        LineOutcome::Logged(e) => Some(e.id),
                        _ => None,
                    })
                    .collect();
                done.push((ids, at));
                b += tasks;
            }
            anyhow::Ok(done)
        });
    }
    let mut all = Vec::new();
    while let Some(r) = set.join_next().await {
        all.extend(r??);
    }
    Ok(((batches * 1000) as f64 / started.elapsed().as_secs_f64(), all))
}

fn audit() -> Arc<AuditLog> {
    Arc::new(AuditLog::from_config(&Config { enabled: true, ..Config::default() }).expect("actions"))
}

/// The log switched off: the pending queue swallows its inserts.
fn log_off(store: &SqliteStore) -> anyhow::Result<()> {
    store.connect()?.execute_batch(
        "DROP TABLE audit_pending;
         CREATE VIEW audit_pending AS SELECT 0 AS seq, NULL AS event_id, NULL AS created, NULL AS leaf_hash WHERE 0;
         CREATE TRIGGER audit_pending_off INSTEAD OF INSERT ON audit_pending BEGIN SELECT 1; END;",
    )?;
    Ok(())
}

async fn ingest_on_off(args: &Args) -> anyhow::Result<()> {
    let (mut on, mut off, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    let mut latencies: Vec<Duration> = Vec::new();
    let mut integration_rates = Vec::new();
    for round in 0..args.rounds {
        // Off.
        let dir = tempfile::tempdir()?;
        let store = Arc::new(SqliteStore::open(dir.path().join("off.db"), SqliteOptions::default())?);
        log_off(&store)?;
        let service = AuditLogService::new(audit(), store.clone());
        let (rate_off, _) = ingest(&service, args.events, args.tasks).await?;
        drop(service);

        // On, with the sequencer running alongside as in `serve`.
        let commits = Arc::new(tokio::sync::Notify::new());
        let opts = SqliteOptions { commits: Some(commits.clone()), ..SqliteOptions::default() };
        let store = Arc::new(SqliteStore::open(dir.path().join("on.db"), opts)?);
        let dyn_store: Arc<dyn Store> = store.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let sequencer = Sequencer::new(dyn_store.clone(), signer());
        let task = tokio::spawn(sequencer.run(commits, Duration::from_millis(200), async {
            let _ = stopped.await;
        }));
        let service = AuditLogService::new(audit(), dyn_store.clone());
        let (rate_on, batches) = ingest(&service, args.events, args.tasks).await?;
        let _ = stop.send(());
        task.await?;
        anyhow::ensure!(store.pending_count().await? == 0, "everything integrated");
        // Commit to integration, per event.
        let conn = store.connect()?;
        let mut stmt = conn.prepare("SELECT integrated FROM audit_leaves WHERE event_id = ?1")?;
        for (ids, committed) in &batches {
            for id in ids {
                let integrated: i64 = stmt.query_row([id.to_string()], |r| r.get(0))?;
                let us = (integrated - committed.as_micros()).max(0) as u64;
                latencies.push(Duration::from_micros(us));
            }
        }
        drop(stmt);

        // The sequencer alone on a backlog: the events of the off run's
        // size, inserted with no sequencer, then integrated.
        let backlog = Arc::new(SqliteStore::open(dir.path().join("backlog.db"), SqliteOptions::default())?);
        let bservice = AuditLogService::new(audit(), backlog.clone());
        ingest(&bservice, args.events, args.tasks).await?;
        let started = Instant::now();
        let round_out = Sequencer::new(backlog.clone(), signer()).round(true).await?;
        integration_rates.push(round_out.added as f64 / started.elapsed().as_secs_f64());

        eprintln!(
            "round {}: ingest log on {rate_on:.0}/s, off {rate_off:.0}/s; sequencer {:.0} leaves/s",
            round + 1,
            integration_rates[round]
        );
        on.push(rate_on);
        off.push(rate_off);
        ratio.push(rate_on / rate_off);
    }
    latencies.sort();
    println!(
        "ingest on SQLite, {} events per run in 1,000-event batches from {} tasks, medians of {} rounds:",
        args.events, args.tasks, args.rounds
    );
    println!(
        "  log on {:>8.0} events/s | log off {:>8.0} events/s | ratio {:.2} (target >= 0.80)",
        median(on),
        median(off),
        median(ratio)
    );
    println!(
        "  commit to integration: p50 {:.1} ms, p99 {:.1} ms (target p99 <= 1000 ms)",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0))
    );
    println!("  sequencer on a backlog: {:.0} leaves/s", median(integration_rates));
    Ok(())
}

/// A store holding a tree of `size` synthetic leaves (no events), built
/// with the same appender the sequencer uses, written straight to the
/// log's tables.
fn synthetic_tree(path: &std::path::Path, size: u64) -> anyhow::Result<SqliteStore> {
    let done = path.with_extension("done");
    if !done.exists() {
        let _ = std::fs::remove_file(path);
        let store = SqliteStore::open(
            path,
            SqliteOptions { synchronous: auditlog_core::config::SqliteSync::Normal, ..Default::default() },
        )?;
        let mut conn = store.connect()?;
        conn.execute_batch("PRAGMA synchronous = OFF")?;
        let mut range = CompactRange::new();
        let chunk = 100_000u64;
        let mut i = 0u64;
        while i < size {
            let tx = conn.transaction()?;
            {
                let mut leaf = tx.prepare(
                    "INSERT INTO audit_leaves (leaf_index, event_id, leaf_hash, created, integrated) VALUES (?1, ?2, ?3, 0, 0)",
                )?;
                let mut node = tx.prepare("INSERT INTO audit_tree (level, idx, hash) VALUES (?1, ?2, ?3)")?;
                for j in i..(i + chunk).min(size) {
                    let h = auditlog_merkle::leaf_hash(&j.to_le_bytes());
                    let mut nodes = Vec::new();
                    range.append(h, |id, hash| {
                        if id.level > 0 {
                            nodes.push((id, *hash));
                        }
                    })?;
                    leaf.execute(params![j as i64, uuid::Uuid::from_u64_pair(0, j).to_string(), &h[..]])?;
                    for (id, hash) in nodes {
                        node.execute(params![id.level, id.index as i64, &hash[..]])?;
                    }
                }
            }
            tx.commit()?;
            i += chunk;
        }
        std::fs::write(&done, b"")?;
    }
    Ok(SqliteStore::open(path, SqliteOptions::default())?)
}

async fn proofs(args: &Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data)?;
    println!("proofs on SQLite ({} per size; generation reads the store, verification is offline):", args.proofs);
    println!(
        "  {:>10} {:>14} {:>14} {:>14} {:>14} {:>12}",
        "tree size", "incl gen p50", "incl gen p99", "incl verify", "cons gen p50", "cons verify"
    );
    for &size in &args.sizes {
        let store = synthetic_tree(&args.data.join(format!("tree-{size}.db")), size)?;
        let root = auditlog_transparency::root_at(&store, size).await?;
        let (mut gen_i, mut ver_i, mut gen_c, mut ver_c) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for k in 0..args.proofs {
            let index = (k as u64 * 7_919_317) % size;
            let id = uuid::Uuid::from_u64_pair(0, index);
            let t = Instant::now();
            let p = inclusion_proof(&store, id, Some(size)).await?;
            gen_i.push(t.elapsed());
            let t = Instant::now();
            verify_inclusion(&p.leaf_hash, index, size, &p.proof, &root)?;
            ver_i.push(t.elapsed());
            let from = 1 + (k as u64 * 104_729) % (size - 1);
            let t = Instant::now();
            let c = consistency_proof(&store, from, Some(size)).await?;
            gen_c.push(t.elapsed());
            let t = Instant::now();
            verify_consistency(from, size, &c.proof, &c.from_root, &root)?;
            ver_c.push(t.elapsed());
        }
        for v in [&mut gen_i, &mut ver_i, &mut gen_c, &mut ver_c] {
            v.sort();
        }
        println!(
            "  {:>10} {:>11.3} ms {:>11.3} ms {:>11.4} ms {:>11.3} ms {:>9.4} ms",
            size,
            ms(percentile(&gen_i, 50.0)),
            ms(percentile(&gen_i, 99.0)),
            ms(percentile(&ver_i, 50.0)),
            ms(percentile(&gen_c, 50.0)),
            ms(percentile(&ver_c, 50.0)),
        );
    }
    Ok(())
}

/// Bytes per event of the log's tables, on the seeded demo store once it is
/// integrated (from SQLite's `dbstat`).
async fn storage(args: &Args) -> anyhow::Result<()> {
    if args.storage_events == 0 {
        return Ok(());
    }
    let store = Arc::new(crate::seed::seeded_bulk(&args.data, args.storage_events).await?);
    let started = Instant::now();
    let dyn_store: Arc<dyn Store> = store.clone();
    let round = Sequencer::new(dyn_store, signer()).round(true).await?;
    if round.added > 0 {
        println!(
            "integrated the seeded store's {} pending events in {:.1} s ({:.0} leaves/s)",
            round.added,
            started.elapsed().as_secs_f64(),
            round.added as f64 / started.elapsed().as_secs_f64()
        );
    }
    let conn = store.connect()?;
    let events: i64 = conn.query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0))?;
    let size = |names: &str| -> anyhow::Result<i64> {
        Ok(conn.query_row(
            &format!("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN ({names})"),
            [],
            |r| r.get(0),
        )?)
    };
    let log =
        size("'audit_leaves', 'sqlite_autoindex_audit_leaves_1', 'audit_tree', 'audit_checkpoints', 'audit_pending'")?;
    let all = size("SELECT name FROM sqlite_schema")?;
    println!(
        "storage: the log's tables take {:.0} bytes per event ({:.1} MB for {} events; {:.0}% of the database)",
        log as f64 / events as f64,
        log as f64 / 1e6,
        events,
        100.0 * log as f64 / all as f64
    );
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        ingest_on_off(&args).await?;
        proofs(&args).await?;
        storage(&args).await
    })
}
