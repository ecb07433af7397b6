//! Store and query errors.

/// A query the user must fix: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    /// Byte offset into the query string.
    pub position: usize,
    pub message: String,
}

impl QueryError {
    pub fn new(position: usize, message: impl Into<String>) -> Self {
        QueryError { position, message: message.into() }
    }
}

impl From<auditlog_query::ParseError> for QueryError {
    fn from(e: auditlog_query::ParseError) -> Self {
        QueryError { position: e.position, message: e.to_string() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be opened or is not ours to use (unreadable,
    /// not a database, newer schema).
    #[error("cannot open the database {location}: {message}")]
    Open { location: String, message: String },
    /// Another process holds the database and did not release it in time.
    #[error("the database {location} is locked by another process (waited {waited_ms} ms)")]
    Locked { location: String, waited_ms: u64 },
    /// The database server cannot be reached right now; retrying may work.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// An event with this id already exists.
    #[error("an event with id {0} already exists")]
    Duplicate(uuid::Uuid),
    /// Anything else the store reports.
    #[error("database error: {0}")]
    Internal(String),
}

impl StoreError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        StoreError::Internal(e.to_string())
    }
}
