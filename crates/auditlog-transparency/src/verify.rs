//! Database verification: every stored event's leaf hash and the tree's
//! root recomputed and compared with the stored leaves and the latest
//! signed checkpoint, each problem reported with its event and leaf.

use auditlog_core::Timestamp;
use auditlog_merkle::{CompactRange, NodeId, NoteVerifier};
use uuid::Uuid;

use crate::{Hash, TreeError, TreeStore, leaf_hash_of};

/// One finding of [`verify_database`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The event row no longer hashes to its leaf.
    ContentChanged { event_id: Uuid, leaf_index: u64 },
    /// The leaf's event row is gone and retention did not remove it.
    Missing { event_id: Uuid, leaf_index: u64 },
    /// An event row that is neither a leaf nor waiting to become one.
    UnexpectedRow { event_id: Uuid },
    /// Leaves whose position in the tree differs from when it was built.
    OrderChanged { leaf_index: u64, event_id: Uuid },
    /// The tree recomputed from the stored events does not have the signed
    /// checkpoint's root.
    RootMismatch { size: u64, expected: Hash, actual: Hash },
    /// The checkpoint's signature does not verify with the given key.
    BadSignature { size: u64, reason: String },
    /// Leaf indexes are not consecutive from 0.
    Gap { expected: u64, found: u64 },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex = |h: &Hash| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
        match self {
            Finding::ContentChanged { event_id, leaf_index } => {
                write!(f, "leaf {leaf_index}: event {event_id}: content changed")
            }
            Finding::Missing { event_id, leaf_index } => write!(f, "leaf {leaf_index}: event {event_id}: missing"),
            Finding::UnexpectedRow { event_id } => write!(f, "event {event_id}: unexpected row (not in the log)"),
            Finding::OrderChanged { leaf_index, event_id } => {
                write!(f, "leaf {leaf_index}: event {event_id}: order changed")
            }
            Finding::RootMismatch { size, expected, actual } => write!(
                f,
                "tree of size {size}: root {} does not match the signed checkpoint's {}",
                hex(actual),
                hex(expected)
            ),
            Finding::BadSignature { size, reason } => {
                write!(f, "checkpoint of size {size}: signature does not verify: {reason}")
            }
            Finding::Gap { expected, found } => write!(f, "leaf indexes jump from {expected} to {found}"),
        }
    }
}

/// The result of verifying a database against its latest signed checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Size and root of the latest checkpoint (when there is one).
    pub checkpoint: Option<(u64, Hash)>,
    pub leaves: u64,
    pub expired: u64,
    /// Events committed but not yet integrated (not tampering).
    pub pending: u64,
    pub findings: Vec<Finding>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Recomputes every stored event's leaf hash and the tree root, and compares
/// them with the stored leaves and the latest signed checkpoint (verified
/// with `verifier`). An expired leaf counts as expired only if it is older
/// than `expiry_floor` (no retention period expires younger events);
/// otherwise its absence is a finding.
pub async fn verify_database<S: TreeStore + ?Sized>(
    store: &S,
    verifier: &NoteVerifier,
    expiry_floor: Option<Timestamp>,
) -> Result<VerifyReport, S::Error> {
    let mut report = VerifyReport::default();
    let latest = store.checkpoint(None).await?;
    let mut signed: Option<(u64, Hash)> = None;
    if let Some(cp) = &latest {
        match verifier.verify(&cp.note) {
            Ok(c) if c.size == cp.size && c.root == cp.root => signed = Some((c.size, c.root)),
            Ok(c) => report.findings.push(Finding::BadSignature {
                size: cp.size,
                reason: format!("the note says size {} root mismatch with the stored row", c.size),
            }),
            Err(e) => report.findings.push(Finding::BadSignature { size: cp.size, reason: e.to_string() }),
        }
    }
    report.checkpoint = signed;
    report.pending = store.pending_count().await?;

    // Leaves in order; each compared with its event, and folded into a
    // compact range to recompute the root at the checkpoint's size.
    let mut range = CompactRange::new();
    let mut root_at_checkpoint = None;
    let mut from = 0u64;
    // Level-1 nodes as stored, to localise reordered leaves.
    let mut recomputed_pairs: Vec<(u64, Hash, Hash, Uuid, Uuid)> = Vec::new();
    let mut pending_left: Option<(Hash, Uuid)> = None;
    loop {
        let batch = store.leaves_with_events(from, 10_000).await?;
        if batch.is_empty() {
            break;
        }
        for (leaf, event) in &batch {
            if leaf.index != report.leaves {
                report.findings.push(Finding::Gap { expected: report.leaves, found: leaf.index });
            }
            let hash = match event {
                Some(e) => {
                    let h = leaf_hash_of(e);
                    if h != leaf.hash {
                        report
                            .findings
                            .push(Finding::ContentChanged { event_id: leaf.event_id, leaf_index: leaf.index });
                    }
                    h
                }
                None => {
                    let expired = leaf.expired.is_some() && expiry_floor.is_none_or(|floor| leaf.created < floor);
                    if expired {
                        report.expired += 1;
                    } else {
                        report.findings.push(Finding::Missing { event_id: leaf.event_id, leaf_index: leaf.index });
                    }
                    leaf.hash
                }
            };
            range.append(hash, |_, _| {}).map_err(|e| S::Error::from(TreeError::from(e)))?;
            report.leaves += 1;
            if let Some((size, _)) = signed
                && range.size() == size
            {
                root_at_checkpoint = Some(range.root());
            }
            match pending_left.take() {
                None => pending_left = Some((hash, leaf.event_id)),
                Some((left, left_id)) => {
                    recomputed_pairs.push((leaf.index / 2, left, hash, left_id, leaf.event_id));
                }
            }
        }
        from = batch.last().map_or(from, |(l, _)| l.index + 1);
    }

    if let Some((size, expected)) = signed {
        let actual = match root_at_checkpoint {
            Some(r) => r,
            None if size == 0 => auditlog_merkle::empty_root(),
            // The stored tree is shorter than the signed one: truncated.
            None => range.root(),
        };
        if actual != expected || report.leaves < size {
            // Localise: level-1 nodes recomputed from the events vs as stored.
            let content_problem = report
                .findings
                .iter()
                .any(|f| matches!(f, Finding::ContentChanged { .. } | Finding::Missing { .. } | Finding::Gap { .. }));
            if !content_problem {
                let ids: Vec<NodeId> = recomputed_pairs.iter().map(|(k, ..)| NodeId::new(1, *k)).collect();
                let stored = store.tree_nodes(ids).await?;
                for ((k, l, r, lid, rid), s) in recomputed_pairs.iter().zip(stored) {
                    if s.is_some_and(|s| s != auditlog_merkle::node_hash(l, r)) {
                        report.findings.push(Finding::OrderChanged { leaf_index: 2 * k, event_id: *lid });
                        report.findings.push(Finding::OrderChanged { leaf_index: 2 * k + 1, event_id: *rid });
                    }
                }
            }
            report.findings.push(Finding::RootMismatch { size, expected, actual });
        }
    }

    for id in store.unlogged_events(1000).await? {
        report.findings.push(Finding::UnexpectedRow { event_id: id });
    }
    Ok(report)
}
