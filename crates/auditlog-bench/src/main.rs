//! `auditlog-bench`: measures auditlog against baselines run in the same
//! process, and prints ratios. Machines here are shared and noisy, so every
//! figure is paired with a baseline measured alongside it, rounds are
//! interleaved, and medians are reported.
//!
//! Run with `cargo run --release -p auditlog-bench -- <scenario>`.

mod http;
mod ingest;
mod query;
mod stats;

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
    /// The HTTP server under load vs the library directly (SQLite).
    Http(http::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().scenario {
        Scenario::Ingest(args) => ingest::run(args),
        Scenario::Query(args) => query::run(args),
        Scenario::Http(args) => http::run(args),
    }
}
