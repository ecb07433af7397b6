//! [`AuditLog`]: the entry point a host application holds. It knows the
//! feature flag, the disabled actions, the registry and the user resolver,
//! and turns "user X did Y to Z" into validated events.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::action::{ActionSource, ActionSpec};
use crate::builtin::ActionDef;
use crate::config::{Config, ConfigError, SchemaSource};
use crate::context::{ContextData, ResolveContext, StaticUsers, UserResolver, builtin_resolver};
use crate::error::{RegistryError, ValidationError};
use crate::event::{Event, EventDraft, Resource, Timestamp, UserRef};
use crate::identity::Identity;
use crate::registry::ActionRegistry;

/// Why an event was not logged (not an error: the reference returns nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotLogged {
    FeatureDisabled,
    ActionDisabled(String),
}

impl fmt::Display for NotLogged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotLogged::FeatureDisabled => f.write_str("audit logging is disabled (AUDIT_LOGS_ENABLED is false)"),
            NotLogged::ActionDisabled(a) => write!(f, "action {a:?} is disabled (AUDIT_LOGS_DISABLED_ACTIONS)"),
        }
    }
}

pub struct AuditLog {
    enabled: bool,
    disabled: HashSet<String>,
    registry: ActionRegistry,
    users: Arc<dyn UserResolver>,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("enabled", &self.enabled)
            .field("disabled", &self.disabled)
            .field("actions", &self.registry.len())
            .finish()
    }
}

impl AuditLog {
    /// An audit log over `registry`, with the flag and disabled actions of
    /// `config` and no known users besides the system.
    pub fn new(config: &Config, registry: ActionRegistry) -> Self {
        AuditLog {
            enabled: config.enabled,
            disabled: config.disabled_actions.iter().cloned().collect(),
            registry,
            users: Arc::new(StaticUsers::default()),
        }
    }

    /// The built-in actions plus the config file's `[[actions]]`.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let mut registry = ActionRegistry::with_builtins();
        register_config_actions(&mut registry, config)?;
        Ok(Self::new(config, registry))
    }

    pub fn with_users(mut self, users: Arc<dyn UserResolver>) -> Self {
        self.users = users;
        self
    }

    pub fn registry(&self) -> &ActionRegistry {
        &self.registry
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// `Some(reason)` when events of `action` are not logged.
    pub fn skip_reason(&self, action: &str) -> Option<NotLogged> {
        if !self.enabled {
            Some(NotLogged::FeatureDisabled)
        } else if self.disabled.contains(action) {
            Some(NotLogged::ActionDisabled(action.to_owned()))
        } else {
            None
        }
    }

    fn action(&self, id: &str) -> Result<&Arc<ActionSpec>, ValidationError> {
        self.registry.get(id).ok_or_else(|| {
            ValidationError::single(
                "action",
                format!("unknown action {id:?} (auditlog actions list shows the known ones)"),
            )
        })
    }

    /// Builds the data of an event (the reference's `Action.build`): runs the
    /// action's context resolvers. Returns `None` when logging is off or the
    /// action is disabled. The draft is validated when the unit of work
    /// commits (or by [`AuditLog::finalize`]).
    pub fn build(
        &self,
        identity: &Identity,
        action: &str,
        resource_id: &str,
        data: ContextData,
    ) -> Result<Option<EventDraft>, ValidationError> {
        if self.skip_reason(action).is_some() {
            return Ok(None);
        }
        let spec = self.action(action)?;
        let mut draft = EventDraft {
            action: action.to_owned(),
            resource: Resource { kind: spec.resource_type().to_owned(), id: resource_id.to_owned() },
            user: UserRef { id: identity.id.clone(), ..Default::default() },
            metadata: Map::new(),
            created: None,
        };
        self.resolve(spec, &mut draft, identity, &data)?;
        // Caller data named like a declared metadata key is that key's value
        // (a custom action needs no resolver for plain values).
        for (k, v) in data.values {
            if spec.declares(&k) {
                draft.metadata.entry(k).or_insert(v);
            }
        }
        Ok(Some(draft))
    }

    fn resolve(
        &self,
        spec: &ActionSpec,
        draft: &mut EventDraft,
        identity: &Identity,
        data: &ContextData,
    ) -> Result<(), ValidationError> {
        let cx = ResolveContext { identity, data, users: self.users.as_ref() };
        for r in spec.resolvers() {
            r.resolve(draft, &cx)?;
        }
        Ok(())
    }

    /// Validates a draft into an event ready to store.
    pub fn finalize(&self, draft: EventDraft) -> Result<Event, ValidationError> {
        self.action(&draft.action)?.finalize(draft)
    }

    /// The ingest path (HTTP, NDJSON files): an event described by another
    /// service. Its metadata is kept and the action's resolvers fill what is
    /// missing (the request's IP address, the user's details). `Ok(None)`
    /// when not logged.
    pub fn ingest(
        &self,
        input: EventInput,
        request: Option<crate::context::RequestInfo>,
        identity: &Identity,
    ) -> Result<Option<Event>, ValidationError> {
        if self.skip_reason(&input.action).is_some() {
            return Ok(None);
        }
        self.validate(input, request, identity).map(Some)
    }

    /// The event an input describes, resolved, validated and rendered, for a
    /// caller that has already asked [`AuditLog::skip_reason`] (and so knows
    /// why an event is not logged, which [`AuditLog::ingest`]'s `None` does
    /// not say).
    pub fn validate(
        &self,
        input: EventInput,
        request: Option<crate::context::RequestInfo>,
        identity: &Identity,
    ) -> Result<Event, ValidationError> {
        let (spec, draft) = self.draft_from_input(input, request, identity)?;
        spec.finalize(draft)
    }

    /// The import path: an event that was logged elsewhere (an export, the
    /// reference's table), checked exactly as [`AuditLog::ingest`] checks an
    /// event (the same action lookup, resolvers and metadata schema), but
    /// keeping its own id, time and message. Importing brings in history, so
    /// the feature flag and disabled actions, which govern logging, do not
    /// apply.
    pub fn restore(&self, imported: ImportedEvent, identity: &Identity) -> Result<Event, ValidationError> {
        let ImportedEvent { id, created, message, mut input } = imported;
        input.created = Some(created);
        let (spec, draft) = self.draft_from_input(input, None, identity)?;
        spec.restore(draft, id, message)
    }

    /// The draft an [`EventInput`] describes, with the action's resolvers run.
    fn draft_from_input(
        &self,
        input: EventInput,
        request: Option<crate::context::RequestInfo>,
        identity: &Identity,
    ) -> Result<(&Arc<ActionSpec>, EventDraft), ValidationError> {
        let spec = self.action(&input.action)?;
        let user = match (input.user, input.user_id) {
            (Some(u), None) => u,
            (None, Some(id)) => UserRef { id, ..Default::default() },
            (Some(u), Some(id)) if u.id == id => u,
            (Some(_), Some(_)) => {
                return Err(ValidationError::single("user_id", "conflicts with user.id; give one of them"));
            }
            (None, None) => {
                return Err(ValidationError::single("user", "required: give user {id, email[, username]} or user_id"));
            }
        };
        let data = ContextData { values: input.metadata.clone(), request };
        let mut draft = EventDraft {
            action: input.action,
            resource: Resource { kind: input.resource.kind.unwrap_or_default(), id: input.resource.id },
            user,
            metadata: input.metadata,
            created: input.created,
        };
        self.resolve(spec, &mut draft, identity, &data)?;
        Ok((spec, draft))
    }
}

/// An event logged elsewhere, to be imported with its own id, time and
/// message (see [`AuditLog::restore`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedEvent {
    pub id: uuid::Uuid,
    pub created: Timestamp,
    pub message: String,
    pub input: EventInput,
}

/// The body of an ingest request or one NDJSON line:
/// `{action, resource: {id[, type]}, user: {...} | user_id, metadata, created?}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub action: String,
    pub resource: ResourceInput,
    #[serde(default)]
    pub user: Option<UserRef>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(default)]
    pub created: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    pub id: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

impl EventInput {
    /// Parses one JSON document; errors name the field at fault. Anything
    /// but whitespace after the document (`{...} xyz`, a second object) is
    /// malformed, and so is an integer outside the 64-bit range, which JSON
    /// parsers would otherwise keep as an inexact float.
    pub fn from_json(text: &str) -> Result<Self, ValidationError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let input: Self = Self::deserialize_from(de)?;
        de.end().map_err(|e| ValidationError::single("(body)", format!("malformed JSON: {e}")))?;
        crate::json_numbers::check_integers(text).map_err(|e| ValidationError::single(e.field, e.message))?;
        Ok(input)
    }

    fn deserialize_from(
        de: &mut serde_json::Deserializer<serde_json::de::StrRead<'_>>,
    ) -> Result<Self, ValidationError> {
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let msg = inner.to_string();
            // serde_json appends " at line L column C"; keep it only for syntax errors.
            let field = match (path.as_str(), missing_field(&msg)) {
                (".", Some(f)) => f.to_owned(),
                (p, Some(f)) => format!("{p}.{f}"),
                (".", None) | ("?", None) => "(body)".to_owned(),
                (p, None) => p.to_owned(),
            };
            let message = if inner.is_syntax() || inner.is_eof() {
                format!("malformed JSON: {msg}")
            } else {
                strip_position(&msg).to_owned()
            };
            ValidationError::single(field, message)
        })
    }
}

fn missing_field(msg: &str) -> Option<&str> {
    msg.strip_prefix("missing field `")?.split('`').next()
}

fn strip_position(msg: &str) -> &str {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i])
}

fn register_config_actions(registry: &mut ActionRegistry, config: &Config) -> Result<(), ConfigError> {
    for (i, a) in config.actions.iter().enumerate() {
        let err = |key: &str, message: String| ConfigError {
            origin: "actions".into(),
            key: format!("actions[{i}].{key}"),
            message,
        };
        let mut context = Vec::new();
        for (j, name) in a.context.iter().enumerate() {
            let r = builtin_resolver(name).ok_or_else(|| {
                err(
                    &format!("context[{j}]"),
                    format!("unknown context resolver {name:?}; known: user, request, parent, record, changes, resource_data, file"),
                )
            })?;
            context.push(r);
        }
        let def = ActionDef {
            id: a.id.clone(),
            message_template: a.message_template.clone(),
            resource_type: a.resource_type.clone(),
            context,
            metadata_schema: match &a.metadata_schema {
                Some(SchemaSource::Inline(v)) => Some(v.clone()),
                // Paths are replaced by their content when the config loads.
                Some(SchemaSource::Path(p)) => {
                    return Err(err("metadata_schema", format!("schema file {p:?} was not loaded")));
                }
                None => None,
            },
        };
        registry.register_from(&def, ActionSource::Config).map_err(|e| match e {
            RegistryError::DuplicateId(id) => {
                err("id", format!("duplicate action id {id:?}: an action with this id is already registered"))
            }
            RegistryError::InvalidId { message, .. } => err("id", message),
            RegistryError::Template { message, .. } => err("message_template", message),
            RegistryError::Schema { message, .. } => err("metadata_schema", message),
            RegistryError::UnknownResolver { name, .. } => err("context", format!("unknown context resolver {name:?}")),
        })?;
    }
    Ok(())
}
