//! `GET /api/audit-logs/{id}`: one event, with its `links.self`.

use axum::extract::State;
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
) -> Result<Response, ApiError> {
    let event = state.service.read(&auth.identity, id).await?;
    Ok(format.respond(StatusCode::OK, &event.to_api_json(&state.base_url)))
}
