//! Export and import through the real `auditlog` binary on SQLite, in one
//! run, each next to a baseline measured alongside it:
//!
//! - `auditlog export --output FILE` (NDJSON, and `--format csv`) of the
//!   bulk-seeded store of N events: wall time and the child's peak RSS, vs
//!   the baseline: one `rusqlite` scan of the same database file, oldest
//!   first, writing the same NDJSON with `serde_json` (checked to be the
//!   very same bytes). The peak RSS of exporting a store of N/10 events is
//!   printed next to it: memory should not grow with the store.
//! - `auditlog import FILE` of that NDJSON into an empty store (validation,
//!   batches of 1,000, the transparency log built for what it stores), then
//!   the same import again (every event already stored: the resume path),
//!   vs the baseline: the same file parsed into `Event`s with serde and
//!   written with `Store::insert` in 1,000-event batches on a fresh store.
//!   Integrating the baseline store's log afterwards is timed apart, as
//!   context.
//! - Not timed: the imported store exports the very same bytes.
//!
//! The binary is the release build next to this one; wall times include
//! starting it. Peak RSS is read with getrusage(2) through a small trampoline
//! process (see below).
//!
//! Rounds are interleaved (the order of each pair alternates); medians, and
//! medians of the per-round ratios, are reported.

use auditlog_store::EventStore;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use auditlog_core::{Event, Timestamp};
use auditlog_merkle::NoteSigner;
use auditlog_store::sqlite::{SqliteOptions, SqliteStore};
use auditlog_transparency::Sequencer;
use nix::sys::resource::{UsageWho, getrusage};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::stats::median;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events of the bulk-seeded store exported and imported.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Interleaved rounds; medians are reported.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Where the seeded stores live (and this run's scratch directory).
    #[arg(long, default_value = "target/bench-data")]
    data: PathBuf,
}

const BATCH: usize = 1000;

// ---- The child process ------------------------------------------------------
//
// A child's `ru_maxrss` is not its own peak alone: Linux keeps, across
// `exec`, the high-water mark of the memory the child had before it (with
// `posix_spawn`, which `std::process::Command` uses, the parent's own
// mappings). Measured straight from this process, every export read as
// this process's peak (42 MiB at 20,000 events, whatever the child did).
// So the binary is run through a trampoline: this executable started
// again (`measure-child`, a few MiB), which spawns the binary, waits for
// it and reports the child's peak RSS and its own (the floor
// under which a figure would mean nothing).

/// What one run of the binary took.
#[derive(Debug, Clone, Copy)]
struct Run {
    wall: Duration,
    /// Peak resident set size, KiB.
    max_rss_kib: i64,
}

/// This process's peak RSS so far (KiB), from `/proc/self/status`.
fn own_peak_rss_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap_or("");
    line.trim().trim_end_matches("kB").trim().parse().unwrap_or(-1)
}

/// `auditlog-bench measure-child --report FILE -- PROGRAM ARGS...` (used by
/// `export-import`, hidden from help).
#[derive(Debug, clap::Args)]
pub struct ChildArgs {
    /// Written at the end: the child's peak RSS and this process's, in KiB.
    #[arg(long)]
    report: PathBuf,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    command: Vec<std::ffi::OsString>,
}

/// Runs the command (stdio, directory and environment inherited), reports
/// its peak RSS, and exits with its exit code.
pub fn measure_child(args: ChildArgs) -> anyhow::Result<()> {
    let own = own_peak_rss_kib();
    let status = Command::new(&args.command[0]).args(&args.command[1..]).status()?;
    // The only child this process ever had, now reaped: its peak RSS (KiB
    // on Linux).
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN)?;
    std::fs::write(&args.report, format!("{} {own}\n", usage.max_rss()))?;
    std::process::exit(status.code().unwrap_or(128));
}

/// `auditlog --config CONFIG <args>` through the trampoline, run in `dir`
/// with no configuration from this process's environment; stderr is
/// returned.
fn auditlog(bin: &Path, config: &Path, dir: &Path, args: &[&str]) -> anyhow::Result<(Run, String)> {
    let (log, report) = (dir.join("auditlog.stderr"), dir.join("auditlog.rusage"));
    let _ = std::fs::remove_file(&report);
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.current_dir(dir).arg("measure-child").arg("--report").arg(&report).arg("--").arg(bin);
    cmd.arg("--config").arg(config).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("AUDITLOG_") || key.starts_with("AUDIT_LOGS_") {
            cmd.env_remove(key);
        }
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(File::create(&log)?);
    let started = Instant::now();
    let status = cmd.status().context("cannot run the measure-child trampoline")?;
    let wall = started.elapsed();
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    anyhow::ensure!(status.success(), "auditlog {} failed ({status}):\n{stderr}", args.join(" "));
    let text = std::fs::read_to_string(&report).context("the trampoline's report")?;
    let mut kib = text.split_whitespace().map(|w| w.parse::<i64>().unwrap_or(-1));
    let (max_rss_kib, floor) = (kib.next().unwrap_or(-1), kib.next().unwrap_or(-1));
    anyhow::ensure!(
        max_rss_kib > floor,
        "auditlog {}: peak RSS {max_rss_kib} KiB is not above the trampoline's own {floor} KiB",
        args.join(" ")
    );
    Ok((Run { wall, max_rss_kib }, stderr))
}

/// The number before `what` on the line of `stderr` starting with `prefix`
/// (`import: 5 events stored, 0 already stored, ...`).
fn count(stderr: &str, prefix: &str, what: &str) -> Option<u64> {
    let line = stderr.lines().find(|l| l.starts_with(prefix) && l.contains(what))?;
    let before = &line[..line.find(what)?];
    before.rsplit(|c: char| !c.is_ascii_digit()).find(|w| !w.is_empty())?.parse().ok()
}

/// Writes a configuration naming the SQLite database at `db` (absolute).
fn config(dir: &Path, name: &str, db: &Path) -> anyhow::Result<PathBuf> {
    let db = std::path::absolute(db)?;
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("AUDIT_LOGS_ENABLED = true\ndatabase_url = {:?}\n", format!("sqlite://{}", db.display())),
    )?;
    Ok(path)
}

fn export(bin: &Path, config: &Path, dir: &Path, out: &Path, csv: bool, expected: u64) -> anyhow::Result<Run> {
    let out = out.to_str().context("a UTF-8 path")?;
    let mut args = vec!["export", "--output", out];
    if csv {
        args.extend(["--format", "csv"]);
    }
    let (run, stderr) = auditlog(bin, config, dir, &args)?;
    let written = count(&stderr, "export: ", " events to");
    anyhow::ensure!(written == Some(expected), "export wrote {written:?} events, expected {expected}:\n{stderr}");
    Ok(run)
}

/// `auditlog import FILE`; returns the run and (stored, already stored).
fn import(bin: &Path, config: &Path, dir: &Path, file: &Path) -> anyhow::Result<(Run, u64, u64)> {
    let (run, stderr) = auditlog(bin, config, dir, &["import", file.to_str().context("a UTF-8 path")?])?;
    let stored = count(&stderr, "import: ", " events stored")
        .with_context(|| format!("no `import: N events stored` line:\n{stderr}"))?;
    let skipped = count(&stderr, "import: ", " already stored").unwrap_or(0);
    Ok((run, stored, skipped))
}

// ---- Baselines -------------------------------------------------------------

/// An export line: the stored event in the wire format, members in the
/// order `auditlog export` writes them (the event's own field order).
#[derive(Serialize)]
struct Line<'a> {
    id: &'a str,
    created: Timestamp,
    action: &'a str,
    resource: LineResource<'a>,
    user: LineUser<'a>,
    metadata: Map<String, Value>,
    message: &'a str,
}

#[derive(Serialize)]
struct LineResource<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
}

#[derive(Serialize)]
struct LineUser<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    email: &'a str,
}

/// Every stored event, oldest first, as NDJSON to `out`: one scan with
/// rusqlite. Returns the events written.
fn baseline_export(db: &Path, out: &Path) -> anyhow::Result<u64> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut w = BufWriter::with_capacity(1 << 16, File::create(out)?);
    let mut stmt = conn.prepare(
        "SELECT id, created, action, resource_type, resource_id, user_id, user_username, user_email, metadata, message
         FROM audit_events ORDER BY created, seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut n = 0u64;
    while let Some(r) = rows.next()? {
        let created: i64 = r.get(1)?;
        let line = Line {
            action: r.get_ref(2)?.as_str()?,
            created: Timestamp::from_micros(created).context("a stored time")?,
            id: r.get_ref(0)?.as_str()?,
            message: r.get_ref(9)?.as_str()?,
            metadata: serde_json::from_str(r.get_ref(8)?.as_str()?)?,
            resource: LineResource { id: r.get_ref(4)?.as_str()?, kind: r.get_ref(3)?.as_str()? },
            user: LineUser {
                email: r.get_ref(7)?.as_str()?,
                id: r.get_ref(5)?.as_str()?,
                username: r.get_ref(6)?.as_str_or_null()?,
            },
        };
        serde_json::to_writer(&mut w, &line)?;
        w.write_all(b"\n")?;
        n += 1;
    }
    w.flush()?;
    Ok(n)
}

/// The NDJSON file parsed into events and written with `Store::insert`,
/// 1,000 per transaction, on a fresh store at `db`. Returns the store and
/// the events inserted.
async fn baseline_import(file: &Path, db: &Path) -> anyhow::Result<(Arc<SqliteStore>, u64)> {
    let store = Arc::new(SqliteStore::open(db, SqliteOptions::default())?);
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
    let mut n = 0u64;
    for line in BufReader::with_capacity(1 << 16, File::open(file)?).lines() {
        batch.push(serde_json::from_str(&line?)?);
        if batch.len() == BATCH {
            n += BATCH as u64;
            store.insert(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).await?;
        }
    }
    n += batch.len() as u64;
    if !batch.is_empty() {
        store.insert(batch).await?;
    }
    Ok((store, n))
}

fn signer() -> Arc<NoteSigner> {
    Arc::new(NoteSigner::from_seed("bench.example/audit-logs", &[1; 32]).expect("key"))
}

/// `None` when the files hold the same bytes, else where they first differ.
fn first_difference(a: &Path, b: &Path) -> anyhow::Result<Option<u64>> {
    let (mut ra, mut rb) =
        (BufReader::with_capacity(1 << 20, File::open(a)?), BufReader::with_capacity(1 << 20, File::open(b)?));
    let mut at = 0u64;
    loop {
        let (ba, bb) = (ra.fill_buf()?, rb.fill_buf()?);
        if ba.is_empty() || bb.is_empty() {
            return Ok((ba.len() != bb.len()).then_some(at));
        }
        let n = ba.len().min(bb.len());
        if let Some(i) = ba[..n].iter().zip(&bb[..n]).position(|(x, y)| x != y) {
            return Ok(Some(at + i as u64));
        }
        ra.consume(n);
        rb.consume(n);
        at += n as u64;
    }
}

/// Reads the database file (and its WAL) once, into the OS page cache.
fn warm(db: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal"] {
        if let Ok(mut f) = File::open(format!("{}{suffix}", db.display())) {
            std::io::copy(&mut f, &mut std::io::sink())?;
        }
    }
    Ok(())
}

fn same_bytes(a: &Path, b: &Path, what: &str) -> anyhow::Result<()> {
    if let Some(at) = first_difference(a, b)? {
        anyhow::bail!(
            "{what}: {} ({} bytes) and {} ({} bytes) differ at byte {at}",
            a.display(),
            std::fs::metadata(a)?.len(),
            b.display(),
            std::fs::metadata(b)?.len(),
        );
    }
    Ok(())
}

// ---- The scenario ----------------------------------------------------------

#[derive(Default)]
struct Figures {
    export: Vec<Run>,
    csv: Vec<Run>,
    small: Vec<Run>,
    base_export: Vec<Duration>,
    import: Vec<Run>,
    again: Vec<Run>,
    base_import: Vec<Duration>,
    base_integrate: Vec<Duration>,
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn mib(kib: i64) -> f64 {
    kib as f64 / 1024.0
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let bin = std::env::current_exe()?.with_file_name("auditlog");
    anyhow::ensure!(
        bin.exists(),
        "{} not found: build it first with `cargo build --release -p auditlog-cli` (it must sit next to auditlog-bench)",
        bin.display()
    );
    anyhow::ensure!(args.events >= 10 && args.rounds >= 1, "--events must be at least 10 and --rounds at least 1");
    let (n, small_n) = (args.events, args.events / 10);
    std::fs::create_dir_all(&args.data)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // Seed (or reuse) both stores, then let go of them: only the binary
    // and the baseline's read-only connection touch them from here on.
    let (db, small_db) = rt.block_on(async {
        let big = crate::seed::seeded_bulk(&args.data, n).await?;
        let small = crate::seed::seeded_bulk(&args.data, small_n).await?;
        anyhow::Ok((big.path().to_path_buf(), small.path().to_path_buf()))
    })?;
    let work = tempfile::Builder::new().prefix("export-import-").tempdir_in(&args.data)?;
    let dir = work.path();
    let source_cfg = config(dir, "source.toml", &db)?;
    let small_cfg = config(dir, "small.toml", &small_db)?;
    let (ndjson, csv, small_out, base_out) =
        (dir.join("export.ndjson"), dir.join("export.csv"), dir.join("small.ndjson"), dir.join("baseline.ndjson"));

    let mut f = Figures::default();
    for round in 0..args.rounds {
        let flip = round % 2 == 1;
        // Export: the binary and the baseline, in alternating order, both
        // from the OS page cache (a first run at one million events read
        // the database from disk in whichever export came first).
        warm(&db)?;
        let baseline = || -> anyhow::Result<Duration> {
            let t = Instant::now();
            let written = baseline_export(&db, &base_out)?;
            let d = t.elapsed();
            anyhow::ensure!(written == n, "the baseline wrote {written} events, expected {n}");
            Ok(d)
        };
        if flip {
            f.export.push(export(&bin, &source_cfg, dir, &ndjson, false, n)?);
            f.base_export.push(baseline()?);
        } else {
            f.base_export.push(baseline()?);
            f.export.push(export(&bin, &source_cfg, dir, &ndjson, false, n)?);
        }
        if round == 0 {
            same_bytes(&ndjson, &base_out, "the baseline's NDJSON is not what `auditlog export` writes")?;
        }
        f.csv.push(export(&bin, &source_cfg, dir, &csv, true, n)?);
        f.small.push(export(&bin, &small_cfg, dir, &small_out, false, small_n)?);

        // Import: the binary (twice) and the baseline, in alternating order.
        let target = dir.join(format!("import-{round}"));
        std::fs::create_dir_all(&target)?;
        let target_cfg = config(&target, "auditlog.toml", &target.join("audit.db"))?;
        let base_db = dir.join(format!("baseline-{round}.db"));
        let cli = |f: &mut Figures| -> anyhow::Result<()> {
            let (run, stored, skipped) = import(&bin, &target_cfg, &target, &ndjson)?;
            anyhow::ensure!((stored, skipped) == (n, 0), "import stored {stored}, skipped {skipped}; expected {n}, 0");
            f.import.push(run);
            let (run, stored, skipped) = import(&bin, &target_cfg, &target, &ndjson)?;
            anyhow::ensure!(
                (stored, skipped) == (0, n),
                "import again stored {stored}, skipped {skipped}; expected 0, {n}"
            );
            f.again.push(run);
            Ok(())
        };
        let base = |f: &mut Figures| -> anyhow::Result<()> {
            rt.block_on(async {
                let t = Instant::now();
                let (store, inserted) = baseline_import(&ndjson, &base_db).await?;
                f.base_import.push(t.elapsed());
                anyhow::ensure!(inserted == n, "the baseline inserted {inserted} events, expected {n}");
                let t = Instant::now();
                let integrated = Sequencer::new(store.clone(), signer()).round(true).await?;
                f.base_integrate.push(t.elapsed());
                anyhow::ensure!(integrated.added == n, "integrated {} leaves, expected {n}", integrated.added);
                anyhow::Ok(())
            })
        };
        if flip {
            cli(&mut f)?;
            base(&mut f)?;
        } else {
            base(&mut f)?;
            cli(&mut f)?;
        }

        // The round trip (not timed): the imported store exports the same bytes.
        if round == 0 {
            let back = dir.join("round-trip.ndjson");
            export(&bin, &target_cfg, &target, &back, false, n)?;
            same_bytes(&ndjson, &back, "round trip: the imported store's export differs from the original export")?;
            std::fs::remove_file(&back)?;
            eprintln!(
                "round trip: the imported store's export is byte-identical ({} bytes)",
                std::fs::metadata(&ndjson)?.len()
            );
        }
        std::fs::remove_dir_all(&target)?;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", base_db.display()));
        }
        let r = round;
        eprintln!(
            "round {}: export {:.0}/s ({:.0} MiB), csv {:.0}/s, baseline export {:.0}/s; export of {small_n}: {:.0} MiB; \
             import {:.0}/s ({:.0} MiB), again {:.0}/s ({:.0} MiB), baseline insert {:.0}/s, integrate {:.1} s",
            r + 1,
            rate(n, f.export[r].wall),
            mib(f.export[r].max_rss_kib),
            rate(n, f.csv[r].wall),
            rate(n, f.base_export[r]),
            mib(f.small[r].max_rss_kib),
            rate(n, f.import[r].wall),
            mib(f.import[r].max_rss_kib),
            rate(n, f.again[r].wall),
            mib(f.again[r].max_rss_kib),
            rate(n, f.base_import[r]),
            f.base_integrate[r].as_secs_f64(),
        );
    }
    report(&args, &f, std::fs::metadata(&ndjson)?.len(), std::fs::metadata(&csv)?.len());
    Ok(())
}

fn report(args: &Args, f: &Figures, ndjson_bytes: u64, csv_bytes: u64) {
    let (n, small_n) = (args.events, args.events / 10);
    let rates = |runs: &[Run], k: u64| runs.iter().map(|r| rate(k, r.wall)).collect::<Vec<_>>();
    let durations = |ds: &[Duration]| ds.iter().map(|d| rate(n, *d)).collect::<Vec<_>>();
    let ratio = |a: &[f64], b: &[f64]| median(a.iter().zip(b).map(|(a, b)| a / b).collect());
    let rss = |runs: &[Run]| mib(median(runs.iter().map(|r| r.max_rss_kib as f64).collect()) as i64);
    let secs = |runs: &[Run]| median(runs.iter().map(|r| r.wall.as_secs_f64()).collect());

    let export = rates(&f.export, n);
    let csv = rates(&f.csv, n);
    let small = rates(&f.small, small_n);
    let base_export = durations(&f.base_export);
    let import = rates(&f.import, n);
    let again = rates(&f.again, n);
    let base_import = durations(&f.base_import);
    let with_log: Vec<f64> = f.base_import.iter().zip(&f.base_integrate).map(|(a, b)| rate(n, *a + *b)).collect();

    println!(
        "export and import on SQLite, {n} events ({:.0} bytes per event as NDJSON, {:.0} as CSV), medians of {} rounds",
        ndjson_bytes as f64 / n as f64,
        csv_bytes as f64 / n as f64,
        args.rounds
    );
    println!("| path | events/s | wall s | peak RSS | ratio |");
    println!("|---|---|---|---|---|");
    let row = |name: &str, r: f64, s: f64, rss: Option<f64>, ratio: Option<f64>| {
        let rss = rss.map_or("-".to_owned(), |m| format!("{m:.1} MiB"));
        let ratio = ratio.map_or("-".to_owned(), |x| format!("{x:.2}"));
        println!("| {name} | {r:.0} | {s:.1} | {rss} | {ratio} |");
    };
    let med_secs = |ds: &[Duration]| median(ds.iter().map(Duration::as_secs_f64).collect());
    row(
        "`auditlog export` (NDJSON)",
        median(export.clone()),
        secs(&f.export),
        Some(rss(&f.export)),
        Some(ratio(&export, &base_export)),
    );
    row(
        "`auditlog export --format csv`",
        median(csv.clone()),
        secs(&f.csv),
        Some(rss(&f.csv)),
        Some(ratio(&csv, &base_export)),
    );
    row(
        "baseline: one rusqlite scan writing the same NDJSON",
        median(base_export.clone()),
        med_secs(&f.base_export),
        None,
        None,
    );
    row(
        &format!("`auditlog export` of a {small_n}-event store (NDJSON)"),
        median(small),
        secs(&f.small),
        Some(rss(&f.small)),
        None,
    );
    row(
        "`auditlog import` into an empty store (transparency log included)",
        median(import.clone()),
        secs(&f.import),
        Some(rss(&f.import)),
        Some(ratio(&import, &base_import)),
    );
    row(
        "`auditlog import` again (all already stored)",
        median(again.clone()),
        secs(&f.again),
        Some(rss(&f.again)),
        Some(ratio(&again, &base_import)),
    );
    row(
        "baseline: serde + `Store::insert`, 1,000 per batch",
        median(base_import.clone()),
        med_secs(&f.base_import),
        None,
        None,
    );
    row(
        "context: baseline + integrating its log (sequencer round)",
        median(with_log.clone()),
        med_secs(&f.base_import) + med_secs(&f.base_integrate),
        None,
        None,
    );
    println!(
        "ratios are medians of per-round ratios against the baseline of their kind (export: the scan; import: the inserts)"
    );
    println!(
        "import / (baseline + integrating the log) = {:.2}; export peak RSS {:.1} MiB for {n} events vs {:.1} MiB for {small_n}",
        ratio(&import, &with_log),
        rss(&f.export),
        rss(&f.small)
    );
}
