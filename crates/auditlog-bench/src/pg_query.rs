//! Search latency on PostgreSQL: the six queries of the SQLite `query`
//! scenario, on the same one million demo events (copied from the SQLite
//! dataset that scenario seeds, through `Store::insert`), through the search
//! service — parsing, lowering, SQL, facets — each against hand-written
//! SQL over the same schema that returns the same page of hits and the same
//! facet counts, interleaved. The hand-written SQL runs twice: as prepared
//! statements (PostgreSQL may switch to a generic plan and skip planning),
//! and planned for every execution as the store's statements are
//! (`plan_cache_mode = force_custom_plan`); the ratio is against the better.
//!
//! The seeded schema (`seeded_demo_<events>` in the benchmark database) is
//! kept between runs; it is vacuumed and analyzed once after seeding, as
//! autovacuum would leave a table that has settled, and its events are
//! integrated into the transparency log, as a server's sequencer would.

use auditlog_store::EventStore;
use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auditlog_core::{Config, Event, Identity, Resource, Timestamp, User};
use auditlog_store::SearchParams;
use auditlog_store::postgres::PgStore;
use auditlog_store::search::Sort;
use auditlog_store::{AuditLogService, Store};
use serde_json::json;
use tokio_postgres::Statement;

use crate::pg;
use crate::stats::{ms, percentile};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The benchmark database (created when missing).
    #[arg(long, default_value = pg::DEFAULT_URL)]
    url: String,
    /// Events in the seeded dataset.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Where the SQLite dataset it is copied from is kept (see `query`).
    #[arg(long, default_value = "target/bench-data")]
    data: PathBuf,
    /// Measured iterations per query and side (queries whose baseline scans
    /// the whole table run at most 20, as in the SQLite scenario).
    #[arg(long, default_value_t = 300)]
    iterations: usize,
    /// Run only the queries whose name contains this.
    #[arg(long)]
    only: Option<String>,
}

/// Events per `Store::insert` while seeding.
const SEED_BATCH: usize = 5000;

fn event_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    let bad = |i: usize, e: String| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into());
    let id: String = r.get(1)?;
    let created: i64 = r.get(2)?;
    let metadata: String = r.get(9)?;
    Ok(Event {
        id: id.parse().map_err(|e: uuid::Error| bad(1, e.to_string()))?,
        created: Timestamp::from_micros(created).ok_or_else(|| bad(2, format!("time {created}")))?,
        action: r.get(3)?,
        resource: Resource { kind: r.get(4)?, id: r.get(5)? },
        user: User { id: r.get(6)?, username: r.get(7)?, email: r.get(8)? },
        metadata: serde_json::from_str(&metadata).map_err(|e| bad(9, e.to_string()))?,
        message: r.get(10)?,
    })
}

const SQLITE_COLS: &str =
    "seq, id, created, action, resource_type, resource_id, user_id, user_username, user_email, metadata, message";

/// Seeds (once) and opens the PostgreSQL dataset.
async fn seeded(args: &Args) -> anyhow::Result<(PgStore, String)> {
    let db = pg::database(&args.url).await?;
    let schema = format!("seeded_demo_{}", args.events);
    let done = db
        .query_opt(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'bench_seeded'",
            &[&schema],
        )
        .await?
        .is_some();
    if done {
        let store = pg::store(&args.url, &schema).await?;
        // A dataset seeded before the transparency log existed is queued by
        // the migration; settle it as the sequencer would.
        let n = pg::integrate_all(&store).await?;
        if n > 0 {
            eprintln!("integrated {n} pending events into the transparency log");
        }
        return Ok((store, schema));
    }
    let sqlite = crate::query::seeded(&args.data, args.events)?;
    let conn = sqlite.connect()?;
    pg::fresh_schema(&db, &schema).await?;
    let store = pg::store(&args.url, &schema).await?;
    let started = Instant::now();
    // One event of each month first, so that partition maintenance makes
    // every month's partition before the rest arrives.
    let firsts: Vec<i64> = conn
        .prepare(
            "SELECT min(seq) FROM audit_events GROUP BY strftime('%Y-%m', created / 1000000, 'unixepoch') ORDER BY 1",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let first_set: HashSet<i64> = firsts.iter().copied().collect();
    let mut stmt = conn.prepare(&format!("SELECT {SQLITE_COLS} FROM audit_events WHERE seq = ?1"))?;
    let mut first_events = Vec::new();
    for seq in &firsts {
        first_events.push(stmt.query_row([seq], event_of)?);
    }
    store.insert(first_events).await?;
    let made = store.maintain_partitions(Timestamp::now()).await?;
    eprintln!("made {} partitions", made.created.len());
    let mut stmt =
        conn.prepare(&format!("SELECT {SQLITE_COLS} FROM audit_events WHERE seq > ?1 ORDER BY seq LIMIT ?2"))?;
    let (mut last, mut copied) = (0i64, firsts.len() as u64);
    loop {
        let rows: Vec<(i64, Event)> = stmt
            .query_map(rusqlite::params![last, SEED_BATCH as i64], |r| Ok((r.get(0)?, event_of(r)?)))?
            .collect::<Result<_, _>>()?;
        let Some((seq, _)) = rows.last() else { break };
        last = *seq;
        let batch: Vec<Event> = rows.into_iter().filter(|(s, _)| !first_set.contains(s)).map(|(_, e)| e).collect();
        copied += batch.len() as u64;
        store.insert(batch).await?;
        if copied % 100_000 < SEED_BATCH as u64 {
            eprintln!("copied {copied} events after {:.0}s", started.elapsed().as_secs_f64());
        }
    }
    store.maintain_partitions(Timestamp::now()).await?;
    pg::integrate_all(&store).await?;
    let c = pg::connect(&pg::in_schema(&args.url, &schema)?).await?;
    pg::settle(&c).await?;
    c.batch_execute(&format!("CREATE TABLE bench_seeded AS SELECT {copied}::bigint AS events")).await?;
    eprintln!("seeded {schema} with {copied} events in {:.0}s", started.elapsed().as_secs_f64());
    Ok((store, schema))
}

/// Sample values present in the data, to parameterise queries.
struct Samples {
    resources: Vec<String>,
    users: Vec<String>,
    parents: Vec<String>,
}

async fn samples(c: &tokio_postgres::Client) -> anyhow::Result<Samples> {
    let col = |sql: &'static str| async move {
        let rows = c.query(sql, &[]).await?;
        anyhow::Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>())
    };
    let users: BTreeSet<String> =
        col("SELECT user_id FROM audit_events WHERE seq % 991 = 0").await?.into_iter().collect();
    Ok(Samples {
        resources: col("SELECT resource_id FROM audit_events WHERE seq % 997 = 0 ORDER BY seq").await?,
        users: users.into_iter().collect(),
        parents: col(
            "SELECT metadata->>'parent_pid' FROM audit_events WHERE seq % 983 = 0 AND metadata ? 'parent_pid' ORDER BY seq",
        )
        .await?,
    })
}

const COLS: &str = "e.id, e.created, e.action, e.resource_type, e.resource_id, e.user_id, e.user_username, e.user_email, e.metadata, e.message";

#[derive(Debug, Clone, Copy)]
enum Case {
    Resource,
    UserActionRange,
    Word,
    Meta,
    Facets,
    Page50,
}

const CASES: [(Case, &str); 6] = [
    (Case::Resource, "resource.id term"),
    (Case::UserActionRange, "user + action + time range"),
    (Case::Word, "free-text word"),
    (Case::Meta, "metadata path term"),
    (Case::Facets, "facets only (no q)"),
    (Case::Page50, "page 50 of newest"),
];

/// The hand-written side of a case: hits page, then facet cells.
fn hand_sql(case: Case) -> (String, &'static str) {
    let range = "e.user_id = $1 AND e.action = 'draft.edit' AND e.created >= $2 AND e.created < $3";
    match case {
        Case::Resource => (
            format!("SELECT {COLS} FROM audit_events e WHERE e.resource_id = $1 ORDER BY e.created DESC LIMIT 20"),
            "SELECT resource_type, action, count(*) FROM audit_events WHERE resource_id = $1 GROUP BY 1, 2",
        ),
        Case::UserActionRange => (
            format!("SELECT {COLS} FROM audit_events e WHERE {range} ORDER BY e.created DESC LIMIT 20"),
            "SELECT e.resource_type, e.action, count(*) FROM audit_events e WHERE e.user_id = $1 AND e.action = 'draft.edit' AND e.created >= $2 AND e.created < $3 GROUP BY 1, 2",
        ),
        Case::Word => (
            format!(
                "SELECT {COLS} FROM audit_events e WHERE e.fts @@ to_tsquery('simple', $1) ORDER BY e.created DESC LIMIT 20"
            ),
            "SELECT resource_type, action, count(*) FROM audit_events WHERE fts @@ to_tsquery('simple', $1) GROUP BY 1, 2",
        ),
        Case::Meta => (
            format!("SELECT {COLS} FROM audit_events e WHERE e.metadata @> $1 ORDER BY e.created DESC LIMIT 20"),
            "SELECT resource_type, action, count(*) FROM audit_events WHERE metadata @> $1 GROUP BY 1, 2",
        ),
        Case::Facets => (
            format!("SELECT {COLS} FROM audit_events e ORDER BY e.created DESC LIMIT 20"),
            "SELECT resource_type, action, count(*) FROM audit_events GROUP BY 1, 2",
        ),
        Case::Page50 => (
            format!("SELECT {COLS} FROM audit_events e ORDER BY e.created DESC LIMIT 20 OFFSET 980"),
            "SELECT resource_type, action, count(*) FROM audit_events GROUP BY 1, 2",
        ),
    }
}

fn pick(v: &[String], i: usize) -> &str {
    &v[(i * 7919) % v.len()]
}

/// The time range of the user case (as in the SQLite scenario).
fn range() -> (Timestamp, Timestamp) {
    let t = |s: &str| s.parse::<Timestamp>().expect("a timestamp");
    (t("2025-06-01T00:00:00Z"), t("2026-07-01T00:00:00Z"))
}

fn params(case: Case, s: &Samples, i: usize) -> SearchParams {
    let q = match case {
        Case::Resource => Some(format!("resource.id:{}", pick(&s.resources, i))),
        Case::UserActionRange => {
            Some(format!("user.id:{} AND action:draft.edit AND created:[2025-06-01 TO 2026-06-30]", pick(&s.users, i)))
        }
        Case::Word => Some(pick(&s.resources, i)[..5].to_owned()),
        Case::Meta => Some(format!("metadata.parent_pid:{}", pick(&s.parents, i))),
        Case::Facets => None,
        Case::Page50 => return SearchParams { page: 50, size: 20, sort: Sort::Newest, ..Default::default() },
    };
    SearchParams { q, ..Default::default() }
}

/// Runs the hand-written side; returns the rows read.
async fn hand(
    c: &tokio_postgres::Client,
    stmts: &(Statement, Statement),
    case: Case,
    s: &Samples,
    i: usize,
) -> anyhow::Result<usize> {
    let (from, to) = range();
    let (from, to) = (from.as_datetime(), to.as_datetime());
    let text;
    let meta;
    let p: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = match case {
        Case::Resource => {
            text = pick(&s.resources, i).to_owned();
            vec![&text]
        }
        Case::UserActionRange => {
            text = pick(&s.users, i).to_owned();
            vec![&text, &from, &to]
        }
        Case::Word => {
            text = pick(&s.resources, i)[..5].to_owned();
            vec![&text]
        }
        Case::Meta => {
            meta = json!({"parent_pid": pick(&s.parents, i)});
            vec![&meta]
        }
        Case::Facets | Case::Page50 => vec![],
    };
    let hits = c.query(&stmts.0, &p).await?;
    // Decode what a caller would use, as the store does.
    for r in &hits {
        let _: (uuid::Uuid, serde_json::Value, String) = (r.get(0), r.get(8), r.get(9));
    }
    let cells = c.query(&stmts.1, &p).await?;
    Ok(hits.len() + cells.len())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: Args) -> anyhow::Result<()> {
    let (store, schema) = seeded(&args).await?;
    let store = Arc::new(store);
    let prepared = pg::connect(&pg::in_schema(&args.url, &schema)?).await?;
    let custom = pg::connect(&pg::in_schema(&args.url, &schema)?).await?;
    custom.batch_execute("SET plan_cache_mode = force_custom_plan").await?;
    let version: String = prepared.query_one("SHOW server_version", &[]).await?.get(0);
    let s = samples(&prepared).await?;
    let audit = Arc::new(auditlog_core::AuditLog::from_config(&Config::default())?);
    let service = AuditLogService::new(audit, store.clone() as Arc<dyn Store>);
    let total = store.count().await?;
    let me = Identity::system();

    println!(
        "search on PostgreSQL {version}, {total} events, {} iterations per query and side (20 where a side takes \
         over 100 ms), interleaved",
        args.iterations
    );
    println!("baselines: hand-written SQL, prepared once (PostgreSQL may reuse a generic plan), and the same");
    println!("statements planned for every execution (plan_cache_mode = force_custom_plan, as the store's are)");
    println!(
        "{:<28} {:>8} {:>8} {:>10} {:>10} {:>10} {:>10} {:>7}",
        "query", "p50 ms", "p99 ms", "prep p50", "prep p99", "cust p50", "cust p99", "p99 x"
    );
    for (case, name) in CASES {
        if args.only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        let (hits_sql, cells_sql) = hand_sql(case);
        let stmts_p = (prepared.prepare(&hits_sql).await?, prepared.prepare(cells_sql).await?);
        let stmts_c = (custom.prepare(&hits_sql).await?, custom.prepare(cells_sql).await?);
        // Warm every side's caches (and let PostgreSQL settle on a plan for
        // the prepared statements: it decides after five executions).
        let mut slowest = Duration::ZERO;
        for i in 0..6 {
            let t = Instant::now();
            service.search(&me, &params(case, &s, i)).await?;
            hand(&prepared, &stmts_p, case, &s, i).await?;
            hand(&custom, &stmts_c, case, &s, i).await?;
            slowest = slowest.max(t.elapsed() / 3);
        }
        let iterations = if slowest > Duration::from_millis(100) { args.iterations.min(20) } else { args.iterations };
        let (mut ours, mut base_p, mut base_c) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..iterations {
            let p = params(case, &s, i);
            let t = Instant::now();
            service.search(&me, &p).await?;
            ours.push(t.elapsed());
            let t = Instant::now();
            hand(&prepared, &stmts_p, case, &s, i).await?;
            base_p.push(t.elapsed());
            let t = Instant::now();
            hand(&custom, &stmts_c, case, &s, i).await?;
            base_c.push(t.elapsed());
        }
        for v in [&mut ours, &mut base_p, &mut base_c] {
            v.sort();
        }
        let p = |v: &[Duration], q: f64| ms(percentile(v, q));
        let best_base = p(&base_p, 99.0).min(p(&base_c, 99.0));
        println!(
            "{:<28} {:>8.2} {:>8.2} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>7.2}",
            name,
            p(&ours, 50.0),
            p(&ours, 99.0),
            p(&base_p, 50.0),
            p(&base_p, 99.0),
            p(&base_c, 50.0),
            p(&base_c, 99.0),
            p(&ours, 99.0) / best_base
        );
    }
    println!("targets: every p99 <= 50 ms and <= 2x the better baseline's p99 (the last column)");
    Ok(())
}
