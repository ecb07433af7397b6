//! A large store seeded through the bulk path: the HTTP and transparency
//! scenarios need a million events to read from, not the demo's history.
//! Events go through `AuditLogService::create_many` in 1,000-event
//! transactions (validation, rendering, every index, the log's queue), the
//! way an ingesting service writes them. The `query` scenario keeps its
//! demo-generated store (`query::seeded`), whose one-event transactions
//! take far longer to build at this size.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use auditlog_core::{AuditLog, Config, EventInput, Identity, Timestamp};
use auditlog_store::service::LineOutcome;
use auditlog_store::sqlite::{SqliteOptions, SqliteStore};
use auditlog_store::{AuditLogService, Store};

const ACTIONS: [&str; 5] = ["draft.create", "draft.edit", "draft.edit", "record.publish", "draft.new_version"];

/// Event `i` of `n`, spread evenly over the 720 days before 2026-11-01,
/// 3,000 users, about `n / 3` records.
fn line(i: u64, n: u64) -> String {
    let span_us: u64 = 720 * 86_400_000_000;
    let start_us: i64 = 1_699_747_200_000_000; // 2023-11-12T00:00:00Z
    let created = Timestamp::from_micros(start_us + (i * (span_us / n.max(1))) as i64).expect("a date");
    let record = i / 3;
    let action = ACTIONS[(i % 5) as usize];
    let user = (i * 7919) % 3000;
    let revision = if action == "record.publish" { format!(r#","revision_id":{}"#, 1 + i % 4) } else { String::new() };
    format!(
        r#"{{"action":"{action}","resource":{{"id":"{:05x}-{:05x}"}},"user":{{"id":"{user}","username":"user{user}","email":"user{user}@uni-example.edu"}},"metadata":{{"parent_pid":"p{:05x}-{:05x}","ip_address":"10.{}.{}.{}"{revision}}},"created":"{created}"}}"#,
        record >> 20,
        record & 0xfffff,
        (record / 2) >> 20,
        (record / 2) & 0xfffff,
        i % 200,
        (i / 200) % 250,
        1 + i % 250,
    )
}

/// Seeds (once) and opens `bulk-<events>.db` under `data`.
pub async fn seeded_bulk(data: &Path, events: u64) -> anyhow::Result<SqliteStore> {
    let path = data.join(format!("bulk-{events}.db"));
    let done = data.join(format!("bulk-{events}.done"));
    if !done.exists() {
        let _ = std::fs::remove_file(&path);
        let store = Arc::new(SqliteStore::open(&path, SqliteOptions::default())?);
        let audit = Arc::new(AuditLog::from_config(&Config { enabled: true, ..Config::default() })?);
        let service = AuditLogService::new(audit, store.clone() as Arc<dyn Store>);
        let started = Instant::now();
        {
            let mut i = 0;
            while i < events {
                let end = (i + 1000).min(events);
                let lines = (i..end).map(|j| EventInput::from_json(&line(j, events))).collect();
                for (j, outcome) in service.create_many(&Identity::system(), lines, None).await?.iter().enumerate() {
                    anyhow::ensure!(
                        matches!(outcome, LineOutcome::Logged(_)),
                        "seed line {}: {outcome:?}",
                        i + j as u64
                    );
                }
                i = end;
                if i % 100_000 == 0 {
                    eprintln!("seeded {i} events after {:.0}s", started.elapsed().as_secs_f64());
                }
            }
        }
        store.connect()?.execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")?;
        drop(service);
        std::fs::write(&done, b"")?;
    }
    Ok(SqliteStore::open(&path, SqliteOptions::default())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_line_is_a_valid_event() {
        let audit = AuditLog::from_config(&Config { enabled: true, ..Config::default() }).unwrap();
        for i in 0..50 {
            let input = EventInput::from_json(&line(i, 1_000_000)).unwrap();
            audit.ingest(input, None, &Identity::system()).unwrap_or_else(|e| panic!("line {i}: {e}")).expect("logged");
        }
    }
}
