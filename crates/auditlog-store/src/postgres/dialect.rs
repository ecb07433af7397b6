//! How PostgreSQL spells the leaves of a condition: keyword columns with
//! `LIKE`, the `fts` tsvector column, and jsonpath over the JSONB metadata.
//!
//! Full text matches SQLite's FTS5 index exactly because the tokens are made
//! here, in Rust, with [`lower::tokenize`] (plus the diacritic folding FTS5's
//! `remove_diacritics` does), both when an event is stored and when a query
//! is lowered. The tsvector is written out literally with positions and a
//! weight per FTS5 column (message A, email B, ids C, metadata D): a scoped
//! query restricts its lexemes to one weight, a phrase is `<->`, a prefix
//! `:*`, and a one-position gap between columns keeps a phrase inside one
//! column, as in FTS5.
//!
//! Every value that comes from a query is a parameter: tsqueries and
//! jsonpaths are built as strings (tokens are letters and digits; jsonpath
//! keys and strings are JSON-escaped) and bound as text, then cast.

use std::collections::BTreeMap;

use auditlog_core::{Event, Timestamp};
use auditlog_query::ast::Pattern;

use crate::backend::search::SearchDialect;
use crate::lower::{self, Col, Cond, KeywordOp, MetaOp, MetaValue, RangeBound, TextQuery, TextScope};
use crate::sql::{self, Dialect, Param, Sql, meta_eq_texts};

#[derive(Debug, Clone, Copy, Default)]
pub struct PgDialect;

/// PostgreSQL's limits on a tsvector: positions, positions per lexeme,
/// lexeme length and total size. Text beyond them stays stored and
/// readable, only not indexed (FTS5 has no such limits; events that hit them
/// are rare: megabytes of metadata).
const MAX_POSITION: u32 = 16_383;
const MAX_POSITIONS_PER_LEXEME: usize = 255;
const MAX_LEXEME_BYTES: usize = 2_046;
const MAX_TSVECTOR_BYTES: usize = 900_000;

/// Folds the diacritics of lower-case Latin letters (`é` -> `e`), as FTS5's
/// `remove_diacritics` does for the same letters.
pub fn fold(token: &str) -> String {
    token
        .chars()
        .map(|c| match c {
            'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
            'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
            'ď' | 'đ' => 'd',
            'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
            'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
            'ĥ' | 'ħ' => 'h',
            'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => 'i',
            'ĵ' => 'j',
            'ķ' => 'k',
            'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => 'l',
            'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
            'ò'..='ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => 'o',
            'ŕ' | 'ŗ' | 'ř' => 'r',
            'ś' | 'ŝ' | 'ş' | 'š' => 's',
            'ţ' | 'ť' | 'ŧ' => 't',
            'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
            'ŵ' => 'w',
            'ý' | 'ÿ' | 'ŷ' => 'y',
            'ź' | 'ż' | 'ž' => 'z',
            c => c,
        })
        .collect()
}

/// The index tokens of a text: [`lower::tokenize`], then [`fold`].
pub fn index_tokens(text: &str) -> Vec<String> {
    lower::tokenize(text).iter().map(|t| fold(t)).collect()
}

/// The `fts` column of an event, as tsvector input text.
pub fn tsvector(e: &Event) -> String {
    let keys = crate::backend::text_keys(e, &e.id.hyphenated().to_string());
    let meta = crate::sql::flatten_metadata(&e.metadata).into_iter().map(|l| l.value).collect::<Vec<_>>().join(" ");
    let mut lexemes: BTreeMap<String, Vec<(u32, char)>> = BTreeMap::new();
    let mut pos = 0u32;
    let mut size = 0usize;
    for (text, weight) in [(e.message.as_str(), 'A'), (&keys, 'C'), (&e.user.email, 'B'), (&meta, 'D')] {
        for token in index_tokens(text) {
            pos = (pos + 1).min(MAX_POSITION);
            if token.len() > MAX_LEXEME_BYTES {
                continue;
            }
            if let Some(positions) = lexemes.get_mut(&token) {
                if positions.len() < MAX_POSITIONS_PER_LEXEME {
                    positions.push((pos, weight));
                    size += 2;
                }
            } else if size + token.len() + 8 < MAX_TSVECTOR_BYTES {
                size += token.len() + 8;
                lexemes.insert(token, vec![(pos, weight)]);
            }
        }
        // A gap: a phrase never runs from one column into the next.
        pos = (pos + 1).min(MAX_POSITION);
    }
    let mut out = String::with_capacity(size + 16);
    for (lexeme, positions) in lexemes {
        if !out.is_empty() {
            out.push(' ');
        }
        // Tokens are letters and digits only: nothing to escape.
        out.push('\'');
        out.push_str(&lexeme);
        out.push_str("':");
        for (i, (p, w)) in positions.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&p.to_string());
            out.push(*w);
        }
    }
    out
}

/// The tsquery of one text condition, or `None` when a token is too long
/// to be indexed (so nothing can match).
pub fn tsquery(scope: TextScope, q: &TextQuery) -> Option<String> {
    let weight = match scope {
        TextScope::Message => "A",
        TextScope::Email => "B",
        TextScope::All => "",
    };
    let n = q.tokens.len();
    let mut parts = Vec::with_capacity(n);
    for (i, t) in q.tokens.iter().enumerate() {
        let t = fold(t);
        if t.len() > MAX_LEXEME_BYTES {
            return None;
        }
        let prefix = if q.prefix && i + 1 == n { "*" } else { "" };
        let suffix = if prefix.is_empty() && weight.is_empty() { String::new() } else { format!(":{prefix}{weight}") };
        parts.push(format!("'{t}'{suffix}"));
    }
    Some(format!("({})", parts.join(" <-> ")))
}

/// Any of several text conditions (what `bestmatch` ranks by).
pub fn tsquery_any(parts: &[(TextScope, TextQuery)]) -> Option<String> {
    let qs: Vec<String> = parts.iter().filter_map(|(s, q)| tsquery(*s, q)).collect();
    (!qs.is_empty()).then(|| qs.join(" | "))
}

/// A wildcard pattern as a `LIKE` pattern (escape character `\`).
pub fn like(p: &Pattern) -> String {
    sql::wildcard(p, '%', '_', |c, out| {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    })
}

/// `$."a"."b"`: the lax jsonpath of a dotted metadata path. Lax mode looks
/// through arrays on the way, like the reference's flat_object.
pub fn json_path(path: &str) -> String {
    let mut out = String::from("$");
    for key in path.split('.') {
        out.push('.');
        out.push_str(&json_string(key));
    }
    out
}

/// A JSON string literal, which is also a jsonpath string literal.
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// A finite number as a jsonpath numeric literal.
fn json_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.0e15 { format!("{}", n as i64) } else { format!("{n}") }
}

/// The jsonpath filter of a metadata equality: the leaf (or an element of
/// the array) at the path equals one of the value's renderings.
pub fn meta_eq_path(path: &str, v: &MetaValue) -> String {
    let mut alts: Vec<String> = meta_eq_texts(v).iter().map(|t| format!("@ == {}", json_string(t))).collect();
    if let Some(n) = v.number {
        alts.push(format!("@ == {}", json_number(n)));
    }
    if let Some(b) = v.boolean {
        alts.push(format!("@ == {b}"));
    }
    format!("{} ? ({})", json_path(path), alts.join(" || "))
}

fn num_range_path(path: &str, lo: &Option<RangeBound<f64>>, hi: &Option<RangeBound<f64>>) -> String {
    let mut conds = vec![r#"@.type() == "number""#.to_owned()];
    if let Some(b) = lo {
        conds.push(format!("@ {} {}", if b.inclusive { ">=" } else { ">" }, json_number(b.value)));
    }
    if let Some(b) = hi {
        conds.push(format!("@ {} {}", if b.inclusive { "<=" } else { "<" }, json_number(b.value)));
    }
    format!("{} ? ({})", json_path(path), conds.join(" && "))
}

const SCALAR: &str = r#"@.type() == "string" || @.type() == "number" || @.type() == "boolean""#;

fn range<T: Clone>(
    sql: &mut Sql,
    expr: &str,
    lo: &Option<RangeBound<T>>,
    hi: &Option<RangeBound<T>>,
    to_param: impl Fn(T) -> Param,
    cast: &str,
) {
    let mut parts = 0;
    sql.push("(");
    for (b, incl, excl) in [(lo, " >= ", " > "), (hi, " <= ", " < ")] {
        if let Some(b) = b {
            if parts > 0 {
                sql.push(" AND ");
            }
            parts += 1;
            sql.push(expr).push(if b.inclusive { incl } else { excl }).param(to_param(b.value.clone())).push(cast);
        }
    }
    if parts == 0 {
        sql.push(expr).push(" IS NOT NULL");
    }
    sql.push(")");
}

/// A microsecond instant as a timestamptz parameter; out of PostgreSQL's
/// range, the infinity (SQL text made here) that compares the same way.
fn instant(us: i64) -> Result<chrono::DateTime<chrono::Utc>, &'static str> {
    const MIN: i64 = -62_135_596_800_000_000; // 0001-01-01
    const MAX: i64 = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999
    match Timestamp::from_micros(us) {
        Some(t) if (MIN..=MAX).contains(&us) => Ok(t.as_datetime()),
        _ if us > 0 => Err("'infinity'::timestamptz"),
        _ => Err("'-infinity'::timestamptz"),
    }
}

impl PgDialect {
    /// The `e.<col>` expression as text.
    fn col(col: Col) -> String {
        match col {
            Col::Id => "e.id::text".into(),
            other => format!("e.{}", other.name()),
        }
    }

    /// `EXISTS` over the scalar leaves at `path` (arrays unwrapped), for
    /// the operators that compare leaves as text.
    fn leaves(sql: &mut Sql, path: &str, cond: impl FnOnce(&mut Sql)) {
        sql.push("EXISTS (SELECT 1 FROM jsonb_path_query(e.metadata, ")
            .text_param(format!("{}[*]", json_path(path)))
            .push("::jsonpath) v WHERE jsonb_typeof(v) IN ('string', 'number', 'boolean') AND ");
        cond(sql);
        sql.push(")");
    }
}

impl Dialect for PgDialect {
    fn keyword(&self, sql: &mut Sql, col: Col, op: &KeywordOp) {
        let c = Self::col(col);
        match op {
            KeywordOp::Eq(v) if col == Col::Id => {
                // Ids are stored as uuid; only the canonical spelling matches,
                // as in SQLite, and anything else matches nothing.
                match uuid::Uuid::parse_str(v) {
                    Ok(u) if u.hyphenated().to_string() == *v => {
                        sql.push("e.id = ").text_param(v.clone()).push("::uuid");
                    }
                    _ => {
                        sql.push("1=0");
                    }
                }
            }
            other => sql::keyword(sql, &c, other, (" LIKE ", like), |sql, lo, hi| {
                range(sql, &format!("{c} COLLATE \"C\""), lo, hi, Param::Text, "")
            }),
        }
    }

    fn created(&self, sql: &mut Sql, from: Option<i64>, to: Option<i64>) {
        // Bounds are timestamptz parameters, not text cast in SQL: the
        // planner then prunes month partitions instead of planning them all.
        sql.push("(");
        let mut parts = 0;
        for (bound, op) in [(from, " >= "), (to, " < ")] {
            let Some(us) = bound else { continue };
            if parts > 0 {
                sql.push(" AND ");
            }
            parts += 1;
            sql.push("e.created").push(op);
            match instant(us) {
                Ok(t) => sql.param(Param::Time(t)),
                Err(infinity) => sql.push(infinity),
            };
        }
        if parts == 0 {
            sql.push("e.created IS NOT NULL");
        }
        sql.push(")");
    }

    fn text(&self, sql: &mut Sql, scope: TextScope, query: &TextQuery) {
        match tsquery(scope, query) {
            Some(q) => {
                sql.push("e.fts @@ ").text_param(q).push("::tsquery");
            }
            None => {
                sql.push("1=0");
            }
        }
    }

    fn meta(&self, sql: &mut Sql, path: &str, op: &MetaOp) {
        // `@?` with a filter is true or false, never NULL (so NOT works), and
        // the GIN jsonb_path_ops index serves its equalities.
        match op {
            MetaOp::Eq(v) => {
                sql.push("e.metadata @? ").text_param(meta_eq_path(path, v)).push("::jsonpath");
            }
            MetaOp::NumRange { lo, hi } => {
                sql.push("e.metadata @? ").text_param(num_range_path(path, lo, hi)).push("::jsonpath");
            }
            MetaOp::Exists => {
                sql.push("e.metadata @? ")
                    .text_param(format!("{}.** ? ({SCALAR})", json_path(path)))
                    .push("::jsonpath");
            }
            MetaOp::Like(p) => Self::leaves(sql, path, |sql| {
                sql.push("(v #>> '{}') LIKE ").text_param(like(p));
            }),
            MetaOp::StrRange { lo, hi } => Self::leaves(sql, path, |sql| {
                range(sql, "(v #>> '{}') COLLATE \"C\"", lo, hi, Param::Text, "");
            }),
        }
    }
}

impl SearchDialect for PgDialect {
    fn sql(&self) -> Sql {
        Sql::dollar()
    }

    fn rank_query(&self, scoring: &[(TextScope, TextQuery)]) -> Option<String> {
        tsquery_any(scoring)
    }

    fn rank_order(&self, q: &mut Sql, rank: String) {
        q.push(" ORDER BY ts_rank(e.fts, ").text_param(rank).push("::tsquery) DESC, e.created DESC, e.seq DESC");
    }

    /// The counters are delta rows ([`super::counts`]): summed per key. With
    /// no condition at all, the statement of [`super::counts`]' own reads.
    fn counter_cells(&self, q: &mut Sql, base: &Cond) {
        if *base == Cond::True {
            q.push(super::counts::CELLS);
        } else {
            q.push("SELECT e.resource_type, e.action, sum(e.n)::bigint FROM audit_counts e WHERE ");
            sql::render(base, q, self);
            q.push(" GROUP BY 1, 2 HAVING sum(e.n) > 0");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(tokens: &[&str], prefix: bool) -> TextQuery {
        TextQuery { tokens: tokens.iter().map(|s| s.to_string()).collect(), prefix }
    }

    #[test]
    fn tsqueries() {
        assert_eq!(tsquery(TextScope::All, &q(&["abcd", "1234"], false)).unwrap(), "('abcd' <-> '1234')");
        assert_eq!(tsquery(TextScope::Email, &q(&["jane", "d"], true)).unwrap(), "('jane':B <-> 'd':*B)");
        assert_eq!(tsquery(TextScope::Message, &q(&["café"], false)).unwrap(), "('cafe':A)");
        assert_eq!(tsquery(TextScope::All, &q(&["publ"], true)).unwrap(), "('publ':*)");
    }

    #[test]
    fn json_paths_escape_keys_and_values() {
        assert_eq!(json_path("a.b"), r#"$."a"."b""#);
        assert_eq!(json_path(r#"x"y\z"#), r#"$."x\"y\\z""#);
        let v = MetaValue { text: "9.0".into(), number: Some(9.0), boolean: None };
        assert_eq!(meta_eq_path("r", &v), r#"$."r" ? (@ == "9.0" || @ == "9" || @ == 9)"#);
        let v = MetaValue { text: "it's \"x\"".into(), number: None, boolean: None };
        assert_eq!(meta_eq_path("n", &v), r#"$."n" ? (@ == "it's \"x\"")"#);
    }

    #[test]
    fn timestamps_out_of_range_become_infinities() {
        assert_eq!(instant(0).map(|t| t.timestamp_micros()), Ok(0));
        assert_eq!(instant(i64::MAX), Err("'infinity'::timestamptz"));
        assert_eq!(instant(i64::MIN), Err("'-infinity'::timestamptz"));
    }
}
