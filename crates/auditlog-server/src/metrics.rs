//! A small Prometheus registry: requests by route template, method and
//! status; events ingested; ingest latency; connections open, turned away
//! and closed on a timeout. Hand-rolled because three fixed
//! metric families with label values from a closed set need no more, and a
//! registry per [`AppState`](crate::AppState) (rather than a process-global
//! recorder) keeps tests and embedded servers independent.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::Method;

/// Upper bounds (seconds) of the ingest latency buckets.
const INGEST_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// (route template, method, status) -> count.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    events_ingested: AtomicU64,
    ingest: Histogram,
    connections_open: AtomicU64,
    connections_rejected: AtomicU64,
    /// Connections closed by a timeout, by [`Closed`] reason.
    connections_closed: [AtomicU64; 4],
}

/// Why the server closed a connection itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closed {
    /// Nothing moved for `idle_timeout` between requests.
    Idle,
    /// A request head took longer than `header_read_timeout`.
    SlowHead,
    /// A response waited `idle_timeout` for the client to read it.
    NotReading,
    /// Quiet longest when a new connection needed its place at the cap.
    Evicted,
}

impl Closed {
    const ALL: [Closed; 4] = [Closed::Idle, Closed::SlowHead, Closed::NotReading, Closed::Evicted];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Closed::Idle => "idle_timeout",
            Closed::SlowHead => "header_read_timeout",
            Closed::NotReading => "client_not_reading",
            Closed::Evicted => "max_connections",
        }
    }
}

/// An open connection, counted until dropped.
pub(crate) struct OpenConnection<'a>(&'a Metrics);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Default)]
struct Histogram {
    /// Per bucket, not cumulative; the last slot is `+Inf`.
    buckets: [AtomicU64; INGEST_BUCKETS.len() + 1],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Metrics {
    /// Counts a request. Every label comes from a closed set, so a client
    /// cannot grow the registry: `route` is a route template (or the one
    /// "unmatched" value), a method outside the standard ones is `OTHER`,
    /// and a status is one of the codes the server answers.
    pub(crate) fn count_request(&self, route: &str, method: &Method, status: u16) {
        // A poisoned lock only means another request panicked mid-increment.
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *requests.entry((route.to_owned(), method_label(method).to_owned(), status)).or_default() += 1;
    }

    pub(crate) fn open_connection(&self) -> OpenConnection<'_> {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self)
    }

    pub(crate) fn count_rejected_connection(&self) {
        self.connections_rejected.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_closed_connection(&self, reason: Closed) {
        let i = Closed::ALL.iter().position(|c| *c == reason).unwrap_or(0);
        self.connections_closed[i].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_ingested(&self, n: u64) {
        self.events_ingested.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn observe_ingest(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let slot = INGEST_BUCKETS.iter().position(|b| secs <= *b).unwrap_or(INGEST_BUCKETS.len());
        self.ingest.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.ingest.sum_micros.fetch_add(took.as_micros().try_into().unwrap_or(u64::MAX), Ordering::Relaxed);
        self.ingest.count.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP auditlog_http_requests_total HTTP requests by route template, method and status.\n");
        out.push_str("# TYPE auditlog_http_requests_total counter\n");
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for ((route, method, status), n) in requests {
            let _ = writeln!(
                out,
                "auditlog_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(&method),
                escape(&route)
            );
        }
        out.push_str("# HELP auditlog_events_ingested_total Events stored through the HTTP API.\n");
        out.push_str("# TYPE auditlog_events_ingested_total counter\n");
        let _ = writeln!(out, "auditlog_events_ingested_total {}", self.events_ingested.load(Ordering::Relaxed));
        out.push_str(
            "# HELP auditlog_ingest_duration_seconds Time to validate and store the events of one ingest request.\n",
        );
        out.push_str("# TYPE auditlog_ingest_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (i, bucket) in self.ingest.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            let le = INGEST_BUCKETS.get(i).map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
            let _ = writeln!(out, "auditlog_ingest_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let sum = self.ingest.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "auditlog_ingest_duration_seconds_sum {sum}");
        let _ = writeln!(out, "auditlog_ingest_duration_seconds_count {}", self.ingest.count.load(Ordering::Relaxed));
        out.push_str("# HELP auditlog_connections_open HTTP connections open now.\n");
        out.push_str("# TYPE auditlog_connections_open gauge\n");
        let _ = writeln!(out, "auditlog_connections_open {}", self.connections_open.load(Ordering::Relaxed));
        out.push_str(
            "# HELP auditlog_connections_rejected_total Connections answered 503 because max_connections were open and busy.\n",
        );
        out.push_str("# TYPE auditlog_connections_rejected_total counter\n");
        let _ =
            writeln!(out, "auditlog_connections_rejected_total {}", self.connections_rejected.load(Ordering::Relaxed));
        out.push_str(
            "# HELP auditlog_connections_closed_total Connections the server closed, by reason (a timeout, or making room at max_connections).\n",
        );
        out.push_str("# TYPE auditlog_connections_closed_total counter\n");
        for (reason, n) in Closed::ALL.iter().zip(&self.connections_closed) {
            let _ = writeln!(
                out,
                "auditlog_connections_closed_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                n.load(Ordering::Relaxed)
            );
        }
        out
    }
}

/// The method label: the standard methods by name, any other as `OTHER`.
fn method_label(method: &Method) -> &'static str {
    const STANDARD: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"];
    STANDARD.into_iter().find(|m| *m == method.as_str()).unwrap_or("OTHER")
}

/// Label value escaping of the text format: `\`, `"` and newlines.
fn escape(s: &str) -> String {
    s.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.count_request("/api/audit-logs", &Method::GET, 200);
        m.count_request("/api/audit-logs", &Method::GET, 200);
        m.count_request("/api/audit-logs/{id}", &Method::GET, 404);
        m.count_ingested(3);
        m.observe_ingest(Duration::from_micros(1500));
        m.observe_ingest(Duration::from_millis(30));
        m.observe_ingest(Duration::from_secs(60));
        let text = m.render();
        for line in [
            r#"auditlog_http_requests_total{method="GET",route="/api/audit-logs",status="200"} 2"#,
            r#"auditlog_http_requests_total{method="GET",route="/api/audit-logs/{id}",status="404"} 1"#,
            "auditlog_events_ingested_total 3",
            r#"auditlog_ingest_duration_seconds_bucket{le="0.001"} 0"#,
            r#"auditlog_ingest_duration_seconds_bucket{le="0.0025"} 1"#,
            r#"auditlog_ingest_duration_seconds_bucket{le="0.05"} 2"#,
            r#"auditlog_ingest_duration_seconds_bucket{le="5"} 2"#,
            r#"auditlog_ingest_duration_seconds_bucket{le="+Inf"} 3"#,
            "auditlog_ingest_duration_seconds_sum 60.0315",
            "auditlog_ingest_duration_seconds_count 3",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }

    /// Regression: each of 1,000 invented 50 KB methods became a label
    /// value, and `/metrics` grew to 51 MB.
    #[test]
    fn invented_methods_share_one_label() {
        let m = Metrics::default();
        for i in 0..1000 {
            let method = Method::from_bytes(format!("{}{i}", "M".repeat(50_000)).as_bytes()).unwrap();
            m.count_request("(unmatched)", &method, 400);
        }
        m.count_request("(unmatched)", &Method::DELETE, 405);
        let text = m.render();
        assert!(text.len() < 4096, "{} bytes", text.len());
        assert!(text.contains(r#"auditlog_http_requests_total{method="OTHER",route="(unmatched)",status="400"} 1000"#));
        assert!(text.contains(r#"auditlog_http_requests_total{method="DELETE",route="(unmatched)",status="405"} 1"#));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("x\ny"), r"x\ny");
    }
}
