//! Every route of the server, in one table, and the router built from it:
//! the middleware stack, the JSON 404 for unknown paths and the JSON 405
//! (with `Allow`) for known paths with the wrong method.
//!
//! The table holds the JSON API and the admin page's HTML routes (under
//! [`ADMIN_PREFIX`]). The API part is what the OpenAPI test compares the
//! document against, so an API route cannot be added without documenting
//! it; admin routes get the admin pages' security headers.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use tower_http::catch_panic::CatchPanicLayer;

use crate::admin::{self, ADMIN_PREFIX, assets, event, sign_in};
use crate::api::{events, ingest, ops, search, transparency};
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

/// An admin page route: HTML, with the admin security headers.
fn page<H, T>(method: Method, path: &'static str, handler: H) -> Endpoint
where
    H: Handler<T, AppState>,
    T: 'static,
{
    debug_assert!(path.starts_with(ADMIN_PREFIX), "admin routes live under {ADMIN_PREFIX}: {path}");
    let Endpoint { method, path, route } = endpoint(method, path, handler);
    // A panic in a page is the page's HTML error, not the API's JSON.
    let route =
        route.layer(CatchPanicLayer::custom(admin_panic_page)).layer(axum::middleware::map_response(admin_headers));
    Endpoint { method, path, route }
}

fn admin_panic_page(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    admin::error_page(admin::Layout::new("Error", None), ApiError::Internal(panic_cause(&panic)))
}

async fn admin_headers(res: Response) -> Response {
    admin::with_security_headers(res)
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
        // The transparency log (SPEC 5.5).
        endpoint(Method::GET, "/api/audit-logs/checkpoint", transparency::checkpoint),
        endpoint(Method::GET, "/api/audit-logs/consistency", transparency::consistency),
        endpoint(Method::GET, "/api/audit-logs/{id}/proof", transparency::proof),
        endpoint(Method::GET, "/health", ops::health),
        endpoint(Method::GET, "/metrics", ops::metrics),
        // The admin page (SPEC 10): HTML for browsers, not part of the API.
        page(Method::GET, "/administration", admin::home),
        page(Method::GET, "/administration/audit-logs", admin::search::page),
        page(Method::GET, "/administration/audit-logs/{id}", event::page),
        page(Method::GET, "/administration/sign-in", sign_in::form),
        page(Method::POST, "/administration/sign-in", sign_in::submit),
        page(Method::POST, "/administration/sign-out", sign_in::sign_out),
        page(Method::GET, "/administration/static/admin.css", assets::stylesheet),
        page(Method::GET, "/administration/static/admin.js", assets::script),
    ]
}

/// Every (method, path) the router serves, in table order; `GET` routes
/// also answer `HEAD`.
pub fn route_table() -> Vec<(Method, &'static str)> {
    endpoints().into_iter().map(|e| (e.method, e.path)).collect()
}

/// The routes of the JSON API: the table without the admin pages. This is
/// what the OpenAPI document describes.
pub fn api_route_table() -> Vec<(Method, &'static str)> {
    route_table().into_iter().filter(|(_, path)| !is_admin_path(path)).collect()
}

fn is_admin_path(path: &str) -> bool {
    path.strip_prefix(ADMIN_PREFIX).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
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

async fn not_found(method: Method, uri: Uri) -> Response {
    if is_admin_path(uri.path()) {
        return admin::not_found(&uri);
    }
    ApiError::NotFound(format!("No such endpoint: {method} {}.", uri.path())).into_response()
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed { method, path: uri.path().to_owned() }
}

fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal(panic_cause(&panic)).into_response()
}

/// What a panic says, for the request's log line.
fn panic_cause(panic: &Box<dyn std::any::Any + Send + 'static>) -> String {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    format!("handler panicked: {detail}")
}
