//! SQLite schema and migrations, versioned with `PRAGMA user_version`.
//! Each migration runs in one transaction; a database from a newer release
//! is refused rather than guessed at.

use rusqlite::Connection;

use crate::error::StoreError;

/// Migrations in order; the database's `user_version` counts applied ones.
const MIGRATIONS: &[&str] = &[
    // 1: events, their filter indexes, metadata leaves, full-text index, facet counters.
    r#"
CREATE TABLE audit_events (
    seq           INTEGER PRIMARY KEY,  -- commit order
    id            TEXT    NOT NULL UNIQUE,
    created       INTEGER NOT NULL,     -- microseconds since the epoch, UTC
    action        TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    resource_id   TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    user_username TEXT,
    user_email    TEXT    NOT NULL,
    metadata      TEXT    NOT NULL,     -- JSON object
    message       TEXT    NOT NULL
);
CREATE INDEX audit_events_created  ON audit_events (created);
CREATE INDEX audit_events_action   ON audit_events (action, created);
CREATE INDEX audit_events_resource ON audit_events (resource_id, created);
CREATE INDEX audit_events_user     ON audit_events (user_id, created);

-- Every metadata leaf by dotted path (the reference's flat_object mapping).
CREATE TABLE audit_meta (
    path  TEXT    NOT NULL,
    value TEXT    NOT NULL,
    num   REAL,
    seq   INTEGER NOT NULL,
    PRIMARY KEY (path, value, seq)
) WITHOUT ROWID;

-- Free text: rowid = audit_events.seq. Contentless: the text lives in audit_events.
CREATE VIRTUAL TABLE audit_fts USING fts5(
    message, keys, email, meta,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Events per (resource type, action): facet counts and totals of unfiltered searches.
CREATE TABLE audit_counts (
    resource_type TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (resource_type, action)
) WITHOUT ROWID;
"#,
    // 2: the transparency log: events waiting for a leaf, the leaves, the
    //    interior nodes of the tree, and signed checkpoints.
    r#"
-- Committed events not yet leaves, with what their leaves need (NULL for
-- events stored before this migration: the sequencer reads the event).
CREATE TABLE audit_pending (
    seq       INTEGER PRIMARY KEY,       -- audit_events.seq: integration order
    event_id  TEXT,
    created   INTEGER,
    leaf_hash BLOB
);
CREATE TABLE audit_leaves (
    leaf_index INTEGER PRIMARY KEY,
    event_id   TEXT    NOT NULL UNIQUE,
    leaf_hash  BLOB    NOT NULL,
    created    INTEGER NOT NULL,         -- the event's, kept when its payload expires
    integrated INTEGER NOT NULL,
    expired    INTEGER                   -- set by retention
);
CREATE TABLE audit_tree (
    level INTEGER NOT NULL,              -- >= 1; level 0 is audit_leaves
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE audit_checkpoints (
    size    INTEGER PRIMARY KEY,
    root    BLOB    NOT NULL,
    note    TEXT    NOT NULL,
    created INTEGER NOT NULL
);
-- Events stored before the log existed join it in commit order.
INSERT INTO audit_pending (seq) SELECT seq FROM audit_events ORDER BY seq;
"#,
    // 3: full-text entries of events written in a host's unit of work wait
    //    here; the store's writer indexes them in batches.
    r#"
CREATE TABLE audit_fts_queue (
    seq     INTEGER PRIMARY KEY,
    message TEXT NOT NULL,
    keys    TEXT NOT NULL,
    email   TEXT NOT NULL,
    meta    TEXT NOT NULL
);
"#,
];

pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the schema up to date; a no-op when it already is.
pub fn migrate(conn: &mut Connection, location: &str) -> Result<(), StoreError> {
    let open_err = |e: rusqlite::Error| StoreError::open(location, describe(&e), Some(e.into()));
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(open_err)?;
    if version > LATEST {
        return Err(StoreError::open(
            location,
            format!("its schema version {version} is newer than this auditlog supports ({LATEST}); upgrade auditlog"),
            None,
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(open_err)?;
        // The version is re-read inside the write lock: another process may
        // have migrated in the meantime.
        let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(open_err)?;
        if now > i as i64 {
            continue;
        }
        tx.execute_batch(sql).map_err(open_err)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(open_err)?;
        tx.commit().map_err(open_err)?;
    }
    Ok(())
}

/// A readable sentence for common SQLite failures; SQLite's own message
/// stays the error's source.
pub fn describe(e: &rusqlite::Error) -> &'static str {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => "the file is not an SQLite database",
        Some(ErrorCode::CannotOpen) => "the file cannot be opened (check the path and its permissions)",
        Some(ErrorCode::ReadOnly) => "the file is read-only",
        Some(ErrorCode::PermissionDenied) => "permission denied",
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => "the database is locked by another process",
        Some(ErrorCode::DatabaseCorrupt) => "the database file is corrupt",
        _ => "SQLite reported an error",
    }
}
