//! `POST /api/audit-logs` and `POST /api/audit-logs/_bulk`: events sent by
//! other services. The body is parsed with [`EventInput::from_json`] (so
//! errors name the field), the request context is handed to the service,
//! and a bulk request stores all its valid lines in one transaction while
//! reporting each line.

use std::time::Instant;

use auditlog_core::{EventInput, FieldError, NotLogged, ValidationError};
use auditlog_store::Created;
use auditlog_store::service::LineOutcome;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
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

/// Failed lines of a bulk request reported in full; the rest are counted.
/// A body of many bad lines must not make a response (and a server's
/// memory) many times its own size.
pub(crate) const MAX_REPORTED_ERRORS: usize = 100;

/// One line's entry in a bulk response.
#[derive(Serialize)]
struct LineResult<'a> {
    index: usize,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<uuid::Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logged: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
}

impl LineResult<'_> {
    fn new(index: usize, status: u16) -> Self {
        LineResult { index, status, id: None, logged: None, reason: None, errors: None }
    }
}

#[derive(Serialize)]
struct BulkResponse<'a> {
    created: u64,
    not_logged: u64,
    failed: u64,
    results: Vec<LineResult<'a>>,
    /// Failed lines past the first [`MAX_REPORTED_ERRORS`]: counted in
    /// `failed`, not listed in `results`.
    #[serde(skip_serializing_if = "is_zero")]
    errors_omitted: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The failed lines of a bulk request: the first [`MAX_REPORTED_ERRORS`]
/// (by line) with their errors, and how many more there were.
#[derive(Default)]
struct Failures {
    listed: Vec<(usize, ValidationError)>,
    omitted: u64,
}

impl Failures {
    /// Records a failed line; lines must come in increasing order.
    fn add(&mut self, index: usize, error: ValidationError) {
        if self.listed.len() < MAX_REPORTED_ERRORS {
            self.listed.push((index, error));
        } else {
            self.omitted += 1;
        }
    }

    /// Both lists of failures, each in line order, as one: the first
    /// [`MAX_REPORTED_ERRORS`] lines listed, the rest counted.
    fn merge(self, other: Failures) -> Failures {
        let mut all: Vec<_> = self.listed.into_iter().chain(other.listed).collect();
        all.sort_by_key(|(index, _)| *index);
        let mut omitted = self.omitted + other.omitted;
        if all.len() > MAX_REPORTED_ERRORS {
            omitted += (all.len() - MAX_REPORTED_ERRORS) as u64;
            all.truncate(MAX_REPORTED_ERRORS);
        }
        Failures { listed: all, omitted }
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
    // line number in the body. Lines that do not parse are set aside as
    // they are read (only the first few kept in full), so memory follows
    // the valid lines, not the bad ones.
    let mut indexes = Vec::new();
    let mut inputs = Vec::new();
    let mut unreadable = Failures::default();
    for (index, line) in body.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_event(line.strip_suffix(b"\r").unwrap_or(line)) {
            Ok(input) => {
                indexes.push(index);
                inputs.push(Ok(input));
            }
            Err(e) => unreadable.add(index, e),
        }
    }
    drop(body);
    if inputs.is_empty() && unreadable.listed.is_empty() {
        return Err(ApiError::BadRequest("The body holds no events: send one JSON event per line.".into()));
    }
    let started = Instant::now();
    let outcomes = state.service.create_many(&auth.identity, inputs, Some(request)).await;
    state.metrics.observe_ingest(started.elapsed());
    let outcomes = outcomes?;
    let (mut created, mut skipped) = (0u64, 0u64);
    let mut accepted: Vec<LineResult<'_>> = Vec::new();
    let mut invalid = Failures::default();
    for (index, outcome) in indexes.into_iter().zip(outcomes) {
        match outcome {
            LineOutcome::Logged(event) => {
                created += 1;
                accepted.push(LineResult { id: Some(event.id), ..LineResult::new(index, 201) });
            }
            LineOutcome::NotLogged(reason) => {
                skipped += 1;
                accepted.push(LineResult {
                    logged: Some(false),
                    reason: Some(reason.to_string()),
                    ..LineResult::new(index, 200)
                });
            }
            LineOutcome::Invalid(e) => invalid.add(index, e),
        }
    }
    state.metrics.count_ingested(created);
    let failures = unreadable.merge(invalid);
    let failed = failures.listed.len() as u64 + failures.omitted;
    let mut results = accepted;
    results.extend(
        failures.listed.iter().map(|(index, e)| LineResult { errors: Some(&e.errors), ..LineResult::new(*index, 400) }),
    );
    results.sort_by_key(|r| r.index);
    let body = BulkResponse { created, not_logged: skipped, failed, results, errors_omitted: failures.omitted };
    Ok(format.respond(StatusCode::OK, &body))
}
