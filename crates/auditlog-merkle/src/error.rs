//! Error types: one enum per concern, each variant naming what went wrong.

use crate::hash::Hash;
use crate::node::NodeId;

/// Lowercase hex of a hash, for error messages.
fn hex(hash: &Hash) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * hash.len());
    for byte in hash {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Restoring or growing a [`crate::CompactRange`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// A tree of `size` leaves has one frontier hash per set bit of `size`.
    #[error("a tree of size {size} has {expected} frontier hashes, got {actual}")]
    WrongHashCount {
        /// The tree size given.
        size: u64,
        /// `size.count_ones()`.
        expected: usize,
        /// Number of hashes given.
        actual: usize,
    },
    /// The tree already holds `u64::MAX` leaves.
    #[error("the tree is full: it already holds u64::MAX leaves")]
    TreeFull,
}

/// Planning or assembling a proof failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Inclusion was requested for a leaf the tree does not have yet.
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// Requested leaf index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// Consistency was requested from a larger tree to a smaller one.
    #[error("consistency proof from size {size1} to the smaller size {size2}")]
    SizesOutOfOrder {
        /// The older (first) tree size.
        size1: u64,
        /// The newer (second) tree size.
        size2: u64,
    },
    /// [`crate::ProofPlan::assemble`] got a different number of hashes than
    /// [`crate::ProofPlan::node_ids`] lists.
    #[error("expected {expected} fetched node hashes, got {actual}")]
    FetchedCountMismatch {
        /// Number of node ids in the plan.
        expected: usize,
        /// Number of hashes passed in.
        actual: usize,
    },
    /// The node store does not have a node the proof needs.
    #[error("node {0} is missing from the store")]
    MissingNode(NodeId),
}

/// A proof did not verify. Verification never panics; every way a proof can
/// be wrong maps to one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// Claimed leaf index.
        index: u64,
        /// Claimed tree size.
        size: u64,
    },
    /// The first tree size is larger than the second.
    #[error("consistency claimed from size {size1} to the smaller size {size2}")]
    SizesOutOfOrder {
        /// The older (first) tree size.
        size1: u64,
        /// The newer (second) tree size.
        size2: u64,
    },
    /// The proof has the wrong number of hashes for the claimed sizes.
    #[error("proof has {actual} hashes, expected {expected} for these tree sizes")]
    WrongProofLength {
        /// Length implied by the index and sizes.
        expected: usize,
        /// Length of the proof given.
        actual: usize,
    },
    /// The proof was exhausted or overran the tree shape (RFC 9162 "sn is 0").
    #[error("proof does not fit the shape of a tree of the claimed size")]
    ProofShapeMismatch,
    /// The root computed from an inclusion proof, or the new root of a
    /// consistency proof, differs from the trusted one.
    #[error("root mismatch: expected {}, computed {}", hex(.expected), hex(.computed))]
    RootMismatch {
        /// The trusted root passed in.
        expected: Hash,
        /// The root the proof leads to.
        computed: Hash,
    },
    /// The old root a consistency proof leads to differs from the trusted one.
    #[error("old root mismatch: expected {}, computed {}", hex(.expected), hex(.computed))]
    OldRootMismatch {
        /// The trusted old root passed in.
        expected: Hash,
        /// The old root the proof leads to.
        computed: Hash,
    },
}

/// A checkpoint body is malformed, or a checkpoint cannot be serialised
/// without changing its meaning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The body does not end with a newline.
    #[error("checkpoint body does not end with a newline")]
    MissingFinalNewline,
    /// Fewer than the three mandatory lines.
    #[error("checkpoint body has {0} lines, needs at least origin, size and root")]
    TooFewLines(usize),
    /// The origin line is empty.
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    /// The size line is not a decimal number without leading zeros that fits in u64.
    #[error("invalid checkpoint tree size {0:?}")]
    InvalidSize(String),
    /// The root line is not canonical standard base64 of 32 bytes.
    #[error("invalid checkpoint root hash {0:?}: need standard base64 of 32 bytes")]
    InvalidRoot(String),
    /// An extension line is empty.
    #[error("checkpoint extension line {0} is empty")]
    EmptyExtension(usize),
    /// A field contains a newline or another ASCII control character, which
    /// would change the line structure of the body.
    #[error("checkpoint {field} contains a control character")]
    ControlCharacter {
        /// Which field: "origin" or "extension".
        field: &'static str,
    },
}

/// Creating, signing or verifying a signed note failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Key names must be non-empty and contain neither Unicode whitespace nor '+'.
    #[error("invalid key name {0:?}: must be non-empty, without whitespace or '+'")]
    InvalidKeyName(String),
    /// A key string does not have the `[PRIVATE+KEY+]<name>+<hex id>+<base64>` shape.
    #[error("malformed key string: {0}")]
    MalformedKey(&'static str),
    /// The key's algorithm byte is not 0x01 (Ed25519).
    #[error("unsupported signature algorithm 0x{0:02x}, only Ed25519 (0x01) is supported")]
    UnsupportedAlgorithm(u8),
    /// The key id in a key string does not match the key it encodes.
    #[error("key id {stated:08x} does not match the key, which has id {computed:08x}")]
    KeyIdMismatch {
        /// Id written in the key string.
        stated: u32,
        /// Id computed from the name and public key.
        computed: u32,
    },
    /// The 32 bytes are not a valid Ed25519 public key.
    #[error("invalid Ed25519 public key")]
    InvalidPublicKey,
    /// The operating system random number generator failed.
    #[error("random number generator failed: {0}")]
    Randomness(String),
    /// The note text to sign is empty or does not end with a newline.
    #[error("note text must be non-empty and end with a newline")]
    TextNotNewlineTerminated,
    /// The note contains an ASCII control character other than newline.
    #[error("note contains a control character other than newline")]
    ControlCharacter,
    /// No blank line separates the text from the signatures.
    #[error("note has no blank line before the signatures")]
    MissingBlankLine,
    /// The blank line is not followed by any signature line.
    #[error("note has no signature lines")]
    NoSignatures,
    /// The signature block does not end with a newline.
    #[error("note signature block does not end with a newline")]
    SignatureBlockNotTerminated,
    /// More signature lines than this implementation accepts.
    #[error("note has more than {max} signatures")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A signature line is not `— <name> <base64>`.
    #[error("malformed signature line {line}: {reason}")]
    MalformedSignatureLine {
        /// 1-based position within the signature block.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A signature line's payload is not valid standard base64.
    #[error("signature line {line} is not valid base64")]
    BadBase64 {
        /// 1-based position within the signature block.
        line: usize,
    },
    /// No signature line carries the verifier's key name and key id.
    #[error("no signature by key {name}+{key_id:08x}")]
    UnknownKey {
        /// The verifier's key name.
        name: String,
        /// The verifier's key id.
        key_id: u32,
    },
    /// A signature line carries the verifier's key name and id, but the
    /// signature does not verify.
    #[error("invalid signature by key {name}+{key_id:08x}")]
    InvalidSignature {
        /// The verifier's key name.
        name: String,
        /// The verifier's key id.
        key_id: u32,
    },
    /// The signed text is not a valid checkpoint body.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}
