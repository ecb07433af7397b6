//! The compact range (right frontier) of a growing tree: append leaves, emit completed nodes.
//!
//! A tree of `size` leaves is fully described, for appending and for its
//! root, by the hashes of its maximal perfect subtrees: one per set bit of
//! `size`, at most 64. A sequencer keeps only this frontier in memory and
//! persists every node that [`CompactRange::append`] reports as complete;
//! those stored nodes are exactly what [`crate::inclusion_proof_plan`] and
//! [`crate::consistency_proof_plan`] ask for later.

use crate::error::RangeError;
use crate::hash::{Hash, empty_root, node_hash};
use crate::node::NodeId;

/// The right frontier of a tree of `size` leaves.
///
/// Invariant: `hashes.len() == size.count_ones()`, and `hashes[i]` is the hash
/// of the i-th node of [`crate::frontier`]`(size)` (largest subtree first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    hashes: Vec<Hash>,
}

impl CompactRange {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restores a frontier from its parts, e.g. the hashes of the nodes
    /// [`crate::frontier`]`(size)` fetched from storage, in that order.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Self, RangeError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(RangeError::WrongHashCount { size, expected, actual: hashes.len() });
        }
        Ok(Self { size, hashes })
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hashes of the maximal perfect subtrees, left (largest) to right.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// Appends one leaf hash as leaf number `size()`.
    ///
    /// `visit` is called for every perfect-subtree node that this append
    /// completes, bottom-up: first the leaf itself at level 0, then each
    /// parent that now has both children. Persisting every visited node is
    /// what makes any later proof answerable from storage.
    pub fn append(&mut self, leaf_hash: Hash, mut visit: impl FnMut(NodeId, &Hash)) -> Result<(), RangeError> {
        let new_size = self.size.checked_add(1).ok_or(RangeError::TreeFull)?;
        let mut node = NodeId::leaf(self.size);
        let mut hash = leaf_hash;
        visit(node, &hash);

        // Each trailing one bit of the old size is a frontier subtree of the
        // same size as the one just completed, so the two merge; merging
        // proceeds right to left through the last `trailing_ones` hashes.
        let merges = self.size.trailing_ones() as usize;
        let keep = self.hashes.len().saturating_sub(merges);
        for left in self.hashes.drain(keep..).rev() {
            hash = node_hash(&left, &hash);
            node = NodeId::new(node.level + 1, node.index >> 1);
            visit(node, &hash);
        }
        self.hashes.push(hash);
        self.size = new_size;
        Ok(())
    }

    /// The RFC 9162 Merkle Tree Hash of the tree: the frontier hashes folded
    /// from the right (the empty-tree hash for size 0).
    pub fn root(&self) -> Hash {
        let mut rest = self.hashes.iter().rev();
        match rest.next() {
            None => empty_root(),
            Some(&last) => rest.fold(last, |acc, left| node_hash(left, &acc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn from_parts_checks_hash_count() {
        let h = [7u8; 32];
        let cases: &[(u64, usize, bool)] = &[
            (0, 0, true),
            (0, 1, false),
            (1, 1, true),
            (6, 2, true),
            (6, 3, false),
            (7, 2, false),
            (u64::MAX, 64, true),
        ];
        for &(size, count, ok) in cases {
            let result = CompactRange::from_parts(size, vec![h; count]);
            assert_eq!(result.is_ok(), ok, "size {size}, {count} hashes");
        }
    }

    #[test]
    fn append_reports_completed_nodes_bottom_up() {
        let mut range = CompactRange::new();
        let mut visited = Vec::new();
        for i in 0..8u8 {
            visited.clear();
            range
                .append(leaf_hash(&[i]), |id, _| visited.push((id.level, id.index)))
                .unwrap_or_else(|e| panic!("append {i}: {e}"));
            let expected: &[(u8, u64)] = match i {
                0 => &[(0, 0)],
                1 => &[(0, 1), (1, 0)],
                2 => &[(0, 2)],
                3 => &[(0, 3), (1, 1), (2, 0)],
                4 => &[(0, 4)],
                5 => &[(0, 5), (1, 2)],
                6 => &[(0, 6)],
                _ => &[(0, 7), (1, 3), (2, 1), (3, 0)],
            };
            assert_eq!(visited, expected, "append #{i}");
            assert_eq!(range.hashes().len(), range.size().count_ones() as usize);
        }
    }

    #[test]
    fn full_tree_refuses_to_grow() {
        let mut range =
            CompactRange::from_parts(u64::MAX, vec![[0u8; 32]; 64]).unwrap_or_else(|e| panic!("from_parts: {e}"));
        let before = range.clone();
        assert_eq!(range.append([1u8; 32], |_, _| {}), Err(RangeError::TreeFull));
        assert_eq!(range, before);
    }
}
