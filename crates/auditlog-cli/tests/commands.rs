//! The real binary on the embedded store: `retention run` (table and JSON
//! reports, dry runs), `migrate`, and `demo` refusing a PostgreSQL URL.
//! Needs no database server.

mod common;

use common::{Instance, event, show};
use serde_json::{Value, json};

const SQLITE: &str = "sqlite://./auditlog.db";

/// Three current events, three expired ones of `test.event` and one of
/// `test.archive`, which is kept forever.
fn seed(instance: &Instance) {
    let old = Some("2020-01-15T10:00:00Z");
    instance.ingest(&[
        event("test.event", "now-1", 1, None),
        event("test.event", "now-2", 2, None),
        event("test.archive", "now-3", 3, None),
        event("test.event", "old-1", 1, old),
        event("test.event", "old-2", 2, old),
        event("test.event", "old-3", 3, Some("2020-02-01T00:00:00Z")),
        event("test.archive", "old-4", 4, old),
    ]);
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn total(instance: &Instance) -> u64 {
    json_of(&instance.ok(&["search", "", "--format", "json"]))["hits"]["total"].as_u64().expect("a total")
}

#[test]
fn retention_run_on_sqlite() {
    let instance = Instance::new(SQLITE, "");
    seed(&instance);
    assert_eq!(total(&instance), 7);

    let dry = json_of(&instance.ok(&["retention", "run", "--dry-run", "--format", "json"]));
    assert_eq!(
        dry,
        json!({"ran": true, "mode": "dry_run", "deleted": {"test.event": 3}, "batches": 0,
               "dropped_partitions": [], "total": 3})
    );
    assert_eq!(total(&instance), 7, "a dry run deletes nothing");

    let table = instance.ok(&["retention", "run"]);
    assert_eq!(table, "ACTION      DELETED\ntest.event  3\ndeleted 3 events (1 row batches)\n");
    assert_eq!(total(&instance), 4);

    let again = json_of(&instance.ok(&["retention", "run", "--format", "ndjson"]));
    assert_eq!(again["total"], 0, "{again}");
    assert_eq!(instance.ok(&["retention", "run"]), "nothing has expired\ndeleted 0 events (0 row batches)\n");
}

#[test]
fn migrate_on_sqlite() {
    let instance = Instance::new(SQLITE, "");
    let out = instance.ok(&["migrate"]);
    assert!(out.starts_with("sqlite database is up to date: sqlite://"), "{out}");
    assert!(instance.dir.path().join("auditlog.db").exists());
}

#[test]
fn demo_refuses_postgres() {
    // No server needed: the command refuses before connecting.
    let instance = Instance::new("postgres://postgres@127.0.0.1:9/none", "");
    let out = instance.run(&["demo", "--events", "10"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`auditlog demo` works on the embedded SQLite store only, and database_url names PostgreSQL"),
        "{stderr}"
    );
}
