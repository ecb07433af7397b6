//! The sequencer: integrates committed events into the tree and signs
//! checkpoints, in rounds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use auditlog_core::Timestamp;
use auditlog_merkle::{Checkpoint, NoteSigner};

use crate::proof::root_at;
use crate::{Integration, StoredCheckpoint, TreeError, TreeStore};

/// Integrates committed events into the tree and signs checkpoints.
///
/// Run it where events are written: `auditlog serve` runs one; the CLI's
/// writing commands run a final round. With several servers on one
/// PostgreSQL every server runs one and the store's lock lets exactly one
/// integrate at a time; when that server dies its lock goes with its
/// transaction and the next round of another server takes over.
pub struct Sequencer<S: ?Sized> {
    store: Arc<S>,
    signer: Arc<NoteSigner>,
    /// Shortest time between two checkpoints.
    pub checkpoint_interval: Duration,
    /// Most leaves integrated per transaction.
    pub batch: usize,
    last_checkpoint: Option<Instant>,
}

impl<S: ?Sized> std::fmt::Debug for Sequencer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer").field("origin", &self.signer.name()).finish()
    }
}

/// What one [`Sequencer::round`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    pub added: u64,
    pub size: u64,
    pub checkpointed: bool,
    pub busy: bool,
}

impl<S: TreeStore + ?Sized> Sequencer<S> {
    pub fn new(store: Arc<S>, signer: Arc<NoteSigner>) -> Self {
        Sequencer { store, signer, checkpoint_interval: Duration::from_secs(1), batch: 10_000, last_checkpoint: None }
    }

    /// The checkpoint origin (the signing key's name).
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// Integrates every pending event, then signs a checkpoint when the tree
    /// grew past the latest one and the rate limit allows (or `force`).
    pub async fn round(&mut self, force_checkpoint: bool) -> Result<Round, S::Error> {
        let mut round = Round::default();
        loop {
            match self.store.integrate(self.batch).await? {
                Integration::Busy => {
                    round.busy = true;
                    break;
                }
                Integration::Integrated { size, added, .. } => {
                    round.added += added;
                    round.size = size;
                    if (added as usize) < self.batch {
                        break;
                    }
                }
            }
        }
        if round.busy {
            return Ok(round);
        }
        let due = force_checkpoint || self.last_checkpoint.is_none_or(|t| t.elapsed() >= self.checkpoint_interval);
        if due {
            round.checkpointed = self.checkpoint().await?;
            if round.checkpointed {
                self.last_checkpoint = Some(Instant::now());
            }
        }
        Ok(round)
    }

    /// Signs and stores a checkpoint of the current tree unless the latest
    /// checkpoint already has this size. Returns whether it signed one.
    pub async fn checkpoint(&self) -> Result<bool, S::Error> {
        let size = self.store.tree_size().await?;
        let latest = self.store.checkpoint(None).await?;
        if size == 0 || latest.as_ref().is_some_and(|c| c.size >= size) {
            return Ok(false);
        }
        let root = root_at(self.store.as_ref(), size).await?;
        let note = self
            .signer
            .sign(&Checkpoint::new(self.signer.name(), size, root))
            .map_err(|e| S::Error::from(TreeError::Sign(e)))?;
        self.store.save_checkpoint(&StoredCheckpoint { size, root, note, created: Timestamp::now() }).await?;
        Ok(true)
    }

    /// Runs rounds until `stop` resolves: after every `wake` notification
    /// (the caller hands the same `Notify` to the store it opens, which
    /// notifies it after each commit of its own) and at least every `tick`.
    pub async fn run(
        mut self,
        wake: Arc<tokio::sync::Notify>,
        tick: Duration,
        stop: impl std::future::Future<Output = ()> + Send,
    ) {
        tokio::pin!(stop);
        loop {
            if let Err(e) = self.round(false).await {
                tracing::warn!(error = %e, "transparency log: integration round failed; retrying");
            }
            tokio::select! {
                () = &mut stop => break,
                () = wake.notified() => {}
                () = tokio::time::sleep(tick) => {}
            }
        }
        // A last round so that what was acknowledged is integrated and signed.
        if let Err(e) = self.round(true).await {
            tracing::warn!(error = %e, "transparency log: final integration round failed");
        }
    }
}
