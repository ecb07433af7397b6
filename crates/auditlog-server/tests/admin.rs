//! The admin page (SPEC 10) through the router: sign-in and sign-out with
//! their CSRF checks, the search page (facets, filters, pagination, query
//! errors), the event page with its JSON and diff, HTML escaping of every
//! stored value, security headers, static assets, and the integrity slots
//! with and without a provider.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use auditlog_core::Identity;
use auditlog_core::Timestamp;
use auditlog_server::{CheckpointSummary, EventIntegrity, IntegrityError, IntegrityView, router};
use axum::http::StatusCode;
use common::{ADMIN, AUDITOR, App, Res, SYSTEM, call, config};
use uuid::Uuid;

const SEARCH: &str = "/administration/audit-logs";

/// A browser stand-in: keeps the cookies the server sets.
struct Browser<'a> {
    app: &'a App,
    cookies: BTreeMap<String, String>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a App) -> Self {
        Browser { app, cookies: BTreeMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep_cookies(&mut self, res: &Res) {
        for set in res.headers.get_all("set-cookie") {
            let set = set.to_str().expect("ASCII cookie");
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    async fn get(&mut self, uri: &str) -> Res {
        let res = self.app.send(call("GET", uri).header("cookie", &self.cookie_header())).await;
        self.keep_cookies(&res);
        res
    }

    async fn post(&mut self, uri: &str, fields: &[(&str, &str)]) -> Res {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let c =
            call("POST", uri).header("cookie", &self.cookie_header()).body("application/x-www-form-urlencoded", body);
        let res = self.app.send(c).await;
        self.keep_cookies(&res);
        res
    }

    /// Fills and posts the sign-in form as a user would.
    async fn sign_in_to(&mut self, token: &str, next: &str) -> Res {
        let form = self.get(&format!("/administration/sign-in?next={}", encode(next))).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.text);
        let csrf = hidden(&form.text, "csrf");
        let next = hidden(&form.text, "next");
        self.post("/administration/sign-in", &[("csrf", &csrf), ("next", &next), ("token", token)]).await
    }

    async fn sign_in(&mut self, token: &str) -> Res {
        let res = self.sign_in_to(token, SEARCH).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "sign-in with {token}: {}", res.text);
        res
    }
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The value of the hidden input `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker).unwrap_or_else(|| panic!("no hidden {name} in\n{html}")) + marker.len();
    let value = &html[start..start + html[start..].find('"').expect("closing quote")];
    value.replace("&#38;", "&").replace("&amp;", "&").replace("&#47;", "/")
}

/// The page's HTML with attribute escapes of `&` undone, to compare URLs.
fn unescaped(html: &str) -> String {
    html.replace("&#38;", "&").replace("&amp;", "&")
}

fn assert_html(res: &Res) {
    assert_eq!(res.content_type(), "text/html; charset=utf-8", "{}", res.text);
    assert!(res.text.starts_with("<!doctype html>"), "{}", res.text);
}

fn location(res: &Res) -> &str {
    res.header("location").unwrap_or_else(|| panic!("no Location on {} {}", res.status, res.text))
}

#[tokio::test]
async fn anonymous_requests_go_to_sign_in_and_come_back() {
    let app = App::new();
    let id = Uuid::now_v7();
    let mut browser = Browser::new(&app);
    // (uri, the sign-in page's `next`)
    let cases = [
        (
            "/administration/audit-logs?q=action:draft.create&page=2",
            "/administration/audit-logs?q=action:draft.create&page=2",
        ),
        (&format!("/administration/audit-logs/{id}") as &str, &format!("/administration/audit-logs/{id}") as &str),
    ];
    for (uri, next) in cases {
        let res = browser.get(uri).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(location(&res), format!("/administration/sign-in?next={}", form_encode(next)), "{uri}");
        let res = browser.sign_in_to(ADMIN, next).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert_eq!(location(&res), next, "signing in returns to where the user was going");
        browser.cookies.clear();
    }
    // Sign-out without a session is a sign-in redirect too, back to the
    // start page (a form post cannot be returned to).
    let res = browser.post("/administration/sign-out", &[("csrf", "x")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/administration/sign-in?next=%2Fadministration%2Faudit-logs");
    // The start page.
    let res = browser.get("/administration").await;
    assert_eq!((res.status, location(&res)), (StatusCode::SEE_OTHER, SEARCH));
}

/// The API's encoding, as the redirect writes `next`.
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b' ' => "+".to_owned(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn sign_in_accepts_admin_and_auditor_tokens_only() {
    let app = App::new();
    // (token, status, message on the form)
    let cases = [
        (ADMIN, 303, None),
        (AUDITOR, 303, None),
        (SYSTEM, 403, Some("This token has the role system, which cannot use the administration page")),
        ("al_not-a-token", 401, Some("Invalid token.")),
        ("", 401, Some("Invalid token.")),
    ];
    for (token, status, message) in cases {
        let mut browser = Browser::new(&app);
        let res = browser.sign_in_to(token, SEARCH).await;
        assert_eq!(res.status.as_u16(), status, "{token:?}: {}", res.text);
        let signed_in = browser.cookies.contains_key("auditlog_session");
        assert_eq!(signed_in, status == 303, "{token:?} session cookie");
        if let Some(message) = message {
            assert_html(&res);
            assert!(res.text.contains(message), "{token:?}: {}", res.text);
            assert!(res.text.contains(r#"aria-invalid="true""#));
            let page = browser.get(SEARCH).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{token:?} cannot see the page");
        } else {
            let page = browser.get(SEARCH).await;
            assert_eq!(page.status, StatusCode::OK, "{token:?}");
            assert_html(&page);
            assert!(!browser.cookies.contains_key("auditlog_csrf"), "the pre-session CSRF cookie is dropped");
        }
    }
}

#[tokio::test]
async fn cookies_are_http_only_strict_and_secure_over_https() {
    for (base, secure) in [("https://audit.example.org", true), ("http://127.0.0.1:5000", false)] {
        let app = App::with_config(auditlog_core::Config { base_url: base.into(), ..config() });
        let mut browser = Browser::new(&app);
        let form = browser.get("/administration/sign-in").await;
        let res = browser.sign_in(ADMIN).await;
        for (res, name) in [(&form, "auditlog_csrf"), (&res, "auditlog_session")] {
            let cookie = res
                .headers
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap())
                .find(|c| c.starts_with(&format!("{name}=")))
                .unwrap_or_else(|| panic!("{name} not set"));
            for attribute in ["HttpOnly", "SameSite=Strict", "Path=/administration"] {
                assert!(cookie.contains(attribute), "{cookie}");
            }
            assert_eq!(cookie.ends_with("; Secure"), secure, "{cookie}");
        }
    }
}

#[tokio::test]
async fn sign_in_needs_a_matching_csrf_token() {
    let app = App::new();
    let mut browser = Browser::new(&app);
    let form = browser.get("/administration/sign-in").await;
    let csrf = hidden(&form.text, "csrf");
    type Fields<'a> = &'a [(&'a str, &'a str)];
    // (case, Sec-Fetch-Site, form fields)
    let cases: [(&str, Option<&str>, Fields); 3] = [
        ("no field", None, &[("token", ADMIN)]),
        ("wrong field", None, &[("token", ADMIN), ("csrf", "forged")]),
        ("cross-site", Some("cross-site"), &[("token", ADMIN), ("csrf", &csrf)]),
    ];
    for (case, fetch_site, fields) in cases {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields.iter()).finish();
        let mut c = call("POST", "/administration/sign-in")
            .header("cookie", &browser.cookie_header())
            .body("application/x-www-form-urlencoded", body);
        if let Some(site) = fetch_site {
            c = c.header("sec-fetch-site", site);
        }
        let res = app.send(c).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{case}");
        assert!(res.text.contains("The sign-in form expired or came from another site"), "{case}");
        assert!(res.headers.get_all("set-cookie").iter().all(|c| !c.to_str().unwrap().starts_with("auditlog_session")));
    }
    // Without the cookie, the field alone does not count.
    let mut stranger = Browser::new(&app);
    let res = stranger.post("/administration/sign-in", &[("token", ADMIN), ("csrf", &csrf)]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn next_never_leaves_the_admin_pages() {
    let app = App::new();
    for (next, want) in [
        ("/administration/audit-logs?q=a", "/administration/audit-logs?q=a"),
        ("https://evil.example/", SEARCH),
        ("//evil.example/administration", SEARCH),
        ("/api/audit-logs", SEARCH),
    ] {
        let mut browser = Browser::new(&app);
        let form = browser.get("/administration/sign-in").await;
        let csrf = hidden(&form.text, "csrf");
        let res = browser.post("/administration/sign-in", &[("csrf", &csrf), ("next", next), ("token", ADMIN)]).await;
        assert_eq!(location(&res), want, "{next}");
    }
}

#[tokio::test]
async fn sign_out_needs_the_session_token_and_ends_the_session() {
    let app = App::new();
    let mut browser = Browser::new(&app);
    browser.sign_in(ADMIN).await;
    let page = browser.get(SEARCH).await;
    let csrf = hidden(&page.text, "csrf");
    let session = browser.cookies["auditlog_session"].clone();

    let res = browser.post("/administration/sign-out", &[("csrf", "forged")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_html(&res);
    assert_eq!(browser.get(SEARCH).await.status, StatusCode::OK, "still signed in");

    let res = browser.post("/administration/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/administration/sign-in?signed_out=1");
    assert!(!browser.cookies.contains_key("auditlog_session"), "the cookie is deleted");
    let notice = browser.get(location(&res)).await;
    assert!(notice.text.contains("You have signed out."));

    // The old session id is dead even if replayed.
    let replay = app.send(call("GET", SEARCH).header("cookie", &format!("auditlog_session={session}"))).await;
    assert_eq!(replay.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_session_cookie_is_no_api_credential() {
    let app = App::new();
    let mut browser = Browser::new(&app);
    browser.sign_in(ADMIN).await;
    let res = app.send(call("GET", "/api/audit-logs").header("cookie", &browser.cookie_header())).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn search_page_lists_events_with_facets_and_links() {
    let app = App::new();
    let ids = app.seed().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(AUDITOR).await;
    let res = browser.get(SEARCH).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_html(&res);
    let html = unescaped(&res.text);
    assert!(html.contains("Showing 1–5 of 5 events"), "{html}");
    assert!(html.contains("Signed in as <strong>auditor</strong>"), "{html}");
    // Newest first: the file event, then the publish, ...
    let first = html.find(&format!("/administration/audit-logs/{}", ids[4])).expect("row of the newest");
    let last = html.find(&format!("/administration/audit-logs/{}", ids[0])).expect("row of the oldest");
    assert!(first < last);
    for fragment in [
        r#"<time class="local" datetime="2026-01-04T00:00:00.000000Z" title="2026-01-04 00:00:00 UTC">2026-01-04 00:00:00 UTC</time>"#,
        r#"<code class="action">file.create</code>"#,
        r#"<span class="username">jane</span> <span class="user-id">(2)</span> <span class="email">Jane.Doe@cern.ch</span>"#,
        // Facet buckets with counts, as toggle links.
        r#"href="/administration/audit-logs?page=1&resource=record&size=20&sort=newest" data-facet="resource""#,
        r#"href="/administration/audit-logs?action_name=draft.create&page=1&size=20&sort=newest" data-facet="action_name""#,
        r#"<span class="count">4</span>"#,
    ] {
        assert!(html.contains(fragment), "missing {fragment}\n{html}");
    }
    assert!(!html.contains("Clear search"), "nothing to clear");
}

#[tokio::test]
async fn facets_toggle_and_combine() {
    let app = App::new();
    app.seed().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(ADMIN).await;
    let res = browser.get(&format!("{SEARCH}?resource=record&action_name=draft.create&action_name=draft.edit")).await;
    let html = unescaped(&res.text);
    assert!(html.contains("Showing 1–3 of 3 events"), "{html}");
    // Selected buckets link to the search without them.
    for (facet, href) in [
        (
            "resource",
            "/administration/audit-logs?action_name=draft.create&action_name=draft.edit&page=1&size=20&sort=newest",
        ),
        ("action_name", "/administration/audit-logs?action_name=draft.edit&page=1&resource=record&size=20&sort=newest"),
    ] {
        let link = format!(r#"<a class="bucket selected" href="{href}" data-facet="{facet}""#);
        assert!(html.contains(&link), "missing {link}\n{html}");
    }
    // The form keeps the facets for the next query.
    assert!(html.contains(r#"<input type="hidden" name="action_name" value="draft.create">"#));
    assert!(html.contains("Clear search"));
    // A selected value without hits stays listed, so it can be cleared.
    let res = browser.get(&format!("{SEARCH}?action_name=file.delete")).await;
    assert!(res.text.contains("No events match this search."));
    assert!(res.text.contains(r#"data-key="file.delete" aria-current="true""#), "{}", res.text);
}

#[tokio::test]
async fn pagination_keeps_the_search() {
    let app = App::new();
    app.seed().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(ADMIN).await;
    let res = browser.get(&format!("{SEARCH}?q=abcd-1234&size=2&sort=oldest")).await;
    let html = unescaped(&res.text);
    assert!(html.contains("Showing 1–2 of 4 events"), "{html}");
    assert!(html.contains(r#"<a href="/administration/audit-logs?page=2&q=abcd-1234&size=2&sort=oldest" rel="next""#));
    assert!(html.contains(r#"aria-current="page" aria-label="Page 1">1</a>"#), "{html}");
    let res = browser.get("/administration/audit-logs?page=2&q=abcd-1234&size=2&sort=oldest").await;
    let html = unescaped(&res.text);
    assert!(html.contains("Showing 3–4 of 4 events"));
    assert!(html.contains(r#"<a href="/administration/audit-logs?page=1&q=abcd-1234&size=2&sort=oldest" rel="prev""#));
    assert!(!html.contains(r#"rel="next""#));
    assert!(html.contains(r#"<option value="oldest" selected>Oldest first</option>"#));
}

#[tokio::test]
async fn a_malformed_query_shows_message_and_position_on_a_working_page() {
    let app = App::new();
    app.seed().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(ADMIN).await;
    let res = browser.get(&format!("{SEARCH}?q={}&resource=record", encode("action:(draft.create"))).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_html(&res);
    let html = &res.text;
    assert!(html.contains(r#"<div class="alert" role="alert" id="query-error">"#), "{html}");
    assert!(html.contains("Invalid query:"), "{html}");
    assert!(html.contains(r#"aria-invalid="true""#));
    assert!(html.contains(r#"data-error-position="7""#), "{html}");
    assert!(html.contains(&format!("action:(draft.create\n{}<span class=\"caret\">^</span>", " ".repeat(7))), "{html}");
    // The form still holds the query and the facet, ready to fix.
    assert!(html.contains(r#"value="action:(draft.create""#));
    assert!(html.contains(r#"<input type="hidden" name="resource" value="record">"#));

    // Other parameter errors show their message too.
    for (query, message) in [
        ("sort=latest&q=x", "Invalid value for parameter sort"),
        ("page=99&size=20", "Invalid pagination parameters."),
        ("created_from=yesterday", "Invalid value for parameter created_from"),
    ] {
        let res = browser.get(&format!("{SEARCH}?{query}")).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(res.text.contains(message), "{query}: {}", res.text);
        assert!(res.text.contains(r#"<form class="search""#), "{query}");
    }
}

const XSS_RESOURCE: &str = "<script>window.__xss=1</script>";
const XSS_USER: &str = r#""><img src=x onerror="window.__xss=2">"#;
const XSS_META: &str = r#"'onmouseover='window.__xss=3' <b>bold</b> & "quoted""#;

/// An event whose every free-text field carries markup and quotes.
async fn store_hostile_event(app: &App) -> String {
    let body = serde_json::json!({
        "action": "record.grant_update",
        "resource": {"id": XSS_RESOURCE},
        "user": {"id": XSS_USER, "username": XSS_USER, "email": "x@example.org"},
        "metadata": {
            "triggered_by": {"id": XSS_META, "type": "user"},
            "before": {"grants": [{"subject": XSS_META, "permission": "view"}]},
            "after": {"grants": [{"subject": XSS_META, "permission": "manage"}]},
        },
    });
    let event = app.create(&body.to_string()).await;
    event["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn stored_markup_and_quotes_are_escaped_everywhere() {
    let app = App::new();
    let id = store_hostile_event(&app).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(ADMIN).await;
    let pages = [
        SEARCH.to_owned(),
        format!("{SEARCH}?q={}", encode(XSS_USER)),
        format!("{SEARCH}?resource_id={}&user_id={}", encode(XSS_RESOURCE), encode(XSS_USER)),
        format!("{SEARCH}/{id}"),
    ];
    for uri in pages {
        let res = browser.get(&uri).await;
        assert!(res.status == StatusCode::OK || res.status == StatusCode::BAD_REQUEST, "{uri}: {}", res.status);
        let html = &res.text;
        for raw in ["<script>window", "<img src=x", "'onmouseover=", "<b>bold"] {
            assert!(!html.contains(raw), "{uri}: unescaped {raw:?} in\n{html}");
        }
        // Exactly our own script element, no other active markup.
        assert_eq!(html.matches("<script").count(), 1, "{uri}");
        if uri == SEARCH {
            assert!(html.contains("&#60;script&#62;window.__xss=1&#60;/script&#62;"), "shown as text\n{html}");
        }
    }
    let detail = browser.get(&format!("{SEARCH}/{id}")).await;
    for text in [
        "&#34;&#62;&#60;img src=x onerror=&#34;window.__xss=2&#34;&#62;",
        "&#39;onmouseover=&#39;window.__xss=3&#39; &#60;b&#62;bold&#60;/b&#62; &#38; &#34;quoted&#34;",
    ] {
        assert!(detail.text.contains(text), "missing {text}\n{}", detail.text);
    }
}

#[tokio::test]
async fn event_page_shows_fields_json_and_related_links() {
    let app = App::new();
    let ids = app.seed().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(ADMIN).await;
    let res = browser.get(&format!("{SEARCH}/{}", ids[1])).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_html(&res);
    let html = unescaped(&res.text);
    for fragment in [
        &format!("<dd><code>{}</code></dd>", ids[1]) as &str,
        r#"<time class="local" datetime="2026-01-01T12:00:00.000000Z" title="2026-01-01 12:00:00 UTC">"#,
        "<dt>metadata.parent_pid</dt>\n  <dd>wxyz-0000</dd>",
        "<dt>metadata.ip_address</dt>\n  <dd>127.0.0.1</dd>",
        r#"<a href="/administration/audit-logs?page=1&resource_id=abcd-1234&resource_type=record&size=20&sort=newest" id="same-resource">"#,
        r#"<a href="/administration/audit-logs?page=1&size=20&sort=newest&user_id=1" id="same-user">"#,
        r#"id="copy-json" data-copy-target="event-json""#,
        r#"<pre id="event-json""#,
        // The full JSON, as the API returns it (links included).
        &format!("&#34;self&#34;: &#34;https://127.0.0.1:5000/api/audit-logs/{}&#34;", ids[1]),
    ] {
        assert!(html.contains(fragment), "missing {fragment}\n{html}");
    }
    assert!(!html.contains(r#"id="changes""#), "no before/after, no diff");

    // The related links lead to searches that find the event.
    let same_user = browser.get("/administration/audit-logs?page=1&size=20&sort=newest&user_id=1").await;
    assert!(same_user.text.contains("Showing 1–3 of 3 events"), "{}", same_user.text);
    assert!(same_user.text.contains("User id: <strong>1</strong>"));

    for (uri, status, text) in [
        (format!("{SEARCH}/{}", Uuid::now_v7()), StatusCode::NOT_FOUND, "no audit event with id"),
        (format!("{SEARCH}/not-a-uuid"), StatusCode::BAD_REQUEST, "Invalid event id"),
    ] {
        let res = browser.get(&uri).await;
        assert_eq!(res.status, status, "{uri}");
        assert_html(&res);
        assert!(res.text.contains(text), "{uri}: {}", res.text);
        assert!(res.text.contains("Sign out"), "errors keep the signed-in frame");
    }
}

#[tokio::test]
async fn changes_are_shown_as_a_diff() {
    let app = App::new();
    let body = serde_json::json!({
        "action": "record.grant_update",
        "resource": {"id": "parent-1"},
        "user": {"id": "7", "email": "owner@example.org"},
        "metadata": {
            "triggered_by": {"id": "7", "type": "user"},
            "before": {"access": {"record": "restricted"}, "grants": [{"subject": "u-1", "permission": "view"}], "note": "x"},
            "after": {"access": {"record": "public"}, "grants": [{"subject": "u-1", "permission": "view"}, {"subject": "u-2", "permission": "edit"}]},
        },
    });
    let id = app.create(&body.to_string()).await["id"].as_str().unwrap().to_owned();
    let mut browser = Browser::new(&app);
    browser.sign_in(ADMIN).await;

    let list = browser.get(SEARCH).await;
    assert!(list.text.contains(&format!(
        r#"<a class="changes-link" href="/administration/audit-logs/{id}#changes">View changes</a>"#
    )));

    let res = browser.get(&format!("{SEARCH}/{id}")).await;
    let html = &res.text;
    assert!(html.contains(r#"<section id="changes""#), "{html}");
    assert!(html.contains("<p class=\"diff-summary\">2 added, 1 removed, 1 changed</p>"), "{html}");
    for (class, path, before, after) in [
        ("changed", "access.record", "<code>&#34;restricted&#34;</code>", "<code>&#34;public&#34;</code>"),
        ("added", "grants[1].permission", r#"<span class="absent">(absent)</span>"#, "<code>&#34;edit&#34;</code>"),
        ("removed", "note", "<code>&#34;x&#34;</code>", r#"<span class="absent">(absent)</span>"#),
    ] {
        let row = format!(
            "<tr class=\"{class}\">\n        <th scope=\"row\" data-label=\"Field\"><code>{path}</code></th>\n        <td data-label=\"Change\"><span class=\"tag\">{class}</span></td>\n        <td data-label=\"Before\" class=\"before\">{before}</td>\n        <td data-label=\"After\" class=\"after\">{after}</td>"
        );
        assert!(html.contains(&row), "missing row\n{row}\nin\n{html}");
    }
    assert!(html.contains("<summary>2 unchanged fields</summary>"), "{html}");
    // before/after are the diff, not metadata rows; the rest of metadata is.
    assert!(!html.contains("<dt>metadata.before"));
    assert!(html.contains("<dt>metadata.triggered_by.type</dt>"));
}

#[tokio::test]
async fn admin_responses_carry_security_headers() {
    let app = App::new();
    let ids = app.seed().await;
    let mut browser = Browser::new(&app);
    let sign_in = browser.get("/administration/sign-in").await;
    browser.sign_in(ADMIN).await;
    let mut responses = vec![sign_in];
    for uri in [
        SEARCH.to_owned(),
        format!("{SEARCH}?q=("),
        format!("{SEARCH}/{}", ids[0]),
        "/administration/no-such-page".to_owned(),
        "/administration/static/admin.css".to_owned(),
    ] {
        responses.push(browser.get(&uri).await);
    }
    for res in &responses {
        let csp = res.header("content-security-policy").unwrap_or_else(|| panic!("no CSP on {}", res.text));
        assert!(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(res.header("referrer-policy"), Some("same-origin"));
        assert_eq!(res.header("x-frame-options"), Some("DENY"));
    }
    // Pages with audit data are never cached; no inline script or style.
    for res in &responses[..4] {
        assert_eq!(res.header("cache-control"), Some("no-store"));
        assert!(!res.text.contains("<script>") && !res.text.contains("style="), "{}", res.text);
    }
    let missing = &responses[4];
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_html(missing);
    // The API keeps its JSON 404.
    assert_eq!(app.send(call("GET", "/nope")).await.content_type(), common::JSON);
}

#[tokio::test]
async fn static_assets_are_cached_and_revalidated() {
    let app = App::new();
    for (path, content_type) in [
        ("/administration/static/admin.css", "text/css; charset=utf-8"),
        ("/administration/static/admin.js", "text/javascript; charset=utf-8"),
    ] {
        let res = app.send(call("GET", path)).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.content_type(), content_type);
        assert_eq!(res.header("cache-control"), Some("public, max-age=86400"));
        let etag = res.header("etag").expect("etag").to_owned();
        let again = app.send(call("GET", path).header("if-none-match", &etag)).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert!(again.text.is_empty());
    }
    // Pages link the assets with their version, so a new release is fetched.
    let mut browser = Browser::new(&app);
    let page = browser.get("/administration/sign-in").await;
    let css = app.send(call("GET", "/administration/static/admin.css")).await;
    let version = css.header("etag").unwrap().trim_matches('"');
    assert!(page.text.contains(&format!("/administration/static/admin.css?v={version}")), "{}", page.text);
}

/// A transparency log that knows three events.
struct FakeLog {
    verified: Uuid,
    pending: Uuid,
    failed: Uuid,
}

#[async_trait]
impl IntegrityView for FakeLog {
    async fn latest_checkpoint(&self, _: &Identity) -> Result<Option<CheckpointSummary>, IntegrityError> {
        let signed_at: Timestamp = "2026-01-05T08:30:00Z".parse().unwrap();
        Ok(Some(CheckpointSummary { tree_size: 1234567, signed_at }))
    }

    async fn event_statuses(
        &self,
        _: &Identity,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, EventIntegrity>, IntegrityError> {
        let known = [
            (self.verified, EventIntegrity::Verified { leaf_index: 41, tree_size: 1234567 }),
            (self.pending, EventIntegrity::Pending),
            (self.failed, EventIntegrity::Failed { reason: "root mismatch".into() }),
        ];
        Ok(known.into_iter().filter(|(id, _)| ids.contains(id)).collect())
    }
}

/// A transparency log whose storage is down.
struct BrokenLog;

#[async_trait]
impl IntegrityView for BrokenLog {
    async fn latest_checkpoint(&self, _: &Identity) -> Result<Option<CheckpointSummary>, IntegrityError> {
        Err(IntegrityError { message: "log unreachable".into() })
    }

    async fn event_statuses(&self, _: &Identity, _: &[Uuid]) -> Result<HashMap<Uuid, EventIntegrity>, IntegrityError> {
        Err(IntegrityError { message: "log unreachable".into() })
    }
}

const INTEGRITY_MARKERS: [&str; 5] = ["checkpoint", "Integrity</th>", "class=\"badge", "id=\"integrity\"", "Verified"];

#[tokio::test]
async fn without_an_integrity_provider_nothing_integrity_related_shows() {
    let app = App::new();
    let ids = app.seed().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(ADMIN).await;
    for uri in [SEARCH.to_owned(), format!("{SEARCH}/{}", ids[0])] {
        let res = browser.get(&uri).await;
        assert_eq!(res.status, StatusCode::OK);
        for marker in INTEGRITY_MARKERS {
            assert!(!res.text.contains(marker), "{uri} shows {marker:?}");
        }
    }
}

#[tokio::test]
async fn an_integrity_provider_fills_the_header_and_each_event() {
    let mut app = App::new();
    let ids = app.seed().await;
    let log = FakeLog {
        verified: ids[0].parse().unwrap(),
        pending: ids[4].parse().unwrap(),
        failed: ids[2].parse().unwrap(),
    };
    app.router = router(app.state.clone().with_integrity(Arc::new(log)));
    let mut browser = Browser::new(&app);
    browser.sign_in(ADMIN).await;

    let res = browser.get(SEARCH).await;
    let html = &res.text;
    assert!(html.contains("<strong>1,234,567 events</strong>"), "{html}");
    assert!(html.contains(r#"<time class="local" datetime="2026-01-05T08:30:00.000000Z""#));
    assert!(html.contains(r#"<th scope="col">Integrity</th>"#));
    for badge in [
        r#"<span class="badge verified" title="Leaf 41 is included in the signed checkpoint of 1,234,567 events.">Verified</span>"#,
        r#"<span class="badge pending""#,
        r#"<span class="badge failed" title="The inclusion proof does not verify: root mismatch">Failed</span>"#,
    ] {
        assert!(html.contains(badge), "missing {badge}\n{html}");
    }
    assert_eq!(html.matches("class=\"badge").count(), 3, "events the log does not know show no status");

    let res = browser.get(&format!("{SEARCH}/{}", ids[0])).await;
    assert!(res.text.contains(r#"<p class="integrity" id="integrity"><span class="badge verified">Verified</span>"#));
    let res = browser.get(&format!("{SEARCH}/{}", ids[1])).await;
    assert!(!res.text.contains(r#"id="integrity""#), "no status for an event the log does not report");

    // A failing provider says so instead of guessing. (Sessions live in the
    // shared state, so the browser stays signed in.)
    let cookies = browser.cookies.clone();
    app.router = router(app.state.clone().with_integrity(Arc::new(BrokenLog)));
    let mut browser = Browser { app: &app, cookies };
    let res = browser.get(SEARCH).await;
    assert_eq!(res.status, StatusCode::OK, "the page works without the log");
    assert!(res.text.contains("Checkpoint status unavailable."));
    assert_eq!(res.text.matches(r#"<span class="badge unknown""#).count(), 5);
}

/// Regression: a page whose handler failed unexpectedly (a panic, as date
/// math overflow was) answered the API's JSON error; it shows the admin
/// page's own HTML error page, with its security headers.
#[tokio::test]
async fn a_failing_page_is_an_html_500() {
    let app = App::with_store(
        config(),
        Arc::new(common::BrokenStore(|| -> auditlog_store::StoreError { panic!("the store exploded") })),
    );
    let mut browser = Browser::new(&app);
    browser.sign_in(ADMIN).await;
    let res = browser.get(SEARCH).await;
    assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_html(&res);
    assert!(res.text.contains("Something went wrong"), "{}", res.text);
    assert!(!res.text.contains("exploded"), "the cause is logged, not shown: {}", res.text);
    assert!(res.header("content-security-policy").is_some());
    // The API keeps its JSON.
    let res = app.send(common::get("/api/audit-logs", ADMIN)).await;
    assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(res.error_message(), "Internal server error.");
}

/// Regression: date math that overflows on the admin page was a 500; it is
/// the page's 400 with the problem shown at its position.
#[tokio::test]
async fn date_math_overflow_on_the_page_is_a_400() {
    let app = App::new();
    let mut browser = Browser::new(&app);
    browser.sign_in(ADMIN).await;
    let res = browser.get(&format!("{SEARCH}?q={}", encode("created:>now-999999999d"))).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_html(&res);
    assert!(res.text.contains("is out of range: dates must fall in the years 1 to 9999"), "{}", res.text);
    let res = browser.get(&format!("{SEARCH}?created_from={}", encode("now-999999999d"))).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.text.contains("is out of range"), "{}", res.text);
}
