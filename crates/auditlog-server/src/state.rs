//! [`AppState`]: what every handler shares — the service, the configuration,
//! the token table, the admin page's sessions, the metrics registry and the
//! optional integrity provider.

use std::sync::Arc;

use auditlog_core::Config;
use auditlog_store::AuditLogService;

use crate::admin::session::Sessions;
use crate::auth::TokenTable;
use crate::integrity::IntegrityView;
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
    /// Signed-in admin page users (in memory: a restart signs everyone out).
    pub(crate) sessions: Arc<Sessions>,
    /// The transparency log's answers for the admin page, once one exists.
    pub(crate) integrity: Option<Arc<dyn IntegrityView>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("service", &self.service)
            .field("base_url", &self.base_url)
            .field("tokens", &self.tokens)
            .field("integrity", &self.integrity.is_some())
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
            sessions: Arc::new(Sessions::default()),
            integrity: None,
            config,
        }
    }

    /// Shows `view`'s checkpoint and per-event inclusion on the admin page.
    pub fn with_integrity(mut self, view: Arc<dyn IntegrityView>) -> Self {
        self.integrity = Some(view);
        self
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
