//! A small drafts/records module — the kind of host application auditlog is
//! made for — and the demo instance generator built on it.
//!
//! [`Records`] keeps its own tables (`demo_parents`, `demo_records`) in the
//! same SQLite database as the audit log and performs InvenioRDM's five
//! end-user actions (create, edit and delete a draft, publish a record,
//! create a new version). Each action runs in a unit of work: the module's
//! own writes and the audit event commit together or not at all.
//!
//! [`generate`] drives [`Records`] with a few hundred simulated users to
//! produce a realistic instance: drafts that get edited and published,
//! published records that get new versions, abandoned drafts that get
//! deleted, spread over the last eighteen months.

use std::collections::HashMap;
use std::sync::Arc;

use auditlog_core::context::StaticUsers;
use auditlog_core::{AuditLog, ContextData, EventDraft, Identity, RequestInfo, Timestamp, User};
use auditlog_store::sqlite::{UnitOfWork, UowError};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rusqlite::{Connection, OptionalExtension, params};

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo tables: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    Uow(#[from] UowError),
    #[error("no such record {0:?}")]
    NoRecord(String),
    #[error("record {id:?} is {status}, cannot {action}")]
    WrongState { id: String, status: String, action: &'static str },
}

/// A record's life-cycle state in the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Published,
    Deleted,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Published => "published",
            Status::Deleted => "deleted",
        }
    }
}

/// What a caller knows about the request and the moment of an action.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub request: Option<RequestInfo>,
    /// Set to back-date events (the demo generator's simulated clock).
    pub at: Option<Timestamp>,
}

/// The drafts/records module. Every method is one business transaction.
pub struct Records<'a> {
    conn: &'a mut Connection,
    audit: &'a AuditLog,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS demo_parents (
    id TEXT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS demo_records (
    id        TEXT PRIMARY KEY,
    parent_id TEXT NOT NULL REFERENCES demo_parents (id),
    owner     TEXT NOT NULL,
    status    TEXT NOT NULL,
    revision  INTEGER NOT NULL,
    title     TEXT NOT NULL
);
";

impl<'a> Records<'a> {
    /// The module over a connection to the audit database; creates its tables.
    pub fn new(conn: &'a mut Connection, audit: &'a AuditLog) -> Result<Self, DemoError> {
        conn.execute_batch(SCHEMA)?;
        Ok(Records { conn, audit })
    }

    /// Runs one business transaction: `work` does the module's writes and
    /// returns the audit event to log, if any.
    fn transact<T>(
        &mut self,
        cx: &Context,
        work: impl FnOnce(&Connection) -> Result<(T, Option<EventDraft>), DemoError>,
    ) -> Result<T, DemoError> {
        let mut uow = UnitOfWork::begin(self.conn, self.audit).map_err(UowError::from)?;
        let (out, draft) = work(&uow)?;
        if let Some(mut draft) = draft {
            draft.created = cx.at;
            uow.register(draft)?;
        }
        uow.commit()?;
        Ok(out)
    }

    fn build(
        audit: &AuditLog,
        who: &Identity,
        action: &str,
        record: &str,
        data: ContextData,
        cx: &Context,
    ) -> Result<Option<EventDraft>, DemoError> {
        let data = match &cx.request {
            Some(r) => data.with_request(r.clone()),
            None => data,
        };
        Ok(audit.build(who, action, record, data).map_err(UowError::from)?)
    }

    fn load(conn: &Connection, id: &str) -> Result<(String, Status, i64), DemoError> {
        let row: Option<(String, String, i64)> = conn
            .query_row("SELECT parent_id, status, revision FROM demo_records WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let (parent, status, revision) = row.ok_or_else(|| DemoError::NoRecord(id.into()))?;
        let status = match status.as_str() {
            "draft" => Status::Draft,
            "published" => Status::Published,
            _ => Status::Deleted,
        };
        Ok((parent, status, revision))
    }

    /// Creates a draft (and its parent): logs `draft.create`.
    pub fn create_draft(
        &mut self,
        who: &Identity,
        id: &str,
        parent: &str,
        title: &str,
        cx: &Context,
    ) -> Result<(), DemoError> {
        let audit = self.audit;
        self.transact(cx, |c| {
            c.execute("INSERT INTO demo_parents (id) VALUES (?1)", [parent])?;
            c.execute(
                "INSERT INTO demo_records (id, parent_id, owner, status, revision, title) VALUES (?1, ?2, ?3, 'draft', 0, ?4)",
                params![id, parent, who.id, title],
            )?;
            let d = Self::build(audit, who, "draft.create", id, ContextData::new().with("parent_pid", parent), cx)?;
            Ok(((), d))
        })
    }

    /// Edits a draft: logs `draft.edit`.
    pub fn edit_draft(&mut self, who: &Identity, id: &str, title: &str, cx: &Context) -> Result<(), DemoError> {
        let audit = self.audit;
        self.transact(cx, |c| {
            let (parent, status, _) = Self::load(c, id)?;
            if status != Status::Draft {
                return Err(DemoError::WrongState { id: id.into(), status: status.as_str().into(), action: "edit" });
            }
            c.execute("UPDATE demo_records SET title = ?2 WHERE id = ?1", params![id, title])?;
            let d = Self::build(audit, who, "draft.edit", id, ContextData::new().with("parent_pid", parent), cx)?;
            Ok(((), d))
        })
    }

    /// Publishes a draft as a new revision: logs `record.publish`.
    pub fn publish(&mut self, who: &Identity, id: &str, cx: &Context) -> Result<i64, DemoError> {
        let audit = self.audit;
        self.transact(cx, |c| {
            let (parent, status, revision) = Self::load(c, id)?;
            if status != Status::Draft {
                return Err(DemoError::WrongState { id: id.into(), status: status.as_str().into(), action: "publish" });
            }
            let revision = revision + 1;
            c.execute(
                "UPDATE demo_records SET status = 'published', revision = ?2 WHERE id = ?1",
                params![id, revision],
            )?;
            let data = ContextData::new()
                .with("record", serde_json::json!({"parent": {"id": parent}, "revision_id": revision}));
            let d = Self::build(audit, who, "record.publish", id, data, cx)?;
            Ok((revision, d))
        })
    }

    /// Deletes a draft: logs `draft.delete`.
    pub fn delete_draft(&mut self, who: &Identity, id: &str, cx: &Context) -> Result<(), DemoError> {
        let audit = self.audit;
        self.transact(cx, |c| {
            let (parent, status, _) = Self::load(c, id)?;
            if status != Status::Draft {
                return Err(DemoError::WrongState { id: id.into(), status: status.as_str().into(), action: "delete" });
            }
            c.execute("UPDATE demo_records SET status = 'deleted' WHERE id = ?1", [id])?;
            let d = Self::build(audit, who, "draft.delete", id, ContextData::new().with("parent_pid", parent), cx)?;
            Ok(((), d))
        })
    }

    /// Starts a new version of a published record as a new draft under the
    /// same parent: logs `draft.new_version`.
    pub fn new_version(&mut self, who: &Identity, of: &str, new_id: &str, cx: &Context) -> Result<(), DemoError> {
        let audit = self.audit;
        self.transact(cx, |c| {
            let (parent, status, _) = Self::load(c, of)?;
            if status != Status::Published {
                return Err(DemoError::WrongState { id: of.into(), status: status.as_str().into(), action: "version" });
            }
            c.execute(
                "INSERT INTO demo_records (id, parent_id, owner, status, revision, title)
                 SELECT ?2, parent_id, ?3, 'draft', 0, title FROM demo_records WHERE id = ?1",
                params![of, new_id, who.id],
            )?;
            let d = Self::build(
                audit,
                who,
                "draft.new_version",
                new_id,
                ContextData::new().with("parent_pid", parent),
                cx,
            )?;
            Ok(((), d))
        })
    }
}

/// Settings of a generated instance.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub events: u64,
    pub users: usize,
    pub seed: u64,
    /// Simulated history ends here and starts `days` earlier.
    pub until: Timestamp,
    pub days: u32,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { events: 10_000, users: 300, seed: 2026, until: Timestamp::now(), days: 540 }
    }
}

/// What a generated instance contains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoReport {
    pub events: u64,
    pub by_action: std::collections::BTreeMap<String, u64>,
    pub users: usize,
    pub records: usize,
}

const FIRST: &[&str] = &[
    "ada",
    "alan",
    "grace",
    "linus",
    "margaret",
    "tim",
    "barbara",
    "donald",
    "edsger",
    "frances",
    "john",
    "katherine",
    "ken",
    "leslie",
    "niklaus",
    "radia",
    "sophie",
    "vint",
    "yukihiro",
    "hedy",
    "mary",
    "claude",
    "dennis",
    "shafi",
];
const LAST: &[&str] = &[
    "lovelace",
    "turing",
    "hopper",
    "torvalds",
    "hamilton",
    "berners-lee",
    "liskov",
    "knuth",
    "dijkstra",
    "allen",
    "backus",
    "johnson",
    "thompson",
    "lamport",
    "wirth",
    "perlman",
    "wilson",
    "cerf",
    "matsumoto",
    "lamarr",
];
const DOMAINS: &[&str] =
    &["cern.ch", "inveniosoftware.org", "zenodo.org", "uni-example.edu", "library.example.org", "research.example.net"];
const WORDS: &[&str] = &[
    "dataset",
    "measurements",
    "survey",
    "thesis",
    "software",
    "poster",
    "climate",
    "genome",
    "particle",
    "archive",
    "corpus",
    "images",
    "simulation",
    "notebook",
    "samples",
    "interviews",
    "maps",
    "code",
    "results",
    "protocol",
];

/// The simulated users: ids `1`..=`n`, with usernames and emails.
pub fn demo_users(n: usize, seed: u64) -> Vec<User> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    (1..=n)
        .map(|i| {
            let first = FIRST[rng.random_range(0..FIRST.len())];
            let last = LAST[rng.random_range(0..LAST.len())];
            let domain = DOMAINS[rng.random_range(0..DOMAINS.len())];
            User {
                id: i.to_string(),
                username: Some(format!("{first}{i}")),
                email: format!("{first}.{last}{i}@{domain}"),
            }
        })
        .collect()
}

/// An InvenioRDM-style persistent identifier: `abcde-12345`.
fn pid(rng: &mut StdRng) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let mut s = String::with_capacity(11);
    for i in 0..10 {
        if i == 5 {
            s.push('-');
        }
        s.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    s
}

/// An [`AuditLog`] for the demo: the given configuration's actions and the
/// demo's users as the user resolver.
pub fn demo_audit_log(
    config: &auditlog_core::Config,
    users: &[User],
) -> Result<AuditLog, auditlog_core::config::ConfigError> {
    let mut known = StaticUsers::default();
    for u in users {
        known.insert(u.clone());
    }
    Ok(AuditLog::from_config(config)?.with_users(Arc::new(known)))
}

/// Generates a demo instance through the records module. `progress` is
/// called with the number of events logged so far.
pub fn generate(
    conn: &mut Connection,
    audit: &AuditLog,
    opts: &DemoOptions,
    mut progress: impl FnMut(u64),
) -> Result<DemoReport, DemoError> {
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let users = demo_users(opts.users, opts.seed);
    let identities: Vec<Identity> = users.iter().map(|u| Identity::user(u.id.clone())).collect();
    let mut records = Records::new(conn, audit)?;
    let mut drafts: Vec<(String, usize)> = Vec::new();
    let mut published: Vec<(String, usize)> = Vec::new();
    let mut report = DemoReport { users: users.len(), ..Default::default() };
    let mut sessions: HashMap<usize, String> = HashMap::new();
    let span_us = i64::from(opts.days) * 86_400_000_000;
    let start = opts.until.as_micros() - span_us;
    let step = (span_us / opts.events.max(1) as i64).max(1);
    let mut clock = start;
    let mut created_records = 0usize;

    while report.events < opts.events {
        // Evenly spread over the span, jittered, strictly increasing, ending at `until`.
        let target = start + step * (report.events as i64 + 1);
        clock = (clock + 1).max(target - rng.random_range(0..step));
        let at = Timestamp::from_micros(clock.min(opts.until.as_micros()));
        let roll = rng.random_range(0..100u32);
        // Pick an action the current state allows; new drafts keep it moving.
        let action = match roll {
            _ if drafts.is_empty() && published.is_empty() => "draft.create",
            0..=19 => "draft.create",
            20..=49 if !drafts.is_empty() => "draft.edit",
            50..=74 if !drafts.is_empty() => "record.publish",
            75..=86 if !published.is_empty() => "draft.new_version",
            87..=91 if !drafts.is_empty() => "draft.delete",
            _ if !drafts.is_empty() => "draft.edit",
            _ => "draft.create",
        };
        let owner_of = |rng: &mut StdRng, owner: usize| {
            // Mostly the owner; sometimes a curator acting on their behalf.
            if rng.random_range(0..10) == 0 { rng.random_range(0..identities.len()) } else { owner }
        };
        let user = rng.random_range(0..identities.len());
        let session = sessions.entry(user).or_insert_with(|| format!("s-{:08x}", rng.random::<u32>())).clone();
        if rng.random_range(0..20) == 0 {
            sessions.remove(&user);
        }
        let request = RequestInfo {
            remote_addr: Some("10.0.0.2".into()),
            forwarded_for: Some(format!(
                "{}.{}.{}.{}",
                rng.random_range(1..224),
                rng.random_range(0..256),
                rng.random_range(0..256),
                rng.random_range(1..255)
            )),
            session: Some(session),
            request_id: Some(format!("r-{:016x}", rng.random::<u64>())),
        };
        let cx = Context { request: Some(request), at };
        match action {
            "draft.create" => {
                let id = pid(&mut rng);
                let parent = pid(&mut rng);
                let title =
                    format!("{} {}", WORDS[rng.random_range(0..WORDS.len())], WORDS[rng.random_range(0..WORDS.len())]);
                records.create_draft(&identities[user], &id, &parent, &title, &cx)?;
                drafts.push((id, user));
                created_records += 1;
            }
            "draft.edit" => {
                let (id, owner) = drafts[rng.random_range(0..drafts.len())].clone();
                let who = owner_of(&mut rng, owner);
                records.edit_draft(&identities[who], &id, WORDS[rng.random_range(0..WORDS.len())], &cx)?;
            }
            "record.publish" => {
                let (id, owner) = drafts.swap_remove(rng.random_range(0..drafts.len()));
                let who = owner_of(&mut rng, owner);
                records.publish(&identities[who], &id, &cx)?;
                published.push((id, owner));
            }
            "draft.new_version" => {
                let i = rng.random_range(0..published.len());
                let (of, owner) = published.swap_remove(i);
                let new_id = pid(&mut rng);
                let who = owner_of(&mut rng, owner);
                records.new_version(&identities[who], &of, &new_id, &cx)?;
                drafts.push((new_id, owner));
                created_records += 1;
            }
            _ => {
                let (id, owner) = drafts.swap_remove(rng.random_range(0..drafts.len()));
                let who = owner_of(&mut rng, owner);
                records.delete_draft(&identities[who], &id, &cx)?;
            }
        }
        report.events += 1;
        *report.by_action.entry(action.to_owned()).or_default() += 1;
        progress(report.events);
    }
    report.records = created_records;
    Ok(report)
}
