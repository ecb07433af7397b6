//! The tamper-evident log over stored events: every stored event is a leaf of an RFC 6962
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
//!
//! Architecture invariant: this crate knows no database. A store implements
//! [`TreeStore`] (the pending queue, leaves, nodes, checkpoints); the
//! sequencer ([`Sequencer`]), proofs and [`verify_database`] work on any.

pub mod bundle;
mod proof;
mod sequencer;
mod verify;

use async_trait::async_trait;
use auditlog_core::{Event, Timestamp};
use auditlog_merkle::{CompactRange, NodeId};
use uuid::Uuid;

pub use auditlog_merkle::Hash;
pub use proof::{
    ConsistencyProof, InclusionProof, ProofError, consistency_proof, inclusion_path, inclusion_paths, inclusion_proof,
    latest_size, root_at,
};
pub use sequencer::{Round, Sequencer};
pub use verify::{Finding, VerifyReport, verify_database};

/// What the log needs from a store: the pending queue, leaves, tree nodes
/// and checkpoints. Every event a store inserts is queued as pending in the
/// inserting transaction; [`TreeStore::integrate`] turns pending events
/// into leaves. `Error` is the store's own error, which can also say what
/// went wrong with the stored tree ([`TreeError`]).
#[async_trait]
pub trait TreeStore: Send + Sync {
    type Error: std::error::Error + From<TreeError> + Send + Sync + 'static;

    /// One integration round: up to `max` pending events become leaves with
    /// consecutive indexes, in one transaction, under the store's
    /// one-sequencer-at-a-time rule.
    async fn integrate(&self, max: usize) -> Result<Integration, Self::Error>;

    /// Number of leaves in the tree.
    async fn tree_size(&self) -> Result<u64, Self::Error>;

    /// Stored tree nodes (level 0 are leaf hashes); `None` where absent.
    async fn tree_nodes(&self, ids: Vec<NodeId>) -> Result<Vec<Option<Hash>>, Self::Error>;

    /// The leaf of an event, once integrated.
    async fn leaf_for_event(&self, id: Uuid) -> Result<Option<Leaf>, Self::Error>;

    /// The leaves of those of `ids` that are integrated, in no particular
    /// order (one query: a page of events).
    async fn leaves_for_events(&self, ids: Vec<Uuid>) -> Result<Vec<Leaf>, Self::Error>;

    /// Leaves from index `from` on, in order, each with its event's stored
    /// row (`None` when the row is gone).
    async fn leaves_with_events(&self, from: u64, limit: usize) -> Result<Vec<(Leaf, Option<Event>)>, Self::Error>;

    /// Ids of stored events that are neither leaves nor pending (at most `limit`).
    async fn unlogged_events(&self, limit: usize) -> Result<Vec<Uuid>, Self::Error>;

    /// Events committed but not yet integrated.
    async fn pending_count(&self) -> Result<u64, Self::Error>;

    async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<(), Self::Error>;

    /// The checkpoint of exactly `size` leaves, or the latest one for `None`.
    async fn checkpoint(&self, size: Option<u64>) -> Result<Option<StoredCheckpoint>, Self::Error>;
}

/// What is wrong with a stored tree, or with the work on it.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("the stored tree of size {size} lacks frontier nodes")]
    MissingFrontier { size: u64 },
    #[error("stored tree node {0} is missing")]
    MissingNode(NodeId),
    #[error("the stored tree cannot take its next leaf")]
    Range(#[from] auditlog_merkle::RangeError),
    #[error("a proof cannot be assembled from the stored nodes")]
    Proof(#[from] auditlog_merkle::ProofError),
    #[error("cannot sign a checkpoint")]
    Sign(#[from] auditlog_merkle::NoteError),
}

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
pub fn append(range: &mut CompactRange, pending: &[PendingLeaf], now: Timestamp) -> Result<Appended, TreeError> {
    let mut out = Appended::default();
    for p in pending {
        let index = range.size();
        range.append(p.hash, |id, h| {
            if id.level > 0 {
                out.nodes.push((id, *h));
            }
        })?;
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
pub fn range_from_nodes(size: u64, hashes: Vec<Option<Hash>>) -> Result<CompactRange, TreeError> {
    let hashes: Option<Vec<Hash>> = hashes.into_iter().collect();
    let hashes = hashes.ok_or(TreeError::MissingFrontier { size })?;
    Ok(CompactRange::from_parts(size, hashes)?)
}
