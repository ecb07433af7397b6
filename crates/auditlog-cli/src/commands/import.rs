//! `auditlog import`: bring existing audit history in, keeping each event's
//! own id, time and message.
//!
//! Sources:
//!
//! - a file (`-` for standard input) of
//!   - NDJSON: one JSON object per line;
//!   - JSON: one array of such objects (read element by element, so a dump
//!     of any size is never held in memory);
//!   - CSV with a header: a dump of the reference's table (its `json` column
//!     holds the event document), or `auditlog export --format csv`;
//! - `--postgres URL [--table NAME]`: the reference's `audit_logs_metadata`
//!   table read directly, oldest first, through a server-side cursor.
//!
//! Each object is either an event as `auditlog export` writes it (SPEC 2's
//! wire format; `links` and `inclusion` members are ignored) or a row of the
//! reference's table (`id`, `created`, `action`, `resource_type`, `user_id`
//! and the event document in `json`: `resource`, `user`, `metadata`,
//! `message`), as `row_to_json` prints it.
//!
//! Every item goes through the service's import path, which checks it
//! exactly as ingest checks an event (the same action lookup, user details,
//! resolvers and metadata schema) but keeps its id, time and message. A bad
//! item is reported by its position, its id when it has one, and the field
//! at fault; the good items around it are stored all the same, a batch per
//! transaction. An id already stored with the same content is skipped, so an
//! interrupted import is resumed by running it again (and a line repeated
//! further on in the input is harmless); with other content it is reported,
//! as is a repeat within one batch. Memory stays flat whatever the input's
//! size: nothing is kept across batches. Imported events join the transparency log in the order read.
//! Importing brings in what was already logged: the feature flag and
//! disabled actions, which govern logging, do not filter it.

use std::fmt;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use auditlog_core::audit::ResourceInput;
use auditlog_core::{EventInput, Identity, ImportedEvent, Timestamp, UserRef, ValidationError};
use auditlog_store::AuditLogService;
use auditlog_store::service::ImportOutcome;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::config::Loaded;
use crate::progress::Progress;
use crate::{Failed, UsageError};

/// Items stored per transaction.
const BATCH: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// `.csv` files are CSV; otherwise a first `[` means JSON, else NDJSON.
    Auto,
    Ndjson,
    Json,
    Csv,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["file", "postgres"])))]
pub struct Args {
    /// File to import (`-` for standard input).
    file: Option<PathBuf>,
    /// Format of FILE.
    #[arg(long, value_enum, default_value = "auto")]
    format: InputFormat,
    /// Read the reference's table from this PostgreSQL database instead of a file.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// The table to read with --postgres (`schema.table` allowed).
    #[arg(long, value_name = "NAME", default_value = "audit_logs_metadata")]
    table: String,
}

/// Where an item came from, for reports.
#[derive(Debug, Clone, Copy)]
enum Position {
    Line(u64),
    Element(u64),
    Record(u64),
    Row(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Line(n) => write!(f, "line {n}"),
            Position::Element(n) => write!(f, "element {n}"),
            Position::Record(n) => write!(f, "record {n}"),
            Position::Row(n) => write!(f, "row {n}"),
        }
    }
}

/// One item read from a source: a JSON object, or why it is not one.
struct Item {
    at: Position,
    object: Result<Map<String, Value>, ValidationError>,
    /// How far the source is (bytes or rows), for progress.
    done: u64,
}

/// What a source sends: items, then nothing (the end) or an error that
/// stops the import (a read error, a JSON array that breaks off).
enum Msg {
    Item(Item),
    Fatal(anyhow::Error),
}

pub async fn run(loaded: &Loaded, args: Args) -> anyhow::Result<()> {
    let store = loaded.open_store().await?;
    let service = AuditLogService::new(loaded.audit_log()?, store.clone());
    let signer = crate::sequencing::signer_for_writes(loaded)?;
    let (tx, mut rx) = mpsc::channel::<Msg>(2 * BATCH);
    let (label, total) = match (&args.postgres, &args.file) {
        (Some(url), _) => {
            let table = quote_table(&args.table)?;
            let total = postgres_source(url, &args.table, table, tx).await?;
            (format!("table {} at {}", args.table, redact(url)), total)
        }
        (None, Some(file)) => {
            let total = file_source(file, args.format, tx)?;
            (file.display().to_string(), total)
        }
        (None, None) => unreachable!("clap requires a source"),
    };

    let mut progress = Progress::new("import", total);
    let mut counts = Counts::default();
    let mut batch: Vec<(String, Result<ImportedEvent, ValidationError>)> = Vec::with_capacity(BATCH);
    let mut fatal = None;
    loop {
        let msg = rx.recv().await;
        let done = match msg {
            Some(Msg::Item(item)) => {
                let raw_id = item.object.as_ref().ok().and_then(|o| o.get("id")).and_then(Value::as_str);
                let raw_id = raw_id.filter(|id| Uuid::parse_str(id).is_ok());
                let at = match raw_id {
                    Some(id) => format!("{} (id {id})", item.at),
                    None => item.at.to_string(),
                };
                batch.push((at, item.object.and_then(|o| imported(&o))));
                progress.set(item.done.min(total));
                false
            }
            Some(Msg::Fatal(e)) => {
                fatal = Some(e);
                true
            }
            None => true,
        };
        if batch.len() >= BATCH || (done && !batch.is_empty()) {
            store_batch(&service, &mut batch, &mut counts).await?;
        }
        if done {
            break;
        }
    }
    progress.finish();
    let summary = format!(
        "{} events stored, {} already stored, {} rejected ({label})",
        counts.stored, counts.skipped, counts.bad
    );
    eprintln!("import: {summary}");
    if counts.stored > 0 {
        let round = crate::sequencing::integrate_now(&signer, store).await?;
        eprintln!("import: transparency log at {} leaves", round.size);
    }
    if let Some(e) = fatal {
        return Err(e.context(format!("import stopped; before that: {summary}; run it again to resume")));
    }
    if counts.bad > 0 { Err(Failed.into()) } else { Ok(()) }
}

#[derive(Default)]
struct Counts {
    stored: u64,
    skipped: u64,
    bad: u64,
}

async fn store_batch(
    service: &AuditLogService,
    batch: &mut Vec<(String, Result<ImportedEvent, ValidationError>)>,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    let (labels, items): (Vec<String>, Vec<_>) = batch.drain(..).unzip();
    let stored_before = counts.stored;
    let outcomes = service.import_many(&Identity::system(), items).await.with_context(|| {
        format!(
            "storing a batch of {} items failed after {stored_before} events were stored; nothing of this batch was kept",
            labels.len()
        )
    })?;
    for (at, outcome) in labels.iter().zip(outcomes) {
        match outcome {
            ImportOutcome::Stored(_) => counts.stored += 1,
            ImportOutcome::AlreadyStored => counts.skipped += 1,
            ImportOutcome::Conflict(_) => {
                counts.bad += 1;
                eprintln!("{at}: id: an event with this id is already stored with different content");
            }
            ImportOutcome::Duplicate(_) => {
                counts.bad += 1;
                eprintln!("{at}: id: appears earlier in this input");
            }
            ImportOutcome::Invalid(e) => {
                counts.bad += 1;
                for f in &e.errors {
                    eprintln!("{at}: {}: {}", f.field, f.messages.join(", "));
                }
            }
        }
    }
    Ok(())
}

// ---- From an object to an event ------------------------------------------

fn bad(field: &str, message: impl Into<String>) -> ValidationError {
    ValidationError::single(field, message)
}

fn string<'a>(obj: &'a Map<String, Value>, key: &str, field: &str) -> Result<Option<&'a str>, ValidationError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(bad(field, format!("expected a string, got {other}"))),
    }
}

fn required<'a>(obj: &'a Map<String, Value>, key: &str, field: &str) -> Result<&'a str, ValidationError> {
    match string(obj, key, field)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(bad(field, "must not be empty")),
        None => Err(bad(field, "missing")),
    }
}

fn object<'a>(v: Option<&'a Value>, field: &str) -> Result<Option<&'a Map<String, Value>>, ValidationError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(bad(field, format!("expected an object, got {other}"))),
    }
}

/// Reads one exported event or reference row into what the import path
/// checks. Only the shape is looked at here; the action, user and metadata
/// rules are the service's.
fn imported(row: &Map<String, Value>) -> Result<ImportedEvent, ValidationError> {
    // A reference row keeps the event document under `json`.
    let (doc, reference) = match object(row.get("json"), "json")? {
        Some(doc) => (doc, true),
        None => (row, false),
    };
    let id_text = required(row, "id", "id")?;
    let id = Uuid::parse_str(id_text).map_err(|_| bad("id", format!("not a UUID: {id_text:?}")))?;
    let created_text = required(row, "created", "created")?;
    let created = Timestamp::parse_lenient(created_text)
        .ok_or_else(|| bad("created", format!("not a date-time: {created_text:?}")))?;
    let action = match string(doc, "action", "action")? {
        Some(a) => a,
        None if reference => required(row, "action", "action")?,
        None => return Err(bad("action", "missing")),
    };
    let resource = object(doc.get("resource"), "resource")?.ok_or_else(|| bad("resource", "missing"))?;
    let resource_id = required(resource, "id", "resource.id")?;
    let resource_type = match string(resource, "type", "resource.type")? {
        Some(t) => Some(t),
        None if reference => string(row, "resource_type", "resource_type")?,
        None => None,
    };
    let (user, user_id) = match object(doc.get("user"), "user")? {
        Some(u) => {
            let user = UserRef {
                id: required(u, "id", "user.id")?.to_owned(),
                username: string(u, "username", "user.username")?.map(str::to_owned),
                email: string(u, "email", "user.email")?.map(str::to_owned),
            };
            (Some(user), None)
        }
        None => {
            let id = match string(doc, "user_id", "user_id")? {
                Some(id) => Some(id),
                None => string(row, "user_id", "user_id")?,
            };
            (None, id.map(str::to_owned))
        }
    };
    let metadata = object(doc.get("metadata"), "metadata")?.cloned().unwrap_or_default();
    let message = required(doc, "message", "message")?.to_owned();
    Ok(ImportedEvent {
        id,
        created,
        message,
        input: EventInput {
            action: action.to_owned(),
            resource: ResourceInput { id: resource_id.to_owned(), kind: resource_type.map(str::to_owned) },
            user,
            user_id,
            metadata,
            created: Some(created),
        },
    })
}

fn json_object(text: &str) -> Result<Map<String, Value>, ValidationError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad("(item)", "expected a JSON object")),
        Err(e) => Err(bad("(item)", format!("not JSON: {e}"))),
    }
}

// ---- File sources ----------------------------------------------------------

/// A reader that counts the bytes read through it (for progress).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Starts a thread reading `path` into `tx`; returns the input's size in
/// bytes (0 when unknown).
fn file_source(path: &Path, format: InputFormat, tx: mpsc::Sender<Msg>) -> anyhow::Result<u64> {
    let (reader, total) = super::open_input(path)?;
    let count = Arc::new(AtomicU64::new(0));
    let mut reader = std::io::BufReader::with_capacity(1 << 16, Counting { inner: reader, count: count.clone() });
    let format = match format {
        InputFormat::Auto if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) => InputFormat::Csv,
        InputFormat::Auto => {
            let head = reader.fill_buf().with_context(|| format!("cannot read {}", path.display()))?;
            match head.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'[') => InputFormat::Json,
                _ => InputFormat::Ndjson,
            }
        }
        f => f,
    };
    let name = path.display().to_string();
    std::thread::spawn(move || {
        let result = match format {
            InputFormat::Csv => read_csv(reader, &count, &tx),
            InputFormat::Json => read_json_array(reader, &count, &tx),
            InputFormat::Ndjson | InputFormat::Auto => read_ndjson(reader, &count, &tx),
        };
        if let Err(e) = result {
            let _ = tx.blocking_send(Msg::Fatal(e.context(format!("reading {name}"))));
        }
    });
    Ok(total)
}

/// Sends an item; `false` once the importer has stopped listening.
fn send(tx: &mpsc::Sender<Msg>, item: Item) -> bool {
    tx.blocking_send(Msg::Item(item)).is_ok()
}

fn read_ndjson(reader: impl BufRead, count: &AtomicU64, tx: &mpsc::Sender<Msg>) -> anyhow::Result<()> {
    for (i, line) in reader.lines().enumerate() {
        let at = Position::Line(i as u64 + 1);
        let line = line.with_context(|| format!("{at}: cannot read"))?;
        if line.trim().is_empty() {
            continue;
        }
        if !send(tx, Item { at, object: json_object(&line), done: count.load(Ordering::Relaxed) }) {
            break;
        }
    }
    Ok(())
}

/// Reads a JSON array element by element: a huge dump is never in memory.
fn read_json_array(reader: impl Read, count: &AtomicU64, tx: &mpsc::Sender<Msg>) -> anyhow::Result<()> {
    struct Elements<'a> {
        count: &'a AtomicU64,
        tx: &'a mpsc::Sender<Msg>,
    }
    impl<'de> Visitor<'de> for Elements<'_> {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON array of objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
            let mut n = 0;
            while let Some(value) = seq.next_element::<Value>()? {
                n += 1;
                let object = match value {
                    Value::Object(m) => Ok(m),
                    other => Err(bad("(item)", format!("expected a JSON object, got {}", kind(&other)))),
                };
                let item = Item { at: Position::Element(n), object, done: self.count.load(Ordering::Relaxed) };
                if !send(self.tx, item) {
                    break;
                }
            }
            Ok(n)
        }
    }
    let mut de = serde_json::Deserializer::from_reader(reader);
    de.deserialize_seq(Elements { count, tx }).map_err(|e| anyhow::anyhow!("not a JSON array of objects: {e}"))?;
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads CSV with a header: the reference's table (a `json` column holding
/// the event document; empty fields are NULL) or our own CSV export (dotted
/// columns `resource.id`, `user.email`, ..., `metadata` as JSON).
fn read_csv(reader: impl Read, count: &AtomicU64, tx: &mpsc::Sender<Msg>) -> anyhow::Result<()> {
    let mut csv = csv::ReaderBuilder::new().has_headers(true).from_reader(reader);
    let header: Vec<String> = csv.headers().context("the CSV header")?.iter().map(str::to_owned).collect();
    if !header.iter().any(|h| h == "id") {
        anyhow::bail!("the CSV header has no `id` column (found: {})", header.join(", "));
    }
    for (i, record) in csv.records().enumerate() {
        // The header is line 1.
        let at = Position::Record(i as u64 + 1);
        let object = match record {
            Ok(r) => csv_object(&header, &r),
            Err(e) if e.is_io_error() => return Err(anyhow::Error::new(e).context(format!("{at}: cannot read"))),
            Err(e) => Err(bad("(item)", format!("not a CSV record: {e}"))),
        };
        if !send(tx, Item { at, object, done: count.load(Ordering::Relaxed) }) {
            break;
        }
    }
    Ok(())
}

fn csv_object(header: &[String], record: &csv::StringRecord) -> Result<Map<String, Value>, ValidationError> {
    let mut row = Map::new();
    for (name, field) in header.iter().zip(record.iter()) {
        if field.is_empty() {
            continue;
        }
        let value = match name.as_str() {
            "json" | "metadata" => match serde_json::from_str::<Value>(field) {
                Ok(v) => v,
                Err(e) => return Err(bad(name, format!("not JSON: {e}"))),
            },
            _ => Value::String(field.to_owned()),
        };
        match name.split_once('.') {
            Some((outer, inner)) => {
                let entry = row.entry(outer.to_owned()).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = entry {
                    m.insert(inner.to_owned(), value);
                }
            }
            None => {
                row.insert(name.clone(), value);
            }
        }
    }
    Ok(row)
}

// ---- The reference's table, read directly ---------------------------------

/// `name` or `schema.name` as a quoted SQL identifier.
fn quote_table(name: &str) -> anyhow::Result<String> {
    let parts: Vec<&str> = name.split('.').collect();
    let valid = |p: &&str| {
        let mut chars = p.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if parts.len() > 2 || !parts.iter().all(valid) {
        return Err(UsageError(format!(
            "--table {name:?} is not a table name (letters, digits and _, optionally schema.table)"
        ))
        .into());
    }
    Ok(parts.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join("."))
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Rows fetched per round trip.
const FETCH: usize = 1000;

/// Connects, counts the rows, and starts a task reading the table oldest
/// first through a cursor into `tx`; returns the row count.
async fn postgres_source(url: &str, name: &str, table: String, tx: mpsc::Sender<Msg>) -> anyhow::Result<u64> {
    let shown = redact(url);
    let mut config: tokio_postgres::Config =
        url.parse().map_err(|e| UsageError(format!("--postgres {shown:?} is not a PostgreSQL URL: {e}")))?;
    config.connect_timeout(std::time::Duration::from_secs(10));
    let (mut client, connection) =
        config.connect(tokio_postgres::NoTls).await.with_context(|| format!("cannot connect to {shown}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let total: i64 = client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .with_context(|| format!("cannot read table {name} at {shown}"))?
        .get(0);
    let name = name.to_owned();
    tokio::spawn(async move {
        let result = async {
            let tx_db = client.transaction().await?;
            tx_db
                .batch_execute(&format!(
                    "DECLARE audit_import NO SCROLL CURSOR FOR \
                     SELECT row_to_json(t)::text FROM {table} t ORDER BY t.created, t.id"
                ))
                .await?;
            let mut n = 0u64;
            loop {
                let rows = tx_db.query(&format!("FETCH {FETCH} FROM audit_import"), &[]).await?;
                if rows.is_empty() {
                    break;
                }
                for row in rows {
                    n += 1;
                    let text: String = row.get(0);
                    let item = Item { at: Position::Row(n), object: json_object(&text), done: n };
                    if tx.send(Msg::Item(item)).await.is_err() {
                        return Ok(());
                    }
                }
            }
            tx_db.commit().await
        }
        .await;
        if let Err(e) = result {
            let _ = tx.send(Msg::Fatal(anyhow::Error::new(e).context(format!("reading table {name}")))).await;
        }
    });
    Ok(total.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_quoted_or_refused() {
        assert_eq!(quote_table("audit_logs_metadata").unwrap(), "\"audit_logs_metadata\"");
        assert_eq!(quote_table("invenio.audit_logs").unwrap(), "\"invenio\".\"audit_logs\"");
        for bad in ["", "a;drop table x", "a.b.c", "1abc", "a\"b"] {
            assert!(quote_table(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn csv_rows_of_both_layouts_become_objects() {
        let header: Vec<String> = ["id", "json", "user_id"].map(String::from).to_vec();
        let row = csv_object(&header, &csv::StringRecord::from(vec!["x", r#"{"a":1}"#, ""])).unwrap();
        assert_eq!(Value::Object(row), serde_json::json!({"id": "x", "json": {"a": 1}}));
        let header: Vec<String> = ["id", "resource.id", "metadata"].map(String::from).to_vec();
        let row = csv_object(&header, &csv::StringRecord::from(vec!["x", "r", "{}"])).unwrap();
        assert_eq!(Value::Object(row), serde_json::json!({"id": "x", "resource": {"id": "r"}, "metadata": {}}));
        let err = csv_object(&header, &csv::StringRecord::from(vec!["x", "r", "{"])).unwrap_err();
        assert!(err.mentions("metadata"), "{err}");
    }
}
