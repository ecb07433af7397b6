//! What the PostgreSQL scenarios share: the benchmark database (created on
//! first use, `auditlog_bench` by default), one schema per dataset, stores
//! and plain connections working in a schema, and generated events.
//!
//! Schemas named `bench_*` are made and dropped by a run; a seeded dataset
//! (`seeded_*`) is kept between runs and marked complete only once seeded.

use auditlog_store::TreeStore;
use std::time::Duration;

use auditlog_core::Timestamp;
use auditlog_store::postgres::{PgOptions, PgStore};
use auditlog_transparency::Integration;

/// The default benchmark database.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/auditlog_bench";

/// `url` parsed, with a bounded connect time.
pub fn parse(url: &str) -> anyhow::Result<tokio_postgres::Config> {
    let mut c: tokio_postgres::Config = url.parse()?;
    c.connect_timeout(Duration::from_secs(5));
    Ok(c)
}

/// A plain connection (its driver spawned on the current runtime).
pub async fn connect(config: &tokio_postgres::Config) -> anyhow::Result<tokio_postgres::Client> {
    let (client, conn) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Creates the benchmark database when it does not exist yet, and returns
/// a connection to it.
pub async fn database(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let config = parse(url)?;
    let name = config.get_dbname().unwrap_or("auditlog_bench").to_owned();
    anyhow::ensure!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "benchmark database name {name:?}: use letters, digits and '_'"
    );
    let mut admin = config.clone();
    admin.dbname("postgres");
    let admin = connect(&admin).await?;
    let exists = admin.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).await?.is_some();
    if !exists {
        admin.batch_execute(&format!("CREATE DATABASE {name}")).await?;
        eprintln!("created the benchmark database {name}");
    }
    connect(&config).await
}

/// Connection settings whose sessions work in `schema`.
pub fn in_schema(url: &str, schema: &str) -> anyhow::Result<tokio_postgres::Config> {
    let mut c = parse(url)?;
    c.options(format!("-c search_path={schema}"));
    Ok(c)
}

/// A store in `schema` (which must exist), migrated. Statements may run as
/// long as they need: seeding and deleting a million rows is the point.
pub async fn store(url: &str, schema: &str) -> anyhow::Result<PgStore> {
    let opts = PgOptions { statement_timeout: None, ..PgOptions::default() };
    let store = PgStore::connect_with(in_schema(url, schema)?, opts)?;
    store.migrate().await?;
    Ok(store)
}

/// Integrates every pending event into the transparency log, as a
/// server's sequencer does within a second of each commit: a dataset that
/// has settled has nothing pending. Returns how many were integrated.
pub async fn integrate_all(store: &PgStore) -> anyhow::Result<u64> {
    let mut total = 0;
    loop {
        match store.integrate(50_000).await? {
            Integration::Integrated { added: 0, .. } => return Ok(total),
            Integration::Integrated { added, .. } => total += added,
            Integration::Busy => anyhow::bail!("another sequencer is integrating this schema; run the benchmark alone"),
        }
    }
}

/// Vacuums and analyzes every table of the connection's schema, as
/// autovacuum would have done by the time a dataset is queried or expires:
/// no dead rows left by seeding (the transparency log's queue, once
/// integrated, is all dead rows) and fresh statistics.
pub async fn settle(c: &tokio_postgres::Client) -> anyhow::Result<()> {
    // Partitions go with their table.
    let tables = c
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition",
            &[],
        )
        .await?;
    for t in &tables {
        let name: String = t.get(0);
        anyhow::ensure!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "table name {name:?}");
        // One statement each: VACUUM cannot run in a transaction.
        c.batch_execute(&format!("VACUUM ANALYZE {name}")).await?;
    }
    Ok(())
}

/// Drops `schema` if it exists and creates it empty.
pub async fn fresh_schema(db: &tokio_postgres::Client, schema: &str) -> anyhow::Result<()> {
    db.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")).await?;
    Ok(())
}

pub async fn drop_schema(db: &tokio_postgres::Client, schema: &str) -> anyhow::Result<()> {
    db.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await?;
    Ok(())
}

/// `n` microsecond instants spread evenly over `[from, to)`.
pub fn spread(from: Timestamp, to: Timestamp, i: usize, n: usize) -> Timestamp {
    let (a, b) = (from.as_micros(), to.as_micros());
    let t = a + ((b - a) as i128 * i as i128 / n.max(1) as i128) as i64;
    Timestamp::from_micros(t).unwrap_or(from)
}
