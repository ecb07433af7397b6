//! Verifiable export bundles: the format (the whole transparency log up to
//! a signed checkpoint, in a directory a third party can check offline) and
//! its verifier's checks. Writing a bundle from a store and reporting a
//! verification to a person are the command line's.
//!
//! A bundle holds:
//!
//! - [`EVENTS`] (`events.ndjson`): one line per leaf, in leaf order:
//!   `{"leaf_index":i,"event":{…the stored event…}}` ([`event_line`]), or
//!   for a leaf whose payload retention removed a hash-only tombstone
//!   `{"leaf_index":i,"expired":true,"leaf_hash":"<base64>","event_id":"…","created":"…"}`
//!   ([`tombstone_line`]; `"expired":false` when the row was gone without
//!   retention);
//! - [`LEAF_HASHES`] (`leaf-hashes.bin`): the N leaf hashes, 32 raw bytes each, in order;
//! - [`CHECKPOINT`]: the signed note of size N;
//! - [`VERIFIER_KEY`]: the log's verifier key `<origin>+<id>+<key>`;
//! - [`MANIFEST`] (`manifest.json`): `{"format":"auditlog-bundle/1","origin",…,"tree_size":N,"events","expired",…}`.
//!
//! Verifying ([`altered_hashes`], [`check_lines`], [`check_whole`],
//! [`check_manifest`]): the leaf-hash file is authenticated by recomputing
//! the signed root from it (streaming, O(log N) memory), then every line of
//! the events file is checked against the authentic hash of the leaf it
//! claims, which names each edited, added, reordered or removed line.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use auditlog_core::{Event, Timestamp};
use auditlog_merkle::{Checkpoint, CompactRange, Hash};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{Leaf, leaf_hash_of};

/// The `format` of `manifest.json`.
pub const FORMAT: &str = "auditlog-bundle/1";
pub const EVENTS: &str = "events.ndjson";
pub const LEAF_HASHES: &str = "leaf-hashes.bin";
pub const CHECKPOINT: &str = "checkpoint";
pub const VERIFIER_KEY: &str = "verifier.key";
pub const MANIFEST: &str = "manifest.json";

/// Findings kept (and printed) at most; beyond, only counted.
const MAX_LISTED: usize = 100_000;

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

/// Why a bundle could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Reading a file failed; `what` says which and where.
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The bundle is larger than this machine can check.
    #[error("{0}")]
    TooLarge(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BundleError {
    let what = what.into();
    move |source| BundleError::Io { what, source }
}

/// The line of `events.ndjson` (without its newline) for leaf `leaf_index`
/// holding `event`.
pub fn event_line(leaf_index: u64, event: &Event, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, &EventLine { leaf_index, event })
}

/// The tombstone line of a leaf whose event is gone: `expired` when
/// retention removed it (the leaf says so), else the row was lost.
pub fn tombstone_line(leaf: &Leaf, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    let tombstone = Tombstone {
        leaf_index: leaf.index,
        expired: leaf.expired.is_some(),
        leaf_hash: B64.encode(leaf.hash),
        event_id: leaf.event_id,
        created: leaf.created,
    };
    serde_json::to_writer(out, &tombstone)
}

/// What kind of problem a line has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Edited,
    Added,
    Reordered,
    Unreadable,
}

impl Kind {
    /// How the command line names it.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Edited => "edited",
            Kind::Added => "added",
            Kind::Reordered => "reordered",
            Kind::Unreadable => "unreadable",
        }
    }
}

/// A line that is not what the log holds.
#[derive(Debug)]
pub struct Finding {
    pub line: u64,
    pub kind: Kind,
    /// `event <id>, leaf <i>` or as much of it as is known.
    pub subject: String,
    pub text: String,
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
pub struct Report {
    pub findings: Vec<Finding>,
    /// Findings past [`MAX_LISTED`], counted but not kept.
    pub unlisted: u64,
    pub edited: u64,
    pub added: u64,
    pub reordered: u64,
    pub unreadable: u64,
    /// Leaves no line holds: (first, last, the line of the leaf before).
    pub removed: Vec<(u64, u64, Option<u64>)>,
    pub removed_leaves: u64,
    pub events: u64,
    pub expired: u64,
    /// Tombstones of rows lost without retention: (line, event id, leaf).
    pub missing: Vec<(u64, String, u64)>,
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

    /// Lines and leaves that are not the log's.
    pub fn failures(&self) -> u64 {
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
pub fn check_lines(events: &Path, hashes: &File, size: u64) -> Result<Report, BundleError> {
    let mut report = Report::default();
    let len = usize::try_from(size)
        .map_err(|_| BundleError::TooLarge("the tree is too large to check on this machine".into()))?;
    let mut owners = Owners(vec![0; len]);
    let file = File::open(events).map_err(io(format!("cannot open {}", events.display())))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut buf = Vec::new();
    let mut line = 0u64;
    // The previous line with a leaf of its own: (leaf, line).
    let mut previous: Option<(u64, u64)> = None;
    let mut authentic = [0u8; 32];
    while let Some(newline) =
        read_line(&mut reader, &mut buf).map_err(io(format!("cannot read {} after line {line}", events.display())))?
    {
        line += 1;
        if line >= u64::from(MATCHES) {
            return Err(BundleError::TooLarge(format!("{} has more lines than a bundle can have", events.display())));
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
            .map_err(io(format!("cannot read leaf {index} of the leaf hashes")))?;
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
        file.seek(SeekFrom::Start(0)).map_err(io("cannot read the leaf hashes"))?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let mut hash = [0u8; 32];
        for j in 0..size {
            reader.read_exact(&mut hash).map_err(io("cannot read the leaf hashes"))?;
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

/// What [`check_whole`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WholeCheck {
    pub lines: u64,
    /// Lines that are no event or tombstone of the format.
    pub unusable: u64,
    /// Lines whose `leaf_index` is not their position.
    pub misplaced: u64,
    /// The lines, in order, lead to the signed root by themselves.
    pub ok: bool,
}

/// With leaf hashes that cannot be trusted, all that can be checked is
/// whether the lines, in order, lead to the signed root by themselves.
pub fn check_whole(events: &Path, checkpoint: &Checkpoint) -> Result<WholeCheck, BundleError> {
    let file = File::open(events).map_err(io(format!("cannot open {}", events.display())))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut buf = Vec::new();
    let mut range = CompactRange::new();
    let (mut lines, mut unusable, mut misplaced) = (0u64, 0u64, 0u64);
    while let Some(_newline) =
        read_line(&mut reader, &mut buf).map_err(io(format!("cannot read {}", events.display())))?
    {
        match parse_line(&buf) {
            Ok(Line { index, content: Ok((h, _)), .. }) => {
                if index.and_then(Result::ok) != Some(lines) {
                    misplaced += 1;
                }
                if range.append(h, |_, _| {}).is_err() {
                    return Err(BundleError::TooLarge(format!(
                        "{} has more lines than a tree can hold",
                        events.display()
                    )));
                }
            }
            _ => unusable += 1,
        }
        lines += 1;
    }
    let ok = unusable == 0 && misplaced == 0 && lines == checkpoint.size && range.root() == checkpoint.root;
    Ok(WholeCheck { lines, unusable, misplaced, ok })
}

/// Checks `manifest.json` against the checkpoint; returns the problems.
pub fn check_manifest(dir: &Path, checkpoint: &Checkpoint) -> Result<Vec<String>, BundleError> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![format!("{MANIFEST} is missing")]),
        Err(e) => return Err(io(format!("cannot read {}", path.display()))(e)),
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

/// Whether the leaf-hash file `hashes` was altered: `Some(why)` unless it
/// holds exactly the checkpoint's leaves and they lead to its root.
pub fn altered_hashes(hashes: &File, path: &Path, checkpoint: &Checkpoint) -> Result<Option<String>, BundleError> {
    let size = checkpoint.size;
    let len = hashes.metadata().map_err(io(format!("cannot read {}", path.display())))?.len();
    Ok(if size.checked_mul(32) != Some(len) {
        Some(format!(
            "it has {len} bytes, but the checkpoint's {size} leaves take {} (32 each)",
            size.saturating_mul(32)
        ))
    } else if root_of_file(hashes).map_err(io(format!("cannot read {}", path.display())))? != checkpoint.root {
        Some("its leaf hashes do not lead to the signed checkpoint's root".to_owned())
    } else {
        None
    })
}

/// The bundle's own `verifier.key`, when it has one.
pub fn bundle_key(dir: &Path) -> Result<Option<String>, BundleError> {
    let path: PathBuf = dir.join(VERIFIER_KEY);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(format!("cannot read {}", path.display()))(e)),
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
