//! Where audit events live. The [`Store`] trait is the interface; SQLite
//! ([`sqlite`]) is the embedded default. [`lower`] turns a parsed query into a
//! dialect-free condition that each store renders with its own [`sql::Dialect`].
//! [`postgres`] is the production store (monthly partitions). [`retention`]
//! decides what has expired; every store deletes it. [`service`] adds
//! permissions and the feature flag on top of any store. [`transparency`] keeps
//! every event as a leaf of a Merkle tree with signed checkpoints.
//!
//! Architecture invariant: stores never see query text or HTTP; they receive
//! validated events and search plans.

mod backend;
pub mod error;
pub mod export;
pub mod lower;
pub mod postgres;
pub mod retention;
pub mod search;
pub mod service;
pub mod sql;
pub mod sqlite;
pub mod store;

pub use error::{QueryError, QueryErrorKind, StoreError};
pub use retention::{RetentionMode, RetentionPolicy, RetentionReport};
pub use search::{SearchPlan, SearchResult, Sort};
pub use service::{AuditLogService, Created, SearchError, SearchParams, ServiceError};
pub use store::{EventStore, RetentionStore, Store, TreeStore};
