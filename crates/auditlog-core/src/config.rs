//! Configuration (SPEC section 4): one TOML file plus environment overrides,
//! with the reference's key names. Defaults live in [`Config::default`] and
//! nowhere else.
//!
//! Environment variables: keys named `AUDIT_LOGS_*` are read from variables
//! of the same name; every other key `k` from `AUDITLOG_<K>` (upper case), so
//! `database_url` is `AUDITLOG_DATABASE_URL`. A variable's value is read as a
//! TOML value when it parses as one (`true`, `1000`, `["a", "b"]`,
//! `{ "draft.edit" = "60d" }`), otherwise as a plain string; list keys also
//! take comma-separated values (`draft.edit,draft.delete`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::identity::Role;

/// How long events of an action are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionPeriod {
    Days(u32),
    Forever,
}

impl RetentionPeriod {
    /// Whole months the reference keeps: `days / 30` (60 days -> 2).
    pub fn months(self) -> Option<u32> {
        match self {
            RetentionPeriod::Days(d) => Some(d / 30),
            RetentionPeriod::Forever => None,
        }
    }
}

impl fmt::Display for RetentionPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetentionPeriod::Days(d) => write!(f, "{d}d"),
            RetentionPeriod::Forever => f.write_str("forever"),
        }
    }
}

impl FromStr for RetentionPeriod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("forever") {
            return Ok(RetentionPeriod::Forever);
        }
        s.strip_suffix('d').and_then(|n| n.parse::<u32>().ok()).map(RetentionPeriod::Days).ok_or_else(|| {
            format!("invalid retention period {s:?}: use a number of days like \"395d\", or \"forever\"")
        })
    }
}

impl<'de> Deserialize<'de> for RetentionPeriod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Days(u32),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Days(n) => Ok(RetentionPeriod::Days(n)),
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for RetentionPeriod {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An API token: its SHA-256 (hex) and its roles. The token itself is never
/// stored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    #[serde(deserialize_with = "sha256_hex")]
    pub sha256: String,
    pub roles: Vec<Role>,
}

fn sha256_hex<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(serde::de::Error::custom(
            "expected the 64-character hex SHA-256 of the token (auditlog token create writes it)",
        ))
    }
}

/// A metadata schema in the config: inline, or a path to a `.json` file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum SchemaSource {
    Path(String),
    Inline(Value),
}

/// An `[[actions]]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    pub id: String,
    pub message_template: String,
    pub resource_type: String,
    #[serde(default)]
    pub context: Vec<String>,
    pub metadata_schema: Option<SchemaSource>,
}

/// SQLite durability: `full` syncs the WAL on every commit (no acknowledged
/// event is lost on power failure); `normal` syncs at checkpoints only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    Full,
    Normal,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Feature flag: when false nothing is logged.
    #[serde(rename = "AUDIT_LOGS_ENABLED")]
    pub enabled: bool,
    #[serde(rename = "AUDIT_LOGS_DISABLED_ACTIONS")]
    pub disabled_actions: Vec<String>,
    #[serde(rename = "AUDIT_LOGS_RETENTION_DEFAULT")]
    pub retention_default: RetentionPeriod,
    #[serde(rename = "AUDIT_LOGS_RETENTION")]
    pub retention: BTreeMap<String, RetentionPeriod>,
    #[serde(rename = "AUDIT_LOGS_RETENTION_BATCH_SIZE")]
    pub retention_batch_size: u32,
    pub database_url: String,
    pub sqlite_synchronous: SqliteSync,
    pub bind: String,
    pub base_url: String,
    pub tokens: BTreeMap<String, TokenConfig>,
    pub signing_key_path: Option<PathBuf>,
    /// Name of the log in its checkpoints (and of the signing key), used
    /// when the key is generated; default: `base_url`'s host and port plus
    /// `/audit-logs`.
    pub checkpoint_origin: Option<String>,
    pub actions: Vec<ActionConfig>,
    /// Largest request body the server accepts (bytes); larger ones get 413.
    pub max_body_bytes: usize,
    /// Run migrations when `serve` starts (PostgreSQL; SQLite always migrates).
    pub migrate_on_start: bool,
    /// How often `serve` runs the retention job; `None` (the default) never.
    pub retention_interval: Option<Interval>,
    /// Server log lines: human-readable `text` or one JSON object per line.
    pub log_format: LogFormat,
    /// How long a client may take to send a request's head (request line
    /// and headers), from its first byte.
    pub header_read_timeout: Interval,
    /// How long a connection may sit with no byte moving while the server
    /// waits on the client: between requests (keep-alive), within a body,
    /// or for the client to read a response.
    pub idle_timeout: Interval,
    /// Open connections the server holds at once; more are answered 503
    /// and closed.
    pub max_connections: usize,
    /// How long a stopping server lets requests in flight finish.
    pub shutdown_timeout: Interval,
}

/// A duration written like `500ms`, `30m`, `6h` or `1d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval(pub std::time::Duration);

impl FromStr for Interval {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
        let n: u64 = num
            .parse()
            .map_err(|_| format!("invalid interval {s:?}: use a number and a unit, like \"30m\", \"6h\" or \"1d\""))?;
        let unit_ms: u64 = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(format!("invalid interval {s:?}: the unit must be ms, s, m, h or d")),
        };
        let ms = n.checked_mul(unit_ms).ok_or_else(|| format!("invalid interval {s:?}: too long"))?;
        if ms == 0 {
            return Err(format!("invalid interval {s:?}: must be longer than zero"));
        }
        Ok(Interval(std::time::Duration::from_millis(ms)))
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: false,
            disabled_actions: Vec::new(),
            retention_default: RetentionPeriod::Days(395),
            retention: BTreeMap::new(),
            retention_batch_size: 1000,
            database_url: "sqlite://./auditlog-data/auditlog.db".into(),
            sqlite_synchronous: SqliteSync::Full,
            bind: "127.0.0.1:5000".into(),
            base_url: "http://127.0.0.1:5000".into(),
            tokens: BTreeMap::new(),
            signing_key_path: None,
            checkpoint_origin: None,
            actions: Vec::new(),
            max_body_bytes: 10 * 1024 * 1024,
            migrate_on_start: true,
            retention_interval: None,
            log_format: LogFormat::Text,
            header_read_timeout: Interval(std::time::Duration::from_secs(10)),
            idle_timeout: Interval(std::time::Duration::from_secs(30)),
            max_connections: 1024,
            shutdown_timeout: Interval(std::time::Duration::from_secs(10)),
        }
    }
}

/// A configuration that cannot be used. Its Display is one line naming the
/// key (and where it came from).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration ({origin}): {key}: {message}")]
pub struct ConfigError {
    /// The config file's name, or `environment variable X`.
    pub origin: String,
    /// Dotted key path (`AUDIT_LOGS_ENABLED`, `tokens.ci.roles[0]`, `actions[1].id`).
    pub key: String,
    pub message: String,
}

/// Keys whose environment variable is the key itself.
const REFERENCE_KEYS: [&str; 5] = [
    "AUDIT_LOGS_ENABLED",
    "AUDIT_LOGS_DISABLED_ACTIONS",
    "AUDIT_LOGS_RETENTION_DEFAULT",
    "AUDIT_LOGS_RETENTION",
    "AUDIT_LOGS_RETENTION_BATCH_SIZE",
];
const OWN_KEYS: [&str; 16] = [
    "database_url",
    "sqlite_synchronous",
    "bind",
    "base_url",
    "tokens",
    "signing_key_path",
    "checkpoint_origin",
    "actions",
    "max_body_bytes",
    "migrate_on_start",
    "retention_interval",
    "log_format",
    "header_read_timeout",
    "idle_timeout",
    "max_connections",
    "shutdown_timeout",
];

/// The environment variable that sets `key`.
pub fn env_var_for(key: &str) -> String {
    if key.starts_with("AUDIT_LOGS_") { key.to_owned() } else { format!("AUDITLOG_{}", key.to_ascii_uppercase()) }
}

impl Config {
    /// Every configuration key, in the order of SPEC section 4.
    pub fn keys() -> impl Iterator<Item = &'static str> {
        REFERENCE_KEYS.into_iter().chain(OWN_KEYS)
    }

    /// Reads a configuration from TOML text (`origin` names it in errors,
    /// e.g. the file path) and environment variables (`env`, usually
    /// `std::env::vars()`), environment winning. `read_schema` loads a
    /// metadata schema given as a path; the caller resolves it relative to
    /// the config file.
    pub fn load(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
        read_schema: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError {
            origin: origin.to_owned(),
            key: toml_error_key(text, &e),
            message: format!("{}{}", e.message(), toml_error_line(text, &e)),
        })?;
        let env: BTreeMap<String, String> = env.into_iter().collect();
        let mut env_origin: BTreeMap<String, String> = BTreeMap::new();
        for key in Self::keys() {
            let var = env_var_for(key);
            if let Some(raw) = env.get(&var) {
                table.insert(key.to_owned(), env_value(key, raw));
                env_origin.insert(key.to_owned(), format!("environment variable {var}"));
            }
        }
        let mut config: Config = serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            let top = key.split(['.', '[']).next().unwrap_or_default().to_owned();
            ConfigError {
                origin: env_origin.get(&top).cloned().unwrap_or_else(|| origin.to_owned()),
                key: if key == "." { "(top level)".into() } else { key },
                message: e.into_inner().message().to_owned(),
            }
        })?;
        config.validate(origin, &env_origin, read_schema)?;
        Ok(config)
    }

    /// Checks values; an error names the environment variable when the
    /// value came from one (`env_origin`: top-level key -> its origin).
    fn validate(
        &mut self,
        origin: &str,
        env_origin: &BTreeMap<String, String>,
        read_schema: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<(), ConfigError> {
        let err = |key: String, message: String| {
            let top = key.split(['.', '[']).next().unwrap_or_default();
            ConfigError { origin: env_origin.get(top).cloned().unwrap_or_else(|| origin.to_owned()), key, message }
        };
        if self.max_body_bytes < 1024 {
            return Err(err("max_body_bytes".into(), "must be at least 1024".into()));
        }
        if self.max_connections == 0 {
            return Err(err("max_connections".into(), "must be at least 1".into()));
        }
        if self.retention_batch_size == 0 {
            return Err(err("AUDIT_LOGS_RETENTION_BATCH_SIZE".into(), "must be at least 1".into()));
        }
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return Err(err(
                "database_url".into(),
                format!("unsupported URL {:?}: use sqlite://PATH or postgres://...", self.database_url),
            ));
        }
        if self.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(err("bind".into(), format!("{:?} is not an address like 127.0.0.1:5000", self.bind)));
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(err("base_url".into(), format!("{:?} must start with http:// or https://", self.base_url)));
        }
        if let Some(origin) = &self.checkpoint_origin
            && (origin.is_empty() || origin.contains(char::is_whitespace) || origin.contains('+'))
        {
            return Err(err(
                "checkpoint_origin".into(),
                format!("{origin:?}: use a name without spaces or '+', like \"audit.example.org/log\""),
            ));
        }
        for (name, token) in &self.tokens {
            if token.roles.is_empty() {
                return Err(err(format!("tokens.{name}.roles"), "a token needs at least one role".into()));
            }
        }
        for (i, action) in self.actions.iter_mut().enumerate() {
            if let Some(SchemaSource::Path(path)) = &action.metadata_schema {
                let text = read_schema(path)
                    .map_err(|e| err(format!("actions[{i}].metadata_schema"), format!("cannot read {path:?}: {e}")))?;
                let value: Value = serde_json::from_str(&text).map_err(|e| {
                    err(format!("actions[{i}].metadata_schema"), format!("{path:?} is not valid JSON: {e}"))
                })?;
                action.metadata_schema = Some(SchemaSource::Inline(value));
            }
        }
        Ok(())
    }

    /// The checkpoint origin: configured, or `base_url` without its scheme
    /// plus `/audit-logs`.
    pub fn origin(&self) -> String {
        self.checkpoint_origin.clone().unwrap_or_else(|| {
            let host = self.base_url.split_once("://").map_or(self.base_url.as_str(), |(_, rest)| rest);
            format!("{}/audit-logs", host.trim_end_matches('/'))
        })
    }

    /// The retention period of an action.
    pub fn retention_for(&self, action: &str) -> RetentionPeriod {
        self.retention.get(action).copied().unwrap_or(self.retention_default)
    }
}

fn env_value(key: &str, raw: &str) -> toml::Value {
    if let Some(v) = format!("v = {raw}").parse::<toml::Table>().ok().and_then(|mut t| t.remove("v")) {
        return v;
    }
    if key == "AUDIT_LOGS_DISABLED_ACTIONS" {
        return toml::Value::Array(
            raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| toml::Value::String(s.into())).collect(),
        );
    }
    toml::Value::String(raw.to_owned())
}

fn toml_error_line(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => format!(" (line {})", text[..span.start.min(text.len())].matches('\n').count() + 1),
        None => String::new(),
    }
}

/// The key on the line a TOML syntax error points at, if any.
fn toml_error_key(text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else { return "(syntax)".into() };
    let start = text[..span.start.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or_default();
    match line.split_once('=') {
        Some((k, _)) if !k.trim().is_empty() => k.trim().to_owned(),
        _ => "(syntax)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::load(text, "auditlog.toml", env.iter().map(|(k, v)| (k.to_string(), v.to_string())), &|p| {
            if p == "schema.json" { Ok(r#"{"type":"object"}"#.into()) } else { Err("No such file or directory".into()) }
        })
    }

    fn check_err(text: &str, env: &[(&str, &str)], expect: &str) {
        let err = load(text, env).expect_err(text).to_string();
        assert_eq!(err, expect);
        assert!(!err.contains('\n'), "one line: {err}");
    }

    #[test]
    fn defaults_when_empty() {
        let c = load("", &[]).unwrap();
        assert_eq!(c, Config::default());
        assert!(!c.enabled);
        assert_eq!(c.retention_default, RetentionPeriod::Days(395));
        assert_eq!(c.retention_batch_size, 1000);
    }

    #[test]
    fn reads_reference_keys_and_env_overrides() {
        let c = load(
            r#"
AUDIT_LOGS_ENABLED = true
AUDIT_LOGS_DISABLED_ACTIONS = ["draft.edit"]
AUDIT_LOGS_RETENTION = { "draft.edit" = "60d", "record.publish" = "forever" }
database_url = "sqlite://x.db"
[tokens.ci]
sha256 = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
roles = ["admin", "auditor"]
"#,
            &[
                ("AUDIT_LOGS_RETENTION_BATCH_SIZE", "50"),
                ("AUDITLOG_BIND", "0.0.0.0:8080"),
                ("AUDIT_LOGS_DISABLED_ACTIONS", "a.b, c.d"),
            ],
        )
        .unwrap();
        assert!(c.enabled);
        assert_eq!(c.disabled_actions, ["a.b", "c.d"]);
        assert_eq!(c.retention_for("draft.edit"), RetentionPeriod::Days(60));
        assert_eq!(c.retention_for("record.publish"), RetentionPeriod::Forever);
        assert_eq!(c.retention_for("draft.create"), RetentionPeriod::Days(395));
        assert_eq!(c.retention_batch_size, 50);
        assert_eq!(c.bind, "0.0.0.0:8080");
        assert_eq!(c.tokens["ci"].roles, [Role::Admin, Role::Auditor]);
        assert_eq!(&c.tokens["ci"].sha256[..4], "e3b0");
    }

    #[test]
    fn bad_configs_name_the_key() {
        check_err(
            "AUDIT_LOGS_ENABLD = true",
            &[],
            "invalid configuration (auditlog.toml): AUDIT_LOGS_ENABLD: unknown field `AUDIT_LOGS_ENABLD`, expected one of `AUDIT_LOGS_ENABLED`, `AUDIT_LOGS_DISABLED_ACTIONS`, `AUDIT_LOGS_RETENTION_DEFAULT`, `AUDIT_LOGS_RETENTION`, `AUDIT_LOGS_RETENTION_BATCH_SIZE`, `database_url`, `sqlite_synchronous`, `bind`, `base_url`, `tokens`, `signing_key_path`, `checkpoint_origin`, `actions`, `max_body_bytes`, `migrate_on_start`, `retention_interval`, `log_format`, `header_read_timeout`, `idle_timeout`, `max_connections`, `shutdown_timeout`",
        );
        check_err(
            "AUDIT_LOGS_ENABLED = \"yes\"",
            &[],
            "invalid configuration (auditlog.toml): AUDIT_LOGS_ENABLED: invalid type: string \"yes\", expected a boolean",
        );
        check_err(
            "",
            &[("AUDIT_LOGS_ENABLED", "yes")],
            "invalid configuration (environment variable AUDIT_LOGS_ENABLED): AUDIT_LOGS_ENABLED: invalid type: string \"yes\", expected a boolean",
        );
        check_err(
            "AUDIT_LOGS_RETENTION = { \"draft.edit\" = \"2 months\" }",
            &[],
            "invalid configuration (auditlog.toml): AUDIT_LOGS_RETENTION.draft.edit: invalid retention period \"2 months\": use a number of days like \"395d\", or \"forever\"",
        );
        check_err(
            "[tokens.ci]\nsha256 = \"abc\"\nroles = [\"admin\"]",
            &[],
            "invalid configuration (auditlog.toml): tokens.ci.sha256: expected the 64-character hex SHA-256 of the token (auditlog token create writes it)",
        );
        check_err(
            &format!("[tokens.ci]\nsha256 = \"{}\"\nroles = [\"root\"]", "a".repeat(64)),
            &[],
            "invalid configuration (auditlog.toml): tokens.ci.roles[0]: unknown variant `root`, expected one of `admin`, `system`, `auditor`",
        );
        check_err(
            "AUDIT_LOGS_ENABLED = ",
            &[],
            "invalid configuration (auditlog.toml): AUDIT_LOGS_ENABLED: string values must be quoted, expected literal string (line 1)",
        );
        check_err(
            "database_url = \"mysql://x\"",
            &[],
            "invalid configuration (auditlog.toml): database_url: unsupported URL \"mysql://x\": use sqlite://PATH or postgres://...",
        );
        check_err(
            "bind = \"localhost\"",
            &[],
            "invalid configuration (auditlog.toml): bind: \"localhost\" is not an address like 127.0.0.1:5000",
        );
        check_err(
            "AUDIT_LOGS_RETENTION_BATCH_SIZE = 0",
            &[],
            "invalid configuration (auditlog.toml): AUDIT_LOGS_RETENTION_BATCH_SIZE: must be at least 1",
        );
        // Regression: a bad value from the environment was blamed on the file.
        check_err(
            "max_body_bytes = 4096",
            &[("AUDITLOG_MAX_BODY_BYTES", "0")],
            "invalid configuration (environment variable AUDITLOG_MAX_BODY_BYTES): max_body_bytes: must be at least 1024",
        );
        check_err(
            "",
            &[("AUDITLOG_BIND", "localhost")],
            "invalid configuration (environment variable AUDITLOG_BIND): bind: \"localhost\" is not an address like 127.0.0.1:5000",
        );
        check_err(
            "",
            &[("AUDIT_LOGS_RETENTION_BATCH_SIZE", "0")],
            "invalid configuration (environment variable AUDIT_LOGS_RETENTION_BATCH_SIZE): AUDIT_LOGS_RETENTION_BATCH_SIZE: must be at least 1",
        );
        check_err(
            "[[actions]]\nid = \"x.y\"\nmessage_template = \"m\"\nresource_type = \"r\"\nmetadata_schema = \"missing.json\"",
            &[],
            "invalid configuration (auditlog.toml): actions[0].metadata_schema: cannot read \"missing.json\": No such file or directory",
        );
        check_err(
            "[[actions]]\nid = \"x.y\"\nmessage_template = \"m\"",
            &[],
            "invalid configuration (auditlog.toml): actions[0]: missing field `resource_type`",
        );
    }

    #[test]
    fn config_actions_with_schema_path_and_inline() {
        let c = load(
            r#"
[[actions]]
id = "community.remove_record"
message_template = "User {user_id} removed record {record_id} from community {resource_id}."
resource_type = "community"
metadata_schema = { type = "object", properties = { record_id = { type = "string" } }, required = ["record_id"] }

[[actions]]
id = "x.y"
message_template = "m"
resource_type = "r"
context = ["parent"]
metadata_schema = "schema.json"
"#,
            &[],
        )
        .unwrap();
        assert_eq!(c.actions.len(), 2);
        assert_eq!(c.actions[1].metadata_schema, Some(SchemaSource::Inline(serde_json::json!({"type": "object"}))));
    }

    #[test]
    fn retention_period_parse() {
        assert_eq!("60d".parse(), Ok(RetentionPeriod::Days(60)));
        assert_eq!("Forever".parse(), Ok(RetentionPeriod::Forever));
        assert!("60".parse::<RetentionPeriod>().is_err());
        assert_eq!(RetentionPeriod::Days(395).months(), Some(13));
        assert_eq!(RetentionPeriod::Days(60).months(), Some(2));
    }

    #[test]
    fn intervals() {
        assert_eq!("30m".parse(), Ok(Interval(std::time::Duration::from_secs(1800))));
        assert_eq!("250ms".parse(), Ok(Interval(std::time::Duration::from_millis(250))));
        assert!("0ms".parse::<Interval>().is_err());
        assert!("99999999999999999d".parse::<Interval>().is_err());
        assert_eq!("1d".parse(), Ok(Interval(std::time::Duration::from_secs(86_400))));
        assert!("0h".parse::<Interval>().is_err());
        assert!("5 hours".parse::<Interval>().is_err());
        check_err(
            "retention_interval = \"soon\"",
            &[],
            "invalid configuration (auditlog.toml): retention_interval: invalid interval \"soon\": use a number and a unit, like \"30m\", \"6h\" or \"1d\"",
        );
    }
}
