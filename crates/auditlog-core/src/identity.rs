//! Who is acting, and what each role may do (the reference's permission
//! policy: search and read for administrators and the system process, create
//! for the system process only, update and delete for nobody).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An access role carried by an API token or an in-process identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Site administrators: search, read, verify.
    Admin,
    /// The system process (and ingesting services): create, plus admin's rights.
    System,
    /// Read-only auditors: search and read events, verify the log.
    Auditor,
}

/// Something an identity may be allowed to do. There is deliberately no
/// update or delete: events are immutable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Create,
    Search,
    Read,
    Verify,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::System, Role::Auditor];

    pub fn allows(self, p: Permission) -> bool {
        match self {
            Role::System => true,
            Role::Admin | Role::Auditor => !matches!(p, Permission::Create),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::System => "system",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "system" => Ok(Role::System),
            "auditor" => Ok(Role::Auditor),
            other => Err(format!("unknown role {other:?}; expected one of admin, system, auditor")),
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Permission::Create => "create",
            Permission::Search => "search",
            Permission::Read => "read",
            Permission::Verify => "verify",
        })
    }
}

/// The acting party: a user id (`"system"` for the system process) and roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: String,
    pub roles: Vec<Role>,
}

impl Identity {
    /// The system process: the identity background jobs and ingest act as.
    pub fn system() -> Self {
        Identity { id: "system".into(), roles: vec![Role::System] }
    }

    /// An end user with no audit-log rights (the usual subject of events).
    pub fn user(id: impl Into<String>) -> Self {
        Identity { id: id.into(), roles: Vec::new() }
    }

    pub fn with_roles(id: impl Into<String>, roles: impl IntoIterator<Item = Role>) -> Self {
        Identity { id: id.into(), roles: roles.into_iter().collect() }
    }

    pub fn can(&self, p: Permission) -> bool {
        self.roles.iter().any(|r| r.allows(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_table() {
        use Permission::*;
        let table = [
            (Role::Admin, [false, true, true, true]),
            (Role::System, [true, true, true, true]),
            (Role::Auditor, [false, true, true, true]),
        ];
        for (role, expect) in table {
            let got = [Create, Search, Read, Verify].map(|p| role.allows(p));
            assert_eq!(got, expect, "{role}");
        }
        assert!(!Identity::user("1").can(Read));
        assert!(Identity::system().can(Create));
    }

    #[test]
    fn role_parse_names_the_bad_value() {
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        let err = "root".parse::<Role>().unwrap_err();
        assert!(err.contains("\"root\""), "{err}");
    }
}
