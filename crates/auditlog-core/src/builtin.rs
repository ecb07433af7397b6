//! The built-in actions of SPEC 3.1 (InvenioRDM's drafts, records, files and
//! access actions), and [`ActionDef`], a plain declared action used for them
//! and for actions from the configuration file.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::action::Action;
use crate::context::{ChangesContext, ContextResolver, KeyContext};

/// An action declared by data rather than by a type of its own.
#[derive(Debug, Clone)]
pub struct ActionDef {
    pub id: String,
    pub message_template: String,
    pub resource_type: String,
    pub context: Vec<Arc<dyn ContextResolver>>,
    pub metadata_schema: Option<Value>,
}

impl Action for ActionDef {
    fn id(&self) -> &str {
        &self.id
    }
    fn message_template(&self) -> &str {
        &self.message_template
    }
    fn resource_type(&self) -> &str {
        &self.resource_type
    }
    fn context(&self) -> Vec<Arc<dyn ContextResolver>> {
        self.context.clone()
    }
    fn metadata_schema(&self) -> Option<Value> {
        self.metadata_schema.clone()
    }
}

fn def(
    id: &str,
    message_template: &str,
    resource_type: &str,
    context: Vec<Arc<dyn ContextResolver>>,
    metadata_schema: Value,
) -> ActionDef {
    ActionDef {
        id: id.into(),
        message_template: message_template.into(),
        resource_type: resource_type.into(),
        context,
        metadata_schema: Some(metadata_schema),
    }
}

/// Every built-in action, in the order `actions list` shows them.
pub fn builtin_actions() -> Vec<ActionDef> {
    let parent = || -> Vec<Arc<dyn ContextResolver>> { vec![Arc::new(KeyContext::parent())] };
    let parent_schema = |required: bool| {
        json!({
            "type": "object",
            "properties": {"parent_pid": {"type": "string"}},
            "required": if required { json!(["parent_pid"]) } else { json!([]) },
        })
    };
    let mut actions = vec![
        def("draft.create", "User {user_id} created the draft {resource_id}.", "record", parent(), parent_schema(true)),
        def("draft.edit", "User {user_id} updated the draft {resource_id}.", "record", parent(), parent_schema(false)),
        def(
            "record.publish",
            "User {user_id} published the record {resource_id}.",
            "record",
            vec![Arc::new(KeyContext::parent()), Arc::new(KeyContext::record())],
            json!({
                "type": "object",
                "properties": {"parent_pid": {"type": "string"}, "revision_id": {"type": "integer"}},
                "required": ["parent_pid", "revision_id"],
            }),
        ),
        def(
            "draft.delete",
            "User {user_id} deleted the draft {resource_id}.",
            "record",
            parent(),
            parent_schema(false),
        ),
        def(
            "draft.new_version",
            "User {user_id} created a new version {resource_id}.",
            "record",
            parent(),
            parent_schema(false),
        ),
    ];
    let file_schema = json!({
        "type": "object",
        "properties": {"file_key": {"type": "string"}},
        "required": ["file_key"],
    });
    for (id, verb) in [("file.create", "created"), ("file.delete", "deleted")] {
        actions.push(def(
            id,
            &format!("User {{user_id}} {verb} file {{file_key}} of {{resource_type}} {{resource_id}}."),
            "draft",
            vec![Arc::new(KeyContext::file())],
            file_schema.clone(),
        ));
    }
    let changes_schema = json!({
        "type": "object",
        "properties": {
            "triggered_by": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "type": {"type": "string"}},
                "required": ["id", "type"],
            },
            "before": {},
            "after": {},
        },
    });
    for (what, label) in [
        ("grant_update", "access"),
        ("secret_link_update", "secret link"),
        ("access_settings_update", "access settings"),
    ] {
        for via in ["record", "draft"] {
            actions.push(def(
                &format!("{via}.{what}"),
                &format!("User {{user_id}} updated {label} of {{resource_type}} {{resource_id}} via {via}."),
                "parent",
                vec![Arc::new(KeyContext::resource_data()), Arc::new(ChangesContext)],
                changes_schema.clone(),
            ));
        }
    }
    actions
}
