//! Actions: the kinds of event (`draft.create`, `record.publish`, ...). An
//! [`Action`] is what a developer declares; an [`ActionSpec`] is its checked,
//! compiled form held by the registry.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::context::{ContextResolver, RequestContext, UserContext};
use crate::error::{FieldError, RegistryError, ValidationError};
use crate::event::{Event, EventDraft, Resource, Timestamp, User};
use crate::template::MessageTemplate;

/// A kind of audit event, declared by a developer.
///
/// ```
/// use std::sync::Arc;
/// use auditlog_core::{Action, ContextResolver, context::KeyContext};
///
/// struct RemoveRecord;
/// impl Action for RemoveRecord {
///     fn id(&self) -> &str { "community.remove_record" }
///     fn message_template(&self) -> &str {
///         "User {user_id} removed record {record_id} from community {resource_id}."
///     }
///     fn resource_type(&self) -> &str { "community" }
///     fn metadata_schema(&self) -> Option<serde_json::Value> {
///         Some(serde_json::json!({
///             "type": "object",
///             "properties": {"record_id": {"type": "string"}},
///             "required": ["record_id"],
///         }))
///     }
/// }
/// ```
pub trait Action: Send + Sync {
    /// Dotted identifier, unique in the registry (`draft.create`).
    fn id(&self) -> &str;
    /// Template rendered into the event's `message`.
    fn message_template(&self) -> &str;
    /// The type of resource the action is about (`record`, `draft`, ...).
    fn resource_type(&self) -> &str;
    /// Resolvers run, in order, after the user and request resolvers that
    /// every action gets.
    fn context(&self) -> Vec<Arc<dyn ContextResolver>> {
        Vec::new()
    }
    /// JSON Schema of the event's metadata. When it lists `properties`,
    /// metadata keys it does not declare (nor any resolver of the action) are
    /// dropped, as in the reference. `None` leaves metadata free-form.
    fn metadata_schema(&self) -> Option<Value> {
        None
    }
}

/// Where an action came from (shown by `auditlog actions list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionSource {
    BuiltIn,
    Code,
    Config,
}

impl fmt::Display for ActionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActionSource::BuiltIn => "built-in",
            ActionSource::Code => "code",
            ActionSource::Config => "config",
        })
    }
}

/// Top-level event fields a template may name, besides metadata keys.
pub const EVENT_TEMPLATE_KEYS: [&str; 8] =
    ["id", "created", "action", "resource_id", "resource_type", "user_id", "username", "user_email"];

/// A registered action, checked and compiled.
pub struct ActionSpec {
    id: String,
    resource_type: String,
    template: MessageTemplate,
    resolvers: Vec<Arc<dyn ContextResolver>>,
    /// The effective metadata schema (action schema merged with the
    /// resolvers' keys); always validated.
    schema: Value,
    validator: jsonschema::Validator,
    /// Declared metadata keys; `None` when metadata is free-form.
    declared: Option<BTreeSet<String>>,
    source: ActionSource,
}

impl fmt::Debug for ActionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionSpec")
            .field("id", &self.id)
            .field("resource_type", &self.resource_type)
            .field("template", &self.template.as_str())
            .field("source", &self.source)
            .finish()
    }
}

impl ActionSpec {
    /// Checks and compiles an action: id syntax, template syntax and keys,
    /// and the metadata schema.
    pub fn compile(action: &dyn Action, source: ActionSource) -> Result<Self, RegistryError> {
        let id = action.id().to_owned();
        check_id(&id)?;
        if action.resource_type().trim().is_empty() {
            return Err(RegistryError::InvalidId { action: id, message: "resource_type must not be empty".into() });
        }
        let template = MessageTemplate::parse(action.message_template())
            .map_err(|message| RegistryError::Template { action: id.clone(), message })?;

        let mut resolvers: Vec<Arc<dyn ContextResolver>> = vec![Arc::new(UserContext), Arc::new(RequestContext)];
        for r in action.context() {
            if !resolvers.iter().any(|have| have.name() == r.name()) {
                resolvers.push(r);
            }
        }

        let schema_error = |message: String| RegistryError::Schema { action: id.clone(), message };
        let own = action.metadata_schema();
        let mut properties = Map::new();
        for r in &resolvers {
            properties.extend(r.metadata_properties());
        }
        let mut schema = match own {
            None => json!({"type": "object"}),
            Some(Value::Object(m)) => Value::Object(m),
            Some(other) => return Err(schema_error(format!("must be a JSON object, got {other}"))),
        };
        if let Some(t) = schema.get("type").filter(|t| *t != "object") {
            return Err(schema_error(format!("metadata is an object, so \"type\" must be \"object\", got {t}")));
        }
        let declared = match schema.get("properties") {
            None => None,
            Some(Value::Object(own_props)) => {
                let mut keys: BTreeSet<String> = own_props.keys().cloned().collect();
                keys.extend(properties.keys().cloned());
                Some(keys)
            }
            Some(other) => {
                return Err(schema_error(format!("\"properties\" must be an object, got {other}")));
            }
        };
        // The action's own property schemas win over the resolvers' defaults.
        if let Some(Value::Object(own_props)) = schema.get("properties") {
            properties.extend(own_props.clone());
        }
        let mut required: Vec<Value> = match schema.get("required") {
            None => Vec::new(),
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => a.clone(),
            Some(other) => {
                return Err(schema_error(format!("\"required\" must be an array of strings, got {other}")));
            }
        };
        if !required.contains(&json!("ip_address")) {
            required.insert(0, json!("ip_address"));
        }
        schema["type"] = json!("object");
        schema["properties"] = Value::Object(properties);
        schema["required"] = Value::Array(required);
        let validator =
            jsonschema::validator_for(&schema).map_err(|e| schema_error(format!("invalid JSON Schema: {e}")))?;

        for key in template.keys() {
            let known = EVENT_TEMPLATE_KEYS.contains(&key) || declared.as_ref().is_none_or(|d| d.contains(key));
            if !known {
                return Err(RegistryError::Template {
                    action: id.clone(),
                    message: format!(
                        "placeholder {{{key}}} is neither an event field ({}) nor a metadata key the action declares ({})",
                        EVENT_TEMPLATE_KEYS.join(", "),
                        declared.iter().flatten().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }

        Ok(ActionSpec {
            id,
            resource_type: action.resource_type().to_owned(),
            template,
            resolvers,
            schema,
            validator,
            declared,
            source,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn resource_type(&self) -> &str {
        &self.resource_type
    }

    pub fn message_template(&self) -> &str {
        self.template.as_str()
    }

    pub fn source(&self) -> ActionSource {
        self.source
    }

    /// The effective metadata schema (what `actions list --format json` shows).
    pub fn metadata_schema(&self) -> &Value {
        &self.schema
    }

    pub fn resolvers(&self) -> &[Arc<dyn ContextResolver>] {
        &self.resolvers
    }

    /// Whether `key` is a metadata key of this action (always true for
    /// free-form metadata).
    pub fn declares(&self, key: &str) -> bool {
        self.declared.as_ref().is_none_or(|d| d.contains(key))
    }

    /// Validates a draft and turns it into an event: checks the resource and
    /// user, drops undeclared metadata keys, validates the metadata schema,
    /// assigns `created` (unless given) and a UUIDv7 id, and renders the
    /// message. Reports every invalid field at once.
    pub fn finalize(&self, draft: EventDraft) -> Result<Event, ValidationError> {
        self.validate(draft, None)
    }

    /// Validates a draft of an event that already happened elsewhere
    /// (import): the same checks as [`ActionSpec::finalize`], but the event
    /// keeps its own id and message instead of getting new ones. `created`
    /// must be in the draft.
    pub fn restore(&self, draft: EventDraft, id: Uuid, message: String) -> Result<Event, ValidationError> {
        self.validate(draft, Some((id, message)))
    }

    fn validate(&self, draft: EventDraft, kept: Option<(Uuid, String)>) -> Result<Event, ValidationError> {
        let EventDraft { action, resource, user, mut metadata, created } = draft;
        let mut errors = Vec::new();
        if action != self.id {
            errors.push(FieldError::new("action", format!("expected {:?}, got {action:?}", self.id)));
        }
        if resource.id.trim().is_empty() {
            errors.push(FieldError::new("resource.id", "required: must be a non-empty string"));
        }
        if !resource.kind.is_empty() && resource.kind != self.resource_type {
            errors.push(FieldError::new(
                "resource.type",
                format!(
                    "action {:?} logs resources of type {:?}, got {:?}",
                    self.id, self.resource_type, resource.kind
                ),
            ));
        }
        if user.id.trim().is_empty() {
            errors.push(FieldError::new("user.id", "required: must be a non-empty string"));
        }
        let email = match user.email {
            Some(e) if !e.trim().is_empty() => {
                if let Err(reason) = check_email(&e) {
                    errors.push(FieldError::new("user.email", reason));
                }
                e
            }
            _ => {
                errors.push(FieldError::new(
                    "user.email",
                    format!("required: user {:?} has no known email; send user.email", user.id),
                ));
                String::new()
            }
        };
        if let Some(declared) = &self.declared {
            metadata.retain(|k, _| declared.contains(k));
        }
        let instance = Value::Object(metadata);
        for e in self.validator.iter_errors(&instance) {
            let field = match e.kind() {
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    format!(
                        "{}.{}",
                        pointer_to_field(e.instance_path().as_str()),
                        property.as_str().unwrap_or_default()
                    )
                }
                _ => pointer_to_field(e.instance_path().as_str()),
            };
            let message = match e.kind() {
                jsonschema::error::ValidationErrorKind::Required { .. } => "required".to_owned(),
                _ => e.to_string(),
            };
            push_error(&mut errors, field, message);
        }
        let Value::Object(metadata) = instance else { unreachable!() };
        if let Some(Value::String(ip)) = metadata.get("ip_address")
            && !crate::context::is_valid_ip_address(ip)
        {
            push_error(
                &mut errors,
                "metadata.ip_address".into(),
                "expected an IPv4 or IPv6 address, \"untrackable\" or \"N/A\"".into(),
            );
        }

        let created = created.unwrap_or_else(Timestamp::now);
        let user = User { id: user.id, username: user.username, email };
        let resource = Resource { kind: self.resource_type.clone(), id: resource.id };
        if let Some((id, message)) = kept {
            if message.trim().is_empty() {
                errors.push(FieldError::new("message", "required: must be a non-empty string"));
            }
            if !errors.is_empty() {
                return Err(ValidationError { errors });
            }
            return Ok(Event { id, created, action: self.id.clone(), resource, user, metadata, message });
        }
        let id = uuid_v7_at(created);
        let message = if errors.is_empty() {
            let fields = json!({
                "id": id.to_string(),
                "created": created.to_string(),
                "action": self.id,
                "resource_id": resource.id,
                "resource_type": resource.kind,
                "user_id": user.id,
                "username": user.username,
                "user_email": user.email,
            });
            match self.template.render(|k| fields.get(k).filter(|v| !v.is_null()).or_else(|| metadata.get(k))) {
                Ok(m) => m,
                Err(key) => {
                    errors.push(FieldError::new(
                        format!("metadata.{key}"),
                        format!("required by the message template of {:?}", self.id),
                    ));
                    String::new()
                }
            }
        } else {
            String::new()
        };
        if !errors.is_empty() {
            return Err(ValidationError { errors });
        }
        Ok(Event { id, created, action: self.id.clone(), resource, user, metadata, message })
    }
}

fn push_error(errors: &mut Vec<FieldError>, field: String, message: String) {
    match errors.iter_mut().find(|e| e.field == field) {
        Some(e) => e.messages.push(message),
        None => errors.push(FieldError { field, messages: vec![message] }),
    }
}

/// `/related_to/id` -> `metadata.related_to.id`.
fn pointer_to_field(pointer: &str) -> String {
    let mut field = String::from("metadata");
    for seg in pointer.split('/').skip(1) {
        field.push('.');
        field.push_str(&seg.replace("~1", "/").replace("~0", "~"));
    }
    field
}

fn check_id(id: &str) -> Result<(), RegistryError> {
    let valid = !id.is_empty()
        && id.len() <= 128
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !id.starts_with('.')
        && !id.ends_with('.');
    if valid {
        Ok(())
    } else {
        Err(RegistryError::InvalidId {
            action: id.to_owned(),
            message: "use letters, digits, '.', '_' and '-' (e.g. \"community.remove_record\")".into(),
        })
    }
}

/// A time-ordered UUIDv7 whose timestamp is the event's `created`, so that
/// ids sort with time and a store can partition by id alone.
pub fn uuid_v7_at(created: Timestamp) -> Uuid {
    // No shared clock context: it would clamp back-dated (imported) events
    // to the newest time seen, and the id must carry the event's own time.
    let us = created.as_micros();
    let secs = us.div_euclid(1_000_000).max(0) as u64;
    let nanos = (us.rem_euclid(1_000_000) * 1000) as u32;
    Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, secs, nanos))
}

/// The reference validates `user.email` as an address (marshmallow's
/// `Email` field): `local@domain`, without a display name.
fn check_email(email: &str) -> Result<(), String> {
    let options = email_address::Options::default().without_display_text();
    email_address::EmailAddress::parse_with_options(email, options).map(drop).map_err(|e| {
        format!(
            "not an e-mail address ({}): expected local@domain, like jane@example.org",
            e.to_string().trim_end_matches('.')
        )
    })
}
