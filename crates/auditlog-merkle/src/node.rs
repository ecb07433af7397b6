//! Node identifiers and all the index arithmetic on perfect subtrees, kept in one place.
//!
//! A stored tree keeps the hash of every *perfect* subtree: the node
//! `(level, index)` covers the `2^level` leaves
//! `[index * 2^level, (index + 1) * 2^level)`. Level 0 holds the leaf hashes.
//! Nodes on the ragged right edge of a tree whose size is not a power of two
//! ("ephemeral" nodes) are never stored; proofs rebuild them from the perfect
//! subtrees that cover the same leaves (see [`range_nodes`]).
//!
//! All arithmetic is checked: a node whose leaf range does not fit in `u64`
//! is reported as `None` rather than wrapping or panicking.

/// A perfect subtree of `2^level` leaves covering
/// `[index * 2^level, (index + 1) * 2^level)`.
///
/// The ordering (level first, then index) is arbitrary but stable, which
/// makes the type usable as a key in ordered maps and database tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves; 0 is a leaf.
    pub level: u8,
    /// Position among the nodes of the same level, counted from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and horizontal position `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The leaf (level 0) with the given index.
    pub const fn leaf(index: u64) -> Self {
        Self::new(0, index)
    }

    /// The other child of this node's parent.
    pub const fn sibling(self) -> Self {
        Self::new(self.level, self.index ^ 1)
    }

    /// The node one level up that contains this one, or `None` at level 255.
    pub fn parent(self) -> Option<Self> {
        Some(Self::new(self.level.checked_add(1)?, self.index >> 1))
    }

    /// The first leaf covered by this node, if it fits in `u64`.
    pub fn begin(self) -> Option<u64> {
        self.index.checked_mul(width(self.level)?)
    }

    /// One past the last leaf covered by this node, if it fits in `u64`.
    pub fn end(self) -> Option<u64> {
        self.index.checked_add(1)?.checked_mul(width(self.level)?)
    }

    /// Whether every leaf of this node is inside a tree of `size` leaves,
    /// i.e. whether a tree of that size has this node stored.
    pub fn is_complete_in(self, size: u64) -> bool {
        self.end().is_some_and(|end| end <= size)
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}, {})", self.level, self.index)
    }
}

/// Number of leaves under a node at `level`, if it fits in `u64`.
fn width(level: u8) -> Option<u64> {
    1u64.checked_shl(u32::from(level))
}

/// The perfect subtrees that exactly cover the leaves `[begin, end)`, left to
/// right, each as large as alignment and the remaining length allow (the
/// "compact range" of the interval). Empty when `begin >= end`.
///
/// For `[0, size)` this is the right frontier of the tree (see [`frontier`]).
/// For a range that starts on a boundary of a larger perfect subtree, as the
/// ragged right edge of a tree always does, the node sizes strictly decrease,
/// and folding their hashes from the right gives the RFC 9162 hash of the range.
pub fn range_nodes(begin: u64, end: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut at = begin;
    while at < end {
        // Largest level allowed by the alignment of `at` and by the length left;
        // both are at most 63 because `at` is nonzero or `end - at` is at most u64::MAX.
        let by_alignment = at.trailing_zeros();
        let by_length = floor_log2(end - at);
        let level = by_alignment.min(by_length);
        nodes.push(NodeId::new(level as u8, at >> level));
        at += 1u64 << level;
    }
    nodes
}

/// The maximal perfect subtrees of a tree of `size` leaves, left to right:
/// one per set bit of `size`, largest first. These are the nodes whose hashes
/// a [`crate::CompactRange`] keeps, so a sequencer restarting from storage
/// fetches exactly these nodes and passes their hashes to
/// [`crate::CompactRange::from_parts`].
pub fn frontier(size: u64) -> Vec<NodeId> {
    range_nodes(0, size)
}

/// Number of significant bits in `x` (0 for 0).
pub(crate) const fn bit_length(x: u64) -> u32 {
    u64::BITS - x.leading_zeros()
}

/// `floor(log2(x))` for `x >= 1`.
const fn floor_log2(x: u64) -> u32 {
    bit_length(x).saturating_sub(1)
}

/// Length of the RFC 9162 inclusion proof for leaf `index` in a tree of
/// `size` leaves; requires `index < size`.
///
/// Below level `inner`, the paths from the leaf and from the last leaf
/// (`size - 1`) to the root differ, and the leaf's ancestor has a sibling at
/// every level. From `inner` upwards both paths share the right spine of the
/// tree, and a spine node has a (left) sibling exactly when it is a right
/// child, i.e. when the corresponding bit of `index` is set.
pub(crate) fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let last = size.saturating_sub(1);
    let inner = bit_length(index ^ last);
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// Length of the RFC 9162 consistency proof from `size1` to `size2`;
/// requires `0 < size1 < size2`.
///
/// The proof is an inclusion proof for the last perfect subtree of the old
/// tree (level `tz(size1)`), seen from that level; that subtree's own hash
/// is prepended unless it is the whole old tree (`size1` a power of two).
pub(crate) fn consistency_proof_len(size1: u64, size2: u64) -> usize {
    let level = size1.trailing_zeros();
    let node_index = (size1 >> level).saturating_sub(1);
    let columns = (size2.saturating_sub(1) >> level).saturating_add(1);
    let seed = usize::from(node_index != 0);
    seed + inclusion_proof_len(node_index, columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(pairs: &[(u8, u64)]) -> Vec<NodeId> {
        pairs.iter().map(|&(l, i)| NodeId::new(l, i)).collect()
    }

    /// `(begin, end, expected (level, index) list)`.
    type RangeCase = (u64, u64, &'static [(u8, u64)]);

    #[test]
    fn range_nodes_table() {
        let cases: &[RangeCase] = &[
            (0, 0, &[]),
            (5, 5, &[]),
            (6, 5, &[]),
            (0, 1, &[(0, 0)]),
            (0, 7, &[(2, 0), (1, 2), (0, 6)]),
            (0, 8, &[(3, 0)]),
            (4, 7, &[(1, 2), (0, 6)]),
            (3, 13, &[(0, 3), (2, 1), (2, 2), (0, 12)]),
            (24, 31, &[(2, 6), (1, 14), (0, 30)]),
        ];
        for &(begin, end, want) in cases {
            assert_eq!(range_nodes(begin, end), ids(want), "[{begin}, {end})");
        }
    }

    #[test]
    fn range_nodes_extremes_do_not_overflow() {
        let full = range_nodes(0, u64::MAX);
        assert_eq!(full.len(), 64);
        assert_eq!(full[0], NodeId::new(63, 0));
        assert_eq!(full[63], NodeId::leaf(u64::MAX - 1));
        assert_eq!(range_nodes(u64::MAX - 1, u64::MAX), vec![NodeId::leaf(u64::MAX - 1)]);
    }

    #[test]
    fn node_coverage_table() {
        let cases: &[(NodeId, Option<u64>, Option<u64>)] = &[
            (NodeId::leaf(0), Some(0), Some(1)),
            (NodeId::new(2, 3), Some(12), Some(16)),
            (NodeId::new(63, 1), Some(1 << 63), None),
            (NodeId::new(64, 0), None, None),
            (NodeId::leaf(u64::MAX), Some(u64::MAX), None),
        ];
        for &(node, begin, end) in cases {
            assert_eq!(node.begin(), begin, "begin of {node}");
            assert_eq!(node.end(), end, "end of {node}");
        }
    }

    #[test]
    fn parent_and_sibling() {
        assert_eq!(NodeId::new(1, 5).sibling(), NodeId::new(1, 4));
        assert_eq!(NodeId::new(1, 5).parent(), Some(NodeId::new(2, 2)));
        assert_eq!(NodeId::new(255, 0).parent(), None);
    }

    #[test]
    fn frontier_has_one_node_per_set_bit() {
        for size in [0u64, 1, 2, 3, 7, 8, 100, 1 << 40, u64::MAX] {
            let nodes = frontier(size);
            assert_eq!(nodes.len(), size.count_ones() as usize, "size {size}");
            let covered: u128 = nodes.iter().map(|n| 1u128 << n.level).sum();
            assert_eq!(covered, u128::from(size));
        }
    }

    #[test]
    fn proof_lengths_table() {
        // (index, size, length), read off the RFC 9162 tree shapes.
        let inclusion: &[(u64, u64, usize)] = &[
            (0, 1, 0),
            (0, 2, 1),
            (2, 3, 1),
            (0, 7, 3),
            (4, 6, 2),
            (6, 7, 2),
            (5, 8, 3),
            (u64::MAX - 1, u64::MAX, 63),
        ];
        for &(index, size, want) in inclusion {
            assert_eq!(inclusion_proof_len(index, size), want, "{index} in {size}");
        }
        let consistency: &[(u64, u64, usize)] = &[(1, 2, 1), (1, 8, 3), (2, 5, 2), (6, 8, 3), (6, 7, 3), (4, 7, 1)];
        for &(size1, size2, want) in consistency {
            assert_eq!(consistency_proof_len(size1, size2), want, "{size1} -> {size2}");
        }
    }
}
