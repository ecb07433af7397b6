//! `auditlog ingest FILE.ndjson`: validate every line, store the valid ones
//! (a batch of lines per transaction), report bad lines by number, exit 1 if
//! any line was bad.

use std::io::BufRead;
use std::path::PathBuf;

use auditlog_core::{EventInput, Identity};
use auditlog_store::AuditLogService;
use auditlog_store::service::LineOutcome;

use crate::config::Loaded;
use crate::progress::Progress;
use crate::{Failed, Format};

/// Lines stored per transaction.
const BATCH: usize = 1000;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// NDJSON file, one event per line (`-` for standard input).
    file: PathBuf,
    /// Report format: `table` prints a summary, `json`/`ndjson` one result per line.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub async fn run(loaded: &Loaded, args: Args) -> anyhow::Result<()> {
    let store = loaded.open_store().await?;
    let service = AuditLogService::new(loaded.audit_log()?, store.clone());
    let (reader, total) = super::open_input(&args.file)?;
    let reader = std::io::BufReader::new(reader);
    let mut progress = Progress::new("ingest", total);
    let (mut stored, mut skipped, mut bad) = (0u64, 0u64, 0u64);
    let mut batch: Vec<(usize, Result<EventInput, auditlog_core::ValidationError>)> = Vec::new();
    let mut read_bytes = 0u64;
    let mut lines = reader.lines().enumerate().peekable();
    loop {
        let next = lines.next();
        if let Some((i, line)) = &next {
            let line = line.as_ref().map_err(|e| anyhow::anyhow!("line {}: cannot read: {e}", i + 1))?;
            read_bytes += line.len() as u64 + 1;
            if !line.trim().is_empty() {
                batch.push((i + 1, EventInput::from_json(line)));
            }
        }
        if batch.len() >= BATCH || (next.is_none() && !batch.is_empty()) {
            let numbers: Vec<usize> = batch.iter().map(|(n, _)| *n).collect();
            let outcomes =
                service.create_many(&Identity::system(), batch.drain(..).map(|(_, l)| l).collect(), None).await?;
            for (n, outcome) in numbers.into_iter().zip(outcomes) {
                match &outcome {
                    LineOutcome::Logged(_) => stored += 1,
                    LineOutcome::NotLogged(_) => skipped += 1,
                    LineOutcome::Invalid(_) => bad += 1,
                }
                report(args.format, n, &outcome);
            }
            progress.set(read_bytes.min(total));
        }
        if next.is_none() {
            break;
        }
    }
    progress.finish();
    eprintln!("ingest: {stored} events stored, {skipped} not logged, {bad} bad lines ({})", args.file.display());
    if stored > 0 {
        let round = crate::sequencing::integrate_now(loaded, store).await?;
        eprintln!("ingest: transparency log at {} leaves", round.size);
    }
    if bad > 0 { Err(Failed.into()) } else { Ok(()) }
}

fn report(format: Format, line: usize, outcome: &LineOutcome) {
    match (format, outcome) {
        (Format::Table, LineOutcome::Invalid(e)) => eprintln!("line {line}: {e}"),
        (Format::Table, LineOutcome::NotLogged(reason)) => eprintln!("line {line}: not logged: {reason}"),
        (Format::Table, LineOutcome::Logged(_)) => {}
        (_, o) => {
            let v = match o {
                LineOutcome::Logged(e) => serde_json::json!({"line": line, "status": "stored", "id": e.id}),
                LineOutcome::NotLogged(r) => {
                    serde_json::json!({"line": line, "status": "not_logged", "reason": r.to_string()})
                }
                LineOutcome::Invalid(e) => serde_json::json!({"line": line, "status": "invalid", "errors": e.errors}),
            };
            println!("{v}");
        }
    }
}
