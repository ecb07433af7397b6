//! Parse errors: what went wrong, the byte offset where it went wrong, and a
//! message that says what was expected and what was found.

use std::fmt;

/// The deepest nesting of groups and prefix operators the parser accepts.
///
/// Real queries nest a handful of levels; the limit keeps recursion (parsing,
/// printing, dropping) far from the stack limit whatever the input.
pub const MAX_DEPTH: usize = 64;

/// The most clauses (terms, phrases, ranges, `_exists_`) one query may hold,
/// as OpenSearch's classic `max_clause_count`: a query's cost grows with
/// its clauses, and no person types a thousand.
pub const MAX_CLAUSES: usize = 1024;

/// The most wildcard terms one query may hold, not counting prefixes
/// (`draft.*`, one trailing `*`) and `*` alone. A leading or inner wildcard
/// (`*@cern.ch`, `te?t`) cannot use an index: each one reads every value of
/// its field.
pub const MAX_WILDCARD_TERMS: usize = 10;

/// The most `*` and `?` one wildcard term may hold. Matching a pattern
/// against a value backtracks over its `*`s; a handful is all a search needs.
pub const MAX_WILDCARDS_PER_TERM: usize = 8;

/// A query that could not be parsed.
///
/// `position` is a byte offset into the input, always on a `char` boundary:
/// the start of the offending token, the opening `"`, `(` or `[` of something
/// left unclosed, or the input length when the query ended too early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", Message::new(.kind, .position))]
pub struct ParseError {
    pub position: usize,
    pub kind: ParseErrorKind,
}

impl ParseError {
    pub fn new(kind: ParseErrorKind, position: usize) -> Self {
        ParseError { position, kind }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The query ended where something else was required.
    UnexpectedEnd { expected: Expected },
    /// A token appeared where it is not allowed; `found` describes it.
    UnexpectedToken { expected: Expected, found: String },
    /// A `"` with no closing `"`; the position is the opening quote.
    UnclosedPhrase,
    /// A `(` with no matching `)`; the position is the `(`.
    UnclosedGroup,
    /// A `[` or `{` with no closing `]` or `}`; the position is the opening bracket.
    UnclosedRange,
    /// A range whose bounds are not separated by `TO`, as in `[a b]`.
    MissingTo { found: String },
    /// A `:` with no field name before it, as in `:value`.
    EmptyField,
    /// Something before `:` (or after `_exists_:`) that is not a dotted field name.
    InvalidField { name: String },
    /// `_exists_:` not followed by a field name.
    ExistsWithoutField { found: String },
    /// Valid OpenSearch syntax this language deliberately leaves out.
    Unsupported(UnsupportedFeature),
    /// A `\` at the very end of the query, with nothing to escape.
    DanglingEscape,
    /// Groups and prefix operators nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More than [`MAX_CLAUSES`] clauses; the position is the first one too many.
    TooManyClauses,
    /// More than [`MAX_WILDCARD_TERMS`] wildcard terms; the position is the
    /// first one too many.
    TooManyWildcardTerms,
    /// A wildcard term with more than [`MAX_WILDCARDS_PER_TERM`] `*` and `?`.
    TooManyWildcards,
}

impl ParseErrorKind {
    /// A stable machine-readable name for the kind, e.g. `"unclosed_phrase"`
    /// (for API responses and logs, where the message is too long).
    pub fn code(&self) -> &'static str {
        match self {
            ParseErrorKind::UnexpectedEnd { .. } => "unexpected_end",
            ParseErrorKind::UnexpectedToken { .. } => "unexpected_token",
            ParseErrorKind::UnclosedPhrase => "unclosed_phrase",
            ParseErrorKind::UnclosedGroup => "unclosed_group",
            ParseErrorKind::UnclosedRange => "unclosed_range",
            ParseErrorKind::MissingTo { .. } => "missing_to",
            ParseErrorKind::EmptyField => "empty_field",
            ParseErrorKind::InvalidField { .. } => "invalid_field",
            ParseErrorKind::ExistsWithoutField { .. } => "exists_without_field",
            ParseErrorKind::Unsupported(_) => "unsupported",
            ParseErrorKind::DanglingEscape => "dangling_escape",
            ParseErrorKind::TooDeep => "too_deep",
            ParseErrorKind::TooManyClauses => "too_many_clauses",
            ParseErrorKind::TooManyWildcardTerms => "too_many_wildcard_terms",
            ParseErrorKind::TooManyWildcards => "too_many_wildcards",
        }
    }
}

/// What the parser was looking for when it met the end or a wrong token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// A term, phrase, range, `field:value` or group.
    Clause,
    /// A clause after the given operator (`OR`, `&&`, `NOT`, `-`, ...).
    ClauseAfter(String),
    /// A value after the given prefix (`resource.id:`, `created:>=`).
    Value(String),
    /// A bound inside `[..]` or `{..}`.
    RangeBound,
    /// `]` or `}`.
    RangeClose,
    /// `)` closing a group.
    CloseParen,
    /// Anything that may follow a complete clause at the top level.
    EndOfQuery,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Clause => f.write_str("a search term"),
            Expected::ClauseAfter(op) => write!(f, "a search term after \"{op}\""),
            Expected::Value(prefix) => write!(f, "a value after \"{prefix}\""),
            Expected::RangeBound => f.write_str("a range bound"),
            Expected::RangeClose => f.write_str("']' or '}' to close the range"),
            Expected::CloseParen => f.write_str("')'"),
            Expected::EndOfQuery => f.write_str("an operator, a search term or the end of the query"),
        }
    }
}

/// OpenSearch `query_string` features that are rejected rather than
/// silently treated as literal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsupportedFeature {
    /// `term~`, `term~2`, `"phrase"~3`.
    Fuzzy,
    /// `term^2`.
    Boost,
    /// `/regex/`.
    Regex,
}

impl UnsupportedFeature {
    /// The character that introduces the feature.
    pub fn char(self) -> char {
        match self {
            UnsupportedFeature::Fuzzy => '~',
            UnsupportedFeature::Boost => '^',
            UnsupportedFeature::Regex => '/',
        }
    }
}

impl fmt::Display for UnsupportedFeature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnsupportedFeature::Fuzzy => "fuzzy and proximity searches ('~')",
            UnsupportedFeature::Boost => "boosts ('^')",
            UnsupportedFeature::Regex => "regular expressions",
        })
    }
}

/// The user-facing text of a [`ParseError`]; the position sits where it reads best.
struct Message<'a> {
    kind: &'a ParseErrorKind,
    position: usize,
}

impl<'a> Message<'a> {
    // Takes the position by reference because that is how thiserror hands out fields.
    fn new(kind: &'a ParseErrorKind, position: &usize) -> Self {
        Message { kind, position: *position }
    }
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.position;
        match self.kind {
            ParseErrorKind::UnexpectedEnd { expected } => {
                write!(f, "expected {expected} at position {p}, found end of query")
            }
            ParseErrorKind::UnexpectedToken { expected, found } => {
                write!(f, "expected {expected} at position {p}, found {found}")
            }
            ParseErrorKind::UnclosedPhrase => {
                write!(f, "unclosed quote: phrase starting at position {p} has no closing '\"'")
            }
            ParseErrorKind::UnclosedGroup => {
                write!(f, "unclosed group: '(' at position {p} has no matching ')'")
            }
            ParseErrorKind::UnclosedRange => {
                write!(f, "unclosed range: range starting at position {p} has no closing ']' or '}}'")
            }
            ParseErrorKind::MissingTo { found } => {
                write!(f, "expected \"TO\" between the range bounds at position {p}, found {found}")
            }
            ParseErrorKind::EmptyField => write!(f, "expected a field name before ':' at position {p}, found none"),
            ParseErrorKind::InvalidField { name } => {
                write!(f, "invalid field name \"{name}\" at position {p}: expected a dotted name like resource.id")
            }
            ParseErrorKind::ExistsWithoutField { found } => {
                write!(f, "expected a field name after \"_exists_:\" at position {p}, found {found}")
            }
            ParseErrorKind::Unsupported(feature) => {
                let c = feature.char();
                write!(f, "{feature} are not supported (position {p}): write \\{c} for a literal '{c}'")
            }
            ParseErrorKind::DanglingEscape => {
                write!(f, "dangling escape: '\\' at position {p} has no character after it")
            }
            ParseErrorKind::TooDeep => write!(
                f,
                "query nested too deeply at position {p}: at most {MAX_DEPTH} levels of groups and prefix operators are allowed"
            ),
            ParseErrorKind::TooManyClauses => write!(
                f,
                "query has too many clauses at position {p}: at most {MAX_CLAUSES} terms, phrases, ranges and _exists_ clauses are allowed"
            ),
            ParseErrorKind::TooManyWildcardTerms => write!(
                f,
                "query has too many wildcard terms at position {p}: at most {MAX_WILDCARD_TERMS} terms with a leading or inner '*' or '?' are allowed (a prefix like draft.* does not count)"
            ),
            ParseErrorKind::TooManyWildcards => write!(
                f,
                "wildcard term at position {p} has too many wildcards: at most {MAX_WILDCARDS_PER_TERM} '*' and '?' per term are allowed"
            ),
        }
    }
}
