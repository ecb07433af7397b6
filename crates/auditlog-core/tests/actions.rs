//! Built-in and custom actions end to end in memory: build, resolve,
//! validate, render.

use std::sync::Arc;

use auditlog_core::context::{KeyContext, StaticUsers};
use auditlog_core::error::RegistryError;
use auditlog_core::{
    Action, ActionRegistry, AuditLog, Config, ContextData, ContextResolver, EventInput, Identity, NotLogged,
    RequestInfo, User,
};
use serde_json::{Value, json};

fn enabled() -> Config {
    Config { enabled: true, ..Config::default() }
}

fn audit() -> AuditLog {
    let mut users = StaticUsers::default();
    users.insert(User { id: "1".into(), username: Some("User".into()), email: "current@inveniosoftware.org".into() });
    AuditLog::new(&enabled(), ActionRegistry::with_builtins()).with_users(Arc::new(users))
}

/// Builds and finalizes `action` on resource `abcd-1234` by user 1 with
/// `data`, returning the event JSON or the validation error text.
fn run(action: &str, data: Value) -> String {
    let a = audit();
    let Value::Object(values) = data else { panic!("data must be an object") };
    let cx = ContextData { values, request: None };
    let draft = match a.build(&Identity::user("1"), action, "abcd-1234", cx) {
        Ok(Some(d)) => d,
        Ok(None) => return "not logged".into(),
        Err(e) => return e.to_string(),
    };
    match a.finalize(draft) {
        Ok(e) => format!("{} | {} | {}", e.message, e.resource.kind, Value::Object(e.metadata)),
        Err(e) => e.to_string(),
    }
}

fn check(action: &str, data: Value, expect: &str) {
    assert_eq!(run(action, data), expect, "action {action}");
}

#[test]
fn builtin_actions() {
    check(
        "draft.create",
        json!({"parent_pid": "wxyz-0000"}),
        r#"User 1 created the draft abcd-1234. | record | {"ip_address":"N/A","parent_pid":"wxyz-0000"}"#,
    );
    check(
        "draft.create",
        json!({"record": {"parent": {"id": "p-9"}}}),
        r#"User 1 created the draft abcd-1234. | record | {"ip_address":"N/A","parent_pid":"p-9"}"#,
    );
    check("draft.edit", json!({}), r#"User 1 updated the draft abcd-1234. | record | {"ip_address":"N/A"}"#);
    check(
        "draft.delete",
        json!({"parent_pid": "p"}),
        r#"User 1 deleted the draft abcd-1234. | record | {"ip_address":"N/A","parent_pid":"p"}"#,
    );
    check(
        "draft.new_version",
        json!({"parent_pid": "p"}),
        r#"User 1 created a new version abcd-1234. | record | {"ip_address":"N/A","parent_pid":"p"}"#,
    );
    check(
        "record.publish",
        json!({"parent_pid": "p", "revision_id": 3}),
        r#"User 1 published the record abcd-1234. | record | {"ip_address":"N/A","parent_pid":"p","revision_id":3}"#,
    );
    check(
        "record.publish",
        json!({"record": {"parent": {"id": "p"}, "revision_id": 4}}),
        r#"User 1 published the record abcd-1234. | record | {"ip_address":"N/A","parent_pid":"p","revision_id":4}"#,
    );
    check(
        "file.create",
        json!({"file_key": "data.csv"}),
        r#"User 1 created file data.csv of draft abcd-1234. | draft | {"file_key":"data.csv","ip_address":"N/A"}"#,
    );
    check(
        "file.delete",
        json!({"file": {"key": "a.txt"}}),
        r#"User 1 deleted file a.txt of draft abcd-1234. | draft | {"file_key":"a.txt","ip_address":"N/A"}"#,
    );
    check(
        "record.grant_update",
        json!({"triggered_by": {"id": "abcd-1234", "type": "record"}, "before": {"grants": []}, "after": {"grants": [1]}}),
        r#"User 1 updated access of parent abcd-1234 via record. | parent | {"after":{"grants":[1]},"before":{"grants":[]},"ip_address":"N/A","triggered_by":{"id":"abcd-1234","type":"record"}}"#,
    );
    check(
        "draft.secret_link_update",
        json!({}),
        r#"User 1 updated secret link of parent abcd-1234 via draft. | parent | {"ip_address":"N/A"}"#,
    );
    check(
        "record.access_settings_update",
        json!({}),
        r#"User 1 updated access settings of parent abcd-1234 via record. | parent | {"ip_address":"N/A"}"#,
    );
}

#[test]
fn metadata_rules_of_the_reference() {
    // Required keys.
    check("draft.create", json!({}), "invalid event: metadata.parent_pid: required");
    check("record.publish", json!({"parent_pid": "p"}), "invalid event: metadata.revision_id: required");
    // Integer revision id.
    check(
        "record.publish",
        json!({"parent_pid": "p", "revision_id": "3"}),
        r#"invalid event: metadata.revision_id: "3" is not of type "integer""#,
    );
    check(
        "record.publish",
        json!({"parent_pid": "p", "revision_id": 3.5}),
        r#"invalid event: metadata.revision_id: 3.5 is not of type "integer""#,
    );
    // Unknown keys are dropped, not rejected.
    check(
        "draft.edit",
        json!({"parent_pid": "p", "surprise": 1}),
        r#"User 1 updated the draft abcd-1234. | record | {"ip_address":"N/A","parent_pid":"p"}"#,
    );
    check("file.create", json!({}), "invalid event: metadata.file_key: required");
    check(
        "record.grant_update",
        json!({"triggered_by": {"id": 5}}),
        r#"invalid event: metadata.triggered_by.type: required; metadata.triggered_by.id: 5 is not of type "string""#,
    );
    check(
        "nope.nope",
        json!({}),
        "invalid event: action: unknown action \"nope.nope\" (auditlog actions list shows the known ones)",
    );
}

#[test]
fn feature_flag_and_disabled_actions_log_nothing() {
    let off = AuditLog::new(&Config::default(), ActionRegistry::with_builtins());
    assert_eq!(off.build(&Identity::user("1"), "draft.create", "x", ContextData::new()), Ok(None));
    assert_eq!(off.skip_reason("draft.create"), Some(NotLogged::FeatureDisabled));
    let cfg = Config { enabled: true, disabled_actions: vec!["draft.edit".into()], ..Config::default() };
    let a = AuditLog::new(&cfg, ActionRegistry::with_builtins());
    assert_eq!(a.build(&Identity::user("1"), "draft.edit", "x", ContextData::new()), Ok(None));
    assert!(
        a.build(&Identity::system(), "draft.create", "x", ContextData::new().with("parent_pid", "p"))
            .unwrap()
            .is_some()
    );
}

#[test]
fn request_context_and_users() {
    let a = audit();
    let req = RequestInfo {
        remote_addr: Some("10.0.0.9".into()),
        forwarded_for: Some("203.0.113.5, 10.0.0.1".into()),
        session: Some("s-1".into()),
        request_id: Some("r-9".into()),
    };
    let d = a
        .build(
            &Identity::user("1"),
            "draft.create",
            "abcd-1234",
            ContextData::new().with("parent_pid", "wxyz-0000").with_request(req),
        )
        .unwrap()
        .unwrap();
    let e = a.finalize(d).unwrap();
    assert_eq!(
        e.user,
        User { id: "1".into(), username: Some("User".into()), email: "current@inveniosoftware.org".into() }
    );
    assert_eq!(
        Value::Object(e.metadata),
        json!({"ip_address": "203.0.113.5", "session": "s-1", "request_id": "r-9", "parent_pid": "wxyz-0000"})
    );
    assert_eq!(e.id.get_version_num(), 7);

    let d = a.build(&Identity::system(), "draft.edit", "x", ContextData::new()).unwrap().unwrap();
    assert_eq!(a.finalize(d).unwrap().user.email, "system@system.org");

    let d = a.build(&Identity::user("404"), "draft.edit", "x", ContextData::new()).unwrap().unwrap();
    assert_eq!(
        a.finalize(d).unwrap_err().to_string(),
        r#"invalid event: user.email: required: user "404" has no known email; send user.email"#
    );
}

fn ingest(body: &str, request: Option<RequestInfo>) -> String {
    let input = match EventInput::from_json(body) {
        Ok(i) => i,
        Err(e) => return e.to_string(),
    };
    match audit().ingest(input, request, &Identity::system()) {
        Ok(Some(e)) => format!("{} | {}", e.message, Value::Object(e.metadata)),
        Ok(None) => "not logged".into(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn ingest_bodies() {
    let peer = || Some(RequestInfo { remote_addr: Some("127.0.0.1".into()), ..Default::default() });
    let xff = || {
        Some(RequestInfo {
            remote_addr: Some("127.0.0.1".into()),
            forwarded_for: Some("198.51.100.2".into()),
            ..Default::default()
        })
    };
    let cases: &[(&str, Option<RequestInfo>, &str)] = &[
        (
            r#"{"action":"draft.create","resource":{"id":"r1"},"user_id":"1","metadata":{"parent_pid":"p"}}"#,
            peer(),
            r#"User 1 created the draft r1. | {"ip_address":"127.0.0.1","parent_pid":"p"}"#,
        ),
        (
            r#"{"action":"draft.create","resource":{"id":"r1"},"user_id":"1","metadata":{"parent_pid":"p"}}"#,
            xff(),
            r#"User 1 created the draft r1. | {"ip_address":"198.51.100.2","parent_pid":"p"}"#,
        ),
        (
            r#"{"action":"draft.create","resource":{"id":"r1"},"user_id":"1","metadata":{"parent_pid":"p","ip_address":"192.0.2.1"}}"#,
            xff(),
            r#"User 1 created the draft r1. | {"ip_address":"192.0.2.1","parent_pid":"p"}"#,
        ),
        (
            r#"{"action":"draft.create","resource":{"id":"r1"},"user":{"id":"7","email":"x@y.z"},"metadata":{"parent_pid":"p"}}"#,
            None,
            r#"User 7 created the draft r1. | {"ip_address":"N/A","parent_pid":"p"}"#,
        ),
        (
            r#"{"action":"draft.create","resource":{"id":"r1"},"user_id":"7","metadata":{"parent_pid":"p"}}"#,
            None,
            r#"invalid event: user.email: required: user "7" has no known email; send user.email"#,
        ),
        (
            r#"{"action":"draft.create","resource":{"id":"r1"},"metadata":{"parent_pid":"p"}}"#,
            None,
            "invalid event: user: required: give user {id, email[, username]} or user_id",
        ),
        (r#"{"resource":{"id":"r1"},"user_id":"1"}"#, None, "invalid event: action: missing field `action`"),
        (
            r#"{"action":"draft.create","resource":{"id":5},"user_id":"1"}"#,
            None,
            "invalid event: resource.id: invalid type: integer `5`, expected a string",
        ),
        (
            r#"{"action":"draft.create","resource":{},"user_id":"1"}"#,
            None,
            "invalid event: resource.id: missing field `id`",
        ),
        (
            r#"{"action":"draft.create","resource":{"id":"r"},"user_id":"1","colour":"red"}"#,
            None,
            "invalid event: colour: unknown field `colour`, expected one of `action`, `resource`, `user`, `user_id`, `metadata`, `created`",
        ),
        (
            r#"{"action":"draft.create","#,
            None,
            "invalid event: (body): malformed JSON: EOF while parsing a value at line 1 column 25",
        ),
        (
            r#"{"action":"draft.create","resource":{"id":"r"},"user_id":"1","created":"yesterday"}"#,
            None,
            "invalid event: created: expected an RFC 3339 date-time like \"2026-11-26T14:00:00Z\", got \"yesterday\"",
        ),
        (
            r#"{"action":"draft.create","resource":{"id":"r","type":"community"},"user_id":"1","metadata":{"parent_pid":"p"}}"#,
            None,
            r#"invalid event: resource.type: action "draft.create" logs resources of type "record", got "community""#,
        ),
        (
            r#"{"action":"x.unknown","resource":{"id":"r"},"user_id":"1"}"#,
            None,
            "invalid event: action: unknown action \"x.unknown\" (auditlog actions list shows the known ones)",
        ),
        // Regression (trailing data was ignored and a second object dropped).
        (
            r#"{"action":"draft.create","resource":{"id":"r1"},"user_id":"1","metadata":{"parent_pid":"p"}} xyz"#,
            peer(),
            "invalid event: (body): malformed JSON: trailing characters at line 1 column 94",
        ),
        (
            r#"{"action":"draft.create","resource":{"id":"r1"},"user_id":"1","metadata":{"parent_pid":"p"}}{"action":"draft.create"}"#,
            peer(),
            "invalid event: (body): malformed JSON: trailing characters at line 1 column 93",
        ),
        (
            "{\"action\":\"draft.create\",\"resource\":{\"id\":\"r1\"},\"user_id\":\"1\",\"metadata\":{\"parent_pid\":\"p\"}} \r\n ",
            peer(),
            r#"User 1 created the draft r1. | {"ip_address":"127.0.0.1","parent_pid":"p"}"#,
        ),
        // Regression (an integer past 64 bits was stored as an inexact float).
        (
            r#"{"action":"record.publish","resource":{"id":"r1"},"user_id":"1","metadata":{"parent_pid":"p","revision_id":18446744073709551616}}"#,
            peer(),
            "invalid event: metadata.revision_id: integer 18446744073709551616 does not fit in 64 bits (-9223372036854775808 to 18446744073709551615); send it as a string",
        ),
        (
            r#"{"action":"record.publish","resource":{"id":"r1"},"user_id":"1","metadata":{"parent_pid":"p","revision_id":18446744073709551615}}"#,
            peer(),
            r#"User 1 published the record r1. | {"ip_address":"127.0.0.1","parent_pid":"p","revision_id":18446744073709551615}"#,
        ),
        // Regression (ip_address and X-Forwarded-For were stored verbatim).
        (
            r#"{"action":"draft.create","resource":{"id":"r1"},"user_id":"1","metadata":{"parent_pid":"p","ip_address":"<img src=x>"}}"#,
            peer(),
            r#"invalid event: metadata.ip_address: expected an IPv4 or IPv6 address, "untrackable" or "N/A""#,
        ),
        (
            r#"{"action":"draft.create","resource":{"id":"r1"},"user_id":"1","metadata":{"parent_pid":"p","ip_address":"untrackable"}}"#,
            peer(),
            r#"User 1 created the draft r1. | {"ip_address":"untrackable","parent_pid":"p"}"#,
        ),
        (
            r#"{"action":"draft.create","resource":{"id":"r1"},"user_id":"1","metadata":{"parent_pid":"p"}}"#,
            Some(RequestInfo {
                remote_addr: Some("127.0.0.1".into()),
                forwarded_for: Some("<img src=x onerror=alert(1)>, 10.0.0.2".into()),
                ..Default::default()
            }),
            r#"User 1 created the draft r1. | {"ip_address":"untrackable","parent_pid":"p"}"#,
        ),
        (
            r#"{"action":"draft.create","resource":{"id":"r1"},"user":{"id":"7","email":"<img src=x>"},"metadata":{"parent_pid":"p"}}"#,
            None,
            "invalid event: user.email: not an e-mail address (Missing separator character '@'): expected local@domain, like jane@example.org",
        ),
        (
            r#"{"action":"draft.create","resource":{"id":"r1"},"user":{"id":"7","email":"Jane <jane@example.org>"},"metadata":{"parent_pid":"p"}}"#,
            None,
            "invalid event: user.email: not an e-mail address (Display names are not supported): expected local@domain, like jane@example.org",
        ),
    ];
    for (body, req, expect) in cases {
        assert_eq!(ingest(body, req.clone()), *expect, "body {body}");
    }
}

#[test]
fn created_is_kept_and_id_carries_its_time() {
    let input = EventInput::from_json(
        r#"{"action":"draft.edit","resource":{"id":"r"},"user_id":"system","created":"2020-02-03T04:05:06.789Z"}"#,
    )
    .unwrap();
    let e = audit().ingest(input, None, &Identity::system()).unwrap().unwrap();
    assert_eq!(e.created.to_string(), "2020-02-03T04:05:06.789000+00:00");
    let (secs, _) = e.id.get_timestamp().unwrap().to_unix();
    assert_eq!(secs, e.created.as_micros() as u64 / 1_000_000);
}

struct RemoveRecord;
impl Action for RemoveRecord {
    fn id(&self) -> &str {
        "community.remove_record"
    }
    fn message_template(&self) -> &str {
        "User {user_id} removed record {record_id} from community {resource_id}."
    }
    fn resource_type(&self) -> &str {
        "community"
    }
    fn context(&self) -> Vec<Arc<dyn ContextResolver>> {
        vec![Arc::new(KeyContext::parent())]
    }
    fn metadata_schema(&self) -> Option<Value> {
        Some(json!({"type": "object", "properties": {"record_id": {"type": "string"}}, "required": ["record_id"]}))
    }
}

struct BadTemplate;
impl Action for BadTemplate {
    fn id(&self) -> &str {
        "x.bad"
    }
    fn message_template(&self) -> &str {
        "User {user_id} did {nonexistent}."
    }
    fn resource_type(&self) -> &str {
        "x"
    }
    fn metadata_schema(&self) -> Option<Value> {
        Some(json!({"properties": {"a": {"type": "string"}}}))
    }
}

#[test]
fn custom_actions_in_code() {
    let mut r = ActionRegistry::with_builtins();
    r.register(&RemoveRecord).unwrap();
    assert_eq!(r.register(&RemoveRecord), Err(RegistryError::DuplicateId("community.remove_record".into())));
    let err = r.register(&BadTemplate).unwrap_err().to_string();
    assert!(
        err.starts_with("action \"x.bad\": message_template: placeholder {nonexistent} is neither an event field"),
        "{err}"
    );
    let a = AuditLog::new(&enabled(), r);
    let d = a
        .build(
            &Identity::system(),
            "community.remove_record",
            "c-1",
            ContextData::new().with("record_id", "abcd").with("parent_pid", "p"),
        )
        .unwrap()
        .unwrap();
    let e = a.finalize(d).unwrap();
    assert_eq!(e.message, "User system removed record abcd from community c-1.");
    assert_eq!(e.resource.kind, "community");
}

#[test]
fn custom_actions_in_config() {
    let toml = r#"
AUDIT_LOGS_ENABLED = true
[[actions]]
id = "community.remove_record"
message_template = "User {user_id} removed record {record_id} from community {resource_id}."
resource_type = "community"
metadata_schema = { type = "object", properties = { record_id = { type = "string" } }, required = ["record_id"] }
"#;
    let cfg = Config::load(toml, "t.toml", [], &|_| Err("no".into())).unwrap();
    let a = AuditLog::from_config(&cfg).unwrap();
    let input = EventInput::from_json(r#"{"action":"community.remove_record","resource":{"id":"c-1"},"user_id":"system","metadata":{"record_id":"r-1","junk":true}}"#).unwrap();
    let e = a.ingest(input, None, &Identity::system()).unwrap().unwrap();
    assert_eq!(e.message, "User system removed record r-1 from community c-1.");
    assert_eq!(Value::Object(e.metadata), json!({"ip_address": "N/A", "record_id": "r-1"}));

    let check_err = |toml: &str, expect: &str| {
        let cfg = Config::load(toml, "t.toml", [], &|_| Err("no".into())).unwrap();
        assert_eq!(AuditLog::from_config(&cfg).unwrap_err().to_string(), expect);
    };
    check_err(
        "[[actions]]\nid = \"draft.create\"\nmessage_template = \"m\"\nresource_type = \"r\"",
        "invalid configuration (actions): actions[0].id: duplicate action id \"draft.create\": an action with this id is already registered",
    );
    check_err(
        "[[actions]]\nid = \"a.b\"\nmessage_template = \"{x}\"\nresource_type = \"r\"\nmetadata_schema = { properties = { y = {} } }",
        "invalid configuration (actions): actions[0].message_template: placeholder {x} is neither an event field (id, created, action, resource_id, resource_type, user_id, username, user_email) nor a metadata key the action declares (ip_address, request_id, session, y)",
    );
    check_err(
        "[[actions]]\nid = \"a.b\"\nmessage_template = \"m\"\nresource_type = \"r\"\ncontext = [\"weather\"]",
        "invalid configuration (actions): actions[0].context[0]: unknown context resolver \"weather\"; known: user, request, parent, record, changes, resource_data, file",
    );
    check_err(
        "[[actions]]\nid = \"a b\"\nmessage_template = \"m\"\nresource_type = \"r\"",
        "invalid configuration (actions): actions[0].id: use letters, digits, '.', '_' and '-' (e.g. \"community.remove_record\")",
    );
    check_err(
        "[[actions]]\nid = \"a.b\"\nmessage_template = \"m\"\nresource_type = \"r\"\nmetadata_schema = { type = \"string\" }",
        "invalid configuration (actions): actions[0].metadata_schema: metadata is an object, so \"type\" must be \"object\", got \"string\"",
    );
    check_err(
        "[[actions]]\nid = \"a.b\"\nmessage_template = \"m\"\nresource_type = \"r\"\nmetadata_schema = { properties = { y = { type = 5 } } }",
        "invalid configuration (actions): actions[0].metadata_schema: invalid JSON Schema: 5 is not valid under any of the schemas listed in the 'anyOf' keyword",
    );
}

#[test]
fn free_form_template_key_missing_at_render_is_a_validation_error() {
    let toml = "AUDIT_LOGS_ENABLED = true\n[[actions]]\nid = \"a.b\"\nmessage_template = \"did {thing}\"\nresource_type = \"r\"";
    let cfg = Config::load(toml, "t.toml", [], &|_| Err("no".into())).unwrap();
    let a = AuditLog::from_config(&cfg).unwrap();
    let input = EventInput::from_json(r#"{"action":"a.b","resource":{"id":"c"},"user_id":"system"}"#).unwrap();
    assert_eq!(
        a.ingest(input, None, &Identity::system()).unwrap_err().to_string(),
        "invalid event: metadata.thing: required by the message template of \"a.b\""
    );
}
