//! The search parameters of SPEC 5.1, as the API, the admin page and the
//! CLI take them, and their translation into the [`SearchPlan`] a store
//! executes: the query parsed and lowered, pagination checked (the
//! reference's window: `page * size` at most [`MAX_RESULTS`]), the filters
//! added.

use std::collections::BTreeSet;

use auditlog_core::Timestamp;

use crate::error::QueryError;
use crate::lower::{self, Col, Cond, KeywordOp};
use crate::search::{SearchPlan, Sort};

/// The reference's cap on `page * size`.
pub const MAX_RESULTS: u64 = 1000;
pub const DEFAULT_SIZE: u64 = 20;

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

impl SearchParams {
    /// The plan of this search: `q` parsed and lowered (date math relative
    /// to `now`), pagination checked, the filters added.
    pub fn plan(&self, now: Timestamp) -> Result<SearchPlan, SearchError> {
        let params = self;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_limit() {
        let plan = |page, size| {
            SearchParams { page, size, ..Default::default() }.plan(Timestamp::now()).map(|p| (p.offset, p.limit))
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
