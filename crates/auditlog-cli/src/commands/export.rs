//! `auditlog export [Q]`: every event the query matches, oldest first, past
//! the search's 1,000-result window.
//!
//! - `--format ndjson` (default): one stored event per line, in the wire
//!   format of SPEC 2 — what `auditlog import` reads back.
//! - `--format csv`: one row per event with a header; `resource.*` and
//!   `user.*` flattened into columns named like the query language's fields,
//!   `metadata` as compact JSON in its own column.
//! - `--proofs CHECKPOINT`: writes the latest signed checkpoint to that file
//!   and gives every NDJSON line an `inclusion` member (leaf index, tree
//!   size, proof hashes), so that `auditlog verify --export` can check the
//!   export offline with nothing but the verifier key.
//! - `--verifiable --output DIR`: the whole log up to the latest signed
//!   checkpoint as a bundle (see [`crate::bundle`]) that `auditlog verify
//!   --export DIR` checks offline, naming every edited, added, removed or
//!   reordered line.
//!
//! Pages of 1000 events are read and written one at a time, so memory does
//! not grow with the export. A write that fails (a full disk, a closed pipe)
//! fails the command (exit 1) with the number of events written; `--output
//! FILE` is written to a temporary file beside it and renamed when complete,
//! so a failed export leaves no file that looks complete (a FILE that exists
//! and is not a regular file, such as a FIFO or a device, is written to
//! directly).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use auditlog_core::{Event, Identity};
use auditlog_merkle::Checkpoint;
use auditlog_store::SearchParams;
use auditlog_store::{AuditLogService, Store};
use auditlog_transparency::{StoredCheckpoint, inclusion_path};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::config::Loaded;
use crate::progress::Progress;
use crate::{UsageError, bundle, keys};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Ndjson,
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Query (the search language); empty for every event.
    #[arg(default_value = "")]
    query: String,
    #[arg(long, value_enum, default_value = "ndjson")]
    format: ExportFormat,
    /// Write here instead of standard output (with --verifiable: a new
    /// directory).
    #[arg(long, short, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Write the latest signed checkpoint to FILE and add each event's
    /// inclusion proof against it (NDJSON only), for `verify --export`.
    #[arg(long, value_name = "FILE")]
    proofs: Option<PathBuf>,
    /// Write the whole log up to its latest signed checkpoint as a bundle
    /// into the directory --output: the events with their leaf indexes
    /// (expired ones as hash-only tombstones), the leaf hashes, the signed
    /// checkpoint and the verifier key, for `verify --export DIR`.
    #[arg(long)]
    verifiable: bool,
}

/// The columns of a CSV export, in order.
pub const CSV_HEADER: [&str; 10] = [
    "id",
    "created",
    "action",
    "resource.type",
    "resource.id",
    "user.id",
    "user.username",
    "user.email",
    "message",
    "metadata",
];

pub async fn run(loaded: &Loaded, args: Args) -> anyhow::Result<()> {
    if args.verifiable {
        return verifiable(loaded, args).await;
    }
    if args.proofs.is_some() && args.format != ExportFormat::Ndjson {
        return Err(UsageError("--proofs needs --format ndjson: proofs travel inside each NDJSON line".into()).into());
    }
    let store = loaded.open_store().await?;
    let service = AuditLogService::new(loaded.audit_log()?, store.clone());
    let params = SearchParams { q: Some(args.query.clone()).filter(|q| !q.trim().is_empty()), ..Default::default() };
    let query_error = |e| super::search_error(&args.query, e);
    let mut pager = service.export(&Identity::system(), &params).map_err(query_error)?;
    let total = service
        .search(&Identity::system(), &SearchParams { size: 1, ..params.clone() })
        .await
        .map_err(query_error)?
        .total;

    // The checkpoint the proofs are made against: integrate what is pending
    // first when this host holds the signing key. The file is written once
    // the export has succeeded.
    let checkpoint = match &args.proofs {
        None => None,
        Some(_) => Some(latest_checkpoint(loaded, &store).await?),
    };

    let mut out = Output::open(args.output.as_deref())?;
    let mut progress = Progress::new("export", total);
    let (mut written, mut unproven) = (0u64, 0u64);
    let mut buf = Vec::with_capacity(1 << 16);
    if args.format == ExportFormat::Csv {
        let mut w = csv::Writer::from_writer(&mut buf);
        w.write_record(CSV_HEADER)?;
        w.flush()?;
    }
    loop {
        let page = pager.next_page().await.with_context(|| format!("export failed after {written} events"))?;
        if page.is_empty() {
            break;
        }
        match args.format {
            ExportFormat::Csv => {
                let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(&mut buf);
                for event in &page {
                    w.write_record(csv_row(event))?;
                }
                w.flush()?;
            }
            ExportFormat::Ndjson => {
                for event in &page {
                    match &checkpoint {
                        // Straight from the event: no JSON tree in between.
                        None => serde_json::to_writer(&mut buf, event)?,
                        Some(cp) => {
                            let mut line = serde_json::to_value(event)?;
                            match inclusion(store.as_ref(), event, cp.size).await? {
                                Some(proof) => line["inclusion"] = proof,
                                None => unproven += 1,
                            }
                            serde_json::to_writer(&mut buf, &line)?;
                        }
                    }
                    buf.push(b'\n');
                }
            }
        }
        out.write(&buf, written)?;
        buf.clear();
        written += page.len() as u64;
        progress.set(written.min(total));
    }
    // The header of an empty CSV export.
    out.write(&buf, written)?;
    out.finish(written)?;
    progress.finish();
    eprintln!("export: {written} events to {}", out.target);
    if let (Some(cp), Some(path)) = (&checkpoint, &args.proofs) {
        std::fs::write(path, &cp.note).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("export: inclusion proofs against the checkpoint of size {} in {}", cp.size, path.display());
        if unproven > 0 {
            eprintln!(
                "export: {unproven} events were not yet in that checkpoint and carry no proof; `verify --export` will list them"
            );
        }
    }
    Ok(())
}

/// Integrates what is pending when this host holds the signing key, then
/// returns the latest signed checkpoint.
async fn latest_checkpoint(loaded: &Loaded, store: &Arc<dyn Store>) -> anyhow::Result<StoredCheckpoint> {
    if keys::path(loaded).exists() {
        let signer = crate::sequencing::signer_for_writes(loaded)?;
        crate::sequencing::integrate_now(&signer, store.clone()).await?;
    }
    store.checkpoint(None).await?.ok_or_else(|| {
        anyhow::anyhow!("the transparency log has no signed checkpoint yet: start `auditlog serve` once, or ingest")
    })
}

/// `export --verifiable --output DIR`.
async fn verifiable(loaded: &Loaded, args: Args) -> anyhow::Result<()> {
    let usage = |m: &str| -> anyhow::Result<()> { Err(UsageError(m.to_owned()).into()) };
    if !args.query.trim().is_empty() {
        return usage(&format!(
            "--verifiable exports the whole log and takes no query (got {:?}): a bundle is checked as a whole",
            args.query
        ));
    }
    if args.format != ExportFormat::Ndjson {
        return usage("--verifiable cannot be combined with --format csv: a bundle's events are NDJSON");
    }
    if args.proofs.is_some() {
        return usage("--verifiable cannot be combined with --proofs: a bundle carries its checkpoint and leaf hashes");
    }
    let Some(dir) = &args.output else {
        return usage("--verifiable needs --output DIR: a bundle is a directory of several files");
    };
    bundle::check_target(dir)?;
    let store = loaded.open_store().await?;
    let checkpoint = latest_checkpoint(loaded, &store).await?;
    let body = checkpoint.note.split("\n\n").next().unwrap_or_default();
    let origin = Checkpoint::parse_body(&format!("{body}\n"))
        .map(|c| c.origin)
        .map_err(|e| anyhow::anyhow!("the stored checkpoint of size {} cannot be read: {e}", checkpoint.size))?;
    // The verifier key travels with the bundle when this host holds the key;
    // the stored checkpoint must verify with it.
    let verifier_key = if keys::path(loaded).exists() {
        let signer = keys::load(loaded)?;
        signer.verifier().verify(&checkpoint.note).map_err(|e| {
            anyhow::anyhow!(
                "the latest checkpoint (size {}) does not verify with the signing key {}: {e}",
                checkpoint.size,
                keys::path(loaded).display()
            )
        })?;
        Some(signer.verifier_key_string())
    } else {
        eprintln!(
            "export: no signing key on this host ({}): the bundle has no {}; verify it with --key",
            keys::path(loaded).display(),
            auditlog_transparency::bundle::VERIFIER_KEY
        );
        None
    };
    let w = bundle::write(store.as_ref(), &checkpoint, &origin, verifier_key.as_deref(), dir).await?;
    let missing = match w.missing {
        0 => String::new(),
        n => format!(", {n} missing from the database"),
    };
    eprintln!(
        "export: bundle {}: {} leaves ({} events, {} expired by retention{missing}) of the log {origin} at its signed \
         checkpoint of size {}",
        dir.display(),
        w.size,
        w.events,
        w.expired,
        checkpoint.size
    );
    Ok(())
}

/// Where an export goes.
struct Output {
    sink: Sink,
    /// How the target is named in messages.
    target: String,
}

enum Sink {
    Stdout(std::io::Stdout),
    /// An existing FILE that is not a regular file (a FIFO, a device).
    Direct(File),
    /// A temporary file renamed to `dest` when complete.
    Temp {
        file: File,
        tmp: PathBuf,
        dest: PathBuf,
        done: bool,
    },
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Sink::Temp { tmp, done: false, .. } = self {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

impl Output {
    fn open(path: Option<&Path>) -> anyhow::Result<Output> {
        let Some(path) = path else {
            return Ok(Output { sink: Sink::Stdout(std::io::stdout()), target: "standard output".into() });
        };
        let target = path.display().to_string();
        let cannot = |e: std::io::Error| anyhow::anyhow!("cannot create {target}: {e}");
        let sink = match std::fs::metadata(path) {
            Ok(m) if !m.is_file() => Sink::Direct(File::create(path).map_err(cannot)?),
            found => {
                // Through a symbolic link, the file it points to is replaced.
                let dest = if found.is_ok() { std::fs::canonicalize(path).map_err(cannot)? } else { path.to_owned() };
                let name = dest.file_name().ok_or_else(|| anyhow::anyhow!("{target} does not name a file"))?;
                let tmp = dest.with_file_name(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
                let file = File::create_new(&tmp).map_err(cannot)?;
                if let Ok(m) = &found {
                    let _ = file.set_permissions(m.permissions());
                }
                Sink::Temp { file, tmp, dest, done: false }
            }
        };
        Ok(Output { sink, target })
    }

    fn failed(&self, e: std::io::Error, written: u64) -> anyhow::Error {
        match &self.sink {
            Sink::Stdout(_) if e.kind() == std::io::ErrorKind::BrokenPipe => anyhow::anyhow!(
                "export: standard output closed after {written} events (the reading end of the pipe went away); the \
                 export is incomplete"
            ),
            Sink::Temp { .. } => anyhow::anyhow!(
                "export: cannot write to {} after {written} events: {e}; {} was not written",
                self.target,
                self.target
            ),
            _ => anyhow::anyhow!(
                "export: cannot write to {} after {written} events: {e}; the export is incomplete",
                self.target
            ),
        }
    }

    fn write(&mut self, bytes: &[u8], written: u64) -> anyhow::Result<()> {
        let result = match &mut self.sink {
            Sink::Stdout(s) => s.write_all(bytes),
            Sink::Direct(f) | Sink::Temp { file: f, .. } => f.write_all(bytes),
        };
        result.map_err(|e| self.failed(e, written))
    }

    /// Flushes; a temporary file is synced and renamed into place.
    fn finish(&mut self, written: u64) -> anyhow::Result<()> {
        let result = match &mut self.sink {
            Sink::Stdout(s) => s.flush(),
            Sink::Direct(f) => f.flush(),
            Sink::Temp { file, tmp, dest, .. } => file.sync_all().and_then(|()| std::fs::rename(tmp, dest)),
        };
        result.map_err(|e| self.failed(e, written))?;
        if let Sink::Temp { done, .. } = &mut self.sink {
            *done = true;
        }
        Ok(())
    }
}

fn csv_row(e: &Event) -> [String; 10] {
    [
        e.id.to_string(),
        e.created.to_string(),
        e.action.clone(),
        e.resource.kind.clone(),
        e.resource.id.clone(),
        e.user.id.clone(),
        e.user.username.clone().unwrap_or_default(),
        e.user.email.clone(),
        e.message.clone(),
        Value::Object(e.metadata.clone()).to_string(),
    ]
}

/// The event's inclusion proof against the checkpoint of `size` leaves, or
/// `None` when the event is not (yet) a leaf of that tree.
async fn inclusion(store: &dyn Store, event: &Event, size: u64) -> anyhow::Result<Option<Value>> {
    let Some(leaf) = store.leaf_for_event(event.id).await?.filter(|l| l.index < size) else {
        return Ok(None);
    };
    let hashes = inclusion_path(store, leaf.index, size).await?;
    Ok(Some(json!({
        "leaf_index": leaf.index,
        "tree_size": size,
        "hashes": hashes.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
    })))
}
