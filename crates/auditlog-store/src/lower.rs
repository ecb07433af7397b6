//! Lowering: a parsed query (the storage-independent AST of `auditlog-query`)
//! resolved against the event's fields into [`Cond`], a small condition tree
//! every store renders into its own SQL dialect. Field names, value types
//! (dates, numbers, strings), date rounding and email prefix rules are decided
//! here once, so a new store adds a renderer, not a second compiler.

use auditlog_core::Timestamp;
use auditlog_query::ast::{Bound, Match, MatchKind, Node, Pattern, PatternPart, Query, Span};
use chrono::{Datelike, Duration, Months, TimeZone, Timelike, Utc};

use crate::error::{QueryError, QueryErrorKind};

/// A keyword column of the events table (exact, case-sensitive values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Id,
    Action,
    ResourceType,
    ResourceId,
    UserId,
    Username,
    Email,
    Message,
}

impl Col {
    pub fn name(self) -> &'static str {
        match self {
            Col::Id => "id",
            Col::Action => "action",
            Col::ResourceType => "resource_type",
            Col::ResourceId => "resource_id",
            Col::UserId => "user_id",
            Col::Username => "user_username",
            Col::Email => "user_email",
            Col::Message => "message",
        }
    }
}

/// Which part of the full-text index a text condition searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextScope {
    /// The event message only (`message:` queries).
    Message,
    /// The user's email address, split into its parts.
    Email,
    /// Everything: message, ids, action, user, email, metadata values.
    All,
}

/// A full-text condition: the tokens must appear consecutively (a phrase);
/// with `prefix`, the last token only needs to start with the given text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextQuery {
    pub tokens: Vec<String>,
    pub prefix: bool,
}

/// One side of a range, already normalised by the lowering.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeBound<T> {
    pub value: T,
    pub inclusive: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KeywordOp {
    Eq(String),
    /// Case-sensitive wildcard match.
    Like(Pattern),
    /// Case-insensitive wildcard match (emails, message text).
    ILike(Pattern),
    Range {
        lo: Option<RangeBound<String>>,
        hi: Option<RangeBound<String>>,
    },
    NotNull,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MetaOp {
    /// The leaf at the path (or an element of the array there) equals one of
    /// the given renderings of the value (`9` matches the number 9 and the
    /// string "9").
    Eq(MetaValue),
    Like(Pattern),
    NumRange {
        lo: Option<RangeBound<f64>>,
        hi: Option<RangeBound<f64>>,
    },
    StrRange {
        lo: Option<RangeBound<String>>,
        hi: Option<RangeBound<String>>,
    },
    /// Some leaf exists at the path or below it.
    Exists,
}

/// A query value as it may be stored in metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaValue {
    pub text: String,
    pub number: Option<f64>,
    pub boolean: Option<bool>,
}

/// A condition on events, independent of SQL dialect.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    True,
    False,
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Keyword {
        col: Col,
        op: KeywordOp,
    },
    /// `created` in `[from, to)`, microseconds since the epoch.
    Created {
        from: Option<i64>,
        to: Option<i64>,
    },
    Text {
        scope: TextScope,
        query: TextQuery,
    },
    /// `path` is the dotted path below `metadata` (`related_to.id`).
    Meta {
        path: String,
        op: MetaOp,
    },
}

impl Cond {
    /// Whether any part of the condition (negated or not) is a full-text match.
    pub fn uses_text(&self) -> bool {
        match self {
            Cond::Text { .. } => true,
            Cond::And(cs) | Cond::Or(cs) => cs.iter().any(Cond::uses_text),
            Cond::Not(c) => c.uses_text(),
            Cond::True | Cond::False | Cond::Keyword { .. } | Cond::Created { .. } | Cond::Meta { .. } => false,
        }
    }

    pub fn and(conds: Vec<Cond>) -> Cond {
        let mut out = Vec::new();
        for c in conds {
            match c {
                Cond::True => {}
                Cond::False => return Cond::False,
                Cond::And(inner) => out.extend(inner),
                c => out.push(c),
            }
        }
        match out.len() {
            0 => Cond::True,
            1 => out.pop().unwrap_or(Cond::True),
            _ => Cond::And(out),
        }
    }

    pub fn or(conds: Vec<Cond>) -> Cond {
        let mut out = Vec::new();
        for c in conds {
            match c {
                Cond::False => {}
                Cond::True => return Cond::True,
                Cond::Or(inner) => out.extend(inner),
                c => out.push(c),
            }
        }
        match out.len() {
            0 => Cond::False,
            1 => out.pop().unwrap_or(Cond::False),
            _ => Cond::Or(out),
        }
    }

    #[allow(clippy::should_implement_trait)]
    pub fn not(c: Cond) -> Cond {
        match c {
            Cond::True => Cond::False,
            Cond::False => Cond::True,
            Cond::Not(inner) => *inner,
            c => Cond::Not(Box::new(c)),
        }
    }

    /// Whether the condition only looks at the given keyword columns (then
    /// it can be evaluated over any table holding those columns, such as the
    /// facet counters).
    pub fn only_columns(&self, allowed: &[Col]) -> bool {
        match self {
            Cond::True | Cond::False => true,
            Cond::And(v) | Cond::Or(v) => v.iter().all(|c| c.only_columns(allowed)),
            Cond::Not(c) => c.only_columns(allowed),
            Cond::Keyword { col, .. } => allowed.contains(col),
            Cond::Created { .. } | Cond::Text { .. } | Cond::Meta { .. } => false,
        }
    }

    /// The positive full-text conditions (those not under a negation): what
    /// `bestmatch` ranks by.
    pub fn scoring_texts(&self) -> Vec<(TextScope, TextQuery)> {
        let mut out = Vec::new();
        fn walk(c: &Cond, out: &mut Vec<(TextScope, TextQuery)>) {
            match c {
                Cond::And(v) | Cond::Or(v) => v.iter().for_each(|c| walk(c, out)),
                Cond::Text { scope, query } => out.push((*scope, query.clone())),
                _ => {}
            }
        }
        walk(self, &mut out);
        out
    }
}

/// The fields a query may name, for error messages.
pub const FIELDS: &str =
    "id, action, resource.id, resource.type, user.id, user.username, user.email, message, created, metadata.<path>";

enum Field<'a> {
    Keyword(Col),
    Email,
    Message,
    Created,
    Meta(&'a str),
}

fn resolve_field<'a>(name: &'a str, span: Span) -> Result<Field<'a>, QueryError> {
    Ok(match name {
        "id" => Field::Keyword(Col::Id),
        "action" => Field::Keyword(Col::Action),
        "resource.id" => Field::Keyword(Col::ResourceId),
        "resource.type" => Field::Keyword(Col::ResourceType),
        "user.id" => Field::Keyword(Col::UserId),
        "user.username" => Field::Keyword(Col::Username),
        "user.email" => Field::Email,
        "message" => Field::Message,
        "created" | "@timestamp" => Field::Created,
        _ => match name.strip_prefix("metadata.") {
            Some(path) if !path.is_empty() && path.split('.').all(|s| !s.is_empty()) => Field::Meta(path),
            _ => {
                return Err(QueryError {
                    position: span.start,
                    kind: QueryErrorKind::UnknownField { name: name.to_owned(), fields: FIELDS },
                });
            }
        },
    })
}

/// Lowers a parsed query. `now` anchors date math (`now-7d`).
pub fn lower(query: &Query, now: Timestamp) -> Result<Cond, QueryError> {
    match &query.root {
        None => Ok(Cond::True),
        Some(node) => lower_node(node, now),
    }
}

fn lower_node(node: &Node, now: Timestamp) -> Result<Cond, QueryError> {
    match node {
        Node::MatchAll => Ok(Cond::True),
        Node::Match(m) => lower_match(m, now),
        Node::Bool { must, should, must_not } => {
            let mut all = Vec::new();
            for n in must {
                all.push(lower_node(n, now)?);
            }
            for n in must_not {
                all.push(Cond::not(lower_node(n, now)?));
            }
            // As in OpenSearch, should-clauses only filter when there is no
            // must-clause.
            if must.is_empty() && !should.is_empty() {
                let mut any = Vec::new();
                for n in should {
                    any.push(lower_node(n, now)?);
                }
                all.push(Cond::or(any));
            } else {
                // Still validate them: a bad field is an error either way.
                for n in should {
                    lower_node(n, now)?;
                }
            }
            Ok(Cond::and(all))
        }
    }
}

fn lower_match(m: &Match, now: Timestamp) -> Result<Cond, QueryError> {
    let Some(name) = &m.field else {
        return lower_free(m);
    };
    let field = resolve_field(name, m.field_span.unwrap_or(m.span))?;
    let err = |msg: String| QueryError::new(m.span.start, msg);
    Ok(match (field, &m.kind) {
        (_, MatchKind::Exists) => exists(resolve_field(name, m.span)?),
        (f, MatchKind::Wildcard(p)) if is_match_any(p) => exists(f),

        (Field::Keyword(col), MatchKind::Term(v) | MatchKind::Phrase(v)) => {
            Cond::Keyword { col, op: KeywordOp::Eq(v.clone()) }
        }
        (Field::Keyword(col), MatchKind::Wildcard(p)) => Cond::Keyword { col, op: KeywordOp::Like(p.clone()) },
        (Field::Keyword(col), MatchKind::Range { lower, upper }) => {
            Cond::Keyword { col, op: KeywordOp::Range { lo: str_bound(lower), hi: str_bound(upper) } }
        }

        (Field::Email, MatchKind::Term(v) | MatchKind::Phrase(v)) => {
            let tokens = tokenize(v);
            if tokens.is_empty() {
                Cond::False
            } else {
                Cond::Text { scope: TextScope::Email, query: TextQuery { tokens, prefix: true } }
            }
        }
        (Field::Email, MatchKind::Wildcard(p)) => Cond::Keyword { col: Col::Email, op: KeywordOp::ILike(lowercase(p)) },
        (Field::Email, MatchKind::Range { lower, upper }) => {
            Cond::Keyword { col: Col::Email, op: KeywordOp::Range { lo: str_bound(lower), hi: str_bound(upper) } }
        }

        (Field::Message, MatchKind::Term(v) | MatchKind::Phrase(v)) => text(TextScope::Message, v, false),
        (Field::Message, MatchKind::Wildcard(p)) => text_wildcard(TextScope::Message, Col::Message, p),
        (Field::Message, MatchKind::Range { lower, upper }) => {
            Cond::Keyword { col: Col::Message, op: KeywordOp::Range { lo: str_bound(lower), hi: str_bound(upper) } }
        }

        (Field::Created, MatchKind::Term(v) | MatchKind::Phrase(v)) => {
            let d = parse_date(v, now).map_err(|e| err(e.message(v)))?;
            Cond::Created { from: Some(d.start), to: Some(d.end) }
        }
        (Field::Created, MatchKind::Wildcard(_)) => {
            return Err(err("wildcards are not supported on the date field \"created\"; use a range like created:[2026-01-01 TO 2026-01-31]".into()));
        }
        (Field::Created, MatchKind::Range { lower, upper }) => {
            let date = |v: &str| parse_date(v, now).map_err(|e| err(e.message(v)));
            let from = match lower {
                Bound::Unbounded => None,
                Bound::Inclusive(v) => Some(date(v)?.start),
                Bound::Exclusive(v) => Some(date(v)?.end),
            };
            let to = match upper {
                Bound::Unbounded => None,
                Bound::Inclusive(v) => Some(date(v)?.end),
                Bound::Exclusive(v) => Some(date(v)?.start),
            };
            Cond::Created { from, to }
        }

        (Field::Meta(path), MatchKind::Term(v) | MatchKind::Phrase(v)) => {
            Cond::Meta { path: path.into(), op: MetaOp::Eq(meta_value(v)) }
        }
        (Field::Meta(path), MatchKind::Wildcard(p)) => Cond::Meta { path: path.into(), op: MetaOp::Like(p.clone()) },
        (Field::Meta(path), MatchKind::Range { lower, upper }) => {
            let num = |b: &Bound| match b {
                Bound::Unbounded => Some(None),
                Bound::Inclusive(v) | Bound::Exclusive(v) => v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .map(|n| Some(RangeBound { value: n, inclusive: matches!(b, Bound::Inclusive(_)) })),
            };
            match (num(lower), num(upper)) {
                (Some(lo), Some(hi)) if lo.is_some() || hi.is_some() => {
                    Cond::Meta { path: path.into(), op: MetaOp::NumRange { lo, hi } }
                }
                _ => Cond::Meta {
                    path: path.into(),
                    op: MetaOp::StrRange { lo: str_bound(lower), hi: str_bound(upper) },
                },
            }
        }
    })
}

/// A bare term or phrase: every field (the reference's `fields=["*"]`).
fn lower_free(m: &Match) -> Result<Cond, QueryError> {
    match &m.kind {
        MatchKind::Term(v) | MatchKind::Phrase(v) => Ok(text(TextScope::All, v, false)),
        MatchKind::Wildcard(p) if is_match_any(p) => Ok(Cond::True),
        MatchKind::Wildcard(p) => Ok(match trailing_prefix(p) {
            Some(prefix) => text(TextScope::All, &prefix, true),
            None => Cond::or(
                [Col::Id, Col::Action, Col::ResourceType, Col::ResourceId, Col::UserId, Col::Username]
                    .into_iter()
                    .map(|col| Cond::Keyword { col, op: KeywordOp::Like(p.clone()) })
                    .chain(
                        [Col::Email, Col::Message].map(|col| Cond::Keyword { col, op: KeywordOp::ILike(lowercase(p)) }),
                    )
                    .collect(),
            ),
        }),
        MatchKind::Range { .. } => {
            Err(QueryError::new(m.span.start, "a range needs a field, e.g. created:[2026-01-01 TO 2026-02-01]"))
        }
        MatchKind::Exists => Err(QueryError::new(m.span.start, "_exists_ needs a field")),
    }
}

fn exists(field: Field<'_>) -> Cond {
    match field {
        Field::Keyword(Col::Username) => Cond::Keyword { col: Col::Username, op: KeywordOp::NotNull },
        Field::Keyword(_) | Field::Email | Field::Message | Field::Created => Cond::True,
        Field::Meta(path) => Cond::Meta { path: path.into(), op: MetaOp::Exists },
    }
}

fn text(scope: TextScope, v: &str, prefix: bool) -> Cond {
    let tokens = tokenize(v);
    if tokens.is_empty() {
        // Nothing indexable (e.g. only punctuation): nothing can match.
        Cond::False
    } else {
        Cond::Text { scope, query: TextQuery { tokens, prefix } }
    }
}

fn text_wildcard(scope: TextScope, col: Col, p: &Pattern) -> Cond {
    match trailing_prefix(p) {
        Some(prefix) => text(scope, &prefix, true),
        None => Cond::Keyword { col, op: KeywordOp::ILike(lowercase(p)) },
    }
}

/// `abc*` -> `abc`: a pattern that is a literal followed by one `*`.
fn trailing_prefix(p: &Pattern) -> Option<String> {
    match p.0.as_slice() {
        [PatternPart::Literal(s), PatternPart::AnyChars] => Some(s.clone()),
        _ => None,
    }
}

fn is_match_any(p: &Pattern) -> bool {
    !p.0.is_empty() && p.0.iter().all(|part| *part == PatternPart::AnyChars)
}

fn lowercase(p: &Pattern) -> Pattern {
    Pattern(
        p.0.iter()
            .map(|part| match part {
                PatternPart::Literal(s) => PatternPart::Literal(s.to_lowercase()),
                other => other.clone(),
            })
            .collect(),
    )
}

fn str_bound(b: &Bound) -> Option<RangeBound<String>> {
    match b {
        Bound::Unbounded => None,
        Bound::Inclusive(v) => Some(RangeBound { value: v.clone(), inclusive: true }),
        Bound::Exclusive(v) => Some(RangeBound { value: v.clone(), inclusive: false }),
    }
}

fn meta_value(v: &str) -> MetaValue {
    MetaValue {
        text: v.to_owned(),
        number: v.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        boolean: match v {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
    }
}

/// Splits text into the tokens the full-text index holds: runs of letters
/// and digits, lower-cased.
pub fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_lowercase).collect()
}

/// Why a value is not a usable date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateError {
    /// Not a date, a date-time or date math.
    NotADate,
    /// Date math (`now-999999999d`) or a date past the years 1 to 9999.
    OutOfRange,
}

impl DateError {
    /// The explanation for `value`.
    pub fn message(self, value: &str) -> String {
        let shown: String = value.chars().take(64).collect();
        match self {
            DateError::NotADate => {
                format!("\"{shown}\" is not a date; use 2026-01-31, 2026-01-31T12:00:00, RFC 3339, or now-7d")
            }
            DateError::OutOfRange => {
                format!("\"{shown}\" is out of range: dates must fall in the years {MIN_YEAR} to {MAX_YEAR}")
            }
        }
    }
}

/// The years a date value may fall in: what both stores (and the event's
/// RFC 3339 timestamps) represent.
const MIN_YEAR: i32 = 1;
const MAX_YEAR: i32 = 9999;

/// A date value and the span of time it stands for: `2026-01-01` is the
/// whole day, `2026-01-01T12:00:00` that second, a value with a fraction that
/// microsecond. Ranges round like OpenSearch: `gt`/`lte` take the end of the
/// span, `gte`/`lt` its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateSpan {
    pub start: i64,
    pub end: i64,
}

pub fn parse_date(v: &str, now: Timestamp) -> Result<DateSpan, DateError> {
    let span = parse_date_span(v, now)?;
    let in_range =
        |us: i64| Timestamp::from_micros(us).is_some_and(|t| (MIN_YEAR..=MAX_YEAR).contains(&t.as_datetime().year()));
    // The end is exclusive: the span of 9999-12-31 ends at 10000-01-01.
    if in_range(span.start) && in_range(span.end - 1) { Ok(span) } else { Err(DateError::OutOfRange) }
}

fn parse_date_span(v: &str, now: Timestamp) -> Result<DateSpan, DateError> {
    let v = v.trim();
    if let Some(math) = v.strip_prefix("now") {
        return date_math(now, math);
    }
    let t = Timestamp::parse_lenient(v).ok_or(DateError::NotADate)?.as_micros();
    let unit = if !v.contains(['T', ' ']) {
        86_400_000_000
    } else if v.contains('.') {
        1
    } else if v.matches(':').count() >= 2 || v.ends_with('Z') || v.contains('+') {
        1_000_000
    } else {
        60_000_000
    };
    Ok(DateSpan { start: t, end: t.saturating_add(unit) })
}

/// `now`, `now-7d`, `now+1h`, `now-1M/d` (subtract a month, round to the day).
fn date_math(now: Timestamp, rest: &str) -> Result<DateSpan, DateError> {
    // Every arithmetic step is checked: a syntax error is not a date, an
    // overflow (`now-999999999d`) is out of range.
    let syntax = |s: &str| s.is_empty() || date_math_syntax(s);
    if !syntax(rest) {
        return Err(DateError::NotADate);
    }
    date_math_checked(now, rest).ok_or(DateError::OutOfRange)
}

/// Whether `rest` is a sequence of `+N<unit>`, `-N<unit>` and `/<unit>`.
fn date_math_syntax(mut rest: &str) -> bool {
    while let Some(op) = rest.chars().next() {
        rest = &rest[op.len_utf8()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let (number, tail) = rest.split_at(digits);
        let Some(unit) = tail.chars().next() else { return false };
        let known = matches!(unit, 'y' | 'M' | 'w' | 'd' | 'h' | 'H' | 'm' | 's');
        let ok = match op {
            // A number too large for i64 is an overflow, found later.
            '+' | '-' => known,
            '/' => known && number.is_empty(),
            _ => false,
        };
        if !ok {
            return false;
        }
        rest = &tail[unit.len_utf8()..];
    }
    true
}

fn date_math_checked(now: Timestamp, mut rest: &str) -> Option<DateSpan> {
    let mut t = now.as_datetime();
    let mut round = None;
    while !rest.is_empty() {
        let op = rest.chars().next()?;
        rest = &rest[1..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let n: i64 = if digits == 0 { 1 } else { rest[..digits].parse().ok()? };
        rest = &rest[digits..];
        let unit = rest.chars().next()?;
        rest = &rest[unit.len_utf8()..];
        match op {
            '+' | '-' => {
                let n = if op == '-' { -n } else { n };
                t = match unit {
                    'y' => add_months(t, n.checked_mul(12)?)?,
                    'M' => add_months(t, n)?,
                    'w' => t.checked_add_signed(Duration::try_weeks(n)?)?,
                    'd' => t.checked_add_signed(Duration::try_days(n)?)?,
                    'h' | 'H' => t.checked_add_signed(Duration::try_hours(n)?)?,
                    'm' => t.checked_add_signed(Duration::try_minutes(n)?)?,
                    's' => t.checked_add_signed(Duration::try_seconds(n)?)?,
                    _ => return None,
                };
            }
            '/' if digits == 0 => round = Some(unit),
            _ => return None,
        }
    }
    let start = match round {
        None => return Some(DateSpan { start: t.timestamp_micros(), end: t.timestamp_micros() + 1 }),
        Some('y') => Utc.with_ymd_and_hms(t.year(), 1, 1, 0, 0, 0).single()?,
        Some('M') => Utc.with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0).single()?,
        Some('w') => {
            let d = t.date_naive().checked_sub_signed(Duration::days(t.weekday().num_days_from_monday() as i64))?;
            Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?)
        }
        Some('d') => Utc.from_utc_datetime(&t.date_naive().and_hms_opt(0, 0, 0)?),
        Some('h' | 'H') => Utc.from_utc_datetime(&t.date_naive().and_hms_opt(t.hour(), 0, 0)?),
        Some('m') => Utc.from_utc_datetime(&t.date_naive().and_hms_opt(t.hour(), t.minute(), 0)?),
        Some('s') => Utc.from_utc_datetime(&t.date_naive().and_hms_opt(t.hour(), t.minute(), t.second())?),
        Some(_) => return None,
    };
    let end = match round {
        Some('y') => add_months(start, 12)?,
        Some('M') => add_months(start, 1)?,
        Some('w') => start.checked_add_signed(Duration::weeks(1))?,
        Some('d') => start.checked_add_signed(Duration::days(1))?,
        Some('h' | 'H') => start.checked_add_signed(Duration::hours(1))?,
        Some('m') => start.checked_add_signed(Duration::minutes(1))?,
        _ => start.checked_add_signed(Duration::seconds(1))?,
    };
    Some(DateSpan { start: start.timestamp_micros(), end: end.timestamp_micros() })
}

fn add_months(t: chrono::DateTime<Utc>, n: i64) -> Option<chrono::DateTime<Utc>> {
    let m = Months::new(u32::try_from(n.unsigned_abs()).ok()?);
    if n >= 0 { t.checked_add_months(m) } else { t.checked_sub_months(m) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-26T14:30:00Z".parse().unwrap()
    }

    fn span(v: &str) -> String {
        match parse_date(v, now()) {
            Ok(d) => {
                format!("{} .. {}", Timestamp::from_micros(d.start).unwrap(), Timestamp::from_micros(d.end).unwrap())
            }
            Err(DateError::NotADate) => "invalid".into(),
            Err(DateError::OutOfRange) => "out of range".into(),
        }
    }

    #[test]
    fn date_spans() {
        let cases = [
            ("2026-01-01", "2026-01-01T00:00:00.000000+00:00 .. 2026-01-02T00:00:00.000000+00:00"),
            ("2026-01-01T12:00:00", "2026-01-01T12:00:00.000000+00:00 .. 2026-01-01T12:00:01.000000+00:00"),
            ("2026-01-01T12:00", "2026-01-01T12:00:00.000000+00:00 .. 2026-01-01T12:01:00.000000+00:00"),
            ("2026-01-01T12:00:00.5", "2026-01-01T12:00:00.500000+00:00 .. 2026-01-01T12:00:00.500001+00:00"),
            ("2026-01-01T12:00:00+00:00", "2026-01-01T12:00:00.000000+00:00 .. 2026-01-01T12:00:01.000000+00:00"),
            ("now", "2026-11-26T14:30:00.000000+00:00 .. 2026-11-26T14:30:00.000001+00:00"),
            ("now-7d/d", "2026-11-19T00:00:00.000000+00:00 .. 2026-11-20T00:00:00.000000+00:00"),
            ("now-1M/M", "2026-10-01T00:00:00.000000+00:00 .. 2026-11-01T00:00:00.000000+00:00"),
            ("now/y", "2026-01-01T00:00:00.000000+00:00 .. 2027-01-01T00:00:00.000000+00:00"),
            ("now+1h", "2026-11-26T15:30:00.000000+00:00 .. 2026-11-26T15:30:00.000001+00:00"),
            ("now-x", "invalid"),
            ("soon", "invalid"),
            ("2026-02-30", "invalid"),
            ("nowé", "invalid"),
            ("now-7", "invalid"),
            ("now/7d", "invalid"),
            ("now-1d/", "invalid"),
            // Regression: date math overflow panicked (a 500).
            ("now-999999999d", "out of range"),
            ("now+999999999999999999999d", "out of range"),
            ("now-9223372036854775807y", "out of range"),
            ("now-9000000w", "out of range"),
            ("now+8000y/y", "out of range"),
            ("now-2026y", "out of range"),
            ("now+7973y", "9999-11-26T14:30:00.000000+00:00 .. 9999-11-26T14:30:00.000001+00:00"),
            ("9999-12-31", "9999-12-31T00:00:00.000000+00:00 .. +10000-01-01T00:00:00.000000+00:00"),
        ];
        for (input, want) in cases {
            assert_eq!(span(input), want, "{input}");
        }
    }

    #[test]
    fn tokens() {
        assert_eq!(tokenize("abcd-1234"), ["abcd", "1234"]);
        assert_eq!(tokenize("Current@InvenioSoftware.org"), ["current", "inveniosoftware", "org"]);
        assert!(tokenize("@@ --").is_empty());
    }
}
