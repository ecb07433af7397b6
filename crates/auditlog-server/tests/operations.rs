//! Operations through the router: /health, /metrics, the OpenAPI document
//! against the real routes, store failures as 503/500, and serving on a
//! real socket.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use auditlog_server::{api_route_table, serve};
use auditlog_store::StoreError;
use axum::http::StatusCode;
use common::{ADMIN, App, BrokenStore, JSON, NDJSON, SYSTEM, call, config, get, post};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EVENT: &str = r#"{"action":"draft.create","resource":{"id":"abcd-1234"},"user":{"id":"1","email":"a@b.c"},"metadata":{"parent_pid":"p"}}"#;
const SOME_ID: &str = "01936f7e-8b4a-7c3e-9d2a-5f1e2b3c4d5e";

/// Regression: JSON responses lacked `X-Content-Type-Options: nosniff`.
#[tokio::test]
async fn every_response_says_nosniff() {
    let app = App::new();
    for c in [
        call("GET", "/health"),
        call("GET", "/metrics"),
        get("/api/audit-logs", ADMIN),
        call("GET", "/api/audit-logs"),
        post("/api/audit-logs", "{"),
        call("GET", "/nowhere"),
        call("GET", "/administration/audit-logs"),
    ] {
        let res = app.send(c).await;
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"), "{} {}", res.status, res.text);
    }
}

#[tokio::test]
async fn health_reports_the_store() {
    let app = App::new();
    let res = app.send(call("GET", "/health")).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.content_type(), JSON);
    assert_eq!(res.json, json!({"status": "ok", "store": "sqlite"}));

    let broken = App::with_store(config(), Arc::new(BrokenStore(|| StoreError::unavailable("connection refused"))));
    let res = broken.send(call("GET", "/health")).await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.json, json!({"status": "unavailable", "store": "sqlite"}));
}

/// Store failures: 503 with Retry-After when retrying may help, 500 with a
/// generic message otherwise; the cause never reaches the client.
#[tokio::test]
async fn store_failures_map_to_5xx_without_details() {
    type Case = (fn() -> StoreError, u16, &'static str, Option<&'static str>);
    let cases: [Case; 4] = [
        (|| StoreError::unavailable("connection refused"), 503, "The database is unavailable; retry later.", Some("5")),
        (
            || StoreError::Locked { location: "/secret/path.db".into(), waited_ms: 10 },
            503,
            "The database is busy; retry shortly.",
            Some("1"),
        ),
        (|| StoreError::internal("disk on fire at /secret/path.db"), 500, "Internal server error.", None),
        (|| StoreError::open("/secret/path.db", "not a database", None), 500, "Internal server error.", None),
    ];
    for (make, status, message, retry_after) in cases {
        let app = App::with_store(config(), Arc::new(BrokenStore(make)));
        let calls = [
            get("/api/audit-logs", ADMIN),
            get(&format!("/api/audit-logs/{SOME_ID}"), ADMIN),
            post("/api/audit-logs", EVENT),
            call("POST", "/api/audit-logs/_bulk").token(SYSTEM).body(NDJSON, EVENT),
        ];
        for c in calls {
            let res = app.send(c).await;
            assert_eq!(res.status.as_u16(), status, "{}: {}", make(), res.text);
            assert_eq!(res.json, json!({"status": status, "message": message}));
            assert_eq!(res.header("retry-after"), retry_after);
            assert!(!res.text.contains("secret"), "{}", res.text);
        }
    }
    let app = App::with_store(config(), Arc::new(BrokenStore(|| StoreError::Duplicate(SOME_ID.parse().unwrap()))));
    let res = app.send(post("/api/audit-logs", EVENT)).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.error_message(), format!("an event with id {SOME_ID} already exists"));
}

#[tokio::test]
async fn metrics_count_requests_and_ingest() {
    let app = App::new();
    let two = format!("{EVENT}\n{EVENT}\n");
    let calls = [
        get("/api/audit-logs", ADMIN),
        get("/api/audit-logs?page=2", ADMIN),
        get(&format!("/api/audit-logs/{SOME_ID}"), ADMIN),
        post("/api/audit-logs", EVENT),
        call("POST", "/api/audit-logs/_bulk").token(SYSTEM).body(NDJSON, two),
        call("GET", "/nope"),
        call("DELETE", "/api/audit-logs"),
        call("GET", "/api/audit-logs"),
        call("GET", "/health"),
    ];
    for c in calls {
        app.send(c).await;
    }
    let res = app.send(call("GET", "/metrics")).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    for line in [
        "# TYPE auditlog_http_requests_total counter",
        r#"auditlog_http_requests_total{method="GET",route="/api/audit-logs",status="200"} 2"#,
        r#"auditlog_http_requests_total{method="GET",route="/api/audit-logs",status="401"} 1"#,
        r#"auditlog_http_requests_total{method="GET",route="/api/audit-logs/{id}",status="404"} 1"#,
        r#"auditlog_http_requests_total{method="POST",route="/api/audit-logs",status="201"} 1"#,
        r#"auditlog_http_requests_total{method="POST",route="/api/audit-logs/_bulk",status="200"} 1"#,
        r#"auditlog_http_requests_total{method="DELETE",route="/api/audit-logs",status="405"} 1"#,
        r#"auditlog_http_requests_total{method="GET",route="(unmatched)",status="404"} 1"#,
        r#"auditlog_http_requests_total{method="GET",route="/health",status="200"} 1"#,
        "# TYPE auditlog_events_ingested_total counter",
        "auditlog_events_ingested_total 3",
        "# TYPE auditlog_ingest_duration_seconds histogram",
        r#"auditlog_ingest_duration_seconds_bucket{le="+Inf"} 2"#,
        "auditlog_ingest_duration_seconds_count 2",
    ] {
        assert!(res.text.lines().any(|l| l == line), "missing {line:?} in\n{}", res.text);
    }
    // The scrape itself shows up in the next one.
    let res = app.send(call("GET", "/metrics")).await;
    assert!(
        res.text.contains(r#"auditlog_http_requests_total{method="GET",route="/metrics",status="200"} 1"#),
        "{}",
        res.text
    );
}

/// The served OpenAPI document and the router agree: every documented
/// (path, method) is routed, every routed one is documented, and walking
/// the real router shows each documented path answering exactly its
/// documented methods (405 with a matching `Allow` for the rest).
#[tokio::test]
async fn openapi_document_matches_the_real_routes() {
    let app = App::new();
    let res = app.send(call("GET", "/api/audit-logs/openapi.json")).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.content_type(), JSON);
    let doc = res.json;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            documented.insert((path.clone(), method.to_ascii_uppercase()));
        }
    }
    let routed: BTreeSet<(String, String)> =
        api_route_table().into_iter().map(|(m, p)| (p.to_owned(), m.to_string())).collect();
    assert_eq!(documented, routed);

    for path in paths.keys() {
        let uri = path.replace("{id}", SOME_ID);
        let allowed: BTreeSet<&str> = documented.iter().filter(|(p, _)| p == path).map(|(_, m)| m.as_str()).collect();
        let mut allow_header: BTreeSet<&str> = allowed.clone();
        if allowed.contains("GET") {
            allow_header.insert("HEAD");
        }
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let res = app.send(call(method, &uri).token(SYSTEM)).await;
            if allowed.contains(method) {
                assert_ne!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
                let unrouted = res.status == StatusCode::NOT_FOUND
                    && res.json["message"].as_str().is_some_and(|m| m.starts_with("No such endpoint"));
                assert!(!unrouted, "{method} {uri} is documented but not routed");
            } else {
                assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
                let got: BTreeSet<&str> = res.header("allow").unwrap_or("").split(',').collect();
                assert_eq!(got, allow_header, "Allow of {uri}");
            }
        }
    }
}

/// The real server: a socket, the peer address recorded as the event's IP,
/// and a clean stop when the shutdown future resolves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_a_socket_and_stop() {
    let app = App::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app.state.clone(), async {
        let _ = stopped.await;
    }));

    let body = r#"{"action":"draft.create","resource":{"id":"sock-1"},"user":{"id":"1","email":"a@b.c"},"metadata":{"parent_pid":"p"}}"#;
    let request = format!(
        "POST /api/audit-logs HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {SYSTEM}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Request-ID: sock-req\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, json) = response.split_once("\r\n\r\n").expect("a full response");
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    assert!(head.to_ascii_lowercase().contains("x-request-id: sock-req"), "{head}");
    let event: Value = serde_json::from_str(json).expect("JSON body");
    assert_eq!(event["metadata"]["ip_address"], "127.0.0.1", "the peer address from ConnectInfo");

    stop.send(()).unwrap();
    server.await.expect("server task").expect("serve returns Ok after shutdown");
}
