//! The connection limits on a real socket against a real server with small
//! configured limits: idle and slow-header connections are closed while a
//! well-behaved client is answered, at `max_connections` a quiet connection
//! makes room for a new one and busy ones get it a 503, and a stopping
//! server finishes requests in flight, drops idle and half-open
//! connections, and returns by its deadline.
//!
//! Nothing here measures time: each test waits for a state (a closed
//! socket, a counter in `/metrics`) with a generous bound that only a
//! broken server reaches.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use auditlog_core::config::Interval;
use auditlog_server::serve;
use common::{App, SYSTEM, config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The longest any wait here may take; reaching it fails the test.
const BOUND: Duration = Duration::from_secs(30);

struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    _app: App,
}

fn interval(ms: u64) -> Interval {
    Interval(Duration::from_millis(ms))
}

async fn start(header_ms: u64, idle_ms: u64, max_connections: usize, shutdown_ms: u64) -> Running {
    let config = auditlog_core::Config {
        header_read_timeout: interval(header_ms),
        idle_timeout: interval(idle_ms),
        max_connections,
        shutdown_timeout: interval(shutdown_ms),
        ..config()
    };
    let app = App::with_config(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, app.state.clone(), async {
        let _ = stopped.await;
    }));
    Running { addr, stop: Some(stop), task, _app: app }
}

/// One request on a fresh connection (`Connection: close`): the status and
/// the whole response text.
async fn request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(BOUND, stream.read_to_end(&mut response)).await.expect("an answer in time");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

/// The value of an unlabelled metric. At the connection cap the request
/// may be turned away until the slot of a connection just closed is
/// released: it is asked again.
async fn metric(addr: SocketAddr, line_start: &str) -> u64 {
    let deadline = tokio::time::Instant::now() + BOUND;
    let text = loop {
        let (status, text) = request(addr, "GET", "/metrics").await;
        match status {
            200 => break text,
            503 if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
            _ => panic!("/metrics: {text}"),
        }
    };
    text.lines()
        .find_map(|l| l.strip_prefix(line_start).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {line_start} in\n{text}"))
}

/// Waits until `check` holds, for at most [`BOUND`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + BOUND;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "gave up waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether the server has closed `stream` (reads end), within [`BOUND`].
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(BOUND, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

async fn idle_connections(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(TcpStream::connect(addr).await.unwrap());
    }
    out
}

/// Connections that send half a request head and then nothing.
async fn slowloris(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut out = idle_connections(addr, n).await;
    for s in &mut out {
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    }
    out
}

/// Regression: idle and slow-header connections were never closed (a head
/// that never ended was held 12 minutes) while they used up the server's
/// file descriptors. They are closed by `idle_timeout` and
/// `header_read_timeout`; meanwhile a well-behaved client is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_header_connections_are_closed_while_others_are_answered() {
    let server = start(300, 600, 64, 5_000).await;
    let addr = server.addr;
    let mut idle = idle_connections(addr, 8).await;
    let mut slow = slowloris(addr, 8).await;
    // A keep-alive connection that made one request and then went quiet.
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut first = [0u8; 12];
    kept.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");

    let (status, text) = request(addr, "GET", "/health").await;
    assert_eq!(status, 200, "a well-behaved client is answered while the others are held: {text}");

    for s in idle.iter_mut().chain(&mut slow).chain(std::iter::once(&mut kept)) {
        assert!(closed_by_server(s).await, "the server closes idle and half-open connections");
    }
    eventually("the timeouts counted by reason", || async {
        let (_, text) = request(addr, "GET", "/metrics").await;
        text.contains(r#"auditlog_connections_closed_total{reason="header_read_timeout"} 8"#)
            && text.contains(r#"auditlog_connections_closed_total{reason="idle_timeout"} 9"#)
    })
    .await;
    // Only the connection asking remains (once the previous asker's is gone).
    eventually("every held connection gone", || async { metric(addr, "auditlog_connections_open ").await == 1 }).await;
    stop(server).await;
}

/// A request whose head is in and whose body never comes: in flight for as
/// long as the body timeout allows.
async fn busy_connection(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/audit-logs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SYSTEM}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s
}

/// Regression: 20,000 idle connections exhausted the file descriptors and
/// `/health` timed out. At `max_connections` a new connection takes the
/// place of the quietest idle or half-open one, so those cannot lock a
/// client out; when every connection is busy with a request, a new one is
/// answered 503 (JSON) and closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_quiet_connections_make_room_and_busy_ones_turn_new_ones_away() {
    let cap = 4;
    let server = start(30_000, 30_000, cap, 5_000).await;
    let addr = server.addr;
    let mut quiet = idle_connections(addr, 2).await;
    quiet.extend(slowloris(addr, 2).await);
    let mut fillers = Vec::new();
    for _ in 0..cap {
        // The cap is full of quiet connections: the oldest makes room.
        let (status, text) = request(addr, "GET", "/health").await;
        assert_eq!(status, 200, "an idle or half-open connection makes room: {text}");
        // Fill the cap again, with a connection newer than the first four.
        fillers.extend(idle_connections(addr, 1).await);
    }
    for s in &mut quiet {
        assert!(closed_by_server(s).await, "each of the first quiet connections was closed for a newer one");
    }
    assert!(metric(addr, r#"auditlog_connections_closed_total{reason="max_connections"} "#).await >= cap as u64);

    // Every slot busy with a request in flight: nothing to evict.
    let mut busy = Vec::new();
    for _ in 0..cap {
        busy.push(busy_connection(addr).await);
    }
    let deadline = tokio::time::Instant::now() + BOUND;
    let refused = loop {
        // Until the last busy connection has sent its head it is quiet and
        // gives way: then ask again.
        let (status, text) = request(addr, "GET", "/health").await;
        if status == 503 {
            break text;
        }
        busy.push(busy_connection(addr).await);
        assert!(tokio::time::Instant::now() < deadline, "no connection was refused: {text}");
    };
    let (head, body) = refused.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("retry-after: 1") && head.contains("content-type: application/json"), "{head}");
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["status"], 503);
    assert!(json["message"].as_str().unwrap().contains("max_connections"), "{json}");
    drop(busy);
    eventually("slots freed", || async { request(addr, "GET", "/health").await.0 == 200 }).await;
    assert!(metric(addr, "auditlog_connections_rejected_total ").await >= 1);
    stop(server).await;
}

/// Regression: with connections whose headers never end, SIGTERM left the
/// server running indefinitely. A stopping server finishes the request in
/// flight, drops idle and half-open connections at once, and returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_requests_in_flight_and_drops_the_rest() {
    let mut server = start(30_000, 30_000, 64, 30_000).await;
    let addr = server.addr;
    let mut idle = idle_connections(addr, 5).await;
    let mut half_open = slowloris(addr, 5).await;
    // A request in flight: its head is in, its body only half sent.
    let body = r#"{"action":"draft.create","resource":{"id":"r-1"},"user":{"id":"1","email":"a@b.org"},"metadata":{"parent_pid":"p"}}"#;
    let mut in_flight = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/audit-logs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SYSTEM}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    in_flight.write_all(head.as_bytes()).await.unwrap();
    in_flight.write_all(&body.as_bytes()[..10]).await.unwrap();
    eventually("every connection accepted", || async { metric(addr, "auditlog_connections_open ").await == 12 }).await;

    server.stop.take().unwrap().send(()).unwrap();
    for s in idle.iter_mut().chain(&mut half_open) {
        assert!(closed_by_server(s).await, "idle and half-open connections are dropped at shutdown");
    }
    assert!(!server.task.is_finished(), "the request in flight holds the server");
    in_flight.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut response = String::new();
    in_flight.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "the request in flight is answered: {response}");
    tokio::time::timeout(BOUND, server.task).await.expect("serve returns").unwrap().unwrap();
}

/// A request that never completes holds a stopping server no longer than
/// `shutdown_timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_gives_up_after_its_deadline() {
    let mut server = start(30_000, 30_000, 64, 300).await;
    let addr = server.addr;
    let mut stuck = busy_connection(addr).await;
    eventually("the stuck request accepted", || async { metric(addr, "auditlog_connections_open ").await == 2 }).await;
    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(BOUND, server.task).await.expect("serve returns by its deadline").unwrap().unwrap();
    assert!(closed_by_server(&mut stuck).await);
}

async fn stop(mut server: Running) {
    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(BOUND, server.task).await.expect("serve returns").unwrap().unwrap();
}
