//! Export: every event a search matches, oldest first, page by page past
//! the search window, including many events at the same instant. Runs on
//! every backend.

mod common;

use std::collections::HashSet;

use auditlog_core::Identity;
use auditlog_store::ServiceError;
use auditlog_store::export::ExportPager;
use auditlog_store::{SearchError, SearchParams};
use common::{Backend, TestStore, admin, input, system};

/// 250 events at one instant, then 130 one second apart, two actions.
async fn seed(t: &TestStore) {
    let mut lines = Vec::new();
    for i in 0..380 {
        let created = if i < 250 {
            "2026-01-01T00:00:00+00:00".to_owned()
        } else {
            format!("2026-01-01T00:{:02}:{:02}+00:00", (i - 249) / 60, (i - 249) % 60)
        };
        let action = if i % 3 == 0 { "draft.edit" } else { "draft.create" };
        lines.push(Ok(input(&format!(
            r#"{{"action":"{action}","resource":{{"id":"r-{i}"}},"user_id":"system","metadata":{{"parent_pid":"p-{i}"}},"created":"{created}"}}"#
        ))));
    }
    let out = t.service.create_many(&system(), lines, None).await.unwrap();
    assert_eq!(out.len(), 380);
}

async fn drain(mut pager: ExportPager) -> Vec<auditlog_core::Event> {
    let mut all = Vec::new();
    for _ in 0..1000 {
        let page = pager.next_page().await.unwrap();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
    panic!("the export did not end");
}

async fn pages_past_the_window(b: Backend) {
    let t = b.open().await;
    seed(&t).await;
    for page in [1, 7, 100, 250, 1000] {
        let all = drain(ExportPager::new(t.store.clone(), &SearchParams::default(), page).unwrap()).await;
        assert_eq!(all.len(), 380, "page size {page}");
        let ids: HashSet<_> = all.iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), 380, "no event twice (page size {page})");
        assert!(all.windows(2).all(|w| w[0].created <= w[1].created), "oldest first (page size {page})");
    }
    // Query, filters and facet filters narrow the export as they narrow a search.
    let edits = SearchParams { q: Some("action:draft.edit".into()), ..Default::default() };
    let all = drain(ExportPager::new(t.store.clone(), &edits, 40).unwrap()).await;
    assert_eq!(all.len(), 127);
    assert!(all.iter().all(|e| e.action == "draft.edit"));
    let facet = SearchParams { facet_action: vec!["draft.create".into()], ..Default::default() };
    assert_eq!(drain(ExportPager::new(t.store.clone(), &facet, 64).unwrap()).await.len(), 253);
    // Through the service, with the search right.
    assert_eq!(drain(t.service.export(&admin(), &SearchParams::default()).unwrap()).await.len(), 380);
}

async fn export_needs_the_search_right_and_a_valid_query(b: Backend) {
    let t = b.open().await;
    let nobody = Identity::with_roles("user-1", []);
    assert!(matches!(t.service.export(&nobody, &SearchParams::default()), Err(ServiceError::Forbidden { .. })));
    let bad = SearchParams { q: Some("action:(draft".into()), ..Default::default() };
    assert!(matches!(t.service.export(&admin(), &bad), Err(ServiceError::Search(SearchError::Query(_)))));
}

store_tests!(pages_past_the_window, export_needs_the_search_right_and_a_valid_query);
