//! Shared test helpers: an in-memory node store filled through `CompactRange::append`,
//! and the RFC 9162 recursive definitions of PATH and PROOF as the reference.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::HashMap;

use auditlog_merkle::{
    CompactRange, Hash, NodeId, consistency_proof, inclusion_proof, leaf_hash, node_hash, root_from_leaf_hashes,
};

/// A tree kept the way a database would: every node reported by `append`,
/// plus the root observed after each append.
pub struct MemoryTree {
    pub leaves: Vec<Hash>,
    pub nodes: HashMap<NodeId, Hash>,
    /// `roots[s]` is the root of the first `s` leaves.
    pub roots: Vec<Hash>,
    pub range: CompactRange,
}

impl MemoryTree {
    pub fn new(leaves: &[Hash]) -> Self {
        let mut range = CompactRange::new();
        let mut nodes = HashMap::new();
        let mut roots = vec![range.root()];
        for leaf in leaves {
            range
                .append(*leaf, |id, hash| {
                    let previous = nodes.insert(id, *hash);
                    assert!(previous.is_none(), "node {id} reported twice");
                })
                .expect("append");
            roots.push(range.root());
        }
        Self { leaves: leaves.to_vec(), nodes, roots, range }
    }

    pub fn fetch(&self, id: NodeId) -> Option<Hash> {
        self.nodes.get(&id).copied()
    }

    pub fn inclusion(&self, index: u64, size: u64) -> Vec<Hash> {
        inclusion_proof(index, size, |id| self.fetch(id))
            .unwrap_or_else(|e| panic!("inclusion proof {index} in {size}: {e}"))
    }

    pub fn consistency(&self, size1: u64, size2: u64) -> Vec<Hash> {
        consistency_proof(size1, size2, |id| self.fetch(id))
            .unwrap_or_else(|e| panic!("consistency proof {size1} -> {size2}: {e}"))
    }

    pub fn root(&self, size: u64) -> Hash {
        self.roots[usize::try_from(size).expect("size fits usize")]
    }
}

/// Leaf hashes of the entries "0", "1", ... (distinct and deterministic).
pub fn numbered_leaves(count: usize) -> Vec<Hash> {
    (0..count).map(|i| leaf_hash(i.to_string().as_bytes())).collect()
}

/// The hash with bit `bit` (0..256) inverted.
pub fn flip_bit(hash: &Hash, bit: usize) -> Hash {
    let mut flipped = *hash;
    flipped[bit / 8] ^= 1 << (bit % 8);
    flipped
}

fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 9162 section 2.1.3.1: PATH(m, D[n]).
pub fn reference_inclusion(leaves: &[Hash], m: usize) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split_point(n);
    let (left, right) = leaves.split_at(k);
    if m < k {
        let mut path = reference_inclusion(left, m);
        path.push(root_from_leaf_hashes(right));
        path
    } else {
        let mut path = reference_inclusion(right, m - k);
        path.push(root_from_leaf_hashes(left));
        path
    }
}

/// RFC 9162 section 2.1.4.1: PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
pub fn reference_consistency(leaves: &[Hash], m: usize) -> Vec<Hash> {
    if m == 0 || m >= leaves.len() {
        return Vec::new();
    }
    subproof(m, leaves, true)
}

fn subproof(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if b { Vec::new() } else { vec![root_from_leaf_hashes(leaves)] };
    }
    let k = split_point(n);
    let (left, right) = leaves.split_at(k);
    if m <= k {
        let mut proof = subproof(m, left, b);
        proof.push(root_from_leaf_hashes(right));
        proof
    } else {
        let mut proof = subproof(m - k, right, false);
        proof.push(root_from_leaf_hashes(left));
        proof
    }
}

/// Convenience for building expected values in tables.
pub fn hash_pair(left: &Hash, right: &Hash) -> Hash {
    node_hash(left, right)
}

/// Decodes a 64-digit hex string.
pub fn h(hex_str: &str) -> Hash {
    let bytes = hex::decode(hex_str).unwrap_or_else(|e| panic!("bad hex {hex_str:?}: {e}"));
    Hash::try_from(bytes.as_slice()).unwrap_or_else(|_| panic!("not 32 bytes: {hex_str:?}"))
}
