//! Verifiable export bundles on the command line: `auditlog export
//! --verifiable --output DIR` writes one ([`write`]) and `auditlog verify
//! --export DIR` checks one and says what it found ([`verify`]). The format
//! and the checks themselves are `auditlog_transparency::bundle`'s.
//!
//! Everything goes into a hidden sibling directory first, renamed to DIR
//! once complete, so a failed export never looks like a finished one.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use auditlog_core::Timestamp;
use auditlog_merkle::{CompactRange, NoteVerifier};
use auditlog_store::Store;
use auditlog_transparency::bundle::{self, CHECKPOINT, EVENTS, FORMAT, LEAF_HASHES, MANIFEST, VERIFIER_KEY};
use auditlog_transparency::{StoredCheckpoint, leaf_hash_of};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;

use crate::Failed;
use crate::commands::verify::signed_checkpoint;
use crate::progress::Progress;

/// Leaves read from the store per query.
const PAGE: usize = 1000;

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
                    bundle::event_line(leaf.index, e, &mut line)?;
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
                    bundle::tombstone_line(&leaf, &mut line)?;
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
    let manifest = bundle::check_manifest(dir, &checkpoint)?;
    for problem in &manifest {
        println!("FAILED: {problem}");
    }

    // The leaf hashes are authentic when they lead to the signed root.
    let hashes_path = dir.join(LEAF_HASHES);
    let hashes = File::open(&hashes_path).with_context(|| format!("cannot open {}", hashes_path.display()))?;
    let events_path = dir.join(EVENTS);
    if let Some(why) = bundle::altered_hashes(&hashes, &hashes_path, &checkpoint)? {
        println!("TAMPERING: {} was altered: {why}", hashes_path.display());
        let whole = bundle::check_whole(&events_path, &checkpoint)?;
        if whole.ok {
            println!(
                "the lines of {} lead to the signed root by themselves: the events are the log's; only {LEAF_HASHES} \
                 was altered",
                events_path.display()
            );
        } else {
            let mut why = vec![format!("{} lines for {} leaves", whole.lines, checkpoint.size)];
            if whole.unusable > 0 {
                why.push(format!("{} unreadable", whole.unusable));
            }
            if whole.misplaced > 0 {
                why.push(format!("{} with a leaf_index other than their position", whole.misplaced));
            }
            println!(
                "FAILED: {} does not lead to the signed root either ({}): events were edited, removed, added or \
                 reordered, but without authentic leaf hashes the lines cannot be localised",
                events_path.display(),
                why.join(", ")
            );
        }
        eprintln!(
            "verify: {shown} is not an unaltered bundle of the log {} at size {size}: {LEAF_HASHES} was altered, so \
             changed lines cannot be named",
            checkpoint.origin
        );
        return Err(Failed.into());
    }

    let report = bundle::check_lines(&events_path, &hashes, size)?;
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
    fn staging_is_a_hidden_sibling() {
        let p = staging_path(Path::new("out/bundle/")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p, PathBuf::from(format!("out/.bundle.partial-{}", std::process::id())));
        let p = staging_path(Path::new("bundle")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p, PathBuf::from(format!("./.bundle.partial-{}", std::process::id())));
        assert!(staging_path(Path::new("/")).is_err());
    }
}
