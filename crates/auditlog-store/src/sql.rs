//! Building parameterised SQL from a [`Cond`]: the shared walker and the
//! [`Dialect`] each store implements for the leaves. Values from a query
//! string only ever become parameters, never SQL text.

use auditlog_query::ast::{Pattern, PatternPart};

use crate::lower::{Col, Cond, KeywordOp, MetaOp, RangeBound, TextQuery, TextScope};

/// A parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(String),
    Int(i64),
    Real(f64),
    /// An instant. PostgreSQL binds it as `timestamptz`, so that the planner
    /// sees a value it can prune month partitions with (a text parameter
    /// cast in SQL is only converted when the query runs).
    Time(chrono::DateTime<chrono::Utc>),
}

/// SQL text with its parameters, placeholders numbered by the dialect.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Param>,
    dollar: bool,
}

impl Sql {
    /// `?1, ?2 ...` placeholders (SQLite).
    pub fn question() -> Self {
        Sql { dollar: false, ..Default::default() }
    }

    /// `$1, $2 ...` placeholders (PostgreSQL).
    pub fn dollar() -> Self {
        Sql { dollar: true, ..Default::default() }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder bound to `p`.
    pub fn param(&mut self, p: Param) -> &mut Self {
        self.params.push(p);
        let n = self.params.len();
        self.text.push(if self.dollar { '$' } else { '?' });
        self.text.push_str(&n.to_string());
        self
    }

    pub fn text_param(&mut self, s: impl Into<String>) -> &mut Self {
        self.param(Param::Text(s.into()))
    }
}

/// How one store spells the leaves of a condition. The events table is
/// aliased `e`.
pub trait Dialect {
    fn keyword(&self, sql: &mut Sql, col: Col, op: &KeywordOp);
    fn created(&self, sql: &mut Sql, from: Option<i64>, to: Option<i64>);
    fn text(&self, sql: &mut Sql, scope: TextScope, query: &TextQuery);
    fn meta(&self, sql: &mut Sql, path: &str, op: &MetaOp);
}

/// Renders `cond` as a boolean SQL expression.
pub fn render(cond: &Cond, sql: &mut Sql, d: &dyn Dialect) {
    match cond {
        Cond::True => {
            sql.push("1=1");
        }
        Cond::False => {
            sql.push("1=0");
        }
        Cond::And(v) | Cond::Or(v) => {
            let sep = if matches!(cond, Cond::And(_)) { " AND " } else { " OR " };
            sql.push("(");
            render_list(v, sep, sql, d);
            sql.push(")");
        }
        Cond::Not(c) => {
            sql.push("NOT (");
            render(c, sql, d);
            sql.push(")");
        }
        Cond::Keyword { col, op } => d.keyword(sql, *col, op),
        Cond::Created { from, to } => d.created(sql, *from, *to),
        Cond::Text { scope, query } => d.text(sql, *scope, query),
        Cond::Meta { path, op } => d.meta(sql, path, op),
    }
}

/// The keyword operators every dialect spells alike, on the column
/// expression `c`: equality, `NOT NULL`, and the dialect's pattern operator
/// (`like.0`, e.g. `" GLOB "`) with the pattern in its syntax (`like.1`),
/// case-sensitive or on `lower(c)`; ranges are the dialect's own.
pub fn keyword(
    sql: &mut Sql,
    c: &str,
    op: &KeywordOp,
    like: (&str, fn(&Pattern) -> String),
    range: impl FnOnce(&mut Sql, &Option<RangeBound<String>>, &Option<RangeBound<String>>),
) {
    match op {
        KeywordOp::Eq(v) => {
            sql.push(c).push(" = ").text_param(v.clone());
        }
        KeywordOp::Like(p) => {
            sql.push(c).push(like.0).text_param((like.1)(p));
        }
        KeywordOp::ILike(p) => {
            sql.push("lower(").push(c).push(")").push(like.0).text_param((like.1)(p));
        }
        KeywordOp::Range { lo, hi } => range(sql, lo, hi),
        KeywordOp::NotNull => {
            sql.push(c).push(" IS NOT NULL");
        }
    }
}

/// A wildcard pattern in a backend's pattern syntax: `many` stands for `*`,
/// `one` for `?`, and `literal` writes each literal character (escaping
/// what the syntax would read as a wildcard).
pub fn wildcard(p: &Pattern, many: char, one: char, literal: impl Fn(char, &mut String)) -> String {
    let mut out = String::new();
    for part in &p.0 {
        match part {
            PatternPart::AnyChars => out.push(many),
            PatternPart::AnyChar => out.push(one),
            PatternPart::Literal(s) => s.chars().for_each(|c| literal(c, &mut out)),
        }
    }
    out
}

/// `v` joined by `sep`, nested as a balanced tree: `a OR b OR c ...` is
/// parsed as a chain as deep as the list is long, and SQLite refuses
/// expressions deeper than 1,000; halves in parentheses nest log2(n) deep.
fn render_list(v: &[Cond], sep: &str, sql: &mut Sql, d: &dyn Dialect) {
    const FLAT: usize = 8;
    if v.len() <= FLAT {
        for (i, c) in v.iter().enumerate() {
            if i > 0 {
                sql.push(sep);
            }
            render(c, sql, d);
        }
        return;
    }
    let (left, right) = v.split_at(v.len() / 2);
    sql.push("(");
    render_list(left, sep, sql, d);
    sql.push(")").push(sep).push("(");
    render_list(right, sep, sql, d);
    sql.push(")");
}

/// A metadata value flattened to one leaf: the dotted path and the value as
/// text (and as a number when it is one). Arrays contribute each element
/// under the array's path; nulls contribute nothing. This is the reference's
/// `flat_object` view of metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaLeaf {
    pub path: String,
    pub value: String,
    pub num: Option<f64>,
}

pub fn flatten_metadata(metadata: &serde_json::Map<String, serde_json::Value>) -> Vec<MetaLeaf> {
    fn walk(path: &str, v: &serde_json::Value, out: &mut Vec<MetaLeaf>) {
        use serde_json::Value;
        match v {
            Value::Null => {}
            Value::Bool(b) => out.push(MetaLeaf { path: path.into(), value: b.to_string(), num: None }),
            Value::Number(n) => out.push(MetaLeaf { path: path.into(), value: n.to_string(), num: n.as_f64() }),
            Value::String(s) => out.push(MetaLeaf { path: path.into(), value: s.clone(), num: None }),
            Value::Array(a) => a.iter().for_each(|v| walk(path, v, out)),
            Value::Object(m) => {
                for (k, v) in m {
                    walk(&format!("{path}.{k}"), v, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (k, v) in metadata {
        walk(k, v, &mut out);
    }
    out
}

/// The texts a metadata equality may be stored as: `9` and `9.0` both match
/// the number 9.
pub fn meta_eq_texts(v: &crate::lower::MetaValue) -> Vec<String> {
    let mut out = vec![v.text.clone()];
    if let Some(n) = v.number {
        let canon = if n.fract() == 0.0 && n.abs() < 9.0e15 { format!("{}", n as i64) } else { n.to_string() };
        if !out.contains(&canon) {
            out.push(canon);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Leaves;

    impl Dialect for Leaves {
        fn keyword(&self, sql: &mut Sql, col: Col, _: &KeywordOp) {
            sql.push(col.name());
        }
        fn created(&self, sql: &mut Sql, _: Option<i64>, _: Option<i64>) {
            sql.push("created");
        }
        fn text(&self, sql: &mut Sql, _: TextScope, _: &TextQuery) {
            sql.push("text");
        }
        fn meta(&self, sql: &mut Sql, _: &str, _: &MetaOp) {
            sql.push("meta");
        }
    }

    fn deepest(text: &str) -> usize {
        let mut depth = 0usize;
        let mut max = 0;
        for c in text.chars() {
            match c {
                '(' => {
                    depth += 1;
                    max = max.max(depth);
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        max
    }

    /// Regression: a query of ~1,000 OR-ed terms became a chain SQLite
    /// refused ("Expression tree is too large").
    #[test]
    fn long_lists_nest_logarithmically() {
        let leaf = Cond::Keyword { col: Col::Action, op: KeywordOp::Eq("x".into()) };
        let few = Cond::Or(vec![leaf.clone(); 3]);
        let mut sql = Sql::question();
        render(&few, &mut sql, &Leaves);
        assert_eq!(sql.text, "(action OR action OR action)");
        for n in [9, 1024, 8192] {
            let mut sql = Sql::question();
            render(&Cond::Or(vec![leaf.clone(); n]), &mut sql, &Leaves);
            assert_eq!(sql.text.matches("action").count(), n);
            assert_eq!(sql.text.matches(" OR ").count(), n - 1);
            assert!(deepest(&sql.text) <= 2 + n.ilog2() as usize, "{n}: depth {}", deepest(&sql.text));
        }
    }

    #[test]
    fn patterns_escape_literals_in_each_syntax() {
        let p = |literal: &str| {
            Pattern(vec![PatternPart::AnyChars, PatternPart::Literal(literal.into()), PatternPart::AnyChar])
        };
        type Syntax = fn(&Pattern) -> String;
        let cases: [(Syntax, &str, &str); 2] =
            [(crate::sqlite::glob, "@a[*]?", "*@a[[][*]][?]?"), (crate::postgres::like, "a%b_c\\", "%a\\%b\\_c\\\\_")];
        for (syntax, literal, want) in cases {
            assert_eq!(syntax(&p(literal)), want, "{literal}");
        }
    }

    #[test]
    fn flatten_is_flat_object() {
        let m = json!({"a": {"b": "x", "c": [1, 2.5]}, "n": null, "t": true});
        let leaves: Vec<String> = flatten_metadata(m.as_object().unwrap())
            .into_iter()
            .map(|l| format!("{}={}{}", l.path, l.value, if l.num.is_some() { "#" } else { "" }))
            .collect();
        assert_eq!(leaves, ["a.b=x", "a.c=1#", "a.c=2.5#", "t=true"]);
    }
}
