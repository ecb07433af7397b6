//! A custom action, the Rust way: declare it, register it, log it inside the
//! unit of work of your own transaction.
//!
//! Run with `cargo run -p auditlog-demo --example custom_action`.

use std::sync::Arc;

use auditlog_core::{
    Action, ActionRegistry, AuditLog, Config, ContextData, ContextResolver, EventDraft, Identity, ResolveContext,
    ValidationError,
};
use auditlog_store::sqlite::{SqliteOptions, SqliteStore, UnitOfWork};
use serde_json::{Map, Value, json};

/// Step 1: define the action: id, message template, resource type, context
/// resolvers and a metadata schema.
struct RemoveRecordFromCommunity;

impl Action for RemoveRecordFromCommunity {
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
        vec![Arc::new(RecordContext)]
    }
    fn metadata_schema(&self) -> Option<Value> {
        Some(json!({
            "type": "object",
            "properties": {"record_id": {"type": "string"}, "reason": {"type": "string"}},
            "required": ["record_id"],
        }))
    }
}

/// Step 2: a context resolver: fills `record_id` from the caller's record.
struct RecordContext;

impl ContextResolver for RecordContext {
    fn name(&self) -> &str {
        "community_record"
    }
    fn metadata_properties(&self) -> Map<String, Value> {
        Map::from_iter([("record_id".to_owned(), json!({"type": "string"}))])
    }
    fn resolve(&self, draft: &mut EventDraft, cx: &ResolveContext<'_>) -> Result<(), ValidationError> {
        if let Some(id) = cx.data.lookup(&["record", "id"]) {
            draft.metadata.insert("record_id".into(), id.clone());
        }
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 3. Register the action next to the built-in ones.
    let mut registry = ActionRegistry::with_builtins();
    registry.register(&RemoveRecordFromCommunity)?;
    let audit = AuditLog::new(&Config { enabled: true, ..Config::default() }, registry);

    let dir = std::env::temp_dir().join(format!("auditlog-example-{}", std::process::id()));
    let store = SqliteStore::open(dir.join("audit.db"), SqliteOptions::default())?;
    let mut conn = store.connect()?;
    conn.execute_batch("CREATE TABLE IF NOT EXISTS community_records (community TEXT, record TEXT)")?;
    conn.execute("INSERT INTO community_records VALUES ('c-1', 'abcd-1234')", [])?;

    // 4. Log it in the unit of work of your own transaction: the delete and
    // the audit event commit together, or neither does.
    let mut uow = UnitOfWork::begin(&mut conn, &audit)?;
    uow.execute("DELETE FROM community_records WHERE community = 'c-1' AND record = 'abcd-1234'", [])?;
    let data = ContextData::new().with("record", json!({"id": "abcd-1234"})).with("reason", "spam");
    if let Some(draft) = audit.build(&Identity::system(), "community.remove_record", "c-1", data)? {
        uow.register(draft)?;
    }
    for event in uow.commit()? {
        println!("{}", serde_json::to_string_pretty(&event.to_api_json("http://127.0.0.1:5000"))?);
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
