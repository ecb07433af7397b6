//! `auditlog migrate`: create or upgrade the schema. On PostgreSQL it also
//! makes the month partitions due now (and rescues rows from the DEFAULT
//! partition), as `serve` does at start and hourly; safe to run while
//! servers are running.

use auditlog_core::Timestamp;
use auditlog_store::postgres::LATEST;

use crate::config::{Database, Loaded};

pub async fn run(loaded: &Loaded) -> anyhow::Result<()> {
    match loaded.open_database()? {
        db @ Database::Sqlite(_) => {
            db.store().health().await?;
            println!("sqlite database is up to date: {}", db.location());
        }
        Database::Postgres(pg) => {
            pg.migrate().await?;
            let report = pg.maintain_partitions(Timestamp::now()).await?;
            println!("postgres database is up to date (schema version {LATEST}): {}", pg.location());
            if report.created.is_empty() {
                println!("month partitions: up to date");
            } else {
                println!("month partitions: created {}", report.created.join(", "));
            }
            if report.moved > 0 {
                println!("moved {} events from the DEFAULT partition into their month's partition", report.moved);
            }
        }
    }
    Ok(())
}
