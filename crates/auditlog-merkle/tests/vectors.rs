//! Known-answer tests against published vectors.
//!
//! Merkle tree vectors come from github.com/transparency-dev/merkle
//! (Apache License 2.0, Copyright Google LLC):
//! - `testonly/constants.go`: `LeafInputs`, `NodeHashes`, `RootHashes`, `CompactTrees`;
//! - `proof/verify_test.go`: `inclusionProofs`, `consistencyProofs`, `roots`
//!   (the same vectors appear in github.com/google/certificate-transparency-go
//!   `merkletree/merkle_verifier_test.go`, also Apache-2.0);
//! - `testonly/reference_test.go`: `TestRefInclusionProof`, `TestRefConsistencyProof`;
//! - `proof/proof_test.go`: `TestInclusion`, `TestConsistency` (node ids per proof
//!   element, including the ragged right-edge nodes that must be rehashed).
//!
//! Signed-note vectors come from golang.org/x/mod (github.com/golang/mod,
//! BSD-3-Clause, Copyright The Go Authors): `sumdb/note/note_test.go` and the
//! package documentation in `sumdb/note/note.go`. The tree-note body vector
//! comes from the same repository, `sumdb/tlog/note_test.go`.
//!
//! Only the data is taken from these sources; the tests are written here.

mod common;

use auditlog_merkle::{
    Checkpoint, CheckpointError, CompactRange, Hash, NodeId, NoteError, NoteSigner, NoteVerifier,
    consistency_proof_plan, empty_root, inclusion_proof_plan, leaf_hash, node_hash, root_from_inclusion_proof,
    root_from_leaf_hashes, verify_consistency, verify_inclusion,
};
use common::{MemoryTree, h, reference_consistency, reference_inclusion};

// ---------------------------------------------------------------------------
// testonly/constants.go
// ---------------------------------------------------------------------------

/// `LeafInputs()`, hex-encoded.
const LEAF_INPUTS: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

/// `NodeHashes()`: `NODE_HASHES[level][index]`.
const NODE_HASHES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// `RootHashes()`: the root for each tree size 0..=8.
const ROOT_HASHES: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// `CompactTrees()`: the frontier of each tree size 0..=8, as `(level, index)`
/// references into `NODE_HASHES`.
const COMPACT_TREES: [&[(usize, usize)]; 9] = [
    &[],
    &[(0, 0)],
    &[(1, 0)],
    &[(1, 0), (0, 2)],
    &[(2, 0)],
    &[(2, 0), (0, 4)],
    &[(2, 0), (1, 2)],
    &[(2, 0), (1, 2), (0, 6)],
    &[(3, 0)],
];

fn golden_leaves() -> Vec<Hash> {
    LEAF_INPUTS.iter().map(|input| leaf_hash(&hex::decode(input).expect("leaf input hex"))).collect()
}

fn golden_node(level: usize, index: usize) -> Hash {
    h(NODE_HASHES[level][index])
}

fn golden_root(size: usize) -> Hash {
    h(ROOT_HASHES[size])
}

fn golden_tree() -> MemoryTree {
    MemoryTree::new(&golden_leaves())
}

#[test]
fn empty_root_matches_published() {
    assert_eq!(empty_root(), golden_root(0));
}

#[test]
fn roots_for_sizes_0_to_8() {
    let leaves = golden_leaves();
    let tree = golden_tree();
    for size in 0..=8 {
        let want = golden_root(size);
        assert_eq!(root_from_leaf_hashes(&leaves[..size]), want, "reference root, size {size}");
        assert_eq!(tree.roots[size], want, "CompactRange root, size {size}");
    }
}

#[test]
fn append_emits_every_published_node_hash() {
    let tree = golden_tree();
    let mut expected_count = 0;
    for (level, hashes) in NODE_HASHES.iter().enumerate() {
        for (index, hex_hash) in hashes.iter().enumerate() {
            let id = NodeId::new(level as u8, index as u64);
            assert_eq!(tree.fetch(id), Some(h(hex_hash)), "node {id}");
            expected_count += 1;
        }
    }
    assert_eq!(tree.nodes.len(), expected_count, "no extra nodes emitted");
}

#[test]
fn frontier_hashes_match_published_compact_trees() {
    let mut range = CompactRange::new();
    for (size, leaf) in std::iter::once(None).chain(golden_leaves().into_iter().map(Some)).enumerate() {
        if let Some(leaf) = leaf {
            range.append(leaf, |_, _| {}).expect("append");
        }
        let want: Vec<Hash> = COMPACT_TREES[size].iter().map(|&(level, index)| golden_node(level, index)).collect();
        assert_eq!(range.hashes(), want.as_slice(), "frontier of size {size}");
        let restored = CompactRange::from_parts(size as u64, want).expect("from_parts");
        assert_eq!(restored.root(), golden_root(size), "restored root, size {size}");
    }
}

// ---------------------------------------------------------------------------
// Inclusion proofs
// ---------------------------------------------------------------------------

/// A proof element in the tables below: a published node hash, or the one
/// ragged right-edge node hash that occurs in trees of up to 8 leaves.
#[derive(Clone, Copy, Debug)]
enum El {
    /// `NodeHashes()[level][index]`.
    N(usize, usize),
    /// The RFC 9162 hash of leaves 4..7, `node_hash(N(1, 2), N(0, 6))`.
    E47,
}

fn element(el: El) -> Hash {
    match el {
        El::N(level, index) => golden_node(level, index),
        El::E47 => node_hash(&golden_node(1, 2), &golden_node(0, 6)),
    }
}

use El::{E47, N};

/// Every inclusion proof for tree sizes 1..=8 over `LeafInputs()`, written as
/// published node hashes: `(index, size, proof)`.
const ALL_INCLUSION_PROOFS: &[(u64, u64, &[El])] = &[
    (0, 1, &[]),
    (0, 2, &[N(0, 1)]),
    (1, 2, &[N(0, 0)]),
    (0, 3, &[N(0, 1), N(0, 2)]),
    (1, 3, &[N(0, 0), N(0, 2)]),
    (2, 3, &[N(1, 0)]),
    (0, 4, &[N(0, 1), N(1, 1)]),
    (1, 4, &[N(0, 0), N(1, 1)]),
    (2, 4, &[N(0, 3), N(1, 0)]),
    (3, 4, &[N(0, 2), N(1, 0)]),
    (0, 5, &[N(0, 1), N(1, 1), N(0, 4)]),
    (1, 5, &[N(0, 0), N(1, 1), N(0, 4)]),
    (2, 5, &[N(0, 3), N(1, 0), N(0, 4)]),
    (3, 5, &[N(0, 2), N(1, 0), N(0, 4)]),
    (4, 5, &[N(2, 0)]),
    (0, 6, &[N(0, 1), N(1, 1), N(1, 2)]),
    (1, 6, &[N(0, 0), N(1, 1), N(1, 2)]),
    (2, 6, &[N(0, 3), N(1, 0), N(1, 2)]),
    (3, 6, &[N(0, 2), N(1, 0), N(1, 2)]),
    (4, 6, &[N(0, 5), N(2, 0)]),
    (5, 6, &[N(0, 4), N(2, 0)]),
    (0, 7, &[N(0, 1), N(1, 1), E47]),
    (1, 7, &[N(0, 0), N(1, 1), E47]),
    (2, 7, &[N(0, 3), N(1, 0), E47]),
    (3, 7, &[N(0, 2), N(1, 0), E47]),
    (4, 7, &[N(0, 5), N(0, 6), N(2, 0)]),
    (5, 7, &[N(0, 4), N(0, 6), N(2, 0)]),
    (6, 7, &[N(1, 2), N(2, 0)]),
    (0, 8, &[N(0, 1), N(1, 1), N(2, 1)]),
    (1, 8, &[N(0, 0), N(1, 1), N(2, 1)]),
    (2, 8, &[N(0, 3), N(1, 0), N(2, 1)]),
    (3, 8, &[N(0, 2), N(1, 0), N(2, 1)]),
    (4, 8, &[N(0, 5), N(1, 3), N(2, 0)]),
    (5, 8, &[N(0, 4), N(1, 3), N(2, 0)]),
    (6, 8, &[N(0, 7), N(1, 2), N(2, 0)]),
    (7, 8, &[N(0, 6), N(1, 2), N(2, 0)]),
];

/// Literal proofs from `proof/verify_test.go` (`inclusionProofs`, whose leaf
/// numbers are 1-based there) and `testonly/reference_test.go`
/// (`TestRefInclusionProof`): `(index, size, proof)` with 0-based indices.
const PUBLISHED_INCLUSION_PROOFS: &[(u64, u64, &[&str])] = &[
    (0, 1, &[]),
    (0, 2, &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"]),
    (1, 2, &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"]),
    (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// Checks one inclusion proof: generated from stored nodes it equals `want`,
/// agrees with the RFC reference, and verifies against the published root.
fn check_inclusion(tree: &MemoryTree, index: u64, size: u64, want: &[Hash]) {
    let got = tree.inclusion(index, size);
    assert_eq!(got, want, "inclusion proof {index} in {size}");
    let reference = reference_inclusion(&tree.leaves[..size as usize], index as usize);
    assert_eq!(got, reference, "RFC reference for {index} in {size}");
    let leaf = tree.leaves[index as usize];
    let root = golden_root(size as usize);
    assert_eq!(root_from_inclusion_proof(&leaf, index, size, &got), Ok(root));
    assert_eq!(verify_inclusion(&leaf, index, size, &got, &root), Ok(()));
}

#[test]
fn every_inclusion_proof_for_sizes_1_to_8() {
    let tree = golden_tree();
    let mut covered = 0;
    for size in 1..=8u64 {
        for index in 0..size {
            let (_, _, els) = ALL_INCLUSION_PROOFS
                .iter()
                .find(|&&(i, s, _)| i == index && s == size)
                .unwrap_or_else(|| panic!("table lacks {index} in {size}"));
            let want: Vec<Hash> = els.iter().map(|&el| element(el)).collect();
            check_inclusion(&tree, index, size, &want);
            covered += 1;
        }
    }
    assert_eq!(covered, ALL_INCLUSION_PROOFS.len());
}

#[test]
fn published_inclusion_proofs_match_literally() {
    let tree = golden_tree();
    for &(index, size, proof) in PUBLISHED_INCLUSION_PROOFS {
        let want: Vec<Hash> = proof.iter().map(|hex_hash| h(hex_hash)).collect();
        check_inclusion(&tree, index, size, &want);
    }
}

// ---------------------------------------------------------------------------
// Consistency proofs
// ---------------------------------------------------------------------------

/// Literal proofs from `proof/verify_test.go` (`consistencyProofs`) and
/// `testonly/reference_test.go` (`TestRefConsistencyProof`).
const PUBLISHED_CONSISTENCY_PROOFS: &[(u64, u64, &[&str])] = &[
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// Checks one consistency proof: generated from stored nodes it equals
/// `want`, agrees with the RFC reference, and verifies between the published roots.
fn check_consistency(tree: &MemoryTree, size1: u64, size2: u64, want: &[Hash]) {
    let got = tree.consistency(size1, size2);
    assert_eq!(got, want, "consistency proof {size1} -> {size2}");
    let reference = reference_consistency(&tree.leaves[..size2 as usize], size1 as usize);
    assert_eq!(got, reference, "RFC reference for {size1} -> {size2}");
    let (root1, root2) = (golden_root(size1 as usize), golden_root(size2 as usize));
    assert_eq!(verify_consistency(size1, size2, &got, &root1, &root2), Ok(()));
}

#[test]
fn published_consistency_proofs_match_literally() {
    let tree = golden_tree();
    for &(size1, size2, proof) in PUBLISHED_CONSISTENCY_PROOFS {
        let want: Vec<Hash> = proof.iter().map(|hex_hash| h(hex_hash)).collect();
        check_consistency(&tree, size1, size2, &want);
    }
}

#[test]
fn every_consistency_proof_for_sizes_0_to_8_matches_reference_and_verifies() {
    let tree = golden_tree();
    for size2 in 0..=8u64 {
        for size1 in 0..=size2 {
            let want = reference_consistency(&tree.leaves[..size2 as usize], size1 as usize);
            check_consistency(&tree, size1, size2, &want);
        }
    }
}

// ---------------------------------------------------------------------------
// proof/proof_test.go: which stored nodes each proof element needs
// ---------------------------------------------------------------------------

type Plan = &'static [&'static [(u8, u64)]];

/// `TestInclusion`: `(index, size, elements)`; an element with several nodes
/// is a ragged right-edge node rebuilt from them (lowest level first).
const INCLUSION_PLANS: &[(u64, u64, Plan)] = &[
    (0, 1, &[]),
    (0, 2, &[&[(0, 1)]]),
    (1, 2, &[&[(0, 0)]]),
    (1, 3, &[&[(0, 0)], &[(0, 2)]]),
    (0, 7, &[&[(0, 1)], &[(1, 1)], &[(0, 6), (1, 2)]]),
    (1, 7, &[&[(0, 0)], &[(1, 1)], &[(0, 6), (1, 2)]]),
    (2, 7, &[&[(0, 3)], &[(1, 0)], &[(0, 6), (1, 2)]]),
    (3, 7, &[&[(0, 2)], &[(1, 0)], &[(0, 6), (1, 2)]]),
    (4, 7, &[&[(0, 5)], &[(0, 6)], &[(2, 0)]]),
    (5, 7, &[&[(0, 4)], &[(0, 6)], &[(2, 0)]]),
    (6, 7, &[&[(1, 2)], &[(2, 0)]]),
    (2, 4, &[&[(0, 3)], &[(1, 0)]]),
    (3, 5, &[&[(0, 2)], &[(1, 0)], &[(0, 4)]]),
    (3, 6, &[&[(0, 2)], &[(1, 0)], &[(1, 2)]]),
    (4, 6, &[&[(0, 5)], &[(2, 0)]]),
    (10, 15, &[&[(0, 11)], &[(1, 4)], &[(0, 14), (1, 6)], &[(3, 0)]]),
    (24, 31, &[&[(0, 25)], &[(1, 13)], &[(0, 30), (1, 14)], &[(3, 2)], &[(4, 0)]]),
    (81, 95, &[&[(0, 80)], &[(1, 41)], &[(2, 21)], &[(0, 94), (1, 46), (2, 22)], &[(4, 4)], &[(6, 0)]]),
];

/// `TestConsistency`: `(size1, size2, elements)`.
const CONSISTENCY_PLANS: &[(u64, u64, Plan)] = &[
    (1, 2, &[&[(0, 1)]]),
    (1, 4, &[&[(0, 1)], &[(1, 1)]]),
    (1, 6, &[&[(0, 1)], &[(1, 1)], &[(1, 2)]]),
    (2, 3, &[&[(0, 2)]]),
    (2, 8, &[&[(1, 1)], &[(2, 1)]]),
    (3, 7, &[&[(0, 2)], &[(0, 3)], &[(1, 0)], &[(0, 6), (1, 2)]]),
    (4, 7, &[&[(0, 6), (1, 2)]]),
    (5, 7, &[&[(0, 4)], &[(0, 5)], &[(0, 6)], &[(2, 0)]]),
    (6, 7, &[&[(1, 2)], &[(0, 6)], &[(2, 0)]]),
    (7, 8, &[&[(0, 6)], &[(0, 7)], &[(1, 2)], &[(2, 0)]]),
    (1, 1, &[]),
    (2, 2, &[]),
    (3, 3, &[]),
    (4, 4, &[]),
    (5, 5, &[]),
    (7, 7, &[]),
    (8, 8, &[]),
    (2, 4, &[&[(1, 1)]]),
    (3, 5, &[&[(0, 2)], &[(0, 3)], &[(1, 0)], &[(0, 4)]]),
    (3, 6, &[&[(0, 2)], &[(0, 3)], &[(1, 0)], &[(1, 2)]]),
    (4, 6, &[&[(1, 2)]]),
    (1, 7, &[&[(0, 1)], &[(1, 1)], &[(0, 6), (1, 2)]]),
    (10, 15, &[&[(1, 4)], &[(1, 5)], &[(0, 14), (1, 6)], &[(3, 0)]]),
    (24, 31, &[&[(3, 2)], &[(0, 30), (1, 14), (2, 6)], &[(4, 0)]]),
    (81, 95, &[&[(0, 80)], &[(0, 81)], &[(1, 41)], &[(2, 21)], &[(0, 94), (1, 46), (2, 22)], &[(4, 4)], &[(6, 0)]]),
];

fn plan_elements(plan: &auditlog_merkle::ProofPlan) -> Vec<Vec<(u8, u64)>> {
    plan.elements().map(|ids| ids.iter().map(|id| (id.level, id.index)).collect()).collect()
}

fn expected_elements(plan: Plan) -> Vec<Vec<(u8, u64)>> {
    plan.iter().map(|ids| ids.to_vec()).collect()
}

#[test]
fn inclusion_plans_match_published_node_ids() {
    for &(index, size, want) in INCLUSION_PLANS {
        let plan = inclusion_proof_plan(index, size).expect("plan");
        assert_eq!(plan_elements(&plan), expected_elements(want), "{index} in {size}");
        let flat: Vec<(u8, u64)> = want.iter().flat_map(|ids| ids.iter().copied()).collect();
        let ids: Vec<(u8, u64)> = plan.node_ids().iter().map(|id| (id.level, id.index)).collect();
        assert_eq!(ids, flat, "node_ids order for {index} in {size}");
    }
}

#[test]
fn consistency_plans_match_published_node_ids() {
    for &(size1, size2, want) in CONSISTENCY_PLANS {
        let plan = consistency_proof_plan(size1, size2).expect("plan");
        assert_eq!(plan_elements(&plan), expected_elements(want), "{size1} -> {size2}");
    }
}

#[test]
fn published_invalid_plan_requests_are_rejected() {
    for (index, size) in [(0, 0), (1, 0), (2, 1), (3, 0), (8, 7)] {
        assert!(inclusion_proof_plan(index, size).is_err(), "{index} in {size}");
    }
    for (size1, size2) in [(5, 0), (9, 8)] {
        assert!(consistency_proof_plan(size1, size2).is_err(), "{size1} -> {size2}");
    }
}

// ---------------------------------------------------------------------------
// golang.org/x/mod sumdb/note and sumdb/tlog
// ---------------------------------------------------------------------------

const PETER_PRIVATE_KEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VERIFIER_KEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VERIFIER_KEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const NOTE_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                         then you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str =
    "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn note(signature_lines: &[&str]) -> String {
    format!("{NOTE_TEXT}\n{}", signature_lines.concat())
}

fn verifier(key: &str) -> NoteVerifier {
    NoteVerifier::from_verifier_key_string(key).expect("published verifier key")
}

#[test]
fn note_private_key_derives_published_key_id_and_verifier_key() {
    let signer = NoteSigner::from_private_key_string(PETER_PRIVATE_KEY).expect("private key");
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_id(), 0xc74f_20a3);
    assert_eq!(signer.verifier_key_string(), PETER_VERIFIER_KEY);
    assert_eq!(signer.to_private_key_string(), PETER_PRIVATE_KEY);
    assert_eq!(signer.verifier(), verifier(PETER_VERIFIER_KEY));
    assert_eq!(verifier(ENOCH_VERIFIER_KEY).key_id(), 0xaf0c_fe78);
}

#[test]
fn note_signature_matches_published_signed_note() {
    let signer = NoteSigner::from_private_key_string(PETER_PRIVATE_KEY).expect("private key");
    assert_eq!(signer.sign_text(NOTE_TEXT), Ok(note(&[PETER_SIG])));
}

#[test]
fn published_signed_notes_verify() {
    let peter = verifier(PETER_VERIFIER_KEY);
    let enoch = verifier(ENOCH_VERIFIER_KEY);
    let both = note(&[PETER_SIG, ENOCH_SIG]);
    assert_eq!(peter.verify_note(&both), Ok(NOTE_TEXT));
    assert_eq!(enoch.verify_note(&both), Ok(NOTE_TEXT));
    assert_eq!(peter.verify_note(&note(&[PETER_SIG])), Ok(NOTE_TEXT));
    // Duplicated signatures and an undecodable-but-well-formed unknown one are tolerated.
    let corrupt_enoch = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
    let noisy = note(&[PETER_SIG, PETER_SIG, ENOCH_SIG, ENOCH_SIG, &corrupt_enoch]);
    assert_eq!(peter.verify_note(&noisy), Ok(NOTE_TEXT));
}

#[test]
fn published_bad_notes_are_rejected() {
    let peter = verifier(PETER_VERIFIER_KEY);
    let corrupt_peter = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let misnamed = PETER_SIG.replace("PeterNeumann", "CarmenSandiego");
    let wrong_id = PETER_SIG.replace("x08g", "xxxx");
    let unknown = NoteError::UnknownKey { name: "PeterNeumann".into(), key_id: 0xc74f_20a3 };
    let cases: Vec<(String, NoteError)> = vec![
        (NOTE_TEXT.to_owned(), NoteError::MissingBlankLine),
        (format!("{NOTE_TEXT}\n"), NoteError::NoSignatures),
        (format!("{NOTE_TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]), NoteError::SignatureBlockNotTerminated),
        (format!("\u{1}{}", note(&[PETER_SIG])), NoteError::ControlCharacter),
        (
            format!(
                "{NOTE_TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
            ),
            NoteError::BadBase64 { line: 1 },
        ),
        (
            format!("{}Unexpected line.\n", note(&[PETER_SIG])),
            NoteError::MalformedSignatureLine { line: 2, reason: "does not start with an em dash and a space" },
        ),
        (note(&[PETER_SIG.repeat(101).as_str()]), NoteError::TooManySignatures { max: 100 }),
        (note(&[&corrupt_peter]), NoteError::InvalidSignature { name: "PeterNeumann".into(), key_id: 0xc74f_20a3 }),
        (note(&[&misnamed]), unknown.clone()),
        (note(&[&wrong_id]), unknown.clone()),
        (note(&[ENOCH_SIG]), unknown),
    ];
    for (bad, want) in cases {
        assert_eq!(peter.verify_note(&bad), Err(want), "note {bad:?}");
    }
}

#[test]
fn published_bad_verifier_keys_are_rejected() {
    // Wrong key length and unknown algorithm, each with a key id adjusted to match.
    let too_long = "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==";
    assert!(NoteVerifier::from_verifier_key_string(too_long).is_err());
    let unknown_alg = "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    assert_eq!(NoteVerifier::from_verifier_key_string(unknown_alg), Err(NoteError::UnsupportedAlgorithm(0x65)));
}

#[test]
fn every_mangling_of_published_keys_is_rejected() {
    // As in note_test.go: every proper substring and every single-byte
    // increment of a valid key string must fail to parse.
    type Parse = fn(&str) -> bool;
    let cases: [(&str, Parse); 2] = [
        (PETER_VERIFIER_KEY, |s| NoteVerifier::from_verifier_key_string(s).is_ok()),
        (PETER_PRIVATE_KEY, |s| NoteSigner::from_private_key_string(s).is_ok()),
    ];
    for (key, parses) in cases {
        assert!(parses(key), "{key} itself");
        let bytes = key.as_bytes();
        for i in 0..=bytes.len() {
            for j in i + 1..=bytes.len() {
                if (i, j) != (0, bytes.len()) {
                    let part = &key[i..j];
                    assert!(!parses(part), "substring {part:?} of {key}");
                }
            }
        }
        for i in 0..bytes.len() {
            let mut mangled = bytes.to_vec();
            mangled[i] += 1;
            let mangled = String::from_utf8(mangled).expect("ASCII stays UTF-8");
            assert!(!parses(&mangled), "mangled {mangled:?}");
        }
    }
}

#[test]
fn tree_note_body_matches_go_sumdb_format() {
    // sumdb/tlog note_test.go: FormatTree / ParseTree.
    let golden = "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
    let checkpoint = Checkpoint::new("go.sum database tree", 123_456_789_012, leaf_hash(b"hello world"));
    assert_eq!(checkpoint.body(), golden);
    assert_eq!(Checkpoint::parse_body(golden), Ok(checkpoint));

    let bad_size = "go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
    assert_eq!(Checkpoint::parse_body(bad_size), Err(CheckpointError::InvalidSize("0xabcdef".into())));
    let bad_root = "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n";
    assert!(matches!(Checkpoint::parse_body(bad_root), Err(CheckpointError::InvalidRoot(_))));
}
