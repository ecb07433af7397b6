//! Context resolvers: small objects that fill in an event's fields from the
//! caller's data and the request (user details, IP address and session,
//! parent pid, revision id, before/after snapshots, file key ...).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::error::ValidationError;
use crate::event::{EventDraft, User};
use crate::identity::Identity;

/// What the caller knows about the HTTP request behind an action, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// The peer address of the connection.
    pub remote_addr: Option<String>,
    /// The raw `X-Forwarded-For` header.
    pub forwarded_for: Option<String>,
    pub session: Option<String>,
    pub request_id: Option<String>,
}

impl RequestInfo {
    /// The end user's address: the first `X-Forwarded-For` entry, else the
    /// peer address, else `untrackable` (the reference's rule). A first
    /// entry that is not an IP address (the header is whatever the client
    /// sent its proxy) is `untrackable` too, rather than stored as sent.
    pub fn ip_address(&self) -> String {
        let forwarded =
            self.forwarded_for.as_deref().and_then(|h| h.split(',').next()).map(str::trim).filter(|s| !s.is_empty());
        let address = match forwarded {
            Some(entry) => ip_of(entry),
            None => self.remote_addr.as_deref().and_then(ip_of),
        };
        address.map_or_else(|| UNTRACKABLE.to_owned(), |ip| ip.to_string())
    }
}

/// The IP address of an `X-Forwarded-For` entry or a peer address: a bare
/// address, or one with a port (`192.0.2.1:443`, `[2001:db8::1]:443`).
fn ip_of(entry: &str) -> Option<std::net::IpAddr> {
    entry.parse().ok().or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

/// Whether `value` may be stored as `metadata.ip_address`: an IPv4 or IPv6
/// address, or one of the reference's two special values.
pub fn is_valid_ip_address(value: &str) -> bool {
    value == UNTRACKABLE || value == NO_REQUEST || value.parse::<std::net::IpAddr>().is_ok()
}

/// IP address recorded when a request exists but its address is unknown.
pub const UNTRACKABLE: &str = "untrackable";
/// IP address recorded when there is no request at all (background jobs).
pub const NO_REQUEST: &str = "N/A";

/// The caller's keyword data for `build`, plus the request, if any.
#[derive(Debug, Clone, Default)]
pub struct ContextData {
    pub values: Map<String, Value>,
    pub request: Option<RequestInfo>,
}

impl ContextData {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.values.insert(key.into(), value.into());
        self
    }

    pub fn with_request(mut self, request: RequestInfo) -> Self {
        self.request = Some(request);
        self
    }

    /// Value at a path of object keys (`["record", "parent", "id"]`).
    pub fn lookup(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        rest.iter().try_fold(self.values.get(*first)?, |v, k| v.get(k))
    }
}

/// Resolves a user id to the user's details.
pub trait UserResolver: Send + Sync {
    fn resolve(&self, id: &str) -> Option<User>;
}

/// The system identity's details: every event has a user with an email.
pub fn system_user() -> User {
    User { id: "system".into(), username: Some("system".into()), email: "system@system.org".into() }
}

/// A fixed set of users (tests, the demo, and pre-resolved ingest).
#[derive(Debug, Clone, Default)]
pub struct StaticUsers(pub HashMap<String, User>);

impl StaticUsers {
    pub fn insert(&mut self, user: User) {
        self.0.insert(user.id.clone(), user);
    }
}

impl UserResolver for StaticUsers {
    fn resolve(&self, id: &str) -> Option<User> {
        self.0.get(id).cloned()
    }
}

/// Everything a resolver can look at.
pub struct ResolveContext<'a> {
    pub identity: &'a Identity,
    pub data: &'a ContextData,
    pub users: &'a dyn UserResolver,
}

/// Fills in part of an event being built. Resolvers never overwrite a value
/// the draft already carries (an ingesting service's explicit value wins).
pub trait ContextResolver: Send + Sync {
    /// The name used in `[[actions]] context = [...]`.
    fn name(&self) -> &str;

    /// Metadata keys this resolver may set, each with its JSON Schema. They
    /// are declared keys of every action using the resolver (and so survive
    /// the dropping of undeclared keys).
    fn metadata_properties(&self) -> Map<String, Value> {
        Map::new()
    }

    fn resolve(&self, draft: &mut EventDraft, cx: &ResolveContext<'_>) -> Result<(), ValidationError>;
}

impl fmt::Debug for dyn ContextResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContextResolver({})", self.name())
    }
}

/// Fills `user.username` and `user.email` through the user resolver.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserContext;

impl ContextResolver for UserContext {
    fn name(&self) -> &str {
        "user"
    }

    fn resolve(&self, draft: &mut EventDraft, cx: &ResolveContext<'_>) -> Result<(), ValidationError> {
        if draft.user.id.is_empty() {
            draft.user.id = cx.identity.id.clone();
        }
        if draft.user.email.is_some() {
            return Ok(());
        }
        let found = if draft.user.id == "system" { Some(system_user()) } else { cx.users.resolve(&draft.user.id) };
        if let Some(user) = found {
            draft.user.email = Some(user.email);
            if draft.user.username.is_none() {
                draft.user.username = user.username;
            }
        }
        Ok(())
    }
}

/// `ip_address`, `session` and `request_id` from the request.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestContext;

impl ContextResolver for RequestContext {
    fn name(&self) -> &str {
        "request"
    }

    fn metadata_properties(&self) -> Map<String, Value> {
        request_properties()
    }

    fn resolve(&self, draft: &mut EventDraft, cx: &ResolveContext<'_>) -> Result<(), ValidationError> {
        let m = &mut draft.metadata;
        let ip = match (cx.data.values.get("ip_address"), &cx.data.request) {
            (Some(v), _) => v.clone(),
            (None, Some(req)) => Value::String(req.ip_address()),
            (None, None) => Value::String(NO_REQUEST.into()),
        };
        m.entry("ip_address").or_insert(ip);
        if let Some(req) = &cx.data.request {
            if let Some(s) = &req.session {
                m.entry("session").or_insert_with(|| Value::String(s.clone()));
            }
            if let Some(r) = &req.request_id {
                m.entry("request_id").or_insert_with(|| Value::String(r.clone()));
            }
        }
        for key in ["session", "request_id"] {
            if let Some(v) = cx.data.values.get(key) {
                m.entry(key).or_insert_with(|| v.clone());
            }
        }
        Ok(())
    }
}

/// The schema of the request resolver's keys, accepted by every action.
pub fn request_properties() -> Map<String, Value> {
    let Value::Object(m) = json!({
        "ip_address": {"type": "string"},
        "session": {"type": ["string", "null"]},
        "request_id": {"type": "string"},
    }) else {
        unreachable!()
    };
    m
}

/// Copies one metadata key from the caller's data, looked up at the first of
/// several paths that has a value (`parent_pid` or `record.parent.id`).
#[derive(Debug, Clone)]
pub struct KeyContext {
    name: &'static str,
    key: &'static str,
    schema: Value,
    paths: &'static [&'static [&'static str]],
}

impl KeyContext {
    /// **Parent**: `parent_pid`, from `parent_pid` or `record.parent.id`.
    pub fn parent() -> Self {
        KeyContext {
            name: "parent",
            key: "parent_pid",
            schema: json!({"type": "string"}),
            paths: &[&["parent_pid"], &["record", "parent", "id"]],
        }
    }

    /// **Record**: `revision_id`, from `revision_id` or `record.revision_id`.
    pub fn record() -> Self {
        KeyContext {
            name: "record",
            key: "revision_id",
            schema: json!({"type": "integer"}),
            paths: &[&["revision_id"], &["record", "revision_id"]],
        }
    }

    /// **File**: `file_key`, from `file_key` or `file.key`.
    pub fn file() -> Self {
        KeyContext {
            name: "file",
            key: "file_key",
            schema: json!({"type": "string"}),
            paths: &[&["file_key"], &["file", "key"]],
        }
    }

    /// **ResourceData**: `triggered_by` `{id, type}` of the resource whose
    /// change triggered this one.
    pub fn resource_data() -> Self {
        KeyContext {
            name: "resource_data",
            key: "triggered_by",
            schema: json!({
                "type": "object",
                "properties": {"id": {"type": "string"}, "type": {"type": "string"}},
                "required": ["id", "type"],
            }),
            paths: &[&["triggered_by"]],
        }
    }
}

impl ContextResolver for KeyContext {
    fn name(&self) -> &str {
        self.name
    }

    fn metadata_properties(&self) -> Map<String, Value> {
        Map::from_iter([(self.key.to_owned(), self.schema.clone())])
    }

    fn resolve(&self, draft: &mut EventDraft, cx: &ResolveContext<'_>) -> Result<(), ValidationError> {
        if draft.metadata.contains_key(self.key) {
            return Ok(());
        }
        if let Some(v) = self.paths.iter().find_map(|p| cx.data.lookup(p)) {
            draft.metadata.insert(self.key.to_owned(), v.clone());
        }
        Ok(())
    }
}

/// **Changes**: `before` and `after` snapshots of what changed.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChangesContext;

impl ContextResolver for ChangesContext {
    fn name(&self) -> &str {
        "changes"
    }

    fn metadata_properties(&self) -> Map<String, Value> {
        let Value::Object(m) = json!({"before": {}, "after": {}}) else { unreachable!() };
        m
    }

    fn resolve(&self, draft: &mut EventDraft, cx: &ResolveContext<'_>) -> Result<(), ValidationError> {
        for key in ["before", "after"] {
            if let Some(v) = cx.data.values.get(key) {
                draft.metadata.entry(key).or_insert_with(|| v.clone());
            }
        }
        Ok(())
    }
}

/// A built-in resolver by its configuration name.
pub fn builtin_resolver(name: &str) -> Option<Arc<dyn ContextResolver>> {
    Some(match name {
        "user" => Arc::new(UserContext),
        "request" => Arc::new(RequestContext),
        "parent" => Arc::new(KeyContext::parent()),
        "record" => Arc::new(KeyContext::record()),
        "changes" => Arc::new(ChangesContext),
        "resource_data" => Arc::new(KeyContext::resource_data()),
        "file" => Arc::new(KeyContext::file()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(remote: Option<&str>, xff: Option<&str>) -> String {
        RequestInfo { remote_addr: remote.map(Into::into), forwarded_for: xff.map(Into::into), ..Default::default() }
            .ip_address()
    }

    #[test]
    fn ip_address_rules() {
        assert_eq!(ip(Some("10.0.0.1"), Some("203.0.113.7, 10.0.0.2")), "203.0.113.7");
        assert_eq!(ip(Some("10.0.0.1"), Some("  ")), "10.0.0.1");
        assert_eq!(ip(Some("10.0.0.1"), None), "10.0.0.1");
        assert_eq!(ip(None, None), "untrackable");
        assert_eq!(ip(Some("10.0.0.1"), Some("[2001:db8::1]:443, 10.0.0.2")), "2001:db8::1");
        assert_eq!(ip(Some("10.0.0.1"), Some("192.0.2.7:8080")), "192.0.2.7");
    }

    #[test]
    fn forwarded_for_that_is_not_an_address_is_untrackable() {
        for xff in ["<img src=x onerror=alert(1)>", "unknown", "10.0.0.1.5", "192.0.2.1 <b>", "_hidden"] {
            assert_eq!(ip(Some("10.0.0.1"), Some(xff)), "untrackable", "{xff}");
        }
    }

    #[test]
    fn valid_ip_address_values() {
        for (v, ok) in [
            ("127.0.0.1", true),
            ("2001:db8::1", true),
            ("untrackable", true),
            ("N/A", true),
            ("", false),
            (" 127.0.0.1", false),
            ("127.0.0.1:80", false),
            ("<img src=x>", false),
            ("n/a", false),
        ] {
            assert_eq!(is_valid_ip_address(v), ok, "{v:?}");
        }
    }

    #[test]
    fn lookup_follows_paths() {
        let d = ContextData::new().with("record", json!({"parent": {"id": "p-1"}, "revision_id": 3}));
        assert_eq!(d.lookup(&["record", "parent", "id"]), Some(&json!("p-1")));
        assert_eq!(d.lookup(&["record", "nope"]), None);
    }
}
