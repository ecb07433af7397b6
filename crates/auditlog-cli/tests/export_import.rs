//! `export`, `import` and offline `verify --export` through the real
//! binary on the embedded store: a round trip that keeps ids, times and
//! order; re-imports that change nothing; bad lines reported by number and
//! field while good ones are stored; the reference's table rows; CSV; and
//! an export whose proofs a third party checks with the verifier key alone.

mod common;

use std::path::PathBuf;

use common::{Instance, event, lines, seeded, show, stderr};
use serde_json::{Value, json};

const SQLITE: &str = "sqlite://./audit.db";

fn total(inst: &Instance, q: &str) -> u64 {
    let out: Value = serde_json::from_str(&inst.ok(&["search", q, "--format", "json"])).unwrap();
    out["hits"]["total"].as_u64().unwrap()
}

#[test]
fn export_then_import_keeps_every_event_as_it_was() {
    let a = seeded(20, 4, 10);
    let exported = a.ok(&["export"]);
    let events = lines(&exported);
    assert_eq!(events.len(), 30);
    assert!(events.windows(2).all(|w| w[0]["created"].as_str() <= w[1]["created"].as_str()), "oldest first");
    assert_eq!(events[0]["action"], "test.archive");
    assert!(events[0].get("links").is_none(), "the stored wire format, without links");

    // A query narrows the export; to a file as well as to stdout.
    a.ok(&["export", "action:test.archive", "--output", "old.ndjson"]);
    assert_eq!(lines(&std::fs::read_to_string(a.path("old.ndjson")).unwrap()).len(), 10);

    let b = Instance::new(SQLITE, "");
    let file = b.path("in.ndjson");
    std::fs::write(&file, &exported).unwrap();
    let out = b.run(&["import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("30 events stored, 0 already stored, 0 rejected"), "{}", show(&out));
    assert_eq!(b.ok(&["export"]), exported, "same ids, times, messages and order");
    assert_eq!(total(&b, "resource.id:old-3"), 1);

    // Importing again stores nothing and is not an error.
    let again = b.run(&["import", file.to_str().unwrap()]);
    assert!(again.status.success(), "{}", show(&again));
    assert!(stderr(&again).contains("0 events stored, 30 already stored"), "{}", show(&again));

    // The imported events are in b's own transparency log.
    let verified = b.ok(&["verify", "--database"]);
    assert!(verified.contains("verified: 30 leaves"), "{verified}");
}

#[test]
fn import_reports_bad_lines_by_number_and_field_and_keeps_the_good_ones() {
    let a = seeded(20, 4, 10);
    let exported = lines(&a.ok(&["export"]));
    let b = Instance::new(SQLITE, "");
    b.ingest(&[event("test.event", "already-there", 1, None)]);
    let there = lines(&b.ok(&["export"]))[0].clone();
    let mut conflicting = there.clone();
    conflicting["message"] = json!("a different message");

    let with = |field: &str, v: Value| {
        let mut e = exported[0].clone();
        e[field] = v;
        e.to_string()
    };
    let mut no_message = exported[1].clone();
    no_message.as_object_mut().unwrap().remove("message");
    let file = [
        exported[0].to_string(),                 // 1 good
        with("id", json!("not-a-uuid")),         // 2
        "{not json".to_owned(),                  // 3
        with("action", json!("no.such.action")), // 4
        no_message.to_string(),                  // 5
        exported[0].to_string(),                 // 6 twice in the file
        conflicting.to_string(),                 // 7 stored with other content
        with("created", json!("yesterday")),     // 8
        String::new(),                           // blank lines are skipped
        exported[2].to_string(),                 // 10 good
        with("metadata", json!([1, 2])),         // 11
    ]
    .join("\n");
    let path = b.path("bad.ndjson");
    std::fs::write(&path, file).unwrap();
    let out = b.run(&["import", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    let (id0, id1) = (exported[0]["id"].as_str().unwrap(), exported[1]["id"].as_str().unwrap());
    let there_id = there["id"].as_str().unwrap();
    for expected in [
        "line 2: id: not a UUID: \"not-a-uuid\"".to_owned(),
        "line 3: (item): not JSON".to_owned(),
        format!("line 4 (id {id0}): action: unknown action \"no.such.action\""),
        format!("line 5 (id {id1}): message: missing"),
        format!("line 6 (id {id0}): id: appears earlier in this input"),
        format!("line 7 (id {there_id}): id: an event with this id is already stored with different content"),
        format!("line 8 (id {id0}): created: not a date-time: \"yesterday\""),
        format!("line 11 (id {id0}): metadata: expected an object"),
        "2 events stored, 0 already stored, 8 rejected".to_owned(),
    ] {
        assert!(err.contains(&expected), "missing {expected:?} in:\n{err}");
    }
    assert_eq!(total(&b, ""), 3, "the two good lines and the event already there");
    assert_eq!(total(&b, &format!("id:{}", exported[2]["id"].as_str().unwrap())), 1);
}

#[test]
fn import_reads_rows_of_the_reference_table() {
    let inst = Instance::new(SQLITE, "");
    // As `SELECT row_to_json(t) FROM audit_logs_metadata t` prints them.
    let rows = [
        json!({"id": "0195f1a2-7c00-7000-8000-000000000001", "created": "2025-03-01T10:00:00.123456",
               "updated": "2025-03-01T10:00:00.123456", "action": "draft.create", "resource_type": "record",
               "user_id": "7", "version_id": 1,
               "json": {"action": "draft.create", "resource": {"id": "abcd-1234", "type": "record"},
                        "user": {"id": "7", "username": "ada", "email": "ada@example.org"},
                        "metadata": {"parent_pid": "wxyz-0000", "ip_address": "10.0.0.1"},
                        "message": "User 7 created the draft abcd-1234."}}),
        json!({"id": "0195f1a2-7c00-7000-8000-000000000002", "created": "2025-03-02 08:00:00",
               "updated": "2025-03-02 08:00:00", "action": "record.publish", "resource_type": "record",
               "user_id": "system", "version_id": 1,
               "json": {"resource": {"id": "abcd-1234"}, "metadata": {"parent_pid": "wxyz-0000", "revision_id": 2},
                        "message": "User system published the record abcd-1234."}}),
    ];
    let path = inst.path("rows.ndjson");
    std::fs::write(&path, rows.iter().map(|r| format!("{r}\n")).collect::<String>()).unwrap();
    inst.ok(&["import", path.to_str().unwrap()]);
    let events = lines(&inst.ok(&["export", "resource.id:abcd-1234"]));
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["id"], "0195f1a2-7c00-7000-8000-000000000001");
    assert_eq!(events[0]["created"], "2025-03-01T10:00:00.123456+00:00");
    assert_eq!(events[0]["user"], json!({"id": "7", "username": "ada", "email": "ada@example.org"}));
    assert_eq!(events[0]["message"], "User 7 created the draft abcd-1234.");
    assert_eq!(events[1]["created"], "2025-03-02T08:00:00.000000+00:00");
    assert_eq!(events[1]["user"]["id"], "system");
    assert_eq!(events[1]["action"], "record.publish");
    assert_eq!(events[1]["resource"]["type"], "record");
    assert_eq!(total(&inst, "metadata.revision_id:2"), 1);
}

#[test]
fn csv_export_has_a_header_and_one_row_per_event() {
    let inst = seeded(20, 4, 10);
    let text = inst.ok(&["export", "action:test.archive", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        [
            "id",
            "created",
            "action",
            "resource.type",
            "resource.id",
            "user.id",
            "user.username",
            "user.email",
            "message",
            "metadata"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 10);
    assert_eq!(&rows[0][2], "test.archive");
    assert_eq!(&rows[0][7], "user9@example.org");
    let metadata: Value = serde_json::from_str(&rows[0][9]).unwrap();
    assert!(metadata["note"].as_str().unwrap().starts_with("test.archive old-"), "{metadata}");

    // An export that matches nothing is the header alone.
    let empty = inst.ok(&["export", "resource.id:no-such-resource", "--format", "csv"]);
    assert_eq!(
        empty,
        "id,created,action,resource.type,resource.id,user.id,user.username,user.email,message,metadata\n"
    );
}

#[test]
fn bad_export_arguments_are_usage_errors() {
    let inst = seeded(20, 4, 10);
    let out = inst.run(&["export", "action:(test"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains('^'), "the query error points at its position: {}", show(&out));
    let out = inst.run(&["export", "--format", "csv", "--proofs", "cp.txt"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("--proofs needs --format ndjson"), "{}", show(&out));
}

#[test]
fn an_export_with_proofs_verifies_offline_and_tampering_is_caught() {
    let inst = seeded(20, 4, 10);
    inst.ok(&["export", "action:test.event", "--output", "export.ndjson", "--proofs", "checkpoint.txt"]);
    let key = inst.ok(&["key", "show"]).trim().to_owned();
    let export = inst.path("export.ndjson");
    let checkpoint = inst.path("checkpoint.txt");
    let verify = |export: &PathBuf, checkpoint: &PathBuf, key: &str| {
        inst.run(&[
            "verify",
            "--export",
            export.to_str().unwrap(),
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "--key",
            key,
        ])
    };
    let out = verify(&export, &checkpoint, &key);
    assert!(out.status.success(), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("verified: 20 of 20 events"), "{}", show(&out));

    let events = lines(&std::fs::read_to_string(&export).unwrap());
    assert!(events.iter().all(|e| e["inclusion"]["tree_size"] == 30), "proofs against the checkpoint of size 30");
    let write = |name: &str, events: &[Value]| {
        let p = inst.path(name);
        std::fs::write(&p, events.iter().map(|e| format!("{e}\n")).collect::<String>()).unwrap();
        p
    };

    // A changed field.
    let mut changed = events.clone();
    changed[3]["message"] = json!("nothing happened here");
    let out = verify(&write("changed.ndjson", &changed), &checkpoint, &key);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let leaf = events[3]["inclusion"]["leaf_index"].as_u64().unwrap();
    let id = events[3]["id"].as_str().unwrap();
    assert!(stdout.contains(&format!("FAILED: line 4: event {id}, leaf {leaf}: content changed")), "{stdout}");

    // A forged event without a proof, and one that claims another's leaf.
    let mut forged = events.clone();
    let mut extra = events[0].clone();
    extra["id"] = json!("0195f1a2-7c00-7000-8000-00000000abcd");
    extra.as_object_mut().unwrap().remove("inclusion");
    forged.push(extra);
    let mut twin = events[1].clone();
    twin["id"] = json!("0195f1a2-7c00-7000-8000-00000000abce");
    forged.push(twin);
    let out = verify(&write("forged.ndjson", &forged), &checkpoint, &key);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.contains("line 21: event 0195f1a2-7c00-7000-8000-00000000abcd: no inclusion proof"), "{stdout}");
    assert!(stdout.contains("line 22: event 0195f1a2-7c00-7000-8000-00000000abce"), "{stdout}");
    assert!(stdout.contains("the same leaf as event"), "{stdout}");

    // A checkpoint that the key did not sign.
    let other = Instance::new(SQLITE, "");
    other.ingest(&[event("test.event", "x", 1, None)]);
    let other_key = other.ok(&["key", "show"]).trim().to_owned();
    let out = verify(&export, &checkpoint, &other_key);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is not signed by"), "{}", show(&out));

    // An altered checkpoint (another root under the same signature).
    let note = std::fs::read_to_string(&checkpoint).unwrap();
    let mut parts: Vec<&str> = note.split('\n').collect();
    let fake_root = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    parts[2] = fake_root;
    let altered = inst.path("altered.txt");
    std::fs::write(&altered, parts.join("\n")).unwrap();
    let out = verify(&export, &altered, &key);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is not signed by"), "{}", show(&out));
}
