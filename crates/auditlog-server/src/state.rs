//! [`AppState`]: what every handler shares — the service, the configuration,
//! the token table and the metrics registry.

use std::sync::Arc;

use auditlog_core::Config;
use auditlog_store::AuditLogService;

use crate::auth::TokenTable;
use crate::metrics::Metrics;

/// The application's shared state. Cloning is cheap (reference counts only).
#[derive(Clone)]
pub struct AppState {
    pub(crate) service: AuditLogService,
    pub(crate) config: Arc<Config>,
    pub(crate) tokens: TokenTable,
    pub(crate) metrics: Arc<Metrics>,
    /// `config.base_url` without a trailing `/`, prefixed to every link.
    pub(crate) base_url: Arc<str>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("service", &self.service)
            .field("base_url", &self.base_url)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(config: Arc<Config>, service: AuditLogService) -> Self {
        AppState {
            service,
            tokens: TokenTable::from_config(&config.tokens),
            metrics: Arc::new(Metrics::default()),
            base_url: config.base_url.trim_end_matches('/').into(),
            config,
        }
    }

    pub fn service(&self) -> &AuditLogService {
        &self.service
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}
