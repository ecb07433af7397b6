//! What `auditlog serve` does besides answering requests: getting the
//! database ready before it listens ([`prepare`]), and the background jobs
//! while it runs ([`Jobs`]) — month-partition maintenance on PostgreSQL
//! (hourly) and retention (every `retention_interval`; off by default).
//!
//! Several servers may share one PostgreSQL database: migrations,
//! partition maintenance and retention each take a database lock, so they
//! run once at a time across all of them, and none of them makes another
//! server's writes fail (writers wait for a partition's DDL; nothing is
//! deleted that has not expired).
//!
//! A job that fails (the database is down, say) logs the error and tries
//! again later; the server keeps serving. [`Jobs::stop`] cancels a run in
//! progress at its next database round trip: each retention batch and each
//! partition change is one transaction, so a cancelled run leaves nothing
//! half done, and its lock goes with its connection.

use std::future::Future;
use std::time::Duration;

use auditlog_core::{Config, Timestamp};
use auditlog_store::postgres::PgStore;
use auditlog_store::{RetentionMode, RetentionPolicy, RetentionReport, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Database;

/// How often each server checks the month partitions (the current month and
/// the next two always exist, so this only has to happen well within a month).
pub const PARTITION_INTERVAL: Duration = Duration::from_secs(3600);

/// How soon a failed partition maintenance is tried again.
const PARTITION_RETRY: Duration = Duration::from_secs(60);

/// Gets the database ready for serving. On PostgreSQL: runs the migrations
/// when `migrate_on_start` is on, else checks that someone has (a server
/// never writes into a schema it does not know); then maintains the
/// partitions, which only warns on failure (the periodic job tries again).
/// SQLite was migrated when it was opened.
pub async fn prepare(db: &Database, config: &Config) -> anyhow::Result<()> {
    check_writable(db).await?;
    let Database::Postgres(pg) = db else { return Ok(()) };
    if config.migrate_on_start {
        pg.migrate().await?;
    } else {
        if let Some(behind) = crate::config::schema_behind(pg).await? {
            anyhow::bail!("{behind}: run `auditlog migrate` (or set migrate_on_start = true)");
        }
    }
    if let Err(e) = maintain_partitions(pg).await {
        tracing::warn!(error = %e, "could not maintain the month partitions; will retry");
    }
    Ok(())
}

/// Refuses a database the server could read but not write (a read-only
/// file or directory, a read-only PostgreSQL session or standby): it would
/// answer searches and report itself healthy while every ingest failed.
async fn check_writable(db: &Database) -> anyhow::Result<()> {
    let refused = |why: String| {
        anyhow::anyhow!(
            "the database {} is read-only ({why}); auditlog serve must be able to write to it",
            db.location()
        )
    };
    match db {
        Database::Sqlite(store) => {
            // A write of the header (the schema version, unchanged) in a
            // transaction that is rolled back: it needs every permission a
            // commit needs, and changes nothing.
            let probe = store
                .write(|conn| {
                    let fail = |e| {
                        auditlog_store::StoreError::internal_from(
                            "a test write",
                            Box::new(e) as auditlog_store::error::Cause,
                        )
                    };
                    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(fail)?;
                    conn.execute_batch("BEGIN IMMEDIATE").map_err(fail)?;
                    let written = conn.execute_batch(&format!("PRAGMA user_version = {version}")).map_err(fail);
                    let _ = conn.execute_batch("ROLLBACK");
                    written
                })
                .await;
            probe.map_err(|e| refused(e.report()))
        }
        Database::Postgres(pg) => {
            let client = pg.pool().get().await.map_err(|e| anyhow::anyhow!("cannot reach {}: {e}", db.location()))?;
            let row = client.query_one("SHOW transaction_read_only", &[]).await?;
            let read_only: String = row.get(0);
            if read_only == "on" { Err(refused("transaction_read_only is on".into())) } else { Ok(()) }
        }
    }
}

/// Creates the partitions due at this instant and logs what changed.
async fn maintain_partitions(pg: &PgStore) -> Result<(), auditlog_store::StoreError> {
    let report = pg.maintain_partitions(Timestamp::now()).await?;
    if report.created.is_empty() {
        tracing::debug!("month partitions are up to date");
    } else {
        tracing::info!(created = ?report.created, moved = report.moved, "month partitions maintained");
    }
    Ok(())
}

/// Runs retention once at `now` and logs its report.
pub async fn run_retention(
    store: &dyn Store,
    policy: &RetentionPolicy,
) -> Result<RetentionReport, auditlog_store::StoreError> {
    let report = store.run_retention(policy, Timestamp::now(), RetentionMode::Delete).await?;
    if report.ran {
        tracing::info!(
            deleted = report.total(),
            by_action = ?report.deleted,
            batches = report.batches,
            dropped_partitions = ?report.dropped_partitions,
            "retention run"
        );
    } else {
        tracing::info!("retention: another run holds the lock; nothing deleted");
    }
    Ok(report)
}

/// The running background jobs of one server.
pub struct Jobs {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Jobs {
    /// Starts partition maintenance (PostgreSQL: every
    /// [`PARTITION_INTERVAL`], the first one interval from now since
    /// [`prepare`] just did it) and retention (when `retention_interval` is
    /// set: right away, then every interval, so that servers restarted more
    /// often than the interval still run it).
    pub fn start(db: &Database, config: &Config) -> Jobs {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        if let Database::Postgres(pg) = db {
            let pg = pg.clone();
            tasks.push(tokio::spawn(repeat("partition maintenance", PARTITION_INTERVAL, stopped.clone(), move || {
                let pg = pg.clone();
                async move {
                    match maintain_partitions(&pg).await {
                        Ok(()) => PARTITION_INTERVAL,
                        Err(e) => {
                            tracing::warn!(error = %e, "could not maintain the month partitions; will retry");
                            PARTITION_RETRY.min(PARTITION_INTERVAL)
                        }
                    }
                }
            })));
        }
        if let Some(interval) = config.retention_interval {
            let (store, policy) = (db.store(), RetentionPolicy::from_config(config));
            tasks.push(tokio::spawn(repeat("retention", Duration::ZERO, stopped, move || {
                let (store, policy) = (store.clone(), policy.clone());
                async move {
                    if let Err(e) = run_retention(&*store, &policy).await {
                        tracing::warn!(error = %e, "retention run failed; will run again at the next interval");
                    }
                    interval.0
                }
            })));
        }
        Jobs { stop, tasks }
    }

    /// Stops every job: a job between runs stops at once, a run in progress
    /// is cancelled at its next database round trip (see the module docs).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "a background job ended abnormally");
            }
        }
    }
}

/// Runs `job` after `first`, then again after the delay each run returns,
/// until `stopped` turns true.
async fn repeat<F, Fut>(name: &'static str, first: Duration, mut stopped: watch::Receiver<bool>, mut job: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Duration>,
{
    let mut delay = first;
    loop {
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => break,
            () = tokio::time::sleep(delay) => {}
        }
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => {
                tracing::info!(job = name, "stopping: run cancelled");
                break;
            }
            next = job() => delay = next,
        }
    }
}
