//! RFC 6962 / RFC 9162 (section 2.1.1) leaf and interior-node hashing with SHA-256.
//!
//! Leaves and interior nodes are hashed with different one-byte prefixes so
//! that a leaf can never be passed off as an interior node (second-preimage
//! resistance of the tree).

use sha2::{Digest, Sha256};

/// A SHA-256 output: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Domain-separation prefix for leaf hashes.
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix for interior node hashes.
const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 || data)`: the hash of one leaf (one audit event).
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new().chain_update([LEAF_PREFIX]).chain_update(data).finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new().chain_update([NODE_PREFIX]).chain_update(left).chain_update(right).finalize().into()
}

/// `SHA-256("")`: the root of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The Merkle Tree Hash of a list of leaf hashes, computed straight from the
/// recursive definition in RFC 9162 section 2.1.1: split at the largest power
/// of two strictly smaller than the number of leaves.
///
/// This is the reference against which the incremental machinery is tested,
/// and it is convenient for verifying small exports offline. It needs all leaf
/// hashes in memory; for a live log use [`crate::CompactRange`].
pub fn root_from_leaf_hashes(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [single] => *single,
        _ => {
            let split = largest_power_of_two_below(leaves.len());
            let (left, right) = leaves.split_at(split);
            node_hash(&root_from_leaf_hashes(left), &root_from_leaf_hashes(right))
        }
    }
}

/// The largest power of two strictly smaller than `n`; requires `n >= 2`.
fn largest_power_of_two_below(n: usize) -> usize {
    // For n >= 2, n - 1 >= 1, so its highest set bit is the answer.
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_power_of_two_below_table() {
        for (n, want) in [(2, 1), (3, 2), (4, 2), (5, 4), (7, 4), (8, 4), (9, 8), (63, 32)] {
            assert_eq!(largest_power_of_two_below(n), want, "n = {n}");
        }
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        let want = [
            0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae,
            0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
        ];
        assert_eq!(empty_root(), want);
        assert_eq!(root_from_leaf_hashes(&[]), want);
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let mut concatenated = Vec::from(a);
        concatenated.extend_from_slice(&b);
        assert_ne!(node_hash(&a, &b), leaf_hash(&concatenated));
    }
}
