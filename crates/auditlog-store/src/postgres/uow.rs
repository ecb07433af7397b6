//! The unit of work on PostgreSQL (see [`crate::backend::uow`]): the host's
//! own transaction, with async calls.

use auditlog_core::{AuditLog, AuditLogOp, Event};
use tokio_postgres::{Client, Transaction};

use super::{insert_events, map_pg};
use crate::backend::uow::{self, UowTx};
use crate::error::StoreError;

pub use crate::backend::uow::UowError;

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
pub type UnitOfWork<'c> = uow::UnitOfWork<'c, Transaction<'c>, Box<dyn FnOnce(&[Event]) + Send + 'c>>;

impl UowTx for Transaction<'_> {
    async fn insert(&mut self, event: &Event) -> Result<(), StoreError> {
        insert_events(self, std::slice::from_ref(event)).await
    }

    async fn end(self, commit: bool) -> Result<(), StoreError> {
        match commit {
            true => self.commit().await,
            false => self.rollback().await,
        }
        .map_err(map_pg)
    }
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
        Self::new(tx, audit)
    }

    /// Validates the event and writes it in this transaction. An invalid
    /// event is reported here and also makes [`UnitOfWork::commit`] fail
    /// and roll back everything, so the host's change cannot commit without
    /// its audit event.
    pub async fn register(&mut self, op: impl Into<AuditLogOp>) -> Result<(), UowError> {
        self.register_op(op.into()).await
    }

    /// Runs `hook` with the committed events, only after a successful commit.
    pub fn on_commit(&mut self, hook: impl FnOnce(&[Event]) + Send + 'c) {
        self.add_hook(Box::new(hook));
    }

    /// Commits the host's writes and the audit events together, then runs the
    /// post-commit hooks.
    pub async fn commit(self) -> Result<Vec<Event>, UowError> {
        self.finish().await
    }

    /// Discards the host's writes and the audit events.
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.discard().await
    }
}

impl<'c> std::ops::Deref for UnitOfWork<'c> {
    type Target = Transaction<'c>;
    /// The transaction, for the host's own statements.
    fn deref(&self) -> &Transaction<'c> {
        &self.tx
    }
}
