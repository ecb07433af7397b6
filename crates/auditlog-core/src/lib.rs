//! The audit-log domain: events, actions, the action registry, context
//! resolvers, message templates, configuration and unit-of-work operations.
//!
//! Architecture invariant: this crate does no IO (configuration files are read
//! by the caller and handed in as text) and knows nothing of SQL or HTTP. A
//! store or a server depends on it, never the other way round.

pub mod action;
pub mod audit;
pub mod builtin;
pub mod canonical;
pub mod config;
pub mod context;
pub mod error;
pub mod event;
pub mod identity;
mod json_numbers;
pub mod registry;
pub mod template;
pub mod uow;

pub use action::{Action, ActionSpec};
pub use audit::{AuditLog, EventInput, ImportedEvent, NotLogged};
pub use config::{Config, RetentionPeriod};
pub use context::{ContextData, ContextResolver, RequestInfo, ResolveContext, UserResolver};
pub use error::{BuildError, FieldError, ValidationError};
pub use event::{Event, EventDraft, Resource, Timestamp, User, UserRef};
pub use identity::{Identity, Permission, Role};
pub use registry::ActionRegistry;
pub use uow::AuditLogOp;
