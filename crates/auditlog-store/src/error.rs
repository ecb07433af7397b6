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

/// The cause of a store error, kept as the error's source.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why a store could not do what it was asked. Each variant's text says
/// what failed; the error that caused it (the driver's, the file
/// system's) is its [`std::error::Error::source`], not copied into text.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be opened or is not ours to use (unreadable,
    /// not a database, newer schema).
    #[error("cannot open the database {location}: {message}")]
    Open {
        location: String,
        message: String,
        #[source]
        source: Option<Cause>,
    },
    /// Another process holds the database and did not release it in time.
    #[error("the database {location} is locked by another process (waited {waited_ms} ms)")]
    Locked { location: String, waited_ms: u64 },
    /// The database server cannot be reached right now; retrying may work.
    #[error("the database is unavailable: {message}")]
    Unavailable {
        message: String,
        #[source]
        source: Option<Cause>,
    },
    /// An event with this id already exists.
    #[error("an event with id {0} already exists")]
    Duplicate(uuid::Uuid),
    /// Anything else the store reports.
    #[error("database error: {message}")]
    Internal {
        message: String,
        #[source]
        source: Option<Cause>,
    },
}

impl From<auditlog_transparency::TreeError> for StoreError {
    fn from(e: auditlog_transparency::TreeError) -> Self {
        StoreError::internal_from("the transparency log's stored tree", e)
    }
}

impl StoreError {
    /// An internal error that `message` describes fully.
    pub fn internal(message: impl Into<String>) -> Self {
        StoreError::Internal { message: message.into(), source: None }
    }

    /// An internal error: what failed (`message`) and why (`source`).
    pub fn internal_from(message: impl Into<String>, source: impl Into<Cause>) -> Self {
        StoreError::Internal { message: message.into(), source: Some(source.into()) }
    }

    /// The database is unavailable: `message` describes it fully.
    pub fn unavailable(message: impl Into<String>) -> Self {
        StoreError::Unavailable { message: message.into(), source: None }
    }

    /// The database is unavailable: what failed (`message`) and why (`source`).
    pub fn unavailable_from(message: impl Into<String>, source: impl Into<Cause>) -> Self {
        StoreError::Unavailable { message: message.into(), source: Some(source.into()) }
    }

    /// The database at `location` cannot be opened: why (`message`), and the
    /// error that said so, if any.
    pub fn open(location: impl Into<String>, message: impl Into<String>, source: Option<Cause>) -> Self {
        StoreError::Open { location: location.into(), message: message.into(), source }
    }

    /// The error's text followed by its sources' ("a: b: c"), for logs.
    pub fn report(&self) -> String {
        let mut out = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(e) = next {
            out.push_str(": ");
            out.push_str(&e.to_string());
            next = e.source();
        }
        out
    }
}
