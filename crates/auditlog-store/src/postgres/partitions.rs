//! Month partitions of the events table: made ahead of time, rescued from
//! the DEFAULT partition, and dropped whole by retention.
//!
//! [`PgStore::maintain_partitions`] (at start and periodically in the
//! server) makes sure the current month and the next [`MONTHS_AHEAD`] have a
//! partition, so a month boundary never sends writes to the DEFAULT
//! partition. Rows that reach the DEFAULT partition anyway (clock skew,
//! imports of old events) are moved into a partition of their own month:
//! PostgreSQL refuses to create a partition whose range has rows in the
//! DEFAULT partition, so the partition is created detached, the rows moved,
//! and the partition attached, in one transaction with the events table
//! locked. Partition names are made here from a year and month, never from
//! input.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use tokio_postgres::GenericClient;
use tokio_postgres::types::Type;

use super::{LockClass, PgStore, counts, map_pg};
use crate::error::StoreError;
use auditlog_core::Timestamp;

/// Months after the current one that always have a partition.
pub const MONTHS_AHEAD: u32 = 2;

/// One month partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub name: String,
    /// Inclusive start: the first instant of the month (UTC).
    pub from: Timestamp,
    /// Exclusive end: the first instant of the next month.
    pub to: Timestamp,
}

/// What [`PgStore::maintain_partitions`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionReport {
    /// Partitions created, oldest first.
    pub created: Vec<String>,
    /// Rows moved out of the DEFAULT partition into them.
    pub moved: u64,
}

/// `audit_events_p2026_11`.
pub fn partition_name(year: i32, month: u32) -> String {
    format!("audit_events_p{year:04}_{month:02}")
}

fn parse_name(name: &str) -> Option<NaiveDate> {
    let rest = name.strip_prefix("audit_events_p")?;
    let (y, m) = rest.split_once('_')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

fn month_start(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

fn first_of_month(t: DateTime<Utc>) -> NaiveDate {
    NaiveDate::from_ymd_opt(t.year(), t.month(), 1).unwrap_or_default()
}

fn partition(month: NaiveDate) -> Option<Partition> {
    let next = month.checked_add_months(Months::new(1))?;
    Some(Partition {
        name: partition_name(month.year(), month.month()),
        from: Timestamp::from_datetime(month_start(month)),
        to: Timestamp::from_datetime(month_start(next)),
    })
}

/// A partition bound as SQL text (made from a date, never from input).
fn bound(t: Timestamp) -> String {
    format!("'{}'", t.as_datetime().format("%Y-%m-%d %H:%M:%S+00"))
}

/// The month partitions of the events table, oldest first.
pub(super) async fn list(c: &(impl GenericClient + Sync)) -> Result<Vec<Partition>, StoreError> {
    let rows = c
        .query_typed(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'audit_events'::regclass",
            &[],
        )
        .await
        .map_err(map_pg)?;
    let mut out: Vec<Partition> =
        rows.iter().filter_map(|r| parse_name(r.get::<_, &str>(0))).filter_map(partition).collect();
    out.sort_by_key(|p| p.from);
    Ok(out)
}

/// Starts a maintenance transaction: DDL may take longer than a query's
/// statement timeout, but must not queue forever behind a long reader.
pub(super) async fn begin_ddl(
    client: &mut tokio_postgres::Client,
) -> Result<tokio_postgres::Transaction<'_>, StoreError> {
    let tx = client.transaction().await.map_err(map_pg)?;
    tx.batch_execute("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = '10s'").await.map_err(map_pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))", &[&(LockClass::Partitions as i32)])
        .await
        .map_err(map_pg)?;
    Ok(tx)
}

impl PgStore {
    /// The month partitions, oldest first.
    pub async fn partitions(&self) -> Result<Vec<Partition>, StoreError> {
        list(&**self.client().await?).await
    }

    /// Creates the partitions of `now`'s month and the [`MONTHS_AHEAD`]
    /// following, and of every month that has rows in the DEFAULT partition
    /// (moving those rows into them). Idempotent; safe to run from several
    /// servers at once. Also compacts the facet count deltas.
    pub async fn maintain_partitions(&self, now: Timestamp) -> Result<PartitionReport, StoreError> {
        let mut client = self.client().await?;
        let existing: Vec<NaiveDate> = list(&**client).await?.iter().filter_map(|p| parse_name(&p.name)).collect();
        let current = first_of_month(now.as_datetime());
        let mut wanted: Vec<NaiveDate> =
            (0..=MONTHS_AHEAD).filter_map(|i| current.checked_add_months(Months::new(i))).collect();
        let stray = client
            .query_typed("SELECT DISTINCT date_trunc('month', created, 'UTC') FROM audit_events_default", &[])
            .await
            .map_err(map_pg)?;
        wanted.extend(stray.iter().map(|r| first_of_month(r.get::<_, DateTime<Utc>>(0))));
        wanted.sort();
        wanted.dedup();
        let mut report = PartitionReport::default();
        for month in wanted.into_iter().filter(|m| !existing.contains(m)) {
            let Some(p) = partition(month) else { continue };
            if let Some(moved) = create(&mut client, &p).await? {
                report.moved += moved;
                tracing::info!(partition = %p.name, moved, "created partition");
                report.created.push(p.name);
            }
        }
        counts::compact(&mut client).await?;
        Ok(report)
    }
}

/// Creates one partition; `Some(rows moved)` when this call created it.
async fn create(client: &mut tokio_postgres::Client, p: &Partition) -> Result<Option<u64>, StoreError> {
    let tx = begin_ddl(client).await?;
    // Another server may have made it while this one waited for the lock.
    let exists: bool = tx
        .query_typed_one("SELECT to_regclass($1) IS NOT NULL", &[(&p.name, Type::TEXT)])
        .await
        .map_err(map_pg)?
        .get(0);
    if exists {
        tx.commit().await.map_err(map_pg)?;
        return Ok(None);
    }
    let (from, to) = (p.from.as_datetime(), p.to.as_datetime());
    let range = [(&from as &(dyn tokio_postgres::types::ToSql + Sync), Type::TIMESTAMPTZ), (&to, Type::TIMESTAMPTZ)];
    // Writers lock the events table before a partition: locking it first
    // here keeps the order and stops new rows reaching the DEFAULT partition
    // between the move and the attach.
    tx.batch_execute("LOCK TABLE ONLY audit_events IN ACCESS EXCLUSIVE MODE").await.map_err(map_pg)?;
    let stray: bool = tx
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM audit_events_default WHERE created >= $1 AND created < $2)",
            &range,
        )
        .await
        .map_err(map_pg)?
        .get(0);
    let name = &p.name;
    let bounds = format!("FOR VALUES FROM ({}) TO ({})", bound(p.from), bound(p.to));
    let moved = if stray {
        tx.batch_execute(&format!("CREATE TABLE {name} (LIKE audit_events INCLUDING DEFAULTS)"))
            .await
            .map_err(map_pg)?;
        let moved = tx
            .execute_typed(
                &format!(
                    "WITH moved AS (DELETE FROM audit_events_default WHERE created >= $1 AND created < $2 RETURNING *)
                     INSERT INTO {name} SELECT * FROM moved"
                ),
                &range,
            )
            .await
            .map_err(map_pg)?;
        tx.batch_execute(&format!("ALTER TABLE audit_events ATTACH PARTITION {name} {bounds}"))
            .await
            .map_err(map_pg)?;
        moved
    } else {
        tx.batch_execute(&format!("CREATE TABLE {name} PARTITION OF audit_events {bounds}")).await.map_err(map_pg)?;
        0
    };
    tx.commit().await.map_err(map_pg)?;
    Ok(Some(moved))
}

/// The actions present in a partition (a loose index scan over its
/// `(action, created)` index: one probe per distinct action).
pub(super) async fn actions_in(c: &(impl GenericClient + Sync), p: &Partition) -> Result<Vec<String>, StoreError> {
    let name = &p.name;
    let rows = c
        .query_typed(
            &format!(
                "WITH RECURSIVE a(action) AS (
                     (SELECT action FROM {name} ORDER BY action LIMIT 1)
                     UNION ALL
                     SELECT (SELECT action FROM {name} WHERE action > a.action ORDER BY action LIMIT 1)
                     FROM a WHERE a.action IS NOT NULL
                 )
                 SELECT action FROM a WHERE action IS NOT NULL"
            ),
            &[],
        )
        .await
        .map_err(map_pg)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Events per (resource type, action) in a partition.
pub(super) async fn counts_in(
    c: &(impl GenericClient + Sync),
    p: &Partition,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    let rows = c
        .query_typed(&format!("SELECT resource_type, action, count(*) FROM {} GROUP BY 1, 2", p.name), &[])
        .await
        .map_err(map_pg)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bounds() {
        let p = partition(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()).unwrap();
        assert_eq!(p.name, "audit_events_p2026_12");
        assert_eq!(bound(p.from), "'2026-12-01 00:00:00+00'");
        assert_eq!(bound(p.to), "'2027-01-01 00:00:00+00'");
        assert_eq!(parse_name("audit_events_p2027_01"), NaiveDate::from_ymd_opt(2027, 1, 1));
        for bad in ["audit_events_default", "audit_events_p2027_13", "audit_events_p27_01", "other"] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }
}
