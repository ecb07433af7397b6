//! Batched ingest on PostgreSQL. In one run, on fresh schemas of the
//! benchmark database, rounds interleaved:
//!
//! - (a) events/s through the full path — registry lookup, context
//!   resolvers, validation, message rendering, full-text vector, then
//!   `Store::insert` — 1,000 events per transaction (what `_bulk` and
//!   `auditlog ingest` do);
//! - (b) `Store::insert` alone of pre-built events (context: the store's
//!   share of (a));
//! - (c) the baselines: the very rows the store writes (read back from a
//!   store-written schema: same ids, JSON, full-text vectors), written into
//!   the same schema (same partitions and indexes) 1,000 per transaction
//!   with their facet count deltas, by plain `COPY ... FROM STDIN` (c1) and
//!   by a plain multi-row `INSERT ... VALUES` (c2).
//!
//! (a)/max(c1, c2) is the cost of everything auditlog does besides writing
//! rows; the target is >= 0.6. (a) and (b) include queuing each event for
//! the transparency log (a row in `audit_pending`, same statement);
//! integrating the queue into the Merkle tree is the sequencer's work in the
//! background and is not timed here.

use auditlog_store::EventStore;
use std::collections::BTreeMap;
use std::time::Instant;

use auditlog_core::{Event, Timestamp};
use auditlog_store::postgres::PgStore;
use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::types::ToSql;

use crate::pg;
use crate::stats::median;
use crate::workload::{self, ALL_ACTIONS, Workload};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The benchmark database (created when missing).
    #[arg(long, default_value = pg::DEFAULT_URL)]
    url: String,
    /// Events per run.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Interleaved rounds; medians are reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

const BATCH: usize = 1000;

const COLUMNS: &str =
    "id, created, action, resource_type, resource_id, user_id, user_username, user_email, metadata, message, fts";

/// One stored row as PostgreSQL prints it (`NULL` as `None`).
type Row = Vec<Option<String>>;

/// A batch of rows ready for the baselines: COPY text, the values, and
/// the facet count deltas.
struct Batch {
    copy: Bytes,
    rows: Vec<Row>,
    counts: (Vec<String>, Vec<String>, Vec<i64>),
}

/// COPY text format: backslash escapes, `\N` for NULL.
fn copy_field(out: &mut String, v: &Option<String>) {
    match v {
        None => out.push_str("\\N"),
        Some(s) => {
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
        }
    }
}

fn batches(rows: Vec<Row>) -> Vec<Batch> {
    rows.chunks(BATCH)
        .map(|chunk| {
            let mut copy = String::new();
            let mut counts: BTreeMap<(String, String), i64> = BTreeMap::new();
            for row in chunk {
                for (i, v) in row.iter().enumerate() {
                    if i > 0 {
                        copy.push('\t');
                    }
                    copy_field(&mut copy, v);
                }
                copy.push('\n');
                let key = (row[3].clone().unwrap_or_default(), row[2].clone().unwrap_or_default());
                *counts.entry(key).or_default() += 1;
            }
            let mut c = (Vec::new(), Vec::new(), Vec::new());
            for ((r, a), n) in counts {
                c.0.push(r);
                c.1.push(a);
                c.2.push(n);
            }
            Batch { copy: Bytes::from(copy), rows: chunk.to_vec(), counts: c }
        })
        .collect()
}

/// A fresh, migrated schema with this month's partitions.
async fn fresh(db: &tokio_postgres::Client, url: &str, schema: &str) -> anyhow::Result<PgStore> {
    pg::fresh_schema(db, schema).await?;
    let store = pg::store(url, schema).await?;
    store.maintain_partitions(Timestamp::now()).await?;
    Ok(store)
}

/// The rows `events` become, as the store writes them.
async fn stored_rows(db: &tokio_postgres::Client, url: &str, events: &[Event]) -> anyhow::Result<Vec<Row>> {
    let schema = "bench_ingest_rows";
    let store = fresh(db, url, schema).await?;
    for chunk in events.chunks(BATCH) {
        store.insert(chunk.to_vec()).await?;
    }
    let c = pg::connect(&pg::in_schema(url, schema)?).await?;
    let rows = c
        .query(
            "SELECT id::text, created::text, action, resource_type, resource_id, user_id, user_username, user_email,
                    metadata::text, message, fts::text
             FROM audit_events ORDER BY seq",
            &[],
        )
        .await?;
    store.close();
    pg::drop_schema(db, schema).await?;
    Ok(rows.iter().map(|r| (0..11).map(|i| r.get::<_, Option<String>>(i)).collect()).collect())
}

async fn add_counts(tx: &tokio_postgres::Transaction<'_>, b: &Batch) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO audit_counts (resource_type, action, n) SELECT * FROM unnest($1::text[], $2::text[], $3::int8[])",
        &[&b.counts.0, &b.counts.1, &b.counts.2],
    )
    .await?;
    Ok(())
}

/// (c1): `COPY` of each batch, with its count deltas, one transaction each.
async fn copy_baseline(c: &mut tokio_postgres::Client, batches: &[Batch]) -> anyhow::Result<f64> {
    let rows: usize = batches.iter().map(|b| b.rows.len()).sum();
    let started = Instant::now();
    for b in batches {
        let tx = c.transaction().await?;
        let sink = tx.copy_in::<_, Bytes>(&format!("COPY audit_events ({COLUMNS}) FROM STDIN")).await?;
        let mut sink = std::pin::pin!(sink);
        sink.send(b.copy.clone()).await?;
        sink.as_mut().finish().await?;
        add_counts(&tx, b).await?;
        tx.commit().await?;
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

/// The multi-row INSERT of `n` rows.
fn values_sql(n: usize) -> String {
    let mut sql = format!("INSERT INTO audit_events ({COLUMNS}) VALUES ");
    for r in 0..n {
        let p = r * 11;
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}::uuid, ${}::timestamptz, ${}, ${}, ${}, ${}, ${}, ${}, ${}::jsonb, ${}, ${}::tsvector)",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 6,
            p + 7,
            p + 8,
            p + 9,
            p + 10,
            p + 11
        ));
    }
    sql
}

/// (c2): one prepared multi-row `INSERT` per batch, with its count deltas,
/// one transaction each. Values are sent as text, cast by the server.
async fn insert_baseline(c: &mut tokio_postgres::Client, batches: &[Batch]) -> anyhow::Result<f64> {
    let rows: usize = batches.iter().map(|b| b.rows.len()).sum();
    let text = tokio_postgres::types::Type::TEXT;
    let mut prepared: BTreeMap<usize, tokio_postgres::Statement> = BTreeMap::new();
    for b in batches {
        if !prepared.contains_key(&b.rows.len()) {
            let n = b.rows.len();
            prepared.insert(n, c.prepare_typed(&values_sql(n), &vec![text.clone(); n * 11]).await?);
        }
    }
    let started = Instant::now();
    for b in batches {
        let stmt = &prepared[&b.rows.len()];
        let params: Vec<&(dyn ToSql + Sync)> =
            b.rows.iter().flat_map(|r| r.iter().map(|v| v as &(dyn ToSql + Sync))).collect();
        let tx = c.transaction().await?;
        tx.execute(stmt, &params).await?;
        add_counts(&tx, b).await?;
        tx.commit().await?;
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

/// (a): build, validate, render and store, 1,000 events per transaction.
async fn full_path(store: &PgStore, w: &Workload, n: usize) -> anyhow::Result<f64> {
    let actions: Vec<workload::Action> = (0..n).map(|i| w.action(i, ALL_ACTIONS)).collect();
    let started = Instant::now();
    for chunk in actions.chunks(BATCH) {
        let events = chunk.iter().map(|a| w.event(a)).collect::<Result<Vec<_>, _>>()?;
        store.insert(events).await?;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// (b): the store's insert of pre-built events.
async fn store_only(store: &PgStore, chunks: Vec<Vec<Event>>) -> anyhow::Result<f64> {
    let n: usize = chunks.iter().map(Vec::len).sum();
    let started = Instant::now();
    for chunk in chunks {
        store.insert(chunk).await?;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: Args) -> anyhow::Result<()> {
    let db = pg::database(&args.url).await?;
    let w = Workload::new()?;
    let events: Vec<Event> = (0..args.events).map(|i| w.event(&w.action(i, ALL_ACTIONS))).collect::<Result<_, _>>()?;
    let batches = batches(stored_rows(&db, &args.url, &events).await?);
    let version: String = db.query_one("SHOW server_version", &[]).await?.get(0);

    let (mut a, mut b, mut c1, mut c2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let schema = "bench_ingest";
        let store = fresh(&db, &args.url, schema).await?;
        let mut client = pg::connect(&pg::in_schema(&args.url, schema)?).await?;
        c1.push(copy_baseline(&mut client, &batches).await?);
        store.close();

        let store = fresh(&db, &args.url, schema).await?;
        let mut client = pg::connect(&pg::in_schema(&args.url, schema)?).await?;
        c2.push(insert_baseline(&mut client, &batches).await?);
        store.close();

        let store = fresh(&db, &args.url, schema).await?;
        a.push(full_path(&store, &w, args.events).await?);
        store.close();

        let store = fresh(&db, &args.url, schema).await?;
        b.push(store_only(&store, events.chunks(BATCH).map(<[Event]>::to_vec).collect()).await?);
        store.close();

        eprintln!(
            "round {}: (a) {:.0}/s  (b) {:.0}/s  (c1) COPY {:.0}/s  (c2) INSERT {:.0}/s",
            round + 1,
            a[round],
            b[round],
            c1[round],
            c2[round]
        );
    }
    pg::drop_schema(&db, "bench_ingest").await?;
    let best: Vec<f64> = c1.iter().zip(&c2).map(|(x, y)| x.max(*y)).collect();
    let ratio = |v: &[f64], base: &[f64]| median(v.iter().zip(base).map(|(x, y)| x / y).collect());
    let (r_a, r_a1, r_a2, r_b) = (ratio(&a, &best), ratio(&a, &c1), ratio(&a, &c2), ratio(&b, &best));
    println!(
        "ingest on PostgreSQL {version}, {} events per run, {BATCH} per transaction, medians of {} rounds",
        args.events, args.rounds
    );
    println!("(a) full path through the store             : {:>9.0} events/s", median(a));
    println!("(b) Store::insert of pre-built events       : {:>9.0} events/s", median(b));
    println!("(c1) baseline: plain COPY of the same rows  : {:>9.0} rows/s", median(c1));
    println!("(c2) baseline: plain multi-row INSERT       : {:>9.0} rows/s", median(c2));
    println!("(a)/best baseline = {r_a:.2}   ((a)/(c1) {r_a1:.2}, (a)/(c2) {r_a2:.2}; target >= 0.60)");
    println!("(b)/best baseline = {r_b:.2}");
    Ok(())
}
