//! `GET /api/audit-logs`: the parameters of SPEC 5.1 read from the query
//! string, the search, and the response in the reference's shape with its
//! `self` / `prev` / `next` links.

use std::collections::BTreeSet;

use auditlog_store::search::Sort;
use auditlog_store::service::{MAX_RESULTS, SearchParams};
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::auth::{Authorized, need};
use crate::content::ResponseFormat;
use crate::error::ApiError;
use crate::state::AppState;

/// Parameters taken once.
const SINGLE: [&str; 10] =
    ["q", "sort", "page", "size", "action", "resource_type", "resource_id", "user_id", "created_from", "created_to"];
/// Facet filters, repeatable (OR within a facet).
const REPEATABLE: [&str; 2] = ["resource", "action_name"];

/// The search parameters of a request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SearchQuery {
    pub(crate) params: SearchParams,
}

impl SearchQuery {
    /// Reads a raw query string. Unknown parameters are ignored and empty
    /// values count as absent (an HTML form sends its empty fields).
    pub(crate) fn parse(query: &str) -> Result<Self, ApiError> {
        let mut params = SearchParams::default();
        let mut seen = BTreeSet::new();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let Some(name) = SINGLE.iter().chain(&REPEATABLE).copied().find(|p| *p == key) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            let value = value.into_owned();
            if SINGLE.contains(&name) && !seen.insert(name) {
                return Err(bad(name, "given more than once; this parameter takes one value".into()));
            }
            let text = Some(value.clone());
            match name {
                "q" => params.q = text,
                "sort" => {
                    params.sort = value
                        .parse::<Sort>()
                        .map_err(|_| bad(name, format!("{value:?} is not a sort; use newest, oldest or bestmatch")))?;
                }
                "page" => params.page = whole_number(name, &value)?,
                "size" => params.size = whole_number(name, &value)?,
                "action" => params.action = text,
                "resource_type" => params.resource_type = text,
                "resource_id" => params.resource_id = text,
                "user_id" => params.user_id = text,
                "created_from" => params.created_from = text,
                "created_to" => params.created_to = text,
                "resource" => params.facet_resource.push(value),
                "action_name" => params.facet_action.push(value),
                _ => unreachable!("every known parameter is matched above"),
            }
        }
        Ok(SearchQuery { params })
    }

    /// The link to `page` of this search.
    pub(crate) fn link(&self, base_url: &str, page: u64) -> String {
        let params = SearchParams { page, ..self.params.clone() };
        format!("{base_url}/api/audit-logs/?{}", query_string(&params))
    }

    /// `self` always, `prev` after page 1, `next` while more hits exist
    /// (and the next page is within the pagination limit).
    pub(crate) fn links(&self, base_url: &str, total: u64) -> Map<String, Value> {
        let SearchParams { page, size, .. } = self.params;
        let mut links = Map::new();
        links.insert("self".into(), self.link(base_url, page).into());
        if page > 1 {
            links.insert("prev".into(), self.link(base_url, page - 1).into());
        }
        if has_next_page(page, size, total) {
            links.insert("next".into(), self.link(base_url, page + 1).into());
        }
        links
    }
}

/// Whether a page after `page` exists: more hits, and within the 1,000-result window.
pub(crate) fn has_next_page(page: u64, size: u64, total: u64) -> bool {
    let shown = page.saturating_mul(size);
    shown < total && shown.saturating_add(size) <= MAX_RESULTS
}

/// The query string of a search (the inverse of [`SearchQuery::parse`]):
/// the parameters that are set, in alphabetical order, form-encoded, with
/// page, size and sort always present. Repeated facet values keep their order.
pub(crate) fn query_string(params: &SearchParams) -> String {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    let optional = [
        ("action", &params.action),
        ("created_from", &params.created_from),
        ("created_to", &params.created_to),
        ("q", &params.q),
        ("resource_id", &params.resource_id),
        ("resource_type", &params.resource_type),
        ("user_id", &params.user_id),
    ];
    pairs.extend(optional.iter().filter_map(|(k, v)| v.as_deref().map(|v| (*k, v))));
    pairs.extend(params.facet_resource.iter().map(|v| ("resource", v.as_str())));
    pairs.extend(params.facet_action.iter().map(|v| ("action_name", v.as_str())));
    let (page, size) = (params.page.to_string(), params.size.to_string());
    pairs.extend([("page", page.as_str()), ("size", size.as_str()), ("sort", params.sort.as_str())]);
    // Stable: repeated facet values keep the order they were given in.
    pairs.sort_by_key(|(k, _)| *k);
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", form_encode(v))).collect();
    query.join("&")
}

fn bad(param: &str, message: String) -> ApiError {
    ApiError::BadParameter { param: param.to_owned(), message }
}

fn whole_number(param: &str, value: &str) -> Result<u64, ApiError> {
    value.parse().map_err(|_| bad(param, format!("{value:?} is not a whole number")))
}

/// Form encoding as in the reference's links: space as `+`, letters, digits,
/// `-._~` and `:` as they are, every other byte as `%XX`.
pub(crate) fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl<S: Send + Sync> FromRequestParts<S> for SearchQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        SearchQuery::parse(parts.uri.query().unwrap_or_default())
    }
}

pub(crate) async fn search(
    State(state): State<AppState>,
    auth: Authorized<need::Search>,
    format: ResponseFormat,
    query: SearchQuery,
) -> Result<Response, ApiError> {
    let result = state.service.search(&auth.identity, &query.params).await?;
    let hits: Vec<Value> = result.hits.iter().map(|e| e.to_api_json(&state.base_url)).collect();
    let body = json!({
        "hits": {"hits": hits, "total": result.total},
        "aggregations": result.aggregations,
        "sortBy": result.sort,
        "links": query.links(&state.base_url, result.total),
    });
    Ok(format.respond(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://127.0.0.1:5000";

    #[test]
    fn form_encoding() {
        for (raw, want) in [
            ("resource.id: abcd-1234 AND action: draft.create", "resource.id:+abcd-1234+AND+action:+draft.create"),
            ("user.email:*@cern.ch", "user.email:%2A%40cern.ch"),
            ("a+b&c=d/e", "a%2Bb%26c%3Dd%2Fe"),
            ("\"café\"", "%22caf%C3%A9%22"),
            ("x~y_z", "x~y_z"),
        ] {
            assert_eq!(form_encode(raw), want, "{raw}");
        }
    }

    #[test]
    fn links_are_alphabetical_and_keep_only_given_parameters() {
        let cases = [
            ("", "https://127.0.0.1:5000/api/audit-logs/?page=1&size=20&sort=newest"),
            (
                "q=resource.id%3A+abcd-1234+AND+action%3A+draft.create",
                "https://127.0.0.1:5000/api/audit-logs/?page=1&q=resource.id:+abcd-1234+AND+action:+draft.create&size=20&sort=newest",
            ),
            (
                "sort=oldest&user_id=1&action_name=b&size=5&resource=record&action_name=a&page=2&unknown=x&action=",
                "https://127.0.0.1:5000/api/audit-logs/?action_name=b&action_name=a&page=2&resource=record&size=5&sort=oldest&user_id=1",
            ),
            (
                "created_to=2026-02-01&created_from=2026-01-01&resource_type=record&resource_id=r-1&action=draft.create",
                "https://127.0.0.1:5000/api/audit-logs/?action=draft.create&created_from=2026-01-01&created_to=2026-02-01&page=1&resource_id=r-1&resource_type=record&size=20&sort=newest",
            ),
        ];
        for (query, want) in cases {
            let q = SearchQuery::parse(query).unwrap_or_else(|e| panic!("{query}: {e:?}"));
            assert_eq!(q.link(BASE, q.params.page), want, "{query}");
        }
    }

    #[test]
    fn prev_and_next_presence() {
        // (query, total) -> which links exist
        let cases = [
            ("page=1&size=10", 0, "self"),
            ("page=1&size=10", 10, "self"),
            ("page=1&size=10", 11, "next self"),
            ("page=2&size=10", 25, "next prev self"),
            ("page=3&size=10", 25, "prev self"),
            // The next page would pass the 1000-result window.
            ("page=100&size=10", 5000, "prev self"),
            ("page=99&size=10", 5000, "next prev self"),
        ];
        for (query, total, want) in cases {
            let q = SearchQuery::parse(query).unwrap();
            let links = q.links(BASE, total);
            let got: Vec<&str> = links.keys().map(String::as_str).collect();
            assert_eq!(got.join(" "), want, "{query} total={total}");
        }
    }

    #[test]
    fn bad_parameters_name_the_parameter() {
        let cases = [
            ("page=abc", "page", "\"abc\" is not a whole number"),
            ("page=-1", "page", "\"-1\" is not a whole number"),
            ("size=1.5", "size", "\"1.5\" is not a whole number"),
            ("sort=latest", "sort", "\"latest\" is not a sort; use newest, oldest or bestmatch"),
            ("q=a&q=b", "q", "given more than once; this parameter takes one value"),
        ];
        for (query, want_param, want_message) in cases {
            match SearchQuery::parse(query) {
                Err(ApiError::BadParameter { param, message }) => {
                    assert_eq!((param.as_str(), message.as_str()), (want_param, want_message), "{query}");
                }
                other => panic!("{query}: {other:?}"),
            }
        }
    }

    #[test]
    fn parameters_fill_search_params() {
        let q = SearchQuery::parse("q=x&sort=bestmatch&page=3&size=7&resource=record&resource=draft&action_name=a&user_id=1&created_from=2026-01-01").unwrap();
        let want = SearchParams {
            q: Some("x".into()),
            sort: Sort::BestMatch,
            page: 3,
            size: 7,
            user_id: Some("1".into()),
            created_from: Some("2026-01-01".into()),
            facet_resource: vec!["record".into(), "draft".into()],
            facet_action: vec!["a".into()],
            ..Default::default()
        };
        assert_eq!(q.params, want);
    }
}
