//! Where audit events live. [`store`] holds the contracts, one per job
//! ([`EventStore`], [`TreeStore`], [`RetentionStore`]; [`Store`] is all
//! three); SQLite ([`sqlite`]) is the embedded default and [`postgres`] the
//! production store (monthly partitions), both built on one shared skeleton
//! (the private `backend` module) so that each keeps only its SQL and its
//! connection handling. [`lower`] turns a parsed query into a dialect-free
//! condition that each store renders with its own [`sql::Dialect`].
//! [`retention`] decides what has expired; every store deletes it.
//! [`service`] adds permissions, the feature flag and the search parameters
//! on top of any store, and asks `auditlog-transparency` for proofs.
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
