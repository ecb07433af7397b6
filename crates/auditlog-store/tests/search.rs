//! Search on a seeded store: the query language end to end, filters, facets,
//! sorting, pagination and bad input. Runs on every backend.

mod common;

use auditlog_store::search::Sort;
use auditlog_store::{QueryError, ServiceError};
use auditlog_store::{SearchError, SearchParams};
use common::{Backend, TestStore, admin};

async fn labels(t: &TestStore, params: SearchParams) -> Result<Vec<String>, ServiceError> {
    let r = t.service.search(&admin(), &params).await?;
    // Whether counted from the events or from the counters, the total and
    // the facets agree with the hits (all of them fit on one page here).
    if params.size >= 100 && params.facet_action.is_empty() && params.facet_resource.is_empty() {
        assert_eq!(r.total, r.hits.len() as u64, "total of {params:?}");
        let sum: u64 = r.aggregations.action_name.buckets.iter().map(|b| b.doc_count).sum();
        assert_eq!(sum, r.total, "action facet of {params:?}");
    }
    Ok(r.hits.iter().map(|e| format!("{}/{}", e.resource.id, e.action)).collect())
}

async fn q(t: &TestStore, query: &str) -> Result<Vec<String>, ServiceError> {
    labels(t, SearchParams { q: Some(query.into()), size: 100, ..Default::default() }).await
}

const S1: &str = "abcd-1234/draft.create";
const S2: &str = "abcd-1234/draft.edit";
const S3: &str = "abcd-1234/record.publish";
const S4: &str = "efgh-5678/draft.create";
const S5: &str = "abcd-1234/file.create";
const S6: &str = "wxyz-0000/record.grant_update";
const S7: &str = "xyz-1/record.link";
const S8: &str = "abcd-5555/draft.new_version";
const S9: &str = "x'; DROP TABLE audit_events; --/draft.delete";
const S10: &str = "xyz-2/record.link";

/// Every query case of SPEC 6 and the reference's examples; hits newest first.
const QUERIES: &[(&str, &[&str])] = &[
    ("", &[S10, S9, S8, S7, S6, S5, S3, S2, S1, S4]),
    ("*", &[S10, S9, S8, S7, S6, S5, S3, S2, S1, S4]),
    ("*:*", &[S10, S9, S8, S7, S6, S5, S3, S2, S1, S4]),
    // The reference's examples.
    ("resource.id: abcd-1234 AND action: draft.create", &[S1]),
    ("user.id: system AND action: draft.create", &[S4]),
    ("metadata.related_to.id:parent-1234 AND metadata.revision_id:9", &[S7]),
    // Fields, with and without a space after the colon.
    ("resource.id:abcd-1234", &[S5, S3, S2, S1]),
    ("resource.id: abcd-1234", &[S5, S3, S2, S1]),
    ("resource.type:draft", &[S5]),
    ("resource.type:parent", &[S6]),
    ("user.username:bob", &[S10, S7]),
    ("resource.id:\"x'; DROP TABLE audit_events; --\"", &[S9]),
    // Metadata paths at any depth, numbers as numbers, arrays.
    ("metadata.revision_id:9", &[S7, S3]),
    ("metadata.revision_id:9.0", &[S7, S3]),
    ("metadata.revision_id:>9", &[S10]),
    ("metadata.revision_id:[9 TO 10]", &[S10, S7, S3]),
    ("metadata.revision_id:{9 TO 10]", &[S10]),
    ("metadata.revision_id:[* TO 9}", &[]),
    ("metadata.score:>=2.5", &[S7]),
    ("metadata.tags:alpha", &[S7]),
    ("metadata.tags:al*", &[S7]),
    ("metadata.ip_address:127.0.0.1", &[S3, S2, S1]),
    ("metadata.triggered_by.type:record", &[S6]),
    ("metadata.after.grants.permission:view", &[S6]),
    ("metadata.note:\"Café \\\"quoted\\\" <b>\"", &[S10]),
    ("metadata.nothing:x", &[]),
    ("_exists_:metadata.revision_id", &[S10, S7, S3]),
    ("_exists_:metadata.related_to", &[S10, S7]),
    ("_exists_:user.username", &[S10, S8, S7, S6, S5, S3, S2, S1, S4]),
    ("NOT _exists_:user.username", &[S9]),
    ("metadata.related_to.id:*", &[S10, S7]),
    // Wildcards.
    ("action:draft.*", &[S9, S8, S2, S1, S4]),
    ("action:draft.?dit", &[S2]),
    ("action:Draft.*", &[]),
    ("user.email:*@cern.ch", &[S6, S5]),
    ("resource.id:abcd-*", &[S8, S5, S3, S2, S1]),
    // Email: prefixes of the address and of its parts, any case.
    ("user.email:jane", &[S6, S5]),
    ("user.email:JANE.D", &[S6, S5]),
    ("user.email:doe", &[S6, S5]),
    ("user.email:cer", &[S6, S5]),
    ("user.email:smith", &[S10, S7]),
    ("user.email:example", &[S10, S9, S7]),
    ("user.email:\"jane.doe@cern.ch\"", &[S6, S5]),
    ("user.email:ane", &[]),
    // Dates compare as dates, with OpenSearch rounding.
    ("created:[2025-12-25T00:00:00 TO 2026-01-05T12:00:00]", &[S5, S3, S2, S1]),
    ("created:[2025-12-25T00:00:00 TO 2026-01-01T00:00:00]", &[]),
    ("created:[2025-12-25 TO 2026-01-01]", &[S1]),
    ("created:{2026-01-01 TO 2026-01-03}", &[S2]),
    ("created:[2026-01-01T12:00:00+00:00 TO 2026-01-01T12:00:00+00:00]", &[S1]),
    ("created:[2026-01-01T13:00:00+01:00 TO 2026-01-01T13:00:00+01:00]", &[S1]),
    ("created:>=2026-02-01", &[S10, S9, S8, S7]),
    ("created:<2026-01-01", &[S4]),
    ("created:[2026-03-01 TO *]", &[S10, S9]),
    ("created:2026-01-03", &[S3]),
    ("created:>now", &[]),
    ("created:<now", &[S10, S9, S8, S7, S6, S5, S3, S2, S1, S4]),
    // Free text over message, ids, emails and metadata values.
    ("published", &[S3]),
    ("\"published the record\"", &[S3]),
    ("\"the record published\"", &[]),
    ("wxyz-0000", &[S8, S6, S3, S2, S1]),
    ("cern", &[S6, S5]),
    ("Café", &[S10]),
    ("cafe", &[S10]),
    ("alpha", &[S7]),
    ("draft.create", &[S1, S4]),
    ("publ*", &[S3]),
    ("message:published", &[S3]),
    ("message:abcd", &[S8, S5, S3, S2, S1]),
    ("message:publ*", &[S3]),
    ("message:\"created file\"", &[S5]),
    // Boolean operators, default OR, grouping.
    ("published alpha", &[S7, S3]),
    ("published OR alpha", &[S7, S3]),
    ("published || alpha", &[S7, S3]),
    ("published AND alpha", &[]),
    ("published && abcd", &[S3]),
    ("+action:draft.create +user.id:1", &[S1]),
    ("+action:draft.create user.id:1", &[S1, S4]),
    ("action:draft.create -user.id:system", &[S1]),
    ("NOT action:draft.*", &[S10, S7, S6, S5, S3]),
    ("!action:record.* AND resource.id:abcd-1234", &[S5, S2, S1]),
    ("-action:record.*", &[S9, S8, S5, S2, S1, S4]),
    ("(action:draft.create OR action:draft.edit) AND user.id:1", &[S2, S1]),
    ("action:(draft.create OR record.publish)", &[S3, S1, S4]),
    ("user.id:1 AND NOT (action:draft.edit OR action:draft.new_version)", &[S3, S1]),
    // Injection attempts find nothing and break nothing.
    ("resource.id:\"1' OR '1'='1\"", &[]),
    ("\"; DELETE FROM audit_events; --\"", &[]),
    ("resource.id:abcd\\;DROP", &[]),
    ("SELECT", &[]),
];

async fn query_language(b: Backend) {
    let t = b.open().await;
    t.seed().await;
    let mut failures = Vec::new();
    for (query, want) in QUERIES {
        match q(&t, query).await {
            Ok(got) if got == *want => {}
            other => failures.push(format!("{query:?}\n   want {want:?}\n    got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{} of {} queries wrong:\n{}", failures.len(), QUERIES.len(), failures.join("\n"));
    assert_eq!(t.store.count().await.unwrap(), 10, "injection attempts must not change the store");
}

async fn query_by_id(b: Backend) {
    let t = b.open().await;
    t.seed().await;
    let all = t.service.search(&admin(), &SearchParams::default()).await.unwrap();
    let e = &all.hits[3];
    assert_eq!(q(&t, &format!("id:{}", e.id)).await.unwrap(), [format!("{}/{}", e.resource.id, e.action)]);
    assert_eq!(q(&t, &e.id.to_string()).await.unwrap(), [format!("{}/{}", e.resource.id, e.action)]);
}

/// Malformed queries: a 400-class error with the position, never a silent
/// empty result.
async fn bad_queries(b: Backend) {
    let t = b.open().await;
    t.seed().await;
    let cases: &[(&str, usize, &str)] = &[
        ("resource.id:", 12, "expected a value after \"resource.id:\" at position 12, found end of query"),
        ("nosuch.field:x", 0, "unknown field \"nosuch.field\" at position 0"),
        ("created:yesterday", 0, "\"yesterday\" is not a date"),
        ("created:2026*", 0, "wildcards are not supported on the date field"),
        ("[a TO b]", 0, "a range needs a field"),
        ("foo~", 3, "not supported"),
        ("(a OR b", 0, ""),
        ("\"abc", 0, "unclosed"),
        ("a AND", 5, ""),
        ("metadata.x\\'y:1", 0, "invalid field name"),
    ];
    for (query, pos, text) in cases {
        match t.service.search(&admin(), &SearchParams { q: Some((*query).into()), ..Default::default() }).await {
            Err(ServiceError::Search(SearchError::Query(e @ QueryError { position, .. }))) => {
                let message = e.to_string();
                assert_eq!(position, *pos, "{query}: {message}");
                assert!(message.contains(text), "{query}: {message:?} should contain {text:?}");
            }
            other => panic!("{query}: expected a query error, got {other:?}"),
        }
    }
}

async fn filters_and_facets(b: Backend) {
    let t = b.open().await;
    t.seed().await;
    let p = |f: fn(&mut SearchParams)| {
        let mut p = SearchParams { size: 100, ..Default::default() };
        f(&mut p);
        p
    };
    let cases: Vec<(SearchParams, Vec<&str>)> = vec![
        (p(|p| p.action = Some("draft.create".into())), vec![S1, S4]),
        (p(|p| p.resource_type = Some("draft".into())), vec![S5]),
        (p(|p| p.resource_id = Some("abcd-1234".into())), vec![S5, S3, S2, S1]),
        (p(|p| p.user_id = Some("2".into())), vec![S6, S5]),
        (p(|p| p.created_from = Some("2026-02-01".into())), vec![S10, S9, S8, S7]),
        (p(|p| p.created_to = Some("2026-01-01".into())), vec![S1, S4]),
        (
            p(|p| {
                p.created_from = Some("2026-01-02".into());
                p.created_to = Some("2026-01-03T23:59:59Z".into());
            }),
            vec![S3, S2],
        ),
        (p(|p| p.facet_action = vec!["draft.create".into(), "draft.edit".into()]), vec![S2, S1, S4]),
        (
            p(|p| {
                p.facet_action = vec!["draft.create".into(), "file.create".into()];
                p.facet_resource = vec!["draft".into()];
            }),
            vec![S5],
        ),
        (
            p(|p| {
                p.q = Some("user.id:1".into());
                p.sort = Sort::Oldest;
            }),
            vec![S1, S2, S3, S8],
        ),
    ];
    for (params, want) in cases {
        assert_eq!(labels(&t, params.clone()).await.unwrap(), want, "{params:?}");
    }

    // Facets count the query's hits without their own facet's filter.
    let r = t
        .service
        .search(
            &admin(),
            &SearchParams {
                q: Some("user.id:1 OR user.id:2".into()),
                facet_resource: vec!["record".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(r.total, 4);
    let res: Vec<_> = r
        .aggregations
        .resource
        .buckets
        .iter()
        .map(|b| (b.key.as_str(), b.doc_count, b.label.as_str(), b.is_selected))
        .collect();
    assert_eq!(res, [("record", 4, "Record", true), ("draft", 1, "Draft", false), ("parent", 1, "Parent", false)]);
    let act: Vec<_> =
        r.aggregations.action_name.buckets.iter().map(|b| (b.key.as_str(), b.doc_count, b.is_selected)).collect();
    assert_eq!(
        act,
        [
            ("draft.create", 1, false),
            ("draft.edit", 1, false),
            ("draft.new_version", 1, false),
            ("record.publish", 1, false)
        ]
    );

    // No query at all: counts of everything.
    let r = t.service.search(&admin(), &SearchParams::default()).await.unwrap();
    assert_eq!(r.total, 10);
    let sum: u64 = r.aggregations.action_name.buckets.iter().map(|b| b.doc_count).sum();
    assert_eq!(sum, 10);
    assert_eq!(r.aggregations.action_name.buckets[0].key, "draft.create");
    assert_eq!(r.aggregations.action_name.buckets[0].doc_count, 2);
}

async fn sorting_and_pages(b: Backend) {
    let t = b.open().await;
    t.seed().await;
    let page = |page, size, sort| SearchParams { page, size, sort, ..Default::default() };
    assert_eq!(labels(&t, page(1, 3, Sort::Newest)).await.unwrap(), [S10, S9, S8]);
    assert_eq!(labels(&t, page(2, 3, Sort::Newest)).await.unwrap(), [S7, S6, S5]);
    assert_eq!(labels(&t, page(4, 3, Sort::Newest)).await.unwrap(), [S4]);
    assert_eq!(labels(&t, page(5, 3, Sort::Newest)).await.unwrap(), Vec::<String>::new());
    assert_eq!(labels(&t, page(1, 3, Sort::Oldest)).await.unwrap(), [S4, S1, S2]);
    let r = t.service.search(&admin(), &page(2, 3, Sort::Newest)).await.unwrap();
    assert_eq!(r.total, 10);
    assert!(matches!(
        t.service.search(&admin(), &page(51, 20, Sort::Newest)).await,
        Err(ServiceError::Search(SearchError::Pagination))
    ));
    // Best match ranks the free-text part; without free text it is newest first.
    let best = labels(
        &t,
        SearchParams { q: Some("abcd OR published".into()), sort: Sort::BestMatch, size: 100, ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(best[0], S3, "the event matching both words ranks first: {best:?}");
    let best = labels(&t, SearchParams { q: Some("user.id:1".into()), sort: Sort::BestMatch, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(best, [S8, S3, S2, S1]);
}

store_tests!(query_language, query_by_id, bad_queries, filters_and_facets, sorting_and_pages);
