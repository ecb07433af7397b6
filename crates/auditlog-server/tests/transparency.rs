//! The transparency endpoints through the router: the signed checkpoint,
//! inclusion and consistency proofs that verify offline, `?integrity=1`,
//! the admin page's integrity status, and every error with its status.

mod common;

use auditlog_store::TreeStore;
use std::sync::Arc;

use auditlog_core::{Identity, Role};
use auditlog_merkle::{NoteSigner, NoteVerifier, verify_consistency, verify_inclusion};
use auditlog_server::{EventIntegrity, IntegrityView, LogIntegrity};
use auditlog_store::{AuditLogService, Store};
use auditlog_transparency::Sequencer;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::{ADMIN, AUDITOR, App, SYSTEM, call, get};
use serde_json::Value;

fn signer() -> Arc<NoteSigner> {
    Arc::new(NoteSigner::from_seed("127.0.0.1:5000/audit-logs", &[3; 32]).unwrap())
}

fn hash(v: &Value) -> [u8; 32] {
    B64.decode(v.as_str().unwrap_or_else(|| panic!("not a hash: {v}"))).unwrap().try_into().unwrap()
}

async fn integrate(app: &App) {
    let store: Arc<dyn Store> = app.sqlite.clone().unwrap();
    Sequencer::new(store, signer()).round(true).await.unwrap();
}

#[tokio::test]
async fn checkpoint_and_proofs_verify_offline() {
    let app = App::new();
    let ids = app.seed().await;
    // Before integration: a clear 404 with a retry hint.
    let res = app.send(get("/api/audit-logs/checkpoint", ADMIN)).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.header("retry-after"), Some("1"));
    assert!(res.error_message().contains("No signed checkpoint yet"), "{}", res.text);
    let res = app.send(get(&format!("/api/audit-logs/{}/proof", ids[0]), ADMIN)).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(res.error_message().contains("not yet integrated"), "{}", res.text);
    assert_eq!(res.header("retry-after"), Some("1"));

    integrate(&app).await;
    let res = app.send(get("/api/audit-logs/checkpoint", AUDITOR)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.content_type().starts_with("text/plain"));
    let cp = signer().verifier().verify(&res.text).expect("the served checkpoint verifies");
    assert_eq!(cp.size, ids.len() as u64);
    assert!(res.text.starts_with("127.0.0.1:5000/audit-logs\n"));
    assert!(res.text.contains("\n\n\u{2014} 127.0.0.1:5000/audit-logs "), "{}", res.text);

    for (i, id) in ids.iter().enumerate() {
        let res = app.send(get(&format!("/api/audit-logs/{id}/proof"), ADMIN)).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let p = &res.json;
        assert_eq!((p["leaf_index"].as_u64(), p["tree_size"].as_u64()), (Some(i as u64), Some(cp.size)));
        assert_eq!(p["checkpoint"].as_str(), Some(res_text(&app).await.as_str()));
        let proof: Vec<[u8; 32]> = p["proof"].as_array().unwrap().iter().map(hash).collect();
        verify_inclusion(&hash(&p["leaf_hash"]), i as u64, cp.size, &proof, &cp.root).unwrap();
        assert_eq!(hash(&p["root"]), cp.root);
    }

    // A smaller size: provable against that size's root.
    let res = app.send(get(&format!("/api/audit-logs/{}/proof?tree_size=2", ids[1]), ADMIN)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let proof: Vec<[u8; 32]> = res.json["proof"].as_array().unwrap().iter().map(hash).collect();
    verify_inclusion(&hash(&res.json["leaf_hash"]), 1, 2, &proof, &hash(&res.json["root"])).unwrap();

    let res = app.send(get("/api/audit-logs/consistency?from=2", ADMIN)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.json["to"].as_u64(), Some(cp.size));
    let proof: Vec<[u8; 32]> = res.json["proof"].as_array().unwrap().iter().map(hash).collect();
    verify_consistency(2, cp.size, &proof, &hash(&res.json["from_root"]), &cp.root).unwrap();
}

async fn res_text(app: &App) -> String {
    app.send(get("/api/audit-logs/checkpoint", ADMIN)).await.text
}

#[tokio::test]
async fn proof_errors_and_access() {
    let app = App::new();
    let ids = app.seed().await;
    integrate(&app).await;
    let size = ids.len();
    let unknown = uuid::Uuid::now_v7();
    let cases: Vec<(String, &str, StatusCode, &str)> = vec![
        (
            format!("/api/audit-logs/{}/proof?tree_size=99", ids[0]),
            ADMIN,
            StatusCode::BAD_REQUEST,
            "beyond the log's current size",
        ),
        (format!("/api/audit-logs/{}/proof?tree_size=1", ids[2]), ADMIN, StatusCode::BAD_REQUEST, "does not contain"),
        (format!("/api/audit-logs/{}/proof?tree_size=x", ids[0]), ADMIN, StatusCode::BAD_REQUEST, "tree_size"),
        (format!("/api/audit-logs/{unknown}/proof"), ADMIN, StatusCode::NOT_FOUND, "no audit event"),
        ("/api/audit-logs/not-a-uuid/proof".into(), ADMIN, StatusCode::BAD_REQUEST, "Invalid event id"),
        ("/api/audit-logs/consistency".into(), ADMIN, StatusCode::BAD_REQUEST, "from"),
        (format!("/api/audit-logs/consistency?from={}&to=2", size), ADMIN, StatusCode::BAD_REQUEST, "must not exceed"),
        ("/api/audit-logs/consistency?from=1&to=999".into(), ADMIN, StatusCode::BAD_REQUEST, "beyond"),
        ("/api/audit-logs/consistency?from=1&from=2".into(), ADMIN, StatusCode::BAD_REQUEST, "more than once"),
        (format!("/api/audit-logs/{}?integrity=maybe", ids[0]), ADMIN, StatusCode::BAD_REQUEST, "integrity"),
    ];
    for (uri, token, status, text) in cases {
        let res = app.send(get(&uri, token)).await;
        assert_eq!(res.status, status, "{uri}: {}", res.text);
        assert!(res.error_message().contains(text), "{uri}: {:?} should mention {text:?}", res.text);
    }
    // The verify right: admin, system, auditor; no token is a 401.
    for token in [ADMIN, SYSTEM, AUDITOR] {
        assert_eq!(app.send(get("/api/audit-logs/checkpoint", token)).await.status, StatusCode::OK);
    }
    assert_eq!(app.send(call("GET", "/api/audit-logs/checkpoint")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.send(get("/api/audit-logs/checkpoint", "al_wrong")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.send(call("DELETE", "/api/audit-logs/checkpoint").token(ADMIN)).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn read_with_integrity() {
    let app = App::new();
    let ids = app.seed().await;
    let res = app.send(get(&format!("/api/audit-logs/{}?integrity=1", ids[0]), AUDITOR)).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json["integrity"]["integrated"], false);
    assert_eq!(res.json["integrity"]["leaf_index"], Value::Null);
    integrate(&app).await;
    let late = app.create(common::SEED[0]).await;
    app.sqlite.clone().unwrap().integrate(100).await.unwrap();
    let res = app.send(get(&format!("/api/audit-logs/{}?integrity=true", ids[1]), AUDITOR)).await;
    let i = &res.json["integrity"];
    assert_eq!(
        (i["integrated"].as_bool(), i["leaf_index"].as_u64(), i["in_checkpoint"].as_bool()),
        (Some(true), Some(1), Some(true))
    );
    assert_eq!(i["checkpoint_size"].as_u64(), Some(ids.len() as u64));
    // Integrated after the latest checkpoint: in the tree, not yet signed.
    let res = app.send(get(&format!("/api/audit-logs/{}?integrity=1", late["id"].as_str().unwrap()), AUDITOR)).await;
    assert_eq!(res.json["integrity"]["in_checkpoint"], false);
    assert_eq!(res.json["integrity"]["integrated"], true);
    let res = app.send(get(&format!("/api/audit-logs/{}", ids[1]), AUDITOR)).await;
    assert!(res.json.get("integrity").is_none(), "only on request");
}

#[tokio::test]
async fn admin_integrity_view_checks_proofs_and_content() {
    let app = App::new();
    let ids = app.seed().await;
    let store: Arc<dyn Store> = app.sqlite.clone().unwrap();
    let service =
        |key: NoteVerifier| AuditLogService::new(app.state.service().audit().clone(), store.clone()).with_log_key(key);
    let view = LogIntegrity::new(service(signer().verifier()));
    let admin = Identity::with_roles("admin-1", [Role::Admin]);
    assert_eq!(view.latest_checkpoint(&admin).await.unwrap(), None);
    integrate(&app).await;
    let cp = view.latest_checkpoint(&admin).await.unwrap().unwrap();
    assert_eq!(cp.tree_size, ids.len() as u64);
    let uuids: Vec<uuid::Uuid> = ids.iter().map(|s| s.parse().unwrap()).collect();
    let statuses = view.event_statuses(&admin, &uuids).await.unwrap();
    for (i, id) in uuids.iter().enumerate() {
        assert_eq!(statuses[id], EventIntegrity::Verified { leaf_index: i as u64, tree_size: cp.tree_size });
    }
    // Tampering with a stored event shows on the page.
    let conn = app.sqlite.as_ref().unwrap().connect().unwrap();
    conn.execute("UPDATE audit_events SET message = 'rewritten' WHERE id = ?1", [&ids[1]]).unwrap();
    assert!(matches!(view.event_status(&admin, uuids[1]).await.unwrap(), Some(EventIntegrity::Failed { .. })));
    // A checkpoint signed by another key is not believed.
    let other =
        LogIntegrity::new(service(NoteSigner::from_seed("127.0.0.1:5000/audit-logs", &[4; 32]).unwrap().verifier()));
    assert!(other.latest_checkpoint(&admin).await.is_err());
    // The view asks on behalf of the signed-in user: the service's
    // permission check applies.
    let nobody = Identity::with_roles("user-9", []);
    assert!(view.latest_checkpoint(&nobody).await.is_err());
    assert!(view.event_statuses(&nobody, &uuids).await.is_err());
}
