//! PostgreSQL schema and migrations, versioned in `auditlog_migrations`.
//! Pending migrations run in one transaction, under an advisory lock so two
//! servers starting together migrate once; a database from a newer release
//! is refused rather than guessed at. Tables are created in the connection's
//! current schema (`search_path`).
//!
//! The events table is range-partitioned by month on `created`. Month
//! partitions are made ahead of time by [`super::PgStore::maintain_partitions`];
//! the DEFAULT partition catches whatever falls outside them (clock skew,
//! imports of old events) so that no write ever fails for want of a partition.

use super::{LockClass, PgStore, map_pg};
use crate::error::StoreError;

/// Migrations in order; the highest applied version is the schema's version.
const MIGRATIONS: &[&str] = &[
    // 1: events (partitioned), their filter, metadata and full-text indexes,
    //    and the facet count deltas.
    r#"
CREATE SEQUENCE audit_events_seq;

CREATE TABLE audit_events (
    id            uuid        NOT NULL,
    created       timestamptz NOT NULL,
    seq           bigint      NOT NULL DEFAULT nextval('audit_events_seq'),  -- insertion order, a tie-break
    action        text        NOT NULL,
    resource_type text        NOT NULL,
    resource_id   text        NOT NULL,
    user_id       text        NOT NULL,
    user_username text,
    user_email    text        NOT NULL,
    metadata      jsonb       NOT NULL,
    message       text        NOT NULL,
    fts           tsvector    NOT NULL,  -- built in Rust: see dialect.rs
    PRIMARY KEY (id, created)
) PARTITION BY RANGE (created);

CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT;

CREATE INDEX audit_events_created  ON audit_events (created, seq);
CREATE INDEX audit_events_action   ON audit_events (action, created);
CREATE INDEX audit_events_resource ON audit_events (resource_id, created);
CREATE INDEX audit_events_user     ON audit_events (user_id, created);
CREATE INDEX audit_events_metadata ON audit_events USING gin (metadata jsonb_path_ops);
CREATE INDEX audit_events_fts      ON audit_events USING gin (fts);

-- Facet counts as insert-only deltas, summed on read and compacted now and
-- then (see counts.rs for why not one counter row per key).
CREATE TABLE audit_counts (
    resource_type text   NOT NULL,
    action        text   NOT NULL,
    n             bigint NOT NULL
);
"#,
    // 2: the transparency log: events waiting for a leaf, the leaves, the
    //    interior nodes of the tree, and signed checkpoints.
    r#"
-- Committed events not yet leaves, with their leaf hashes (NULL for events
-- stored before this migration: the sequencer reads the event).
CREATE TABLE audit_pending (
    seq       bigint      PRIMARY KEY,     -- audit_events.seq: integration order
    id        uuid        NOT NULL,
    created   timestamptz NOT NULL,
    leaf_hash bytea
);
CREATE TABLE audit_leaves (
    leaf_index bigint      PRIMARY KEY,
    event_id   uuid        NOT NULL UNIQUE,
    leaf_hash  bytea       NOT NULL,
    created    timestamptz NOT NULL,       -- the event's, kept when its payload expires
    integrated timestamptz NOT NULL,
    expired    timestamptz                 -- set by retention
);
CREATE TABLE audit_tree (
    level smallint NOT NULL,               -- >= 1; level 0 is audit_leaves
    idx   bigint   NOT NULL,
    hash  bytea    NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE audit_checkpoints (
    size    bigint      PRIMARY KEY,
    root    bytea       NOT NULL,
    note    text        NOT NULL,
    created timestamptz NOT NULL
);
-- Events stored before the log existed join it in insertion order.
INSERT INTO audit_pending (seq, id, created) SELECT seq, id, created FROM audit_events;
"#,
];

pub const LATEST: i32 = MIGRATIONS.len() as i32;

impl PgStore {
    /// Brings the schema up to date; a no-op when it already is. `auditlog
    /// migrate` runs it, and `serve` unless `migrate_on_start` is off.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let open_err = |e: tokio_postgres::Error| match map_pg(e) {
            StoreError::Internal { message, source } => {
                StoreError::Open { location: self.location().to_owned(), message, source }
            }
            other => other,
        };
        let tx = client.transaction().await.map_err(open_err)?;
        tx.batch_execute("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = '30s'").await.map_err(open_err)?;
        tx.execute("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))", &[&(LockClass::Migrate as i32)])
            .await
            .map_err(open_err)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS auditlog_migrations (
                 version integer     PRIMARY KEY,
                 applied timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await
        .map_err(open_err)?;
        let version: i32 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM auditlog_migrations", &[])
            .await
            .map_err(open_err)?
            .get(0);
        if version > LATEST {
            return Err(StoreError::open(
                self.location(),
                format!(
                    "its schema version {version} is newer than this auditlog supports ({LATEST}); upgrade auditlog"
                ),
                None,
            ));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.batch_execute(sql).await.map_err(open_err)?;
            tx.execute("INSERT INTO auditlog_migrations (version) VALUES ($1)", &[&(i as i32 + 1)])
                .await
                .map_err(open_err)?;
            tracing::info!(version = i + 1, "applied PostgreSQL migration");
        }
        tx.commit().await.map_err(open_err)
    }

    /// The schema version of the database (0 before the first migration).
    pub async fn schema_version(&self) -> Result<i32, StoreError> {
        let client = self.client().await?;
        let exists: bool = client
            .query_one("SELECT to_regclass('auditlog_migrations') IS NOT NULL", &[])
            .await
            .map_err(map_pg)?
            .get(0);
        if !exists {
            return Ok(0);
        }
        Ok(client
            .query_one("SELECT coalesce(max(version), 0) FROM auditlog_migrations", &[])
            .await
            .map_err(map_pg)?
            .get(0))
    }
}
