//! Search latency on a large store. Seeds a database with the demo generator
//! (kept between runs), then measures p50/p99 of six queries through the
//! search service — parsing, lowering, SQL, facets — each against a
//! hand-written SQL query over the same schema that returns the same page of
//! hits and the same facet counts, interleaved in one run.

use auditlog_store::EventStore;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auditlog_core::{Config, Identity};
use auditlog_demo::{DemoOptions, demo_audit_log, demo_users, generate};
use auditlog_store::SearchParams;
use auditlog_store::search::Sort;
use auditlog_store::sqlite::{SqliteOptions, SqliteStore};
use auditlog_store::{AuditLogService, Store};
use rusqlite::Connection;

use crate::stats::{ms, percentile};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events in the seeded database.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Where the seeded database is kept between runs.
    #[arg(long, default_value = "target/bench-data")]
    data: PathBuf,
    /// Measured iterations per query and side (queries whose baseline scans
    /// the whole table run at most 20).
    #[arg(long, default_value_t = 300)]
    iterations: usize,
    /// Run only the queries whose name contains this.
    #[arg(long)]
    only: Option<String>,
}

/// Seeds (once) and opens the benchmark database.
pub fn seeded(data: &std::path::Path, events: u64) -> anyhow::Result<SqliteStore> {
    let path = data.join(format!("demo-{events}.db"));
    let done = data.join(format!("demo-{events}.done"));
    if !done.exists() {
        let _ = std::fs::remove_file(&path);
        let store = SqliteStore::open(&path, SqliteOptions::default())?;
        let opts = DemoOptions { events, users: 3000, seed: 1, days: 720, ..Default::default() };
        let audit = demo_audit_log(&Config { enabled: true, ..Config::default() }, &demo_users(opts.users, opts.seed))?;
        let mut conn = store.connect()?;
        // The demo host's own durability choice: seeding speed over power-loss safety.
        conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        let started = Instant::now();
        generate(&mut conn, &audit, &opts, |n| {
            if n % 100_000 == 0 {
                eprintln!("seeded {n} events after {:.0}s", started.elapsed().as_secs_f64());
            }
        })?;
        conn.execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")?;
        std::fs::write(&done, b"")?;
    }
    Ok(SqliteStore::open(&path, SqliteOptions::default())?)
}

/// Sample values present in the data, to parameterise queries.
struct Samples {
    resources: Vec<String>,
    users: Vec<String>,
    parents: Vec<String>,
}

fn samples(conn: &Connection) -> anyhow::Result<Samples> {
    let col = |sql: &str| -> anyhow::Result<Vec<String>> {
        Ok(conn.prepare(sql)?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?)
    };
    Ok(Samples {
        resources: col("SELECT resource_id FROM audit_events WHERE seq % 997 = 0")?,
        users: col("SELECT DISTINCT user_id FROM audit_events WHERE seq % 991 = 0")?,
        parents: col("SELECT json_extract(metadata, '$.parent_pid') FROM audit_events WHERE seq % 983 = 0")?,
    })
}

/// The hand-written side: hits page, then facet cells of the same rows.
fn baseline(conn: &Connection, hits: &str, cells: &str, params: &[&dyn rusqlite::ToSql]) -> anyhow::Result<usize> {
    let mut stmt = conn.prepare_cached(hits)?;
    let n = stmt
        .query_map(params, |r| {
            // Every column, as owned values (what any caller of this SQL reads).
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                (r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?),
                (r.get::<_, String>(5)?, r.get::<_, Option<String>>(6)?, r.get::<_, String>(7)?),
                (r.get::<_, String>(8)?, r.get::<_, String>(9)?),
            ))
        })?
        .count();
    let mut stmt = conn.prepare_cached(cells)?;
    let c = stmt.query_map(params, |r| r.get::<_, i64>(2))?.count();
    Ok(n + c)
}

const COLS: &str = "e.id, e.created, e.action, e.resource_type, e.resource_id, e.user_id, e.user_username, e.user_email, e.metadata, e.message";

/// Runs the hand-written SQL for iteration `i` and returns the rows it read.
type HandQuery = Box<dyn Fn(&Connection, usize) -> anyhow::Result<usize>>;

struct Case {
    name: &'static str,
    /// The baseline reads the whole table (slow): fewer iterations.
    full_scan: bool,
    params: Box<dyn Fn(usize) -> SearchParams>,
    hand: HandQuery,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data)?;
    let store = Arc::new(seeded(&args.data, args.events)?);
    let conn = store.connect()?;
    let s = Arc::new(samples(&conn)?);
    let audit = Arc::new(auditlog_core::AuditLog::from_config(&Config::default())?);
    let service = AuditLogService::new(audit, store.clone() as Arc<dyn Store>);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let total = runtime.block_on(store.count())?;

    let pick = |v: &Vec<String>, i: usize| v[(i * 7919) % v.len()].clone();
    let cases: Vec<Case> = vec![
        Case {
            name: "resource.id term",
            full_scan: false,
            params: Box::new({
                let s = s.clone();
                move |i| SearchParams {
                    q: Some(format!("resource.id:{}", pick(&s.resources, i))),
                    ..Default::default()
                }
            }),
            hand: Box::new({
                let s = s.clone();
                move |c, i| {
                    let r = pick(&s.resources, i);
                    baseline(
                        c,
                        &format!(
                            "SELECT {COLS} FROM audit_events e WHERE e.resource_id = ?1 ORDER BY e.created DESC LIMIT 20"
                        ),
                        "SELECT resource_type, action, count(*) FROM audit_events WHERE resource_id = ?1 GROUP BY 1, 2",
                        &[&r],
                    )
                }
            }),
        },
        Case {
            name: "user + action + time range",
            full_scan: false,
            params: Box::new({
                let s = s.clone();
                move |i| SearchParams {
                    q: Some(format!(
                        "user.id:{} AND action:draft.edit AND created:[2025-06-01 TO 2026-06-30]",
                        pick(&s.users, i)
                    )),
                    ..Default::default()
                }
            }),
            hand: Box::new({
                let s = s.clone();
                move |c, i| {
                    let u = pick(&s.users, i);
                    let (from, to) = (1_748_736_000_000_000i64, 1_782_864_000_000_000i64);
                    baseline(
                        c,
                        &format!(
                            "SELECT {COLS} FROM audit_events e WHERE e.user_id = ?1 AND e.action = 'draft.edit' AND e.created >= ?2 AND e.created < ?3 ORDER BY e.created DESC LIMIT 20"
                        ),
                        "SELECT resource_type, action, count(*) FROM audit_events WHERE user_id = ?1 AND action = 'draft.edit' AND created >= ?2 AND created < ?3 GROUP BY 1, 2",
                        &[&u, &from, &to],
                    )
                }
            }),
        },
        Case {
            name: "free-text word",
            full_scan: false,
            params: Box::new({
                let s = s.clone();
                move |i| SearchParams { q: Some(pick(&s.resources, i)[..5].to_owned()), ..Default::default() }
            }),
            hand: Box::new({
                let s = s.clone();
                move |c, i| {
                    let w = format!("\"{}\"", &pick(&s.resources, i)[..5]);
                    baseline(
                        c,
                        &format!(
                            "SELECT {COLS} FROM audit_fts f JOIN audit_events e ON e.seq = f.rowid WHERE audit_fts MATCH ?1 ORDER BY e.created DESC LIMIT 20"
                        ),
                        "SELECT e.resource_type, e.action, count(*) FROM audit_fts f JOIN audit_events e ON e.seq = f.rowid WHERE audit_fts MATCH ?1 GROUP BY 1, 2",
                        &[&w],
                    )
                }
            }),
        },
        Case {
            name: "metadata path term",
            full_scan: false,
            params: Box::new({
                let s = s.clone();
                move |i| SearchParams {
                    q: Some(format!("metadata.parent_pid:{}", pick(&s.parents, i))),
                    ..Default::default()
                }
            }),
            hand: Box::new({
                let s = s.clone();
                move |c, i| {
                    let p = pick(&s.parents, i);
                    baseline(
                        c,
                        &format!(
                            "SELECT {COLS} FROM audit_meta m JOIN audit_events e ON e.seq = m.seq WHERE m.path = 'parent_pid' AND m.value = ?1 ORDER BY e.created DESC LIMIT 20"
                        ),
                        "SELECT e.resource_type, e.action, count(*) FROM audit_meta m JOIN audit_events e ON e.seq = m.seq WHERE m.path = 'parent_pid' AND m.value = ?1 GROUP BY 1, 2",
                        &[&p],
                    )
                }
            }),
        },
        Case {
            name: "facets only (no q)",
            full_scan: true,
            params: Box::new(|_| SearchParams::default()),
            hand: Box::new(|c, _| {
                baseline(
                    c,
                    &format!("SELECT {COLS} FROM audit_events e ORDER BY e.created DESC LIMIT 20"),
                    "SELECT resource_type, action, count(*) FROM audit_events GROUP BY 1, 2",
                    &[],
                )
            }),
        },
        Case {
            name: "page 50 of newest",
            full_scan: true,
            params: Box::new(|_| SearchParams { page: 50, size: 20, sort: Sort::Newest, ..Default::default() }),
            hand: Box::new(|c, _| {
                baseline(
                    c,
                    &format!("SELECT {COLS} FROM audit_events e ORDER BY e.created DESC LIMIT 20 OFFSET 980"),
                    "SELECT resource_type, action, count(*) FROM audit_events GROUP BY 1, 2",
                    &[],
                )
            }),
        },
    ];

    println!(
        "search on SQLite, {total} events, {} iterations per query and side, interleaved (20 where the baseline scans the table)",
        args.iterations
    );
    println!("{:<28} {:>9} {:>9} {:>11} {:>11} {:>8}", "query", "p50 ms", "p99 ms", "base p50", "base p99", "p99 x");
    let me = Identity::system();
    for case in cases.iter().filter(|c| args.only.as_deref().is_none_or(|o| c.name.contains(o))) {
        let iterations = if case.full_scan { args.iterations.min(20) } else { args.iterations };
        // Warm both sides' caches and prepared statements.
        for i in 0..5 {
            runtime.block_on(service.search(&me, &(case.params)(i)))?;
            (case.hand)(&conn, i)?;
        }
        let (mut ours, mut base) = (Vec::new(), Vec::new());
        for i in 0..iterations {
            let p = (case.params)(i);
            let t = Instant::now();
            runtime.block_on(service.search(&me, &p))?;
            ours.push(t.elapsed());
            let t = Instant::now();
            (case.hand)(&conn, i)?;
            base.push(t.elapsed());
        }
        ours.sort();
        base.sort();
        let (p50, p99, b50, b99): (Duration, Duration, Duration, Duration) =
            (percentile(&ours, 50.0), percentile(&ours, 99.0), percentile(&base, 50.0), percentile(&base, 99.0));
        println!(
            "{:<28} {:>9.2} {:>9.2} {:>11.2} {:>11.2} {:>8.2}",
            case.name,
            ms(p50),
            ms(p99),
            ms(b50),
            ms(b99),
            ms(p99) / ms(b99)
        );
    }
    println!("targets: every p99 <= 50 ms and <= 2x its baseline's p99");
    Ok(())
}
