//! Finding and reading the configuration, and opening what it points at:
//! the embedded SQLite store for `sqlite://` URLs, PostgreSQL for
//! `postgres://` ones ([`Database`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use auditlog_core::{AuditLog, Config};
use auditlog_store::Store;
use auditlog_store::postgres::{PgOptions, PgStore, is_postgres_url};
use auditlog_store::sqlite::{SqliteOptions, SqliteStore};

use crate::UsageError;

/// The default configuration file, looked for in the working directory.
pub const DEFAULT_PATH: &str = "auditlog.toml";

/// The configuration in effect and where it came from.
pub struct Loaded {
    pub config: Config,
    /// The file read, if any.
    pub path: Option<PathBuf>,
}

/// Reads `--config` (or `AUDITLOG_CONFIG`), else `./auditlog.toml` when it
/// exists, else the application defaults. The application defaults differ
/// from the library's in one way: logging is enabled (the command-line tool
/// exists to log). Environment variables override the file in every case.
pub fn load(explicit: Option<&Path>) -> anyhow::Result<Loaded> {
    // `exists()` is false for a file it may not look at: ask, and report
    // permission problems as such rather than as a missing file.
    let path = match explicit {
        Some(p) => match std::fs::metadata(p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(UsageError(format!("configuration file {} does not exist", p.display())).into());
            }
            Err(e) => return Err(UsageError(format!("cannot read the configuration file {}: {e}", p.display())).into()),
            Ok(_) => Some(p.to_path_buf()),
        },
        None => Some(PathBuf::from(DEFAULT_PATH)).filter(|p| !matches!(p.try_exists(), Ok(false))),
    };
    let (text, origin) = match &path {
        Some(p) => (
            std::fs::read_to_string(p)
                .map_err(|e| UsageError(format!("cannot read the configuration file {}: {e}", p.display())))?,
            p.display().to_string(),
        ),
        None => ("AUDIT_LOGS_ENABLED = true\n".to_owned(), "defaults".to_owned()),
    };
    let base = path.as_ref().and_then(|p| p.parent()).map(Path::to_path_buf).unwrap_or_default();
    let config = Config::load(&text, &origin, std::env::vars(), &|schema| {
        std::fs::read_to_string(base.join(schema)).map_err(|e| e.to_string())
    })?;
    Ok(Loaded { config, path })
}

impl Loaded {
    /// The action registry and flags of this configuration.
    pub fn audit_log(&self) -> anyhow::Result<Arc<AuditLog>> {
        Ok(Arc::new(AuditLog::from_config(&self.config)?))
    }

    /// The SQLite options of this configuration.
    pub fn sqlite_options(&self) -> SqliteOptions {
        SqliteOptions { synchronous: self.config.sqlite_synchronous, ..Default::default() }
    }

    /// Opens the configured database. SQLite is created and migrated on
    /// first use; PostgreSQL opens no connection yet and is migrated only by
    /// `auditlog migrate` and `serve` (see [`crate::jobs::prepare`]).
    pub fn open_database(&self) -> anyhow::Result<Database> {
        self.open_database_waking(None)
    }

    /// [`Loaded::open_database`], with `commits` notified after each commit
    /// of the store's own inserts (what the sequencer of `serve` waits on).
    pub fn open_database_waking(&self, commits: Option<Arc<tokio::sync::Notify>>) -> anyhow::Result<Database> {
        let url = &self.config.database_url;
        if is_postgres_url(url) {
            return Ok(Database::Postgres(Arc::new(PgStore::connect(
                url,
                PgOptions { commits, ..Default::default() },
            )?)));
        }
        match auditlog_store::sqlite::path_from_url(url) {
            Some(path) => {
                let opts = SqliteOptions { commits, ..self.sqlite_options() };
                Ok(Database::Sqlite(Arc::new(SqliteStore::open(path, opts)?)))
            }
            None => Err(UsageError(format!("database_url {url:?}: use sqlite://PATH or postgres://...")).into()),
        }
    }

    /// Opens the configured store, SQLite or PostgreSQL. A PostgreSQL
    /// schema must be up to date: commands other than `migrate` and `serve`
    /// do not change it, and say so rather than fail on a missing table.
    pub async fn open_store(&self) -> anyhow::Result<Arc<dyn Store>> {
        let db = self.open_database()?;
        if let Database::Postgres(pg) = &db
            && let Some(behind) = schema_behind(pg).await?
        {
            return Err(UsageError(format!("{behind}: run `auditlog migrate` first")).into());
        }
        Ok(db.store())
    }

    /// Opens the configured SQLite store, or explains that the command needs one.
    pub fn open_sqlite(&self, command: &str) -> anyhow::Result<SqliteStore> {
        let url = &self.config.database_url;
        if is_postgres_url(url) {
            // The demo module keeps its own tables next to the audit log and
            // is written for SQLite; seeding PostgreSQL is not supported.
            return Err(UsageError(format!(
                "`auditlog {command}` works on the embedded SQLite store only, and database_url names \
                 PostgreSQL; run it with a sqlite:// database_url (e.g. AUDITLOG_DATABASE_URL=sqlite://./demo.db)"
            ))
            .into());
        }
        let path = auditlog_store::sqlite::path_from_url(url)
            .ok_or_else(|| UsageError(format!("`auditlog {command}` needs a sqlite:// database_url, not {url:?}")))?;
        Ok(SqliteStore::open(path, self.sqlite_options())?)
    }
}

/// `Some(why)` when a PostgreSQL schema is not the version this auditlog
/// needs (commands other than `migrate` and `serve` never change it).
pub async fn schema_behind(pg: &PgStore) -> anyhow::Result<Option<String>> {
    let version = pg.schema_version().await?;
    let latest = auditlog_store::postgres::LATEST;
    Ok((version != latest).then(|| {
        format!("the PostgreSQL schema at {} is at version {version}, this auditlog needs {latest}", pg.location())
    }))
}

/// The configured database, opened, with its concrete store: what the
/// commands that treat the two differently (migrations, partitions) need.
#[derive(Clone)]
pub enum Database {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

impl Database {
    /// The store behind the common interface.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Database::Sqlite(s) => s.clone(),
            Database::Postgres(s) => s.clone(),
        }
    }

    /// Where the data lives, without credentials: safe to print and log.
    pub fn location(&self) -> String {
        match self {
            Database::Sqlite(s) => format!("sqlite://{}", s.path().display()),
            Database::Postgres(s) => s.location().to_owned(),
        }
    }
}
