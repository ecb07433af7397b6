//! `GET /api/audit-logs` and `GET /api/audit-logs/{id}` through the router:
//! the response shape, exact links, facets and facet filters, every
//! parameter, bad parameters and queries, reading events, content types.

mod common;

use axum::http::StatusCode;
use common::{ADMIN, AUDITOR, App, BASE, JSON, SYSTEM, VND, get, labels};
use serde_json::{Value, json};

const E0: &str = "efgh-5678/draft.create";
const E1: &str = "abcd-1234/draft.create";
const E2: &str = "abcd-1234/draft.edit";
const E3: &str = "abcd-1234/record.publish";
const E4: &str = "abcd-1234/file.create";

#[tokio::test]
async fn search_response_has_the_reference_shape() {
    let app = App::new();
    let ids = app.seed().await;
    let res = app.send(get("/api/audit-logs?q=resource.id:%20abcd-1234%20AND%20action:%20draft.create", ADMIN)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.content_type(), JSON);
    let body = res.json;
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["aggregations", "hits", "links", "sortBy"]);
    assert_eq!(body["sortBy"], "newest");
    assert_eq!(body["hits"]["total"], 1);
    let hit = &body["hits"]["hits"][0];
    assert_eq!(
        hit,
        &json!({
            "id": ids[1],
            "created": "2026-01-01T12:00:00.000000+00:00",
            "action": "draft.create",
            "resource": {"type": "record", "id": "abcd-1234"},
            "user": {"id": "1", "username": "User", "email": "current@inveniosoftware.org"},
            "metadata": {"parent_pid": "wxyz-0000", "ip_address": "127.0.0.1", "request_id": hit["metadata"]["request_id"]},
            "message": "User 1 created the draft abcd-1234.",
            "links": {"self": format!("{BASE}/api/audit-logs/{}", ids[1])},
        })
    );
    assert_eq!(
        body["aggregations"],
        json!({
            "resource": {"label": "Resource", "buckets": [
                {"key": "record", "doc_count": 1, "label": "Record", "is_selected": false}]},
            "action_name": {"label": "Action", "buckets": [
                {"key": "draft.create", "doc_count": 1, "label": "draft.create", "is_selected": false}]},
        })
    );
    // The reference's own example link, byte for byte.
    assert_eq!(
        body["links"],
        json!({"self": "https://127.0.0.1:5000/api/audit-logs/?page=1&q=resource.id:+abcd-1234+AND+action:+draft.create&size=20&sort=newest"})
    );
}

#[tokio::test]
async fn links_page_through_results() {
    let app = App::new();
    app.seed().await;
    // (query, hits, links)
    type Case = (&'static str, &'static [&'static str], &'static [(&'static str, &'static str)]);
    let cases: &[Case] = &[
        (
            "size=2",
            &[E4, E3],
            &[
                ("next", "/api/audit-logs/?page=2&size=2&sort=newest"),
                ("self", "/api/audit-logs/?page=1&size=2&sort=newest"),
            ],
        ),
        (
            "size=2&page=2&sort=oldest&q=user.id:1",
            &[E3],
            &[
                ("prev", "/api/audit-logs/?page=1&q=user.id:1&size=2&sort=oldest"),
                ("self", "/api/audit-logs/?page=2&q=user.id:1&size=2&sort=oldest"),
            ],
        ),
        (
            "page=3&size=2&action_name=draft.create&resource=record&action_name=file.create",
            &[],
            &[
                (
                    "prev",
                    "/api/audit-logs/?action_name=draft.create&action_name=file.create&page=2&resource=record&size=2&sort=newest",
                ),
                (
                    "self",
                    "/api/audit-logs/?action_name=draft.create&action_name=file.create&page=3&resource=record&size=2&sort=newest",
                ),
            ],
        ),
    ];
    for (query, hits, links) in cases {
        let res = app.send(get(&format!("/api/audit-logs?{query}"), ADMIN)).await;
        assert_eq!(res.status, StatusCode::OK, "{query}: {}", res.text);
        assert_eq!(labels(&res.json), *hits, "{query}");
        let want: serde_json::Map<String, Value> =
            links.iter().map(|(k, v)| (k.to_string(), Value::from(format!("{BASE}{v}")))).collect();
        assert_eq!(res.json["links"], Value::Object(want), "{query}");
    }
}

#[tokio::test]
async fn following_the_links_walks_every_hit_once() {
    let app = App::new();
    app.seed().await;
    let mut url = "/api/audit-logs?size=2&sort=oldest".to_owned();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let res = app.send(get(&url, AUDITOR)).await;
        assert_eq!(res.status, StatusCode::OK, "{url}: {}", res.text);
        seen.extend(labels(&res.json));
        pages += 1;
        match res.json["links"]["next"].as_str() {
            Some(next) => url = next.strip_prefix(BASE).expect("absolute link under base_url").to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, [E0, E1, E2, E3, E4]);
}

/// Every filter parameter and the facet filters; facets count the hits
/// before their own facet's filter.
#[tokio::test]
async fn filters_and_facets() {
    let app = App::new();
    app.seed().await;
    // (query, hits newest first, resource buckets, action buckets) where a
    // bucket is "key:count" with a `*` when selected.
    let cases: &[(&str, &[&str], &str, &str)] = &[
        ("", &[E4, E3, E2, E1, E0], "record:4 draft:1", "draft.create:2 draft.edit:1 file.create:1 record.publish:1"),
        ("action=draft.create", &[E1, E0], "record:2", "draft.create:2"),
        ("resource_type=draft", &[E4], "draft:1", "file.create:1"),
        ("resource_id=efgh-5678", &[E0], "record:1", "draft.create:1"),
        ("user_id=2", &[E4], "draft:1", "file.create:1"),
        ("created_from=2026-01-02&created_to=2026-01-03", &[E3, E2], "record:2", "draft.edit:1 record.publish:1"),
        ("created_from=2026-01-03T10:00:00Z", &[E4, E3], "draft:1 record:1", "file.create:1 record.publish:1"),
        (
            "action_name=draft.create",
            &[E1, E0],
            "record:2",
            "draft.create:2* draft.edit:1 file.create:1 record.publish:1",
        ),
        (
            "action_name=draft.create&action_name=file.create",
            &[E4, E1, E0],
            "record:2 draft:1",
            "draft.create:2* draft.edit:1 file.create:1* record.publish:1",
        ),
        ("resource=draft", &[E4], "record:4 draft:1*", "file.create:1"),
        ("resource=draft&action_name=draft.create", &[], "record:2", "file.create:1"),
        (
            "resource=record&q=user.id:1&sort=oldest",
            &[E1, E2, E3],
            "record:3*",
            "draft.create:1 draft.edit:1 record.publish:1",
        ),
        ("q=metadata.revision_id:%3E%3D9", &[E3], "record:1", "record.publish:1"),
        (
            "q=&action=&page=&sort=",
            &[E4, E3, E2, E1, E0],
            "record:4 draft:1",
            "draft.create:2 draft.edit:1 file.create:1 record.publish:1",
        ),
    ];
    let buckets = |facet: &Value| -> String {
        facet["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                format!(
                    "{}:{}{}",
                    b["key"].as_str().unwrap(),
                    b["doc_count"],
                    if b["is_selected"] == true { "*" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    for (query, hits, resource, action) in cases {
        let res = app.send(get(&format!("/api/audit-logs?{query}"), ADMIN)).await;
        assert_eq!(res.status, StatusCode::OK, "{query}: {}", res.text);
        assert_eq!(labels(&res.json), *hits, "hits of {query}");
        assert_eq!(res.json["hits"]["total"], hits.len(), "total of {query}");
        assert_eq!(buckets(&res.json["aggregations"]["resource"]), *resource, "resource facet of {query}");
        assert_eq!(buckets(&res.json["aggregations"]["action_name"]), *action, "action facet of {query}");
    }
}

#[tokio::test]
async fn bad_parameters_and_queries_are_400_with_the_culprit() {
    let app = App::new();
    app.seed().await;
    // (query, message, errors field or position)
    let cases: &[(&str, &str, Value)] = &[
        (
            "page=abc",
            "Invalid value for parameter page: \"abc\" is not a whole number",
            json!({"errors": [{"field": "page", "messages": ["\"abc\" is not a whole number"]}]}),
        ),
        (
            "size=-5",
            "Invalid value for parameter size: \"-5\" is not a whole number",
            json!({"errors": [{"field": "size", "messages": ["\"-5\" is not a whole number"]}]}),
        ),
        (
            "sort=latest",
            "Invalid value for parameter sort: \"latest\" is not a sort; use newest, oldest or bestmatch",
            json!({"errors": [{"field": "sort", "messages": ["\"latest\" is not a sort; use newest, oldest or bestmatch"]}]}),
        ),
        (
            "page=1&page=2",
            "Invalid value for parameter page: given more than once; this parameter takes one value",
            json!({"errors": [{"field": "page", "messages": ["given more than once; this parameter takes one value"]}]}),
        ),
        (
            "created_from=yesterday",
            "Invalid value for parameter created_from: \"yesterday\" is not a date; use 2026-01-31 or an RFC 3339 date-time",
            json!({"errors": [{"field": "created_from", "messages": ["\"yesterday\" is not a date; use 2026-01-31 or an RFC 3339 date-time"]}]}),
        ),
        ("page=0", "Invalid pagination parameters.", json!({})),
        ("size=0", "Invalid pagination parameters.", json!({})),
        ("page=51&size=20", "Invalid pagination parameters.", json!({})),
        ("size=1001", "Invalid pagination parameters.", json!({})),
        (
            "q=resource.id:",
            "Invalid query: expected a value after \"resource.id:\" at position 12, found end of query",
            json!({"position": 12}),
        ),
        (
            "q=(draft.create",
            "Invalid query: unclosed group: '(' at position 0 has no matching ')'",
            json!({"position": 0}),
        ),
        (
            "q=action:draft.create%20AND%20%22oops",
            "Invalid query: unclosed quote: phrase starting at position 24 has no closing '\"'",
            json!({"position": 24}),
        ),
        // Regression: date math overflow panicked (a 500), in q and in the date filters.
        (
            "q=action:x%20created:%3Enow-999999999d",
            "Invalid query: \"now-999999999d\" is out of range: dates must fall in the years 1 to 9999 (position 9)",
            json!({"position": 9}),
        ),
        (
            "q=created:[now-999999999d%20TO%20now]",
            "Invalid query: \"now-999999999d\" is out of range: dates must fall in the years 1 to 9999 (position 0)",
            json!({"position": 0}),
        ),
        (
            "created_to=now%2B999999999999d",
            "Invalid value for parameter created_to: \"now+999999999999d\" is out of range: dates must fall in the years 1 to 9999",
            json!({"errors": [{"field": "created_to", "messages": ["\"now+999999999999d\" is out of range: dates must fall in the years 1 to 9999"]}]}),
        ),
    ];
    for (query, message, extra) in cases {
        let res = app.send(get(&format!("/api/audit-logs?{query}"), ADMIN)).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{query}: {}", res.text);
        assert_eq!(res.error_message(), *message, "{query}");
        let mut want = json!({"status": 400, "message": message});
        want.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        assert_eq!(res.json, want, "{query}");
    }
    // Within the window is fine.
    let res = app.send(get("/api/audit-logs?page=50&size=20", ADMIN)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}

#[tokio::test]
async fn read_one_event() {
    let app = App::new();
    let ids = app.seed().await;
    let listed = app.send(get("/api/audit-logs?q=action:record.publish", ADMIN)).await;
    let want = &listed.json["hits"]["hits"][0];
    for token in [ADMIN, SYSTEM, AUDITOR] {
        let res = app.send(get(&format!("/api/audit-logs/{}", ids[3]), token)).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(&res.json, want);
        assert_eq!(res.json["links"]["self"], format!("{BASE}/api/audit-logs/{}", ids[3]));
        assert_eq!(res.json["metadata"]["revision_id"], 9);
    }
}

#[tokio::test]
async fn unknown_and_malformed_ids() {
    let app = App::new();
    app.seed().await;
    let cases = [
        ("01936f7e-8b4a-7c3e-9d2a-5f1e2b3c4d5e", 404, "no audit event with id 01936f7e-8b4a-7c3e-9d2a-5f1e2b3c4d5e"),
        (
            "not-a-uuid",
            400,
            "Invalid event id \"not-a-uuid\": expected a UUID like 01936f7e-8b4a-7c3e-9d2a-5f1e2b3c4d5e.",
        ),
        (
            "01936f7e-8b4a-7c3e-9d2a",
            400,
            "Invalid event id \"01936f7e-8b4a-7c3e-9d2a\": expected a UUID like 01936f7e-8b4a-7c3e-9d2a-5f1e2b3c4d5e.",
        ),
        ("%E2%9C%93", 400, "Invalid event id \"✓\": expected a UUID like 01936f7e-8b4a-7c3e-9d2a-5f1e2b3c4d5e."),
    ];
    for (id, status, message) in cases {
        let res = app.send(get(&format!("/api/audit-logs/{id}"), ADMIN)).await;
        assert_eq!(res.status.as_u16(), status, "{id}: {}", res.text);
        assert_eq!(res.error_message(), message, "{id}");
    }
}

#[tokio::test]
async fn responses_use_the_content_type_accept_asks_for() {
    let app = App::new();
    let ids = app.seed().await;
    let read = format!("/api/audit-logs/{}", ids[0]);
    // (Accept, response Content-Type)
    let cases = [
        (None, JSON),
        (Some(JSON), JSON),
        (Some(VND), VND),
        (Some("application/vnd.inveniordm.v1+json, application/json;q=0.9"), VND),
        (Some("text/html,*/*;q=0.8"), JSON),
    ];
    for uri in ["/api/audit-logs", read.as_str()] {
        for (accept, want) in cases {
            let mut call = get(uri, ADMIN);
            if let Some(accept) = accept {
                call = call.header("accept", accept);
            }
            let res = app.send(call).await;
            assert_eq!(res.status, StatusCode::OK, "{uri} {accept:?}");
            assert_eq!(res.content_type(), want, "{uri} Accept: {accept:?}");
            assert!(res.json.is_object(), "{uri}: JSON body in either type");
        }
    }
}

/// Regression: 997 OR-ed terms were a 500 ("Expression tree is too large")
/// and 400 inner wildcards ran for many seconds. Both are bounded in the
/// query: 1,024 clauses, 10 leading or inner wildcard terms.
#[tokio::test]
async fn query_size_limits_are_400_naming_the_limit() {
    let app = App::new();
    app.seed().await;
    let search = |q: String| {
        let q: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
        get(&format!("/api/audit-logs?q={q}"), ADMIN)
    };
    let terms = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>().join(" OR ");
    let res = app.send(search(terms(1024))).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let q = terms(1025);
    let res = app.send(search(q.clone())).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert_eq!(res.json["position"], q.rfind("t1024").unwrap());
    assert!(res.error_message().contains("at most 1024 terms, phrases, ranges and _exists_ clauses"), "{}", res.text);

    let wildcards = |n: usize| (0..n).map(|i| format!("message:*x{i}*")).collect::<Vec<_>>().join(" OR ");
    let res = app.send(search(wildcards(10))).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = app.send(search(wildcards(400))).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(res.error_message().contains("at most 10 terms with a leading or inner '*' or '?'"), "{}", res.text);
}

/// Regression: the README's `created:>=now-7d/d` answered 400 "regular
/// expressions are not supported"; date math rounds with `/` in a range.
#[tokio::test]
async fn date_math_rounding_works_unquoted() {
    let app = App::new();
    app.seed().await;
    let fresh = app
        .create(
            r#"{"action":"draft.create","resource":{"id":"new-1"},"user_id":"system","metadata":{"parent_pid":"p"}}"#,
        )
        .await;
    for (unquoted, quoted) in [
        ("created:%3E%3Dnow-7d/d", "created:%3E%3D%22now-7d/d%22"),
        ("created:[now-7d/d%20TO%20now%2B1d/d]", "created:[%22now-7d/d%22%20TO%20%22now%2B1d/d%22]"),
    ] {
        let res = app.send(get(&format!("/api/audit-logs?q={unquoted}"), ADMIN)).await;
        assert_eq!(res.status, StatusCode::OK, "{unquoted}: {}", res.text);
        let same = app.send(get(&format!("/api/audit-logs?q={quoted}"), ADMIN)).await;
        assert_eq!(res.json["hits"], same.json["hits"], "{unquoted}");
        let ids: Vec<&Value> = res.json["hits"]["hits"].as_array().unwrap().iter().map(|h| &h["id"]).collect();
        assert!(ids.contains(&&fresh["id"]), "{unquoted}: {ids:?}");
    }
}
