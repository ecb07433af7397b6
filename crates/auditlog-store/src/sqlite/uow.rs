//! The unit of work on SQLite: a host's own transaction, into which
//! registered audit operations write their events. Events exist if and only
//! if the host's transaction commits.

use auditlog_core::{AuditLog, AuditLogOp, Event, ValidationError};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::{TextIndex, insert_events, map_err};
use crate::error::StoreError;

/// Why a unit of work did not commit.
#[derive(Debug, thiserror::Error)]
pub enum UowError {
    /// An audit event was invalid; the whole transaction was rolled back.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type CommitHook<'c> = Box<dyn FnOnce(&[Event]) + 'c>;

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
#[must_use = "a unit of work rolls back unless committed"]
pub struct UnitOfWork<'c> {
    tx: Transaction<'c>,
    audit: &'c AuditLog,
    events: Vec<Event>,
    failed: Option<ValidationError>,
    hooks: Vec<CommitHook<'c>>,
}

impl<'c> UnitOfWork<'c> {
    /// Begins the host's transaction (`BEGIN IMMEDIATE`, so concurrent
    /// writers queue on the busy timeout instead of failing on upgrade).
    pub fn begin(conn: &'c mut Connection, audit: &'c AuditLog) -> Result<Self, StoreError> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(map_err)?;
        Ok(UnitOfWork { tx, audit, events: Vec::new(), failed: None, hooks: Vec::new() })
    }

    /// Validates the event and writes it in this transaction. An invalid
    /// event is reported here and also makes [`UnitOfWork::commit`] fail
    /// and roll back everything, so the host's change cannot commit without
    /// its audit event.
    pub fn register(&mut self, op: impl Into<AuditLogOp>) -> Result<(), UowError> {
        let op = op.into();
        let event = match self.audit.finalize(op.draft) {
            Ok(e) => e,
            Err(e) => {
                self.failed.get_or_insert_with(|| e.clone());
                return Err(e.into());
            }
        };
        insert_events(&self.tx, std::slice::from_ref(&event), TextIndex::Queue)?;
        self.events.push(event);
        Ok(())
    }

    /// Runs `hook` with the committed events, only after a successful commit.
    pub fn on_commit(&mut self, hook: impl FnOnce(&[Event]) + 'c) {
        self.hooks.push(Box::new(hook));
    }

    /// Events registered so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Commits the host's writes and the audit events together, then runs the
    /// post-commit hooks.
    pub fn commit(self) -> Result<Vec<Event>, UowError> {
        if let Some(e) = self.failed {
            self.tx.rollback().map_err(map_err)?;
            return Err(UowError::Invalid(e));
        }
        self.tx.commit().map_err(map_err)?;
        for hook in self.hooks {
            hook(&self.events);
        }
        Ok(self.events)
    }

    /// Discards the host's writes and the audit events.
    pub fn rollback(self) -> Result<(), StoreError> {
        self.tx.rollback().map_err(map_err)
    }
}

impl std::ops::Deref for UnitOfWork<'_> {
    type Target = Connection;
    /// The transaction's connection, for the host's own statements.
    fn deref(&self) -> &Connection {
        &self.tx
    }
}
