//! `auditlog retention run [--dry-run]`: delete the events whose retention
//! period has passed (SPEC 8) and print the report — events per action,
//! and on PostgreSQL the month partitions dropped whole.
//!
//! One run at a time per database: a run that finds another holding the
//! lock (a server's periodic job, say) deletes nothing, says so, and exits 0
//! — the other run is doing the work, so this is not a failure.

use auditlog_core::Timestamp;
use auditlog_store::{RetentionMode, RetentionPolicy, RetentionReport};
use serde_json::json;

use crate::config::Loaded;
use crate::{Format, output};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Delete expired events now (in batches of AUDIT_LOGS_RETENTION_BATCH_SIZE).
    Run(RunArgs),
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Count what would be deleted; delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// `table` for people; `json` (or `ndjson`: one line) for programs.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub async fn run(loaded: &Loaded, command: Command) -> anyhow::Result<()> {
    let Command::Run(args) = command;
    let db = loaded.open_database()?;
    let policy = RetentionPolicy::from_config(&loaded.config);
    let mode = if args.dry_run { RetentionMode::DryRun } else { RetentionMode::Delete };
    let report = db.store().run_retention(&policy, Timestamp::now(), mode).await?;
    match args.format {
        Format::Table => print!("{}", table(&report)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&as_json(&report))?),
        Format::Ndjson => println!("{}", serde_json::to_string(&as_json(&report))?),
    }
    Ok(())
}

/// The report with its total.
fn as_json(report: &RetentionReport) -> serde_json::Value {
    let mut v = json!(report);
    v["total"] = json!(report.total());
    v
}

fn table(report: &RetentionReport) -> String {
    if !report.ran {
        return "another retention run holds the lock; nothing deleted\n".into();
    }
    let dry = report.mode == RetentionMode::DryRun;
    let mut out = String::new();
    if report.deleted.is_empty() {
        out.push_str("nothing has expired\n");
    } else {
        let rows: Vec<Vec<String>> = report.deleted.iter().map(|(a, n)| vec![a.clone(), n.to_string()]).collect();
        out.push_str(&output::table(&["ACTION", if dry { "WOULD DELETE" } else { "DELETED" }], &rows));
    }
    if !report.dropped_partitions.is_empty() {
        let verb = if dry { "would drop" } else { "dropped" };
        out.push_str(&format!("{verb} whole month partitions: {}\n", report.dropped_partitions.join(", ")));
    }
    if dry {
        out.push_str(&format!("dry run: {} events would be deleted; nothing was\n", report.total()));
    } else {
        out.push_str(&format!("deleted {} events ({} row batches)\n", report.total(), report.batches));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(mode: RetentionMode, deleted: &[(&str, u64)], batches: u64, dropped: &[&str]) -> RetentionReport {
        let mut r = RetentionReport::started(mode);
        for (a, n) in deleted {
            r.add(a, *n);
        }
        r.batches = batches;
        r.dropped_partitions = dropped.iter().map(|s| s.to_string()).collect();
        r
    }

    #[test]
    fn tables() {
        let cases: &[(RetentionReport, &str)] = &[
            (
                RetentionReport::not_run(RetentionMode::Delete),
                "another retention run holds the lock; nothing deleted\n",
            ),
            (report(RetentionMode::Delete, &[], 0, &[]), "nothing has expired\ndeleted 0 events (0 row batches)\n"),
            (
                report(
                    RetentionMode::Delete,
                    &[("draft.edit", 1200), ("draft.create", 3)],
                    2,
                    &["audit_events_p2024_01"],
                ),
                "ACTION        DELETED\ndraft.create  3\ndraft.edit    1200\n\
                 dropped whole month partitions: audit_events_p2024_01\ndeleted 1203 events (2 row batches)\n",
            ),
            (
                report(RetentionMode::DryRun, &[("draft.edit", 7)], 0, &[]),
                "ACTION      WOULD DELETE\ndraft.edit  7\ndry run: 7 events would be deleted; nothing was\n",
            ),
        ];
        for (r, want) in cases {
            assert_eq!(table(r), *want, "{r:?}");
        }
    }

    #[test]
    fn json_has_the_total() {
        let r = report(RetentionMode::DryRun, &[("a", 2), ("b", 3)], 0, &["audit_events_p2024_01"]);
        assert_eq!(
            as_json(&r),
            json!({"ran": true, "mode": "dry_run", "deleted": {"a": 2, "b": 3}, "batches": 0,
                   "dropped_partitions": ["audit_events_p2024_01"], "total": 5})
        );
    }
}
