//! The search page, `GET /administration/audit-logs`: the API's search
//! parameters (parsed by the API's own parser), one service search per page
//! (facet counts come with it), and links that carry the whole state in the
//! URL — facet toggles, filter removal, pagination — so a search can be
//! bookmarked and the Back button works. A query that does not parse shows
//! its message and position above a page that still works.

use std::collections::HashMap;

use askama::Template;
use auditlog_core::Event;
use auditlog_store::search::{Bucket, SearchResult, Sort};
use auditlog_store::service::{MAX_RESULTS, SearchParams};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use uuid::Uuid;

use super::diff::changes_of;
use super::session::SignedIn;
use super::{IntegrityBadge, Layout, TimeView, error_page, html, thousands};
use crate::api::search::{SearchQuery, has_next_page, query_string};
use crate::error::ApiError;
use crate::integrity::{EventIntegrity, IntegrityError};
use crate::state::AppState;

const PAGE_PATH: &str = "/administration/audit-logs";
const PAGE_SIZES: [u64; 4] = [10, 20, 50, 100];

#[derive(Template)]
#[template(path = "admin/search.html")]
struct SearchPage {
    layout: Layout,
    form: SearchForm,
    filters: Vec<FilterChip>,
    /// The search without any condition, when there is one to clear.
    clear_href: Option<String>,
    problem: Option<Problem>,
    results: Option<Results>,
    /// Whether an integrity provider is plugged in (adds a column).
    integrity: bool,
}

struct SearchForm {
    q: String,
    sorts: Vec<Choice>,
    sizes: Vec<Choice>,
    created_from: DateField,
    created_to: DateField,
    /// Conditions set by links (filters, facets) that a new search keeps.
    hidden: Vec<(&'static str, String)>,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct DateField {
    value: String,
    /// `date` for a picker, `text` when the value is a date-time or date
    /// math that a date input would silently drop.
    kind: &'static str,
}

/// A filter set by a link, shown with a link that removes it.
struct FilterChip {
    label: &'static str,
    value: String,
    remove_href: String,
}

/// Why the search did not run.
struct Problem {
    message: String,
    /// The query with a caret under the error's position.
    pointer: Option<Pointer>,
}

struct Pointer {
    query: String,
    /// Spaces that put the caret under the offending character.
    pad: String,
    /// The position in UTF-16 units, for the script to place the cursor.
    utf16: usize,
}

struct Results {
    summary: String,
    window_note: Option<String>,
    facets: Vec<FacetView>,
    rows: Vec<Row>,
    pagination: Pagination,
}

struct FacetView {
    /// The parameter, `resource` or `action_name`.
    name: &'static str,
    label: &'static str,
    buckets: Vec<BucketView>,
}

struct BucketView {
    key: String,
    label: String,
    count: String,
    selected: bool,
    /// This search with the bucket toggled.
    href: String,
}

struct Row {
    href: String,
    time: TimeView,
    action: String,
    resource_type: String,
    resource_id: String,
    user_id: String,
    username: Option<String>,
    email: String,
    message: String,
    changes_href: Option<String>,
    integrity: Option<IntegrityBadge>,
}

struct Pagination {
    prev: Option<String>,
    next: Option<String>,
    pages: Vec<PageLink>,
}

struct PageLink {
    /// `None` for a gap (`…`).
    number: Option<u64>,
    href: String,
    current: bool,
}

/// The admin page's URL for a search.
pub(crate) fn search_url(params: &SearchParams) -> String {
    format!("{PAGE_PATH}?{}", query_string(params))
}

/// `params` on page 1: any change of conditions starts over.
fn first_page(params: SearchParams) -> SearchParams {
    SearchParams { page: 1, ..params }
}

pub(crate) async fn page(State(state): State<AppState>, signed_in: SignedIn, RawQuery(query): RawQuery) -> Response {
    let raw = query.unwrap_or_default();
    let layout =
        Layout::new("Audit logs", Some(&signed_in)).with_checkpoint(state.integrity.as_deref(), &signed_in.identity);
    let (params, layout, outcome) = match SearchQuery::parse(&raw) {
        Ok(SearchQuery { params }) => {
            let (layout, result) = tokio::join!(layout, state.service.search(&signed_in.identity, &params));
            (params, layout, result.map_err(ApiError::from))
        }
        Err(e) => (lenient(&raw), layout.await, Err(e)),
    };
    let (results, problem, status) = match outcome {
        Ok(result) => {
            let statuses = match &state.integrity {
                Some(view) => {
                    let ids: Vec<Uuid> = result.hits.iter().map(|e| e.id).collect();
                    Some(view.event_statuses(&signed_in.identity, &ids).await)
                }
                None => None,
            };
            (Some(results(&params, result, statuses)), None, StatusCode::OK)
        }
        Err(err @ (ApiError::Query(_) | ApiError::BadParameter { .. } | ApiError::Pagination)) => {
            (None, Some(problem(&params, &err)), StatusCode::BAD_REQUEST)
        }
        Err(err) => return error_page(layout, err),
    };
    let page = SearchPage {
        layout,
        form: form(&params),
        filters: filters(&params),
        clear_href: has_conditions(&params)
            .then(|| search_url(&SearchParams { sort: params.sort, size: params.size, ..SearchParams::default() })),
        problem,
        results,
        integrity: state.integrity.is_some(),
    };
    html(status, &page)
}

/// The parameters as far as they are valid, to refill the form after a
/// parameter error (the first value wins; bad values are left out).
fn lenient(raw: &str) -> SearchParams {
    let mut p = SearchParams::default();
    for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
        if value.is_empty() {
            continue;
        }
        let text = Some(value.clone().into_owned());
        let slot = match key.as_ref() {
            "q" => &mut p.q,
            "action" => &mut p.action,
            "resource_type" => &mut p.resource_type,
            "resource_id" => &mut p.resource_id,
            "user_id" => &mut p.user_id,
            "created_from" => &mut p.created_from,
            "created_to" => &mut p.created_to,
            "resource" => {
                p.facet_resource.push(value.into_owned());
                continue;
            }
            "action_name" => {
                p.facet_action.push(value.into_owned());
                continue;
            }
            "sort" => {
                p.sort = value.parse().unwrap_or(p.sort);
                continue;
            }
            "size" => {
                p.size = value.parse().ok().filter(|s| (1..=MAX_RESULTS).contains(s)).unwrap_or(p.size);
                continue;
            }
            _ => continue,
        };
        if slot.is_none() {
            *slot = text;
        }
    }
    p
}

fn has_conditions(p: &SearchParams) -> bool {
    [&p.q, &p.action, &p.resource_type, &p.resource_id, &p.user_id, &p.created_from, &p.created_to]
        .iter()
        .any(|v| v.is_some())
        || !p.facet_resource.is_empty()
        || !p.facet_action.is_empty()
}

fn form(p: &SearchParams) -> SearchForm {
    let sorts = [(Sort::Newest, "Newest first"), (Sort::Oldest, "Oldest first"), (Sort::BestMatch, "Best match")]
        .into_iter()
        .map(|(s, label)| Choice { value: s.as_str().into(), label: label.into(), selected: s == p.sort })
        .collect();
    let mut sizes: Vec<u64> = PAGE_SIZES.to_vec();
    if !sizes.contains(&p.size) {
        sizes.push(p.size);
        sizes.sort_unstable();
    }
    let sizes = sizes
        .into_iter()
        .map(|n| Choice { value: n.to_string(), label: format!("{n} per page"), selected: n == p.size })
        .collect();
    let mut hidden: Vec<(&'static str, String)> = [
        ("action", &p.action),
        ("resource_type", &p.resource_type),
        ("resource_id", &p.resource_id),
        ("user_id", &p.user_id),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
    .collect();
    hidden.extend(p.facet_resource.iter().map(|v| ("resource", v.clone())));
    hidden.extend(p.facet_action.iter().map(|v| ("action_name", v.clone())));
    SearchForm {
        q: p.q.clone().unwrap_or_default(),
        sorts,
        sizes,
        created_from: date_field(&p.created_from),
        created_to: date_field(&p.created_to),
        hidden,
    }
}

fn date_field(value: &Option<String>) -> DateField {
    let value = value.clone().unwrap_or_default();
    let plain_date = value.len() == 10 && chrono::NaiveDate::parse_from_str(&value, "%Y-%m-%d").is_ok();
    DateField { kind: if value.is_empty() || plain_date { "date" } else { "text" }, value }
}

fn filters(p: &SearchParams) -> Vec<FilterChip> {
    type Field = fn(&mut SearchParams) -> &mut Option<String>;
    let fields: [(&'static str, Field); 4] = [
        ("Action", |p| &mut p.action),
        ("Resource type", |p| &mut p.resource_type),
        ("Resource id", |p| &mut p.resource_id),
        ("User id", |p| &mut p.user_id),
    ];
    fields
        .into_iter()
        .filter_map(|(label, field)| {
            let mut without = first_page(p.clone());
            let value = field(&mut without).take()?;
            Some(FilterChip { label, value, remove_href: search_url(&without) })
        })
        .collect()
}

fn problem(p: &SearchParams, err: &ApiError) -> Problem {
    let pointer = match err {
        ApiError::Query(q) => p.q.as_deref().map(|query| {
            let mut at = q.position.min(query.len());
            while !query.is_char_boundary(at) {
                at -= 1;
            }
            let before = &query[..at];
            Pointer {
                // Control characters would break the caret's alignment.
                query: query.chars().map(|c| if c.is_control() { ' ' } else { c }).collect(),
                pad: " ".repeat(before.chars().count()),
                utf16: before.encode_utf16().count(),
            }
        }),
        _ => None,
    };
    Problem { message: err.message(), pointer }
}

type Statuses = Result<HashMap<Uuid, EventIntegrity>, IntegrityError>;

fn results(p: &SearchParams, result: SearchResult, statuses: Option<Statuses>) -> Results {
    let total = result.total;
    let first = (p.page - 1) * p.size + 1;
    let last = (p.page * p.size).min(total);
    let summary = match total {
        0 => "No events match this search.".to_owned(),
        _ if first > total => format!("No events on page {}; the search has {} events.", p.page, thousands(total)),
        1 => "1 event".to_owned(),
        _ => format!("Showing {}–{} of {} events", thousands(first), thousands(last), thousands(total)),
    };
    let window_note = (total > MAX_RESULTS).then(|| {
        format!(
            "Only the first {} results can be paged through; narrow the search to see the rest.",
            thousands(MAX_RESULTS)
        )
    });
    if let Some(Err(e)) = &statuses {
        tracing::warn!(error = %e, "integrity provider: event statuses unavailable");
    }
    let rows = result.hits.iter().map(|e| row(e, statuses.as_ref())).collect();
    let facets = vec![
        facet(p, "resource", result.aggregations.resource.label, &result.aggregations.resource.buckets),
        facet(p, "action_name", result.aggregations.action_name.label, &result.aggregations.action_name.buckets),
    ];
    Results { summary, window_note, facets, rows, pagination: pagination(p, total) }
}

fn row(e: &Event, statuses: Option<&Statuses>) -> Row {
    let href = format!("{PAGE_PATH}/{}", e.id);
    Row {
        changes_href: changes_of(&e.metadata).map(|_| format!("{href}#changes")),
        href,
        time: TimeView::new(e.created),
        action: e.action.clone(),
        resource_type: e.resource.kind.clone(),
        resource_id: e.resource.id.clone(),
        user_id: e.user.id.clone(),
        username: e.user.username.clone(),
        email: e.user.email.clone(),
        message: e.message.clone(),
        integrity: match statuses {
            None => None,
            Some(Ok(map)) => map.get(&e.id).map(IntegrityBadge::new),
            Some(Err(_)) => Some(IntegrityBadge::unavailable()),
        },
    }
}

/// A facet's buckets as toggle links. A selected value without hits is
/// listed too (count 0), so it can still be cleared.
fn facet(p: &SearchParams, name: &'static str, label: &'static str, buckets: &[Bucket]) -> FacetView {
    let selected = |p: &SearchParams| match name {
        "resource" => p.facet_resource.clone(),
        _ => p.facet_action.clone(),
    };
    let chosen = selected(p);
    let mut views: Vec<BucketView> = buckets
        .iter()
        .map(|b| BucketView {
            key: b.key.clone(),
            label: b.label.clone(),
            count: thousands(b.doc_count),
            selected: chosen.contains(&b.key),
            href: toggle(p, name, &b.key),
        })
        .collect();
    for key in chosen.iter().filter(|k| !buckets.iter().any(|b| &b.key == *k)) {
        let href = toggle(p, name, key);
        views.push(BucketView { key: key.clone(), label: key.clone(), count: "0".into(), selected: true, href });
    }
    FacetView { name, label, buckets: views }
}

/// This search with `key` added to or removed from facet `name`.
fn toggle(p: &SearchParams, name: &str, key: &str) -> String {
    let mut next = first_page(p.clone());
    let values = if name == "resource" { &mut next.facet_resource } else { &mut next.facet_action };
    if values.iter().any(|v| v == key) {
        values.retain(|v| v != key);
    } else {
        values.push(key.to_owned());
    }
    search_url(&next)
}

fn pagination(p: &SearchParams, total: u64) -> Pagination {
    let at = |page: u64| search_url(&SearchParams { page, ..p.clone() });
    let reachable = (MAX_RESULTS / p.size).max(1);
    let last = total.div_ceil(p.size).clamp(1, reachable);
    let mut pages = Vec::new();
    let window = p.page.saturating_sub(2).max(1)..=(p.page + 2).min(last);
    let shown = |n: u64, pages: &mut Vec<PageLink>| {
        if pages.last().and_then(|l: &PageLink| l.number).is_some_and(|prev| n > prev + 1) {
            pages.push(PageLink { number: None, href: String::new(), current: false });
        }
        pages.push(PageLink { number: Some(n), href: at(n), current: n == p.page });
    };
    shown(1, &mut pages);
    for n in window.filter(|n| *n > 1 && *n < last) {
        shown(n, &mut pages);
    }
    if last > 1 {
        shown(last, &mut pages);
    }
    Pagination {
        prev: (p.page > 1).then(|| at(p.page - 1)),
        next: has_next_page(p.page, p.size, total).then(|| at(p.page + 1)),
        pages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> SearchParams {
        SearchQuery::parse(query).expect("valid").params
    }

    #[test]
    fn page_links_show_a_window_and_the_ends() {
        // (query, total) -> page numbers ("…" for a gap, [n] current)
        let cases = [
            ("", 0, "[1]"),
            ("", 20, "[1]"),
            ("", 21, "[1] 2"),
            ("page=5", 500, "1 … 3 4 [5] 6 7 … 25"),
            ("page=2", 500, "1 [2] 3 4 … 25"),
            ("page=25", 500, "1 … 23 24 [25]"),
            ("page=3&size=10", 50, "1 2 [3] 4 5"),
            // Only the first 1,000 results are reachable.
            ("", 1_000_000, "[1] 2 3 … 50"),
            ("size=1000", 5000, "[1]"),
        ];
        for (query, total, want) in cases {
            let got: Vec<String> = pagination(&params(query), total)
                .pages
                .iter()
                .map(|l| match l.number {
                    None => "…".to_owned(),
                    Some(n) if l.current => format!("[{n}]"),
                    Some(n) => n.to_string(),
                })
                .collect();
            assert_eq!(got.join(" "), want, "{query} total={total}");
        }
    }

    #[test]
    fn toggling_a_facet_keeps_the_rest_and_starts_over() {
        let p = params("q=x&page=3&resource=record&action_name=draft.create");
        assert_eq!(
            toggle(&p, "resource", "record"),
            "/administration/audit-logs?action_name=draft.create&page=1&q=x&size=20&sort=newest"
        );
        assert_eq!(
            toggle(&p, "action_name", "draft.edit"),
            "/administration/audit-logs?action_name=draft.create&action_name=draft.edit&page=1&q=x&resource=record&size=20&sort=newest"
        );
    }

    #[test]
    fn the_caret_points_at_the_character() {
        let p = SearchParams { q: Some("é AND (x".into()), ..SearchParams::default() };
        let err = ApiError::Query(auditlog_store::QueryError::new(9, "unclosed parenthesis"));
        let pointer = problem(&p, &err).pointer.expect("pointer");
        assert_eq!((pointer.pad.len(), pointer.utf16), (8, 8), "é is two bytes, one character");
    }

    #[test]
    fn lenient_parameters_keep_what_is_valid() {
        let p = lenient("q=a&q=b&sort=latest&size=x&resource=record&created_from=2026-01-01");
        assert_eq!(p.q.as_deref(), Some("a"));
        assert_eq!((p.sort, p.size), (Sort::Newest, 20));
        assert_eq!(p.facet_resource, ["record"]);
        assert_eq!(p.created_from.as_deref(), Some("2026-01-01"));
    }

    #[test]
    fn filters_remove_one_condition_each() {
        let chips = filters(&params("resource_id=r-1&user_id=7&page=2"));
        let got: Vec<(&str, &str, &str)> =
            chips.iter().map(|c| (c.label, c.value.as_str(), c.remove_href.as_str())).collect();
        assert_eq!(
            got,
            [
                ("Resource id", "r-1", "/administration/audit-logs?page=1&size=20&sort=newest&user_id=7"),
                ("User id", "7", "/administration/audit-logs?page=1&resource_id=r-1&size=20&sort=newest"),
            ]
        );
    }
}
