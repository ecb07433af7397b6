//! The checkpoint signing key: generated on first use (mode 0600) in the
//! signed-note private key format, whose key name is the log's origin.

use std::path::{Path, PathBuf};

use anyhow::Context;
use auditlog_merkle::NoteSigner;

use crate::UsageError;
use crate::config::Loaded;

/// Where the key lives: `signing_key_path`, else `checkpoint.key` next to an
/// SQLite database, else `./auditlog-data/checkpoint.key`.
pub fn path(loaded: &Loaded) -> PathBuf {
    if let Some(p) = &loaded.config.signing_key_path {
        return p.clone();
    }
    auditlog_store::sqlite::path_from_url(&loaded.config.database_url)
        .and_then(|db| db.parent().map(|d| d.join("checkpoint.key")))
        .unwrap_or_else(|| PathBuf::from("auditlog-data/checkpoint.key"))
}

fn read(path: &Path) -> anyhow::Result<NoteSigner> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the signing key {}", path.display()))?;
    NoteSigner::from_private_key_string(text.trim())
        .map_err(|e| anyhow::anyhow!("the signing key {} is not a signed-note private key: {e}", path.display()))
}

/// Loads the key, refusing one whose name differs from a configured origin.
pub fn load(loaded: &Loaded) -> anyhow::Result<NoteSigner> {
    let path = path(loaded);
    if !path.exists() {
        return Err(UsageError(format!(
            "no signing key at {} yet: `auditlog serve` (or any command that writes events) creates it",
            path.display()
        ))
        .into());
    }
    let signer = read(&path)?;
    if let Some(origin) = &loaded.config.checkpoint_origin
        && origin != signer.name()
    {
        return Err(UsageError(format!(
            "checkpoint_origin is {origin:?} but the signing key {} belongs to {:?}; a log keeps its origin",
            path.display(),
            signer.name()
        ))
        .into());
    }
    Ok(signer)
}

/// Loads the key, generating it first when there is none.
pub fn load_or_create(loaded: &Loaded) -> anyhow::Result<NoteSigner> {
    let path = path(loaded);
    if !path.exists() {
        let signer = NoteSigner::generate(&loaded.config.origin())
            .map_err(|e| anyhow::anyhow!("cannot generate a signing key: {e}"))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        crate::commands::token::write_private(&path, &format!("{}\n", signer.to_private_key_string()))?;
        eprintln!("generated the checkpoint signing key {} (origin {})", path.display(), signer.name());
    }
    load(loaded)
}
