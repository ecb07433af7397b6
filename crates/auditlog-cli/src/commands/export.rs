//! `auditlog export [Q]`: every event the query matches, oldest first, past
//! the search's 10,000-result window.
//!
//! - `--format ndjson` (default): one stored event per line, in the wire
//!   format of SPEC 2 — what `auditlog import` reads back.
//! - `--format csv`: one row per event with a header; `metadata` as compact
//!   JSON in its own column.
//! - `--proofs CHECKPOINT`: writes the latest signed checkpoint to that file
//!   and gives every NDJSON line an `inclusion` member (leaf index, tree
//!   size, proof hashes), so that `auditlog verify --export` can check the
//!   export offline with nothing but the verifier key.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use auditlog_core::{Event, Identity};
use auditlog_store::search::SearchParams;
use auditlog_store::transparency::inclusion_path;
use auditlog_store::{AuditLogService, Store};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::config::Loaded;
use crate::progress::Progress;
use crate::{UsageError, keys};

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
    /// Write here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write the latest signed checkpoint to FILE and add each event's
    /// inclusion proof against it (NDJSON only), for `verify --export`.
    #[arg(long, value_name = "FILE")]
    proofs: Option<PathBuf>,
}

enum Sink {
    Ndjson(BufWriter<Box<dyn Write>>),
    Csv(Box<csv::Writer<Box<dyn Write>>>),
}

/// The columns of a CSV export, in order.
pub const CSV_HEADER: [&str; 10] = [
    "id",
    "created",
    "action",
    "resource_type",
    "resource_id",
    "user_id",
    "user_username",
    "user_email",
    "message",
    "metadata",
];

pub async fn run(loaded: &Loaded, args: Args) -> anyhow::Result<()> {
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
    // first when this host holds the signing key.
    let checkpoint = match &args.proofs {
        None => None,
        Some(path) => {
            if keys::path(loaded).exists() {
                crate::sequencing::integrate_now(loaded, store.clone()).await?;
            }
            let cp = store.checkpoint(None).await?.ok_or_else(|| {
                anyhow::anyhow!(
                    "the transparency log has no signed checkpoint yet: start `auditlog serve` once, or ingest"
                )
            })?;
            std::fs::write(path, &cp.note).with_context(|| format!("cannot write {}", path.display()))?;
            Some(cp)
        }
    };

    let sink: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = match args.format {
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(sink);
            w.write_record(CSV_HEADER)?;
            Sink::Csv(Box::new(w))
        }
        ExportFormat::Ndjson => Sink::Ndjson(BufWriter::new(sink)),
    };
    let mut progress = Progress::new("export", total);
    let (mut written, mut unproven) = (0u64, 0u64);
    loop {
        let page = pager.next_page().await?;
        if page.is_empty() {
            break;
        }
        for event in &page {
            match &mut out {
                Sink::Csv(w) => w.write_record(csv_row(event))?,
                Sink::Ndjson(w) => {
                    let mut line = serde_json::to_value(event)?;
                    if let Some(cp) = &checkpoint {
                        match inclusion(store.as_ref(), event, cp.size).await? {
                            Some(proof) => line["inclusion"] = proof,
                            None => unproven += 1,
                        }
                    }
                    serde_json::to_writer(&mut *w, &line)?;
                    w.write_all(b"\n")?;
                }
            }
        }
        written += page.len() as u64;
        progress.set(written.min(total));
    }
    match &mut out {
        Sink::Csv(w) => w.flush()?,
        Sink::Ndjson(w) => w.flush()?,
    }
    progress.finish();
    let target = args.output.as_ref().map_or("standard output".to_owned(), |p| p.display().to_string());
    eprintln!("export: {written} events to {target}");
    if let (Some(cp), Some(path)) = (&checkpoint, &args.proofs) {
        eprintln!("export: inclusion proofs against the checkpoint of size {} in {}", cp.size, path.display());
        if unproven > 0 {
            eprintln!(
                "export: {unproven} events were not yet in that checkpoint and carry no proof; `verify --export` will list them"
            );
        }
    }
    Ok(())
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
