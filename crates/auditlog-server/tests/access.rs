//! Access (SPEC 5.4) and routing through the router: 401 without or with a
//! bad token, 403 for the wrong role on every route, 405 for update and
//! delete, JSON 404 for unknown routes, and static paths that `{id}` must
//! not capture.

mod common;

use auditlog_server::hash_token;
use axum::http::StatusCode;
use common::{ADMIN, AUDITOR, App, JSON, NDJSON, SYSTEM, call};

const EVENT: &str = r#"{"action":"draft.create","resource":{"id":"abcd-1234"},"user":{"id":"1","email":"a@b.c"},"metadata":{"parent_pid":"p"}}"#;

#[tokio::test]
async fn tokens_and_roles_on_every_route() {
    let app = App::new();
    let ids = app.seed().await;
    let read = format!("/api/audit-logs/{}", ids[0]);
    // (method, uri, body content type)
    let routes: [(&str, &str, Option<&str>); 5] = [
        ("GET", "/api/audit-logs", None),
        ("GET", "/api/audit-logs/", None),
        ("GET", &read, None),
        ("POST", "/api/audit-logs", Some(JSON)),
        ("POST", "/api/audit-logs/_bulk", Some(NDJSON)),
    ];
    // (token, status on each route, in the order above)
    let table: [(Option<&str>, [u16; 5]); 6] = [
        (None, [401, 401, 401, 401, 401]),
        (Some("al_not-a-configured-token"), [401, 401, 401, 401, 401]),
        (Some(ADMIN), [200, 200, 200, 403, 403]),
        (Some(SYSTEM), [200, 200, 200, 201, 200]),
        (Some(AUDITOR), [200, 200, 200, 403, 403]),
        // A token's digest is not a token.
        (Some(&hash_token(SYSTEM)), [401, 401, 401, 401, 401]),
    ];
    for (token, statuses) in &table {
        for ((method, uri, content_type), want) in routes.iter().zip(statuses) {
            let mut c = call(method, uri);
            if let Some(t) = token {
                c = c.token(t);
            }
            if let Some(ct) = content_type {
                c = c.body(ct, EVENT);
            }
            let res = app.send(c).await;
            let who = token.map_or("no token", |t| if t.len() > 30 { "digest" } else { t });
            assert_eq!(res.status.as_u16(), *want, "{method} {uri} with {who}: {}", res.text);
            match want {
                401 => {
                    let (message, challenge) = match token {
                        None => (
                            "Authentication required: send the header Authorization: Bearer <token>.",
                            r#"Bearer realm="auditlog""#,
                        ),
                        Some(_) => ("Invalid token.", r#"Bearer realm="auditlog", error="invalid_token""#),
                    };
                    assert_eq!(res.error_message(), message);
                    assert_eq!(res.header("www-authenticate"), Some(challenge));
                }
                403 => {
                    assert_eq!(res.error_message(), "permission denied: create needs one of the roles system");
                    assert_eq!(res.header("www-authenticate"), None);
                }
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn authorization_header_forms() {
    let app = App::new();
    let cases = [
        (format!("Bearer {ADMIN}"), 200),
        (format!("bearer {ADMIN}"), 200),
        (format!("BEARER   {ADMIN}  "), 200),
        (format!("Bearer {ADMIN}x"), 401),
        (format!("Token {ADMIN}"), 401),
        ("Basic YWRtaW46YWRtaW4=".to_owned(), 401),
        ("Bearer".to_owned(), 401),
        ("Bearer    ".to_owned(), 401),
        (ADMIN.to_owned(), 401),
    ];
    for (header, want) in cases {
        let res = app.send(call("GET", "/api/audit-logs").header("authorization", &header)).await;
        assert_eq!(res.status.as_u16(), want, "Authorization: {header}");
    }
}

/// Events are immutable: update and delete are 405 on the item and the
/// collection, for every role, with an `Allow` header and a JSON body.
#[tokio::test]
async fn update_and_delete_are_405() {
    let app = App::new();
    let ids = app.seed().await;
    let item = format!("/api/audit-logs/{}", ids[0]);
    // (uri, Allow)
    let targets = [
        (item.as_str(), "GET,HEAD"),
        ("/api/audit-logs/01936f7e-8b4a-7c3e-9d2a-5f1e2b3c4d5e", "GET,HEAD"),
        ("/api/audit-logs", "GET,HEAD,POST"),
        ("/api/audit-logs/", "GET,HEAD"),
    ];
    for (uri, allow) in targets {
        for method in ["PUT", "PATCH", "DELETE"] {
            for token in [None, Some(ADMIN), Some(SYSTEM)] {
                let mut c = call(method, uri).body(JSON, EVENT);
                if let Some(t) = token {
                    c = c.token(t);
                }
                let res = app.send(c).await;
                assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}: {}", res.text);
                assert_eq!(
                    res.error_message(),
                    format!(
                        "Method {method} is not allowed on {uri}. Audit events are immutable: there is no update or delete."
                    )
                );
                assert_eq!(res.header("allow"), Some(allow), "{method} {uri}");
            }
        }
    }
    // Other wrong methods get the plain message.
    for (method, uri, allow) in [
        ("GET", "/api/audit-logs/_bulk", "POST"),
        ("POST", "/health", "GET,HEAD"),
        ("POST", "/api/audit-logs/openapi.json", "GET,HEAD"),
    ] {
        let res = app.send(call(method, uri).token(SYSTEM)).await;
        assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert_eq!(res.error_message(), format!("Method {method} is not allowed on {uri}."));
        assert_eq!(res.header("allow"), Some(allow), "{method} {uri}");
    }
    // Nothing was changed.
    let res = app.send(call("GET", &item).token(ADMIN)).await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_are_json_404() {
    let app = App::new();
    for (method, uri) in [
        ("GET", "/"),
        ("GET", "/nope"),
        ("GET", "/api"),
        ("GET", "/api/audit-logs/01936f7e-8b4a-7c3e-9d2a-5f1e2b3c4d5e/nope"),
        ("POST", "/api/audit-logs/_bulk/extra"),
        ("DELETE", "/api/records/1"),
    ] {
        let res = app.send(call(method, uri).token(ADMIN)).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{method} {uri}");
        assert_eq!(res.error_message(), format!("No such endpoint: {method} {uri}."));
    }
}

/// `openapi.json` and `_bulk` are routes of their own, not ids.
#[tokio::test]
async fn static_paths_are_not_captured_by_id() {
    let app = App::new();
    let res = app.send(call("GET", "/api/audit-logs/openapi.json")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.json["openapi"], "3.1.0");
    let res = app.send(call("POST", "/api/audit-logs/_bulk").token(SYSTEM).body(NDJSON, EVENT)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.json["created"], 1);
    let res = app.send(call("GET", "/api/audit-logs/_bulk").token(ADMIN)).await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED, "not an invalid id: {}", res.text);
}
