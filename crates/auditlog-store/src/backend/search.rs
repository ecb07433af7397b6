//! The statements of a search, for every backend: the page of hits (ranked
//! by full text for `bestmatch`, else by time, newest or oldest first, with
//! the insertion order as tie-break) and the facet cells, from the facet
//! counters when the condition allows it, else by grouping the events.
//! A backend supplies the leaves of conditions ([`crate::sql::Dialect`]),
//! its full-text ranking and its counters' query; it runs the statements.

use crate::lower::{Col, Cond, TextQuery, TextScope};
use crate::search::{SearchPlan, Sort};
use crate::sql::{self, Dialect, Param, Sql};

use super::EVENT_COLUMNS;

/// What a backend adds to the shared search statements.
pub(crate) trait SearchDialect: Dialect + Sized {
    /// An empty statement with the backend's placeholders.
    fn sql(&self) -> Sql;

    /// The full-text query `bestmatch` ranks by; `None` orders by time.
    fn rank_query(&self, scoring: &[(TextScope, TextQuery)]) -> Option<String>;

    /// What ranked hits join after `FROM audit_events e` (nothing by default).
    fn rank_join(&self, _q: &mut Sql, _rank: &str) {}

    /// The `ORDER BY` of ranked hits.
    fn rank_order(&self, q: &mut Sql, rank: String);

    /// The facet cells of `base`, a condition on the counters' own columns
    /// (action and resource type) only: `resource_type, action, count` rows.
    fn counter_cells(&self, q: &mut Sql, base: &Cond);
}

/// The statements of one search plan. Every search of every backend is
/// built here, so a per-search limit (a time budget, a cancellation) has
/// one place to go.
#[derive(Debug)]
pub(crate) struct SearchSql {
    /// The page of hits: the [`EVENT_COLUMNS`] of each.
    pub hits: Sql,
    /// `resource_type, action, count` rows; `None` when the plan does not
    /// aggregate.
    pub cells: Option<Sql>,
}

impl SearchSql {
    pub(crate) fn new(d: &impl SearchDialect, plan: &SearchPlan) -> SearchSql {
        let mut q = d.sql();
        q.push("SELECT ").push(EVENT_COLUMNS).push(" FROM audit_events e");
        let rank = if plan.sort == Sort::BestMatch { d.rank_query(&plan.scoring) } else { None };
        if let Some(rank) = &rank {
            d.rank_join(&mut q, rank);
        }
        q.push(" WHERE ");
        sql::render(&plan.hits_cond(), &mut q, d);
        match (rank, plan.sort) {
            (Some(rank), _) => d.rank_order(&mut q, rank),
            (None, Sort::Oldest) => {
                q.push(" ORDER BY e.created ASC, e.seq ASC");
            }
            (None, _) => {
                q.push(" ORDER BY e.created DESC, e.seq DESC");
            }
        }
        q.push(" LIMIT ").param(Param::Int(plan.limit as i64)).push(" OFFSET ").param(Param::Int(plan.offset as i64));
        let cells = plan.aggregate.then(|| {
            let mut a = d.sql();
            if plan.base.only_columns(&[Col::Action, Col::ResourceType]) {
                // The counters hold the events per (resource type, action):
                // a condition on those columns alone is answered from them,
                // however many events it matches.
                d.counter_cells(&mut a, &plan.base);
            } else {
                a.push("SELECT e.resource_type, e.action, count(*) FROM audit_events e WHERE ");
                sql::render(&plan.base, &mut a, d);
                a.push(" GROUP BY 1, 2");
            }
            a
        });
        SearchSql { hits: q, cells }
    }
}
