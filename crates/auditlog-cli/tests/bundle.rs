//! `export --verifiable` and `verify --export DIR` through the real binary
//! on the embedded store: a bundle of the whole log (with leaves expired by
//! retention) verifies offline, elsewhere, with its own key or `--key`; each
//! kind of tampering is named by line, event and leaf. And the export's
//! failure modes: usage errors, a full disk, a closed pipe, and a failed
//! export that leaves nothing that looks complete.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::{Instance, event, show, stderr, stdout};
use serde_json::{Value, json};

const SQLITE: &str = "sqlite://./audit.db";
/// Leaves of the bundle of [`bundled`].
const SIZE: u64 = 26;

/// An instance whose log has 26 leaves: 10 recent events, 6 from 2021 that
/// retention has expired (leaves 10 to 15, now tombstones), 10 recent ones.
struct Bundled {
    inst: Instance,
    dir: PathBuf,
    key: String,
    origin: String,
}

fn bundled() -> Bundled {
    let inst = Instance::new(SQLITE, "");
    let mut events: Vec<Value> = (0..10).map(|i| event("test.event", &format!("a-{i}"), i % 3, None)).collect();
    events.extend((0..6).map(|i| event("test.event", &format!("old-{i}"), 7, Some("2021-06-01T00:00:00Z"))));
    events.extend((0..10).map(|i| event("test.event", &format!("b-{i}"), i % 3, None)));
    inst.ingest(&events);
    let retention = inst.ok(&["retention", "run"]);
    assert!(retention.contains("deleted 6 events"), "{retention}");
    let out = inst.run(&["export", "--verifiable", "--output", "bundle"]);
    assert!(out.status.success(), "{}", show(&out));
    let key = inst.ok(&["key", "show"]).trim().to_owned();
    let origin = key.split('+').next().unwrap().to_owned();
    assert!(
        stderr(&out).contains(&format!(
            "export: bundle bundle: 26 leaves (20 events, 6 expired by retention) of the log {origin} at its signed \
             checkpoint of size 26"
        )),
        "{}",
        show(&out)
    );
    let dir = inst.dir.path().join("bundle");
    Bundled { inst, dir, key, origin }
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(str::to_owned).collect()
}

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// The event id a line of the bundle names.
fn id_of(line: &str) -> String {
    let v = parse(line);
    v["event"]["id"].as_str().or(v["event_id"].as_str()).unwrap().to_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

impl Bundled {
    /// A copy of the bundle named `name` whose events file `edit` rewrites
    /// (as lines without their newlines).
    fn tampered(&self, name: &str, edit: impl FnOnce(&mut Vec<String>)) -> PathBuf {
        let copy = self.inst.dir.path().join(name);
        copy_dir(&self.dir, &copy);
        let mut lines = read_lines(&copy.join("events.ndjson"));
        edit(&mut lines);
        std::fs::write(copy.join("events.ndjson"), lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
        copy
    }

    fn lines(&self) -> Vec<String> {
        read_lines(&self.dir.join("events.ndjson"))
    }

    /// `verify --export DIR` with the log's key, from another instance (no
    /// database, another key): offline, as on another machine.
    fn verify(&self, dir: &Path) -> Output {
        Instance::new(SQLITE, "").run(&["verify", "--export", dir.to_str().unwrap(), "--key", &self.key])
    }

    /// Asserts exit 1 and exactly `expected` as the FAILED/TAMPERING lines
    /// of stdout; returns stderr.
    fn fails_with(&self, dir: &Path, expected: &[String]) -> String {
        let out = self.verify(dir);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        let text = stdout(&out);
        let got: Vec<&str> =
            text.lines().filter(|l| l.starts_with("FAILED: ") || l.starts_with("TAMPERING: ")).collect();
        assert_eq!(got, expected, "{}", show(&out));
        assert!(!text.contains("verified:"), "{}", show(&out));
        stderr(&out)
    }

    fn summary(&self, dir: &Path, counts: &str) -> String {
        format!("verify: {} is not exactly the log {} at size {SIZE}: {counts}", dir.display(), self.origin)
    }
}

#[test]
fn a_bundle_holds_the_whole_log_and_verifies_offline() {
    let b = bundled();
    let mut names: Vec<String> =
        std::fs::read_dir(&b.dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["checkpoint", "events.ndjson", "leaf-hashes.bin", "manifest.json", "verifier.key"]);
    assert_eq!(std::fs::read_to_string(b.dir.join("verifier.key")).unwrap().trim(), b.key);
    let manifest = parse(&std::fs::read_to_string(b.dir.join("manifest.json")).unwrap());
    assert_eq!(manifest["format"], "auditlog-bundle/1");
    assert_eq!(manifest["tree_size"], SIZE);
    assert_eq!(manifest["events"], 20);
    assert_eq!(manifest["expired"], 6);
    assert_eq!(manifest["origin"], b.origin.as_str());
    assert_eq!(std::fs::metadata(b.dir.join("leaf-hashes.bin")).unwrap().len(), SIZE * 32);
    assert!(std::fs::read_to_string(b.dir.join("checkpoint")).unwrap().starts_with(&format!("{}\n26\n", b.origin)));
    // Nothing of the staging directory is left beside it.
    let beside: Vec<String> = std::fs::read_dir(b.inst.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");

    // One line per leaf, in leaf order; the expired ones as tombstones.
    let lines = b.lines();
    assert_eq!(lines.len() as u64, SIZE);
    let all_events: Vec<Value> =
        b.inst.ok(&["export"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect::<Vec<_>>();
    for (i, line) in lines.iter().enumerate() {
        let v = parse(line);
        assert_eq!(v["leaf_index"], i, "{line}");
        if (10..16).contains(&i) {
            let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), 5, "{line}");
            assert_eq!(v["expired"], true, "{line}");
            assert_eq!(v["created"], "2021-06-01T00:00:00.000000+00:00", "{line}");
            assert_eq!(v["leaf_hash"].as_str().unwrap().len(), 44, "{line}");
        } else {
            // The stored event, exactly as a plain export has it.
            assert_eq!(v.as_object().unwrap().len(), 2, "{line}");
            assert!(all_events.contains(&v["event"]), "{line}");
        }
    }

    // With the bundle's own key, on a host without the log: the user is
    // told which key it was and to compare it with the published one.
    let elsewhere = Instance::new(SQLITE, "");
    let out = elsewhere.run(&["verify", "--export", b.dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", show(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "key: {} (the bundle's own verifier.key): compare it with the log's published verifier key",
            b.key
        )),
        "{text}"
    );
    let verified = format!(
        "verified: {}: 26 leaves (20 events, 6 expired by retention) are exactly the log {} at size 26",
        b.dir.display(),
        b.origin
    );
    assert!(text.lines().any(|l| l == verified), "{text}");

    // With --key.
    let out = b.verify(&b.dir);
    assert!(out.status.success(), "{}", show(&out));
    assert!(stdout(&out).contains(&format!("key: {} (from --key)", b.key)), "{}", show(&out));
    assert!(stdout(&out).contains(&verified), "{}", show(&out));
}

#[test]
fn an_edited_line_is_named() {
    let b = bundled();
    let lines = b.lines();
    let dir = b.tampered("edited", |l| {
        let mut v = parse(&l[3]);
        v["event"]["message"] = json!("nothing happened here");
        l[3] = v.to_string();
    });
    let err = b.fails_with(
        &dir,
        &[format!(
            "FAILED: line 4: event {}, leaf 3: edited: its content differs from leaf 3 of the log",
            id_of(&lines[3])
        )],
    );
    assert!(
        err.contains(&b.summary(&dir, "1 edited, 0 added, 0 reordered, 0 unreadable lines; 0 leaves removed")),
        "{err}"
    );

    // A member the log does not record is an edit too, though the leaf hash holds.
    let dir = b.tampered("extra-member", |l| {
        let mut v = parse(&l[17]);
        v["event"]["approved_by"] = json!("nobody");
        l[17] = v.to_string();
    });
    b.fails_with(
        &dir,
        &[format!(
            "FAILED: line 18: event {}, leaf 17: edited: the event has members or values other than the ones the log \
             records",
            id_of(&lines[17])
        )],
    );

    // An edited tombstone.
    let dir = b.tampered("tombstone", |l| {
        let mut v = parse(&l[11]);
        v["leaf_hash"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        l[11] = v.to_string();
    });
    b.fails_with(
        &dir,
        &[format!(
            "FAILED: line 12: event {}, leaf 11: edited: the tombstone's leaf_hash differs from leaf 11 of the log",
            id_of(&lines[11])
        )],
    );
}

#[test]
fn removed_lines_are_named_with_where_they_belong() {
    let b = bundled();
    // Leaf 5, and the tombstones of leaves 12 to 14.
    let dir = b.tampered("removed", |l| {
        l.drain(12..15);
        l.remove(5);
    });
    let err = b.fails_with(
        &dir,
        &[
            "FAILED: leaf 5: removed: no line holds it; expected after line 5 (leaf 4)".to_owned(),
            "FAILED: leaves 12 to 14 (3 leaves): removed: no line holds them; expected after line 11 (leaf 11)"
                .to_owned(),
        ],
    );
    assert!(
        err.contains(&b.summary(&dir, "0 edited, 0 added, 0 reordered, 0 unreadable lines; 4 leaves removed")),
        "{err}"
    );

    // The first leaf.
    let dir = b.tampered("removed-first", |l| {
        l.remove(0);
    });
    b.fails_with(&dir, &["FAILED: leaf 0: removed: no line holds it; expected at the start of the file".to_owned()]);
}

#[test]
fn added_lines_are_named() {
    let b = bundled();
    let lines = b.lines();
    let forged = |from: &str, id: &str, index: u64| {
        let mut v = parse(from);
        v["event"]["id"] = json!(id);
        v["leaf_index"] = json!(index);
        v.to_string()
    };
    let (fresh, twin, before) = (
        "0195f1a2-7c00-7000-8000-00000000abcd",
        "0195f1a2-7c00-7000-8000-00000000abce",
        "0195f1a2-7c00-7000-8000-00000000abcf",
    );
    let dir = b.tampered("added", |l| {
        l.push(forged(&lines[0], fresh, 26)); // line 28 after the insertion below
        l.push(forged(&lines[1], twin, 1)); // line 29
        l.push(lines[7].clone()); // line 30: an exact copy
        l.insert(2, forged(&lines[2], before, 2)); // line 3, before the real leaf 2 (now line 4)
    });
    let err = b.fails_with(
        &dir,
        &[
            format!("FAILED: line 3: event {before}, leaf 2: added: claims leaf 2, which line 4 holds; this line is not in the log"),
            format!("FAILED: line 28: event {fresh}: added: claims leaf 26, but the log has 26 leaves (0 to 25)"),
            format!("FAILED: line 29: event {twin}, leaf 1: added: claims leaf 1, which line 2 already holds"),
            format!("FAILED: line 30: event {}, leaf 7: added: a second copy of leaf 7 (line 9)", id_of(&lines[7])),
        ],
    );
    assert!(
        err.contains(&b.summary(&dir, "0 edited, 4 added, 0 reordered, 0 unreadable lines; 0 leaves removed")),
        "{err}"
    );

    // A line with no leaf index, and an empty line.
    let dir = b.tampered("no-index", |l| {
        let mut v = parse(&lines[0]);
        v.as_object_mut().unwrap().remove("leaf_index");
        v["event"]["id"] = json!(fresh);
        l.push(v.to_string());
        l.insert(1, String::new());
    });
    b.fails_with(
        &dir,
        &[
            "FAILED: line 2: unreadable: an empty line".to_owned(),
            format!("FAILED: line 28: event {fresh}: added: no leaf_index"),
        ],
    );
}

#[test]
fn reordered_lines_are_named() {
    let b = bundled();
    let lines = b.lines();
    let dir = b.tampered("swapped", |l| l.swap(4, 5));
    let err = b.fails_with(
        &dir,
        &[format!("FAILED: line 6: event {}, leaf 4: reordered: leaf 4 comes after leaf 5 (line 5)", id_of(&lines[4]))],
    );
    assert!(
        err.contains(&b.summary(&dir, "0 edited, 0 added, 1 reordered, 0 unreadable lines; 0 leaves removed")),
        "{err}"
    );

    // A tombstone moved to the end.
    let dir = b.tampered("moved", |l| {
        let t = l.remove(13);
        l.push(t);
    });
    b.fails_with(
        &dir,
        &[format!(
            "FAILED: line 26: event {}, leaf 13: reordered: leaf 13 comes after leaf 25 (line 25)",
            id_of(&lines[13])
        )],
    );

    // Swapped and renumbered: the content is not the claimed leaf's, and
    // the report says whose it is.
    let dir = b.tampered("renumbered", |l| {
        l.swap(7, 8);
        for (i, line) in l.iter_mut().enumerate().skip(7).take(2) {
            let mut v = parse(line);
            v["leaf_index"] = json!(i);
            *line = v.to_string();
        }
    });
    b.fails_with(
        &dir,
        &[
            format!(
                "FAILED: line 8: event {}, leaf 7: edited: its content differs from leaf 7 of the log; its content is \
                 that of leaf 8",
                id_of(&lines[8])
            ),
            format!(
                "FAILED: line 9: event {}, leaf 8: edited: its content differs from leaf 8 of the log; its content is \
                 that of leaf 7",
                id_of(&lines[7])
            ),
        ],
    );
}

#[test]
fn a_truncated_events_file_is_caught() {
    let b = bundled();
    let copy = b.tampered("truncated", |_| {});
    let path = copy.join("events.ndjson");
    let text = std::fs::read_to_string(&path).unwrap();
    // Cut in the middle of line 20 (leaf 19).
    let start: usize = text.split_inclusive('\n').take(19).map(str::len).sum();
    std::fs::write(&path, &text[..start + 40]).unwrap();
    let err = b.fails_with(
        &copy,
        &[
            "FAILED: line 20: unreadable: not JSON: EOF while parsing a string at line 1 column 40 (the file ends in \
             this line, without a newline: truncated?)"
                .to_owned(),
            "FAILED: leaves 19 to 25 (7 leaves): removed: no line holds them; expected after line 19 (leaf 18)"
                .to_owned(),
        ],
    );
    assert!(
        err.contains(&b.summary(&copy, "0 edited, 0 added, 0 reordered, 1 unreadable lines; 7 leaves removed")),
        "{err}"
    );
}

#[test]
fn altered_leaf_hashes_are_caught_and_the_events_still_checked_as_a_whole() {
    let b = bundled();
    let hashes = |dir: &Path| dir.join("leaf-hashes.bin");

    // One flipped byte; the events themselves are intact.
    let dir = b.tampered("flipped", |_| {});
    let mut raw = std::fs::read(hashes(&dir)).unwrap();
    raw[5 * 32] ^= 1;
    std::fs::write(hashes(&dir), &raw).unwrap();
    let out = b.verify(&dir);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "TAMPERING: {} was altered: its leaf hashes do not lead to the signed checkpoint's root",
            hashes(&dir).display()
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "lead to the signed root by themselves: the events are the log's; only leaf-hashes.bin was altered"
        ),
        "{text}"
    );

    // An edited event whose new leaf hash was written into leaf-hashes.bin too.
    let lines = b.lines();
    let mut edited = parse(&lines[5]);
    edited["event"]["message"] = json!("nothing happened here");
    let dir = b.tampered("consistent-forgery", |l| l[5] = edited.to_string());
    let event: auditlog_core::Event = serde_json::from_value(edited["event"].clone()).unwrap();
    let mut raw = std::fs::read(hashes(&dir)).unwrap();
    raw[5 * 32..6 * 32].copy_from_slice(&auditlog_merkle::leaf_hash(&event.canonical_json()));
    std::fs::write(hashes(&dir), &raw).unwrap();
    let err = b.fails_with(
        &dir,
        &[
            format!(
                "TAMPERING: {} was altered: its leaf hashes do not lead to the signed checkpoint's root",
                hashes(&dir).display()
            ),
            format!(
                "FAILED: {} does not lead to the signed root either (26 lines for 26 leaves): events were edited, \
                 removed, added or reordered, but without authentic leaf hashes the lines cannot be localised",
                dir.join("events.ndjson").display()
            ),
        ],
    );
    assert!(err.contains("leaf-hashes.bin was altered, so changed lines cannot be named"), "{err}");

    // A truncated leaf-hashes.bin (the events intact).
    let dir = b.tampered("short-hashes", |_| {});
    std::fs::write(hashes(&dir), &raw[..25 * 32]).unwrap();
    let out = b.verify(&dir);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "TAMPERING: {} was altered: it has 800 bytes, but the checkpoint's 26 leaves take 832 (32 each)",
            hashes(&dir).display()
        )),
        "{text}"
    );
    assert!(text.contains("only leaf-hashes.bin was altered"), "{text}");
}

#[test]
fn a_checkpoint_of_another_key_is_caught() {
    let b = bundled();
    let other = Instance::new(SQLITE, "");
    other.ingest(&[event("test.event", "x", 1, None)]);
    other.ok(&["export", "--verifiable", "--output", "forged"]);
    let other_key = other.ok(&["key", "show"]).trim().to_owned();
    assert_ne!(other_key, b.key);

    // The bundle checked against another log's key.
    let out = other.run(&["verify", "--export", b.dir.to_str().unwrap(), "--key", &other_key]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    let cp = b.dir.join("checkpoint");
    assert!(
        text.contains(&format!("TAMPERING: the checkpoint {} is not signed by {}: ", cp.display(), b.origin)),
        "{text}"
    );
    assert!(text.contains("note: the bundle's own verifier.key is a different key"), "{text}");

    // A forger's checkpoint and key put into the bundle: with the log's key
    // the signature fails; with the bundle's own key the user is told to
    // compare it, and the leaf hashes do not lead to the forged root.
    let dir = b.tampered("forged", |_| {});
    let forged = other.dir.path().join("forged");
    std::fs::copy(forged.join("checkpoint"), dir.join("checkpoint")).unwrap();
    std::fs::copy(forged.join("verifier.key"), dir.join("verifier.key")).unwrap();
    let out = b.verify(&dir);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    let prefix =
        format!("TAMPERING: the checkpoint {} is not signed by {}: ", dir.join("checkpoint").display(), b.origin);
    let verdicts: Vec<&str> = text.lines().filter(|l| l.starts_with("TAMPERING") || l.starts_with("FAILED")).collect();
    assert!(verdicts.len() == 1 && verdicts[0].starts_with(&prefix), "{text}");
    let out = b.inst.run(&["verify", "--export", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("key: {other_key} (the bundle's own verifier.key): compare it")), "{text}");
    assert!(text.contains("FAILED: manifest.json: tree_size is 26, the signed checkpoint's is 1"), "{text}");
    assert!(
        text.contains("leaf-hashes.bin was altered: it has 832 bytes, but the checkpoint's 1 leaves take 32"),
        "{text}"
    );

    // An edited manifest.
    let dir = b.tampered("manifest", |_| {});
    let mut manifest = parse(&std::fs::read_to_string(dir.join("manifest.json")).unwrap());
    manifest["tree_size"] = json!(99);
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    b.fails_with(&dir, &["FAILED: manifest.json: tree_size is 99, the signed checkpoint's is 26".to_owned()]);
}

#[test]
fn verifiable_export_usage_errors() {
    let b = bundled();
    let cases: &[(&[&str], &str)] = &[
        (&["export", "--verifiable"], "--verifiable needs --output DIR"),
        (
            &["export", "action:test.event", "--verifiable", "-o", "x"],
            "--verifiable exports the whole log and takes no query",
        ),
        (
            &["export", "--verifiable", "-o", "x", "--format", "csv"],
            "--verifiable cannot be combined with --format csv",
        ),
        (&["export", "--verifiable", "-o", "x", "--proofs", "cp"], "--verifiable cannot be combined with --proofs"),
        (&["verify", "--export", "bundle/events.ndjson"], "needs --checkpoint FILE"),
        (&["verify", "--export", "bundle", "--checkpoint", "bundle/checkpoint"], "carries its own checkpoint"),
    ];
    for (args, message) in cases {
        let out = b.inst.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", show(&out));
    }
    assert!(!b.inst.dir.path().join("x").exists());

    // A directory that is not empty is left alone.
    let before = std::fs::read(b.dir.join("events.ndjson")).unwrap();
    let out = b.inst.run(&["export", "--verifiable", "--output", "bundle"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("bundle exists and is not empty"), "{}", show(&out));
    assert_eq!(std::fs::read(b.dir.join("events.ndjson")).unwrap(), before);
    // An empty one is filled.
    std::fs::create_dir(b.inst.dir.path().join("empty")).unwrap();
    b.inst.ok(&["export", "--verifiable", "--output", "empty"]);
    b.inst.ok(&["verify", "--export", "empty", "--key", &b.key]);
}

/// An instance with 3000 events: more than a pipe buffer holds, and three
/// pages of the export.
fn large() -> Instance {
    let inst = Instance::new(SQLITE, "");
    let events: Vec<Value> = (0..3000).map(|i| event("test.event", &format!("r-{i}"), i % 5, None)).collect();
    inst.ingest(&events);
    inst
}

#[test]
fn export_to_a_full_disk_fails_and_says_so() {
    let b = bundled();
    let out = b.inst.run(&["export", "--output", "/dev/full"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stderr(&out).contains("export: cannot write to /dev/full after 0 events: No space left on device"),
        "{}",
        show(&out)
    );
    // Standard output on a full disk, CSV.
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = b.inst.command().args(["export", "--format", "csv"]).stdout(full).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stderr(&out).contains("cannot write to standard output after 0 events: No space left on device"),
        "{}",
        show(&out)
    );
}

#[test]
fn export_into_a_closed_pipe_fails() {
    let inst = large();
    let mut child = inst.command().arg("export").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(first.contains("\"action\":\"test.event\""), "{first}");
    drop(reader);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("export: standard output closed after "), "{}", show(&out));
    assert!(!stderr(&out).contains("export: 3000 events"), "{}", show(&out));
}

/// Runs `auditlog <args>` with files limited to `blocks` 512-byte blocks
/// (a disk that fills up part way); SIGXFSZ ignored, so writes past the
/// limit fail with EFBIG.
fn run_limited(inst: &Instance, blocks: u32, args: &[&str]) -> Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" \"$@\""))
        .arg(common::BIN)
        .arg("--config")
        .arg(&inst.config)
        .args(args)
        .current_dir(inst.dir.path())
        .output()
        .unwrap()
}

/// The files in `dir`, without the database's own WAL and shared-memory
/// files (SQLite leaves them or not depending on how its last connection
/// closed; they are not export output).
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "audit.db-wal" && n != "audit.db-shm")
        .collect();
    names.sort();
    names
}

#[test]
fn a_failed_export_leaves_nothing_that_looks_complete() {
    let inst = large();
    let before = entries(inst.dir.path());

    // A file: nothing written; a file of the same name that was there stays as it was.
    let out = run_limited(&inst, 700, &["export", "--output", "out.ndjson"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("export: cannot write to out.ndjson after "), "{err}");
    assert!(err.contains("File too large") && err.contains("; out.ndjson was not written"), "{err}");
    assert!(!err.contains("after 0 events"), "the limit is hit past the first page: {err}");
    assert_eq!(entries(inst.dir.path()), before);
    std::fs::write(inst.dir.path().join("out.ndjson"), "old\n").unwrap();
    let out = run_limited(&inst, 700, &["export", "--output", "out.ndjson"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(std::fs::read_to_string(inst.dir.path().join("out.ndjson")).unwrap(), "old\n");
    std::fs::remove_file(inst.dir.path().join("out.ndjson")).unwrap();

    // A bundle: no directory, no staging directory.
    let out = run_limited(&inst, 700, &["export", "--verifiable", "--output", "bundle"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains("export failed after ") && err.contains(" of 3000 leaves; nothing was written to bundle"),
        "{err}"
    );
    assert!(err.contains("File too large"), "{err}");
    assert_eq!(entries(inst.dir.path()), before);

    // Without the limit both work, and the file replaces the old one whole.
    let out = inst.run(&["export", "--output", "out.ndjson"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(std::fs::read_to_string(inst.dir.path().join("out.ndjson")).unwrap().lines().count(), 3000);
    inst.ok(&["export", "--verifiable", "--output", "bundle"]);
    let out = inst.run(&["verify", "--export", "bundle"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        stdout(&out).contains("3000 leaves (3000 events, 0 expired by retention) are exactly the log"),
        "{}",
        show(&out)
    );
}
