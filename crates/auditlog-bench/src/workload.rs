//! The workload the ingest scenarios share, on SQLite and PostgreSQL: the
//! demo module's five actions by 300 users, each with a request.

use auditlog_core::{AuditLog, Config, ContextData, Event, Identity, RequestInfo};
use auditlog_demo::{demo_audit_log, demo_users};

/// The action mix of the ingest benchmarks: create, edit, publish, new
/// version, delete, by 300 users, each with a request.
pub struct Workload {
    pub audit: AuditLog,
}

/// One business action to log.
pub struct Action {
    pub id: &'static str,
    pub who: Identity,
    pub resource: String,
    pub data: ContextData,
}

impl Workload {
    pub fn new() -> anyhow::Result<Workload> {
        Ok(Workload { audit: demo_audit_log(&Config { enabled: true, ..Config::default() }, &demo_users(300, 1))? })
    }

    /// The `i`-th action; `actions` picks from the five by `i`.
    pub fn action(&self, i: usize, actions: &[&'static str]) -> Action {
        let id = actions[i % actions.len()];
        let parent = format!("p{:06}", i / 5);
        let data = match id {
            "record.publish" => ContextData::new()
                .with("record", serde_json::json!({"parent": {"id": parent}, "revision_id": 1 + i % 7})),
            _ => ContextData::new().with("parent_pid", parent),
        };
        let request = RequestInfo {
            remote_addr: Some("10.0.0.2".into()),
            forwarded_for: Some(format!("192.0.2.{}", i % 250)),
            session: Some(format!("s-{}", i % 977)),
            request_id: Some(format!("r-{i:012}")),
        };
        Action {
            id,
            who: Identity::user(((i * 7919) % 300 + 1).to_string()),
            resource: format!("rec{:05}-{:05}", i % 99_991, i / 5),
            data: data.with_request(request),
        }
    }

    /// Builds and validates one event (the full path before storing).
    pub fn event(&self, a: &Action) -> anyhow::Result<Event> {
        let draft = self.audit.build(&a.who, a.id, &a.resource, a.data.clone())?;
        Ok(self.audit.finalize(draft.ok_or_else(|| anyhow::anyhow!("logging is disabled"))?)?)
    }
}

/// All five actions of the demo module.
pub const ALL_ACTIONS: &[&str] = &["draft.create", "draft.edit", "record.publish", "draft.new_version", "draft.delete"];

/// Event `i` as an ingesting service sends it (one NDJSON line): a
/// `draft.edit` by one of 300 users on one of about 100,000 records.
pub fn ingest_line(i: usize) -> String {
    format!(
        r#"{{"action":"draft.edit","resource":{{"id":"rec{:05}-{:05}"}},"user":{{"id":"{}","email":"user{}@example.org"}},"metadata":{{"parent_pid":"p{:06}","ip_address":"192.0.2.{}"}}}}"#,
        i % 99_991,
        i / 7,
        i % 300,
        i % 300,
        i / 7,
        i % 250
    )
}
