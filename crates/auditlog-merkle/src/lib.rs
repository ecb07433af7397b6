//! RFC 6962 / RFC 9162 Merkle trees and C2SP signed checkpoints: the tamper-evidence core of auditlog.
//!
//! Every stored audit event is a leaf of an append-only Merkle tree. The
//! sequencer appends leaf hashes to a [`CompactRange`] and persists every
//! node it reports; later, [`inclusion_proof_plan`] and
//! [`consistency_proof_plan`] name the stored nodes a proof needs, so a
//! database can fetch them in one query. A [`NoteSigner`] signs
//! [`Checkpoint`]s, and anyone holding the verifier key can check history
//! offline with [`NoteVerifier`], [`verify_inclusion`] and
//! [`verify_consistency`].
//!
//! This crate only hashes and signs: no IO, no storage, no serialization
//! framework.

pub mod checkpoint;
pub mod error;
pub mod hash;
pub mod node;
pub mod proof;
pub mod range;

pub use checkpoint::{Checkpoint, NoteSigner, NoteVerifier};
pub use error::{CheckpointError, NoteError, ProofError, RangeError, VerifyError};
pub use hash::{Hash, empty_root, leaf_hash, node_hash, root_from_leaf_hashes};
pub use node::{NodeId, frontier, range_nodes};
pub use proof::{
    ProofPlan, consistency_proof, consistency_proof_plan, inclusion_proof, inclusion_proof_plan,
    root_from_inclusion_proof, verify_consistency, verify_inclusion,
};
pub use range::CompactRange;
