//! Ingest on SQLite. Three figures on fresh database files, in one run:
//!
//! - (a) events/s through the full path — registry lookup, context
//!   resolvers, schema validation, message rendering, insert with all
//!   indexes — 1,000 events per unit of work (transaction);
//! - (b) events/s with one event per unit of work (the host-app case);
//! - (c) the baseline: plain batched `INSERT`s of the very same rows
//!   (pre-built: ids, JSON, index texts, leaf hashes) into the same schema —
//!   same table, same indexes, same full-text, metadata-leaf and
//!   transparency-log queue tables — 1,000 per transaction.
//!
//! (a)/(c) is the cost of everything auditlog does besides writing rows.

use std::time::Instant;

use auditlog_core::{AuditLog, Event};
use auditlog_store::sql::flatten_metadata;
use auditlog_store::sqlite::{SqliteOptions, SqliteStore, UnitOfWork};

use crate::workload::{ALL_ACTIONS, Action, Workload};
use rusqlite::params;

use crate::stats::median;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events per batched run.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Events in the one-per-transaction run.
    #[arg(long, default_value_t = 10_000)]
    single: usize,
    /// Interleaved rounds; medians are reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// SQLite synchronous mode of every run (full or normal).
    #[arg(long, default_value = "full")]
    sync: String,
}

const BATCH: usize = 1000;

fn fresh(dir: &tempfile::TempDir, name: &str, opts: &SqliteOptions) -> anyhow::Result<rusqlite::Connection> {
    let store = SqliteStore::open(dir.path().join(name), opts.clone())?;
    Ok(store.connect()?)
}

fn full_path(
    conn: &mut rusqlite::Connection,
    audit: &AuditLog,
    actions: &[Action],
    per_tx: usize,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    for chunk in actions.chunks(per_tx) {
        let mut uow = UnitOfWork::begin(conn, audit)?;
        for a in chunk {
            if let Some(d) = audit.build(&a.who, a.id, &a.resource, a.data.clone())? {
                uow.register(d)?;
            }
        }
        uow.commit()?;
    }
    // Units of work queue their full-text entries for the store's writer:
    // indexing them is part of the cost, so it is timed too.
    auditlog_store::sqlite::flush_fts_queue(conn)?;
    Ok(actions.len() as f64 / started.elapsed().as_secs_f64())
}

/// A pre-built row: everything the baseline binds, computed before timing.
struct Row {
    id: String,
    created: i64,
    action: String,
    kind: String,
    resource: String,
    user: String,
    username: Option<String>,
    email: String,
    metadata: String,
    message: String,
    leaves: Vec<(String, String, Option<f64>)>,
    keys: String,
    meta_text: String,
    leaf_hash: [u8; 32],
}

fn rows(events: &[Event]) -> Vec<Row> {
    events
        .iter()
        .map(|e| {
            let leaves: Vec<_> = flatten_metadata(&e.metadata).into_iter().map(|l| (l.path, l.value, l.num)).collect();
            Row {
                id: e.id.to_string(),
                created: e.created.as_micros(),
                action: e.action.clone(),
                kind: e.resource.kind.clone(),
                resource: e.resource.id.clone(),
                user: e.user.id.clone(),
                username: e.user.username.clone(),
                email: e.user.email.clone(),
                metadata: serde_json::to_string(&e.metadata).unwrap_or_default(),
                message: e.message.clone(),
                meta_text: leaves.iter().map(|l| l.1.as_str()).collect::<Vec<_>>().join(" "),
                keys: format!(
                    "{} {} {} {} {} {}",
                    e.id,
                    e.action,
                    e.resource.kind,
                    e.resource.id,
                    e.user.id,
                    e.user.username.as_deref().unwrap_or("")
                ),
                leaves,
                leaf_hash: auditlog_transparency::leaf_hash_of(e),
            }
        })
        .collect()
}

fn baseline(conn: &mut rusqlite::Connection, rows: &[Row]) -> anyhow::Result<f64> {
    let started = Instant::now();
    for chunk in rows.chunks(BATCH) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO audit_events (id, created, action, resource_type, resource_id, user_id, user_username, user_email, metadata, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            let mut meta =
                tx.prepare_cached("INSERT OR IGNORE INTO audit_meta (path, value, num, seq) VALUES (?1, ?2, ?3, ?4)")?;
            let mut fts = tx.prepare_cached(
                "INSERT INTO audit_fts (rowid, message, keys, email, meta) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut counts = tx.prepare_cached(
                "INSERT INTO audit_counts (resource_type, action, n) VALUES (?1, ?2, 1) ON CONFLICT (resource_type, action) DO UPDATE SET n = n + 1",
            )?;
            let mut pending = tx.prepare_cached(
                "INSERT INTO audit_pending (seq, event_id, created, leaf_hash) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for r in chunk {
                ins.execute(params![
                    r.id, r.created, r.action, r.kind, r.resource, r.user, r.username, r.email, r.metadata, r.message
                ])?;
                let seq = tx.last_insert_rowid();
                for (path, value, num) in &r.leaves {
                    meta.execute(params![path, value, num, seq])?;
                }
                fts.execute(params![seq, r.message, r.keys, r.email, r.meta_text])?;
                pending.execute(params![seq, r.id, r.created, &r.leaf_hash[..]])?;
                counts.execute(params![r.kind, r.action])?;
            }
        }
        tx.commit()?;
    }
    Ok(rows.len() as f64 / started.elapsed().as_secs_f64())
}

/// The plain table alone with its four indexes (no full-text or metadata
/// index): context for the figures above.
fn baseline_table_only(conn: &mut rusqlite::Connection, rows: &[Row]) -> anyhow::Result<f64> {
    conn.execute_batch("DROP TABLE audit_fts; DROP TABLE audit_meta;")?;
    let started = Instant::now();
    for chunk in rows.chunks(BATCH) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO audit_events (id, created, action, resource_type, resource_id, user_id, user_username, user_email, metadata, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for r in chunk {
                ins.execute(params![
                    r.id, r.created, r.action, r.kind, r.resource, r.user, r.username, r.email, r.metadata, r.message
                ])?;
            }
        }
        tx.commit()?;
    }
    Ok(rows.len() as f64 / started.elapsed().as_secs_f64())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let sync = match args.sync.as_str() {
        "full" => auditlog_core::config::SqliteSync::Full,
        "normal" => auditlog_core::config::SqliteSync::Normal,
        other => anyhow::bail!("--sync must be full or normal, not {other:?}"),
    };
    let opts = SqliteOptions { synchronous: sync, ..Default::default() };
    let workload = Workload::new()?;
    let audit = &workload.audit;
    let batch_actions: Vec<Action> = (0..args.events).map(|i| workload.action(i, ALL_ACTIONS)).collect();
    let single_actions = &batch_actions[..args.single.min(args.events)];
    // The baseline's rows are the very events the full path produces.
    let events: Vec<Event> = batch_actions.iter().map(|a| workload.event(a)).collect::<anyhow::Result<_>>()?;
    let rows = rows(&events);

    let dir = tempfile::tempdir()?;
    let (mut a, mut b, mut c, mut t) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.rounds {
        c.push(baseline(&mut fresh(&dir, &format!("c{round}.db"), &opts)?, &rows)?);
        a.push(full_path(&mut fresh(&dir, &format!("a{round}.db"), &opts)?, audit, &batch_actions, BATCH)?);
        b.push(full_path(&mut fresh(&dir, &format!("b{round}.db"), &opts)?, audit, single_actions, 1)?);
        t.push(baseline_table_only(&mut fresh(&dir, &format!("t{round}.db"), &opts)?, &rows)?);
        eprintln!(
            "round {}: (a) {:.0}/s  (b) {:.0}/s  (c) {:.0}/s  table-only {:.0}/s",
            round + 1,
            a[round],
            b[round],
            c[round],
            t[round]
        );
    }
    let ratio_ac = median(a.iter().zip(&c).map(|(a, c)| a / c).collect());
    let ratio_bc = median(b.iter().zip(&c).map(|(b, c)| b / c).collect());
    let (a, b, c, t) = (median(a), median(b), median(c), median(t));
    println!(
        "ingest on SQLite (synchronous={}), {} events per batched run, medians of {} rounds",
        args.sync, args.events, args.rounds
    );
    println!("(a) full path, 1,000 events per transaction : {a:>9.0} events/s");
    println!("(b) full path, 1 event per transaction      : {b:>9.0} events/s  ({} events)", single_actions.len());
    println!("(c) baseline: plain batched inserts, same schema: {c:>9.0} rows/s");
    println!("    plain table + 4 indexes only (context)  : {t:>9.0} rows/s");
    println!("(a)/(c) = {ratio_ac:.2}   (median of the per-round ratios; target >= 0.70)");
    println!("(b)/(c) = {ratio_bc:.2}");
    Ok(())
}
