//! Test harness: the real router over a real SQLite store in a tempdir,
//! three tokens with known plaintexts, and one helper, [`App::send`], that
//! answers a request with (status, headers, JSON) — no socket involved.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::config::TokenConfig;
use auditlog_core::{AuditLog, Config, Event, Role, Timestamp, User};
use auditlog_server::{AppState, hash_token, router};
use auditlog_store::search::{SearchPlan, StoreHits};
use auditlog_store::sqlite::{SqliteOptions, SqliteStore};
use auditlog_store::{
    AuditLogService, EventStore, RetentionMode, RetentionPolicy, RetentionReport, RetentionStore, Store, StoreError,
    TreeStore,
};
use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

pub const ADMIN: &str = "al_test-admin-9f1c2b";
pub const SYSTEM: &str = "al_test-system-4d7e0a";
pub const AUDITOR: &str = "al_test-auditor-b3a851";
pub const BASE: &str = "https://127.0.0.1:5000";
pub const JSON: &str = "application/json";
pub const VND: &str = "application/vnd.inveniordm.v1+json";
pub const NDJSON: &str = "application/x-ndjson";

/// Enabled, with the three tokens and the reference's base URL.
pub fn config() -> Config {
    let token = |plain: &str, role: Role| TokenConfig { sha256: hash_token(plain), roles: vec![role] };
    Config {
        enabled: true,
        base_url: format!("{BASE}/"),
        tokens: BTreeMap::from([
            ("admin".to_owned(), token(ADMIN, Role::Admin)),
            ("system".to_owned(), token(SYSTEM, Role::System)),
            ("auditor".to_owned(), token(AUDITOR, Role::Auditor)),
        ]),
        ..Config::default()
    }
}

pub struct App {
    pub router: Router,
    pub state: AppState,
    pub sqlite: Option<Arc<SqliteStore>>,
    _dir: tempfile::TempDir,
}

/// A response, its body read as JSON (`Value::Null` when it is not JSON).
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Res {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    /// Asserts the SPEC 5.6 error shape and returns the message.
    pub fn error_message(&self) -> &str {
        assert_eq!(self.json["status"], self.status.as_u16(), "error body {}", self.text);
        assert_eq!(self.content_type(), JSON, "error content type");
        self.json["message"].as_str().unwrap_or_else(|| panic!("no message in {}", self.text))
    }
}

/// A request under construction.
pub struct Call {
    req: axum::http::request::Builder,
    body: Body,
}

pub fn call(method: &str, uri: &str) -> Call {
    Call { req: Request::builder().method(method).uri(uri), body: Body::empty() }
}

pub fn get(uri: &str, token: &str) -> Call {
    call("GET", uri).token(token)
}

/// `POST` of a JSON body with the system token.
pub fn post(uri: &str, body: &str) -> Call {
    call("POST", uri).token(SYSTEM).body(JSON, body.to_owned())
}

impl Call {
    pub fn token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.req = self.req.header(name, value);
        self
    }

    pub fn body(self, content_type: &str, body: impl Into<Body>) -> Self {
        let mut c = self.header("content-type", content_type);
        c.body = body.into();
        c
    }

    pub fn raw_body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    pub fn build(self) -> Request<Body> {
        self.req.body(self.body).expect("valid test request")
    }
}

impl App {
    pub fn new() -> App {
        App::with_config(config())
    }

    pub fn with_config(config: Config) -> App {
        App::with_sqlite(config, SqliteOptions::default())
    }

    pub fn with_sqlite(config: Config, opts: SqliteOptions) -> App {
        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = Arc::new(SqliteStore::open(dir.path().join("a.db"), opts).expect("open sqlite"));
        App::build(config, sqlite.clone(), Some(sqlite), dir)
    }

    /// An app over any store (a failing one, for 5xx tests).
    pub fn with_store(config: Config, store: Arc<dyn Store>) -> App {
        App::build(config, store, None, tempfile::tempdir().expect("tempdir"))
    }

    fn build(config: Config, store: Arc<dyn Store>, sqlite: Option<Arc<SqliteStore>>, dir: tempfile::TempDir) -> App {
        let audit = Arc::new(AuditLog::from_config(&config).expect("actions"));
        let state = AppState::new(Arc::new(config), AuditLogService::new(audit, store));
        App { router: router(state.clone()), state, sqlite, _dir: dir }
    }

    pub async fn send(&self, call: Call) -> Res {
        read(self.router.clone().oneshot(call.build()).await.expect("infallible")).await
    }

    /// Sends as if from a connection whose peer is `peer`.
    pub async fn send_from(&self, peer: &str, call: Call) -> Res {
        let peer: SocketAddr = peer.parse().expect("socket address");
        let router = self.router.clone().layer(MockConnectInfo(peer));
        read(router.oneshot(call.build()).await.expect("infallible")).await
    }

    /// Creates an event through the API and returns its JSON.
    pub async fn create(&self, body: &str) -> Value {
        let res = self.send(post("/api/audit-logs", body)).await;
        assert_eq!(res.status, StatusCode::CREATED, "create {body}: {}", res.text);
        res.json
    }

    /// Stores the seed events; returns their ids in seed order.
    pub async fn seed(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for line in SEED {
            ids.push(self.create(line).await["id"].as_str().expect("id").to_owned());
        }
        ids
    }
}

async fn read(res: axum::response::Response) -> Res {
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.expect("body");
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8 body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Res { status, headers, json, text }
}

/// Events with fixed times (oldest first), labelled `resource.id/action`.
pub const SEED: &[&str] = &[
    r#"{"action":"draft.create","resource":{"id":"efgh-5678"},"user_id":"system","metadata":{"parent_pid":"p-2"},"created":"2025-12-20T08:00:00+00:00"}"#,
    r#"{"action":"draft.create","resource":{"id":"abcd-1234"},"user":{"id":"1","username":"User","email":"current@inveniosoftware.org"},"metadata":{"parent_pid":"wxyz-0000","ip_address":"127.0.0.1"},"created":"2026-01-01T12:00:00+00:00"}"#,
    r#"{"action":"draft.edit","resource":{"id":"abcd-1234"},"user_id":"1","metadata":{"parent_pid":"wxyz-0000"},"created":"2026-01-02T09:00:00+00:00"}"#,
    r#"{"action":"record.publish","resource":{"id":"abcd-1234"},"user_id":"1","metadata":{"parent_pid":"wxyz-0000","revision_id":9},"created":"2026-01-03T10:00:00+00:00"}"#,
    r#"{"action":"file.create","resource":{"id":"abcd-1234"},"user":{"id":"2","username":"jane","email":"Jane.Doe@cern.ch"},"metadata":{"file_key":"data.csv"},"created":"2026-01-04T00:00:00+00:00"}"#,
];

/// `resource.id/action` of each hit of a search response.
pub fn labels(json: &Value) -> Vec<String> {
    json["hits"]["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("no hits in {json}"))
        .iter()
        .map(|h| format!("{}/{}", h["resource"]["id"].as_str().unwrap_or("?"), h["action"].as_str().unwrap_or("?")))
        .collect()
}

/// A store whose every call fails with the error `make` returns.
pub struct BrokenStore(pub fn() -> StoreError);

#[async_trait]
impl EventStore for BrokenStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }
    async fn insert(&self, _: Vec<Event>) -> Result<(), StoreError> {
        Err((self.0)())
    }
    async fn get(&self, _: Uuid) -> Result<Option<Event>, StoreError> {
        Err((self.0)())
    }
    async fn get_many(&self, _: Vec<Uuid>) -> Result<Vec<Event>, StoreError> {
        Err((self.0)())
    }
    async fn search(&self, _: &SearchPlan) -> Result<StoreHits, StoreError> {
        Err((self.0)())
    }
    async fn find_user(&self, _: &str) -> Result<Option<User>, StoreError> {
        Err((self.0)())
    }
    async fn count(&self) -> Result<u64, StoreError> {
        Err((self.0)())
    }
    async fn health(&self) -> Result<(), StoreError> {
        Err((self.0)())
    }
}

#[async_trait]
impl RetentionStore for BrokenStore {
    async fn run_retention(
        &self,
        _: &RetentionPolicy,
        _: Timestamp,
        _: RetentionMode,
    ) -> Result<RetentionReport, StoreError> {
        Err((self.0)())
    }
}

#[async_trait]
impl TreeStore for BrokenStore {
    type Error = StoreError;

    async fn integrate(&self, _: usize) -> Result<auditlog_transparency::Integration, StoreError> {
        Err((self.0)())
    }
    async fn tree_size(&self) -> Result<u64, StoreError> {
        Err((self.0)())
    }
    async fn tree_nodes(
        &self,
        _: Vec<auditlog_merkle::NodeId>,
    ) -> Result<Vec<Option<auditlog_transparency::Hash>>, StoreError> {
        Err((self.0)())
    }
    async fn leaf_for_event(&self, _: Uuid) -> Result<Option<auditlog_transparency::Leaf>, StoreError> {
        Err((self.0)())
    }
    async fn leaves_for_events(&self, _: Vec<Uuid>) -> Result<Vec<auditlog_transparency::Leaf>, StoreError> {
        Err((self.0)())
    }
    async fn leaves_with_events(
        &self,
        _: u64,
        _: usize,
    ) -> Result<Vec<(auditlog_transparency::Leaf, Option<Event>)>, StoreError> {
        Err((self.0)())
    }
    async fn unlogged_events(&self, _: usize) -> Result<Vec<Uuid>, StoreError> {
        Err((self.0)())
    }
    async fn pending_count(&self) -> Result<u64, StoreError> {
        Err((self.0)())
    }
    async fn save_checkpoint(&self, _: &auditlog_transparency::StoredCheckpoint) -> Result<(), StoreError> {
        Err((self.0)())
    }
    async fn checkpoint(&self, _: Option<u64>) -> Result<Option<auditlog_transparency::StoredCheckpoint>, StoreError> {
        Err((self.0)())
    }
}

/// SQLite options that give up on a held lock quickly.
pub fn impatient() -> SqliteOptions {
    SqliteOptions { busy_timeout: Duration::from_millis(50), ..SqliteOptions::default() }
}
