//! The unit of work on PostgreSQL: a host's own transaction, into which
//! registered audit operations write their events. Events exist if and only
//! if the host's transaction commits. Same shape and guarantees as
//! [`crate::sqlite::UnitOfWork`], with async calls.

use auditlog_core::{AuditLog, AuditLogOp, Event, ValidationError};
use tokio_postgres::{Client, Transaction};

use super::{insert_events, map_pg};
use crate::error::StoreError;
pub use crate::sqlite::UowError;

type CommitHook<'c> = Box<dyn FnOnce(&[Event]) + Send + 'c>;

/// A host transaction plus the audit events registered on it.
///
/// ```no_run
/// # use auditlog_core::*; use auditlog_store::postgres::*;
/// # async fn f(store: &PgStore, audit: &AuditLog) -> Result<(), Box<dyn std::error::Error>> {
/// let mut client = store.pool().get().await?;
/// let mut uow = UnitOfWork::begin(&mut client, audit).await?;
/// uow.execute("INSERT INTO drafts (id) VALUES ($1)", &[&"abcd-1234"]).await?;
/// if let Some(draft) = audit.build(&Identity::user("1"), "draft.create", "abcd-1234",
///     ContextData::new().with("parent_pid", "wxyz-0000"))? {
///     uow.register(draft).await?;
/// }
/// let events = uow.commit().await?;
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
    /// Begins a transaction on the host's connection (a pooled one from
    /// [`super::PgStore::pool`], or the host's own).
    pub async fn begin(client: &'c mut Client, audit: &'c AuditLog) -> Result<Self, StoreError> {
        let tx = client.transaction().await.map_err(map_pg)?;
        Ok(Self::within(tx, audit))
    }

    /// Adopts a transaction the host has already begun.
    pub fn within(tx: Transaction<'c>, audit: &'c AuditLog) -> Self {
        UnitOfWork { tx, audit, events: Vec::new(), failed: None, hooks: Vec::new() }
    }

    /// Validates the event and writes it in this transaction. An invalid
    /// event is reported here and also makes [`UnitOfWork::commit`] fail
    /// and roll back everything, so the host's change cannot commit without
    /// its audit event.
    pub async fn register(&mut self, op: impl Into<AuditLogOp>) -> Result<(), UowError> {
        let op = op.into();
        let event = match self.audit.finalize(op.draft) {
            Ok(e) => e,
            Err(e) => {
                self.failed.get_or_insert_with(|| e.clone());
                return Err(e.into());
            }
        };
        insert_events(&self.tx, std::slice::from_ref(&event)).await?;
        self.events.push(event);
        Ok(())
    }

    /// Runs `hook` with the committed events, only after a successful commit.
    pub fn on_commit(&mut self, hook: impl FnOnce(&[Event]) + Send + 'c) {
        self.hooks.push(Box::new(hook));
    }

    /// Events registered so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Commits the host's writes and the audit events together, then runs the
    /// post-commit hooks.
    pub async fn commit(self) -> Result<Vec<Event>, UowError> {
        if let Some(e) = self.failed {
            self.tx.rollback().await.map_err(map_pg)?;
            return Err(UowError::Invalid(e));
        }
        self.tx.commit().await.map_err(map_pg)?;
        for hook in self.hooks {
            hook(&self.events);
        }
        Ok(self.events)
    }

    /// Discards the host's writes and the audit events.
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.tx.rollback().await.map_err(map_pg)
    }
}

impl<'c> std::ops::Deref for UnitOfWork<'c> {
    type Target = Transaction<'c>;
    /// The transaction, for the host's own statements.
    fn deref(&self) -> &Transaction<'c> {
        &self.tx
    }
}
