//! The HTTP server under load, on loopback, with bounded request counts.
//! Every HTTP figure has a library-direct twin measured in the same run —
//! the same JSON events through `AuditLogService` without HTTP — so the
//! server's overhead shows as a ratio:
//!
//! - single-event `POST /api/audit-logs` from 64 concurrent connections:
//!   events/s and p99 latency, vs 64 tasks calling `create`;
//! - `POST /api/audit-logs/_bulk` with 1,000-line bodies from 64 concurrent
//!   connections: events/s, vs 64 tasks calling `create_many`;
//! - on a copy of the large seeded store, under a steady bulk ingest: read
//!   (`GET /api/audit-logs/{id}`) and search p99 over HTTP vs through the
//!   service directly under the same ingest;
//! - on that store, under the same ingest: the admin page's first page
//!   (`GET /administration/audit-logs`, signed in) vs the JSON API's first
//!   page (`GET /api/audit-logs`) with the same (default) parameters.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use auditlog_core::{AuditLog, Config, EventInput, Identity};
use auditlog_server::AppState;
use auditlog_store::sqlite::{SqliteOptions, SqliteStore};
use auditlog_store::{AuditLogService, SearchParams, Store};
use tokio::task::JoinSet;

use crate::stats::{median, ms, percentile};
use crate::workload::ingest_line;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Single-event POSTs per round.
    #[arg(long, default_value_t = 20_000)]
    posts: usize,
    /// 1,000-line bulk bodies per round.
    #[arg(long, default_value_t = 128)]
    bulk_bodies: usize,
    /// Concurrent connections (and library tasks).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Interleaved rounds.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Events of the store used for the read/search figures (bulk-seeded
    /// once into --data; 0 skips them).
    #[arg(long, default_value_t = 1_000_000)]
    search_events: u64,
    #[arg(long, default_value = "target/bench-data")]
    data: PathBuf,
    /// Reads and searches measured under ingest.
    #[arg(long, default_value_t = 2_000)]
    reads: usize,
    /// Events/s of the background ingest during the read figures, spread
    /// over its 4 connections (0: as fast as they go).
    #[arg(long, default_value_t = 0)]
    ingest_rate: u64,
}

const TOKEN: &str = "bench-token";

fn config() -> Config {
    let toml = format!(
        "AUDIT_LOGS_ENABLED = true\nmax_body_bytes = 67108864\n[tokens.bench]\nsha256 = \"{}\"\nroles = [\"system\", \"admin\"]\n",
        auditlog_server::hash_token(TOKEN)
    );
    Config::load(&toml, "bench", [], &|_| Err("none".into())).expect("bench config")
}

struct Server {
    base: String,
    service: AuditLogService,
    stop: tokio::sync::oneshot::Sender<()>,
    _dir: Option<tempfile::TempDir>,
}

async fn start(store: Arc<dyn Store>, dir: Option<tempfile::TempDir>) -> anyhow::Result<Server> {
    let config = Arc::new(config());
    let service = AuditLogService::new(Arc::new(AuditLog::from_config(&config)?), store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(config, service.clone());
    tokio::spawn(async move {
        let _ = auditlog_server::serve(listener, state, async {
            let _ = rx.await;
        })
        .await;
    });
    Ok(Server { base, service, stop, _dir: dir })
}

async fn fresh() -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(dir.path().join("bench.db"), SqliteOptions::default())?);
    start(store, Some(dir)).await
}

fn client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?)
}

/// Runs `total` jobs over `concurrency` workers; returns (elapsed, latencies).
async fn drive<F, Fut>(total: usize, concurrency: usize, job: F) -> anyhow::Result<(Duration, Vec<Duration>)>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let job = Arc::new(job);
    let started = Instant::now();
    let mut set = JoinSet::new();
    for w in 0..concurrency {
        let job = job.clone();
        set.spawn(async move {
            let mut lat = Vec::new();
            let mut i = w;
            while i < total {
                let t = Instant::now();
                job(i).await?;
                lat.push(t.elapsed());
                i += concurrency;
            }
            anyhow::Ok(lat)
        });
    }
    let mut all = Vec::with_capacity(total);
    while let Some(r) = set.join_next().await {
        all.extend(r??);
    }
    let elapsed = started.elapsed();
    all.sort();
    Ok((elapsed, all))
}

/// `total` authorised GETs of `url(i)` from `concurrency` workers, each
/// answered 200; returns the latencies.
async fn drive_gets(
    http: &reqwest::Client,
    total: usize,
    concurrency: usize,
    url: impl Fn(usize) -> String + Send + Sync + 'static,
) -> anyhow::Result<Vec<Duration>> {
    let http = http.clone();
    let (_, latencies) = drive(total, concurrency, move |i| {
        let (http, url) = (http.clone(), url(i));
        async move {
            let r = http.get(&url).bearer_auth(TOKEN).send().await?;
            anyhow::ensure!(r.status() == 200, "GET {url} answered {}", r.status());
            r.bytes().await?;
            Ok(())
        }
    })
    .await?;
    Ok(latencies)
}

async fn single_http(n: usize, c: usize) -> anyhow::Result<(f64, Duration)> {
    let s = fresh().await?;
    let http = client(c)?;
    let url = format!("{}/api/audit-logs", s.base);
    let (t, lat) = drive(n, c, move |i| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let r = http
                .post(url)
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body(ingest_line(i))
                .send()
                .await?;
            anyhow::ensure!(r.status() == 201, "POST answered {}", r.status());
            Ok(())
        }
    })
    .await?;
    let count = s.service.store().count().await?;
    anyhow::ensure!(count == n as u64, "stored {count} of {n}");
    let _ = s.stop.send(());
    Ok((n as f64 / t.as_secs_f64(), percentile(&lat, 99.0)))
}

async fn single_library(n: usize, c: usize) -> anyhow::Result<(f64, Duration)> {
    let s = fresh().await?;
    let service = s.service.clone();
    let (t, lat) = drive(n, c, move |i| {
        let service = service.clone();
        async move {
            service.create(&Identity::system(), EventInput::from_json(&ingest_line(i))?, None).await?;
            Ok(())
        }
    })
    .await?;
    let _ = s.stop.send(());
    Ok((n as f64 / t.as_secs_f64(), percentile(&lat, 99.0)))
}

fn bulk_body(b: usize) -> String {
    let mut body = String::with_capacity(1000 * 200);
    for i in 0..1000 {
        body.push_str(&ingest_line(b * 1000 + i));
        body.push('\n');
    }
    body
}

async fn bulk_http(bodies: usize, c: usize) -> anyhow::Result<f64> {
    let s = fresh().await?;
    let http = client(c)?;
    let url = format!("{}/api/audit-logs/_bulk", s.base);
    let payloads: Arc<Vec<String>> = Arc::new((0..bodies).map(bulk_body).collect());
    let (t, _) = drive(bodies, c, move |b| {
        let (http, url, payloads) = (http.clone(), url.clone(), payloads.clone());
        async move {
            let r = http
                .post(url)
                .bearer_auth(TOKEN)
                .header("content-type", "application/x-ndjson")
                .body(payloads[b].clone())
                .send()
                .await?;
            anyhow::ensure!(r.status() == 200, "bulk answered {}", r.status());
            let body: serde_json::Value = r.json().await?;
            anyhow::ensure!(body["created"] == 1000, "bulk created {}", body["created"]);
            Ok(())
        }
    })
    .await?;
    let _ = s.stop.send(());
    Ok((bodies * 1000) as f64 / t.as_secs_f64())
}

async fn bulk_library(bodies: usize, c: usize) -> anyhow::Result<f64> {
    let s = fresh().await?;
    let service = s.service.clone();
    let payloads: Arc<Vec<String>> = Arc::new((0..bodies).map(bulk_body).collect());
    let (t, _) = drive(bodies, c, move |b| {
        let (service, payloads) = (service.clone(), payloads.clone());
        async move {
            let lines = payloads[b].lines().map(EventInput::from_json).collect();
            service.create_many(&Identity::system(), lines, None).await?;
            Ok(())
        }
    })
    .await?;
    let _ = s.stop.send(());
    Ok((bodies * 1000) as f64 / t.as_secs_f64())
}

/// Reads and searches on a copy of the large store while 4 connections keep
/// posting 1,000-line bulk bodies.
async fn under_ingest(args: &Args) -> anyhow::Result<()> {
    let seeded = crate::seed::seeded_bulk(&args.data, args.search_events).await?;
    let dir = tempfile::tempdir()?;
    let copy = dir.path().join("copy.db");
    seeded.connect()?.execute("VACUUM INTO ?1", [copy.to_string_lossy()])?;
    drop(seeded);
    let store = Arc::new(SqliteStore::open(&copy, SqliteOptions::default())?);
    let conn = store.connect()?;
    let ids: Arc<Vec<String>> = Arc::new(
        conn.prepare("SELECT id FROM audit_events WHERE seq % 499 = 0")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?,
    );
    let resources: Arc<Vec<String>> = Arc::new(
        conn.prepare("SELECT resource_id FROM audit_events WHERE seq % 503 = 0")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?,
    );
    let s = start(store, Some(dir)).await?;
    let http = client(args.concurrency)?;

    // Background ingest, bounded by the stop flag and a body count; at a
    // steady rate when one is given (each connection sends a 1,000-event
    // body every 4,000/rate seconds).
    let stop = Arc::new(AtomicBool::new(false));
    let mut ingest = JoinSet::new();
    let every = (args.ingest_rate > 0).then(|| Duration::from_secs_f64(4_000.0 / args.ingest_rate as f64));
    for w in 0..4 {
        let (http, url, stop) = (http.clone(), format!("{}/api/audit-logs/_bulk", s.base), stop.clone());
        ingest.spawn(async move {
            let mut n = 0u64;
            let mut tick = every.map(tokio::time::interval);
            for b in 0..10_000 {
                if let Some(t) = &mut tick {
                    t.tick().await;
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let r = http
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/x-ndjson")
                    .body(bulk_body(1_000_000 + w * 10_000 + b))
                    .send()
                    .await?;
                anyhow::ensure!(r.status() == 200);
                n += 1000;
            }
            anyhow::Ok(n)
        });
    }
    let c = 16.min(args.concurrency);
    let started = Instant::now();
    let read_http = drive_gets(&http, args.reads, c, {
        let (base, ids) = (s.base.clone(), ids.clone());
        move |i| format!("{base}/api/audit-logs/{}", ids[(i * 7919) % ids.len()])
    })
    .await?;
    let (_, read_lib) = drive(args.reads, c, {
        let (service, ids) = (s.service.clone(), ids.clone());
        move |i| {
            let (service, id) = (service.clone(), ids[(i * 7919) % ids.len()].parse());
            async move {
                service.read(&Identity::system(), id?).await?;
                Ok(())
            }
        }
    })
    .await?;
    let search_http = drive_gets(&http, args.reads, c, {
        let (base, resources) = (s.base.clone(), resources.clone());
        move |i| format!("{base}/api/audit-logs?q=resource.id:{}", resources[(i * 7919) % resources.len()])
    })
    .await?;
    let (_, search_lib) = drive(args.reads, c, {
        let (service, resources) = (s.service.clone(), resources.clone());
        move |i| {
            let service = service.clone();
            let q = format!("resource.id:{}", resources[(i * 7919) % resources.len()]);
            async move {
                service.search(&Identity::system(), &SearchParams { q: Some(q), ..Default::default() }).await?;
                Ok(())
            }
        }
    })
    .await?;
    let session = admin_session(&s.base).await?;
    let (_, admin_page) = drive(args.reads, c, {
        let (http, base, session) = (http.clone(), s.base.clone(), session.clone());
        move |_| {
            let (http, url, session) = (http.clone(), format!("{base}/administration/audit-logs"), session.clone());
            async move {
                let r = http.get(url).header("cookie", session).send().await?;
                anyhow::ensure!(r.status() == 200, "admin page answered {}", r.status());
                let html = r.text().await?;
                anyhow::ensure!(html.contains("<table"), "admin page without a results table");
                Ok(())
            }
        }
    })
    .await?;
    let api_page = drive_gets(&http, args.reads, c, {
        let base = s.base.clone();
        move |_| format!("{base}/api/audit-logs")
    })
    .await?;
    stop.store(true, Ordering::Relaxed);
    let mut ingested = 0;
    while let Some(r) = ingest.join_next().await {
        ingested += r??;
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = s.stop.send(());
    println!(
        "under ingest ({:.0} events/s of concurrent bulk ingest), {} requests each, {c} connections, store of {} events:",
        ingested as f64 / secs,
        args.reads,
        args.search_events
    );
    for (name, http, lib) in [
        ("read by id", &read_http, &read_lib),
        ("search resource.id", &search_http, &search_lib),
        ("admin first page", &admin_page, &api_page),
    ] {
        println!(
            "  {name:<20} HTTP p50 {:>6.2} ms  p99 {:>6.2} ms | library p50 {:>6.2} ms  p99 {:>6.2} ms",
            ms(percentile(http, 50.0)),
            ms(percentile(http, 99.0)),
            ms(percentile(lib, 50.0)),
            ms(percentile(lib, 99.0))
        );
    }
    println!("  (admin first page: the right-hand figures are the JSON API's first page over HTTP, not the library)");
    println!("  targets: read p99 <= 10 ms; admin first page < 200 ms");
    Ok(())
}

/// Signs in to the admin page with the bench token as a browser would
/// (sign-in form, CSRF cookie, form post) and returns the `Cookie` header
/// value of the session.
async fn admin_session(base: &str) -> anyhow::Result<String> {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let cookie_of = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.split(';').next().filter(|kv| kv.starts_with(&format!("{name}="))).map(str::to_owned))
    };
    let form = http.get(format!("{base}/administration/sign-in")).send().await?;
    let csrf_cookie =
        cookie_of(&form, "auditlog_csrf").ok_or_else(|| anyhow::anyhow!("sign-in form set no CSRF cookie"))?;
    let csrf = csrf_cookie.trim_start_matches("auditlog_csrf=").to_owned();
    let signed_in = http
        .post(format!("{base}/administration/sign-in"))
        .header("cookie", &csrf_cookie)
        .form(&[("csrf", csrf.as_str()), ("token", TOKEN), ("next", "/administration/audit-logs")])
        .send()
        .await?;
    anyhow::ensure!(signed_in.status() == 303, "sign-in answered {}", signed_in.status());
    cookie_of(&signed_in, "auditlog_session").ok_or_else(|| anyhow::anyhow!("sign-in set no session cookie"))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let c = args.concurrency;
        let (mut sh, mut sl, mut bh, mut bl) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut p99h, mut p99l) = (Vec::new(), Vec::new());
        for round in 0..args.rounds {
            let (rate, p99) = single_http(args.posts, c).await?;
            sh.push(rate);
            p99h.push(ms(p99));
            let (rate, p99) = single_library(args.posts, c).await?;
            sl.push(rate);
            p99l.push(ms(p99));
            bh.push(bulk_http(args.bulk_bodies, c).await?);
            bl.push(bulk_library(args.bulk_bodies, c).await?);
            eprintln!(
                "round {}: POST {:.0}/s (lib {:.0}/s)  bulk {:.0}/s (lib {:.0}/s)",
                round + 1,
                sh[round],
                sl[round],
                bh[round],
                bl[round]
            );
        }
        let ratio = |h: &[f64], l: &[f64]| median(h.iter().zip(l).map(|(h, l)| h / l).collect());
        if args.rounds > 0 {
        println!("HTTP on SQLite, {c} concurrent connections, medians of {} rounds", args.rounds);
        println!(
            "single POST : {:>8.0} events/s, p99 {:>6.2} ms | library {:>8.0} events/s, p99 {:>6.2} ms | ratio {:.2} (target >= 5,000/s)",
            median(sh.clone()),
            median(p99h),
            median(sl.clone()),
            median(p99l),
            ratio(&sh, &sl)
        );
        println!(
            "_bulk 1,000 : {:>8.0} events/s                | library {:>8.0} events/s                | ratio {:.2} (target >= 0.80)",
            median(bh.clone()),
            median(bl.clone()),
            ratio(&bh, &bl)
        );
        }
        if args.search_events > 0 {
            under_ingest(&args).await?;
        }
        anyhow::Ok(())
    })
}
