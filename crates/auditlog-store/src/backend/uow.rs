//! The unit of work of both backends: a host's own transaction, into which
//! registered audit operations write their events; the events exist if and
//! only if the host's transaction commits. An invalid event is reported when
//! it is registered and also poisons the unit of work, whose commit then
//! rolls everything back; post-commit hooks run only after a commit.
//! Each backend's `UnitOfWork` wraps [`Work`] over its transaction type
//! (blocking on SQLite, async on PostgreSQL).

use auditlog_core::{AuditLog, AuditLogOp, Event, ValidationError};

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

/// A backend's transaction as a unit of work uses it. Public only because
/// it bounds [`UnitOfWork`]'s methods; this module is not reachable from
/// outside the crate, which implements it for its two transaction types.
#[allow(async_fn_in_trait)]
pub trait UowTx: Sized {
    /// Writes `event` with everything that indexes it.
    async fn insert(&mut self, event: &Event) -> Result<(), StoreError>;

    /// Commits, or rolls back.
    async fn end(self, commit: bool) -> Result<(), StoreError>;
}

/// A host transaction `T` plus the audit events registered on it; `H` is
/// the backend's post-commit hook. Each backend names its own
/// (`sqlite::UnitOfWork`, `postgres::UnitOfWork`) and gives it its
/// blocking or async methods.
#[must_use = "a unit of work rolls back unless committed"]
pub struct UnitOfWork<'c, T, H> {
    pub(crate) tx: T,
    audit: &'c AuditLog,
    events: Vec<Event>,
    failed: Option<ValidationError>,
    hooks: Vec<H>,
}

impl<T, H> UnitOfWork<'_, T, H> {
    /// Events registered so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }
}

impl<'c, T: UowTx, H: FnOnce(&[Event])> UnitOfWork<'c, T, H> {
    pub(crate) fn new(tx: T, audit: &'c AuditLog) -> Self {
        UnitOfWork { tx, audit, events: Vec::new(), failed: None, hooks: Vec::new() }
    }

    /// Validates the event and writes it in this transaction; an invalid
    /// event poisons the unit of work.
    pub(crate) async fn register_op(&mut self, op: AuditLogOp) -> Result<(), UowError> {
        let event = match self.audit.finalize(op.draft) {
            Ok(e) => e,
            Err(e) => {
                self.failed.get_or_insert_with(|| e.clone());
                return Err(e.into());
            }
        };
        self.tx.insert(&event).await?;
        self.events.push(event);
        Ok(())
    }

    pub(crate) fn add_hook(&mut self, hook: H) {
        self.hooks.push(hook);
    }

    /// Commits unless poisoned (then rolls back), and runs the hooks after a
    /// commit.
    pub(crate) async fn finish(self) -> Result<Vec<Event>, UowError> {
        if let Some(e) = self.failed {
            self.tx.end(false).await?;
            return Err(UowError::Invalid(e));
        }
        self.tx.end(true).await?;
        for hook in self.hooks {
            hook(&self.events);
        }
        Ok(self.events)
    }

    pub(crate) async fn discard(self) -> Result<(), StoreError> {
        self.tx.end(false).await
    }
}
