//! Serving connections: the accept loop with its cap on open connections,
//! each connection's timeouts, and graceful shutdown with a deadline.
//!
//! hyper (through hyper-util's HTTP/1 + HTTP/2 builder) speaks HTTP; this
//! module decides how long a connection may hold the server's resources:
//!
//! * `max_connections` connections at once. At the cap a new connection
//!   takes the place of the one quiet longest (idle, or trickling half a
//!   head), which is closed; when every connection has a request in
//!   flight, the new one waits up to a second for one to end, then is
//!   answered `503` (JSON, `Retry-After: 1`) and closed. So idle and slow connections cannot lock a well-behaved client
//!   out, and the server keeps its file descriptors.
//! * `header_read_timeout`: once the first byte of a request has arrived,
//!   its head (request line and headers) must be complete within this
//!   time, or the connection is closed (slowloris).
//! * `idle_timeout`: a connection on which no byte moves while the server
//!   waits on the client is closed after this long: between requests
//!   (keep-alive), between the parts of a request body (a stalled upload
//!   fails the request), and while a response waits for the client to read
//!   it.
//! * On shutdown the listener closes at once; connections that are idle or
//!   hold half a request head are closed, requests in flight finish, and
//!   after `shutdown_timeout` whatever is left is dropped.
//!
//! hyper's own `header_read_timeout` starts its clock when the server is
//! ready for the next request, so it cannot tell an idle keep-alive
//! connection from a slow head; the activity of each connection is watched
//! here instead (bytes read and written, requests in flight), which gives
//! the two timeouts their separate meanings.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use crate::metrics::{Closed, Metrics};

/// The connection limits of a server (from the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_timeout: Duration,
}

impl Limits {
    pub fn from_config(config: &auditlog_core::Config) -> Limits {
        Limits {
            header_read_timeout: config.header_read_timeout.0,
            idle_timeout: config.idle_timeout.0,
            max_connections: config.max_connections,
            shutdown_timeout: config.shutdown_timeout.0,
        }
    }

    /// How often a connection's timeouts are checked: a quarter of the
    /// shorter one, so a connection is closed at most 25% late.
    fn tick(&self) -> Duration {
        (self.header_read_timeout.min(self.idle_timeout) / 4).max(Duration::from_millis(10))
    }
}

/// Connections over the cap waiting for room or being answered 503; past
/// this many, more are closed at once (a flood must not turn the waiting
/// itself into the resource it exhausts).
const MAX_OVER_CAP: usize = 64;

/// How long a new connection waits for the slot of the connection evicted
/// for it before asking another (the evicted one closes at its next poll,
/// well within this), and how long it tries in all.
const EVICTION_WAIT: Duration = Duration::from_millis(100);
const EVICTION_DEADLINE: Duration = Duration::from_secs(1);

/// Every open connection's activity and eviction signal, so that at the cap
/// the quietest one can be asked to make room.
#[derive(Default)]
struct Registry {
    next_id: std::sync::atomic::AtomicU64,
    open: Mutex<HashMap<u64, Registered>>,
}

/// An open connection as the registry knows it.
struct Registered {
    activity: Arc<Activity>,
    evict: Arc<Notify>,
}

/// A connection's side of the registry: told when it is evicted.
struct Eviction {
    id: u64,
    signal: Arc<Notify>,
}

impl Registry {
    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Registered>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self) -> (Arc<Activity>, Eviction) {
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let activity = Arc::new(Activity::new());
        let signal = Arc::new(Notify::new());
        self.open().insert(id, Registered { activity: activity.clone(), evict: signal.clone() });
        (activity, Eviction { id, signal })
    }

    fn remove(&self, id: u64) {
        self.open().remove(&id);
    }

    /// Asks the connection quiet longest (no request in flight) to close;
    /// false when every connection is busy.
    fn evict_quietest(&self) -> bool {
        let open = self.open();
        let quietest = open.values().filter_map(|r| r.activity.quiet_since().map(|t| (t, r))).min_by_key(|(t, _)| *t);
        match quietest {
            Some((_, r)) => {
                // Marked under the registry's lock, so that the next new
                // connection asks another.
                r.activity.ask_to_leave();
                r.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// The answer to a connection over `max_connections`.
const TOO_MANY: &str =
    "{\"status\":503,\"message\":\"The server has too many open connections (max_connections); retry shortly.\"}";

/// Serves `app` on `listener` until `shutdown` resolves, within `limits`.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    metrics: Arc<Metrics>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let registry = Arc::new(Registry::default());
    let over_cap = Arc::new(Semaphore::new(MAX_OVER_CAP));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before
                    // it was accepted: say so, give it a moment, go on.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // At the cap, the connection that has been quiet longest (no
        // request in flight) makes room (its client can reconnect), or a
        // request in flight ends: the new connection waits for that, up to
        // a second, off the accept loop. A bounded number wait; past that a
        // connection is closed at once.
        let slot = slots.clone().try_acquire_owned().ok();
        let waiting = match slot {
            Some(_) => None,
            None => match over_cap.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    metrics.count_rejected_connection();
                    drop(stream);
                    continue;
                }
            },
        };
        if slot.is_none() {
            registry.evict_quietest();
        }
        let _ = stream.set_nodelay(true);
        let (app, metrics, registry, slots, stop) =
            (app.clone(), metrics.clone(), registry.clone(), slots.clone(), stop_rx.clone());
        connections.spawn(async move {
            let slot = match slot {
                Some(slot) => slot,
                None => match room(&slots, &registry).await {
                    Some(slot) => {
                        drop(waiting);
                        slot
                    }
                    None => {
                        metrics.count_rejected_connection();
                        turn_away(stream).await;
                        drop(waiting);
                        return;
                    }
                },
            };
            let (activity, evicted) = registry.add();
            let id = evicted.id;
            let connection = Connection { app, metrics, limits, peer, stop, activity, evicted };
            connection.run(stream).await;
            registry.remove(id);
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let open = connections.len();
    if open > 0 {
        tracing::info!(open, deadline = ?limits.shutdown_timeout, "stopping: finishing requests in flight");
    }
    let drained =
        tokio::time::timeout(limits.shutdown_timeout, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(left = connections.len(), "shutdown_timeout passed: closing the connections still open");
        connections.shutdown().await;
    }
    Ok(())
}

/// A slot for a new connection at the cap: the evicted connection closes at
/// its next poll and its slot goes to the first waiter. When none gave way
/// (each had a request in flight, or began one just as it was asked),
/// another is asked now and then, for at most [`EVICTION_DEADLINE`].
async fn room(slots: &Arc<Semaphore>, registry: &Registry) -> Option<OwnedSemaphorePermit> {
    let deadline = Instant::now() + EVICTION_DEADLINE;
    loop {
        match tokio::time::timeout(EVICTION_WAIT, slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => return Some(slot),
            Ok(Err(_)) => return None,
            Err(_) if Instant::now() < deadline => {
                registry.evict_quietest();
            }
            Err(_) => return None,
        }
    }
}

/// Answers a connection over the cap with a 503 and closes it, within a
/// second whatever the client does.
async fn turn_away(mut stream: TcpStream) {
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         x-content-type-options: nosniff\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{TOO_MANY}",
        TOO_MANY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        // Read what the client sent until it closes, so that closing does
        // not reset the connection before it has read the answer.
        let mut sink = [0u8; 1024];
        loop {
            if tokio::io::AsyncReadExt::read(&mut stream, &mut sink).await? == 0 {
                return io::Result::Ok(());
            }
        }
    })
    .await;
}

struct Connection {
    app: Router,
    metrics: Arc<Metrics>,
    limits: Limits,
    peer: SocketAddr,
    stop: watch::Receiver<bool>,
    activity: Arc<Activity>,
    evicted: Eviction,
}

impl Connection {
    async fn run(mut self, stream: TcpStream) {
        let activity = self.activity.clone();
        let _open = self.metrics.open_connection();
        let io = TokioIo::new(Watched { inner: stream, activity: activity.clone() });
        let (app, peer, idle, watch) = (self.app.clone(), self.peer, self.limits.idle_timeout, activity.clone());
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let request = watch.start_request();
            let mut req = req.map(|body| Body::new(TimeoutBody::new(idle, body)));
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let res = app.oneshot(req).await;
                drop(request);
                res
            }
        });
        let builder = Builder::new(TokioExecutor::new());
        let conn = builder.serve_connection_with_upgrades(io, service);
        let mut conn = std::pin::pin!(conn);
        let mut stopping = false;
        let mut tick = tokio::time::interval(self.limits.tick());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(peer = %self.peer, error = %e, "connection ended with an error");
                    }
                    return;
                }
                changed = self.stop.changed(), if !stopping => {
                    stopping = true;
                    if changed.is_err() || activity.half_open() {
                        // Half a request head: nothing in flight to finish.
                        return;
                    }
                    // Idle connections close now; requests in flight finish.
                    conn.as_mut().graceful_shutdown();
                }
                () = self.evicted.signal.notified() => {
                    // Only a quiet connection gives way; one that has just
                    // begun a request keeps its place.
                    if activity.leave_if_quiet() {
                        tracing::debug!(peer = %self.peer, "closing the quietest connection for a new one");
                        self.metrics.count_closed_connection(Closed::Evicted);
                        return;
                    }
                }
                _ = tick.tick() => {
                    if let Some(reason) = activity.expired(&self.limits, Instant::now()) {
                        tracing::debug!(peer = %self.peer, reason = reason.as_str(), "closing connection");
                        self.metrics.count_closed_connection(reason);
                        return;
                    }
                }
            }
        }
    }
}

/// What a connection has been doing, as its socket and its requests see it.
#[derive(Debug)]
struct Activity(Mutex<State>);

#[derive(Debug)]
struct State {
    /// Requests whose response is not produced yet.
    in_flight: usize,
    /// When the connection last had nothing to do: opened, or its last
    /// response produced.
    idle_since: Instant,
    /// When the first byte arrived since then (a request head has begun).
    head_started: Option<Instant>,
    /// The last byte read or written.
    last_io: Instant,
    /// Since when a write has been waiting for the client to read.
    write_blocked: Option<Instant>,
    /// Asked to make room for a new connection.
    asked_to_leave: bool,
}

impl Activity {
    fn new() -> Activity {
        let now = Instant::now();
        Activity(Mutex::new(State {
            in_flight: 0,
            idle_since: now,
            head_started: None,
            last_io: now,
            write_blocked: None,
            asked_to_leave: false,
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere mid-update; the
        // numbers are still the best there are.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) {
        let mut s = self.state();
        let now = Instant::now();
        s.last_io = now;
        if s.in_flight == 0 && s.head_started.is_none() {
            s.head_started = Some(now);
        }
    }

    fn wrote(&self, blocked: bool) {
        let mut s = self.state();
        let now = Instant::now();
        if blocked {
            s.write_blocked.get_or_insert(now);
        } else {
            s.write_blocked = None;
            s.last_io = now;
        }
    }

    fn start_request(self: &Arc<Self>) -> InFlight {
        let mut s = self.state();
        s.in_flight += 1;
        s.head_started = None;
        InFlight(self.clone())
    }

    /// Since when nothing has happened on a connection with no request in
    /// flight; `None` while a request is being answered or once it has been
    /// asked to make room.
    fn quiet_since(&self) -> Option<Instant> {
        let s = self.state();
        (s.in_flight == 0 && !s.asked_to_leave).then(|| s.idle_since.max(s.last_io))
    }

    fn ask_to_leave(&self) {
        self.state().asked_to_leave = true;
    }

    /// Whether the connection, asked to make room, should close: yes when
    /// no request is in flight; otherwise it stays, and may be asked again.
    fn leave_if_quiet(&self) -> bool {
        let mut s = self.state();
        s.asked_to_leave = false;
        s.in_flight == 0
    }

    /// Holding half a request head, with no request in flight.
    fn half_open(&self) -> bool {
        let s = self.state();
        s.in_flight == 0 && s.head_started.is_some()
    }

    /// Why the connection should be closed now, if it should.
    fn expired(&self, limits: &Limits, now: Instant) -> Option<Closed> {
        let s = self.state();
        if s.write_blocked.is_some_and(|since| now - since >= limits.idle_timeout) {
            return Some(Closed::NotReading);
        }
        if s.in_flight > 0 {
            // A handler is at work; a body that stops coming fails its
            // request through the body's own timeout.
            return None;
        }
        match s.head_started {
            Some(started) if now - started >= limits.header_read_timeout => Some(Closed::SlowHead),
            Some(_) => None,
            None if now - s.idle_since.max(s.last_io) >= limits.idle_timeout => Some(Closed::Idle),
            None => None,
        }
    }
}

/// A request being answered; dropping it marks the connection idle again.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = self.0.state();
        s.in_flight -= 1;
        if s.in_flight == 0 {
            s.idle_since = Instant::now();
        }
    }
}

/// A socket that reports its reads and writes to its [`Activity`].
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        match &result {
            Poll::Ready(Ok(n)) if *n > 0 => self.activity.wrote(false),
            Poll::Pending => self.activity.wrote(true),
            _ => {}
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        match &result {
            Poll::Ready(Ok(n)) if *n > 0 => self.activity.wrote(false),
            Poll::Pending => self.activity.wrote(true),
            _ => {}
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_connections: 4,
            shutdown_timeout: Duration::from_secs(10),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn timeouts_by_what_the_connection_is_doing() {
        let l = limits();
        let a = Arc::new(Activity::new());
        let t0 = Instant::now();
        assert_eq!(a.expired(&l, t0 + Duration::from_secs(29)), None);
        assert_eq!(a.expired(&l, t0 + Duration::from_secs(30)), Some(Closed::Idle));
        // A head begins: ten seconds to finish it.
        tokio::time::advance(Duration::from_secs(5)).await;
        a.read();
        let t1 = Instant::now();
        assert_eq!(a.expired(&l, t1 + Duration::from_secs(9)), None);
        assert_eq!(a.expired(&l, t1 + Duration::from_secs(10)), Some(Closed::SlowHead));
        // The head is complete: a handler at work is never timed out here.
        let request = a.start_request();
        assert_eq!(a.expired(&l, t1 + Duration::from_secs(3600)), None);
        assert!(!a.half_open());
        tokio::time::advance(Duration::from_secs(1)).await;
        drop(request);
        let t2 = Instant::now();
        assert_eq!(a.expired(&l, t2 + Duration::from_secs(29)), None);
        assert_eq!(a.expired(&l, t2 + Duration::from_secs(30)), Some(Closed::Idle));
        // A response the client does not read.
        a.wrote(true);
        let t3 = Instant::now();
        a.wrote(true);
        assert_eq!(a.expired(&l, t3 + Duration::from_secs(30)), Some(Closed::NotReading));
        a.wrote(false);
        assert_eq!(a.expired(&l, t3 + Duration::from_secs(29)), None);
        a.read();
        assert!(a.half_open());
    }
}
