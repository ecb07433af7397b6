//! The real binary on PostgreSQL (SPEC 7, 8): the commands on a fresh
//! schema; two servers sharing one database while retention and partition
//! maintenance run; and a server whose database stops and comes back.
//!
//! Run when `AUDITLOG_TEST_POSTGRES_URL` is set; fail when it is set and
//! the server cannot be reached. The restart test runs a throwaway cluster
//! of its own (the shared server is never stopped).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use auditlog_store::postgres::{PgOptions, PgStore};
use common::{Api, Cluster, Instance, PgSchema, Res, blocking, event, show, skip_postgres};
use serde_json::{Value, json};

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

async fn partition_names(url: &str) -> Vec<String> {
    let store = PgStore::connect(url, PgOptions::default()).expect("store");
    store.partitions().await.expect("partitions").into_iter().map(|p| p.name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_on_postgres() {
    if skip_postgres("commands_on_postgres") {
        return;
    }
    let schema = PgSchema::create().await;
    let instance = Instance::new(&schema.url(), "");

    // migrate: the schema, then this month's partition and the next two.
    let out = blocking(|| instance.ok(&["migrate"]));
    assert!(out.starts_with("postgres database is up to date (schema version "), "{out}");
    assert!(!out.contains(&schema.name) && out.contains("postgres://"), "prints the location only: {out}");
    let made = partition_names(&schema.url()).await;
    assert_eq!(made.len(), 3, "{made:?}");
    assert!(out.contains(&format!("month partitions: created {}\n", made.join(", "))), "{out}");
    assert!(blocking(|| instance.ok(&["migrate"])).contains("month partitions: up to date\n"));

    // Old events land in the DEFAULT partition; migrate moves them into
    // partitions of their own months.
    let jan = Some("2020-01-15T10:00:00Z");
    blocking(|| {
        instance.ingest(&[
            event("test.event", "now-1", 1, None),
            event("test.event", "now-2", 2, None),
            event("test.archive", "now-3", 3, None),
            event("test.event", "old-1", 1, jan),
            event("test.event", "old-2", 2, jan),
            event("test.archive", "old-4", 4, jan),
            event("test.event", "old-3", 3, Some("2020-02-01T00:00:00Z")),
        ])
    });
    let out = blocking(|| instance.ok(&["migrate"]));
    assert!(out.contains("month partitions: created audit_events_p2020_01, audit_events_p2020_02\n"), "{out}");
    assert!(out.contains("moved 4 events from the DEFAULT partition"), "{out}");

    // January keeps an archived event forever, so its partition stays and
    // its expired rows go in a batch; February's partition goes whole.
    let want = json!({"ran": true, "mode": "dry_run", "deleted": {"test.event": 3}, "batches": 0,
                      "dropped_partitions": ["audit_events_p2020_02"], "total": 3});
    assert_eq!(json_of(&blocking(|| instance.ok(&["retention", "run", "--dry-run", "--format", "json"]))), want);

    // Another run holds the lock: nothing deleted, exit 0.
    let store = PgStore::connect(&schema.url(), PgOptions::default()).expect("store");
    let lock = store.try_retention_lock().await.expect("lock query").expect("the lock is free");
    let out = blocking(|| instance.ok(&["retention", "run"]));
    assert_eq!(out, "another retention run holds the lock; nothing deleted\n");
    let held = json_of(&blocking(|| instance.ok(&["retention", "run", "--format", "json"])));
    assert_eq!((&held["ran"], &held["total"]), (&json!(false), &json!(0)), "{held}");
    lock.release().await.expect("release");

    let want = json!({"ran": true, "mode": "delete", "deleted": {"test.event": 3}, "batches": 1,
                      "dropped_partitions": ["audit_events_p2020_02"], "total": 3});
    assert_eq!(json_of(&blocking(|| instance.ok(&["retention", "run", "--format", "json"]))), want);
    assert_eq!(
        blocking(|| instance.ok(&["retention", "run"])),
        "nothing has expired\ndeleted 0 events (0 row batches)\n"
    );
    let names = partition_names(&schema.url()).await;
    assert!(
        names.contains(&"audit_events_p2020_01".to_owned()) && !names.contains(&"audit_events_p2020_02".to_owned())
    );

    // search and show read PostgreSQL.
    let found = json_of(&blocking(|| instance.ok(&["search", "", "--format", "json"])));
    assert_eq!(found["hits"]["total"], 4, "{found}");
    let id = found["hits"]["hits"][0]["id"].as_str().expect("an id").to_owned();
    let shown = json_of(&blocking(|| instance.ok(&["show", &id, "--format", "json"])));
    assert_eq!(shown["id"], id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_without_migrate_on_start_needs_a_migrated_schema() {
    if skip_postgres("serve_without_migrate_on_start_needs_a_migrated_schema") {
        return;
    }
    let schema = PgSchema::create().await;
    let instance = Instance::new(&schema.url(), "migrate_on_start = false");
    // It fails before listening, so `run` returns.
    let out = blocking(|| instance.run(&["serve", "--bind", "127.0.0.1:0"]));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is at version 0, this auditlog needs") && stderr.contains("run `auditlog migrate`"),
        "{stderr}"
    );

    blocking(|| instance.ok(&["migrate"]));
    let server = blocking(|| instance.serve("a"));
    let res = server.api().create(&event("test.event", "r1", 1, None)).await.expect("request");
    assert_eq!(res.status, 201, "{res:?}");
    let (status, log) = blocking(|| server.stop());
    assert!(status.success(), "{status}\n{log}");
}

/// Which events must survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Kept,
    Expires,
}

/// What one client of one server did: the ids acknowledged, with their
/// fate, and every request that did not succeed.
#[derive(Debug, Default)]
struct Outcome {
    acked: Vec<(String, Fate)>,
    failures: Vec<String>,
}

const WORKERS: usize = 3;
const ROUNDS: usize = 30;

/// A round's bulk body: current events, events of January 2020 (whose
/// partition retention drops whole) and of February 2020 (whose partition
/// stays for its archived event while its other rows are deleted).
fn bulk_lines(tag: &str) -> Vec<(Value, Fate)> {
    let mut lines = Vec::new();
    for i in 0..8 {
        lines.push((event("test.event", &format!("{tag}-b{i}"), i, None), Fate::Kept));
    }
    for i in 0..4 {
        let at = format!("2020-01-{:02}T12:00:00Z", 10 + i);
        lines.push((event("test.event", &format!("{tag}-jan{i}"), i, Some(&at)), Fate::Expires));
    }
    for i in 0..3 {
        let at = format!("2020-02-{:02}T08:30:00Z", 3 + i);
        lines.push((event("test.event", &format!("{tag}-feb{i}"), i, Some(&at)), Fate::Expires));
    }
    lines.push((event("test.archive", &format!("{tag}-arch"), 9, Some("2020-02-20T00:00:00Z")), Fate::Kept));
    lines
}

/// One client: per round, one single event and one bulk request.
async fn client(api: Api, server: usize, worker: usize) -> Outcome {
    let mut out = Outcome::default();
    for round in 0..ROUNDS {
        let tag = format!("s{server}w{worker}r{round}");
        match api.create(&event("test.event", &format!("{tag}-single"), worker as u32, None)).await {
            Ok(Res { status: 201, body, .. }) => match body["id"].as_str() {
                Some(id) => out.acked.push((id.to_owned(), Fate::Kept)),
                None => out.failures.push(format!("{tag} single: no id in {body}")),
            },
            other => out.failures.push(format!("{tag} single: {other:?}")),
        }
        let lines = bulk_lines(&tag);
        let body: Vec<Value> = lines.iter().map(|(e, _)| e.clone()).collect();
        match api.bulk(&body).await {
            Ok(Res { status: 200, body, .. }) if body["created"] == lines.len() => {
                for (result, (_, fate)) in body["results"].as_array().into_iter().flatten().zip(&lines) {
                    match result["id"].as_str() {
                        Some(id) if result["status"] == 201 => out.acked.push((id.to_owned(), *fate)),
                        _ => out.failures.push(format!("{tag} bulk line: {result}")),
                    }
                }
            }
            other => out.failures.push(format!("{tag} bulk: {other:?}")),
        }
    }
    out
}

/// Two `auditlog serve` processes on one schema, each with retention every
/// second, ingest concurrently (single and bulk) while `auditlog migrate`
/// (partition maintenance: creating partitions, moving rows out of the
/// DEFAULT partition) and `auditlog retention run` (dropping partitions,
/// deleting rows) run again and again. Every request succeeds; afterwards
/// the database holds exactly the acknowledged events that must be kept,
/// each once, each readable from either server; and both servers stop
/// cleanly on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_database() {
    if skip_postgres("two_servers_share_one_database") {
        return;
    }
    let schema = PgSchema::create().await;
    let config = "retention_interval = \"1s\"";
    let (a, b) = (Arc::new(Instance::new(&schema.url(), config)), Instance::new(&schema.url(), config));
    // Both start (and migrate) at once.
    let (server_a, server_b) = blocking(|| {
        std::thread::scope(|s| {
            let first = s.spawn(|| a.serve("a"));
            let second = b.serve("b");
            (first.join().expect("server a"), second)
        })
    });

    // Maintenance and retention from the command line, over and over while
    // the clients run (bounded, in case the clients never finish).
    let done = Arc::new(AtomicBool::new(false));
    let churn = tokio::task::spawn_blocking({
        let (a, done) = (a.clone(), done.clone());
        move || {
            let mut runs = Vec::new();
            for i in 0..400 {
                if done.load(Ordering::Relaxed) {
                    break;
                }
                let args: &[&str] = if i % 2 == 0 { &["migrate"] } else { &["retention", "run", "--format", "json"] };
                runs.push((args.join(" "), a.run(args)));
            }
            runs
        }
    });

    let mut clients = Vec::new();
    for (n, server) in [&server_a, &server_b].into_iter().enumerate() {
        for w in 0..WORKERS {
            clients.push(tokio::spawn(client(server.api(), n, w)));
        }
    }
    let mut acked = Vec::new();
    let mut failures = Vec::new();
    for c in clients {
        let out = c.await.expect("client task");
        acked.extend(out.acked);
        failures.extend(out.failures);
    }
    done.store(true, Ordering::Relaxed);
    let runs = churn.await.expect("churn task");
    assert!(failures.is_empty(), "{} requests failed, e.g. {:?}", failures.len(), &failures[..failures.len().min(5)]);
    let mut dropped = 0;
    for (args, out) in &runs {
        assert!(out.status.success(), "auditlog {args}: {}", show(out));
        if args.starts_with("retention") {
            dropped +=
                json_of(&String::from_utf8_lossy(&out.stdout))["dropped_partitions"].as_array().map_or(0, Vec::len);
        }
    }

    let kept: BTreeSet<String> = acked.iter().filter(|(_, f)| *f == Fate::Kept).map(|(id, _)| id.clone()).collect();
    let expiring: Vec<uuid::Uuid> =
        acked.iter().filter(|(_, f)| *f == Fate::Expires).map(|(id, _)| id.parse().expect("a uuid")).collect();
    assert_eq!(acked.len(), 2 * WORKERS * ROUNDS * (1 + bulk_lines("x").len()), "every request answered");
    assert_eq!(acked.iter().map(|(id, _)| id).collect::<BTreeSet<_>>().len(), acked.len(), "ids are unique");

    // Runs after the last write take whatever has expired since. An event
    // expires only once it is in the transparency log, which the servers'
    // sequencers do within moments: run until none of the expired is left.
    let db = schema.connect().await;
    let (client, ids) = (&db, &expiring);
    let left = move || async move {
        let row = client
            .query_one("SELECT count(*) FROM audit_events WHERE id = ANY($1)", &[ids])
            .await
            .expect("count expired events");
        row.get::<_, i64>(0)
    };
    let mut last_run = Value::Null;
    for _ in 0..100 {
        if left().await == 0 {
            break;
        }
        last_run = json_of(&blocking(|| a.ok(&["retention", "run", "--format", "json"])));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left().await, 0, "expired events are still there after retention; last run: {last_run}");

    // Exactly the kept events, each once.
    let rows = db.query("SELECT id::text FROM audit_events", &[]).await.expect("read ids");
    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        *stored.entry(r.get::<_, String>(0)).or_default() += 1;
    }
    let twice: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    let stored: BTreeSet<String> = stored.into_keys().collect();
    let missing: Vec<_> = kept.difference(&stored).collect();
    let extra: Vec<_> = stored.difference(&kept).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(extra.is_empty(), "{} events that should be gone, e.g. {:?}", extra.len(), &extra[..extra.len().min(5)]);

    // Each readable through either server; the totals (facet counts) agree.
    let apis = [server_a.api(), server_b.api()];
    for (i, id) in kept.iter().enumerate() {
        let res = apis[i % 2].get(&format!("/api/audit-logs/{id}")).await.expect("read");
        assert_eq!((res.status, res.body["id"].as_str()), (200, Some(id.as_str())), "{res:?}");
    }
    for api in &apis {
        let res = api.get("/api/audit-logs?size=1").await.expect("search");
        assert_eq!(res.body["hits"]["total"], kept.len(), "{res:?}");
    }
    let _ = writeln_stderr(&format!(
        "two servers: {} events acknowledged ({} kept, {} expired); {} command-line runs, \
         {dropped} partitions dropped by them",
        acked.len(),
        kept.len(),
        expiring.len(),
        runs.len()
    ));

    for server in [server_a, server_b] {
        let name = server.name.clone();
        let (status, log) = blocking(|| server.stop());
        assert!(status.success(), "server {name}: {status}\n{log}");
        assert!(log.contains("retention run") || log.contains("another run holds the lock"), "server {name}:\n{log}");
        for bad in ["retention run failed", "could not maintain", "panicked"] {
            assert!(!log.contains(bad), "server {name} logged {bad:?}:\n{log}");
        }
    }
}

fn writeln_stderr(line: &str) -> std::io::Result<()> {
    use std::io::Write;
    writeln!(std::io::stderr(), "{line}")
}

/// Stores a few events (single and bulk) and returns their ids.
async fn ingest_some(api: &Api, tag: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..5 {
        let res = api.create(&event("test.event", &format!("{tag}-{i}"), i, None)).await.expect("create");
        assert_eq!(res.status, 201, "{res:?}");
        ids.push(res.body["id"].as_str().expect("id").to_owned());
    }
    let lines: Vec<Value> = (0..20).map(|i| event("test.event", &format!("{tag}-bulk{i}"), i, None)).collect();
    let res = api.bulk(&lines).await.expect("bulk");
    assert_eq!((res.status, &res.body["created"]), (200, &json!(20)), "{res:?}");
    ids.extend(
        res.body["results"].as_array().expect("results").iter().map(|r| r["id"].as_str().expect("id").to_owned()),
    );
    ids
}

/// While the database is down, every kind of request answers 503 (with
/// `Retry-After` where the API promises it) instead of hanging.
async fn assert_unavailable(api: &Api, some_id: &str) {
    let answers: Vec<(&str, Result<Res, reqwest::Error>)> = vec![
        ("create", api.create(&event("test.event", "while-down", 1, None)).await),
        ("bulk", api.bulk(&[event("test.event", "while-down-bulk", 1, None)]).await),
        ("read", api.get(&format!("/api/audit-logs/{some_id}")).await),
        ("search", api.get("/api/audit-logs?q=action:test.event").await),
        ("health", api.get("/health").await),
    ];
    for (what, answer) in answers {
        let res = answer.unwrap_or_else(|e| panic!("{what} while the database is down: no answer: {e}"));
        assert_eq!(res.status, 503, "{what}: {res:?}");
        if what != "health" {
            assert!(res.retry_after.is_some(), "{what}: no Retry-After: {res:?}");
        }
    }
}

/// Creates events until one is stored (the database is back), polling a
/// bounded number of times; returns the stored ids.
async fn until_stored(api: &Api, tag: &str) -> String {
    let mut last = None;
    for attempt in 0..300 {
        match api.create(&event("test.event", &format!("{tag}-probe{attempt}"), 1, None)).await {
            Ok(Res { status: 201, body, .. }) => return body["id"].as_str().expect("id").to_owned(),
            Ok(res) if res.status == 503 => last = Some(format!("{res:?}")),
            other => panic!("{tag}: while the database comes back: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{tag}: the server did not recover after the database came back; last answer {last:?}");
}

/// A server whose PostgreSQL stops (cleanly, then as in a crash) answers
/// 503 at once while it is down, recovers by itself when it is back, and
/// has lost nothing it acknowledged. Runs a cluster of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_restart_fails_fast_and_recovers() {
    if skip_postgres("database_restart_fails_fast_and_recovers") {
        return;
    }
    let mut cluster = blocking(|| {
        let mut c = Cluster::create();
        c.start();
        c
    });
    let instance = Instance::new(&cluster.url(), "");
    let server = blocking(|| instance.serve("a"));
    let api = server.api();
    let mut acked = Vec::new();
    for mode in ["fast", "immediate"] {
        acked.extend(ingest_some(&api, mode).await);
        blocking(|| cluster.stop(mode));
        assert_unavailable(&api, &acked[0]).await;
        blocking(|| cluster.start());
        acked.push(until_stored(&api, mode).await);
        for id in &acked {
            let res = api.get(&format!("/api/audit-logs/{id}")).await.expect("read");
            assert_eq!(res.status, 200, "after the {mode} restart, {id}: {res:?}");
        }
    }
    let res = api.get("/api/audit-logs?size=1").await.expect("search");
    assert_eq!(res.body["hits"]["total"], acked.len(), "{res:?}");
    let (status, log) = blocking(|| server.stop());
    assert!(status.success(), "{status}\n{log}\n{}", cluster.log());
}

/// Moving history between stores: an SQLite export imported into
/// PostgreSQL comes back out identical (ids, times, order) and goes back
/// into SQLite unchanged; a PostgreSQL export with proofs and a verifiable
/// bundle of its whole log verify offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_import_across_stores() {
    if skip_postgres("export_and_import_across_stores") {
        return;
    }
    let sqlite = Instance::new("sqlite://./audit.db", "");
    let mut events: Vec<Value> = (0..40).map(|i| event("test.event", &format!("r-{i}"), i % 5, None)).collect();
    events.extend((0..15).map(|i| event("test.archive", &format!("old-{i}"), 9, Some("2021-06-01T00:00:00Z"))));
    blocking(|| sqlite.ingest(&events));
    let exported = blocking(|| sqlite.ok(&["export"]));
    assert_eq!(exported.lines().count(), 55);

    let schema = PgSchema::create().await;
    let pg = Instance::new(&schema.url(), "");
    let file = pg.dir.path().join("in.ndjson");
    std::fs::write(&file, &exported).unwrap();
    // Commands other than migrate and serve leave the schema alone, and say so.
    let early = blocking(|| pg.run(&["import", file.to_str().unwrap()]));
    assert_eq!(early.status.code(), Some(2), "{}", show(&early));
    assert!(String::from_utf8_lossy(&early.stderr).contains("run `auditlog migrate` first"), "{}", show(&early));
    blocking(|| pg.ok(&["migrate"]));
    let out = blocking(|| pg.run(&["import", file.to_str().unwrap()]));
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(blocking(|| pg.ok(&["export"])), exported);
    let again = blocking(|| pg.run(&["import", file.to_str().unwrap()]));
    assert!(String::from_utf8_lossy(&again.stderr).contains("0 events stored, 55 already stored"), "{}", show(&again));

    blocking(|| pg.ok(&["export", "--output", "pg.ndjson", "--proofs", "cp.txt"]));
    let key = blocking(|| pg.ok(&["key", "show"])).trim().to_owned();
    let out = blocking(|| pg.run(&["verify", "--export", "pg.ndjson", "--checkpoint", "cp.txt", "--key", &key]));
    assert!(out.status.success(), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("verified: 55 of 55 events"), "{}", show(&out));

    // The whole PostgreSQL log as a verifiable bundle, checked offline.
    blocking(|| pg.ok(&["export", "--verifiable", "--output", "bundle"]));
    let out = blocking(|| pg.run(&["verify", "--export", "bundle", "--key", &key]));
    assert!(out.status.success(), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("55 leaves (55 events, 0 expired by retention) are exactly"));

    // And back into the embedded store: the same bytes again.
    let back = Instance::new("sqlite://./audit.db", "");
    let file = back.dir.path().join("pg.ndjson");
    std::fs::copy(pg.dir.path().join("pg.ndjson"), &file).unwrap();
    blocking(|| back.ok(&["import", file.to_str().unwrap()]));
    assert_eq!(blocking(|| back.ok(&["export"])), exported);
}
