//! The tamper-evident log: every stored event is a leaf of an RFC 6962
//! Merkle tree, integrated after its commit by a [`Sequencer`], and signed
//! checkpoints commit to the tree's size and root.
//!
//! Leaf hash = SHA-256(0x00 || RFC 8785 canonical JSON of the event's stored
//! fields) ([`leaf_hash_of`]). Stores keep every perfect-subtree node, so an
//! inclusion or consistency proof for any tree size needs O(log n) stored
//! nodes ([`inclusion_proof`], [`consistency_proof`]). Retention deletes an
//! event's payload but keeps its leaf, so proofs still verify and
//! [`verify_database`] reports such leaves as expired, never as tampering.
//!
//! Architecture invariant: the integration order is the order in which
//! committed events become visible to the sequencer (commit order on SQLite,
//! which has one writer); indexes are assigned by exactly one sequencer at a
//! time, in the same transaction that removes the events from the pending
//! queue, so there are no gaps and no duplicates even across servers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use auditlog_core::{Event, Timestamp};
use auditlog_merkle::{Checkpoint, CompactRange, NodeId, NoteSigner, NoteVerifier};
use uuid::Uuid;

pub use auditlog_merkle::Hash;

use crate::error::StoreError;
use crate::store::Store;

/// The leaf hash of an event: what the transparency log commits to.
pub fn leaf_hash_of(event: &Event) -> Hash {
    auditlog_merkle::leaf_hash(&event.canonical_json())
}

/// One leaf of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub index: u64,
    pub event_id: Uuid,
    pub hash: Hash,
    /// The event's `created` (kept when the payload expires).
    pub created: Timestamp,
    /// When the leaf entered the tree.
    pub integrated: Timestamp,
    /// When retention removed the event's payload, if it did.
    pub expired: Option<Timestamp>,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The C2SP signed note.
    pub note: String,
    pub created: Timestamp,
}

/// The outcome of one integration round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integration {
    /// `added` pending events became leaves; the tree now has `size` leaves.
    Integrated { size: u64, added: u64, root: Hash },
    /// Another sequencer holds the lock right now (several servers on one
    /// PostgreSQL); nothing was done.
    Busy,
}

/// What a store writes for one integration round.
#[derive(Debug, Clone, Default)]
pub struct Appended {
    pub leaves: Vec<Leaf>,
    /// Completed interior nodes (level >= 1); level 0 are the leaves.
    pub nodes: Vec<(NodeId, Hash)>,
}

/// A committed event waiting to become a leaf: its id, time and leaf hash
/// (computed from the event as it was written, in the writing transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingLeaf {
    pub event_id: Uuid,
    pub created: Timestamp,
    pub hash: Hash,
}

impl From<&Event> for PendingLeaf {
    fn from(e: &Event) -> Self {
        PendingLeaf { event_id: e.id, created: e.created, hash: leaf_hash_of(e) }
    }
}

/// Appends `pending` (in integration order) to the tree whose frontier is
/// `range`: the store-independent half of an integration round.
pub fn append(range: &mut CompactRange, pending: &[PendingLeaf], now: Timestamp) -> Result<Appended, StoreError> {
    let mut out = Appended::default();
    for p in pending {
        let index = range.size();
        range
            .append(p.hash, |id, h| {
                if id.level > 0 {
                    out.nodes.push((id, *h));
                }
            })
            .map_err(StoreError::internal)?;
        out.leaves.push(Leaf {
            index,
            event_id: p.event_id,
            hash: p.hash,
            created: p.created,
            integrated: now,
            expired: None,
        });
    }
    Ok(out)
}

/// Rebuilds the compact range of a tree of `size` leaves from stored nodes.
pub fn range_from_nodes(size: u64, hashes: Vec<Option<Hash>>) -> Result<CompactRange, StoreError> {
    let hashes: Option<Vec<Hash>> = hashes.into_iter().collect();
    let hashes =
        hashes.ok_or_else(|| StoreError::Internal(format!("the stored tree of size {size} lacks frontier nodes")))?;
    CompactRange::from_parts(size, hashes).map_err(StoreError::internal)
}

/// Why a proof cannot be given.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("no audit event with id {0}")]
    UnknownEvent(Uuid),
    #[error("event {0} is not yet integrated into the log; retry in a second")]
    NotIntegrated(Uuid),
    #[error("tree size {requested} is beyond the log's current size {size}")]
    BeyondTree { requested: u64, size: u64 },
    #[error("event {event} is leaf {index}, which a tree of size {size} does not contain")]
    NotInTree { event: Uuid, index: u64, size: u64 },
    #[error("invalid sizes: {0}")]
    Sizes(String),
    #[error("no signed checkpoint yet; retry in a second")]
    NoCheckpoint,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An inclusion proof for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub event_id: Uuid,
    pub leaf_index: u64,
    pub leaf_hash: Hash,
    pub tree_size: u64,
    /// The root of the tree of `tree_size` leaves (computed from stored nodes).
    pub root: Hash,
    pub proof: Vec<Hash>,
    /// The signed checkpoint of exactly this size, when there is one.
    pub checkpoint: Option<String>,
}

async fn fetch(store: &dyn Store, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
    let got = store.tree_nodes(ids.to_vec()).await?;
    got.into_iter()
        .zip(ids)
        .map(|(h, id)| h.ok_or_else(|| StoreError::Internal(format!("stored tree node {id} is missing"))))
        .collect()
}

/// The root of the tree of the first `size` leaves, from stored nodes.
pub async fn root_at(store: &dyn Store, size: u64) -> Result<Hash, StoreError> {
    if size == 0 {
        return Ok(auditlog_merkle::empty_root());
    }
    let ids = auditlog_merkle::range_nodes(0, size);
    let hashes = fetch(store, &ids).await?;
    // The range's perfect subtrees, left to right, fold right to left.
    let mut it = hashes.into_iter().rev();
    let mut acc = it.next().unwrap_or_else(auditlog_merkle::empty_root);
    for h in it {
        acc = auditlog_merkle::node_hash(&h, &acc);
    }
    Ok(acc)
}

/// The size proofs default to: the latest signed checkpoint's.
pub async fn latest_size(store: &dyn Store) -> Result<Option<u64>, StoreError> {
    Ok(store.checkpoint(None).await?.map(|c| c.size))
}

/// The proof hashes of leaf `index` in the tree of `tree_size` leaves, read
/// from the stored nodes (the caller has checked `index < tree_size <=` the
/// tree's size). Exports call it once per event against one checkpoint, so
/// it reads nothing else.
pub async fn inclusion_path(store: &dyn Store, index: u64, tree_size: u64) -> Result<Vec<Hash>, ProofError> {
    let plan = auditlog_merkle::inclusion_proof_plan(index, tree_size).map_err(|e| ProofError::Sizes(e.to_string()))?;
    Ok(plan.assemble(&fetch(store, plan.node_ids()).await?).map_err(|e| StoreError::Internal(e.to_string()))?)
}

pub async fn inclusion_proof(
    store: &dyn Store,
    id: Uuid,
    tree_size: Option<u64>,
) -> Result<InclusionProof, ProofError> {
    let Some(leaf) = store.leaf_for_event(id).await? else {
        return Err(match store.get(id).await? {
            Some(_) => ProofError::NotIntegrated(id),
            None => ProofError::UnknownEvent(id),
        });
    };
    let size = store.tree_size().await?;
    let tree_size = match tree_size {
        Some(n) => n,
        None => latest_size(store).await?.ok_or(ProofError::NoCheckpoint)?,
    };
    if tree_size > size {
        return Err(ProofError::BeyondTree { requested: tree_size, size });
    }
    if leaf.index >= tree_size {
        return Err(ProofError::NotInTree { event: id, index: leaf.index, size: tree_size });
    }
    let proof = inclusion_path(store, leaf.index, tree_size).await?;
    let root = root_at(store, tree_size).await?;
    let checkpoint = store.checkpoint(Some(tree_size)).await?.map(|c| c.note);
    Ok(InclusionProof {
        event_id: id,
        leaf_index: leaf.index,
        leaf_hash: leaf.hash,
        tree_size,
        root,
        proof,
        checkpoint,
    })
}

/// A consistency proof between two tree sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub from_root: Hash,
    pub to_root: Hash,
    pub proof: Vec<Hash>,
}

pub async fn consistency_proof(store: &dyn Store, from: u64, to: Option<u64>) -> Result<ConsistencyProof, ProofError> {
    let size = store.tree_size().await?;
    let to = match to {
        Some(n) => n,
        None => latest_size(store).await?.ok_or(ProofError::NoCheckpoint)?,
    };
    if to > size {
        return Err(ProofError::BeyondTree { requested: to, size });
    }
    if from > to {
        return Err(ProofError::Sizes(format!("from ({from}) must not exceed to ({to})")));
    }
    let plan = auditlog_merkle::consistency_proof_plan(from, to).map_err(|e| ProofError::Sizes(e.to_string()))?;
    let proof =
        plan.assemble(&fetch(store, plan.node_ids()).await?).map_err(|e| StoreError::Internal(e.to_string()))?;
    Ok(ConsistencyProof { from, to, from_root: root_at(store, from).await?, to_root: root_at(store, to).await?, proof })
}

/// Integrates committed events into the tree and signs checkpoints.
///
/// Run it where events are written: `auditlog serve` runs one; the CLI's
/// writing commands run a final round. With several servers on one
/// PostgreSQL every server runs one and the store's lock lets exactly one
/// integrate at a time; when that server dies its lock goes with its
/// transaction and the next round of another server takes over.
pub struct Sequencer {
    store: Arc<dyn Store>,
    signer: Arc<NoteSigner>,
    /// Shortest time between two checkpoints.
    pub checkpoint_interval: Duration,
    /// Most leaves integrated per transaction.
    pub batch: usize,
    last_checkpoint: Option<Instant>,
}

impl std::fmt::Debug for Sequencer {
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

impl Sequencer {
    pub fn new(store: Arc<dyn Store>, signer: Arc<NoteSigner>) -> Self {
        Sequencer { store, signer, checkpoint_interval: Duration::from_secs(1), batch: 10_000, last_checkpoint: None }
    }

    /// The checkpoint origin (the signing key's name).
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// Integrates every pending event, then signs a checkpoint when the tree
    /// grew past the latest one and the rate limit allows (or `force`).
    pub async fn round(&mut self, force_checkpoint: bool) -> Result<Round, StoreError> {
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
    pub async fn checkpoint(&self) -> Result<bool, StoreError> {
        let size = self.store.tree_size().await?;
        let latest = self.store.checkpoint(None).await?;
        if size == 0 || latest.as_ref().is_some_and(|c| c.size >= size) {
            return Ok(false);
        }
        let root = root_at(self.store.as_ref(), size).await?;
        let note = self
            .signer
            .sign(&Checkpoint::new(self.signer.name(), size, root))
            .map_err(|e| StoreError::Internal(format!("cannot sign a checkpoint: {e}")))?;
        self.store.save_checkpoint(&StoredCheckpoint { size, root, note, created: Timestamp::now() }).await?;
        Ok(true)
    }

    /// Runs rounds until `stop` resolves: after every `wake` notification
    /// (the store's commits) and at least every `tick`.
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

/// One finding of [`verify_database`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The event row no longer hashes to its leaf.
    ContentChanged { event_id: Uuid, leaf_index: u64 },
    /// The leaf's event row is gone and retention did not remove it.
    Missing { event_id: Uuid, leaf_index: u64 },
    /// An event row that is neither a leaf nor waiting to become one.
    UnexpectedRow { event_id: Uuid },
    /// Leaves whose position in the tree differs from when it was built.
    OrderChanged { leaf_index: u64, event_id: Uuid },
    /// The tree recomputed from the stored events does not have the signed
    /// checkpoint's root.
    RootMismatch { size: u64, expected: Hash, actual: Hash },
    /// The checkpoint's signature does not verify with the given key.
    BadSignature { size: u64, reason: String },
    /// Leaf indexes are not consecutive from 0.
    Gap { expected: u64, found: u64 },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex = |h: &Hash| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
        match self {
            Finding::ContentChanged { event_id, leaf_index } => {
                write!(f, "leaf {leaf_index}: event {event_id}: content changed")
            }
            Finding::Missing { event_id, leaf_index } => write!(f, "leaf {leaf_index}: event {event_id}: missing"),
            Finding::UnexpectedRow { event_id } => write!(f, "event {event_id}: unexpected row (not in the log)"),
            Finding::OrderChanged { leaf_index, event_id } => {
                write!(f, "leaf {leaf_index}: event {event_id}: order changed")
            }
            Finding::RootMismatch { size, expected, actual } => write!(
                f,
                "tree of size {size}: root {} does not match the signed checkpoint's {}",
                hex(actual),
                hex(expected)
            ),
            Finding::BadSignature { size, reason } => {
                write!(f, "checkpoint of size {size}: signature does not verify: {reason}")
            }
            Finding::Gap { expected, found } => write!(f, "leaf indexes jump from {expected} to {found}"),
        }
    }
}

/// The result of verifying a database against its latest signed checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Size and root of the latest checkpoint (when there is one).
    pub checkpoint: Option<(u64, Hash)>,
    pub leaves: u64,
    pub expired: u64,
    /// Events committed but not yet integrated (not tampering).
    pub pending: u64,
    pub findings: Vec<Finding>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Recomputes every stored event's leaf hash and the tree root, and compares
/// them with the stored leaves and the latest signed checkpoint (verified
/// with `verifier`). An expired leaf counts as expired only if it is older
/// than `expiry_floor` (no retention period expires younger events);
/// otherwise its absence is a finding.
pub async fn verify_database(
    store: &dyn Store,
    verifier: &NoteVerifier,
    expiry_floor: Option<Timestamp>,
) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport::default();
    let latest = store.checkpoint(None).await?;
    let mut signed: Option<(u64, Hash)> = None;
    if let Some(cp) = &latest {
        match verifier.verify(&cp.note) {
            Ok(c) if c.size == cp.size && c.root == cp.root => signed = Some((c.size, c.root)),
            Ok(c) => report.findings.push(Finding::BadSignature {
                size: cp.size,
                reason: format!("the note says size {} root mismatch with the stored row", c.size),
            }),
            Err(e) => report.findings.push(Finding::BadSignature { size: cp.size, reason: e.to_string() }),
        }
    }
    report.checkpoint = signed;
    report.pending = store.pending_count().await?;

    // Leaves in order; each compared with its event, and folded into a
    // compact range to recompute the root at the checkpoint's size.
    let mut range = CompactRange::new();
    let mut root_at_checkpoint = None;
    let mut from = 0u64;
    // Level-1 nodes as stored, to localise reordered leaves.
    let mut recomputed_pairs: Vec<(u64, Hash, Hash, Uuid, Uuid)> = Vec::new();
    let mut pending_left: Option<(Hash, Uuid)> = None;
    loop {
        let batch = store.leaves_with_events(from, 10_000).await?;
        if batch.is_empty() {
            break;
        }
        for (leaf, event) in &batch {
            if leaf.index != report.leaves {
                report.findings.push(Finding::Gap { expected: report.leaves, found: leaf.index });
            }
            let hash = match event {
                Some(e) => {
                    let h = leaf_hash_of(e);
                    if h != leaf.hash {
                        report
                            .findings
                            .push(Finding::ContentChanged { event_id: leaf.event_id, leaf_index: leaf.index });
                    }
                    h
                }
                None => {
                    let expired = leaf.expired.is_some() && expiry_floor.is_none_or(|floor| leaf.created < floor);
                    if expired {
                        report.expired += 1;
                    } else {
                        report.findings.push(Finding::Missing { event_id: leaf.event_id, leaf_index: leaf.index });
                    }
                    leaf.hash
                }
            };
            range.append(hash, |_, _| {}).map_err(StoreError::internal)?;
            report.leaves += 1;
            if let Some((size, _)) = signed
                && range.size() == size
            {
                root_at_checkpoint = Some(range.root());
            }
            match pending_left.take() {
                None => pending_left = Some((hash, leaf.event_id)),
                Some((left, left_id)) => {
                    recomputed_pairs.push((leaf.index / 2, left, hash, left_id, leaf.event_id));
                }
            }
        }
        from = batch.last().map_or(from, |(l, _)| l.index + 1);
    }

    if let Some((size, expected)) = signed {
        let actual = match root_at_checkpoint {
            Some(r) => r,
            None if size == 0 => auditlog_merkle::empty_root(),
            // The stored tree is shorter than the signed one: truncated.
            None => range.root(),
        };
        if actual != expected || report.leaves < size {
            // Localise: level-1 nodes recomputed from the events vs as stored.
            let content_problem = report
                .findings
                .iter()
                .any(|f| matches!(f, Finding::ContentChanged { .. } | Finding::Missing { .. } | Finding::Gap { .. }));
            if !content_problem {
                let ids: Vec<NodeId> = recomputed_pairs.iter().map(|(k, ..)| NodeId::new(1, *k)).collect();
                let stored = store.tree_nodes(ids).await?;
                for ((k, l, r, lid, rid), s) in recomputed_pairs.iter().zip(stored) {
                    if s.is_some_and(|s| s != auditlog_merkle::node_hash(l, r)) {
                        report.findings.push(Finding::OrderChanged { leaf_index: 2 * k, event_id: *lid });
                        report.findings.push(Finding::OrderChanged { leaf_index: 2 * k + 1, event_id: *rid });
                    }
                }
            }
            report.findings.push(Finding::RootMismatch { size, expected, actual });
        }
    }

    for id in store.unlogged_events(1000).await? {
        report.findings.push(Finding::UnexpectedRow { event_id: id });
    }
    Ok(report)
}
