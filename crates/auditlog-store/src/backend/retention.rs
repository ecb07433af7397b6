//! A retention run, for every backend (SPEC 8): pending events are
//! integrated first (expiry keeps an event's leaf, so it must have one);
//! then, for each action present that can expire, a dry run counts what
//! has expired, and a real run deletes it in batches of
//! `policy.batch_size`, one transaction each, until a batch comes back
//! short. The backend takes its single-run lock around the run, and may do
//! work of its own before the per-action batches (PostgreSQL drops whole
//! month partitions) and after them (PostgreSQL compacts its counters).

use auditlog_core::Timestamp;

use crate::error::StoreError;
use crate::retention::{RetentionMode, RetentionPolicy, RetentionReport};
use auditlog_transparency::Integration;

/// Events integrated per round before expiring.
const INTEGRATE_BATCH: usize = 10_000;

/// What a backend does for a retention run.
pub(crate) trait RetentionBatches {
    /// One integration round of at most `max` pending events.
    async fn integrate(&mut self, max: usize) -> Result<Integration, StoreError>;

    /// Work before the per-action batches; counts what it removes in `report`.
    async fn before(
        &mut self,
        _policy: &RetentionPolicy,
        _now: Timestamp,
        _report: &mut RetentionReport,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// Actions with at least one stored event.
    async fn actions(&mut self) -> Result<Vec<String>, StoreError>;

    /// Events of `action` created before `cutoff`.
    async fn count_expired(&mut self, action: &str, cutoff: Timestamp) -> Result<u64, StoreError>;

    /// Expires up to `limit` events of `action` created before `cutoff`
    /// (never one still pending), in one transaction; how many went.
    async fn expire_batch(&mut self, action: &str, cutoff: Timestamp, limit: u32) -> Result<u64, StoreError>;

    /// Work after a deleting run.
    async fn after(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Runs retention under the lock the caller holds.
pub(crate) async fn run(
    b: &mut impl RetentionBatches,
    policy: &RetentionPolicy,
    now: Timestamp,
    mode: RetentionMode,
) -> Result<RetentionReport, StoreError> {
    if mode == RetentionMode::Delete {
        // When another sequencer is busy (several servers on PostgreSQL),
        // the pending events simply wait for the next run.
        while let Integration::Integrated { added, .. } = b.integrate(INTEGRATE_BATCH).await? {
            if (added as usize) < INTEGRATE_BATCH {
                break;
            }
        }
    }
    let mut report = RetentionReport::started(mode);
    b.before(policy, now, &mut report).await?;
    let present = b.actions().await?;
    let batch = policy.batch_size.max(1);
    for (action, cutoff) in policy.expiring(present, now) {
        match mode {
            RetentionMode::DryRun => {
                let n = b.count_expired(&action, cutoff).await?;
                report.add(&action, n);
            }
            RetentionMode::Delete => loop {
                let n = b.expire_batch(&action, cutoff, batch).await?;
                if n > 0 {
                    report.batches += 1;
                    report.add(&action, n);
                }
                if n < u64::from(batch) {
                    break;
                }
            },
        }
    }
    if mode == RetentionMode::Delete {
        b.after().await?;
    }
    Ok(report)
}
