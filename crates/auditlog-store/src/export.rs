//! Exporting every event a search matches, oldest first, past the search's
//! result window (`page * size` at most [`crate::service::MAX_RESULTS`]). Pages are fetched by time (keyset): each page asks
//! for events at or after the last page's newest `created` and skips the
//! ones already returned at exactly that instant, so the last page of a
//! million costs what the first one does.

use std::sync::Arc;

use auditlog_core::{Event, Timestamp};

use crate::error::StoreError;
use crate::lower::Cond;
use crate::search::{SearchPlan, Sort};
use crate::service::{SearchError, SearchParams};
use crate::store::Store;

/// Events per page unless the caller says otherwise.
pub const DEFAULT_PAGE: u64 = 1000;

/// A cursor over the events matching a search (query, filters and facet
/// filters), oldest first. `page` and `size` of the parameters are ignored.
pub struct ExportPager {
    store: Arc<dyn Store>,
    plan: SearchPlan,
    query: Cond,
    /// The newest `created` returned so far (microseconds).
    cursor: Option<i64>,
    /// How many returned events have exactly that `created`.
    at_cursor: u64,
    page: u64,
    done: bool,
}

impl ExportPager {
    pub fn new(store: Arc<dyn Store>, params: &SearchParams, page: u64) -> Result<ExportPager, SearchError> {
        let params = SearchParams { sort: Sort::Oldest, page: 1, size: 1, ..params.clone() };
        let mut plan = params.plan(Timestamp::now())?;
        plan.aggregate = false;
        plan.scoring.clear();
        let query = plan.base.clone();
        Ok(ExportPager { store, plan, query, cursor: None, at_cursor: 0, page: page.max(1), done: false })
    }

    /// The next page of events; empty once every match has been returned.
    pub async fn next_page(&mut self) -> Result<Vec<Event>, StoreError> {
        if self.done {
            return Ok(Vec::new());
        }
        self.plan.base = match self.cursor {
            None => self.query.clone(),
            Some(from) => Cond::and(vec![self.query.clone(), Cond::Created { from: Some(from), to: None }]),
        };
        // Events at exactly the cursor's instant come first (oldest first,
        // then in storage order): skip those already returned.
        self.plan.offset = self.at_cursor;
        self.plan.limit = self.page;
        let hits = self.store.search(&self.plan).await?.hits;
        if (hits.len() as u64) < self.page {
            self.done = true;
        }
        if let Some(last) = hits.last() {
            let t = last.created.as_micros();
            if self.cursor == Some(t) {
                self.at_cursor += hits.len() as u64;
            } else {
                self.at_cursor = hits.iter().rev().take_while(|e| e.created.as_micros() == t).count() as u64;
                self.cursor = Some(t);
            }
        }
        Ok(hits)
    }
}
