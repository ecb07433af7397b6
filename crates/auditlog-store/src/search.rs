//! Search: the parameters of SPEC 5.1, their translation into a store-level
//! [`SearchPlan`], and the facet aggregations of the reference.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use auditlog_core::{Event, Timestamp};
use serde::Serialize;

use crate::error::QueryError;
use crate::lower::{self, Col, Cond, KeywordOp, TextQuery, TextScope};

/// The reference's cap on `page * size`.
pub const MAX_RESULTS: u64 = 1000;
pub const DEFAULT_SIZE: u64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    #[default]
    Newest,
    Oldest,
    #[serde(rename = "bestmatch")]
    BestMatch,
}

impl Sort {
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Oldest => "oldest",
            Sort::BestMatch => "bestmatch",
        }
    }
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Sort {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "newest" => Ok(Sort::Newest),
            "oldest" => Ok(Sort::Oldest),
            "bestmatch" => Ok(Sort::BestMatch),
            other => Err(format!("invalid sort {other:?}: use newest, oldest or bestmatch")),
        }
    }
}

/// Search parameters as the API and CLI take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchParams {
    pub q: Option<String>,
    pub sort: Sort,
    pub page: u64,
    pub size: u64,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub user_id: Option<String>,
    pub created_from: Option<String>,
    pub created_to: Option<String>,
    /// Facet filter `resource=<type>` (repeatable; OR within the facet).
    pub facet_resource: Vec<String>,
    /// Facet filter `action_name=<action>`.
    pub facet_action: Vec<String>,
}

impl Default for SearchParams {
    fn default() -> Self {
        SearchParams {
            q: None,
            sort: Sort::Newest,
            page: 1,
            size: DEFAULT_SIZE,
            action: None,
            resource_type: None,
            resource_id: None,
            user_id: None,
            created_from: None,
            created_to: None,
            facet_resource: Vec::new(),
            facet_action: Vec::new(),
        }
    }
}

/// Why a search cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("Invalid pagination parameters.")]
    Pagination,
    #[error("invalid query: {0}")]
    Query(#[from] QueryError),
    #[error("invalid parameter {param}: {message}")]
    Param { param: &'static str, message: String },
}

/// What a store executes.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPlan {
    /// The query and plain filters, without facet filters.
    pub base: Cond,
    pub facet_resource: Vec<String>,
    pub facet_action: Vec<String>,
    pub sort: Sort,
    pub offset: u64,
    pub limit: u64,
    /// Full-text parts that `bestmatch` ranks by (empty: rank by time).
    pub scoring: Vec<(TextScope, TextQuery)>,
    /// Whether to compute facet counts (and the total from them).
    pub aggregate: bool,
}

impl SearchPlan {
    /// `base` narrowed by the facet filters: the condition of the hits.
    pub fn hits_cond(&self) -> Cond {
        let any = |col: Col, keys: &[String]| {
            Cond::or(keys.iter().map(|k| Cond::Keyword { col, op: KeywordOp::Eq(k.clone()) }).collect())
        };
        let mut all = vec![self.base.clone()];
        if !self.facet_resource.is_empty() {
            all.push(any(Col::ResourceType, &self.facet_resource));
        }
        if !self.facet_action.is_empty() {
            all.push(any(Col::Action, &self.facet_action));
        }
        Cond::and(all)
    }

    /// Plans a search: parses and lowers `q`, checks pagination, adds filters.
    pub fn new(params: &SearchParams, now: Timestamp) -> Result<SearchPlan, SearchError> {
        if params.page < 1 || params.size < 1 || params.page.saturating_mul(params.size) > MAX_RESULTS {
            return Err(SearchError::Pagination);
        }
        let q = params.q.as_deref().unwrap_or("");
        let query = auditlog_query::parse(q).map_err(QueryError::from)?;
        let base = lower::lower(&query, now)?;
        let mut all = vec![base];
        let eq = |col: Col, v: &Option<String>| v.as_ref().map(|v| Cond::Keyword { col, op: KeywordOp::Eq(v.clone()) });
        all.extend(eq(Col::Action, &params.action));
        all.extend(eq(Col::ResourceType, &params.resource_type));
        all.extend(eq(Col::ResourceId, &params.resource_id));
        all.extend(eq(Col::UserId, &params.user_id));
        let date = |param: &'static str, v: &str| {
            lower::parse_date(v, now).map_err(|e| SearchError::Param {
                param,
                message: match e {
                    lower::DateError::NotADate => {
                        format!("{v:?} is not a date; use 2026-01-31 or an RFC 3339 date-time")
                    }
                    lower::DateError::OutOfRange => e.message(v),
                },
            })
        };
        let from = params.created_from.as_deref().map(|v| date("created_from", v)).transpose()?;
        let to = params.created_to.as_deref().map(|v| date("created_to", v)).transpose()?;
        if from.is_some() || to.is_some() {
            all.push(Cond::Created { from: from.map(|d| d.start), to: to.map(|d| d.end) });
        }
        let base = Cond::and(all);
        let scoring = if params.sort == Sort::BestMatch { base.scoring_texts() } else { Vec::new() };
        Ok(SearchPlan {
            base,
            facet_resource: dedup(&params.facet_resource),
            facet_action: dedup(&params.facet_action),
            sort: params.sort,
            offset: (params.page - 1) * params.size,
            limit: params.size,
            scoring,
            aggregate: true,
        })
    }
}

fn dedup(v: &[String]) -> Vec<String> {
    v.iter().collect::<BTreeSet<_>>().into_iter().cloned().collect()
}

/// What a store returns for a plan: the page of hits, and the count of
/// events matching `base` per (resource type, action) — from which totals and
/// both facets follow without further queries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreHits {
    pub hits: Vec<Event>,
    pub cells: Vec<FacetCell>,
    /// Total of the hits; stores fill it only when `aggregate` is false.
    pub total: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetCell {
    pub resource_type: String,
    pub action: String,
    pub count: u64,
}

/// A search result in the reference's shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResult {
    pub hits: Vec<Event>,
    pub total: u64,
    pub aggregations: Aggregations,
    #[serde(rename = "sortBy")]
    pub sort: Sort,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregations {
    pub resource: Facet,
    pub action_name: Facet,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Facet {
    pub label: &'static str,
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub key: String,
    pub doc_count: u64,
    pub label: String,
    pub is_selected: bool,
}

impl SearchResult {
    /// Assembles the result: each facet counts the hits of `base` narrowed by
    /// the *other* facet's filter (OR within a facet, AND across).
    pub fn assemble(plan: &SearchPlan, store: StoreHits) -> SearchResult {
        let sel_r: BTreeSet<&str> = plan.facet_resource.iter().map(String::as_str).collect();
        let sel_a: BTreeSet<&str> = plan.facet_action.iter().map(String::as_str).collect();
        let in_r = |k: &str| sel_r.is_empty() || sel_r.contains(k);
        let in_a = |k: &str| sel_a.is_empty() || sel_a.contains(k);
        let mut by_resource: BTreeMap<&str, u64> = BTreeMap::new();
        let mut by_action: BTreeMap<&str, u64> = BTreeMap::new();
        let mut total = 0;
        for c in &store.cells {
            if in_a(&c.action) {
                *by_resource.entry(&c.resource_type).or_default() += c.count;
            }
            if in_r(&c.resource_type) {
                *by_action.entry(&c.action).or_default() += c.count;
            }
            if in_a(&c.action) && in_r(&c.resource_type) {
                total += c.count;
            }
        }
        let buckets = |counts: BTreeMap<&str, u64>, sel: &BTreeSet<&str>, label: fn(&str) -> String| {
            let mut b: Vec<Bucket> = counts
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| Bucket { key: k.to_owned(), doc_count: n, label: label(k), is_selected: sel.contains(k) })
                .collect();
            b.sort_by(|x, y| y.doc_count.cmp(&x.doc_count).then_with(|| x.key.cmp(&y.key)));
            b
        };
        SearchResult {
            total: store.total.unwrap_or(total),
            hits: store.hits,
            aggregations: Aggregations {
                resource: Facet { label: "Resource", buckets: buckets(by_resource, &sel_r, capitalise) },
                action_name: Facet { label: "Action", buckets: buckets(by_action, &sel_a, str::to_owned) },
            },
            sort: plan.sort,
        }
    }
}

/// `record` -> `Record` (the reference's facet labels).
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(r: &str, a: &str, n: u64) -> FacetCell {
        FacetCell { resource_type: r.into(), action: a.into(), count: n }
    }

    #[test]
    fn facets_exclude_their_own_filter() {
        let params = SearchParams { facet_action: vec!["draft.create".into()], ..Default::default() };
        let plan = SearchPlan::new(&params, Timestamp::now()).unwrap();
        let r = SearchResult::assemble(
            &plan,
            StoreHits {
                hits: vec![],
                cells: vec![
                    cell("record", "draft.create", 5),
                    cell("record", "draft.edit", 3),
                    cell("draft", "file.create", 2),
                ],
                total: None,
            },
        );
        assert_eq!(r.total, 5);
        let res: Vec<_> = r
            .aggregations
            .resource
            .buckets
            .iter()
            .map(|b| (b.key.as_str(), b.doc_count, b.label.as_str(), b.is_selected))
            .collect();
        assert_eq!(res, [("record", 5, "Record", false)]);
        let act: Vec<_> =
            r.aggregations.action_name.buckets.iter().map(|b| (b.key.as_str(), b.doc_count, b.is_selected)).collect();
        assert_eq!(act, [("draft.create", 5, true), ("draft.edit", 3, false), ("file.create", 2, false)]);
    }

    #[test]
    fn pagination_limit() {
        let plan = |page, size| {
            SearchPlan::new(&SearchParams { page, size, ..Default::default() }, Timestamp::now())
                .map(|p| (p.offset, p.limit))
        };
        assert_eq!(plan(1, 20), Ok((0, 20)));
        assert_eq!(plan(50, 20), Ok((980, 20)));
        assert_eq!(plan(51, 20), Err(SearchError::Pagination));
        assert_eq!(plan(1, 1000), Ok((0, 1000)));
        assert_eq!(plan(1, 1001), Err(SearchError::Pagination));
        assert_eq!(plan(0, 20), Err(SearchError::Pagination));
        assert_eq!(plan(1, 0), Err(SearchError::Pagination));
    }
}
