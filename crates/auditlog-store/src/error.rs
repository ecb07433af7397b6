//! Store and query errors.

/// A query the user must fix: where, and what is wrong. The position is
/// only in [`QueryError::position`]; the text ([`std::fmt::Display`]) puts
/// it where it reads best, so callers never look for it in the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.text())]
pub struct QueryError {
    /// Byte offset into the query string.
    pub position: usize,
    pub kind: QueryErrorKind,
}

/// What is wrong with a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryErrorKind {
    /// The query does not parse.
    Syntax(auditlog_query::ParseErrorKind),
    /// A field the events do not have; `fields` lists the known ones.
    UnknownField { name: String, fields: &'static str },
    /// The query parses but asks for something the fields cannot do
    /// (a wildcard on a date, a range without a field, a bad date).
    Unsupported(String),
}

impl QueryError {
    /// An [`QueryErrorKind::Unsupported`] query at `position`.
    pub fn new(position: usize, message: impl Into<String>) -> Self {
        QueryError { position, kind: QueryErrorKind::Unsupported(message.into()) }
    }

    fn text(&self) -> String {
        let p = self.position;
        match &self.kind {
            QueryErrorKind::Syntax(kind) => auditlog_query::ParseError::new(kind.clone(), p).to_string(),
            QueryErrorKind::UnknownField { name, fields } => {
                format!("unknown field \"{name}\" at position {p}; fields are {fields}")
            }
            QueryErrorKind::Unsupported(message) => format!("{message} (position {p})"),
        }
    }
}

impl From<auditlog_query::ParseError> for QueryError {
    fn from(e: auditlog_query::ParseError) -> Self {
        QueryError { position: e.position, kind: QueryErrorKind::Syntax(e.kind) }
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

impl From<auditlog_transparency::TreeError> for StoreError {
    fn from(e: auditlog_transparency::TreeError) -> Self {
        StoreError::Internal(e.to_string())
    }
}

impl StoreError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        StoreError::Internal(e.to_string())
    }
}
