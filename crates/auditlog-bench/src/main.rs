//! `auditlog-bench`: measures auditlog against baselines run in the same
//! process, and prints ratios. Machines here are shared and noisy, so every
//! figure is paired with a baseline measured alongside it, rounds are
//! interleaved, and medians are reported.
//!
//! Run with `cargo run --release -p auditlog-bench -- <scenario>`.

mod export_import;
mod http;
mod ingest;
mod pg;
mod pg_ingest;
mod pg_query;
mod pg_retention;
mod query;
mod seed;
mod stats;
mod transparency;
mod workload;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "auditlog-bench")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Event creation through the full path vs plain batched inserts (SQLite).
    Ingest(ingest::Args),
    /// Search latency on a large seeded store vs hand-written SQL (SQLite).
    Query(query::Args),
    /// `auditlog export` and `import` (the release binary) vs a rusqlite scan
    /// and plain batched `Store::insert`s; peak RSS (SQLite).
    ExportImport(export_import::Args),
    /// The HTTP server under load vs the library directly (SQLite).
    Http(http::Args),
    /// The transparency log: ingest with it on vs off, integration latency,
    /// proof costs at large tree sizes, storage (SQLite).
    Transparency(transparency::Args),
    /// Batched ingest through the store vs plain COPY / multi-row INSERT (PostgreSQL).
    PgIngest(pg_ingest::Args),
    /// The `query` scenario's searches on PostgreSQL vs hand-written SQL.
    PgQuery(pg_query::Args),
    /// Retention of one expired month: partition drop vs row-by-row delete (PostgreSQL).
    PgRetention(pg_retention::Args),
    /// Runs a command and reports its peak RSS (used by `export-import`).
    #[command(hide = true)]
    MeasureChild(export_import::ChildArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().scenario {
        Scenario::Ingest(args) => ingest::run(args),
        Scenario::Query(args) => query::run(args),
        Scenario::ExportImport(args) => export_import::run(args),
        Scenario::Http(args) => http::run(args),
        Scenario::PgIngest(args) => pg_ingest::run(args),
        Scenario::PgQuery(args) => pg_query::run(args),
        Scenario::PgRetention(args) => pg_retention::run(args),
        Scenario::Transparency(args) => transparency::run(args),
        Scenario::MeasureChild(args) => export_import::measure_child(args),
    }
}
