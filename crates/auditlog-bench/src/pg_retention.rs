//! Retention of one expired month on PostgreSQL: the same month of
//! `--events` events (default one million), two years old, in a fresh
//! schema each time, removed by `RetentionStore::run_retention`:
//!
//! - drop: every action in the month has expired, so the month's partition
//!   is detached and dropped whole;
//! - rows: the month also holds one event of an action kept forever, so the
//!   partition stays and the expired events are deleted row by row, in
//!   batches of `AUDIT_LOGS_RETENTION_BATCH_SIZE` (1,000), one transaction
//!   each — what happens to a month that cannot be dropped.
//!
//! Both runs remove the same events, take them off the facet counts and
//! mark their transparency-log leaves expired; every event is integrated
//! into the log before the clock starts, as it would be months after it was
//! written. The figure is the ratio of their times.

use auditlog_store::{EventStore, RetentionStore};
use std::collections::BTreeMap;
use std::time::Instant;

use auditlog_core::{RetentionPeriod, Timestamp};
use auditlog_store::postgres::PgStore;
use auditlog_store::retention::cutoff;
use auditlog_store::{RetentionMode, RetentionPolicy, RetentionReport};

use crate::pg::{self, spread};
use crate::workload::Workload;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The benchmark database (created when missing).
    #[arg(long, default_value = pg::DEFAULT_URL)]
    url: String,
    /// Events in the expired month.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Rows deleted per transaction on the row-by-row path.
    #[arg(long, default_value_t = 1000)]
    batch_size: u32,
}

const SEED_BATCH: usize = 5000;

/// The month's events: the four actions that expire (draft.new_version is
/// the one kept forever).
const EXPIRING: &[&str] = &["draft.create", "draft.edit", "record.publish", "draft.delete"];
const KEPT: &str = "draft.new_version";

/// Seeds a fresh schema with the month (plus, for the row path, one event
/// kept forever) and returns the store and the month's partition name.
async fn seed(
    db: &tokio_postgres::Client,
    url: &str,
    schema: &str,
    w: &Workload,
    month: (Timestamp, Timestamp),
    n: usize,
    keeper: bool,
) -> anyhow::Result<PgStore> {
    pg::fresh_schema(db, schema).await?;
    let store = pg::store(url, schema).await?;
    let event = |i: usize, actions: &[&'static str]| -> anyhow::Result<auditlog_core::Event> {
        let mut e = w.event(&w.action(i, actions))?;
        e.created = spread(month.0, month.1, i, n);
        Ok(e)
    };
    // The first event, then partition maintenance: the month gets its
    // partition before the rest arrives.
    store.insert(vec![event(0, EXPIRING)?]).await?;
    store.maintain_partitions(Timestamp::now()).await?;
    let started = Instant::now();
    let mut i = 1;
    while i < n {
        let end = (i + SEED_BATCH).min(n);
        let batch = (i..end).map(|j| event(j, EXPIRING)).collect::<Result<Vec<_>, _>>()?;
        store.insert(batch).await?;
        i = end;
        if i % 200_000 < SEED_BATCH {
            eprintln!("{schema}: seeded {i} events after {:.0}s", started.elapsed().as_secs_f64());
        }
    }
    if keeper {
        // Mid-month, among the others.
        let mut e = w.event(&w.action(n, &[KEPT]))?;
        e.created = spread(month.0, month.1, n / 2, n);
        store.insert(vec![e]).await?;
    }
    // Thirteen months on, the sequencer has long made every event a leaf.
    pg::integrate_all(&store).await?;
    let c = pg::connect(&pg::in_schema(url, schema)?).await?;
    pg::settle(&c).await?;
    Ok(store)
}

async fn timed(store: &PgStore, policy: &RetentionPolicy) -> anyhow::Result<(f64, RetentionReport)> {
    let started = Instant::now();
    let report = store.run_retention(policy, Timestamp::now(), RetentionMode::Delete).await?;
    Ok((started.elapsed().as_secs_f64(), report))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: Args) -> anyhow::Result<()> {
    let db = pg::database(&args.url).await?;
    let version: String = db.query_one("SHOW server_version", &[]).await?.get(0);
    let w = Workload::new()?;
    let now = Timestamp::now();
    // The month two years back: [start of month - 24 months, - 23 months).
    let month = (
        cutoff(RetentionPeriod::Days(720), now).expect("finite"),
        cutoff(RetentionPeriod::Days(690), now).expect("finite"),
    );
    let policy = RetentionPolicy {
        default: RetentionPeriod::Days(395),
        per_action: BTreeMap::from([(KEPT.to_owned(), RetentionPeriod::Forever)]),
        batch_size: args.batch_size.max(1),
    };
    let n = args.events;

    let store = seed(&db, &args.url, "bench_retention_drop", &w, month, n, false).await?;
    let (drop_s, drop_report) = timed(&store, &policy).await?;
    anyhow::ensure!(
        drop_report.dropped_partitions.len() == 1 && drop_report.total() == n as u64,
        "the drop run did not drop the month whole: {drop_report:?}"
    );
    store.close();
    pg::drop_schema(&db, "bench_retention_drop").await?;

    let store = seed(&db, &args.url, "bench_retention_rows", &w, month, n, true).await?;
    let (rows_s, rows_report) = timed(&store, &policy).await?;
    anyhow::ensure!(
        rows_report.dropped_partitions.is_empty() && rows_report.total() == n as u64,
        "the row run did not delete the month row by row: {rows_report:?}"
    );
    anyhow::ensure!(store.count().await? == 1, "the event kept forever is gone");
    store.close();
    pg::drop_schema(&db, "bench_retention_rows").await?;

    println!(
        "retention on PostgreSQL {version}: one expired month ({} to {}) of {n} events",
        month.0.as_datetime().format("%Y-%m-%d"),
        month.1.as_datetime().format("%Y-%m-%d")
    );
    println!(
        "partition drop                               : {:>9.3} s  ({})",
        drop_s,
        drop_report.dropped_partitions.join(", ")
    );
    println!(
        "row-by-row delete, {} rows per transaction : {:>9.3} s  ({} batches, {:.0} rows/s)",
        policy.batch_size,
        rows_s,
        rows_report.batches,
        n as f64 / rows_s
    );
    println!("row-by-row / drop = {:.1}x", rows_s / drop_s);
    Ok(())
}
