//! Proof edge cases and tampering: every mutated proof, leaf, root, index or size must be rejected.

mod common;

use auditlog_merkle::{
    Hash, NodeId, ProofError, VerifyError, consistency_proof, consistency_proof_plan, empty_root, inclusion_proof,
    inclusion_proof_plan, leaf_hash, root_from_inclusion_proof, verify_consistency, verify_inclusion,
};
use common::{MemoryTree, flip_bit, numbered_leaves};

/// Bits flipped in each proof element by the deterministic tests (first,
/// last, and some in between); the property tests flip random bits.
const BITS_TO_FLIP: [usize; 4] = [0, 7, 131, 255];

/// Sizes exercised by the deterministic tamper tests: powers of two, their
/// neighbours, and a few ragged sizes.
const TAMPER_SIZES: [u64; 12] = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 37];

// ---------------------------------------------------------------------------
// Planning edge cases
// ---------------------------------------------------------------------------

#[test]
fn inclusion_plan_rejects_index_out_of_range() {
    for (index, size) in [(0, 0), (1, 1), (5, 5), (6, 5), (u64::MAX, u64::MAX), (u64::MAX, 0)] {
        assert_eq!(
            inclusion_proof_plan(index, size),
            Err(ProofError::IndexOutOfRange { index, size }),
            "{index} in {size}"
        );
    }
}

#[test]
fn consistency_plan_edge_cases() {
    let cases: &[(u64, u64, Result<usize, ProofError>)] = &[
        (0, 0, Ok(0)),
        (0, 1, Ok(0)),
        (0, 1000, Ok(0)),
        (1, 1, Ok(0)),
        (1000, 1000, Ok(0)),
        (1, 2, Ok(1)),
        (2, 1, Err(ProofError::SizesOutOfOrder { size1: 2, size2: 1 })),
        (u64::MAX, 0, Err(ProofError::SizesOutOfOrder { size1: u64::MAX, size2: 0 })),
    ];
    for (size1, size2, want) in cases {
        let got = consistency_proof_plan(*size1, *size2).map(|plan| plan.proof_len());
        assert_eq!(&got, want, "{size1} -> {size2}");
    }
}

#[test]
fn plans_for_huge_trees_do_not_overflow() {
    let cases: &[(u64, u64)] =
        &[(0, u64::MAX), (u64::MAX - 1, u64::MAX), (1 << 63, u64::MAX), ((1 << 63) - 1, 1 << 63)];
    for &(index, size) in cases {
        let plan = inclusion_proof_plan(index, size).expect("inclusion plan");
        assert!(plan.proof_len() <= 64, "{index} in {size}");
        let plan = consistency_proof_plan(index, size).expect("consistency plan");
        assert!(plan.proof_len() <= 65, "{index} -> {size}");
    }
}

#[test]
fn assemble_rejects_wrong_number_of_hashes() {
    let plan = inclusion_proof_plan(3, 7).expect("plan");
    let expected = plan.node_ids().len();
    for actual in [0, expected - 1, expected + 1] {
        assert_eq!(
            plan.assemble(&vec![[0u8; 32]; actual]),
            Err(ProofError::FetchedCountMismatch { expected, actual }),
            "{actual} hashes"
        );
    }
}

#[test]
fn missing_stored_node_is_reported() {
    let tree = MemoryTree::new(&numbered_leaves(7));
    let missing = NodeId::new(1, 2);
    let fetch = |id: NodeId| if id == missing { None } else { tree.fetch(id) };
    assert_eq!(inclusion_proof(0, 7, fetch), Err(ProofError::MissingNode(missing)));
    assert_eq!(consistency_proof(3, 7, fetch), Err(ProofError::MissingNode(missing)));
}

// ---------------------------------------------------------------------------
// Verification edge cases
// ---------------------------------------------------------------------------

/// `(index, size, proof, root, expected result)`.
type InclusionCase<'a> = (u64, u64, &'a [Hash], Hash, Result<(), VerifyError>);
/// `(size1, size2, proof, root1, root2, expected result)`.
type ConsistencyCase<'a> = (u64, u64, &'a [Hash], Hash, Hash, Result<(), VerifyError>);

#[test]
fn inclusion_verification_edge_cases() {
    let leaf = leaf_hash(b"data");
    let other = leaf_hash(b"other");
    let cases: &[InclusionCase<'_>] = &[
        // A one-leaf tree's root is its leaf hash and the proof is empty.
        (0, 1, &[], leaf, Ok(())),
        (0, 1, &[], other, Err(VerifyError::RootMismatch { expected: other, computed: leaf })),
        (0, 1, &[other], leaf, Err(VerifyError::WrongProofLength { expected: 0, actual: 1 })),
        (0, 0, &[], empty_root(), Err(VerifyError::IndexOutOfRange { index: 0, size: 0 })),
        (1, 0, &[], leaf, Err(VerifyError::IndexOutOfRange { index: 1, size: 0 })),
        (2, 1, &[], leaf, Err(VerifyError::IndexOutOfRange { index: 2, size: 1 })),
        (0, 2, &[], leaf, Err(VerifyError::WrongProofLength { expected: 1, actual: 0 })),
    ];
    for (index, size, proof, root, want) in cases {
        assert_eq!(&verify_inclusion(&leaf, *index, *size, proof, root), want, "{index} in {size}");
    }
}

#[test]
fn consistency_verification_edge_cases() {
    let a = leaf_hash(b"a");
    let b = leaf_hash(b"b");
    let empty = empty_root();
    let cases: &[ConsistencyCase<'_>] = &[
        // Always consistent: the empty tree, and a tree with itself.
        (0, 0, &[], empty, empty, Ok(())),
        (0, 1, &[], empty, a, Ok(())),
        (0, 1000, &[], empty, b, Ok(())),
        (1, 1, &[], a, a, Ok(())),
        (7, 7, &[], b, b, Ok(())),
        // Time travel.
        (1, 0, &[], a, empty, Err(VerifyError::SizesOutOfOrder { size1: 1, size2: 0 })),
        (2, 1, &[], a, b, Err(VerifyError::SizesOutOfOrder { size1: 2, size2: 1 })),
        // Missing proof.
        (1, 2, &[], a, b, Err(VerifyError::WrongProofLength { expected: 1, actual: 0 })),
        // Roots that cannot be right.
        (1, 1, &[], a, b, Err(VerifyError::RootMismatch { expected: b, computed: a })),
        (0, 0, &[], empty, a, Err(VerifyError::RootMismatch { expected: a, computed: empty })),
        (0, 3, &[], a, b, Err(VerifyError::OldRootMismatch { expected: a, computed: empty })),
        // Roots fine but a proof where none is allowed.
        (0, 0, &[empty], empty, empty, Err(VerifyError::WrongProofLength { expected: 0, actual: 1 })),
        (0, 1, &[empty], empty, a, Err(VerifyError::WrongProofLength { expected: 0, actual: 1 })),
        (1, 1, &[a], a, a, Err(VerifyError::WrongProofLength { expected: 0, actual: 1 })),
    ];
    for (size1, size2, proof, root1, root2, want) in cases {
        assert_eq!(&verify_consistency(*size1, *size2, proof, root1, root2), want, "{size1} -> {size2}");
    }
}

#[test]
fn root_mismatch_message_shows_both_roots_in_hex() {
    let error = VerifyError::RootMismatch { expected: [0xab; 32], computed: [0x01; 32] };
    let message = error.to_string();
    assert!(message.contains(&"ab".repeat(32)), "{message}");
    assert!(message.contains(&"01".repeat(32)), "{message}");
}

// ---------------------------------------------------------------------------
// Tampering
// ---------------------------------------------------------------------------

/// One way of presenting an inclusion proof for verification.
struct InclusionProbe {
    desc: String,
    leaf: Hash,
    index: u64,
    size: u64,
    proof: Vec<Hash>,
    root: Hash,
}

/// Every tampered variant of a valid inclusion proof (the valid one excluded).
///
/// There is deliberately no "size + 1" probe: a proof for leaf 0 of a
/// 3-leaf tree has the same shape as one for a 4-leaf tree, and the
/// verifier cannot tell them apart. The signed checkpoint binds size and
/// root together, which is why both must come from a verified checkpoint.
fn inclusion_probes(leaf: Hash, index: u64, size: u64, proof: &[Hash], root: Hash) -> Vec<InclusionProbe> {
    let probe = |desc: &str, leaf, index, size, proof: Vec<Hash>, root| InclusionProbe {
        desc: desc.to_owned(),
        leaf,
        index,
        size,
        proof,
        root,
    };
    let same = proof.to_vec();
    let with = |extra: &[Hash], front: bool| {
        let mut out = if front { extra.to_vec() } else { same.clone() };
        out.extend_from_slice(if front { proof } else { extra });
        out
    };
    let mut probes = vec![
        probe("index + 1", leaf, index + 1, size, same.clone(), root),
        probe("index ^ 2", leaf, index ^ 2, size, same.clone(), root),
        probe("size * 2", leaf, index, size * 2, same.clone(), root),
        probe("size / 2", leaf, index, size / 2, same.clone(), root),
        probe("empty root", leaf, index, size, same.clone(), empty_root()),
        probe("trailing zero hash", leaf, index, size, with(&[[0; 32]], false), root),
        probe("trailing root", leaf, index, size, with(&[root], false), root),
        probe("preceding zero hash", leaf, index, size, with(&[[0; 32]], true), root),
        probe("preceding root", leaf, index, size, with(&[root], true), root),
    ];
    if let Some(lower) = index.checked_sub(1) {
        probes.push(probe("index - 1", leaf, lower, size, same.clone(), root));
    }
    if let Some((_, shorter)) = proof.split_last() {
        probes.push(probe("truncated", leaf, index, size, shorter.to_vec(), root));
    }
    if let [first, rest @ ..] = proof {
        let mut inserted = vec![*first, [0x5a; 32]];
        inserted.extend_from_slice(rest);
        probes.push(probe("inserted component", leaf, index, size, inserted, root));
    }
    for bit in BITS_TO_FLIP {
        let desc = format!("leaf bit {bit}");
        probes.push(probe(&desc, flip_bit(&leaf, bit), index, size, same.clone(), root));
        let desc = format!("root bit {bit}");
        probes.push(probe(&desc, leaf, index, size, same.clone(), flip_bit(&root, bit)));
        for i in 0..proof.len() {
            let mut flipped = same.clone();
            flipped[i] = flip_bit(&flipped[i], bit);
            let desc = format!("proof[{i}] bit {bit}");
            probes.push(probe(&desc, leaf, index, size, flipped, root));
        }
    }
    probes
}

/// One way of presenting a consistency proof for verification.
struct ConsistencyProbe {
    desc: String,
    size1: u64,
    size2: u64,
    proof: Vec<Hash>,
    root1: Hash,
    root2: Hash,
}

/// Every tampered variant of a valid, non-empty consistency proof.
fn consistency_probes(size1: u64, size2: u64, proof: &[Hash], root1: Hash, root2: Hash) -> Vec<ConsistencyProbe> {
    let probe = |desc: &str, size1, size2, proof: Vec<Hash>, root1, root2| ConsistencyProbe {
        desc: desc.to_owned(),
        size1,
        size2,
        proof,
        root1,
        root2,
    };
    let same = proof.to_vec();
    let appended = |extra: Hash| {
        let mut out = same.clone();
        out.push(extra);
        out
    };
    let prepended = |extra: Hash| {
        let mut out = vec![extra];
        out.extend_from_slice(proof);
        out
    };
    let mut probes = vec![
        probe("size1 - 1", size1 - 1, size2, same.clone(), root1, root2),
        probe("size1 + 1", size1 + 1, size2, same.clone(), root1, root2),
        probe("size1 ^ 2", size1 ^ 2, size2, same.clone(), root1, root2),
        probe("size2 * 2", size1, size2 * 2, same.clone(), root1, root2),
        probe("size2 / 2", size1, size2 / 2, same.clone(), root1, root2),
        probe("swapped roots", size1, size2, same.clone(), root2, root1),
        probe("empty proof", size1, size2, Vec::new(), root1, root2),
        probe("trailing zero hash", size1, size2, appended([0; 32]), root1, root2),
        probe("trailing root1", size1, size2, appended(root1), root1, root2),
        probe("trailing root2", size1, size2, appended(root2), root1, root2),
        probe("preceding zero hash", size1, size2, prepended([0; 32]), root1, root2),
        probe("preceding root1", size1, size2, prepended(root1), root1, root2),
        probe("preceding root2", size1, size2, prepended(root2), root1, root2),
    ];
    if let Some(&first) = proof.first() {
        probes.push(probe("preceding proof[0]", size1, size2, prepended(first), root1, root2));
    }
    if let Some((_, shorter)) = proof.split_last() {
        probes.push(probe("truncated", size1, size2, shorter.to_vec(), root1, root2));
    }
    for bit in BITS_TO_FLIP {
        let desc = format!("root1 bit {bit}");
        probes.push(probe(&desc, size1, size2, same.clone(), flip_bit(&root1, bit), root2));
        let desc = format!("root2 bit {bit}");
        probes.push(probe(&desc, size1, size2, same.clone(), root1, flip_bit(&root2, bit)));
        for i in 0..proof.len() {
            let mut flipped = same.clone();
            flipped[i] = flip_bit(&flipped[i], bit);
            let desc = format!("proof[{i}] bit {bit}");
            probes.push(probe(&desc, size1, size2, flipped, root1, root2));
        }
    }
    probes
}

fn assert_inclusion_tampering_rejected(tree: &MemoryTree, index: u64, size: u64) {
    let leaf = tree.leaves[index as usize];
    let proof = tree.inclusion(index, size);
    let root = tree.root(size);
    assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));
    for p in inclusion_probes(leaf, index, size, &proof, root) {
        assert!(
            verify_inclusion(&p.leaf, p.index, p.size, &p.proof, &p.root).is_err(),
            "{index} in {size}: accepted {}",
            p.desc
        );
    }
}

fn assert_consistency_tampering_rejected(tree: &MemoryTree, size1: u64, size2: u64) {
    let proof = tree.consistency(size1, size2);
    let (root1, root2) = (tree.root(size1), tree.root(size2));
    assert_eq!(verify_consistency(size1, size2, &proof, &root1, &root2), Ok(()));
    for p in consistency_probes(size1, size2, &proof, root1, root2) {
        assert!(
            verify_consistency(p.size1, p.size2, &p.proof, &p.root1, &p.root2).is_err(),
            "{size1} -> {size2}: accepted {}",
            p.desc
        );
    }
}

#[test]
fn tampered_inclusion_proofs_are_rejected() {
    let tree = MemoryTree::new(&numbered_leaves(37));
    for size in TAMPER_SIZES {
        for index in 0..size {
            assert_inclusion_tampering_rejected(&tree, index, size);
        }
    }
}

#[test]
fn tampered_consistency_proofs_are_rejected() {
    let tree = MemoryTree::new(&numbered_leaves(37));
    for size2 in TAMPER_SIZES {
        for size1 in 1..size2 {
            assert_consistency_tampering_rejected(&tree, size1, size2);
        }
    }
}

#[test]
fn root_from_inclusion_proof_depends_on_every_element() {
    // The computed root changes with every single proof element, so a caller
    // comparing roots itself gets the same protection as verify_inclusion.
    let tree = MemoryTree::new(&numbered_leaves(37));
    let (index, size) = (21, 37);
    let leaf = tree.leaves[index as usize];
    let proof = tree.inclusion(index, size);
    let root = root_from_inclusion_proof(&leaf, index, size, &proof).expect("valid proof");
    assert_eq!(root, tree.root(size));
    for i in 0..proof.len() {
        let mut flipped = proof.clone();
        flipped[i] = flip_bit(&flipped[i], 200);
        assert_ne!(root_from_inclusion_proof(&leaf, index, size, &flipped), Ok(root), "proof[{i}]");
    }
}
