//! [`IntegrityView`]: what the admin page asks the transparency log — the
//! latest signed checkpoint and whether events are included in it. The
//! server only displays the answers; a provider is plugged in with
//! [`AppState::with_integrity`](crate::AppState::with_integrity). Without
//! one the page shows no integrity information at all, never a made-up
//! status.

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use auditlog_core::Timestamp;
use uuid::Uuid;

/// The latest signed checkpoint, as the page header shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointSummary {
    /// Number of leaves (events) the checkpoint commits to.
    pub tree_size: u64,
    /// When the checkpoint was signed.
    pub signed_at: Timestamp,
}

/// One event's standing against the latest checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventIntegrity {
    /// The event's leaf is in the checkpoint and its inclusion proof
    /// verifies against the checkpoint's root.
    Verified { leaf_index: u64, tree_size: u64 },
    /// Stored after the latest checkpoint was signed; a later one will
    /// include it.
    Pending,
    /// The inclusion proof does not verify: the event or the log changed.
    Failed { reason: String },
}

/// The provider could not answer (its storage failed, say). The page then
/// says the status is unavailable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityError {
    pub message: String,
}

impl fmt::Display for IntegrityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for IntegrityError {}

/// The transparency log as the admin page sees it.
#[async_trait]
pub trait IntegrityView: Send + Sync {
    /// The latest signed checkpoint; `None` before the first one is signed.
    async fn latest_checkpoint(&self) -> Result<Option<CheckpointSummary>, IntegrityError>;

    /// The status of each of `ids` (one call per results page, so that a
    /// page never costs a query per row). An id missing from the answer
    /// shows no status.
    async fn event_statuses(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, EventIntegrity>, IntegrityError>;

    /// The status of one event.
    async fn event_status(&self, id: Uuid) -> Result<Option<EventIntegrity>, IntegrityError> {
        Ok(self.event_statuses(&[id]).await?.remove(&id))
    }
}

/// The transparency log of a store, as the admin page sees it: the latest
/// checkpoint whose signature verifies, and per event an inclusion proof
/// checked against that checkpoint's root with the leaf hash recomputed from
/// the event as stored now.
pub struct LogIntegrity {
    store: std::sync::Arc<dyn auditlog_store::Store>,
    verifier: auditlog_merkle::NoteVerifier,
}

impl LogIntegrity {
    pub fn new(store: std::sync::Arc<dyn auditlog_store::Store>, verifier: auditlog_merkle::NoteVerifier) -> Self {
        LogIntegrity { store, verifier }
    }

    /// The latest checkpoint's size and root, if its signature verifies.
    async fn signed(&self) -> Result<Option<(auditlog_merkle::Checkpoint, Timestamp)>, IntegrityError> {
        let Some(cp) = self.store.checkpoint(None).await.map_err(failed)? else { return Ok(None) };
        match self.verifier.verify(&cp.note) {
            Ok(c) if c.size == cp.size && c.root == cp.root => Ok(Some((c, cp.created))),
            Ok(_) | Err(_) => Err(IntegrityError {
                message: format!("the checkpoint of size {} does not verify with the log's key", cp.size),
            }),
        }
    }

    async fn status(
        &self,
        id: Uuid,
        size: u64,
        root: &auditlog_merkle::Hash,
    ) -> Result<EventIntegrity, IntegrityError> {
        let Some(leaf) = self.store.leaf_for_event(id).await.map_err(failed)? else {
            return Ok(EventIntegrity::Pending);
        };
        if leaf.index >= size {
            return Ok(EventIntegrity::Pending);
        }
        let Some(event) = self.store.get(id).await.map_err(failed)? else {
            return Ok(EventIntegrity::Failed { reason: "the event is gone from the database".into() });
        };
        let hash = auditlog_transparency::leaf_hash_of(&event);
        if hash != leaf.hash {
            return Ok(EventIntegrity::Failed { reason: "the event changed after it was logged".into() });
        }
        let proof = auditlog_transparency::inclusion_proof(self.store.as_ref(), id, Some(size))
            .await
            .map_err(|e| IntegrityError { message: e.to_string() })?;
        Ok(match auditlog_merkle::verify_inclusion(&hash, leaf.index, size, &proof.proof, root) {
            Ok(()) => EventIntegrity::Verified { leaf_index: leaf.index, tree_size: size },
            Err(e) => EventIntegrity::Failed { reason: format!("the inclusion proof does not verify: {e}") },
        })
    }
}

fn failed(e: auditlog_store::StoreError) -> IntegrityError {
    IntegrityError { message: e.to_string() }
}

#[async_trait]
impl IntegrityView for LogIntegrity {
    async fn latest_checkpoint(&self) -> Result<Option<CheckpointSummary>, IntegrityError> {
        Ok(self.signed().await?.map(|(c, at)| CheckpointSummary { tree_size: c.size, signed_at: at }))
    }

    async fn event_statuses(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, EventIntegrity>, IntegrityError> {
        let Some((cp, _)) = self.signed().await? else {
            return Ok(ids.iter().map(|id| (*id, EventIntegrity::Pending)).collect());
        };
        let mut out = HashMap::with_capacity(ids.len());
        for id in ids {
            out.insert(*id, self.status(*id, cp.size, &cp.root).await?);
        }
        Ok(out)
    }
}
