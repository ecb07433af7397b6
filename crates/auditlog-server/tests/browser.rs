//! End-to-end tests of the admin page in headless Chromium, driven through
//! chromedriver (WebDriver) against a real server on a socket, over a
//! SQLite store seeded by the demo generator plus a few hostile events
//! (markup and quotes in every free-text field) and access changes with
//! `before`/`after`. Screenshots of the main views are written to
//! `docs/screenshots/` (with `AUDITLOG_SCREENSHOTS=1`).
//!
//! Browser policy: with `AUDITLOG_TEST_BROWSER=required` (as in CI) a
//! missing or broken chromedriver fails the test; otherwise the test prints
//! why it is skipped. `CHROMEDRIVER` and `CHROMIUM` override the binaries'
//! paths (default `/usr/bin/chromedriver`, `/usr/bin/chromium`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use auditlog_core::config::TokenConfig;
use auditlog_core::{Config, EventInput, Identity, Role, Timestamp};
use auditlog_demo::{DemoOptions, demo_audit_log, demo_users, generate};
use auditlog_server::{AppState, hash_token, serve};
use auditlog_store::AuditLogService;
use auditlog_store::sqlite::{SqliteOptions, SqliteStore};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const ADMIN: &str = "al_browser-admin-5e0c";
const SYSTEM: &str = "al_browser-system-77a1";
/// Every wait for the page gives up after this long.
const WAIT: Duration = Duration::from_secs(30);
const TITLE: &str = "Audit logs · auditlog administration";

const XSS_RESOURCE: &str = "<script>window.__xss=1;document.title='pwned'</script>";
const XSS_USER: &str = r#""><img src=x onerror="window.__xss=2;document.title='pwned'">"#;
const XSS_META: &str = r#"'><svg onload="window.__xss=3">"#;

fn browser_required() -> bool {
    std::env::var("AUDITLOG_TEST_BROWSER").is_ok_and(|v| v == "required")
}

fn binary(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// A chromedriver process on a free loopback port, shut down on drop
/// (which also closes any browser it still runs).
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    fn start() -> Result<Chromedriver, String> {
        let bin = binary("CHROMEDRIVER", "/usr/bin/chromedriver");
        if !bin.exists() {
            return Err(format!("chromedriver not found at {}", bin.display()));
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let mut child = Command::new(&bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        // chromedriver announces readiness on stdout; the reader keeps
        // draining the pipe afterwards so chromedriver never blocks on it.
        let stdout = child.stdout.take().expect("piped stdout");
        let (ready, started) = mpsc::channel();
        std::thread::spawn(move || {
            let mut announced = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !announced && line.contains("started successfully") {
                    announced = true;
                    let _ = ready.send(());
                }
            }
        });
        let driver = Chromedriver { child, port };
        started.recv_timeout(WAIT).map_err(|_| "chromedriver did not report that it started".to_owned())?;
        Ok(driver)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // `/shutdown` quits the sessions (and their browsers) first.
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let request =
                format!("GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n", self.port);
            if stream.write_all(request.as_bytes()).is_ok() {
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server under test: `auditlog_server::serve` on 127.0.0.1, over a
/// demo instance.
struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let token = |plain: &str, role: Role| TokenConfig { sha256: hash_token(plain), roles: vec![role] };
        let config = Config {
            enabled: true,
            base_url: base.clone(),
            tokens: BTreeMap::from([
                ("admin".to_owned(), token(ADMIN, Role::Admin)),
                ("ingest".to_owned(), token(SYSTEM, Role::System)),
            ]),
            ..Config::default()
        };
        let opts = DemoOptions { events: 3000, users: 40, seed: 2026, until: Timestamp::now(), days: 120 };
        let users = demo_users(opts.users, opts.seed);
        let audit = Arc::new(demo_audit_log(&config, &users).expect("demo actions"));
        let store = Arc::new(SqliteStore::open(dir.path().join("audit.db"), SqliteOptions::default()).expect("store"));
        let (seed_store, seed_audit) = (store.clone(), audit.clone());
        tokio::task::spawn_blocking(move || {
            let mut conn = seed_store.connect().expect("connection");
            generate(&mut conn, &seed_audit, &opts, |_| {}).expect("demo events");
        })
        .await
        .expect("seeding");
        let service = AuditLogService::new(audit, store.clone());
        for event in extra_events() {
            let input = EventInput::from_json(&event.to_string()).expect("event input");
            service.create(&Identity::system(), input, None).await.expect("extra event");
        }
        // The transparency log: integrate and sign everything, then let the
        // page show each event's inclusion in the checkpoint.
        let signer =
            Arc::new(auditlog_merkle::NoteSigner::from_seed("browser.test/audit-logs", &[5; 32]).expect("key"));
        let log: Arc<dyn auditlog_store::Store> = store.clone();
        auditlog_transparency::Sequencer::new(log, signer.clone()).round(true).await.expect("integrate");
        let service = service.with_log_key(signer.verifier());
        let integrity = Arc::new(auditlog_server::LogIntegrity::new(service.clone()));
        let state = AppState::new(Arc::new(config), service).with_integrity(integrity);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state, async {
            let _ = stopped.await;
        }));
        Server { base, stop: Some(stop), task: Some(task), _dir: dir }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server stops cleanly");
        }
    }
}

/// Access changes with before/after, and events whose free text is hostile
/// markup; back-dated into the demo's history.
fn extra_events() -> Vec<Value> {
    let at = |days: i64| {
        let t = Timestamp::now().as_micros() - days * 86_400_000_000;
        Timestamp::from_micros(t).expect("a valid time").to_string()
    };
    vec![
        json!({
            "action": "record.grant_update",
            "resource": {"id": "q8r2t-x4k7m"},
            "user": {"id": "3", "username": "grace3", "email": "grace.hopper3@cern.ch"},
            "metadata": {
                "triggered_by": {"id": "3", "type": "user"},
                "before": {"access": {"record": "restricted", "files": "restricted"},
                           "grants": [{"subject": {"type": "user", "id": "12"}, "permission": "preview"}]},
                "after": {"access": {"record": "public", "files": "restricted"},
                          "grants": [{"subject": {"type": "user", "id": "12"}, "permission": "manage"},
                                     {"subject": {"type": "role", "id": "curators"}, "permission": "edit"}]},
            },
            "created": at(2),
        }),
        json!({
            "action": "draft.secret_link_update",
            "resource": {"id": "q8r2t-x4k7m"},
            "user": {"id": "3", "username": "grace3", "email": "grace.hopper3@cern.ch"},
            "metadata": {
                "triggered_by": {"id": "3", "type": "user"},
                "before": {"links": []},
                "after": {"links": [{"permission": "view", "expires_at": "2027-01-01"}]},
            },
            "created": at(3),
        }),
        json!({
            "action": "record.access_settings_update",
            "resource": {"id": XSS_RESOURCE},
            "user": {"id": XSS_USER, "username": XSS_USER, "email": "mallory@example.org"},
            "metadata": {
                "triggered_by": {"id": XSS_META, "type": "user"},
                "before": {"note": XSS_META},
                "after": {"note": XSS_RESOURCE},
            },
            "created": at(40),
        }),
    ]
}

/// Chromium through chromedriver, in a fresh profile.
async fn open_browser(driver: &Chromedriver, profile: &Path) -> Result<Client, String> {
    let chromium = binary("CHROMIUM", "/usr/bin/chromium");
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--window-size=1280,900",
        &format!("--user-data-dir={}", profile.display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert("goog:chromeOptions".into(), json!({"binary": chromium, "args": args}));
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url())
        .await
        .map_err(|e| format!("cannot start Chromium through chromedriver: {e}"))
}

/// The page's element matching `css`, waiting for it to appear.
async fn wait_for(client: &Client, css: &str) -> Element {
    match client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
        Ok(element) => element,
        Err(e) => {
            let url = client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            let page = client.source().await.unwrap_or_default();
            panic!("waiting for {css} at {url}: {e}\n{page}")
        }
    }
}

async fn find(client: &Client, css: &str) -> Element {
    client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css}: {e}"))
}

async fn texts(client: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in client.find_all(Locator::Css(css)).await.expect("find_all") {
        out.push(e.text().await.expect("text"));
    }
    out
}

async fn script(client: &Client, js: &str) -> Value {
    client.execute(js, Vec::new()).await.unwrap_or_else(|e| panic!("{js}: {e}"))
}

/// The query string of the current page, decoded into pairs.
async fn query_pairs(client: &Client) -> Vec<(String, String)> {
    let url = client.current_url().await.expect("url");
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Takes a screenshot (so the page renders), and saves it under
/// `docs/screenshots/` when `AUDITLOG_SCREENSHOTS=1` (so that ordinary test
/// runs leave the checkout as it was).
async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    if std::env::var("AUDITLOG_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots folder");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

/// Types `text` into the search box and submits the form.
async fn search_for(client: &Client, text: &str) {
    let q = find(client, "#q").await;
    q.clear().await.expect("clear");
    q.send_keys(text).await.expect("type");
    find(client, "form.search button[type=submit]").await.click().await.expect("submit");
}

/// Checks that no hostile payload ran and none became markup: the page
/// has its own title, our one script, and no images or SVG.
async fn assert_inert(client: &Client, title: &str) {
    let state = script(
        client,
        "return {xss: window.__xss === undefined ? null : window.__xss, title: document.title,
                 scripts: document.scripts.length, imgs: document.images.length,
                 svgs: document.querySelectorAll('svg').length};",
    )
    .await;
    assert_eq!(state["xss"], Value::Null, "a payload ran: {state}");
    assert_eq!(state["title"], title, "{state}");
    assert_eq!(
        (state["scripts"].as_u64(), state["imgs"].as_u64(), state["svgs"].as_u64()),
        (Some(1), Some(0), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_page_in_headless_chromium() {
    let driver = match Chromedriver::start() {
        Ok(d) => d,
        Err(why) if browser_required() => panic!("AUDITLOG_TEST_BROWSER=required but {why}"),
        Err(why) => {
            println!("skipping the browser tests: {why} (set AUDITLOG_TEST_BROWSER=required to make this a failure)");
            return;
        }
    };
    let profile = tempfile::tempdir().expect("profile dir");
    let client = match open_browser(&driver, profile.path()).await {
        Ok(c) => c,
        Err(why) if browser_required() => panic!("AUDITLOG_TEST_BROWSER=required but {why}"),
        Err(why) => {
            println!("skipping the browser tests: {why}");
            return;
        }
    };
    let server = Server::start().await;

    sign_in_is_refused_for_a_system_token(&client, &server).await;
    sign_in(&client).await;
    search_with_a_query(&client, &server).await;
    facets_toggle_and_combine(&client, &server).await;
    page_forward_and_back(&client).await;
    event_details_and_related_searches(&client, &server).await;
    view_changes(&client, &server).await;
    malformed_query(&client, &server).await;
    hostile_values_are_inert_text(&client, &server).await;
    narrow_screen(&client, &server).await;
    sign_out(&client, &server).await;

    client.close().await.expect("close the browser");
    drop(driver);
    server.stop().await;
}

async fn sign_in_is_refused_for_a_system_token(client: &Client, server: &Server) {
    client.goto(&server.url("/administration/audit-logs?sort=oldest")).await.expect("goto");
    let token = wait_for(client, "#token").await;
    let url = client.current_url().await.expect("url");
    assert_eq!(url.path(), "/administration/sign-in");
    assert!(query_pairs(client).await.contains(&("next".into(), "/administration/audit-logs?sort=oldest".into())));
    token.send_keys(SYSTEM).await.expect("type");
    find(client, ".sign-in-form button").await.click().await.expect("submit");
    let error = wait_for(client, "#sign-in-error").await;
    let message = error.text().await.expect("text");
    assert!(message.contains("cannot use the administration page"), "{message}");
    let cookies = client.get_all_cookies().await.expect("cookies");
    assert!(cookies.iter().all(|c| c.name() != "auditlog_session"), "no session for a system token");
}

async fn sign_in(client: &Client) {
    // Still on the refused form, which kept `next`.
    let token = find(client, "#token").await;
    token.send_keys(ADMIN).await.expect("type");
    find(client, ".sign-in-form button").await.click().await.expect("submit");
    wait_for(client, "table.events").await;
    let url = client.current_url().await.expect("url");
    assert_eq!((url.path(), url.query()), ("/administration/audit-logs", Some("sort=oldest")), "back to `next`");
    let who = find(client, ".sign-out .who").await.text().await.expect("text");
    assert!(who.contains("Signed in as admin"), "{who}");
    let session = client.get_named_cookie("auditlog_session").await.expect("session cookie");
    assert_eq!(session.http_only(), Some(true));
    // The script shows local times and keeps UTC in the title.
    let time = wait_for(client, "time.local.localised").await;
    assert!(time.attr("title").await.expect("title").is_some_and(|t| t.ends_with(" UTC")));
    screenshot(client, "search").await;
}

async fn search_with_a_query(client: &Client, _server: &Server) {
    search_for(client, "action:record.publish").await;
    wait_for(client, r#"input#q[value="action:record.publish"]"#).await;
    let actions = texts(client, "table.events code.action").await;
    assert_eq!(actions.len(), 20, "a full first page");
    assert!(actions.iter().all(|a| a == "record.publish"), "{actions:?}");
    assert!(query_pairs(client).await.contains(&("q".into(), "action:record.publish".into())));
}

async fn facets_toggle_and_combine(client: &Client, server: &Server) {
    client.goto(&server.url("/administration/audit-logs")).await.expect("goto");
    let bucket = wait_for(client, r#"a.bucket[data-facet="action_name"][data-key="draft.edit"]"#).await;
    let count = bucket.find(Locator::Css(".count")).await.expect("count").text().await.expect("text");
    bucket.click().await.expect("select facet");
    wait_for(client, r#"a.bucket.selected[data-facet="action_name"][data-key="draft.edit"]"#).await;
    let summary = find(client, "#results-summary").await.text().await.expect("summary");
    assert!(summary.ends_with(&format!("of {count} events")), "{summary} vs {count}");
    assert!(texts(client, "table.events code.action").await.iter().all(|a| a == "draft.edit"));

    // Clicking again clears it.
    find(client, r#"a.bucket.selected[data-key="draft.edit"]"#).await.click().await.expect("clear facet");
    wait_for(client, r#"a.bucket:not(.selected)[data-facet="action_name"][data-key="draft.edit"]"#).await;
    assert!(client.find_all(Locator::Css("a.bucket.selected")).await.expect("find").is_empty());

    // Two facets at once: OR within one, AND across.
    find(client, r#"a.bucket[data-facet="action_name"][data-key="draft.create"]"#).await.click().await.expect("a");
    wait_for(client, r#"a.bucket.selected[data-key="draft.create"]"#).await;
    find(client, r#"a.bucket[data-facet="action_name"][data-key="record.publish"]"#).await.click().await.expect("b");
    wait_for(client, r#"a.bucket.selected[data-key="record.publish"]"#).await;
    find(client, r#"a.bucket[data-facet="resource"][data-key="record"]"#).await.click().await.expect("c");
    wait_for(client, r#"a.bucket.selected[data-facet="resource"][data-key="record"]"#).await;
    assert_eq!(client.find_all(Locator::Css("a.bucket.selected")).await.expect("find").len(), 3);
    let actions = texts(client, "table.events code.action").await;
    assert!(actions.iter().all(|a| a == "draft.create" || a == "record.publish"), "{actions:?}");
    let pairs = query_pairs(client).await;
    for pair in [("action_name", "draft.create"), ("action_name", "record.publish"), ("resource", "record")] {
        assert!(pairs.contains(&(pair.0.into(), pair.1.into())), "{pairs:?}");
    }
}

async fn page_forward_and_back(client: &Client) {
    let first_page_top = find(client, "a.event-link").await.attr("href").await.expect("href");
    find(client, "a.page-next").await.click().await.expect("next page");
    wait_for(client, r#"nav.pagination a[aria-current="page"][aria-label="Page 2"]"#).await;
    let second_page_top = find(client, "a.event-link").await.attr("href").await.expect("href");
    assert_ne!(first_page_top, second_page_top);
    assert!(query_pairs(client).await.contains(&("page".into(), "2".into())));
    assert_eq!(client.find_all(Locator::Css("a.bucket.selected")).await.expect("find").len(), 3, "facets kept");

    client.back().await.expect("back");
    wait_for(client, r#"nav.pagination a[aria-current="page"][aria-label="Page 1"]"#).await;
    assert_eq!(find(client, "a.event-link").await.attr("href").await.expect("href"), first_page_top);
    assert_eq!(client.find_all(Locator::Css("a.bucket.selected")).await.expect("find").len(), 3);
}

async fn event_details_and_related_searches(client: &Client, server: &Server) {
    client.goto(&server.url("/administration/audit-logs?q=action:record.publish")).await.expect("goto");
    let link = wait_for(client, "a.event-link").await;
    let href = link.attr("href").await.expect("href").expect("a link");
    link.click().await.expect("open the event");
    let json_block = wait_for(client, "#event-json").await;
    let json: Value = serde_json::from_str(&json_block.text().await.expect("text")).expect("the JSON is JSON");
    assert_eq!(format!("/administration/audit-logs/{}", json["id"].as_str().unwrap()), href);
    assert_eq!(json["action"], "record.publish");
    assert!(json["metadata"]["revision_id"].is_number());
    let copy = find(client, "#copy-json").await;
    assert!(copy.is_displayed().await.expect("displayed"), "the script shows the copy button");
    copy.click().await.expect("copy");
    wait_for(client, "#copy-status:not(:empty)").await;
    // Included in the latest signed checkpoint, proof checked.
    let integrity = find(client, "#integrity").await.text().await.expect("text");
    assert!(integrity.starts_with("Verified") && integrity.contains("signed checkpoint"), "{integrity}");
    let header = find(client, "#checkpoint").await.text().await.expect("text");
    assert!(header.contains("Latest signed checkpoint"), "{header}");
    screenshot(client, "detail").await;

    let resource_id = json["resource"]["id"].as_str().unwrap().to_owned();
    find(client, "#same-resource").await.click().await.expect("same resource");
    wait_for(client, "ul.chips").await;
    let ids = texts(client, "table.events .resource-id").await;
    assert!(!ids.is_empty() && ids.iter().all(|i| *i == resource_id), "{ids:?}");
    client.back().await.expect("back");
    wait_for(client, "#same-user").await.click().await.expect("same user");
    wait_for(client, "ul.chips").await;
    let users = texts(client, "table.events .user-id").await;
    let user = format!("({})", json["user"]["id"].as_str().unwrap());
    assert!(!users.is_empty() && users.iter().all(|u| *u == user), "{users:?}");
}

async fn view_changes(client: &Client, server: &Server) {
    client.goto(&server.url("/administration/audit-logs?action_name=record.grant_update")).await.expect("goto");
    wait_for(client, "a.changes-link").await.click().await.expect("view changes");
    wait_for(client, "#changes table.diff").await;
    let url = client.current_url().await.expect("url");
    assert_eq!(url.fragment(), Some("changes"));
    let summary = find(client, ".diff-summary").await.text().await.expect("text");
    assert_eq!(summary, "3 added, 2 changed");
    let changed = texts(client, "#changes tr.changed th").await;
    assert_eq!(changed, ["access.record", "grants[0].permission"]);
    let added = texts(client, "#changes tr.added th").await;
    assert_eq!(added, ["grants[1].permission", "grants[1].subject.id", "grants[1].subject.type"]);
    let row: Vec<String> = texts(client, "#changes tr.changed td").await.iter().map(|t| t.to_lowercase()).collect();
    assert_eq!(row[..3], ["changed", "\"restricted\"", "\"public\""]);
    script(client, "document.getElementById('changes').scrollIntoView()").await;
    screenshot(client, "diff").await;
}

async fn malformed_query(client: &Client, server: &Server) {
    client.goto(&server.url("/administration/audit-logs")).await.expect("goto");
    wait_for(client, "table.events").await;
    search_for(client, "action:(draft.create OR").await;
    let alert = wait_for(client, "#query-error").await;
    let text = alert.text().await.expect("text");
    assert!(text.starts_with("Invalid query:"), "{text}");
    let pointer = find(client, "#query-error pre.pointer").await.text().await.expect("pointer");
    assert!(pointer.contains("action:(draft.create OR") && pointer.trim_end().ends_with('^'), "{pointer}");
    // The script puts the cursor where the caret points.
    let focus = script(
        client,
        "return [document.activeElement.id, document.activeElement.selectionStart,
                 document.querySelector('pre.pointer').textContent.split('\\n')[1].indexOf('^')];",
    )
    .await;
    assert_eq!(focus[0], "q");
    assert!(focus[2].as_u64().is_some_and(|c| c > 0), "{focus}");
    assert_eq!(focus[1], focus[2], "cursor under the caret");
    screenshot(client, "query-error").await;

    // The page still works: fix the query and search again.
    search_for(client, "action:(draft.create OR draft.edit)").await;
    wait_for(client, "table.events").await;
    assert!(client.find_all(Locator::Css("#query-error")).await.expect("find").is_empty());
}

async fn hostile_values_are_inert_text(client: &Client, server: &Server) {
    client
        .goto(&server.url("/administration/audit-logs?action_name=record.access_settings_update"))
        .await
        .expect("goto");
    let cell = wait_for(client, "table.events .resource-id").await;
    assert_eq!(cell.text().await.expect("text"), XSS_RESOURCE, "the payload shows as text");
    let user = find(client, "table.events .username").await.text().await.expect("text");
    assert_eq!(user, XSS_USER);
    assert_inert(client, TITLE).await;

    find(client, "a.event-link").await.click().await.expect("open");
    wait_for(client, "#event-json").await;
    let title = format!("record.access_settings_update · {XSS_RESOURCE} · auditlog administration");
    assert_inert(client, &title).await;
    // The diff shows values as JSON, quotes escaped.
    let text = find(client, "#changes").await.text().await.expect("text");
    assert!(text.contains(&Value::from(XSS_META).to_string()), "{text}");
    // Hovering and focusing every element triggers no handler either.
    script(
        client,
        "document.querySelectorAll('*').forEach(function (e) {
           e.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
           if (e.focus) { e.focus(); }
         });",
    )
    .await;
    assert_inert(client, &title).await;
}

async fn narrow_screen(client: &Client, server: &Server) {
    client.set_window_size(390, 844).await.expect("resize");
    client.goto(&server.url("/administration/audit-logs?size=10")).await.expect("goto");
    wait_for(client, "table.events").await;
    let widths = script(client, "return [document.documentElement.scrollWidth, window.innerWidth];").await;
    let (content, viewport) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
    assert!(content <= viewport, "no sideways scrolling at {viewport}px: content is {content}px wide");
    script(client, "document.getElementById('results-summary').scrollIntoView()").await;
    screenshot(client, "search-narrow").await;
    client.set_window_size(1280, 900).await.expect("resize back");
}

async fn sign_out(client: &Client, server: &Server) {
    client.goto(&server.url("/administration/audit-logs")).await.expect("goto");
    wait_for(client, "form.sign-out button").await.click().await.expect("sign out");
    let notice = wait_for(client, "p.notice").await;
    assert_eq!(notice.text().await.expect("text"), "You have signed out.");
    client.goto(&server.url("/administration/audit-logs")).await.expect("goto");
    wait_for(client, "#token").await;
    assert_eq!(client.current_url().await.expect("url").path(), "/administration/sign-in");
}
