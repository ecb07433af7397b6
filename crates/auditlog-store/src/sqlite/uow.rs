//! The unit of work on SQLite (see [`crate::backend::uow`]): the host's
//! own transaction, begun `IMMEDIATE`, with blocking calls.

use auditlog_core::{AuditLog, AuditLogOp, Event};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::{TextIndex, insert_events, map_err};
use crate::backend::ready;
use crate::backend::uow::{self, UowTx};
use crate::error::StoreError;

pub use crate::backend::uow::UowError;

/// A host transaction plus the audit events registered on it.
///
/// ```no_run
/// # use auditlog_core::*; use auditlog_store::sqlite::*;
/// # fn f(conn: &mut rusqlite::Connection, audit: &AuditLog) -> Result<(), Box<dyn std::error::Error>> {
/// let mut uow = UnitOfWork::begin(conn, audit)?;
/// uow.execute("INSERT INTO drafts (id) VALUES (?1)", ["abcd-1234"])?;
/// if let Some(draft) = audit.build(&Identity::user("1"), "draft.create", "abcd-1234",
///     ContextData::new().with("parent_pid", "wxyz-0000"))? {
///     uow.register(draft)?;
/// }
/// let events = uow.commit()?;
/// # Ok(()) }
/// ```
pub type UnitOfWork<'c> = uow::UnitOfWork<'c, Transaction<'c>, Box<dyn FnOnce(&[Event]) + 'c>>;

/// Events go in with their full-text entries queued for the store's writer
/// ([`TextIndex::Queue`]).
impl UowTx for Transaction<'_> {
    async fn insert(&mut self, event: &Event) -> Result<(), StoreError> {
        insert_events(self, std::slice::from_ref(event), TextIndex::Queue)
    }

    async fn end(self, commit: bool) -> Result<(), StoreError> {
        if commit { self.commit() } else { self.rollback() }.map_err(map_err)
    }
}

impl<'c> UnitOfWork<'c> {
    /// Begins the host's transaction (`BEGIN IMMEDIATE`, so concurrent
    /// writers queue on the busy timeout instead of failing on upgrade).
    pub fn begin(conn: &'c mut Connection, audit: &'c AuditLog) -> Result<Self, StoreError> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(map_err)?;
        Ok(Self::new(tx, audit))
    }

    /// Validates the event and writes it in this transaction. An invalid
    /// event is reported here and also makes [`UnitOfWork::commit`] fail
    /// and roll back everything, so the host's change cannot commit without
    /// its audit event.
    pub fn register(&mut self, op: impl Into<AuditLogOp>) -> Result<(), UowError> {
        ready(async { Ok(self.register_op(op.into()).await) })?
    }

    /// Runs `hook` with the committed events, only after a successful commit.
    pub fn on_commit(&mut self, hook: impl FnOnce(&[Event]) + 'c) {
        self.add_hook(Box::new(hook));
    }

    /// Commits the host's writes and the audit events together, then runs the
    /// post-commit hooks.
    pub fn commit(self) -> Result<Vec<Event>, UowError> {
        ready(async { Ok(self.finish().await) })?
    }

    /// Discards the host's writes and the audit events.
    pub fn rollback(self) -> Result<(), StoreError> {
        ready(self.discard())
    }
}

impl std::ops::Deref for UnitOfWork<'_> {
    type Target = Connection;
    /// The transaction's connection, for the host's own statements.
    fn deref(&self) -> &Connection {
        &self.tx
    }
}
