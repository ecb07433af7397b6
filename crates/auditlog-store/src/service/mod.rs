//! The service layer: the reference's permissions and the feature flag on
//! top of any [`Store`]. Create needs the `system` role; search and read need
//! `admin`, `system` or `auditor`; there is no update or delete. The
//! search parameters it takes are in [`params`].

use std::collections::HashMap;
use std::sync::Arc;

use auditlog_core::{
    AuditLog, Event, EventInput, Identity, ImportedEvent, NotLogged, Permission, RequestInfo, Timestamp, UserRef,
    ValidationError,
};
use uuid::Uuid;

use crate::error::StoreError;
use crate::export::ExportPager;
use crate::search::SearchResult;
use crate::store::Store;

mod params;

use auditlog_merkle::NoteVerifier;
use auditlog_transparency::{self as transparency, ConsistencyProof, InclusionProof, Leaf, StoredCheckpoint};
pub use params::{DEFAULT_SIZE, MAX_RESULTS, SearchError, SearchParams};

/// Why a proof cannot be given, with the store's error.
pub type ProofError = transparency::ProofError<StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("permission denied: {permission} needs one of the roles {roles}")]
    Forbidden { permission: Permission, roles: &'static str },
    #[error("no audit event with id {0}")]
    NotFound(Uuid),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Proof(#[from] ProofError),
}

/// Where an event stands in the transparency log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Integrity {
    /// Its leaf index, once integrated.
    pub leaf_index: Option<u64>,
    pub integrated: bool,
    /// The latest signed checkpoint's size and time.
    pub checkpoint_size: Option<u64>,
    pub checkpoint_time: Option<Timestamp>,
    /// Whether the latest signed checkpoint includes the event.
    pub in_checkpoint: bool,
    /// For an event the checkpoint includes, when the service has the log's
    /// key and the checkpoint's signature verifies: whether the event's
    /// inclusion proof verifies against the checkpoint's root, with its leaf
    /// hash recomputed from the event as stored now (`Err` says why not).
    #[serde(skip)]
    pub proof: Option<Result<(), String>>,
}

/// The transparency log's view of a set of events, against its latest
/// checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStatus {
    pub checkpoint: Option<StoredCheckpoint>,
    /// The checkpoint's signature checked with the log's key: `None` without
    /// a key or a checkpoint.
    pub signature: Option<Result<(), String>>,
    /// Every asked-for event.
    pub events: HashMap<Uuid, Integrity>,
}

/// The outcome of a create: stored, or deliberately not logged.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    Logged(Event),
    NotLogged(NotLogged),
}

/// One line of a bulk create.
#[derive(Debug, Clone, PartialEq)]
pub enum LineOutcome {
    Logged(Event),
    NotLogged(NotLogged),
    Invalid(ValidationError),
}

/// One item of an import.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportOutcome {
    Stored(Event),
    /// The same event (id and content) is already stored: nothing to do.
    AlreadyStored,
    /// An event with this id is stored with other content.
    Conflict(Uuid),
    /// An earlier item of the same call has this id.
    Duplicate(Uuid),
    Invalid(ValidationError),
}

#[derive(Clone)]
pub struct AuditLogService {
    audit: Arc<AuditLog>,
    store: Arc<dyn Store>,
    /// The transparency log's verifier key, when known.
    log_key: Option<Arc<NoteVerifier>>,
}

impl std::fmt::Debug for AuditLogService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLogService").field("store", &self.store.backend()).field("log_key", &self.log_key).finish()
    }
}

fn require(identity: &Identity, permission: Permission) -> Result<(), ServiceError> {
    if identity.can(permission) {
        Ok(())
    } else {
        let roles = match permission {
            Permission::Create => "system",
            _ => "admin, system, auditor",
        };
        Err(ServiceError::Forbidden { permission, roles })
    }
}

impl AuditLogService {
    pub fn new(audit: Arc<AuditLog>, store: Arc<dyn Store>) -> Self {
        AuditLogService { audit, store, log_key: None }
    }

    /// With the log's verifier key, [`AuditLogService::integrity_many`]
    /// checks checkpoint signatures and inclusion proofs.
    pub fn with_log_key(mut self, key: NoteVerifier) -> Self {
        self.log_key = Some(Arc::new(key));
        self
    }

    pub fn log_key(&self) -> Option<&NoteVerifier> {
        self.log_key.as_deref()
    }

    pub fn audit(&self) -> &Arc<AuditLog> {
        &self.audit
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Fills `user` from the store's last sighting when only `user_id` is
    /// given (the ingesting service may not know the email).
    async fn resolve_user(
        &self,
        input: &mut EventInput,
        cache: &mut HashMap<String, Option<UserRef>>,
    ) -> Result<(), StoreError> {
        let Some(id) = input.user_id.clone() else { return Ok(()) };
        if input.user.is_some() || id == "system" {
            return Ok(());
        }
        if !cache.contains_key(&id) {
            let found = self.store.find_user(&id).await?;
            cache.insert(id.clone(), found.map(|u| UserRef { id: u.id, username: u.username, email: Some(u.email) }));
        }
        if let Some(Some(u)) = cache.get(&id) {
            input.user = Some(u.clone());
            input.user_id = None;
        }
        Ok(())
    }

    /// Creates one event (the reference's `service.create`).
    pub async fn create(
        &self,
        identity: &Identity,
        mut input: EventInput,
        request: Option<RequestInfo>,
    ) -> Result<Created, ServiceError> {
        require(identity, Permission::Create)?;
        if let Some(reason) = self.audit.skip_reason(&input.action) {
            return Ok(Created::NotLogged(reason));
        }
        self.resolve_user(&mut input, &mut HashMap::new()).await?;
        let event = self.audit.validate(input, request, identity)?;
        self.store.insert(vec![event.clone()]).await?;
        Ok(Created::Logged(event))
    }

    /// Creates many events: every valid line is stored, all in one
    /// transaction; each line gets its own outcome, so a bad line never loses
    /// the good ones.
    pub async fn create_many(
        &self,
        identity: &Identity,
        lines: Vec<Result<EventInput, ValidationError>>,
        request: Option<RequestInfo>,
    ) -> Result<Vec<LineOutcome>, ServiceError> {
        require(identity, Permission::Create)?;
        let mut cache = HashMap::new();
        let mut outcomes = Vec::with_capacity(lines.len());
        let mut events = Vec::new();
        for line in lines {
            let outcome = match line {
                Err(e) => LineOutcome::Invalid(e),
                Ok(mut input) => match self.audit.skip_reason(&input.action) {
                    Some(reason) => LineOutcome::NotLogged(reason),
                    None => {
                        self.resolve_user(&mut input, &mut cache).await?;
                        match self.audit.validate(input, request.clone(), identity) {
                            Ok(e) => {
                                events.push(e.clone());
                                LineOutcome::Logged(e)
                            }
                            Err(e) => LineOutcome::Invalid(e),
                        }
                    }
                },
            };
            outcomes.push(outcome);
        }
        if !events.is_empty() {
            self.store.insert(events).await?;
        }
        Ok(outcomes)
    }

    /// Imports events logged elsewhere (see [`AuditLog::restore`]): each is
    /// checked as ingest checks an event (users known only by id are filled
    /// from the store, as for ingest) but keeps its id, time and message.
    /// Events already stored with the same content are skipped, so an import
    /// can be re-run; a second item with an id stored by this call is
    /// reported; the new events are stored in one transaction.
    pub async fn import_many(
        &self,
        identity: &Identity,
        items: Vec<Result<ImportedEvent, ValidationError>>,
    ) -> Result<Vec<ImportOutcome>, ServiceError> {
        require(identity, Permission::Create)?;
        let mut cache = HashMap::new();
        let mut checked = Vec::with_capacity(items.len());
        for item in items {
            checked.push(match item {
                Err(e) => Err(e),
                Ok(mut imported) => {
                    self.resolve_user(&mut imported.input, &mut cache).await?;
                    self.audit.restore(imported, identity)
                }
            });
        }
        let ids = checked.iter().filter_map(|c| c.as_ref().ok()).map(|e| e.id).collect();
        let stored: HashMap<Uuid, Event> = self.store.get_many(ids).await?.into_iter().map(|e| (e.id, e)).collect();
        let mut ids = std::collections::HashSet::new();
        let mut events = Vec::new();
        let outcomes = checked
            .into_iter()
            .map(|c| match c {
                Err(e) => ImportOutcome::Invalid(e),
                Ok(event) if ids.contains(&event.id) => ImportOutcome::Duplicate(event.id),
                Ok(event) => match stored.get(&event.id) {
                    Some(existing) if *existing == event => ImportOutcome::AlreadyStored,
                    Some(_) => ImportOutcome::Conflict(event.id),
                    None => {
                        ids.insert(event.id);
                        events.push(event.clone());
                        ImportOutcome::Stored(event)
                    }
                },
            })
            .collect();
        if !events.is_empty() {
            self.store.insert(events).await?;
        }
        Ok(outcomes)
    }

    pub async fn read(&self, identity: &Identity, id: Uuid) -> Result<Event, ServiceError> {
        require(identity, Permission::Read)?;
        self.store.get(id).await?.ok_or(ServiceError::NotFound(id))
    }

    pub async fn search(&self, identity: &Identity, params: &SearchParams) -> Result<SearchResult, ServiceError> {
        require(identity, Permission::Search)?;
        let plan = params.plan(Timestamp::now())?;
        let hits = self.store.search(&plan).await?;
        Ok(SearchResult::assemble(&plan, hits))
    }

    /// Every event matching `params`, oldest first, a page at a time, without
    /// the search's result window (the search right).
    pub fn export(&self, identity: &Identity, params: &SearchParams) -> Result<ExportPager, ServiceError> {
        require(identity, Permission::Search)?;
        Ok(ExportPager::new(self.store.clone(), params, crate::export::DEFAULT_PAGE)?)
    }

    /// The latest signed checkpoint (the verify right).
    pub async fn checkpoint(&self, identity: &Identity) -> Result<Option<StoredCheckpoint>, ServiceError> {
        require(identity, Permission::Verify)?;
        Ok(self.store.checkpoint(None).await?)
    }

    pub async fn inclusion_proof(
        &self,
        identity: &Identity,
        id: Uuid,
        tree_size: Option<u64>,
    ) -> Result<InclusionProof, ServiceError> {
        require(identity, Permission::Verify)?;
        match transparency::inclusion_proof(self.store.as_ref(), id, tree_size).await {
            // The log knows leaves only; the events say whether the id exists.
            Err(ProofError::NotIntegrated(id)) if self.store.get(id).await?.is_none() => {
                Err(ProofError::UnknownEvent(id).into())
            }
            other => Ok(other?),
        }
    }

    pub async fn consistency_proof(
        &self,
        identity: &Identity,
        from: u64,
        to: Option<u64>,
    ) -> Result<ConsistencyProof, ServiceError> {
        require(identity, Permission::Verify)?;
        Ok(transparency::consistency_proof(self.store.as_ref(), from, to).await?)
    }

    /// Where each of `ids` stands in the log against the latest checkpoint
    /// (the read right: the events' own status, no proof material). With
    /// the log's key, the checkpoint's signature is checked and, when it
    /// verifies, each included event's inclusion proof against its root:
    /// a fixed number of store reads however many events.
    pub async fn integrity_many(&self, identity: &Identity, ids: &[Uuid]) -> Result<LogStatus, ServiceError> {
        require(identity, Permission::Read)?;
        let checkpoint = self.store.checkpoint(None).await?;
        let signature = match (&self.log_key, &checkpoint) {
            (Some(key), Some(cp)) => Some(match key.verify(&cp.note) {
                Ok(c) if c.size == cp.size && c.root == cp.root => Ok(()),
                Ok(_) | Err(_) => Err(format!("the checkpoint of size {} does not verify with the log's key", cp.size)),
            }),
            _ => None,
        };
        let leaves: HashMap<Uuid, Leaf> =
            self.store.leaves_for_events(ids.to_vec()).await?.into_iter().map(|l| (l.event_id, l)).collect();
        let size = checkpoint.as_ref().map(|c| c.size);
        let mut events: HashMap<Uuid, Integrity> = ids
            .iter()
            .map(|id| {
                let leaf_index = leaves.get(id).map(|l| l.index);
                let integrity = Integrity {
                    leaf_index,
                    integrated: leaf_index.is_some(),
                    checkpoint_size: size,
                    checkpoint_time: checkpoint.as_ref().map(|c| c.created),
                    in_checkpoint: matches!((leaf_index, size), (Some(i), Some(n)) if i < n),
                    proof: None,
                };
                (*id, integrity)
            })
            .collect();
        if let (Some(Ok(())), Some(cp)) = (&signature, &checkpoint) {
            let included: Vec<&Leaf> = leaves.values().filter(|l| l.index < cp.size).collect();
            let stored: HashMap<Uuid, Event> = self
                .store
                .get_many(included.iter().map(|l| l.event_id).collect())
                .await?
                .into_iter()
                .map(|e| (e.id, e))
                .collect();
            let indexes: Vec<u64> = included.iter().map(|l| l.index).collect();
            let paths = transparency::inclusion_paths(self.store.as_ref(), &indexes, cp.size).await?;
            for (leaf, path) in included.into_iter().zip(paths) {
                let proof = match stored.get(&leaf.event_id) {
                    None => Err("the event is gone from the database".to_owned()),
                    Some(e) if transparency::leaf_hash_of(e) != leaf.hash => {
                        Err("the event changed after it was logged".to_owned())
                    }
                    Some(_) => auditlog_merkle::verify_inclusion(&leaf.hash, leaf.index, cp.size, &path, &cp.root)
                        .map_err(|e| format!("the inclusion proof does not verify: {e}")),
                };
                if let Some(i) = events.get_mut(&leaf.event_id) {
                    i.proof = Some(proof);
                }
            }
        }
        Ok(LogStatus { checkpoint, signature, events })
    }
}
