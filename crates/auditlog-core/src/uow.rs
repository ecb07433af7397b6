//! Unit-of-work operations. A host registers an [`AuditLogOp`] on the unit
//! of work that wraps its own transaction; the store-specific unit of work
//! (in `auditlog-store`) validates and writes the event inside that
//! transaction when it commits, and runs post-commit work only after a
//! successful commit.

use crate::event::EventDraft;

/// "Log this event as part of the current transaction."
#[derive(Debug, Clone, PartialEq)]
pub struct AuditLogOp {
    pub draft: EventDraft,
}

impl AuditLogOp {
    pub fn new(draft: EventDraft) -> Self {
        AuditLogOp { draft }
    }
}

impl From<EventDraft> for AuditLogOp {
    fn from(draft: EventDraft) -> Self {
        AuditLogOp::new(draft)
    }
}
