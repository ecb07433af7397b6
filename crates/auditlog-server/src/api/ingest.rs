//! `POST /api/audit-logs` and `POST /api/audit-logs/_bulk`: events sent by
//! other services. The body is parsed with [`EventInput::from_json`] (so
//! errors name the field), the request context is handed to the service,
//! and a bulk request stores all its valid lines in one transaction while
//! reporting each line.

use std::time::Instant;

use auditlog_core::{EventInput, NotLogged, ValidationError};
use auditlog_store::Created;
use auditlog_store::service::LineOutcome;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::auth::{Authorized, need};
use crate::content::ResponseFormat;
use crate::error::ApiError;
use crate::extract::{Client, JsonBody, NdjsonBody};
use crate::state::AppState;

/// Field name used for errors about a body or line as a whole.
const WHOLE: &str = "(body)";

fn not_logged(reason: &NotLogged) -> Value {
    json!({"logged": false, "reason": reason.to_string()})
}

fn parse_event(bytes: &[u8]) -> Result<EventInput, ValidationError> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| ValidationError::single(WHOLE, format!("not valid UTF-8: {e}")))?;
    EventInput::from_json(text)
}

pub(crate) async fn create(
    State(state): State<AppState>,
    auth: Authorized<need::Create>,
    format: ResponseFormat,
    Client(request): Client,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let input = parse_event(&body)?;
    let started = Instant::now();
    let outcome = state.service.create(&auth.identity, input, Some(request)).await;
    state.metrics.observe_ingest(started.elapsed());
    match outcome? {
        Created::Logged(event) => {
            state.metrics.count_ingested(1);
            let body = event.to_api_json(&state.base_url);
            let mut res = format.respond(StatusCode::CREATED, &body);
            if let Some(location) = body["links"]["self"].as_str().and_then(|s| HeaderValue::from_str(s).ok()) {
                res.headers_mut().insert(LOCATION, location);
            }
            Ok(res)
        }
        Created::NotLogged(reason) => Ok(format.respond(StatusCode::OK, &not_logged(&reason))),
    }
}

pub(crate) async fn bulk(
    State(state): State<AppState>,
    auth: Authorized<need::Create>,
    format: ResponseFormat,
    Client(request): Client,
    NdjsonBody(body): NdjsonBody,
) -> Result<Response, ApiError> {
    // Blank lines are skipped but keep their place: `index` is the 0-based
    // line number in the body.
    let (indexes, inputs): (Vec<usize>, Vec<_>) = body
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(i, line)| (i, parse_event(line.strip_suffix(b"\r").unwrap_or(line))))
        .unzip();
    if inputs.is_empty() {
        return Err(ApiError::BadRequest("The body holds no events: send one JSON event per line.".into()));
    }
    let started = Instant::now();
    let outcomes = state.service.create_many(&auth.identity, inputs, Some(request)).await;
    state.metrics.observe_ingest(started.elapsed());
    let outcomes = outcomes?;
    let (mut created, mut skipped, mut failed) = (0u64, 0u64, 0u64);
    let results: Vec<Value> = indexes
        .into_iter()
        .zip(outcomes)
        .map(|(index, outcome)| match outcome {
            LineOutcome::Logged(event) => {
                created += 1;
                json!({"index": index, "status": 201, "id": event.id})
            }
            LineOutcome::NotLogged(reason) => {
                skipped += 1;
                let mut line = not_logged(&reason);
                line["index"] = json!(index);
                line["status"] = json!(200);
                line
            }
            LineOutcome::Invalid(e) => {
                failed += 1;
                json!({"index": index, "status": 400, "errors": e.errors})
            }
        })
        .collect();
    state.metrics.count_ingested(created);
    let body = json!({"created": created, "not_logged": skipped, "failed": failed, "results": results});
    Ok(format.respond(StatusCode::OK, &body))
}
