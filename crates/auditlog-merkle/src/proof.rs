//! Inclusion and consistency proofs (RFC 9162 sections 2.1.3 and 2.1.4): planning from stored nodes, and verification.
//!
//! Planning turns `(index, size)` or `(size1, size2)` into the list of stored
//! perfect-subtree nodes a proof needs ([`ProofPlan::node_ids`]), so a database
//! can fetch them in one query, and [`ProofPlan::assemble`] then turns the
//! fetched hashes into the RFC proof. A proof element that stands for a node
//! on the ragged right edge of a tree whose size is not a power of two is not
//! stored anywhere; the plan lists the perfect subtrees covering it and
//! `assemble` rehashes them into one element.
//!
//! Verification lives in a separate submodule and shares nothing with
//! planning except the hash functions and the proof-length arithmetic, so a
//! planning bug cannot hide a verification bug.

mod verify;

pub use verify::{root_from_inclusion_proof, verify_consistency, verify_inclusion};

use crate::error::ProofError;
use crate::hash::{Hash, node_hash};
use crate::node::{NodeId, range_nodes};

/// The stored nodes a proof needs, and how to combine them into proof elements.
///
/// Node ids are listed in proof order, without duplicates (every element
/// covers a leaf range disjoint from the others). Consecutive ids that
/// together stand for one ragged right-edge node are listed lowest level
/// first, i.e. right to left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProofPlan {
    ids: Vec<NodeId>,
    /// `(start, end)` ranges of `ids`, one per proof element, in proof order.
    elements: Vec<(usize, usize)>,
}

impl ProofPlan {
    /// The perfect-subtree nodes to fetch, in the order
    /// [`assemble`](Self::assemble) expects their hashes.
    pub fn node_ids(&self) -> &[NodeId] {
        &self.ids
    }

    /// Number of hashes in the finished proof.
    pub fn proof_len(&self) -> usize {
        self.elements.len()
    }

    /// The node ids behind each proof element, in proof order: a single node
    /// for a stored subtree, several for a ragged right-edge node.
    pub fn elements(&self) -> impl Iterator<Item = &[NodeId]> + '_ {
        self.elements.iter().filter_map(|&(start, end)| self.ids.get(start..end))
    }

    /// Combines the fetched node hashes (same order as
    /// [`node_ids`](Self::node_ids)) into the RFC 9162 proof.
    pub fn assemble(&self, fetched: &[Hash]) -> Result<Vec<Hash>, ProofError> {
        let mismatch = ProofError::FetchedCountMismatch { expected: self.ids.len(), actual: fetched.len() };
        if fetched.len() != self.ids.len() {
            return Err(mismatch);
        }
        let mut hashes = fetched.iter();
        let mut proof = Vec::with_capacity(self.elements.len());
        for &(start, end) in &self.elements {
            // A ragged node's parts come lowest level (rightmost) first, so
            // each further part is the left child of what has been folded so far.
            let mut acc = *hashes.next().ok_or_else(|| mismatch.clone())?;
            for _ in start + 1..end {
                acc = node_hash(hashes.next().ok_or_else(|| mismatch.clone())?, &acc);
            }
            proof.push(acc);
        }
        Ok(proof)
    }

    /// Fetches every node with `fetch` and assembles the proof.
    pub fn fetch_and_assemble(&self, mut fetch: impl FnMut(NodeId) -> Option<Hash>) -> Result<Vec<Hash>, ProofError> {
        let fetched =
            self.ids.iter().map(|&id| fetch(id).ok_or(ProofError::MissingNode(id))).collect::<Result<Vec<_>, _>>()?;
        self.assemble(&fetched)
    }

    fn push_element(&mut self, nodes: impl IntoIterator<Item = NodeId>) {
        let start = self.ids.len();
        self.ids.extend(nodes);
        if self.ids.len() > start {
            self.elements.push((start, self.ids.len()));
        }
    }

    /// Appends the nodes proving that the complete node `node`, covering the
    /// leaves `[begin, end)`, is part of the tree of `size` leaves: the RFC
    /// 9162 audit path from `node` up to the root.
    fn push_path(&mut self, mut node: NodeId, mut begin: u64, mut end: u64, size: u64) {
        // Climb while the parent is complete: each sibling is a stored node.
        loop {
            let width = end - begin;
            let parent_range = if node.index & 1 == 1 {
                // A right child's left sibling precedes it, so the parent is
                // complete; `begin >= width` because `node.index >= 1`.
                Some((begin - width, end))
            } else {
                end.checked_add(width).filter(|&parent_end| parent_end <= size).map(|parent_end| (begin, parent_end))
            };
            let Some((parent_begin, parent_end)) = parent_range else {
                break;
            };
            self.push_element([node.sibling()]);
            node = NodeId::new(node.level + 1, node.index >> 1);
            (begin, end) = (parent_begin, parent_end);
        }

        // `node` is now the largest complete ancestor. Its right neighbour
        // `[end, size)` is shorter than `node`, so it is an ephemeral node
        // whose hash folds the perfect subtrees covering it (or nothing, when
        // `end == size`).
        self.push_element(range_nodes(end, size).into_iter().rev());

        // Above that, the path runs along the right spine of the tree, where
        // each left sibling is one perfect subtree of `[0, begin)`; the
        // nearest (smallest) comes first.
        for left in range_nodes(0, begin).into_iter().rev() {
            self.push_element([left]);
        }
    }
}

/// Plans the RFC 9162 inclusion proof (audit path) for leaf `index` in the
/// tree of `size` leaves.
pub fn inclusion_proof_plan(index: u64, size: u64) -> Result<ProofPlan, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut plan = ProofPlan::default();
    // `index < size <= u64::MAX`, so `index + 1` cannot overflow.
    plan.push_path(NodeId::leaf(index), index, index + 1, size);
    Ok(plan)
}

/// Plans the RFC 9162 consistency proof between the trees of `size1` and
/// `size2` leaves.
///
/// Equal sizes need no proof, and neither does `size1 == 0`: RFC 9162 defines
/// consistency proofs only for `0 < size1 < size2`, and the empty tree is a
/// prefix of every tree. [`verify_consistency`] accepts only an empty proof
/// in both cases.
pub fn consistency_proof_plan(size1: u64, size2: u64) -> Result<ProofPlan, ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizesOutOfOrder { size1, size2 });
    }
    let mut plan = ProofPlan::default();
    if size1 == 0 || size1 == size2 {
        return Ok(plan);
    }
    // The old tree's last (smallest) frontier subtree is the deepest node the
    // two trees share on the old right edge; prove it is in the new tree.
    let level = size1.trailing_zeros();
    let width = 1u64 << level;
    let seed = NodeId::new(level as u8, (size1 >> level) - 1);
    // RFC 9162 SUBPROOF omits the seed when it is the whole old tree, whose
    // root the verifier already has.
    if seed.index != 0 {
        plan.push_element([seed]);
    }
    plan.push_path(seed, size1 - width, size1, size2);
    Ok(plan)
}

/// Builds the inclusion proof for leaf `index` in the tree of `size` leaves,
/// reading stored nodes through `fetch`.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    fetch: impl FnMut(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, ProofError> {
    inclusion_proof_plan(index, size)?.fetch_and_assemble(fetch)
}

/// Builds the consistency proof from `size1` to `size2`, reading stored
/// nodes through `fetch`.
pub fn consistency_proof(
    size1: u64,
    size2: u64,
    fetch: impl FnMut(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, ProofError> {
    consistency_proof_plan(size1, size2)?.fetch_and_assemble(fetch)
}
