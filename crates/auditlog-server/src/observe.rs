//! The outermost middleware: gives every request an id (from `X-Request-ID`
//! or a new UUIDv7) and echoes it on every response (with
//! `X-Content-Type-Options: nosniff`), marks credentials
//! sensitive, counts the request in the metrics and writes exactly one log
//! line for it — method, path (no query string), status, latency and
//! request id; never headers, so never a token.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::http::header::{AUTHORIZATION, COOKIE, X_CONTENT_TYPE_OPTIONS};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use uuid::Uuid;

use crate::error::ErrorCause;
use crate::extract::RequestId;
use crate::state::AppState;

pub(crate) const REQUEST_ID: &str = "x-request-id";

/// Target of the per-request log line, for filtering.
pub(crate) const ACCESS_LOG: &str = "auditlog_server::access";

/// Route label of requests that matched no route.
const UNMATCHED: &str = "(unmatched)";

pub(crate) async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable_request_id(v))
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_owned);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    for name in [AUTHORIZATION, COOKIE] {
        // Sensitive values print as "Sensitive" in any Debug output.
        if let Some(v) = req.headers_mut().get_mut(&name) {
            v.set_sensitive(true);
        }
    }
    let method = req.method().clone();
    let path = capped(req.uri().path(), MAX_LOGGED_PATH);
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());

    let span = tracing::info_span!("request", request_id = %request_id);
    let mut res = next.run(req).instrument(span).await;

    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    // Every response, JSON included, is read as the type it declares.
    res.headers_mut().entry(X_CONTENT_TYPE_OPTIONS).or_insert(HeaderValue::from_static("nosniff"));
    let status = res.status().as_u16();
    state.metrics.count_request(route.as_deref().unwrap_or(UNMATCHED), &method, status);
    let latency_ms = start.elapsed().as_micros() as f64 / 1000.0;
    let method = capped(method.as_str(), MAX_LOGGED_METHOD);
    match res.extensions().get::<ErrorCause>() {
        Some(ErrorCause(cause)) if status >= 500 => tracing::error!(
            target: ACCESS_LOG, method = %method, path = %path, status, latency_ms,
            request_id = %request_id, error = %cause, "request failed"
        ),
        _ if status >= 500 => tracing::error!(
            target: ACCESS_LOG, method = %method, path = %path, status, latency_ms,
            request_id = %request_id, "request failed"
        ),
        _ => tracing::info!(
            target: ACCESS_LOG, method = %method, path = %path, status, latency_ms,
            request_id = %request_id, "request"
        ),
    }
    res
}

/// The most bytes of a request's path and method a log line holds: both
/// are the client's to choose (a 50 KB method is valid HTTP).
const MAX_LOGGED_PATH: usize = 512;
const MAX_LOGGED_METHOD: usize = 32;

/// At most `max` bytes of `s` (cut on a character boundary), with how much
/// was left out.
fn capped(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let cut = (0..=max).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
    format!("{}...({} more bytes)", &s[..cut], s.len() - cut)
}

/// A client's request id is kept when it is short printable ASCII (it is
/// echoed in a header and written to logs); otherwise a new one is made.
fn acceptable_request_id(v: &str) -> bool {
    (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::{acceptable_request_id, capped};

    #[test]
    fn logged_text_is_capped() {
        assert_eq!(capped("GET", 32), "GET");
        assert_eq!(capped(&"M".repeat(50_000), 32), format!("{}...(49968 more bytes)", "M".repeat(32)));
        assert_eq!(capped("/ééé", 2), "/...(6 more bytes)");
    }

    #[test]
    fn request_id_rules() {
        for (id, ok) in [
            ("r-9", true),
            ("0193a0b4-8b4a-7c3e-9d2a-5f1e2b3c4d5e", true),
            ("", false),
            ("two words", false),
            ("tab\there", false),
            (&"x".repeat(128), true),
            (&"x".repeat(129), false),
        ] {
            assert_eq!(acceptable_request_id(id), ok, "{id:?}");
        }
    }
}
