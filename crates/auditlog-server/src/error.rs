//! [`ApiError`]: every way a request can fail, mapped to an HTTP status and
//! the JSON body of SPEC 5.6, `{"status", "message"}` plus `errors` for
//! validation and `position` for query syntax. 4xx messages explain; 5xx
//! messages are generic and the cause travels to the request's log line
//! through the [`ErrorCause`] response extension.

use auditlog_core::{FieldError, ValidationError};
use auditlog_store::SearchError;
use auditlog_store::service::ProofError;
use auditlog_store::{QueryError, ServiceError, StoreError};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::content::JSON;

/// Why a request failed.
#[derive(Debug)]
pub enum ApiError {
    /// No `Authorization: Bearer` header (401).
    MissingToken,
    /// A bearer token that is not configured (401).
    InvalidToken,
    /// The token's roles lack the permission (403).
    Forbidden(String),
    NotFound(String),
    /// Not there yet (an event not yet integrated into the transparency
    /// log, no checkpoint yet): 404 with `Retry-After`.
    NotYet(String),
    MethodNotAllowed {
        method: Method,
        path: String,
    },
    /// A request that cannot be understood (an unreadable body or path).
    BadRequest(String),
    /// An event that fails validation; `errors` names the fields.
    Invalid(ValidationError),
    /// A query-string parameter with a bad value.
    BadParameter {
        param: String,
        message: String,
    },
    /// A `q` that does not parse.
    Query(QueryError),
    Pagination,
    PayloadTooLarge {
        limit: usize,
    },
    UnsupportedMediaType {
        found: Option<String>,
        accepted: &'static [&'static str],
    },
    Conflict(String),
    /// The store cannot serve now; retrying later may work (503).
    Unavailable {
        message: &'static str,
        retry_after_secs: u32,
        cause: String,
    },
    /// Anything else (500). The cause is logged, never shown.
    Internal(String),
}

/// The cause of a 5xx, for the request's log line.
#[derive(Debug, Clone)]
pub(crate) struct ErrorCause(pub(crate) String);

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MissingToken | ApiError::InvalidToken => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::NotYet(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BadRequest(_)
            | ApiError::Invalid(_)
            | ApiError::BadParameter { .. }
            | ApiError::Query(_)
            | ApiError::Pagination => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            ApiError::MissingToken => "Authentication required: send the header Authorization: Bearer <token>.".into(),
            ApiError::InvalidToken => "Invalid token.".into(),
            ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::NotYet(m)
            | ApiError::BadRequest(m)
            | ApiError::Conflict(m) => m.clone(),
            ApiError::MethodNotAllowed { method, path } => {
                let mut m = format!("Method {method} is not allowed on {path}.");
                if path.starts_with("/api/audit-logs") && [Method::PUT, Method::PATCH, Method::DELETE].contains(method)
                {
                    m.push_str(" Audit events are immutable: there is no update or delete.");
                }
                m
            }
            ApiError::Invalid(e) => e.to_string(),
            ApiError::BadParameter { param, message } => format!("Invalid value for parameter {param}: {message}"),
            ApiError::Query(e) => format!("Invalid query: {e}"),
            ApiError::Pagination => "Invalid pagination parameters.".into(),
            ApiError::PayloadTooLarge { limit } => {
                format!("The request body is larger than the limit of {limit} bytes (max_body_bytes).")
            }
            ApiError::UnsupportedMediaType { found, accepted } => match found {
                Some(found) => format!("Unsupported Content-Type {found:?}: send one of {}.", accepted.join(", ")),
                None => format!("Missing Content-Type: send one of {}.", accepted.join(", ")),
            },
            ApiError::Unavailable { message, .. } => (*message).into(),
            ApiError::Internal(_) => "Internal server error.".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = json!({"status": status.as_u16(), "message": self.message()});
        match &self {
            ApiError::Invalid(e) => body["errors"] = json!(e.errors),
            ApiError::BadParameter { param, message } => {
                body["errors"] = json!([FieldError::new(param.clone(), message.clone())]);
            }
            ApiError::Query(e) => body["position"] = json!(e.position),
            _ => {}
        }
        let mut res = (status, [(CONTENT_TYPE, HeaderValue::from_static(JSON))], body.to_string()).into_response();
        let headers = res.headers_mut();
        match &self {
            ApiError::MissingToken => {
                headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(r#"Bearer realm="auditlog""#));
            }
            ApiError::InvalidToken => {
                headers.insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer realm="auditlog", error="invalid_token""#),
                );
            }
            ApiError::Unavailable { retry_after_secs, .. } => {
                headers.insert(RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::NotYet(_) => {
                headers.insert(RETRY_AFTER, HeaderValue::from(1));
            }
            _ => {}
        }
        if let ApiError::Internal(cause) | ApiError::Unavailable { cause, .. } = self {
            res.extensions_mut().insert(ErrorCause(cause));
        }
        res
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::Invalid(e)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Forbidden { .. } => ApiError::Forbidden(e.to_string()),
            ServiceError::NotFound(_) => ApiError::NotFound(e.to_string()),
            ServiceError::Invalid(v) => ApiError::Invalid(v),
            ServiceError::Search(SearchError::Pagination) => ApiError::Pagination,
            ServiceError::Search(SearchError::Query(q)) => ApiError::Query(q),
            ServiceError::Search(SearchError::Param { param, message }) => {
                ApiError::BadParameter { param: param.into(), message }
            }
            ServiceError::Store(s) => s.into(),
            ServiceError::Proof(p) => p.into(),
        }
    }
}

impl From<ProofError> for ApiError {
    fn from(e: ProofError) -> Self {
        match e {
            ProofError::UnknownEvent(_) => ApiError::NotFound(e.to_string()),
            ProofError::NotIntegrated(_) | ProofError::NoCheckpoint => ApiError::NotYet(e.to_string()),
            ProofError::BeyondTree { .. } | ProofError::NotInTree { .. } | ProofError::Sizes(_) => {
                ApiError::BadRequest(e.to_string())
            }
            ProofError::Store(s) => s.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable { .. } => ApiError::Unavailable {
                message: "The database is unavailable; retry later.",
                retry_after_secs: 5,
                cause: e.report(),
            },
            StoreError::Locked { .. } => ApiError::Unavailable {
                message: "The database is busy; retry shortly.",
                retry_after_secs: 1,
                cause: e.report(),
            },
            StoreError::Duplicate(_) => ApiError::Conflict(e.to_string()),
            StoreError::Open { .. } | StoreError::Internal { .. } => ApiError::Internal(e.report()),
        }
    }
}
