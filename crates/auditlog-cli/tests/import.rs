//! `auditlog import` from the reference's own data, through the real
//! binary: its `audit_logs_metadata` table read from a real PostgreSQL
//! server, and dumps of that table as CSV and as a JSON array; rows with
//! missing users and unknown actions reported by id and skipped; re-runs
//! that resume without duplicating; a dump that breaks off; and our own
//! JSON-array and CSV exports read back.
//!
//! The PostgreSQL test runs when `AUDITLOG_TEST_POSTGRES_URL` is set and
//! fails when that server cannot be reached.

mod common;

use std::process::Output;

use common::{Instance, PgSchema, blocking, lines, seeded, show, skip_postgres, stderr};
use serde_json::{Value, json};

const SQLITE: &str = "sqlite://./audit.db";

fn assert_reports(out: &Output, expected: &[&str]) {
    let err = stderr(out);
    for e in expected {
        assert!(err.contains(e), "missing {e:?} in:\n{}", show(out));
    }
}

/// The reference's table, with its column layout.
const TABLE: &str = "CREATE TABLE audit_logs_metadata (
    id uuid PRIMARY KEY,
    created timestamp without time zone NOT NULL,
    updated timestamp without time zone NOT NULL,
    json jsonb,
    version_id integer NOT NULL,
    action varchar(255) NOT NULL,
    resource_type varchar(255) NOT NULL,
    user_id varchar(255)
)";

const GOOD: [&str; 4] = [
    "0195f1a2-7c00-7000-8000-000000000001",
    // Rows written before 2026 have version 4 ids.
    "3f2b8c1e-9d4a-4e6b-8f7a-2c1d0e9b8a76",
    "0195f1a2-7c00-7000-8000-000000000003",
    "0195f1a2-7c00-7000-8000-000000000006",
];
const NO_USER: &str = "0195f1a2-7c00-7000-8000-000000000004";
const UNKNOWN_ACTION: &str = "0195f1a2-7c00-7000-8000-000000000005";
const BAD_METADATA: &str = "0195f1a2-7c00-7000-8000-000000000007";

/// Rows as the reference writes them: the event document in `json`, the
/// user's details in it (or only `user_id` for the system), and some that
/// cannot be imported.
fn reference_rows() -> Vec<(&'static str, &'static str, Value, &'static str, Option<&'static str>)> {
    vec![
        (
            GOOD[0],
            "2025-03-01 10:00:00.123456",
            json!({"action": "draft.create", "resource": {"id": "abcd-1234", "type": "record"},
                   "user": {"id": "7", "username": "ada", "email": "ada@example.org"},
                   "metadata": {"parent_pid": "wxyz-0000", "ip_address": "10.0.0.1", "session": "s-1"},
                   "message": "User 7 created the draft abcd-1234.", "created": "2025-03-01T10:00:00.123456"}),
            "draft.create",
            Some("7"),
        ),
        (
            GOOD[1],
            "2025-03-01 10:05:00",
            json!({"action": "draft.edit", "resource": {"id": "abcd-1234", "type": "record"},
                   "user": {"id": "7", "username": "ada", "email": "ada@example.org"},
                   "metadata": {"parent_pid": "wxyz-0000", "ip_address": "10.0.0.1"},
                   "message": "User 7 updated the draft abcd-1234."}),
            "draft.edit",
            Some("7"),
        ),
        (
            GOOD[2],
            "2025-03-02 08:00:00",
            json!({"resource": {"id": "abcd-1234"}, "metadata": {"parent_pid": "wxyz-0000", "revision_id": 2,
                   "ip_address": "N/A"},
                   "message": "User system published the record abcd-1234."}),
            "record.publish",
            Some("system"),
        ),
        // A user deleted since: no user_id, no user in the document.
        (
            NO_USER,
            "2025-03-03 09:00:00",
            json!({"action": "draft.delete", "resource": {"id": "efgh-5678", "type": "record"},
                   "metadata": {"parent_pid": "ijkl-0000"}, "message": "User 9 deleted the draft efgh-5678."}),
            "draft.delete",
            None,
        ),
        // An action of a module this instance does not know.
        (
            UNKNOWN_ACTION,
            "2025-03-04 09:00:00",
            json!({"action": "community.member.remove", "resource": {"id": "comm-1", "type": "community"},
                   "user": {"id": "7", "email": "ada@example.org"}, "metadata": {},
                   "message": "User 7 removed a member of comm-1."}),
            "community.member.remove",
            Some("7"),
        ),
        (
            GOOD[3],
            "2025-03-05 11:00:00",
            json!({"action": "file.create", "resource": {"id": "abcd-1234", "type": "draft"},
                   "user": {"id": "8", "email": "bob@example.org"},
                   "metadata": {"file_key": "data.csv", "ip_address": "10.0.0.2"},
                   "message": "User 8 created file data.csv of draft abcd-1234."}),
            "file.create",
            Some("8"),
        ),
        // Metadata the action's schema refuses.
        (
            BAD_METADATA,
            "2025-03-06 11:00:00",
            json!({"action": "record.publish", "resource": {"id": "abcd-1234", "type": "record"},
                   "user": {"id": "7", "email": "ada@example.org"},
                   "metadata": {"parent_pid": "wxyz-0000", "revision_id": "three"},
                   "message": "User 7 published the record abcd-1234."}),
            "record.publish",
            Some("7"),
        ),
    ]
}

fn check_reference_import(inst: &Instance, out: &Output) {
    assert_eq!(out.status.code(), Some(1), "bad rows make the exit code 1: {}", show(out));
    assert_reports(
        out,
        &[
            &format!("(id {NO_USER}): user: required"),
            &format!("(id {UNKNOWN_ACTION}): action: unknown action \"community.member.remove\""),
            &format!("(id {BAD_METADATA}): metadata.revision_id: "),
            "4 events stored, 0 already stored, 3 rejected",
        ],
    );
    let events = lines(&inst.ok(&["export"]));
    let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, GOOD, "the good rows, with their own ids, oldest first");
    assert_eq!(events[0]["created"], "2025-03-01T10:00:00.123456+00:00");
    assert_eq!(events[0]["user"], json!({"id": "7", "username": "ada", "email": "ada@example.org"}));
    assert_eq!(events[0]["message"], "User 7 created the draft abcd-1234.");
    assert_eq!(events[0]["metadata"]["session"], "s-1");
    assert_eq!(events[2]["user"]["id"], "system");
    assert_eq!(events[2]["user"]["email"], "system@system.org");
    assert_eq!(events[2]["resource"]["type"], "record", "from the row's resource_type");
    assert_eq!(events[3]["resource"]["type"], "draft");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_reads_the_reference_table_from_postgres_and_its_dumps() {
    if skip_postgres("import_reads_the_reference_table_from_postgres_and_its_dumps") {
        return;
    }
    let schema = PgSchema::create().await;
    let db = schema.connect().await;
    db.batch_execute(TABLE).await.expect("create the reference table");
    for (id, created, doc, action, user) in reference_rows() {
        db.execute(
            "INSERT INTO audit_logs_metadata (id, created, updated, json, version_id, action, resource_type, user_id)
             VALUES ($1::text::uuid, $2::text::timestamp, $2::text::timestamp, $3::text::jsonb, 1, $4, $5, $6)",
            &[&id, &created, &doc.to_string(), &action, &doc["resource"]["type"].as_str().unwrap_or("record"), &user],
        )
        .await
        .expect("insert a reference row");
    }

    // Straight from the table, into a PostgreSQL store of our own.
    let target = PgSchema::create().await;
    let direct = Instance::new(&target.url(), "");
    blocking(|| direct.ok(&["migrate"]));
    let url = schema.url();
    let out = blocking(|| direct.run(&["import", "--postgres", &url]));
    check_reference_import(&direct, &out);
    assert!(stderr(&out).contains("table audit_logs_metadata at postgres://"), "{}", show(&out));
    // Re-running resumes: nothing is stored twice.
    let again = blocking(|| direct.run(&["import", "--postgres", &url, "--table", "audit_logs_metadata"]));
    assert_reports(&again, &["0 events stored, 4 already stored, 3 rejected"]);
    assert_eq!(lines(&direct.ok(&["export"])).len(), 4);
    let wanted = direct.ok(&["export"]);

    // A CSV dump (psql's \copy with a header; NULL as an empty field),
    // into the embedded store: the same events as on PostgreSQL.
    let csv_dump = Instance::new(SQLITE, "");
    let csv_file = csv_dump.path("audit_logs_metadata.csv");
    let copy =
        format!("\\copy (SELECT * FROM audit_logs_metadata ORDER BY created) TO '{}' CSV HEADER", csv_file.display());
    let psql =
        std::process::Command::new("psql").arg(&url).arg("-v").arg("ON_ERROR_STOP=1").arg("-c").arg(&copy).output();
    let psql = psql.expect("run psql");
    assert!(psql.status.success(), "{}", show(&psql));
    let out = blocking(|| csv_dump.run(&["import", csv_file.to_str().unwrap()]));
    check_reference_import(&csv_dump, &out);
    assert!(stderr(&out).contains("record 4 (id "), "CSV records are counted after the header: {}", show(&out));
    assert_eq!(csv_dump.ok(&["export"]), wanted);

    // A JSON array dump (json_agg), read as JSON by its first character.
    let json_dump = Instance::new(SQLITE, "");
    let json_file = json_dump.path("dump.json");
    let row = db
        .query_one("SELECT json_agg(t ORDER BY created)::text FROM audit_logs_metadata t", &[])
        .await
        .expect("json_agg");
    std::fs::write(&json_file, row.get::<_, String>(0)).unwrap();
    let out = blocking(|| json_dump.run(&["import", json_file.to_str().unwrap()]));
    check_reference_import(&json_dump, &out);
    assert!(stderr(&out).contains(&format!("element 4 (id {NO_USER})")), "{}", show(&out));
    assert_eq!(json_dump.ok(&["export"]), wanted);

    // Bad sources: an unknown table, a table name that is not one.
    let out = blocking(|| direct.run(&["import", "--postgres", &url, "--table", "no_such_table"]));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("cannot read table no_such_table"), "{}", show(&out));
    let out = blocking(|| direct.run(&["import", "--postgres", &url, "--table", "x; DROP TABLE y"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("--table \"x; DROP TABLE y\" is not a table name"), "{}", show(&out));
}

#[test]
fn import_needs_one_source_and_a_reachable_database() {
    let inst = Instance::new(SQLITE, "");
    let out = inst.run(&["import"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let out = inst.run(&["import", "x.ndjson", "--postgres", "postgres://127.0.0.1:1/none"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let out = inst.run(&["import", "--postgres", "postgres://nobody:secret@127.0.0.1:1/none"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("cannot connect to postgres://nobody:***@127.0.0.1:1/none"), "{}", show(&out));
    assert!(!stderr(&out).contains("secret"), "{}", show(&out));
}

#[test]
fn a_json_array_that_breaks_off_keeps_what_came_before_and_resumes() {
    let a = seeded(6, 3, 4);
    let exported = a.ok(&["export"]);
    let events = lines(&exported);
    let array = serde_json::to_string_pretty(&events).unwrap();

    let b = Instance::new(SQLITE, "");
    let file = b.path("dump.json");
    // Cut inside the eighth element.
    let eighth = format!("\"id\": \"{}\"", events[7]["id"].as_str().unwrap());
    let cut = array.find(&eighth).unwrap();
    std::fs::write(&file, &array[..cut]).unwrap();
    let out = b.run(&["import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_reports(
        &out,
        &["import stopped", "7 events stored", "not a JSON array of objects", "run it again to resume"],
    );
    assert_eq!(lines(&b.ok(&["export"])).len(), 7, "the complete elements are kept");

    // The whole dump: the seven are skipped, the rest stored; same events as exported.
    std::fs::write(&file, &array).unwrap();
    let out = b.run(&["import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", show(&out));
    assert_reports(&out, &["3 events stored, 7 already stored, 0 rejected"]);
    assert_eq!(b.ok(&["export"]), exported);

    // Something that is not an array of objects.
    std::fs::write(&file, "[1, {\"id\": 2}]").unwrap();
    let out = b.run(&["import", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_reports(
        &out,
        &["element 1: (item): expected a JSON object, got a number", "element 2: id: expected a string"],
    );
}

#[test]
fn our_csv_export_imports_back_to_the_same_events() {
    let a = seeded(6, 3, 4);
    let exported = a.ok(&["export"]);
    a.ok(&["export", "--format", "csv", "--output", "all.csv"]);
    let b = Instance::new(SQLITE, "");
    let file = b.path("all.csv");
    std::fs::copy(a.path("all.csv"), &file).unwrap();
    let out = b.run(&["import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(b.ok(&["export"]), exported, "CSV keeps every field");

    // A CSV without an id column is refused as a whole.
    std::fs::write(&file, "a,b\n1,2\n").unwrap();
    let out = b.run(&["import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_reports(&out, &["the CSV header has no `id` column (found: a, b)"]);
}

#[test]
fn import_reads_standard_input_and_tells_json_from_ndjson_by_its_first_character() {
    use std::io::Write;
    let a = seeded(6, 3, 4);
    let exported = a.ok(&["export"]);
    let events = lines(&exported);
    for (name, text) in [("ndjson", exported.clone()), ("json", serde_json::to_string(&events).unwrap())] {
        let b = Instance::new(SQLITE, "");
        let mut child = b
            .command()
            .args(["import", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(format!("\n  {text}").as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{name}: {}", show(&out));
        assert_reports(&out, &["10 events stored, 0 already stored, 0 rejected (-)"]);
        assert_eq!(b.ok(&["export"]), exported, "{name}");
    }
}
