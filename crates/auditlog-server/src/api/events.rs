//! `GET /api/audit-logs/{id}`: one event, with its `links.self`, and with
//! `?integrity=1` its place in the transparency log.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::auth::{Authorized, need};
use crate::content::ResponseFormat;
use crate::error::ApiError;
use crate::extract::EventId;
use crate::state::AppState;

pub(crate) async fn read(
    State(state): State<AppState>,
    auth: Authorized<need::Read>,
    format: ResponseFormat,
    EventId(id): EventId,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let event = state.service.read(&auth.identity, id).await?;
    let mut body = event.to_api_json(&state.base_url);
    if wants_integrity(&query)? {
        let integrity = state.service.integrity_many(&auth.identity, &[id]).await?.events.remove(&id);
        body["integrity"] = serde_json::to_value(integrity).map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    Ok(format.respond(StatusCode::OK, &body))
}

/// `integrity=1` (or `true`); absent, `0` or `false` leave it out.
fn wants_integrity(query: &Option<String>) -> Result<bool, ApiError> {
    let value = form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "integrity")
        .map(|(_, v)| v.into_owned());
    match value.as_deref() {
        None | Some("" | "0" | "false") => Ok(false),
        Some("1" | "true") => Ok(true),
        Some(other) => Err(ApiError::BadParameter {
            param: "integrity".into(),
            message: format!("{other:?}: use 1 (or true) to include the event's integrity status"),
        }),
    }
}
