//! Inclusion and consistency proofs assembled from a store's nodes: each
//! proof reads the O(log n) perfect-subtree nodes its plan names, in one
//! call to the store.

use auditlog_merkle::NodeId;
use uuid::Uuid;

use crate::{Hash, TreeError, TreeStore};

/// Why a proof cannot be given; `E` is the store's error.
#[derive(Debug, thiserror::Error)]
pub enum ProofError<E> {
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
    Store(E),
}

impl<E> From<E> for ProofError<E> {
    fn from(e: E) -> Self {
        ProofError::Store(e)
    }
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

/// A consistency proof between two tree sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub from_root: Hash,
    pub to_root: Hash,
    pub proof: Vec<Hash>,
}

async fn fetch<S: TreeStore + ?Sized>(store: &S, ids: &[NodeId]) -> Result<Vec<Hash>, S::Error> {
    let got = store.tree_nodes(ids.to_vec()).await?;
    got.into_iter().zip(ids).map(|(h, id)| h.ok_or_else(|| TreeError::MissingNode(*id).into())).collect()
}

/// The root of the tree of the first `size` leaves, from stored nodes.
pub async fn root_at<S: TreeStore + ?Sized>(store: &S, size: u64) -> Result<Hash, S::Error> {
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
pub async fn latest_size<S: TreeStore + ?Sized>(store: &S) -> Result<Option<u64>, S::Error> {
    Ok(store.checkpoint(None).await?.map(|c| c.size))
}

/// The proof hashes of leaf `index` in the tree of `tree_size` leaves, read
/// from the stored nodes (the caller has checked `index < tree_size <=` the
/// tree's size). Exports call it once per event against one checkpoint, so
/// it reads nothing else.
pub async fn inclusion_path<S: TreeStore + ?Sized>(
    store: &S,
    index: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    let plan = auditlog_merkle::inclusion_proof_plan(index, tree_size).map_err(|e| ProofError::Sizes(e.to_string()))?;
    let fetched = fetch(store, plan.node_ids()).await?;
    Ok(plan.assemble(&fetched).map_err(|e| S::Error::from(TreeError::from(e)))?)
}

/// The proof hashes of each of the leaves `indexes` in the tree of
/// `tree_size` leaves (each below it), with every node they need read in
/// one call to the store: a page of events costs one read, not one each.
pub async fn inclusion_paths<S: TreeStore + ?Sized>(
    store: &S,
    indexes: &[u64],
    tree_size: u64,
) -> Result<Vec<Vec<Hash>>, ProofError<S::Error>> {
    let plans = indexes
        .iter()
        .map(|i| auditlog_merkle::inclusion_proof_plan(*i, tree_size).map_err(|e| ProofError::Sizes(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ids: Vec<NodeId> = plans.iter().flat_map(|p| p.node_ids().iter().copied()).collect();
    ids.sort_unstable_by_key(|id| (id.level, id.index));
    ids.dedup();
    let fetched: std::collections::HashMap<NodeId, Hash> = ids.iter().copied().zip(fetch(store, &ids).await?).collect();
    plans
        .iter()
        .map(|plan| {
            let hashes: Vec<Hash> = plan.node_ids().iter().map(|id| fetched[id]).collect();
            Ok(plan.assemble(&hashes).map_err(|e| S::Error::from(TreeError::from(e)))?)
        })
        .collect()
}

/// The inclusion proof of event `id` in the tree of `tree_size` leaves (the
/// latest checkpoint's by default). An event without a leaf is
/// [`ProofError::NotIntegrated`]: the log does not know whether such an id
/// is stored at all (a caller that does says [`ProofError::UnknownEvent`]).
pub async fn inclusion_proof<S: TreeStore + ?Sized>(
    store: &S,
    id: Uuid,
    tree_size: Option<u64>,
) -> Result<InclusionProof, ProofError<S::Error>> {
    let Some(leaf) = store.leaf_for_event(id).await? else {
        return Err(ProofError::NotIntegrated(id));
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

/// The consistency proof from the tree of `from` leaves to the tree of `to`
/// (the latest checkpoint's by default).
pub async fn consistency_proof<S: TreeStore + ?Sized>(
    store: &S,
    from: u64,
    to: Option<u64>,
) -> Result<ConsistencyProof, ProofError<S::Error>> {
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
    let fetched = fetch(store, plan.node_ids()).await?;
    let proof = plan.assemble(&fetched).map_err(|e| S::Error::from(TreeError::from(e)))?;
    Ok(ConsistencyProof { from, to, from_root: root_at(store, from).await?, to_root: root_at(store, to).await?, proof })
}
