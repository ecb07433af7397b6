//! `auditlog verify`: check the transparency log.
//!
//! - `--database` recomputes every stored event's leaf hash and the tree
//!   root and compares them with the stored leaves and the latest signed
//!   checkpoint, reporting each mismatch with its event id and leaf index.
//! - `--url URL --state FILE` is an independent monitor: it verifies the
//!   server's latest checkpoint signature, proves it consistent with the last
//!   checkpoint it saw (kept in FILE), and fails loudly on a fork or a
//!   rollback.
//! - `--export FILE --checkpoint FILE` works offline: it verifies the
//!   checkpoint's signature with the verifier key, recomputes each exported
//!   event's leaf hash, and checks its inclusion proof (written by `auditlog
//!   export --proofs`) against the checkpoint's root. No database, no
//!   server: a third party can run it on what it was sent.
//! - `--export DIR` checks a bundle written by `auditlog export --verifiable`
//!   (see [`crate::bundle`]): the whole log at a signed checkpoint, every
//!   edited, added, removed or reordered line named by its line number,
//!   event id and leaf index. The key is `--key`, else the bundle's own
//!   `verifier.key`, which the user is told to compare with the log's
//!   published key.
//!
//! Exit codes: 0 verified, 1 tampering found (or the check could not be
//! completed), 2 bad usage.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::Context;
use auditlog_core::{Event, Timestamp};
use auditlog_merkle::{Checkpoint, Hash, NoteVerifier, verify_consistency, verify_inclusion};
use auditlog_store::RetentionPolicy;
use auditlog_transparency::verify_database;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::config::Loaded;
use crate::{Failed, UsageError, keys};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["database", "url", "export"])))]
pub struct Args {
    /// Verify the configured database against its latest signed checkpoint.
    #[arg(long)]
    database: bool,
    /// Monitor a server (its base URL, e.g. http://127.0.0.1:5000).
    #[arg(long, requires = "state", value_name = "URL")]
    url: Option<String>,
    /// The monitor's memory: the last checkpoint seen (created on first use).
    #[arg(long, requires = "url", value_name = "FILE")]
    state: Option<PathBuf>,
    /// Offline check of an export: a FILE written by `auditlog export
    /// --proofs` (with --checkpoint), or a bundle DIR written by `auditlog
    /// export --verifiable`.
    #[arg(long, value_name = "FILE|DIR")]
    export: Option<PathBuf>,
    /// The signed checkpoint that an --export FILE's proofs were made against.
    #[arg(long, requires = "export", value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Verifier key `<origin>+<id>+<key>` (default: the local signing key's
    /// public half for --database and --export FILE; the bundle's
    /// verifier.key for --export DIR; the one saved in --state for --url).
    #[arg(long, value_name = "VKEY")]
    key: Option<String>,
    /// API token with the verify right, for --url.
    #[arg(long, env = "AUDITLOG_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

pub async fn run(loaded: &Loaded, args: Args) -> anyhow::Result<()> {
    match (&args.url, &args.state, &args.export, &args.checkpoint) {
        (Some(url), Some(state), _, _) => monitor(url, state, args.key.as_deref(), args.token.as_deref()).await,
        (_, _, Some(export), checkpoint) if export.is_dir() => {
            if checkpoint.is_some() {
                return Err(UsageError(format!(
                    "--checkpoint is for an export FILE written with --proofs; the bundle {} carries its own checkpoint",
                    export.display()
                ))
                .into());
            }
            bundle(export, args.key.as_deref())
        }
        (_, _, Some(export), Some(checkpoint)) => offline(loaded, export, checkpoint, args.key.as_deref()),
        (_, _, Some(export), None) => {
            if !export.exists() {
                anyhow::bail!("cannot open {}: no such file or directory", export.display());
            }
            Err(UsageError(format!(
                "--export {} needs --checkpoint FILE (the checkpoint `export --proofs` wrote); a bundle written by \
                 `export --verifiable` is a directory",
                export.display()
            ))
            .into())
        }
        _ => database(loaded, args.key.as_deref()).await,
    }
}

/// `--export DIR`: a bundle, with `--key` or the bundle's own key.
fn bundle(dir: &Path, key: Option<&str>) -> anyhow::Result<()> {
    let own = auditlog_transparency::bundle::bundle_key(dir)?;
    let verifier = match (key, &own) {
        (Some(k), _) => {
            let v = verifier(k)?;
            println!("key: {k} (from --key)");
            if let Some(own) = own.as_deref().filter(|o| *o != k) {
                println!(
                    "note: the bundle's own {} is a different key: {own}",
                    auditlog_transparency::bundle::VERIFIER_KEY
                );
            }
            v
        }
        (None, Some(own)) => {
            let v = NoteVerifier::from_verifier_key_string(own).map_err(|e| {
                anyhow::anyhow!(
                    "{} is not a verifier key ({e}); give the log's key with --key",
                    dir.join(auditlog_transparency::bundle::VERIFIER_KEY).display()
                )
            })?;
            println!(
                "key: {own} (the bundle's own {}): compare it with the log's published verifier key (`auditlog key \
                 show` where the log is kept); a bundle proves nothing against a key it brings itself",
                auditlog_transparency::bundle::VERIFIER_KEY
            );
            v
        }
        (None, None) => {
            return Err(UsageError(format!(
                "{} has no {}: give the log's verifier key with --key",
                dir.display(),
                auditlog_transparency::bundle::VERIFIER_KEY
            ))
            .into());
        }
    };
    crate::bundle::verify(dir, &verifier)
}

fn verifier(key: &str) -> anyhow::Result<NoteVerifier> {
    NoteVerifier::from_verifier_key_string(key)
        .map_err(|e| UsageError(format!("--key {key:?} is not a verifier key: {e}")).into())
}

async fn database(loaded: &Loaded, key: Option<&str>) -> anyhow::Result<()> {
    let verifier = match key {
        Some(k) => verifier(k)?,
        None => keys::load(loaded)?.verifier(),
    };
    let store = loaded.open_store().await?;
    // No retention period expires events younger than the shortest one's cutoff.
    let policy = RetentionPolicy::from_config(&loaded.config);
    let now = Timestamp::now();
    let floor = std::iter::once(policy.default)
        .chain(policy.per_action.values().copied())
        .filter_map(|p| auditlog_store::retention::cutoff(p, now))
        .max();
    let report = verify_database(store.as_ref(), &verifier, floor).await?;
    for f in &report.findings {
        println!("TAMPERING: {f}");
    }
    let checkpoint = match report.checkpoint {
        Some((size, _)) => format!("the signed checkpoint of size {size}"),
        None => "no signed checkpoint yet".into(),
    };
    let summary = format!(
        "{} leaves ({} expired by retention), {} events pending integration, against {checkpoint}",
        report.leaves, report.expired, report.pending
    );
    if report.is_ok() {
        println!("verified: {summary}");
        Ok(())
    } else {
        eprintln!("verify: {} findings in {summary}", report.findings.len());
        Err(Failed.into())
    }
}

/// What the monitor remembers between runs.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    verifier_key: String,
    size: u64,
    root: String,
    note: String,
    checked: String,
}

fn read_state(path: &Path) -> anyhow::Result<Option<State>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(
            serde_json::from_str(&text)
                .map_err(|e| UsageError(format!("{} is not a monitor state file: {e}", path.display())))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn root_of(b64: &str) -> anyhow::Result<Hash> {
    let raw = B64.decode(b64).map_err(|e| anyhow::anyhow!("bad base64 hash {b64:?}: {e}"))?;
    raw.try_into().map_err(|_| anyhow::anyhow!("a hash of the wrong length: {b64:?}"))
}

#[derive(Debug, Deserialize)]
struct Consistency {
    proof: Vec<String>,
}

/// Prints a tampering finding; the verdict is then `Failed` (exit 1).
pub(crate) fn tampering<T>(message: String) -> anyhow::Result<T> {
    println!("TAMPERING: {message}");
    Err(Failed.into())
}

/// Reads the signed checkpoint at `path` and checks it with `verifier`: its
/// signature, and that it is the key's log.
pub(crate) fn signed_checkpoint(path: &Path, verifier: &NoteVerifier) -> anyhow::Result<Checkpoint> {
    let note = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let checkpoint = match verifier.verify(&note) {
        Ok(c) => c,
        Err(e) => {
            return tampering(format!("the checkpoint {} is not signed by {}: {e}", path.display(), verifier.name()));
        }
    };
    if checkpoint.origin != verifier.name() {
        return tampering(format!(
            "the checkpoint {} is of the log {:?}, but the key is {:?}'s",
            path.display(),
            checkpoint.origin,
            verifier.name()
        ));
    }
    Ok(checkpoint)
}

async fn monitor(url: &str, state_path: &Path, key: Option<&str>, token: Option<&str>) -> anyhow::Result<()> {
    let state = read_state(state_path)?;
    let key = match (key, &state) {
        (Some(k), Some(s)) if k != s.verifier_key => {
            return Err(UsageError(format!(
                "--key differs from the key in {} ({}); a monitor follows one log",
                state_path.display(),
                s.verifier_key
            ))
            .into());
        }
        (Some(k), _) => k.to_owned(),
        (None, Some(s)) => s.verifier_key.clone(),
        (None, None) => {
            return Err(UsageError(format!(
                "first run with {}: give the log's verifier key with --key (from `auditlog key show`)",
                state_path.display()
            ))
            .into());
        }
    };
    let verifier = verifier(&key)?;
    let base = url.trim_end_matches('/');
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build()?;
    let get = |path: String| {
        let mut req = client.get(format!("{base}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req
    };
    let response =
        get("/api/audit-logs/checkpoint".into()).send().await.with_context(|| format!("cannot reach {base}"))?;
    if !response.status().is_success() {
        anyhow::bail!(
            "{base} answered {} for its checkpoint: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
    }
    let note = response.text().await?;
    let checkpoint = match verifier.verify(&note) {
        Ok(c) => c,
        Err(e) => return tampering(format!("the checkpoint from {base} does not verify with {key}: {e}")),
    };
    let (size, root) = (checkpoint.size, checkpoint.root);
    if let Some(old) = &state {
        let old_root = root_of(&old.root)?;
        if size < old.size {
            return tampering(format!(
                "rollback: the log shrank from size {} (seen {}) to {size}",
                old.size, old.checked
            ));
        }
        if size == old.size && root != old_root {
            return tampering(format!("fork: two different roots for size {size}"));
        }
        if size > old.size {
            let r = get(format!("/api/audit-logs/consistency?from={}&to={size}", old.size))
                .send()
                .await
                .with_context(|| format!("cannot reach {base}"))?;
            if !r.status().is_success() {
                anyhow::bail!(
                    "{base} answered {} for a consistency proof: {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                );
            }
            let c: Consistency = r.json().await.context("unreadable consistency proof")?;
            let proof = c.proof.iter().map(|h| root_of(h)).collect::<anyhow::Result<Vec<_>>>()?;
            if let Err(e) = verify_consistency(old.size, size, &proof, &old_root, &root) {
                return tampering(format!(
                    "fork: the log of size {size} is not an extension of the one of size {} seen {}: {e}",
                    old.size, old.checked
                ));
            }
        }
    }
    let new = State { verifier_key: key, size, root: B64.encode(root), note, checked: Timestamp::now().to_string() };
    let text = serde_json::to_string_pretty(&new)?;
    let tmp = state_path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, state_path).with_context(|| format!("cannot write {}", state_path.display()))?;
    match state {
        Some(old) => println!(
            "verified: {} at size {size}, consistent with size {} seen {}",
            checkpoint.origin, old.size, old.checked
        ),
        None => println!(
            "verified: {} at size {size} (first checkpoint seen; remembered in {})",
            checkpoint.origin,
            state_path.display()
        ),
    }
    Ok(())
}

/// The `inclusion` member `auditlog export --proofs` adds to each line.
#[derive(Debug, Deserialize)]
struct Inclusion {
    leaf_index: u64,
    tree_size: u64,
    hashes: Vec<String>,
}

/// Checks one exported line against the checkpoint; `Err` says why it fails.
fn check_line(line: &str, checkpoint: &Checkpoint, seen: &mut HashMap<u64, String>) -> Result<String, String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let id = value.get("id").and_then(|v| v.as_str()).unwrap_or("?").to_owned();
    let event: Event = Event::deserialize(&value).map_err(|e| format!("event {id}: not an event: {e}"))?;
    let Some(inclusion) = value.get("inclusion") else {
        return Err(format!("event {id}: no inclusion proof (it was not in the log's checkpoint when exported)"));
    };
    let inclusion: Inclusion =
        Inclusion::deserialize(inclusion).map_err(|e| format!("event {id}: unreadable inclusion proof: {e}"))?;
    let at = format!("event {id}, leaf {}", inclusion.leaf_index);
    if inclusion.tree_size != checkpoint.size {
        return Err(format!(
            "{at}: the proof is for tree size {}, the checkpoint has size {}",
            inclusion.tree_size, checkpoint.size
        ));
    }
    if let Some(other) = seen.insert(inclusion.leaf_index, id.clone()) {
        return Err(format!("{at}: the same leaf as event {other} (order changed or duplicated)"));
    }
    let hashes = inclusion.hashes.iter().map(|h| root_of(h)).collect::<anyhow::Result<Vec<Hash>>>();
    let hashes = hashes.map_err(|e| format!("{at}: {e}"))?;
    let leaf = auditlog_merkle::leaf_hash(&event.canonical_json());
    verify_inclusion(&leaf, inclusion.leaf_index, inclusion.tree_size, &hashes, &checkpoint.root).map_err(|_| {
        format!("{at}: content changed or not in the log (its proof does not lead to the checkpoint's root)")
    })?;
    Ok(id)
}

fn offline(loaded: &Loaded, export: &Path, checkpoint: &Path, key: Option<&str>) -> anyhow::Result<()> {
    let verifier = match key {
        Some(k) => verifier(k)?,
        None => keys::load(loaded)?.verifier(),
    };
    let checkpoint = signed_checkpoint(checkpoint, &verifier)?;
    let file = std::fs::File::open(export).with_context(|| format!("cannot open {}", export.display()))?;
    let (mut ok, mut failed) = (0u64, 0u64);
    let mut seen = HashMap::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {} at line {}", export.display(), i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        match check_line(&line, &checkpoint, &mut seen) {
            Ok(_) => ok += 1,
            Err(why) => {
                failed += 1;
                println!("FAILED: line {}: {why}", i + 1);
            }
        }
    }
    let summary = format!(
        "{ok} of {} events of {} are in the log {} at size {}",
        ok + failed,
        export.display(),
        checkpoint.origin,
        checkpoint.size
    );
    if failed == 0 {
        println!("verified: {summary}");
        Ok(())
    } else {
        eprintln!("verify: {failed} events failed; {summary}");
        Err(Failed.into())
    }
}
