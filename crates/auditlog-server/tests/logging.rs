//! The request log: exactly one line per request, and never a token.
//!
//! Alone in its own test binary on purpose: `tracing` caches each callsite's
//! interest process-wide, so a sibling test hitting the access-log callsite
//! first on a thread without a subscriber would silence it here too.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use auditlog_store::StoreError;
use common::{ADMIN, App, BrokenStore, NDJSON, SYSTEM, call, config, get, post};

const EVENT: &str = r#"{"action":"draft.create","resource":{"id":"abcd-1234"},"user":{"id":"1","email":"a@b.c"},"metadata":{"parent_pid":"p"}}"#;

/// A `MakeWriter` collecting log output in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Exactly one line per request with method, path (no query), status,
/// latency and request id; the cause of a 500 on that same line; never a
/// token or an Authorization header.
#[tokio::test]
async fn one_log_line_per_request_without_tokens() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    // The test runtime is single-threaded, so every request's log passes here.
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = App::new();
    let broken = App::with_store(config(), Arc::new(BrokenStore(|| StoreError::internal("disk on fire"))));
    let wrong = "al_wrong-token-do-not-log";
    // (request id, app, request, method, path, status)
    let cases = [
        (
            "log-1",
            &app,
            get("/api/audit-logs?q=user.email:someone%40example.org", ADMIN),
            "GET",
            "/api/audit-logs",
            200,
        ),
        ("log-2", &app, post("/api/audit-logs", EVENT), "POST", "/api/audit-logs", 201),
        ("log-3", &app, get("/api/audit-logs", wrong), "GET", "/api/audit-logs", 401),
        ("log-4", &app, call("DELETE", "/api/audit-logs/x").token(SYSTEM), "DELETE", "/api/audit-logs/x", 405),
        ("log-5", &app, call("GET", "/nope"), "GET", "/nope", 404),
        (
            "log-6",
            &app,
            call("POST", "/api/audit-logs/_bulk").token(SYSTEM).body(NDJSON, EVENT),
            "POST",
            "/api/audit-logs/_bulk",
            200,
        ),
        ("log-7", &broken, get("/api/audit-logs", ADMIN), "GET", "/api/audit-logs", 500),
    ];
    let n = cases.len();
    for (rid, app, c, method, path, status) in cases {
        let res = app.send(c.header("x-request-id", rid)).await;
        assert_eq!(res.status.as_u16(), status, "{rid}: {}", res.text);
        let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = output
            .lines()
            .filter(|l| l.contains("auditlog_server::access") && l.contains(&format!("request_id={rid}")))
            .collect();
        assert_eq!(lines.len(), 1, "{rid}: one line, got {lines:#?}");
        let line = lines[0];
        for field in
            [format!("method={method}"), format!("path={path} "), format!("status={status}"), "latency_ms=".to_owned()]
        {
            assert!(line.contains(&field), "{rid}: {field:?} not in {line}");
        }
        if status == 500 {
            assert!(
                line.contains("ERROR") && line.contains("disk on fire"),
                "the cause is logged with the request: {line}"
            );
        }
    }
    let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let access: Vec<&str> = output.lines().filter(|l| l.contains("auditlog_server::access")).collect();
    assert_eq!(access.len(), n, "{output}");
    for secret in [ADMIN, SYSTEM, wrong, "Bearer", "someone", "authorization"] {
        assert!(!output.to_lowercase().contains(&secret.to_lowercase()), "{secret:?} leaked into the log:\n{output}");
    }
}
