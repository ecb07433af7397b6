//! Verifiable export bundles: the whole transparency log up to a signed
//! checkpoint, in a directory a third party can check offline.
//!
//! `auditlog export --verifiable --output DIR` writes ([`write`]):
//!
//! - `events.ndjson`: one line per leaf, in leaf order:
//!   `{"leaf_index":i,"event":{…the stored event…}}`, or for a leaf whose
//!   payload retention removed a hash-only tombstone
//!   `{"leaf_index":i,"expired":true,"leaf_hash":"<base64>","event_id":"…","created":"…"}`
//!   (`"expired":false` when the row was gone without retention);
//! - `leaf-hashes.bin`: the N leaf hashes, 32 raw bytes each, in order;
//! - `checkpoint`: the signed note of size N;
//! - `verifier.key`: the log's verifier key `<origin>+<id>+<key>`;
//! - `manifest.json`: `{"format":"auditlog-bundle/1","origin",…,"tree_size":N,"events","expired",…}`.
//!
//! Everything goes into a hidden sibling directory first, renamed to DIR
//! once complete, so a failed export never looks like a finished one.
//!
//! `auditlog verify --export DIR` ([`verify`]) checks the checkpoint's
//! signature, authenticates `leaf-hashes.bin` by recomputing the root from
//! it (streaming, O(log N) memory), then checks every line of
//! `events.ndjson` against the authentic hash of the leaf it claims, and so
//! names each edited, added, reordered or removed line.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use auditlog_core::{Event, Timestamp};
use auditlog_merkle::{Checkpoint, CompactRange, Hash, NoteVerifier};
use auditlog_store::Store;
use auditlog_transparency::{StoredCheckpoint, leaf_hash_of};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Failed;
use crate::commands::verify::signed_checkpoint;
use crate::progress::Progress;

/// The `format` of `manifest.json`.
pub const FORMAT: &str = "auditlog-bundle/1";
pub const EVENTS: &str = "events.ndjson";
pub const LEAF_HASHES: &str = "leaf-hashes.bin";
pub const CHECKPOINT: &str = "checkpoint";
pub const VERIFIER_KEY: &str = "verifier.key";
pub const MANIFEST: &str = "manifest.json";

/// Leaves read from the store per query.
const PAGE: usize = 1000;

/// Findings kept (and printed) at most; beyond, only counted.
const MAX_LISTED: usize = 100_000;

// ---------------------------------------------------------------------------
// Writing

/// What [`write`] put into the bundle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    pub size: u64,
    pub events: u64,
    pub expired: u64,
    /// Leaves whose event row was gone without retention having removed it.
    pub missing: u64,
}

#[derive(Serialize)]
struct EventLine<'a> {
    leaf_index: u64,
    event: &'a Event,
}

#[derive(Serialize)]
struct Tombstone {
    leaf_index: u64,
    expired: bool,
    leaf_hash: String,
    event_id: Uuid,
    created: Timestamp,
}

/// Refuses a target that exists and is not an empty directory.
pub fn check_target(dir: &Path) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot inspect {}", dir.display())),
        Ok(m) if m.is_dir() => {
            let mut entries = std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
            if entries.next().is_some() {
                anyhow::bail!(
                    "{} exists and is not empty: a bundle goes into a new (or empty) directory",
                    dir.display()
                );
            }
            Ok(())
        }
        Ok(_) => anyhow::bail!("{} exists and is not a directory: a bundle is a directory", dir.display()),
    }
}

/// The hidden sibling directory a bundle is written into before it is
/// renamed to `dir`.
fn staging_path(dir: &Path) -> anyhow::Result<PathBuf> {
    let name = dir
        .file_name()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| anyhow::anyhow!("{} does not name a new directory", dir.display()))?;
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Ok(parent.join(format!(".{}.partial-{}", name.to_string_lossy(), std::process::id())))
}

/// Removes the staging directory unless the bundle was completed.
struct Staging {
    path: PathBuf,
    done: bool,
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn cannot_write(path: &Path) -> impl FnOnce(std::io::Error) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("cannot write {}: {e}", path.display())
}

/// Writes a file of the bundle in one go, synced.
fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = File::create_new(path).map_err(cannot_write(path))?;
    f.write_all(bytes).map_err(cannot_write(path))?;
    f.sync_all().map_err(cannot_write(path))
}

/// Writes the bundle of the log at `checkpoint` into `dir` (checked with
/// [`check_target`] beforehand): the leaves are read a page at a time, so
/// memory does not grow with the log. `verifier_key` is the log's verifier
/// key when this host holds the signing key.
pub async fn write(
    store: &dyn Store,
    checkpoint: &StoredCheckpoint,
    origin: &str,
    verifier_key: Option<&str>,
    dir: &Path,
) -> anyhow::Result<Written> {
    let path = staging_path(dir)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
    // From here on, any failure removes what was written.
    let mut staging = Staging { path, done: false };

    let size = checkpoint.size;
    let mut written = Written { size, ..Written::default() };
    let mut done = 0u64;
    write_leaves(store, checkpoint, &staging.path, &mut written, &mut done).await.with_context(|| {
        format!("export failed after {done} of {size} leaves; nothing was written to {}", dir.display())
    })?;

    let finish = || -> anyhow::Result<()> {
        write_file(&staging.path.join(CHECKPOINT), checkpoint.note.as_bytes())?;
        if let Some(key) = verifier_key {
            write_file(&staging.path.join(VERIFIER_KEY), format!("{key}\n").as_bytes())?;
        }
        let manifest = json!({
            "format": FORMAT,
            "origin": origin,
            "tree_size": size,
            "root": B64.encode(checkpoint.root),
            "events": written.events,
            "expired": written.expired,
            "missing": written.missing,
            "exported": Timestamp::now(),
        });
        let mut text = serde_json::to_vec_pretty(&manifest)?;
        text.push(b'\n');
        write_file(&staging.path.join(MANIFEST), &text)?;
        // An empty target directory gives way to the complete bundle.
        if dir.is_dir() {
            std::fs::remove_dir(dir)
                .with_context(|| format!("cannot replace the empty directory {}", dir.display()))?;
        }
        std::fs::rename(&staging.path, dir)
            .with_context(|| format!("cannot rename {} to {}", staging.path.display(), dir.display()))?;
        if let Some(parent) = staging.path.parent() {
            // Make the rename durable; a failure here loses nothing written.
            let _ = File::open(parent).and_then(|d| d.sync_all());
        }
        Ok(())
    };
    finish().with_context(|| format!("export failed; nothing was written to {}", dir.display()))?;
    staging.done = true;
    Ok(written)
}

async fn write_leaves(
    store: &dyn Store,
    checkpoint: &StoredCheckpoint,
    staging: &Path,
    written: &mut Written,
    done: &mut u64,
) -> anyhow::Result<()> {
    let size = checkpoint.size;
    let events_path = staging.join(EVENTS);
    let hashes_path = staging.join(LEAF_HASHES);
    let create = |p: &Path| -> anyhow::Result<BufWriter<File>> {
        Ok(BufWriter::with_capacity(1 << 16, File::create_new(p).map_err(cannot_write(p))?))
    };
    let mut events = create(&events_path)?;
    let mut hashes = create(&hashes_path)?;
    let mut range = CompactRange::new();
    let mut progress = Progress::new("export", size);
    let mut line = Vec::with_capacity(1024);
    let mut changed = 0u64;
    while *done < size {
        let page = store.leaves_with_events(*done, PAGE).await?;
        if page.is_empty() {
            anyhow::bail!("the stored log ends at leaf {done}, but the signed checkpoint has {size} leaves");
        }
        for (leaf, event) in page {
            if *done == size {
                break;
            }
            if leaf.index != *done {
                anyhow::bail!(
                    "the stored log has no leaf {done} (the next one is {}): run `auditlog verify --database`",
                    leaf.index
                );
            }
            line.clear();
            match &event {
                Some(e) => {
                    if leaf_hash_of(e) != leaf.hash {
                        changed += 1;
                        if changed <= 10 {
                            eprintln!(
                                "export: warning: leaf {}: event {} no longer matches its leaf hash (the database \
                                 was altered; run `auditlog verify --database`): the bundle will not verify",
                                leaf.index, e.id
                            );
                        }
                    }
                    serde_json::to_writer(&mut line, &EventLine { leaf_index: leaf.index, event: e })?;
                    written.events += 1;
                }
                None => {
                    let expired = leaf.expired.is_some();
                    if expired {
                        written.expired += 1;
                    } else {
                        written.missing += 1;
                        eprintln!(
                            "export: warning: leaf {}: event {} is missing from the database and was not expired by \
                             retention; written as a tombstone with \"expired\": false",
                            leaf.index, leaf.event_id
                        );
                    }
                    let tombstone = Tombstone {
                        leaf_index: leaf.index,
                        expired,
                        leaf_hash: B64.encode(leaf.hash),
                        event_id: leaf.event_id,
                        created: leaf.created,
                    };
                    serde_json::to_writer(&mut line, &tombstone)?;
                }
            }
            line.push(b'\n');
            events.write_all(&line).map_err(cannot_write(&events_path))?;
            hashes.write_all(&leaf.hash).map_err(cannot_write(&hashes_path))?;
            range.append(leaf.hash, |_, _| {})?;
            *done += 1;
        }
        progress.set(*done);
    }
    progress.finish();
    if changed > 10 {
        eprintln!("export: warning: {changed} events in all no longer match their leaf hashes");
    }
    if range.root() != checkpoint.root {
        eprintln!(
            "export: warning: the stored leaf hashes do not lead to the signed checkpoint's root (the database was \
             altered; run `auditlog verify --database`): the bundle will not verify"
        );
    }
    for (mut w, path) in [(events, &events_path), (hashes, &hashes_path)] {
        w.flush().map_err(cannot_write(path))?;
        w.get_ref().sync_all().map_err(cannot_write(path))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Verifying

/// The bundle's own `verifier.key`, when it has one: what it is verified
/// with when no `--key` is given (saying so, so that the user compares it
/// with the log's published key).
pub fn bundle_key(dir: &Path) -> anyhow::Result<Option<String>> {
    let path = dir.join(VERIFIER_KEY);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// What kind of problem a line has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Edited,
    Added,
    Reordered,
    Unreadable,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Edited => "edited",
            Kind::Added => "added",
            Kind::Reordered => "reordered",
            Kind::Unreadable => "unreadable",
        }
    }
}

#[derive(Debug)]
struct Finding {
    line: u64,
    kind: Kind,
    /// `event <id>, leaf <i>` or as much of it as is known.
    subject: String,
    text: String,
    /// The line's leaf hash when it is not the one of the leaf it claims
    /// (to say which leaf's content it is, if any).
    content: Option<Hash>,
}

/// What one line of `events.ndjson` says.
#[derive(Debug)]
struct Line {
    /// `leaf_index` when present: a number, or why it is not one.
    index: Option<Result<u64, String>>,
    id: Option<String>,
    /// The leaf hash the line stands for, or why it stands for none.
    content: Result<(Hash, Entry), String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Event,
    Expired,
    /// A tombstone with `"expired": false`: the exporting database had lost
    /// the row without retention removing it.
    Missing,
}

/// Parses a line of `events.ndjson`; `Err` when it is not a JSON object.
fn parse_line(bytes: &[u8]) -> Result<Line, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(obj) = value else {
        return Err("not a JSON object".into());
    };
    let index = obj.get("leaf_index").map(|v| v.as_u64().ok_or_else(|| format!("leaf_index {v} is not a leaf index")));
    let id = obj
        .get("event")
        .and_then(|e| e.get("id"))
        .or_else(|| obj.get("event_id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let content = match keys.as_slice() {
        ["event", "leaf_index"] => event_hash(&obj["event"]).map(|h| (h, Entry::Event)),
        ["created", "event_id", "expired", "leaf_hash", "leaf_index"] => tombstone_hash(&obj),
        _ => Err(format!("neither an event line nor a tombstone (its members: {})", keys.join(", "))),
    };
    Ok(Line { index, id, content })
}

fn event_hash(value: &Value) -> Result<Hash, String> {
    let event = Event::deserialize(value).map_err(|e| format!("not an event: {e}"))?;
    // Members the log does not record, or values written differently from
    // how the log records them, are edits too even where the hash holds.
    if serde_json::to_value(&event).map_err(|e| e.to_string())? != *value {
        return Err("the event has members or values other than the ones the log records".into());
    }
    Ok(leaf_hash_of(&event))
}

fn tombstone_hash(obj: &serde_json::Map<String, Value>) -> Result<(Hash, Entry), String> {
    let entry = match obj["expired"] {
        Value::Bool(true) => Entry::Expired,
        Value::Bool(false) => Entry::Missing,
        ref v => return Err(format!("tombstone: expired is {v}, not true or false")),
    };
    if obj["event_id"].as_str().is_none_or(|s| s.parse::<Uuid>().is_err()) {
        return Err(format!("tombstone: event_id {} is not a UUID", obj["event_id"]));
    }
    if obj["created"].as_str().is_none_or(|s| s.parse::<Timestamp>().is_err()) {
        return Err(format!("tombstone: created {} is not a date-time", obj["created"]));
    }
    let hash = obj["leaf_hash"]
        .as_str()
        .and_then(|s| B64.decode(s).ok())
        .and_then(|raw| Hash::try_from(raw.as_slice()).ok())
        .ok_or_else(|| format!("tombstone: leaf_hash {} is not a base64 SHA-256 hash", obj["leaf_hash"]))?;
    Ok((hash, entry))
}

/// Reads one line (without its `\n`, or `\r\n`) into `buf`; `None` at the
/// end, else whether the line ended with a newline.
fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    buf.clear();
    if reader.read_until(b'\n', buf)? == 0 {
        return Ok(None);
    }
    let newline = buf.last() == Some(&b'\n');
    if newline {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    Ok(Some(newline))
}

/// The RFC 6962 root of the hashes in `file` (32 bytes each), streaming.
fn root_of_file(mut file: &File) -> std::io::Result<Hash> {
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut range = CompactRange::new();
    let mut hash = [0u8; 32];
    loop {
        match reader.read_exact(&mut hash) {
            Ok(()) => range.append(hash, |_, _| {}).map_err(std::io::Error::other)?,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
    }
    Ok(range.root())
}

/// Which line holds each leaf: 0 for none, else the line number, with the
/// top bit set when the line's content is that leaf's.
struct Owners(Vec<u32>);

const MATCHES: u32 = 1 << 31;

impl Owners {
    fn get(&self, i: u64) -> Option<(u64, bool)> {
        let v = self.0[i as usize];
        (v != 0).then_some((u64::from(v & !MATCHES), v & MATCHES != 0))
    }
    fn set(&mut self, i: u64, line: u64, matches: bool) {
        // Lines past 2^31 - 1 are refused before they get here.
        self.0[i as usize] = line as u32 | if matches { MATCHES } else { 0 };
    }
}

/// The outcome of checking the lines of a bundle against its leaf hashes.
#[derive(Debug, Default)]
struct Report {
    findings: Vec<Finding>,
    /// Findings past [`MAX_LISTED`], counted but not kept.
    unlisted: u64,
    edited: u64,
    added: u64,
    reordered: u64,
    unreadable: u64,
    /// Leaves no line holds: (first, last, the line of the leaf before).
    removed: Vec<(u64, u64, Option<u64>)>,
    removed_leaves: u64,
    events: u64,
    expired: u64,
    missing: Vec<(u64, String, u64)>,
}

impl Report {
    fn add(&mut self, line: u64, kind: Kind, subject: &str, text: String, content: Option<Hash>) {
        match kind {
            Kind::Edited => self.edited += 1,
            Kind::Added => self.added += 1,
            Kind::Reordered => self.reordered += 1,
            Kind::Unreadable => self.unreadable += 1,
        }
        if self.findings.len() < MAX_LISTED {
            self.findings.push(Finding { line, kind, subject: subject.to_owned(), text, content });
        } else {
            self.unlisted += 1;
        }
    }

    /// The earlier line that claimed a leaf turns out not to hold it: it is
    /// an added line, not an edited one.
    fn amend_to_added(&mut self, line: u64, index: u64, holder: u64) {
        let start = self.findings.partition_point(|f| f.line < line);
        if let Some(f) =
            self.findings[start..].iter_mut().take_while(|f| f.line == line).find(|f| f.kind == Kind::Edited)
        {
            f.kind = Kind::Added;
            f.text = format!("claims leaf {index}, which line {holder} holds; this line is not in the log");
            self.edited -= 1;
            self.added += 1;
        }
    }

    fn failures(&self) -> u64 {
        self.edited + self.added + self.reordered + self.unreadable + self.removed_leaves
    }
}

fn subject(id: Option<&str>, index: Option<u64>) -> String {
    let id = id.unwrap_or("?");
    match index {
        Some(i) => format!("event {id}, leaf {i}"),
        None => format!("event {id}"),
    }
}

/// Checks every line of `events` against the authentic leaf hashes of a
/// tree of `size` leaves in `hashes`.
fn check_lines(events: &Path, hashes: &File, size: u64) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let len = usize::try_from(size).context("the tree is too large to check on this machine")?;
    let mut owners = Owners(vec![0; len]);
    let file = File::open(events).with_context(|| format!("cannot open {}", events.display()))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut buf = Vec::new();
    let mut line = 0u64;
    // The previous line with a leaf of its own: (leaf, line).
    let mut previous: Option<(u64, u64)> = None;
    let mut authentic = [0u8; 32];
    while let Some(newline) = read_line(&mut reader, &mut buf)
        .with_context(|| format!("cannot read {} after line {line}", events.display()))?
    {
        line += 1;
        if line >= u64::from(MATCHES) {
            anyhow::bail!("{} has more lines than a bundle can have", events.display());
        }
        let truncated = if newline { "" } else { " (the file ends in this line, without a newline: truncated?)" };
        let parsed = match parse_line(&buf) {
            Ok(p) => p,
            Err(why) => {
                let why = if buf.is_empty() { "an empty line".to_owned() } else { why };
                report.add(line, Kind::Unreadable, "", format!("{why}{truncated}"), None);
                continue;
            }
        };
        let id = parsed.id.as_deref();
        let content_hash = parsed.content.as_ref().ok().map(|(h, _)| *h);
        let index = match parsed.index {
            None => {
                report.add(line, Kind::Added, &subject(id, None), format!("no leaf_index{truncated}"), content_hash);
                continue;
            }
            Some(Err(why)) => {
                report.add(line, Kind::Added, &subject(id, None), format!("{why}{truncated}"), content_hash);
                continue;
            }
            Some(Ok(i)) if i >= size => {
                let text = match size {
                    0 => format!("claims leaf {i}, but the log is empty{truncated}"),
                    _ => format!("claims leaf {i}, but the log has {size} leaves (0 to {}){truncated}", size - 1),
                };
                report.add(line, Kind::Added, &subject(id, None), text, content_hash);
                continue;
            }
            Some(Ok(i)) => i,
        };
        let who = subject(id, Some(index));
        hashes
            .read_exact_at(&mut authentic, index * 32)
            .with_context(|| format!("cannot read leaf {index} of the leaf hashes"))?;
        let matches = content_hash == Some(authentic);
        if let Some((holder, holder_matches)) = owners.get(index) {
            if matches && !holder_matches {
                // The earlier claimant was the interloper; this line is the leaf.
                report.amend_to_added(holder, index, line);
                owners.set(index, line, true);
                count(&mut report, &parsed.content, line, index, id);
            } else {
                let text = if matches {
                    format!("a second copy of leaf {index} (line {holder})")
                } else {
                    let why = match &parsed.content {
                        Err(why) => format!("; {why}"),
                        Ok(_) => String::new(),
                    };
                    format!("claims leaf {index}, which line {holder} already holds{why}{truncated}")
                };
                report.add(line, Kind::Added, &who, text, if matches { None } else { content_hash });
                continue;
            }
        } else {
            owners.set(index, line, matches);
            match &parsed.content {
                Err(why) => report.add(line, Kind::Edited, &who, format!("{why}{truncated}"), None),
                Ok((_, entry)) if !matches => {
                    let text = match entry {
                        Entry::Event => format!("its content differs from leaf {index} of the log{truncated}"),
                        Entry::Expired | Entry::Missing => {
                            format!("the tombstone's leaf_hash differs from leaf {index} of the log{truncated}")
                        }
                    };
                    report.add(line, Kind::Edited, &who, text, content_hash);
                }
                Ok(_) => count(&mut report, &parsed.content, line, index, id),
            }
        }
        if let Some((before, before_line)) = previous
            && index < before
        {
            let text = format!("leaf {index} comes after leaf {before} (line {before_line})");
            report.add(line, Kind::Reordered, &who, text, None);
        }
        previous = Some((index, line));
    }

    // Leaves no line holds, in ranges.
    let mut i = 0u64;
    while i < size {
        if owners.get(i).is_some() {
            i += 1;
            continue;
        }
        let start = i;
        while i < size && owners.get(i).is_none() {
            i += 1;
        }
        let after = start.checked_sub(1).and_then(|b| owners.get(b)).map(|(l, _)| l);
        report.removed.push((start, i - 1, after));
        report.removed_leaves += i - start;
    }

    // Say which leaf a wrong line's content is, when it is one of the log's.
    let mut wanted: HashMap<Hash, Vec<usize>> = HashMap::new();
    for (n, f) in report.findings.iter().enumerate() {
        if let Some(h) = f.content {
            wanted.entry(h).or_default().push(n);
        }
    }
    if !wanted.is_empty() {
        let mut file = hashes;
        file.seek(SeekFrom::Start(0)).context("cannot read the leaf hashes")?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let mut hash = [0u8; 32];
        for j in 0..size {
            reader.read_exact(&mut hash).context("cannot read the leaf hashes")?;
            if let Some(ns) = wanted.remove(&hash) {
                for n in ns {
                    let f = &mut report.findings[n];
                    f.text.push_str(&format!("; its content is that of leaf {j}"));
                }
                if wanted.is_empty() {
                    break;
                }
            }
        }
    }
    Ok(report)
}

fn count(report: &mut Report, content: &Result<(Hash, Entry), String>, line: u64, index: u64, id: Option<&str>) {
    match content {
        Ok((_, Entry::Event)) => report.events += 1,
        Ok((_, Entry::Expired)) => report.expired += 1,
        Ok((_, Entry::Missing)) => report.missing.push((line, id.unwrap_or("?").to_owned(), index)),
        Err(_) => {}
    }
}

/// With leaf hashes that cannot be trusted, all that can be checked is
/// whether the lines, in order, lead to the signed root by themselves.
fn check_whole(events: &Path, checkpoint: &Checkpoint) -> anyhow::Result<bool> {
    let file = File::open(events).with_context(|| format!("cannot open {}", events.display()))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut buf = Vec::new();
    let mut range = CompactRange::new();
    let (mut lines, mut unusable, mut misplaced) = (0u64, 0u64, 0u64);
    while let Some(_newline) = read_line(&mut reader, &mut buf)? {
        match parse_line(&buf) {
            Ok(Line { index, content: Ok((h, _)), .. }) => {
                if index.and_then(Result::ok) != Some(lines) {
                    misplaced += 1;
                }
                range.append(h, |_, _| {})?;
            }
            _ => unusable += 1,
        }
        lines += 1;
    }
    let ok = unusable == 0 && misplaced == 0 && lines == checkpoint.size && range.root() == checkpoint.root;
    if ok {
        println!(
            "the lines of {} lead to the signed root by themselves: the events are the log's; only {LEAF_HASHES} was \
             altered",
            events.display()
        );
    } else {
        let mut why = vec![format!("{lines} lines for {} leaves", checkpoint.size)];
        if unusable > 0 {
            why.push(format!("{unusable} unreadable"));
        }
        if misplaced > 0 {
            why.push(format!("{misplaced} with a leaf_index other than their position"));
        }
        println!(
            "FAILED: {} does not lead to the signed root either ({}): events were edited, removed, added or \
             reordered, but without authentic leaf hashes the lines cannot be localised",
            events.display(),
            why.join(", ")
        );
    }
    Ok(ok)
}

/// Checks `manifest.json` against the checkpoint; returns the problems.
fn check_manifest(dir: &Path, checkpoint: &Checkpoint) -> anyhow::Result<Vec<String>> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![format!("{MANIFEST} is missing")]),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let Ok(manifest) = serde_json::from_str::<Value>(&text) else {
        return Ok(vec![format!("{MANIFEST} is not JSON")]);
    };
    let mut problems = Vec::new();
    if manifest["format"] != FORMAT {
        problems.push(format!("{MANIFEST}: format is {}, not {FORMAT:?}", manifest["format"]));
    }
    if manifest["tree_size"] != checkpoint.size {
        problems.push(format!(
            "{MANIFEST}: tree_size is {}, the signed checkpoint's is {}",
            manifest["tree_size"], checkpoint.size
        ));
    }
    if manifest["origin"] != checkpoint.origin.as_str() {
        problems.push(format!(
            "{MANIFEST}: origin is {}, the signed checkpoint's is {:?}",
            manifest["origin"], checkpoint.origin
        ));
    }
    Ok(problems)
}

/// Verifies the bundle in `dir` with `verifier`, printing each finding;
/// `Err(Failed)` when the bundle is not exactly the signed log.
pub fn verify(dir: &Path, verifier: &NoteVerifier) -> anyhow::Result<()> {
    let shown = dir.display();
    let cp_path = dir.join(CHECKPOINT);
    if !cp_path.is_file() {
        anyhow::bail!(
            "cannot read {}: is {shown} a bundle written by `auditlog export --verifiable`?",
            cp_path.display()
        );
    }
    let checkpoint = signed_checkpoint(&cp_path, verifier)?;
    let size = checkpoint.size;
    let manifest = check_manifest(dir, &checkpoint)?;
    for problem in &manifest {
        println!("FAILED: {problem}");
    }

    // The leaf hashes are authentic when they lead to the signed root.
    let hashes_path = dir.join(LEAF_HASHES);
    let hashes = File::open(&hashes_path).with_context(|| format!("cannot open {}", hashes_path.display()))?;
    let len = hashes.metadata().with_context(|| format!("cannot read {}", hashes_path.display()))?.len();
    let events_path = dir.join(EVENTS);
    let expected = size.checked_mul(32);
    let altered = if expected != Some(len) {
        Some(format!(
            "it has {len} bytes, but the checkpoint's {size} leaves take {} (32 each)",
            size.saturating_mul(32)
        ))
    } else if root_of_file(&hashes).with_context(|| format!("cannot read {}", hashes_path.display()))?
        != checkpoint.root
    {
        Some("its leaf hashes do not lead to the signed checkpoint's root".to_owned())
    } else {
        None
    };
    if let Some(why) = altered {
        println!("TAMPERING: {} was altered: {why}", hashes_path.display());
        check_whole(&events_path, &checkpoint)?;
        eprintln!(
            "verify: {shown} is not an unaltered bundle of the log {} at size {size}: {LEAF_HASHES} was altered, so \
             changed lines cannot be named",
            checkpoint.origin
        );
        return Err(Failed.into());
    }

    let report = check_lines(&events_path, &hashes, size)?;
    for f in &report.findings {
        let subject = if f.subject.is_empty() { String::new() } else { format!("{}: ", f.subject) };
        println!("FAILED: line {}: {subject}{}: {}", f.line, f.kind.word(), f.text);
    }
    if report.unlisted > 0 {
        println!("FAILED: … and {} more lines (not listed)", report.unlisted);
    }
    for (first, last, after) in &report.removed {
        let place = match after {
            Some(line) => format!("expected after line {line} (leaf {})", first - 1),
            None => "expected at the start of the file".to_owned(),
        };
        if first == last {
            println!("FAILED: leaf {first}: removed: no line holds it; {place}");
        } else {
            println!(
                "FAILED: leaves {first} to {last} ({} leaves): removed: no line holds them; {place}",
                last - first + 1
            );
        }
    }
    for (line, id, index) in &report.missing {
        println!(
            "note: line {line}: event {id}, leaf {index}: a tombstone with \"expired\": false (the exporting database \
             had lost this event without retention removing it)"
        );
    }
    let failures = report.failures() + manifest.len() as u64;
    if failures == 0 {
        let missing = match report.missing.len() {
            0 => String::new(),
            n => format!(", {n} missing from the exporting database"),
        };
        println!(
            "verified: {shown}: {size} leaves ({} events, {} expired by retention{missing}) are exactly the log {} at \
             size {size}",
            report.events, report.expired, checkpoint.origin
        );
        Ok(())
    } else {
        let manifest = match manifest.len() {
            0 => String::new(),
            n => format!("; {n} manifest problems"),
        };
        eprintln!(
            "verify: {shown} is not exactly the log {} at size {size}: {} edited, {} added, {} reordered, {} \
             unreadable lines; {} leaves removed{manifest}",
            checkpoint.origin, report.edited, report.added, report.reordered, report.unreadable, report.removed_leaves
        );
        Err(Failed.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_of_file_matches_the_reference() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        for n in [0u8, 1, 2, 3, 7, 8, 13] {
            let leaves: Vec<Hash> = (0..n).map(|i| auditlog_merkle::leaf_hash(&[i])).collect();
            let path = dir.path().join(format!("h{n}"));
            std::fs::write(&path, leaves.concat()).unwrap_or_else(|e| panic!("{e}"));
            let file = File::open(&path).unwrap_or_else(|e| panic!("{e}"));
            let root = root_of_file(&file).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(root, auditlog_merkle::root_from_leaf_hashes(&leaves), "{n} leaves");
        }
    }

    #[test]
    fn staging_is_a_hidden_sibling() {
        let p = staging_path(Path::new("out/bundle/")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p, PathBuf::from(format!("out/.bundle.partial-{}", std::process::id())));
        let p = staging_path(Path::new("bundle")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p, PathBuf::from(format!("./.bundle.partial-{}", std::process::id())));
        assert!(staging_path(Path::new("/")).is_err());
    }

    #[test]
    fn lines_are_parsed_strictly() {
        let ok = parse_line(br#"{"leaf_index":3,"expired":true,"leaf_hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","event_id":"0195f1a2-7c00-7000-8000-000000000001","created":"2021-06-01T00:00:00.000000+00:00"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.index, Some(Ok(3)));
        assert_eq!(ok.content, Ok(([0u8; 32], Entry::Expired)));
        let extra = parse_line(br#"{"leaf_index":3,"event":{},"note":1}"#).unwrap_or_else(|e| panic!("{e}"));
        assert!(extra.content.is_err_and(|e| e.contains("neither an event line nor a tombstone")));
        let negative = parse_line(br#"{"leaf_index":-1,"event":{}}"#).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(negative.index, Some(Err(_))));
        assert!(parse_line(b"[1]").is_err());
        assert!(parse_line(b"{\"leaf_index\":1,").is_err());
    }
}
