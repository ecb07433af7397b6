//! `auditlog import FILE`: bring existing audit history in, keeping each
//! event's own id, time and message. Each line is one JSON object, either
//!
//! - an event as `auditlog export` writes it (SPEC 2's wire format; `links`
//!   and `inclusion` members are ignored), or
//! - a row of the reference's `audit_logs_metadata` table as PostgreSQL
//!   prints it with `SELECT row_to_json(t) FROM audit_logs_metadata t`:
//!   `id`, `created`, `action`, `resource_type`, `user_id` and the event
//!   document in `json` (`resource`, `user`, `metadata`, `message`).
//!
//! Every line is checked (a UUID id, a date-time, a registered action, a
//! resource, a user, a message, an object for metadata); a bad line is
//! reported by number and field, and the good lines around it are stored
//! all the same, a batch per transaction. An id already stored with the
//! same content is skipped (so an import can be re-run); with other content
//! it is an error. Imported events join the transparency log in file order.
//! Importing is bringing in what was already logged: the feature flag and
//! disabled actions, which govern logging, do not filter it.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use auditlog_core::{AuditLog, Event, Resource, Timestamp, User};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::Failed;
use crate::config::Loaded;
use crate::progress::Progress;

/// Lines stored per transaction.
const BATCH: usize = 1000;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// NDJSON file (`-` for standard input).
    file: PathBuf,
}

/// Why a line was not imported: the field and what is wrong with it.
#[derive(Debug, PartialEq, Eq)]
pub struct LineError {
    field: &'static str,
    message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> LineError {
    LineError { field, message: message.into() }
}

fn string<'a>(obj: &'a Map<String, Value>, key: &str, field: &'static str) -> Result<Option<&'a str>, LineError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(bad(field, format!("expected a string, got {other}"))),
    }
}

fn required<'a>(obj: &'a Map<String, Value>, key: &str, field: &'static str) -> Result<&'a str, LineError> {
    match string(obj, key, field)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(bad(field, "must not be empty")),
        None => Err(bad(field, "missing")),
    }
}

fn object<'a>(v: Option<&'a Value>, field: &'static str) -> Result<Option<&'a Map<String, Value>>, LineError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(bad(field, format!("expected an object, got {other}"))),
    }
}

/// Parses and checks one line into the event to store.
pub fn parse_line(audit: &AuditLog, line: &str) -> Result<Event, LineError> {
    let value: Value = serde_json::from_str(line).map_err(|e| bad("line", format!("not JSON: {e}")))?;
    let Value::Object(row) = value else {
        return Err(bad("line", "expected a JSON object"));
    };
    // A reference row keeps the event document under `json`.
    let (doc, reference) = match object(row.get("json"), "json")? {
        Some(doc) => (doc, true),
        None => (&row, false),
    };
    let id_text = required(&row, "id", "id")?;
    let id = Uuid::parse_str(id_text).map_err(|_| bad("id", format!("not a UUID: {id_text:?}")))?;
    let created_text = required(&row, "created", "created")?;
    let created = Timestamp::parse_lenient(created_text)
        .ok_or_else(|| bad("created", format!("not a date-time: {created_text:?}")))?;
    let action = match string(doc, "action", "action")? {
        Some(a) => a,
        None if reference => required(&row, "action", "action")?,
        None => return Err(bad("action", "missing")),
    };
    let spec = audit
        .registry()
        .get(action)
        .ok_or_else(|| bad("action", format!("unknown action {action:?}: not built in and not in [[actions]]")))?;

    let resource = object(doc.get("resource"), "resource")?.ok_or_else(|| bad("resource", "missing"))?;
    let resource_id = required(resource, "id", "resource.id")?;
    let resource_type = match string(resource, "type", "resource.type")? {
        Some(t) => t,
        None if reference => string(&row, "resource_type", "resource_type")?.unwrap_or(spec.resource_type()),
        None => spec.resource_type(),
    };

    let user = match object(doc.get("user"), "user")? {
        Some(u) => User {
            id: required(u, "id", "user.id")?.to_owned(),
            username: string(u, "username", "user.username")?.map(str::to_owned),
            email: string(u, "email", "user.email")?.unwrap_or_default().to_owned(),
        },
        None => {
            let id = match string(doc, "user_id", "user_id")? {
                Some(id) => id,
                None => required(&row, "user_id", "user")?,
            };
            User { id: id.to_owned(), username: None, email: String::new() }
        }
    };
    let metadata = object(doc.get("metadata"), "metadata")?.cloned().unwrap_or_default();
    let message = required(doc, "message", "message")?.to_owned();
    Ok(Event {
        id,
        created,
        action: action.to_owned(),
        resource: Resource { kind: resource_type.to_owned(), id: resource_id.to_owned() },
        user,
        metadata,
        message,
    })
}

pub async fn run(loaded: &Loaded, args: Args) -> anyhow::Result<()> {
    let store = loaded.open_store().await?;
    let audit = loaded.audit_log()?;
    let (reader, total) = super::open_input(&args.file)?;
    let mut progress = Progress::new("import", total);
    let (mut stored, mut skipped, mut bad_lines) = (0u64, 0u64, 0u64);
    let mut seen: HashSet<Uuid> = HashSet::new();
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
    let mut read_bytes = 0u64;
    let mut lines = reader.lines().enumerate().peekable();
    loop {
        let next = lines.next();
        if let Some((i, line)) = &next {
            let n = i + 1;
            let line = line.as_ref().map_err(|e| anyhow::anyhow!("line {n}: cannot read: {e}"))?;
            read_bytes += line.len() as u64 + 1;
            if !line.trim().is_empty() {
                match parse_line(&audit, line) {
                    Err(e) => {
                        bad_lines += 1;
                        eprintln!("line {n}: {}: {}", e.field, e.message);
                    }
                    Ok(event) if !seen.insert(event.id) => {
                        bad_lines += 1;
                        eprintln!("line {n}: id: {} appears earlier in this file", event.id);
                    }
                    Ok(event) => match store.get(event.id).await? {
                        Some(existing) if existing == event => skipped += 1,
                        Some(_) => {
                            bad_lines += 1;
                            eprintln!("line {n}: id: {} is already stored with different content", event.id);
                        }
                        None => batch.push(event),
                    },
                }
            }
        }
        if batch.len() >= BATCH || (next.is_none() && !batch.is_empty()) {
            let n = batch.len() as u64;
            store.insert(std::mem::take(&mut batch)).await.with_context(|| {
                format!(
                    "storing a batch of {n} events failed after {stored} were stored; nothing of this batch was kept"
                )
            })?;
            stored += n;
            progress.set(read_bytes.min(total));
        }
        if next.is_none() {
            break;
        }
    }
    progress.finish();
    eprintln!(
        "import: {stored} events stored, {skipped} already stored, {bad_lines} bad lines ({})",
        args.file.display()
    );
    if stored > 0 {
        let round = crate::sequencing::integrate_now(loaded, store).await?;
        eprintln!("import: transparency log at {} leaves", round.size);
    }
    if bad_lines > 0 { Err(Failed.into()) } else { Ok(()) }
}
