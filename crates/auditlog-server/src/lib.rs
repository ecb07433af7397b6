//! The HTTP API of SPEC section 5: search, read and ingest of audit events
//! over axum, with bearer-token access, JSON errors, one log line per
//! request, Prometheus metrics and an OpenAPI document; and the admin page
//! of SPEC section 10 (server-rendered HTML under `/administration`).
//!
//! [`router`] builds the whole application from an [`AppState`]; tests drive
//! it with `tower::ServiceExt::oneshot`, the binary hands it to [`serve`].
//!
//! Architecture invariant: handlers hold no business rules. Permissions, the
//! feature flag and validation live in `auditlog-store`'s service and in
//! `auditlog-core`; this crate translates HTTP to those calls and their
//! outcomes back to HTTP. (The token extractor checks the route's permission
//! too, only so that a forbidden request is refused before its body is read;
//! the service remains the authority.)

mod admin;
mod api;
mod auth;
pub mod connection;
mod content;
mod error;
mod extract;
mod integrity;
mod metrics;
mod observe;
mod openapi;
mod routes;
mod state;

use std::future::Future;

pub use admin::ADMIN_PREFIX;
pub use auth::{generate_token, hash_token};
pub use integrity::{CheckpointSummary, EventIntegrity, IntegrityError, IntegrityView, LogIntegrity};
pub use routes::{api_route_table, route_table, router};
pub use state::AppState;

/// Serves `state`'s router on `listener` until `shutdown` resolves, within
/// the configuration's connection limits (see [`connection`]): requests
/// already in flight then finish, for at most `shutdown_timeout`, before
/// this returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = connection::Limits::from_config(&state.config);
    let metrics = state.metrics.clone();
    connection::serve(listener, router(state), metrics, limits, shutdown).await
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM: the signals `auditlog serve`
/// stops on.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
