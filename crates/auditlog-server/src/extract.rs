//! Our extractors: thin wrappers over axum's that answer with [`ApiError`]
//! (JSON) instead of the framework's plain-text rejections, plus the
//! request context an ingested event records.

use std::convert::Infallible;
use std::net::SocketAddr;

use auditlog_core::RequestInfo;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::content::{BULK_TYPES, JSON_TYPES, require_content_type};
use crate::error::ApiError;
use crate::state::AppState;

/// The id of the current request (from `X-Request-ID` or generated); set by
/// the observe middleware before any handler runs.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);

/// The body of a JSON request, at most `max_body_bytes` long.
pub(crate) struct JsonBody(pub(crate) Bytes);

/// The body of a bulk request (NDJSON, or one JSON document per line sent
/// as JSON), at most `max_body_bytes` long.
pub(crate) struct NdjsonBody(pub(crate) Bytes);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        require_content_type(req.headers(), JSON_TYPES)?;
        read_body(req, state).await.map(JsonBody)
    }
}

impl FromRequest<AppState> for NdjsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        require_content_type(req.headers(), BULK_TYPES)?;
        read_body(req, state).await.map(NdjsonBody)
    }
}

/// Reads the body under the router's `DefaultBodyLimit` (`max_body_bytes`).
async fn read_body(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit: state.config.max_body_bytes }
        } else {
            ApiError::BadRequest(format!("Cannot read the request body: {}", rejection.body_text()))
        }
    })
}

/// The `{id}` of `/api/audit-logs/{id}`: a UUID, else 400.
pub(crate) struct EventId(pub(crate) Uuid);

impl<S: Send + Sync> FromRequestParts<S> for EventId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
        Uuid::parse_str(&raw).map(EventId).map_err(|_| {
            ApiError::BadRequest(format!(
                "Invalid event id {raw:?}: expected a UUID like 01936f7e-8b4a-7c3e-9d2a-5f1e2b3c4d5e."
            ))
        })
    }
}

/// What the request resolver records about an ingest request: the peer
/// address, `X-Forwarded-For` and the request id.
pub(crate) struct Client(pub(crate) RequestInfo);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        // The extractor (not the raw extension) so tests' MockConnectInfo counts.
        let remote_addr = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .ok()
            .map(|ConnectInfo(a)| a.ip().to_string());
        // Several X-Forwarded-For headers are one list, in order.
        let forwarded: Vec<&str> =
            parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        let forwarded_for = (!forwarded.is_empty()).then(|| forwarded.join(", "));
        let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
        Ok(Client(RequestInfo { remote_addr, forwarded_for, session: None, request_id }))
    }
}
