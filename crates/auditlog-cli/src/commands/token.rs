//! `auditlog token create NAME --role ROLE`: generate an API token, write its
//! SHA-256 and roles into the configuration file, print the token once.

use std::path::{Path, PathBuf};

use anyhow::Context;
use auditlog_core::Role;
use toml_edit::{Array, DocumentMut, Item, Table, value};

use crate::UsageError;
use crate::config::{DEFAULT_PATH, Loaded};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a token with one or more roles (admin, system, auditor).
    Create {
        /// Name of the token (letters, digits, '-', '_'), e.g. `ingest-service`.
        name: String,
        /// A role of the token; repeat for several.
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

pub fn run(loaded: &Loaded, command: Command) -> anyhow::Result<()> {
    let Command::Create { name, roles } = command;
    let path = loaded.path.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    let token = add_token(&path, &name, &roles)?;
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    eprintln!("token {name:?} with roles {} written to {} (stored as its SHA-256)", roles.join(", "), path.display());
    eprintln!("it is shown once, here:");
    println!("{token}");
    Ok(())
}

/// Adds `[tokens.<name>]` to the config file at `path` (created if absent),
/// keeping the rest of the file as it is. Returns the new token.
pub fn add_token(path: &Path, name: &str, roles: &[Role]) -> anyhow::Result<String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(UsageError(format!("token name {name:?}: use letters, digits, '-' and '_'")).into());
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut doc: DocumentMut =
        text.parse().map_err(|e| UsageError(format!("{} is not valid TOML: {e}", path.display())))?;
    let tokens = doc.entry("tokens").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let tokens =
        tokens.as_table_mut().ok_or_else(|| UsageError(format!("{}: `tokens` is not a table", path.display())))?;
    if tokens.contains_key(name) {
        return Err(UsageError(format!(
            "a token named {name:?} already exists in {}; choose another name",
            path.display()
        ))
        .into());
    }
    let token = auditlog_server::generate_token();
    let mut entry = Table::new();
    entry["sha256"] = value(auditlog_server::hash_token(&token));
    entry["roles"] = value(roles.iter().map(|r| r.as_str()).collect::<Array>());
    tokens.insert(name, Item::Table(entry));
    write_private(path, &doc.to_string())?;
    Ok(token)
}

/// Writes a file readable by its owner only, replacing it atomically.
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
