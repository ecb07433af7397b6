//! The skeleton both SQL backends share: every step that SQLite
//! ([`crate::sqlite`]) and PostgreSQL ([`crate::postgres`]) take alike is
//! written here once, over small traits through which each backend supplies
//! only its SQL and its connection handling:
//!
//! - [`search`]: the statements of a search plan (columns, ranking, order,
//!   page, facet cells) over [`search::SearchDialect`];
//! - [`tree`]: one integration round of the transparency log over
//!   [`tree::TreeTx`] (frontier, take pending, write what was appended);
//! - [`retention`]: a retention run (integrate first, per expiring action
//!   a dry-run count or delete batches until one comes back short) over
//!   [`retention::RetentionBatches`];
//! - [`uow`]: the state of a host's unit of work (validate, poison, hooks)
//!   over whatever transaction type the backend's unit of work wraps.
//!
//! New per-event side tables (erasure, statistics) belong in the backends'
//! `insert_events` and in the expiry of [`retention`]; a time budget for
//! searches belongs in [`search::SearchSql`], which every search goes
//! through.

pub(crate) mod retention;
pub(crate) mod search;
pub(crate) mod tree;
pub mod uow;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use auditlog_core::Event;

use crate::error::StoreError;
use auditlog_transparency::Hash;

/// The columns of an event, in the order the backends' `row_to_event` read
/// them; the events table is aliased `e`.
pub(crate) const EVENT_COLUMNS: &str = "e.id, e.created, e.action, e.resource_type, e.resource_id, e.user_id, e.user_username, e.user_email, e.metadata, e.message";

/// The columns of a leaf of the log, in the order the backends' `row_to_leaf`
/// read them; the leaves table is aliased `l`.
pub(crate) const LEAF_COLUMNS: &str = "l.leaf_index, l.event_id, l.leaf_hash, l.created, l.integrated, l.expired";

/// Stored events that are neither leaves nor pending, oldest first: what
/// database verification reports as rows the log does not know. The pending
/// queue is keyed by the event's `seq` (a row queued by the migration that
/// introduced the log has no event id on SQLite); the backend appends its
/// `LIMIT` placeholder.
pub(crate) const UNLOGGED_EVENTS: &str = "SELECT e.id FROM audit_events e
             WHERE NOT EXISTS (SELECT 1 FROM audit_leaves l WHERE l.event_id = e.id)
               AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE p.seq = e.seq)
             ORDER BY e.seq LIMIT ";

/// A stored hash: exactly 32 bytes.
pub(crate) fn hash_of(v: Vec<u8>) -> Result<Hash, StoreError> {
    v.try_into().map_err(|v: Vec<u8>| StoreError::internal(format!("a stored hash has {} bytes, not 32", v.len())))
}

/// The full-text entry's identifiers of an event (the `keys` column of
/// SQLite's FTS5 table, the weight-C lexemes of PostgreSQL's tsvector):
/// its id, action, resource type and id, user id and username.
pub(crate) fn text_keys(e: &Event, id: &str) -> String {
    [id, &e.action, &e.resource.kind, &e.resource.id, &e.user.id, e.user.username.as_deref().unwrap_or("")].join(" ")
}

/// Runs a future that never waits to completion on the calling thread.
/// SQLite's side of the async skeleton is blocking rusqlite underneath, so
/// its futures finish in one poll (on the writer thread or a blocking
/// thread); one that does wait is a bug, reported as an error.
pub(crate) fn ready<T>(f: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => Err(StoreError::internal("a blocking SQLite step waited (this is a bug)")),
    }
}
