//! Regressions of the real binary under hostile or broken input: `ingest`
//! with over-long and non-UTF-8 lines or an unusable signing key,
//! configuration errors that must name their source, a read-only database,
//! and a server that must stop within its shutdown deadline.

mod common;

use common::{Instance, event, show, stderr};
use serde_json::Value;

const SQLITE: &str = "sqlite://./auditlog.db";

fn total(instance: &Instance) -> u64 {
    let out = instance.ok(&["search", "", "--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    v["hits"]["total"].as_u64().expect("a total")
}

fn line(action: &str, resource: &str) -> Vec<u8> {
    format!("{}\n", event(action, resource, 1, None)).into_bytes()
}

/// Regression: `ingest` stopped at the first line that was not UTF-8, with
/// nothing stored. Now only that line is rejected, as `_bulk` does.
#[test]
fn ingest_rejects_only_a_line_that_is_not_utf8() {
    let inst = Instance::new(SQLITE, "");
    let mut bytes = line("test.event", "a");
    bytes.extend_from_slice(b"{\"action\": \"\xff\xfe\"}\n");
    bytes.extend(line("test.event", "b"));
    let path = inst.path("mixed.ndjson");
    std::fs::write(&path, bytes).unwrap();
    let out = inst.run(&["ingest", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("line 2: invalid event: (body): not valid UTF-8"), "{err}");
    assert!(err.contains("2 events stored, 0 not logged, 1 bad lines"), "{err}");
    assert_eq!(total(&inst), 2);
}

/// Regression: `ingest /dev/zero` read one line without bound (4.6 GB). A
/// line is read up to `max_body_bytes`; a longer one is reported and
/// skipped, and the lines around it are stored.
#[test]
fn ingest_skips_a_line_longer_than_max_body_bytes() {
    let inst = Instance::new(SQLITE, "max_body_bytes = 1024");
    let mut bytes = line("test.event", "a");
    bytes.extend(std::iter::repeat_n(b'x', 4 * 1024 * 1024));
    bytes.push(b'\n');
    bytes.extend(line("test.event", "b"));
    // Exactly at the limit (with CRLF) is fine; one byte over is not.
    let at_limit = r#"{"action":"test.event","resource":{"id":"c"},"user_id":"system"}"#;
    bytes.extend(format!("{at_limit:<1024}\r\n").into_bytes());
    bytes.extend(format!("{at_limit:<1025}\n").into_bytes());
    bytes.extend(std::iter::repeat_n(b'y', 5000));
    let path = inst.path("long.ndjson");
    std::fs::write(&path, bytes).unwrap();
    let out = inst.run(&["ingest", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    let too_long = "invalid event: (line): the line is longer than the limit of 1024 bytes (max_body_bytes); skipped";
    for n in [2, 5, 6] {
        assert!(err.contains(&format!("line {n}: {too_long}")), "line {n}: {err}");
    }
    assert!(err.contains("3 events stored, 0 not logged, 3 bad lines"), "{err}");
    assert_eq!(total(&inst), 3);
}

/// Regression: `ingest` with an unusable signing key committed its events,
/// then failed, leaving them pending. The key is checked first.
#[test]
fn ingest_with_a_bad_signing_key_stores_nothing() {
    let inst = Instance::new(SQLITE, "signing_key_path = \"bad.key\"");
    std::fs::write(inst.path("bad.key"), "not a key\n").unwrap();
    let path = inst.path("one.ndjson");
    std::fs::write(&path, line("test.event", "a")).unwrap();
    let out = inst.run(&["ingest", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("the signing key bad.key is not a signed-note private key"), "{err}");
    assert!(!err.contains("events stored"), "nothing was read: {err}");
    assert_eq!(total(&inst), 0);
}

/// Whether this process runs as root (which reads any file regardless of
/// its mode), from `/proc/self/status`.
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// `auditlog --config <config> actions list` as a user the modes apply to:
/// `nobody` when the tests run as root.
fn actions_list_as_unprivileged(config: &std::path::Path) -> std::process::Output {
    let mut cmd = if running_as_root() {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", common::BIN]);
        c
    } else {
        std::process::Command::new(common::BIN)
    };
    cmd.current_dir("/").arg("--config").arg(config).args(["actions", "list"]);
    cmd.env_remove("AUDITLOG_CONFIG").output().expect("run auditlog")
}

/// Regression: a configuration file the user may not read was reported as
/// "does not exist"; it says permission denied.
#[test]
fn an_unreadable_config_file_says_permission_denied() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::write(locked.join("auditlog.toml"), "AUDIT_LOGS_ENABLED = true\n").unwrap();
    let unreadable = dir.path().join("unreadable.toml");
    std::fs::write(&unreadable, "AUDIT_LOGS_ENABLED = true\n").unwrap();
    std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    for config in [locked.join("auditlog.toml"), unreadable] {
        let out = actions_list_as_unprivileged(&config);
        assert_eq!(out.status.code(), Some(2), "{}", show(&out));
        let want = format!("error: cannot read the configuration file {}: Permission denied", config.display());
        assert!(stderr(&out).starts_with(&want), "{}", show(&out));
    }
    let missing = dir.path().join("missing.toml");
    let out = actions_list_as_unprivileged(&missing);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", show(&out));
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Regression: a bad value from an environment variable was reported as an
/// error in the configuration file.
#[test]
fn a_bad_environment_value_names_the_variable() {
    let inst = Instance::new(SQLITE, "");
    let out = inst.command().env("AUDITLOG_MAX_BODY_BYTES", "0").args(["actions", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert_eq!(
        stderr(&out).trim(),
        "error: invalid configuration (environment variable AUDITLOG_MAX_BODY_BYTES): max_body_bytes: must be at least 1024"
    );
}

/// Regression: `serve` on a database it could not write started, said
/// "ok" in `/health`, and answered every ingest with a 500. It refuses to
/// start, saying why.
#[test]
fn serve_refuses_a_read_only_database() {
    use std::os::unix::fs::PermissionsExt;
    let inst = Instance::new(SQLITE, "");
    inst.ingest(&[event("test.event", "a", 1, None)]);
    // Held open, so that the WAL and shared-memory files exist: then SQLite
    // opens the read-only files, reads fine, and only writes fail.
    let held = rusqlite::Connection::open(inst.path("auditlog.db")).unwrap();
    held.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)).unwrap();
    let mode = |path: &std::path::Path, m: u32| std::fs::set_permissions(path, std::fs::Permissions::from_mode(m));
    for entry in std::fs::read_dir(inst.dir.path()).unwrap() {
        mode(&entry.unwrap().path(), 0o444).unwrap();
    }
    mode(inst.dir.path(), 0o555).unwrap();
    let mut cmd = if running_as_root() {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", common::BIN]);
        c
    } else {
        std::process::Command::new(common::BIN)
    };
    let mut child = cmd
        .current_dir(inst.dir.path())
        .arg("--config")
        .arg(&inst.config)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env_remove("AUDITLOG_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start auditlog serve");
    // Bounded: a server that does start is a failure, not a hang.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if child.try_wait().unwrap().is_none() {
        child.kill().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    drop(held);
    mode(inst.dir.path(), 0o755).unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("is read-only (") && err.contains("auditlog serve must be able to write to it"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"), "{}", show(&out));
}
