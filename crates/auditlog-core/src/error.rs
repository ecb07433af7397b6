//! Error types of the domain: validation of events (with the fields that
//! failed) and registration of actions.

use std::fmt;

use serde::Serialize;

/// One invalid field and what is wrong with it. `field` is a dotted path into
/// the event (`action`, `user.email`, `metadata.revision_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub messages: Vec<String>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), messages: vec![message.into()] }
    }
}

/// An event that cannot be stored, with every field that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    pub errors: Vec<FieldError>,
}

impl ValidationError {
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError { errors: vec![FieldError::new(field, message)] }
    }

    /// True when one of the errors is about `field`.
    pub fn mentions(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid event: ")?;
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field, e.messages.join(", "))?;
        }
        Ok(())
    }
}

/// Failure to build an event from an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

/// Failure to register an action: these stop startup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("duplicate action id {0:?}: an action with this id is already registered")]
    DuplicateId(String),
    #[error("action {action:?}: invalid id: {message}")]
    InvalidId { action: String, message: String },
    #[error("action {action:?}: message_template: {message}")]
    Template { action: String, message: String },
    #[error("action {action:?}: metadata_schema: {message}")]
    Schema { action: String, message: String },
    #[error(
        "action {action:?}: unknown context resolver {name:?}; known: user, request, parent, record, changes, resource_data, file"
    )]
    UnknownResolver { action: String, name: String },
}
