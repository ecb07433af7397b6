//! Operational endpoints, without authentication: `GET /health` (does the
//! store answer?), `GET /metrics` (Prometheus text) and the OpenAPI
//! document.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::content::{JSON, ResponseFormat};
use crate::error::ErrorCause;
use crate::openapi;
use crate::state::AppState;

pub(crate) async fn health(State(state): State<AppState>) -> Response {
    let store = state.service.store();
    match store.health().await {
        Ok(()) => ResponseFormat::Json.respond(StatusCode::OK, &json!({"status": "ok", "store": store.backend()})),
        Err(e) => {
            let mut res = ResponseFormat::Json
                .respond(StatusCode::SERVICE_UNAVAILABLE, &json!({"status": "unavailable", "store": store.backend()}));
            res.extensions_mut().insert(ErrorCause(e.to_string()));
            res
        }
    }
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"), (CACHE_CONTROL, "no-store")], state.metrics.render())
        .into_response()
}

pub(crate) async fn openapi() -> Response {
    ([(CONTENT_TYPE, JSON)], openapi::DOCUMENT).into_response()
}
