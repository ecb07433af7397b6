//! The query AST: what a query string means, independent of any storage.
//!
//! The tree follows OpenSearch's boolean model: a [`Node::Bool`] has `must`,
//! `should` and `must_not` clauses. A document matches a `Bool` when it matches
//! every `must` clause, none of the `must_not` clauses, and — only when `must`
//! is empty — at least one `should` clause. (When `must` is non-empty the
//! `should` clauses only affect relevance, as in OpenSearch.) A `Bool` with only
//! `must_not` clauses matches every document that matches none of them.

use std::fmt;

/// A byte range in the original query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
}

/// A parsed query. `root == None` means the empty query (match everything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub root: Option<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// `*` or `*:*`.
    MatchAll,
    Bool {
        must: Vec<Node>,
        should: Vec<Node>,
        must_not: Vec<Node>,
    },
    Match(Match),
}

/// One leaf clause: an optional field and what its value must be.
///
/// Equality ignores `span` (and `field_span`), so ASTs of differently spaced
/// queries compare equal.
#[derive(Debug, Clone)]
pub struct Match {
    /// Dotted field path as written (`resource.id`, `metadata.related_to.id`);
    /// `None` for a bare term that searches every field.
    pub field: Option<String>,
    /// Position of the field name, when there is one.
    pub field_span: Option<Span>,
    pub kind: MatchKind,
    /// Position of the whole clause (field, colon and value).
    pub span: Span,
}

impl PartialEq for Match {
    fn eq(&self, other: &Self) -> bool {
        self.field == other.field && self.kind == other.kind
    }
}
impl Eq for Match {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchKind {
    /// A single unquoted term, escapes resolved (`abcd-1234`, `draft.create`).
    Term(String),
    /// A `"quoted phrase"`, escapes resolved, quotes removed.
    Phrase(String),
    /// A term containing unescaped `*` or `?`.
    Wildcard(Pattern),
    /// `[a TO b]`, `{a TO b}`, mixed brackets, `*` ends, and `>`, `>=`, `<`, `<=`.
    Range { lower: Bound, upper: Bound },
    /// `_exists_:field` (the field is in [`Match::field`]).
    Exists,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Unbounded,
    Inclusive(String),
    Exclusive(String),
}

/// A wildcard pattern: literal text interleaved with `*` (any run of
/// characters, possibly empty) and `?` (exactly one character).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(pub Vec<PatternPart>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternPart {
    Literal(String),
    AnyChars,
    AnyChar,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}
