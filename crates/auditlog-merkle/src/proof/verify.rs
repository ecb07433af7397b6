//! Proof verification exactly as in RFC 9162 sections 2.1.3.2 and 2.1.4.2.
//!
//! Before running the RFC algorithms, the proof length is checked against the
//! length implied by the sizes, only so that a wrong-length proof gets a
//! precise error; the RFC algorithms would reject it anyway.

use crate::error::VerifyError;
use crate::hash::{Hash, empty_root, node_hash};
use crate::node::{consistency_proof_len, inclusion_proof_len};

fn check_len(expected: usize, proof: &[Hash]) -> Result<(), VerifyError> {
    if proof.len() == expected { Ok(()) } else { Err(VerifyError::WrongProofLength { expected, actual: proof.len() }) }
}

/// Right-shifts `fn_` and `sn` together until the low bit of `fn_` is set or
/// `fn_` is 0 (the "right-shift both equally until" step of both algorithms).
fn shift_to_set_bit(fn_: &mut u64, sn: &mut u64) {
    while *fn_ & 1 == 0 && *fn_ != 0 {
        *fn_ >>= 1;
        *sn >>= 1;
    }
}

/// The root that `proof` leads to from leaf `leaf_hash` at `index` in a tree
/// of `size` leaves (RFC 9162 section 2.1.3.2, steps 1 to 4 and the `sn`
/// check of step 5). Compare the result with a trusted root, or use
/// [`verify_inclusion`].
pub fn root_from_inclusion_proof(leaf_hash: &Hash, index: u64, size: u64, proof: &[Hash]) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    check_len(inclusion_proof_len(index, size), proof)?;

    let mut fn_ = index;
    let mut sn = size - 1;
    let mut r = *leaf_hash;
    for p in proof {
        if sn == 0 {
            return Err(VerifyError::ProofShapeMismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                shift_to_set_bit(&mut fn_, &mut sn);
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(VerifyError::ProofShapeMismatch);
    }
    Ok(r)
}

/// Checks that `proof` shows leaf `leaf_hash` at `index` in the tree of
/// `size` leaves whose root is `root` (RFC 9162 section 2.1.3.2).
///
/// Take `size` and `root` together from one verified checkpoint: the proof
/// binds the root, not the size, and some proofs have the same shape for
/// several sizes (leaf 0 of a 3-leaf tree and of a 4-leaf tree, say).
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let computed = root_from_inclusion_proof(leaf_hash, index, size, proof)?;
    if computed == *root { Ok(()) } else { Err(VerifyError::RootMismatch { expected: *root, computed }) }
}

/// Checks that the tree of `size2` leaves with root `root2` extends the tree
/// of `size1` leaves with root `root1` (RFC 9162 section 2.1.4.2).
///
/// RFC 9162 defines proofs only for `0 < size1 < size2`. For the other cases
/// the only acceptable proof is the empty one: with `size1 == size2` the
/// roots must be equal, and with `size1 == 0` the old root must be the
/// empty-tree hash (as must `root2` when `size2` is also 0).
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), VerifyError> {
    if size1 > size2 {
        return Err(VerifyError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == 0 {
        check_len(0, proof)?;
        let empty = empty_root();
        if *root1 != empty {
            return Err(VerifyError::OldRootMismatch { expected: *root1, computed: empty });
        }
        if size2 == 0 && *root2 != empty {
            return Err(VerifyError::RootMismatch { expected: *root2, computed: empty });
        }
        return Ok(());
    }
    if size1 == size2 {
        check_len(0, proof)?;
        if root1 != root2 {
            return Err(VerifyError::RootMismatch { expected: *root2, computed: *root1 });
        }
        return Ok(());
    }
    // Step 1 (an empty proof fails) is subsumed: the length is at least 1 here.
    check_len(consistency_proof_len(size1, size2), proof)?;

    // Step 2: when the old tree is a perfect subtree of the new one, its root
    // is the implicit first element.
    let seed = size1.is_power_of_two().then_some(root1);
    let mut path = seed.into_iter().chain(proof);
    let Some(first) = path.next() else {
        return Err(VerifyError::WrongProofLength { expected: 1, actual: 0 });
    };

    // Steps 3 and 4.
    let mut fn_ = size1 - 1;
    let mut sn = size2 - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }

    // Steps 5 and 6.
    let mut fr = *first;
    let mut sr = *first;
    for c in path {
        if sn == 0 {
            return Err(VerifyError::ProofShapeMismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                shift_to_set_bit(&mut fn_, &mut sn);
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }

    // Step 7.
    if sn != 0 {
        return Err(VerifyError::ProofShapeMismatch);
    }
    if fr != *root1 {
        return Err(VerifyError::OldRootMismatch { expected: *root1, computed: fr });
    }
    if sr != *root2 {
        return Err(VerifyError::RootMismatch { expected: *root2, computed: sr });
    }
    Ok(())
}
