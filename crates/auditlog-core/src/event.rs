//! The audit event (the wire format of SPEC section 2) and the draft an action
//! builds before validation.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SubsecRound, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use uuid::Uuid;

/// A point in time, UTC, with microsecond precision. Serialised as RFC 3339
/// with six fractional digits and a `+00:00` offset, as the reference does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Utc::now().trunc_subsecs(6))
    }

    /// Microseconds since the Unix epoch: the stores' sortable representation.
    pub fn as_micros(&self) -> i64 {
        self.0.timestamp_micros()
    }

    pub fn from_micros(us: i64) -> Option<Self> {
        DateTime::<Utc>::from_timestamp_micros(us).map(Timestamp)
    }

    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }

    pub fn from_datetime(dt: DateTime<Utc>) -> Self {
        Timestamp(dt.trunc_subsecs(6))
    }

    /// Parses RFC 3339 (any offset) and also the lenient forms people type in
    /// queries and date filters: `2026-01-01`, `2026-01-01T12:00:00` and
    /// `2026-01-01 12:00:00` (read as UTC).
    pub fn parse_lenient(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Some(Self::from_datetime(dt.with_timezone(&Utc)));
        }
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
                return Some(Self::from_datetime(Utc.from_utc_datetime(&naive)));
            }
        }
        if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Some(Self::from_datetime(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?)));
        }
        None
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S%.6f+00:00"))
    }
}

impl FromStr for Timestamp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DateTime::parse_from_rfc3339(s)
            .map(|dt| Self::from_datetime(dt.with_timezone(&Utc)))
            .map_err(|_| format!("expected an RFC 3339 date-time like \"2026-11-26T14:00:00Z\", got {s:?}"))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The resource an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// The user who performed the action, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub email: String,
}

/// The user as known while an event is being built: details may still be
/// missing until the user resolver has run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// One stored audit event. Immutable once created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: Uuid,
    pub created: Timestamp,
    pub action: String,
    pub resource: Resource,
    pub user: User,
    pub metadata: Map<String, Value>,
    pub message: String,
}

impl Event {
    /// RFC 8785 (JCS) canonical JSON of the stored fields: the bytes a
    /// transparency-log leaf hashes. Field set and names are part of the
    /// log's format and must not change.
    pub fn canonical_json(&self) -> Vec<u8> {
        use crate::canonical::{object, string};
        // Members in JCS order (these names are ASCII, so byte order is UTF-16 order).
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(b"{\"action\":");
        string(&self.action, &mut out);
        out.extend_from_slice(b",\"created\":");
        string(&self.created.to_string(), &mut out);
        out.extend_from_slice(b",\"id\":");
        string(&self.id.to_string(), &mut out);
        out.extend_from_slice(b",\"message\":");
        string(&self.message, &mut out);
        out.extend_from_slice(b",\"metadata\":");
        object(&self.metadata, &mut out);
        out.extend_from_slice(b",\"resource\":{\"id\":");
        string(&self.resource.id, &mut out);
        out.extend_from_slice(b",\"type\":");
        string(&self.resource.kind, &mut out);
        out.extend_from_slice(b"},\"user\":{\"email\":");
        string(&self.user.email, &mut out);
        out.extend_from_slice(b",\"id\":");
        string(&self.user.id, &mut out);
        if let Some(u) = &self.user.username {
            out.extend_from_slice(b",\"username\":");
            string(u, &mut out);
        }
        out.extend_from_slice(b"}}");
        out
    }

    /// The event as the API shows it, with `links.self` under `base_url`.
    pub fn to_api_json(&self, base_url: &str) -> Value {
        let mut v = serde_json::to_value(self).expect("events always serialise");
        v["links"] = serde_json::json!({
            "self": format!("{}/api/audit-logs/{}", base_url.trim_end_matches('/'), self.id)
        });
        v
    }
}

/// What an action's `build` produces and what ingest starts from: an event
/// before validation, message rendering and id assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDraft {
    pub action: String,
    pub resource: Resource,
    pub user: UserRef,
    pub metadata: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_format_has_microseconds_and_utc_offset() {
        let t: Timestamp = "2026-11-26T15:00:00.1234567+01:00".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-26T14:00:00.123456+00:00");
        let t: Timestamp = "2026-11-26T14:00:00Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-26T14:00:00.000000+00:00");
    }

    #[test]
    fn lenient_dates() {
        let check = |s: &str, want: &str| assert_eq!(Timestamp::parse_lenient(s).unwrap().to_string(), want, "{s}");
        check("2026-01-01", "2026-01-01T00:00:00.000000+00:00");
        check("2026-01-01T12:00:00", "2026-01-01T12:00:00.000000+00:00");
        check("2026-01-01 12:00:00.5", "2026-01-01T12:00:00.500000+00:00");
        check("2026-01-01T12:00:00+02:00", "2026-01-01T10:00:00.000000+00:00");
        assert!(Timestamp::parse_lenient("yesterday").is_none());
        assert!(Timestamp::parse_lenient("2026-13-01").is_none());
    }

    #[test]
    fn canonical_json_sorts_keys_and_is_compact() {
        let e = Event {
            id: "01936f7e-8b4a-7c3e-9d2a-5f1e2b3c4d5e".parse().unwrap(),
            created: "2026-11-26T14:00:00.123456+00:00".parse().unwrap(),
            action: "draft.create".into(),
            resource: Resource { kind: "record".into(), id: "abcd-1234".into() },
            user: User { id: "1".into(), username: None, email: "a@b.c".into() },
            metadata: serde_json::from_str(r#"{"z":1,"a":"x"}"#).unwrap(),
            message: "m".into(),
        };
        // The same bytes as the reference implementation of JCS.
        let reference = serde_jcs::to_string(&serde_json::json!({
            "id": e.id.to_string(), "created": e.created.to_string(), "action": e.action,
            "resource": {"type": e.resource.kind, "id": e.resource.id}, "user": e.user,
            "metadata": e.metadata, "message": e.message,
        }))
        .unwrap();
        assert_eq!(String::from_utf8(e.canonical_json()).unwrap(), reference);
        assert_eq!(
            String::from_utf8(e.canonical_json()).unwrap(),
            r#"{"action":"draft.create","created":"2026-11-26T14:00:00.123456+00:00","id":"01936f7e-8b4a-7c3e-9d2a-5f1e2b3c4d5e","message":"m","metadata":{"a":"x","z":1},"resource":{"id":"abcd-1234","type":"record"},"user":{"email":"a@b.c","id":"1"}}"#
        );
    }
}
