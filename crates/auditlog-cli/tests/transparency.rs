//! The transparency log through the real binary: `serve` integrates and
//! signs, `key show` prints the verifier key, `verify --database` checks the
//! database, and `verify --url --state` monitors a server — remembering what
//! it saw, and failing on a rollback or a fork.

mod common;

use std::process::Output;

use common::{Api, Instance, TOKEN, event, show, stdout};
use serde_json::Value;

/// Waits (bounded) until the server's latest checkpoint has `size` leaves.
async fn checkpoint_of_size(api: &Api, size: u64) -> String {
    let http = reqwest::Client::new();
    let mut last = String::new();
    for _ in 0..200 {
        let res = http.get(format!("{}/api/audit-logs/checkpoint", api.base)).bearer_auth(TOKEN).send().await.unwrap();
        if res.status() == 200 {
            last = res.text().await.unwrap();
            if last.lines().nth(1) == Some(size.to_string().as_str()) {
                return last;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no checkpoint of size {size} was signed; the last one was:\n{last}");
}

fn monitor(inst: &Instance, base: &str, state: &std::path::Path, key: Option<&str>) -> Output {
    let mut cmd = inst.command();
    cmd.args(["verify", "--url", base, "--state", state.to_str().unwrap()]).env("AUDITLOG_TOKEN", TOKEN);
    if let Some(k) = key {
        cmd.args(["--key", k]);
    }
    cmd.output().expect("run auditlog verify")
}

fn events(prefix: &str, n: u32) -> Vec<Value> {
    (0..n).map(|i| event("test.event", &format!("{prefix}-{i}"), i, None)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_signs_and_a_monitor_catches_rollback_and_fork() {
    let inst = Instance::new("sqlite://./audit.db", "");
    let server = inst.serve("a");
    let api = server.api();
    assert_eq!(api.bulk(&events("first", 5)).await.unwrap().status, 200);
    checkpoint_of_size(&api, 5).await;

    let key = inst.ok(&["key", "show"]).trim().to_owned();
    assert!(key.starts_with("127.0.0.1:5000/audit-logs+"), "{key}");
    let state = inst.dir.path().join("monitor.json");

    // First run: needs the key, remembers the checkpoint.
    let out = monitor(&inst, &server.base(), &state, None);
    assert_eq!(out.status.code(), Some(2), "no key on the first run is a usage error: {}", show(&out));
    let out = monitor(&inst, &server.base(), &state, Some(&key));
    assert!(out.status.success(), "{}", show(&out));
    assert!(stdout(&out).contains("at size 5 (first checkpoint seen"), "{}", show(&out));

    // The log grows: consistent with what was seen.
    assert_eq!(api.bulk(&events("second", 3)).await.unwrap().status, 200);
    checkpoint_of_size(&api, 8).await;
    let out = monitor(&inst, &server.base(), &state, None);
    assert!(out.status.success(), "{}", show(&out));
    assert!(stdout(&out).contains("at size 8, consistent with size 5"), "{}", show(&out));
    let (status, log) = server.stop();
    assert!(status.success(), "serve exits 0 on SIGTERM: {log}");
    let out = inst.ok(&["verify", "--database"]);
    assert!(out.contains("verified: 8 leaves"), "{out}");

    // Rollback: the newest three events and every trace of them removed,
    // the tree re-signed at size 5 by the server's own key.
    let db = inst.dir.path().join("audit.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DELETE FROM audit_events WHERE id IN (SELECT event_id FROM audit_leaves WHERE leaf_index >= 5);
         DELETE FROM audit_leaves WHERE leaf_index >= 5;
         DELETE FROM audit_tree WHERE (level = 1 AND idx >= 2) OR (level = 2 AND idx >= 1) OR level >= 3;
         DELETE FROM audit_checkpoints;",
    )
    .unwrap();
    drop(conn);
    let out = inst.ok(&["verify", "--database"]);
    assert!(out.contains("verified: 5 leaves"), "the database alone cannot tell: {out}");
    let server = inst.serve("a-again");
    let api = server.api();
    // A new event makes the sequencer sign the truncated tree (size 6 < 8).
    assert_eq!(api.bulk(&events("after-rollback", 1)).await.unwrap().status, 200);
    checkpoint_of_size(&api, 6).await;
    let out = monitor(&inst, &server.base(), &state, None);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stdout(&out).contains("TAMPERING: rollback: the log shrank from size 8"), "{}", show(&out));
    server.stop();

    // Fork: another log under the same key, grown past what was seen.
    let other = Instance::new("sqlite://./audit.db", "");
    std::fs::copy(inst.dir.path().join("checkpoint.key"), other.dir.path().join("checkpoint.key")).unwrap();
    let forked = other.serve("b");
    let api = forked.api();
    assert_eq!(api.bulk(&events("other", 9)).await.unwrap().status, 200);
    checkpoint_of_size(&api, 9).await;
    let out = monitor(&inst, &forked.base(), &state, None);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stdout(&out).contains("TAMPERING: fork: the log of size 9 is not an extension of the one of size 8"),
        "{}",
        show(&out)
    );

    // A checkpoint from a log with another key does not verify at all.
    let stranger = Instance::new("sqlite://./audit.db", "");
    let s = stranger.serve("c");
    assert_eq!(s.api().bulk(&events("x", 1)).await.unwrap().status, 200);
    checkpoint_of_size(&s.api(), 1).await;
    let out = monitor(&inst, &s.base(), &state, None);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stdout(&out).contains("does not verify"), "{}", show(&out));
    forked.stop();
    s.stop();
}

#[test]
fn verify_database_reports_tampering_with_exit_code_1() {
    let inst = Instance::new("sqlite://./audit.db", "");
    inst.ingest(&events("e", 4));
    let out = inst.ok(&["verify", "--database"]);
    assert!(out.contains("verified: 4 leaves"), "{out}");
    let conn = rusqlite::Connection::open(inst.dir.path().join("audit.db")).unwrap();
    conn.execute("UPDATE audit_events SET metadata = '{\"note\":\"edited\"}' WHERE seq = 2", []).unwrap();
    let out = inst.run(&["verify", "--database"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    assert!(text.contains("TAMPERING: leaf 1: event ") && text.contains(": content changed"), "{text}");
    // With another log's verifier key the checkpoint itself fails.
    let other = Instance::new("sqlite://./audit.db", "");
    other.ingest(&events("o", 1));
    let key = other.ok(&["key", "show"]).trim().to_owned();
    let out = inst.run(&["verify", "--database", "--key", &key]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stdout(&out).contains("signature does not verify"), "{}", show(&out));
    let out = inst.run(&["verify", "--database", "--key", "not a key"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}
