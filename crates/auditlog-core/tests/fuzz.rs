//! Fuzzing, in CI: whatever bytes arrive as an event (a POST body, a bulk
//! or `auditlog ingest` line) and whatever `X-Forwarded-For` says, parsing
//! and validating the event answers an event or a validation error, and
//! never panics.
//!
//! A fixed seed keeps every run the same; the case counts keep it to
//! seconds. Input is arbitrary bytes, and JSON glued from the event's own
//! keys and awkward values so that it reaches validation.

use auditlog_core::{AuditLog, Config, EventInput, Identity, RequestInfo};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config as RunConfig, RngAlgorithm, TestRng, TestRunner};

fn runner(cases: u32) -> TestRunner {
    let config = RunConfig { cases, failure_persistence: None, ..RunConfig::default() };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[18; 32]))
}

const KEYS: &[&str] = &[
    "action",
    "resource",
    "id",
    "type",
    "user",
    "user_id",
    "email",
    "username",
    "metadata",
    "created",
    "ip_address",
    "session",
    "request_id",
    "parent_pid",
    "revision_id",
    "file_key",
    "before",
    "after",
    "triggered_by",
    "x",
    "",
];

const SCALARS: &[&str] = &[
    "\"draft.create\"",
    "\"record.publish\"",
    "\"file.create\"",
    "\"x.unknown\"",
    "\"system\"",
    "\"1\"",
    "\"\"",
    "\"a@example.org\"",
    "\"<img src=x>\"",
    "\"127.0.0.1\"",
    "\"2001:db8::1\"",
    "\"untrackable\"",
    "\"N/A\"",
    "\"2026-11-26T14:00:00Z\"",
    "\"+275760-09-13T00:00:00Z\"",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"é\"",
    "0",
    "-0",
    "1",
    "-1",
    "1.5",
    "1e308",
    "1e400",
    "-1e400",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "true",
    "false",
    "null",
];

fn json() -> impl Strategy<Value = String> {
    let leaf = select(SCALARS).prop_map(str::to_owned);
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((select(KEYS), inner), 0..6).prop_map(|kv| {
                let members: Vec<String> = kv.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// An event-shaped body: the right keys with fuzzed values, plus trailing
/// text now and then.
fn event() -> impl Strategy<Value = String> {
    (json(), json(), json(), json(), select(vec!["", " ", " x", "{}", "\n{}", "\u{0}"])).prop_map(
        |(action, user, metadata, created, tail)| {
            format!(
                r#"{{"action":{action},"resource":{{"id":"r-1"}},"user":{user},"metadata":{metadata},"created":{created}}}{tail}"#
            )
        },
    )
}

fn audit() -> AuditLog {
    AuditLog::from_config(&Config { enabled: true, ..Config::default() }).unwrap()
}

fn check(audit: &AuditLog, bytes: &[u8], forwarded_for: &str) {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let Ok(input) = EventInput::from_json(text) else { return };
    let request = RequestInfo {
        remote_addr: Some("127.0.0.1".into()),
        forwarded_for: Some(forwarded_for.to_owned()),
        ..RequestInfo::default()
    };
    if let Ok(Some(event)) = audit.ingest(input, Some(request), &Identity::system()) {
        // A stored event always has these: they are what the checks are for.
        assert!(!event.user.email.is_empty());
        let ip = event.metadata.get("ip_address").and_then(|v| v.as_str()).unwrap_or_default();
        assert!(auditlog_core::context::is_valid_ip_address(ip), "{ip:?}");
        let _ = event.canonical_json();
    }
}

#[test]
fn parsing_and_validating_an_event_never_panics() {
    let audit = audit();
    let bytes = prop_oneof![
        any::<Vec<u8>>(),
        any::<String>().prop_map(String::into_bytes),
        json().prop_map(String::into_bytes),
        event().prop_map(String::into_bytes),
    ];
    let forwarded = prop_oneof![
        any::<String>(),
        select(vec!["", "10.0.0.1", "[::1]:80, x", "<b>", "1.2.3.4:99999"]).prop_map(str::to_owned)
    ];
    runner(4000)
        .run(&(bytes, forwarded), |(bytes, forwarded)| {
            check(&audit, &bytes, &forwarded);
            Ok(())
        })
        .unwrap();
}
