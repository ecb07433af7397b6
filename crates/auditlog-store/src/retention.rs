//! Retention (SPEC 8, the reference's semantics): which events have expired,
//! and the report of a run. This part is pure; each store deletes with
//! [`crate::RetentionStore::run_retention`], in batches and under a single-run lock.
//!
//! An action's period `p` keeps `p.days / 30` whole months: the cutoff is the
//! start of the current UTC month minus that many months, and events created
//! strictly before the cutoff expire. `forever` never expires.

use std::collections::BTreeMap;

use auditlog_core::{Config, RetentionPeriod, Timestamp};
use chrono::{DateTime, Datelike, Months, TimeZone, Utc};
use serde::Serialize;

/// Periods per action, the default for the others, and the batch size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub default: RetentionPeriod,
    pub per_action: BTreeMap<String, RetentionPeriod>,
    /// Rows deleted per transaction (at least 1).
    pub batch_size: u32,
}

impl RetentionPolicy {
    /// The policy of `AUDIT_LOGS_RETENTION*`.
    pub fn from_config(config: &Config) -> Self {
        RetentionPolicy {
            default: config.retention_default,
            per_action: config.retention.clone(),
            batch_size: config.retention_batch_size.max(1),
        }
    }

    pub fn period(&self, action: &str) -> RetentionPeriod {
        self.per_action.get(action).copied().unwrap_or(self.default)
    }

    /// Events of `action` created before this instant have expired; `None`
    /// when the action is kept forever.
    pub fn cutoff(&self, action: &str, now: Timestamp) -> Option<Timestamp> {
        cutoff(self.period(action), now)
    }

    /// The actions among `present` that can expire, with their cutoffs,
    /// sorted by action.
    pub fn expiring(&self, present: impl IntoIterator<Item = String>, now: Timestamp) -> Vec<(String, Timestamp)> {
        let mut out: Vec<(String, Timestamp)> =
            present.into_iter().filter_map(|a| self.cutoff(&a, now).map(|c| (a, c))).collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Midnight UTC on the first day of `now`'s month.
pub fn month_start(now: Timestamp) -> DateTime<Utc> {
    let t = now.as_datetime();
    Utc.with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0).single().unwrap_or(t)
}

/// The reference's cutoff: start of the current month minus `days / 30`
/// months. `None` for `forever`.
pub fn cutoff(period: RetentionPeriod, now: Timestamp) -> Option<Timestamp> {
    let months = period.months()?;
    let start = month_start(now);
    // Out of chrono's range only for absurd periods: then nothing expires.
    Some(Timestamp::from_datetime(start.checked_sub_months(Months::new(months)).unwrap_or(DateTime::<Utc>::MIN_UTC)))
}

/// Whether a run deletes or only counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionMode {
    #[default]
    Delete,
    /// Count what would be deleted; change nothing.
    DryRun,
}

/// What a retention run did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// False when another run held the lock: this one deleted nothing.
    pub ran: bool,
    pub mode: RetentionMode,
    /// Events deleted per action, only for actions that lost some (the
    /// reference's `{action: count}`).
    pub deleted: BTreeMap<String, u64>,
    /// Row-deleting transactions that removed at least one event.
    pub batches: u64,
    /// PostgreSQL month partitions dropped whole (their events are counted in
    /// `deleted`); always empty on SQLite.
    pub dropped_partitions: Vec<String>,
}

impl RetentionReport {
    /// The report of a run that did not get the lock.
    pub fn not_run(mode: RetentionMode) -> Self {
        RetentionReport { ran: false, mode, ..Default::default() }
    }

    pub fn started(mode: RetentionMode) -> Self {
        RetentionReport { ran: true, mode, ..Default::default() }
    }

    pub fn add(&mut self, action: &str, n: u64) {
        if n > 0 {
            *self.deleted.entry(action.to_owned()).or_default() += n;
        }
    }

    /// All events deleted.
    pub fn total(&self) -> u64 {
        self.deleted.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn cutoffs() {
        let cases: &[(&str, RetentionPeriod, Option<&str>)] = &[
            // 60 days -> two months, 395 -> thirteen (the reference's examples).
            ("2026-03-15T10:00:00Z", RetentionPeriod::Days(60), Some("2026-01-01T00:00:00.000000+00:00")),
            ("2026-03-15T10:00:00Z", RetentionPeriod::Days(395), Some("2025-02-01T00:00:00.000000+00:00")),
            // Year wrap.
            ("2026-02-10T00:00:00Z", RetentionPeriod::Days(60), Some("2025-12-01T00:00:00.000000+00:00")),
            // End of month: whole months from the month's start, never a day count.
            ("2026-01-31T23:59:59.999999Z", RetentionPeriod::Days(60), Some("2025-11-01T00:00:00.000000+00:00")),
            ("2026-03-31T12:00:00Z", RetentionPeriod::Days(30), Some("2026-02-01T00:00:00.000000+00:00")),
            // Fewer than 30 days: everything before the current month.
            ("2026-03-01T00:00:00Z", RetentionPeriod::Days(29), Some("2026-03-01T00:00:00.000000+00:00")),
            ("2026-03-15T10:00:00Z", RetentionPeriod::Days(59), Some("2026-02-01T00:00:00.000000+00:00")),
            ("2026-03-15T10:00:00Z", RetentionPeriod::Forever, None),
        ];
        for (now, period, want) in cases {
            let got = cutoff(*period, ts(now)).map(|t| t.to_string());
            assert_eq!(got.as_deref(), *want, "{period} at {now}");
        }
    }

    #[test]
    fn policy_from_config() {
        let mut config = Config::default();
        config.retention.insert("draft.edit".into(), RetentionPeriod::Days(60));
        config.retention.insert("record.publish".into(), RetentionPeriod::Forever);
        let p = RetentionPolicy::from_config(&config);
        let now = ts("2026-03-15T00:00:00Z");
        let got: Vec<(String, String)> = p
            .expiring(["record.publish", "draft.edit", "draft.create", "draft.edit"].map(String::from), now)
            .into_iter()
            .map(|(a, c)| (a, c.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("draft.create".to_string(), "2025-02-01T00:00:00.000000+00:00".to_string()),
                ("draft.edit".to_string(), "2026-01-01T00:00:00.000000+00:00".to_string())
            ]
        );
        assert_eq!(p.batch_size, 1000);
    }
}
