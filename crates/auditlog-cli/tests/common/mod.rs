//! Test harness for the real `auditlog` binary: an [`Instance`] (a
//! configuration file in a tempdir) runs commands and starts servers; a
//! [`Server`] is a running `auditlog serve` reached over loopback HTTP with
//! an [`Api`] client and stopped with SIGTERM; a [`PgSchema`] is a fresh
//! schema on the test PostgreSQL server; a [`Cluster`] is a throwaway
//! PostgreSQL cluster of the test's own, which it may stop and start.
//!
//! PostgreSQL tests run when `AUDITLOG_TEST_POSTGRES_URL` is set and fail
//! (not skip) when that server cannot be reached.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_auditlog");
pub const POSTGRES_URL_VAR: &str = "AUDITLOG_TEST_POSTGRES_URL";

/// The plaintext of the one token every test instance knows (roles admin
/// and system: it may ingest, search and read).
pub const TOKEN: &str = "al_cli-test-token-5e1f0c";

/// Longest wait for a server to say it is listening or to exit. Only a
/// bound for a broken build; nothing is measured against it.
const PROCESS_WAIT: Duration = Duration::from_secs(120);

/// The test server's URL, when PostgreSQL tests are on.
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR).ok().filter(|u| !u.trim().is_empty())
}

/// True (after saying so) when PostgreSQL tests are off.
pub fn skip_postgres(test: &str) -> bool {
    if postgres_url().is_some() {
        return false;
    }
    // Straight to stderr: the test harness would swallow `eprintln!`.
    let _ = writeln!(std::io::stderr(), "skipped {test}: {POSTGRES_URL_VAR} is not set");
    true
}

/// `url` with `options=-csearch_path=<schema>` added: every session of a
/// store opened on it works in that schema.
pub fn with_search_path(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

/// Opens a plain connection (its driver task spawned on the current runtime).
pub async fn pg_connect(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let mut config: tokio_postgres::Config = url.parse()?;
    config.connect_timeout(Duration::from_secs(5));
    let (client, conn) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// A uniquely named schema on the test server, dropped with its contents
/// when this value is dropped (stop the servers using it first).
pub struct PgSchema {
    pub name: String,
    base: String,
}

impl PgSchema {
    /// Creates the schema; panics (failing the test) when the server named
    /// by the environment cannot be reached.
    pub async fn create() -> PgSchema {
        let base = postgres_url().expect("PostgreSQL tests are on");
        let name = format!("auditlog_cli_test_{}", uuid::Uuid::now_v7().simple());
        let admin = pg_connect(&base)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is set but PostgreSQL at {base} cannot be reached: {e}"));
        admin.batch_execute(&format!("CREATE SCHEMA {name}")).await.expect("create the test schema");
        PgSchema { name, base }
    }

    /// The `database_url` of this schema.
    pub fn url(&self) -> String {
        with_search_path(&self.base, &self.name)
    }

    /// A plain connection working in this schema.
    pub async fn connect(&self) -> tokio_postgres::Client {
        pg_connect(&self.url()).await.expect("connect to the test schema")
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        // Drop may run inside a runtime: do the async work on a thread of its own.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            rt.block_on(async {
                let c = pg_connect(&base).await.map_err(|e| e.to_string())?;
                c.batch_execute(&format!("SET lock_timeout = '20s'; DROP SCHEMA {name} CASCADE"))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        if !matches!(done, Ok(Ok(()))) {
            eprintln!("could not drop the test schema {}: {done:?}", self.name);
        }
    }
}

/// Two custom actions: `test.event` (the default retention, 395 days) and
/// `test.archive` (kept forever).
pub const ACTIONS: &str = r#"
AUDIT_LOGS_RETENTION = { "test.archive" = "forever" }

[[actions]]
id = "test.event"
message_template = "User {user_id} touched {resource_id}."
resource_type = "record"

[[actions]]
id = "test.archive"
message_template = "User {user_id} archived {resource_id}."
resource_type = "record"
"#;

/// A configuration file in a tempdir, and the commands run with it.
pub struct Instance {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Instance {
    /// `database_url`, logging on, the test token, the test actions, and
    /// `extra` (top-level keys) before them.
    pub fn new(database_url: &str, extra: &str) -> Instance {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("auditlog.toml");
        let text = format!(
            "AUDIT_LOGS_ENABLED = true\ndatabase_url = {url:?}\n{extra}\n{ACTIONS}\n\
             [tokens.test]\nsha256 = {sha:?}\nroles = [\"admin\", \"system\"]\n",
            url = database_url,
            sha = auditlog_server::hash_token(TOKEN),
        );
        std::fs::write(&config, text).expect("write the configuration");
        Instance { dir, config }
    }

    /// The binary with this configuration, in the tempdir, with no
    /// configuration from the test's own environment.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.dir.path()).arg("--config").arg(&self.config);
        for (key, _) in std::env::vars() {
            if key.starts_with("AUDITLOG_") || key.starts_with("AUDIT_LOGS_") {
                cmd.env_remove(key);
            }
        }
        cmd
    }

    /// Runs `auditlog <args>` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run auditlog")
    }

    /// Runs `auditlog <args>` and returns its stdout; panics with both
    /// streams unless it exits 0.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "auditlog {args:?}: {}\n{}", out.status, show(&out));
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    /// Writes NDJSON lines to a file in the tempdir and ingests it.
    pub fn ingest(&self, lines: &[Value]) -> String {
        let path = self.dir.path().join("events.ndjson");
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, text).expect("write events");
        self.ok(&["ingest", path.to_str().expect("UTF-8 path")])
    }

    /// A path in the instance's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts `auditlog serve` on a free loopback port.
    pub fn serve(&self, name: &str) -> Server {
        Server::start(self, name)
    }
}

/// A command's standard output, as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A command's standard error, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// NDJSON text as values; panics on a line that is not JSON.
pub fn lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// Runs blocking work (a CLI command, `pg_ctl`, `psql`) from an async test.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// An embedded-store instance holding `recent` events of `test.event`
/// (resources `r-i`, users `i % users`) and `old` of `test.archive` from
/// 2021-06-01 (resources `old-i`, user 9).
pub fn seeded(recent: u32, users: u32, old: u32) -> Instance {
    let inst = Instance::new("sqlite://./audit.db", "");
    let mut events: Vec<Value> = (0..recent).map(|i| event("test.event", &format!("r-{i}"), i % users, None)).collect();
    events.extend((0..old).map(|i| event("test.archive", &format!("old-{i}"), 9, Some("2021-06-01T00:00:00Z"))));
    inst.ingest(&events);
    inst
}

/// Both output streams, for failure messages.
pub fn show(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A running `auditlog serve`.
pub struct Server {
    pub name: String,
    pub addr: SocketAddr,
    child: Child,
    stderr: PathBuf,
}

impl Server {
    fn start(instance: &Instance, name: &str) -> Server {
        let stderr = instance.dir.path().join(format!("{name}.stderr"));
        let log = std::fs::File::create(&stderr).expect("create the server log");
        let mut child = instance
            .command()
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("AUDITLOG_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start auditlog serve");
        // Read stdout on a thread of its own (and keep draining it, so the
        // server never blocks on a full pipe).
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("listening on http://") {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
        });
        let mut server = Server { name: name.to_owned(), addr: "127.0.0.1:0".parse().expect("addr"), child, stderr };
        match rx.recv_timeout(PROCESS_WAIT) {
            Ok(addr) => server.addr = addr.parse().expect("a socket address after `listening on http://`"),
            Err(e) => panic!("server {name} never said it was listening ({e}); its log:\n{}", server.log()),
        }
        server
    }

    /// `http://ADDR`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An API client for this server.
    pub fn api(&self) -> Api {
        Api::new(&self.base())
    }

    /// What the server has written to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the server to exit.
    pub fn stop(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let status = wait_bounded(&mut self.child)
            .unwrap_or_else(|| panic!("server {} did not exit after SIGTERM; its log:\n{}", self.name, self.log()));
        (status, self.log())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits for `child` to exit, polling, for at most [`PROCESS_WAIT`].
fn wait_bounded(child: &mut Child) -> Option<ExitStatus> {
    let step = Duration::from_millis(50);
    for _ in 0..(PROCESS_WAIT.as_millis() / step.as_millis()) {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return Some(status);
        }
        std::thread::sleep(step);
    }
    None
}

/// An HTTP answer: status, `Retry-After`, and the body as JSON (`Null` when
/// it is not JSON).
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
}

/// A client of one server with the test token. Requests time out after
/// [`Api::TIMEOUT`], far above the store's fail-fast (two seconds to get a
/// connection): a request that hangs shows as an error, not as a slow test.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub const TIMEOUT: Duration = Duration::from_secs(30);

    pub fn new(base: &str) -> Api {
        let http = reqwest::Client::builder().timeout(Self::TIMEOUT).build().expect("HTTP client");
        Api { http, base: base.to_owned() }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Res, reqwest::Error> {
        let res = req.bearer_auth(TOKEN).send().await?;
        let status = res.status().as_u16();
        let retry_after = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = res.bytes().await?;
        Ok(Res { status, retry_after, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
    }

    pub async fn get(&self, path: &str) -> Result<Res, reqwest::Error> {
        self.send(self.http.get(format!("{}{path}", self.base))).await
    }

    /// `POST /api/audit-logs` with one event.
    pub async fn create(&self, event: &Value) -> Result<Res, reqwest::Error> {
        self.send(self.http.post(format!("{}/api/audit-logs", self.base)).json(event)).await
    }

    /// `POST /api/audit-logs/_bulk` with one event per line.
    pub async fn bulk(&self, events: &[Value]) -> Result<Res, reqwest::Error> {
        let body: String = events.iter().map(|e| format!("{e}\n")).collect();
        let req = self
            .http
            .post(format!("{}/api/audit-logs/_bulk", self.base))
            .header("content-type", "application/x-ndjson")
            .body(body);
        self.send(req).await
    }
}

/// An event for the test actions; `created` (RFC 3339) when given.
pub fn event(action: &str, resource: &str, user: u32, created: Option<&str>) -> Value {
    let mut e = serde_json::json!({
        "action": action,
        "resource": {"id": resource},
        "user": {"id": user.to_string(), "email": format!("user{user}@example.org")},
        "metadata": {"note": format!("{action} {resource}")},
    });
    if let Some(c) = created {
        e["created"] = Value::String(c.to_owned());
    }
    e
}

/// The PostgreSQL server programs (`initdb`, `pg_ctl`): `pg_config
/// --bindir`, else the newest `/usr/lib/postgresql/*/bin`.
pub fn postgres_bindir() -> Option<PathBuf> {
    let has_tools = |d: &Path| d.join("initdb").exists() && d.join("pg_ctl").exists();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_tools(&dir) {
            return Some(dir);
        }
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|d| has_tools(d))
        .collect();
    dirs.sort_by_key(|d| {
        d.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok())
    });
    dirs.pop()
}

/// A PostgreSQL cluster of the test's own, in a tempdir, on a free
/// loopback port, with trust authentication. Its programs run as the
/// `postgres` user when the test runs as root (initdb refuses root).
pub struct Cluster {
    dir: tempfile::TempDir,
    bindir: PathBuf,
    pub port: u16,
    as_postgres: bool,
    running: bool,
}

impl Cluster {
    /// Creates the cluster (initdb); does not start it.
    pub fn create() -> Cluster {
        let bindir = postgres_bindir()
            .unwrap_or_else(|| panic!("no PostgreSQL server programs (initdb, pg_ctl): install PostgreSQL"));
        let dir = tempfile::Builder::new().prefix("auditlog-pg").tempdir().expect("tempdir");
        let uid = Command::new("id").arg("-u").output().expect("run id -u");
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        if as_postgres {
            let chown = Command::new("chown").arg("postgres:postgres").arg(dir.path()).status().expect("run chown");
            assert!(chown.success(), "chown postgres {}", dir.path().display());
        }
        // A free port: bind one, note it, let it go.
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let cluster = Cluster { dir, bindir, port, as_postgres, running: false };
        let data = cluster.data();
        let out = cluster
            .program("initdb")
            .args(["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
            .output()
            .expect("run initdb");
        assert!(out.status.success(), "initdb failed:\n{}", show(&out));
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn program(&self, name: &str) -> Command {
        let path = self.bindir.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&mut self) {
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.path().display());
        let log = self.dir.path().join("postgres.log").display().to_string();
        let out = self
            .program("pg_ctl")
            .args(["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "-t", "120", "start"])
            .output()
            .expect("run pg_ctl start");
        assert!(out.status.success(), "pg_ctl start failed:\n{}\n{}", show(&out), self.log());
        self.running = true;
    }

    /// Stops the server: `mode` is `fast` (disconnect everyone, shut down
    /// cleanly) or `immediate` (like a crash: recovery on the next start).
    pub fn stop(&mut self, mode: &str) {
        let out = self
            .program("pg_ctl")
            .args(["-D", &self.data(), "-m", mode, "-w", "-t", "120", "stop"])
            .output()
            .expect("run pg_ctl stop");
        assert!(out.status.success(), "pg_ctl stop -m {mode} failed:\n{}", show(&out));
        self.running = false;
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            let _ = self.program("pg_ctl").args(["-D", &self.data(), "-m", "immediate", "-w", "stop"]).output();
        }
    }
}
