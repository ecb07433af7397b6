//! Every route of the server, in one table, and the router built from it:
//! the middleware stack, the JSON 404 for unknown paths and the JSON 405
//! (with `Allow`) for known paths with the wrong method.
//!
//! The table is also what the OpenAPI test compares the document against,
//! so a route cannot be added without documenting it.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use tower_http::catch_panic::CatchPanicLayer;

use crate::api::{events, ingest, ops, search};
use crate::error::ApiError;
use crate::observe::observe;
use crate::state::AppState;

/// One method on one path.
pub(crate) struct Endpoint {
    pub(crate) method: Method,
    pub(crate) path: &'static str,
    route: MethodRouter<AppState>,
}

fn endpoint<H, T>(method: Method, path: &'static str, handler: H) -> Endpoint
where
    H: Handler<T, AppState>,
    T: 'static,
{
    // Only the standard methods below are used; all have a filter.
    let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
    Endpoint { method, path, route: on(filter, handler) }
}

/// The route table. Static segments (`_bulk`, `openapi.json`) win over
/// `{id}` whatever the order here: the router prefers static matches.
pub(crate) fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint(Method::GET, "/api/audit-logs", search::search),
        // The form the reference's links use.
        endpoint(Method::GET, "/api/audit-logs/", search::search),
        endpoint(Method::POST, "/api/audit-logs", ingest::create),
        endpoint(Method::POST, "/api/audit-logs/_bulk", ingest::bulk),
        endpoint(Method::GET, "/api/audit-logs/openapi.json", ops::openapi),
        endpoint(Method::GET, "/api/audit-logs/{id}", events::read),
        endpoint(Method::GET, "/health", ops::health),
        endpoint(Method::GET, "/metrics", ops::metrics),
    ]
}

/// Every (method, path) the router serves, in table order; `GET` routes
/// also answer `HEAD`.
pub fn route_table() -> Vec<(Method, &'static str)> {
    endpoints().into_iter().map(|e| (e.method, e.path)).collect()
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let router = endpoints().into_iter().fold(Router::new(), |r, e| r.route(e.path, e.route));
    router
        // Applies to every route registered above.
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(CatchPanicLayer::custom(panic_response))
        // Outermost, so that it sees (and tags) every response, even a panic's.
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("No such endpoint: {method} {}.", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed { method, path: uri.path().to_owned() }
}

fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    ApiError::Internal(format!("handler panicked: {detail}")).into_response()
}
