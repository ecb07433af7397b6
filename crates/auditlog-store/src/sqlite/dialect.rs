//! How SQLite spells the leaves of a condition: keyword columns, GLOB
//! patterns, the FTS5 index and the metadata-leaf table.

use auditlog_query::ast::Pattern;

use crate::backend::search::SearchDialect;
use crate::lower::{Col, Cond, KeywordOp, MetaOp, RangeBound, TextQuery, TextScope};
use crate::sql::{self, Dialect, Param, Sql, meta_eq_texts};

#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

/// A wildcard pattern as a GLOB pattern (`*`, `?`; literal `*`, `?`, `[`
/// bracketed).
pub fn glob(p: &Pattern) -> String {
    sql::wildcard(p, '*', '?', |c, out| match c {
        '*' => out.push_str("[*]"),
        '?' => out.push_str("[?]"),
        '[' => out.push_str("[[]"),
        c => out.push(c),
    })
}

/// An FTS5 query for one text condition. Tokens are letters and digits only
/// (see `lower::tokenize`), so quoting them cannot change the query's syntax.
pub fn fts_query(scope: TextScope, q: &TextQuery) -> String {
    let phrase = format!("\"{}\"{}", q.tokens.join(" "), if q.prefix { " *" } else { "" });
    match scope {
        TextScope::Message => format!("message : {phrase}"),
        TextScope::Email => format!("email : {phrase}"),
        TextScope::All => phrase,
    }
}

/// Any of several text conditions (for ranking).
pub fn fts_any(parts: &[(TextScope, TextQuery)]) -> String {
    parts.iter().map(|(s, q)| format!("({})", fts_query(*s, q))).collect::<Vec<_>>().join(" OR ")
}

fn range<T: Clone>(
    sql: &mut Sql,
    expr: &str,
    lo: &Option<RangeBound<T>>,
    hi: &Option<RangeBound<T>>,
    to_param: fn(T) -> Param,
) {
    let mut first = true;
    let mut sep = |sql: &mut Sql| {
        if !first {
            sql.push(" AND ");
        }
        first = false;
    };
    sql.push("(");
    if let Some(b) = lo {
        sep(sql);
        sql.push(expr).push(if b.inclusive { " >= " } else { " > " }).param(to_param(b.value.clone()));
    }
    if let Some(b) = hi {
        sep(sql);
        sql.push(expr).push(if b.inclusive { " <= " } else { " < " }).param(to_param(b.value.clone()));
    }
    if lo.is_none() && hi.is_none() {
        sql.push(expr).push(" IS NOT NULL");
    }
    sql.push(")");
}

impl Dialect for SqliteDialect {
    fn keyword(&self, sql: &mut Sql, col: Col, op: &KeywordOp) {
        let c = format!("e.{}", col.name());
        sql::keyword(sql, &c, op, (" GLOB ", glob), |sql, lo, hi| range(sql, &c, lo, hi, Param::Text));
    }

    fn created(&self, sql: &mut Sql, from: Option<i64>, to: Option<i64>) {
        let lo = from.map(|v| RangeBound { value: v, inclusive: true });
        let hi = to.map(|v| RangeBound { value: v, inclusive: false });
        range(sql, "e.created", &lo, &hi, Param::Int);
    }

    fn text(&self, sql: &mut Sql, scope: TextScope, query: &TextQuery) {
        sql.push("e.seq IN (SELECT rowid FROM audit_fts WHERE audit_fts MATCH ")
            .text_param(fts_query(scope, query))
            .push(")");
    }

    fn meta(&self, sql: &mut Sql, path: &str, op: &MetaOp) {
        sql.push("e.seq IN (SELECT seq FROM audit_meta WHERE ");
        match op {
            MetaOp::Exists => {
                sql.push("(path = ").text_param(path).push(" OR (path > ").text_param(format!("{path}."));
                sql.push(" AND path < ").text_param(format!("{path}/")).push("))");
            }
            other => {
                sql.push("path = ").text_param(path).push(" AND ");
                match other {
                    MetaOp::Eq(v) => {
                        sql.push("value IN (");
                        for (i, t) in meta_eq_texts(v).into_iter().enumerate() {
                            if i > 0 {
                                sql.push(", ");
                            }
                            sql.text_param(t);
                        }
                        sql.push(")");
                    }
                    MetaOp::Like(p) => {
                        sql.push("value GLOB ").text_param(glob(p));
                    }
                    MetaOp::NumRange { lo, hi } => range(sql, "num", lo, hi, Param::Real),
                    MetaOp::StrRange { lo, hi } => range(sql, "value", lo, hi, Param::Text),
                    MetaOp::Exists => unreachable!("handled above"),
                }
            }
        }
        sql.push(")");
    }
}

impl SearchDialect for SqliteDialect {
    fn sql(&self) -> Sql {
        Sql::question()
    }

    fn rank_query(&self, scoring: &[(TextScope, TextQuery)]) -> Option<String> {
        (!scoring.is_empty()).then(|| fts_any(scoring))
    }

    /// FTS5's bm25 score of the ranking query, joined by rowid (the event's
    /// `seq`); events it does not match rank last.
    fn rank_join(&self, q: &mut Sql, rank: &str) {
        q.push(" LEFT JOIN (SELECT rowid AS r, bm25(audit_fts) AS score FROM audit_fts WHERE audit_fts MATCH ");
        q.text_param(rank);
        q.push(") s ON s.r = e.seq");
    }

    fn rank_order(&self, q: &mut Sql, _rank: String) {
        q.push(" ORDER BY s.score IS NULL, s.score, e.created DESC, e.seq DESC");
    }

    /// One counter row per (resource type, action).
    fn counter_cells(&self, q: &mut Sql, base: &Cond) {
        q.push("SELECT e.resource_type, e.action, e.n FROM audit_counts e WHERE e.n > 0 AND ");
        sql::render(base, q, self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_queries() {
        let q = |tokens: &[&str], prefix| TextQuery { tokens: tokens.iter().map(|s| s.to_string()).collect(), prefix };
        assert_eq!(fts_query(TextScope::All, &q(&["abcd", "1234"], false)), "\"abcd 1234\"");
        assert_eq!(fts_query(TextScope::Email, &q(&["inven"], true)), "email : \"inven\" *");
        assert_eq!(fts_query(TextScope::Message, &q(&["published"], false)), "message : \"published\"");
    }
}
