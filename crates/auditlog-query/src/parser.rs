//! Recursive-descent parser from query text to [`Query`].
//!
//! Grammar, loosest binding first:
//!
//! ```text
//! query   := whitespace* | or EOF
//! or      := and ( ("OR" | "||")? and )*          juxtaposition is OR
//! and     := unary ( ("AND" | "&&") unary )*
//! unary   := ("NOT" | "!" | "-" | "+") unary | primary
//! primary := "(" or ")" | FIELD ":" value | "_exists_:" FIELD | "*:" value
//!          | WORD | PHRASE | range
//! value   := "(" or ")" | WORD | PHRASE | range | (">" | ">=" | "<" | "<=") bound
//! range   := ("[" | "{") bound "TO" bound ("]" | "}")
//! bound   := WORD | PHRASE                         a lone `*` is unbounded
//! ```
//!
//! So `NOT`/`!`/`-`/`+` bind tightest, then `AND`/`&&`, then `OR`/`||`
//! and juxtaposition. Mapping to [`Node::Bool`]:
//!
//! * Every operand carries an occurrence: `+x` is *must*, `-x`, `!x` and
//!   `NOT x` are *must not*, anything else is *should*.
//! * An `or` sequence of two or more operands becomes one `Bool` with each
//!   operand in the list of its occurrence: `+a -b c` is
//!   `Bool { must: [a], should: [c], must_not: [b] }`. A single *should*
//!   operand is returned as itself, which is also why `(x)` is just `x`.
//! * An `and` chain of two or more operands becomes
//!   `Bool { must: [..], must_not: [..] }`: *must not* operands go to
//!   `must_not`, all others to `must`. A single operand passes through with
//!   its occurrence, so `+a` alone is `Bool { must: [a] }`.
//! * A prefix applied to an operand that is already *must not* (`NOT NOT a`,
//!   `+-a`) first wraps it as `Bool { must_not: [a] }`.
//! * `field:( ... )` gives `field` to every clause inside that names no field
//!   of its own; those matches keep `field_span` pointing at the group's
//!   field name and `span` covering only their own value. `*:` means "no
//!   field", so `*:*` is match-all and `*:x` is the bare term `x`.
//! * A bare all-`*` word is [`Node::MatchAll`]; with a field (`f:*`) it is a
//!   [`MatchKind::Wildcard`] of a single [`PatternPart::AnyChars`].

use crate::ast::{Bound, Match, MatchKind, Node, Pattern, PatternPart, Query, Span};
use crate::error::{
    Expected, MAX_CLAUSES, MAX_DEPTH, MAX_WILDCARD_TERMS, MAX_WILDCARDS_PER_TERM, ParseError, ParseErrorKind,
};
use crate::lexer::{Cmp, Mode, Tok, Token, Word, lex};

/// Parse a query string. Empty or whitespace-only input is the empty query.
///
/// `NOT`/`!`/`-`/`+` bind tightest, then `AND`/`&&`, then `OR`/`||` and
/// juxtaposition; `a OR b AND c` is `should [a, Bool { must: [b, c] }]`.
/// Errors carry the byte offset of the offending token.
pub fn parse(input: &str) -> Result<Query, ParseError> {
    if input.trim().is_empty() {
        return Ok(Query { root: None });
    }
    let mut parser = Parser { src: input, pos: 0, depth: 0, peeked: None };
    let root = parser.or(None)?;
    let end = parser.next(Mode::Clause)?;
    if !matches!(end.tok, Tok::Eof) {
        return Err(parser.unexpected(&end, Expected::EndOfQuery));
    }
    check_size(&root)?;
    Ok(Query { root: Some(root) })
}

/// The query-size limits: [`MAX_CLAUSES`] clauses, [`MAX_WILDCARD_TERMS`]
/// costly wildcard terms, [`MAX_WILDCARDS_PER_TERM`] wildcards in a term.
/// Errors point at the first clause past a limit, in the order written.
fn check_size(root: &Node) -> Result<(), ParseError> {
    fn leaves<'n>(node: &'n Node, out: &mut Vec<&'n Match>) {
        match node {
            Node::MatchAll => {}
            Node::Match(m) => out.push(m),
            Node::Bool { must, should, must_not } => {
                for n in must.iter().chain(should).chain(must_not) {
                    leaves(n, out);
                }
            }
        }
    }
    let mut all = Vec::new();
    leaves(root, &mut all);
    all.sort_by_key(|m| m.span.start);
    if let Some(m) = all.get(MAX_CLAUSES) {
        return Err(ParseError::new(ParseErrorKind::TooManyClauses, m.span.start));
    }
    let mut costly = 0;
    for m in &all {
        let MatchKind::Wildcard(Pattern(parts)) = &m.kind else { continue };
        let wildcards = parts.iter().filter(|p| !matches!(p, PatternPart::Literal(_))).count();
        if wildcards > MAX_WILDCARDS_PER_TERM {
            return Err(ParseError::new(ParseErrorKind::TooManyWildcards, m.span.start));
        }
        let prefix_or_any = matches!(parts.as_slice(), [PatternPart::Literal(_), PatternPart::AnyChars])
            || parts.iter().all(|p| *p == PatternPart::AnyChars);
        if !prefix_or_any {
            costly += 1;
            if costly > MAX_WILDCARD_TERMS {
                return Err(ParseError::new(ParseErrorKind::TooManyWildcardTerms, m.span.start));
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Occur {
    Should,
    Must,
    MustNot,
}

/// The field a clause applies to, when it names none itself.
#[derive(Debug, Clone, Copy)]
struct FieldRef<'a> {
    name: &'a str,
    span: Span,
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    /// The token at `pos` lexed in a mode, so peeking then taking lexes once.
    peeked: Option<(Mode, Token<'a>)>,
}

impl<'a> Parser<'a> {
    fn peek(&mut self, mode: Mode) -> Result<&Tok<'a>, ParseError> {
        let token = match self.peeked.take() {
            Some((m, token)) if m == mode => token,
            _ => lex(self.src, self.pos, mode)?,
        };
        Ok(&self.peeked.insert((mode, token)).1.tok)
    }

    fn next(&mut self, mode: Mode) -> Result<Token<'a>, ParseError> {
        let token = match self.peeked.take() {
            Some((m, token)) if m == mode => token,
            _ => lex(self.src, self.pos, mode)?,
        };
        self.pos = token.span.end;
        Ok(token)
    }

    fn text(&self, span: Span) -> &'a str {
        &self.src[span.start..span.end]
    }

    /// Count one more level of nesting, refusing to go past [`MAX_DEPTH`].
    fn enter(&mut self, position: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(ParseErrorKind::TooDeep, position));
        }
        Ok(())
    }

    /// How a token is named in "found ..." messages.
    fn describe(&self, token: &Token<'_>) -> String {
        let raw = shorten(self.text(token.span));
        match token.tok {
            Tok::Eof => "end of query".to_string(),
            Tok::And | Tok::Or | Tok::Not => format!("operator \"{raw}\""),
            Tok::Phrase(_) => format!("phrase {raw}"),
            _ => format!("\"{raw}\""),
        }
    }

    fn unexpected(&self, token: &Token<'_>, expected: Expected) -> ParseError {
        let kind = match token.tok {
            Tok::Eof => ParseErrorKind::UnexpectedEnd { expected },
            _ => ParseErrorKind::UnexpectedToken { expected, found: self.describe(token) },
        };
        ParseError::new(kind, token.span.start)
    }

    fn or(&mut self, field: Option<FieldRef<'a>>) -> Result<Node, ParseError> {
        let mut operands = vec![self.and(field, Expected::Clause)?];
        loop {
            let expected = match self.peek(Mode::Clause)? {
                Tok::Or => {
                    let op = self.next(Mode::Clause)?;
                    Expected::ClauseAfter(self.text(op.span).to_string())
                }
                tok if starts_clause(tok) => Expected::Clause,
                _ => break,
            };
            operands.push(self.and(field, expected)?);
        }
        if operands.len() == 1 && operands[0].0 == Occur::Should {
            let (_, node) = operands.remove(0);
            return Ok(node);
        }
        let mut must = Vec::new();
        let mut should = Vec::new();
        let mut must_not = Vec::new();
        for (occur, node) in operands {
            match occur {
                Occur::Must => must.push(node),
                Occur::Should => should.push(node),
                Occur::MustNot => must_not.push(node),
            }
        }
        Ok(Node::Bool { must, should, must_not })
    }

    fn and(&mut self, field: Option<FieldRef<'a>>, expected: Expected) -> Result<(Occur, Node), ParseError> {
        let first = self.unary(field, expected)?;
        if !matches!(self.peek(Mode::Clause)?, Tok::And) {
            return Ok(first);
        }
        let mut operands = vec![first];
        while matches!(self.peek(Mode::Clause)?, Tok::And) {
            let op = self.next(Mode::Clause)?;
            let expected = Expected::ClauseAfter(self.text(op.span).to_string());
            operands.push(self.unary(field, expected)?);
        }
        let mut must = Vec::new();
        let mut must_not = Vec::new();
        for (occur, node) in operands {
            match occur {
                Occur::MustNot => must_not.push(node),
                Occur::Must | Occur::Should => must.push(node),
            }
        }
        let node = Node::Bool { must, should: Vec::new(), must_not };
        Ok((Occur::Should, node))
    }

    fn unary(&mut self, field: Option<FieldRef<'a>>, expected: Expected) -> Result<(Occur, Node), ParseError> {
        let occur = match self.peek(Mode::Clause)? {
            Tok::Plus => Occur::Must,
            Tok::Minus | Tok::Bang | Tok::Not => Occur::MustNot,
            _ => return Ok((Occur::Should, self.primary(field, expected)?)),
        };
        let op = self.next(Mode::Clause)?;
        self.enter(op.span.start)?;
        let expected = Expected::ClauseAfter(self.text(op.span).to_string());
        let (inner, node) = self.unary(field, expected)?;
        self.depth -= 1;
        let node = match inner {
            Occur::MustNot => Node::Bool { must: Vec::new(), should: Vec::new(), must_not: vec![node] },
            Occur::Must | Occur::Should => node,
        };
        Ok((occur, node))
    }

    fn primary(&mut self, field: Option<FieldRef<'a>>, expected: Expected) -> Result<Node, ParseError> {
        let token = self.next(Mode::Clause)?;
        let start = token.span.start;
        match token.tok {
            Tok::LParen => self.group(start, field),
            Tok::Field("_exists_") => self.exists(start),
            Tok::Field("*") => self.value(None, start, "*"),
            Tok::Field(name) => {
                if !is_field_name(name) {
                    let kind = ParseErrorKind::InvalidField { name: name.into() };
                    return Err(ParseError::new(kind, start));
                }
                let span = Span::new(start, start + name.len());
                self.value(Some(FieldRef { name, span }), start, name)
            }
            Tok::Word(word) => Ok(word_node(field, word, token.span)),
            Tok::Phrase(text) => Ok(leaf(field, MatchKind::Phrase(text), token.span)),
            Tok::RangeOpen { inclusive } => self.range(field, start, start, inclusive),
            Tok::Colon => Err(ParseError::new(ParseErrorKind::EmptyField, start)),
            _ => Err(self.unexpected(&token, expected)),
        }
    }

    /// A parenthesised group whose `(` is at `open`.
    fn group(&mut self, open: usize, field: Option<FieldRef<'a>>) -> Result<Node, ParseError> {
        self.enter(open)?;
        let node = self.or(field)?;
        self.depth -= 1;
        let close = self.next(Mode::Clause)?;
        match close.tok {
            Tok::RParen => Ok(node),
            Tok::Eof => Err(ParseError::new(ParseErrorKind::UnclosedGroup, open)),
            _ => Err(self.unexpected(&close, Expected::CloseParen)),
        }
    }

    /// What follows `written:`; the clause started at `start`.
    fn value(&mut self, field: Option<FieldRef<'a>>, start: usize, written: &str) -> Result<Node, ParseError> {
        let token = self.next(Mode::Value)?;
        let span = Span::new(start, token.span.end);
        match token.tok {
            Tok::LParen => self.group(token.span.start, field),
            Tok::Word(word) => Ok(word_node(field, word, span)),
            Tok::Phrase(text) => Ok(leaf(field, MatchKind::Phrase(text), span)),
            Tok::RangeOpen { inclusive } => self.range(field, start, token.span.start, inclusive),
            Tok::Compare(cmp) => {
                let prefix = format!("{written}:{}", self.text(token.span));
                self.compare(field, start, cmp, prefix)
            }
            _ => Err(self.unexpected(&token, Expected::Value(format!("{written}:")))),
        }
    }

    /// `>x`, `>=x`, `<x`, `<=x` after a field; the clause started at `start`.
    fn compare(
        &mut self,
        field: Option<FieldRef<'a>>,
        start: usize,
        cmp: Cmp,
        prefix: String,
    ) -> Result<Node, ParseError> {
        let token = self.next(Mode::Range)?;
        let value = match token.tok {
            Tok::Word(word) if word.raw == "*" => None,
            Tok::Word(word) => Some(word.text),
            Tok::Phrase(text) => Some(text),
            _ => return Err(self.unexpected(&token, Expected::Value(prefix))),
        };
        let (lower, upper) = match cmp {
            Cmp::Gt => (make_bound(value, false), Bound::Unbounded),
            Cmp::Ge => (make_bound(value, true), Bound::Unbounded),
            Cmp::Lt => (Bound::Unbounded, make_bound(value, false)),
            Cmp::Le => (Bound::Unbounded, make_bound(value, true)),
        };
        let span = Span::new(start, token.span.end);
        Ok(leaf(field, MatchKind::Range { lower, upper }, span))
    }

    /// The rest of a range whose opening bracket, at `open`, was just read;
    /// the clause started at `start` (the field, or the bracket itself).
    fn range(
        &mut self,
        field: Option<FieldRef<'a>>,
        start: usize,
        open: usize,
        lower_inclusive: bool,
    ) -> Result<Node, ParseError> {
        let lower = self.bound(open)?;
        let to = self.next(Mode::Range)?;
        match &to.tok {
            Tok::Word(word) if word.raw == "TO" => {}
            Tok::Eof => return Err(ParseError::new(ParseErrorKind::UnclosedRange, open)),
            _ => {
                let found = self.describe(&to);
                let kind = ParseErrorKind::MissingTo { found };
                return Err(ParseError::new(kind, to.span.start));
            }
        }
        let upper = self.bound(open)?;
        let close = self.next(Mode::Range)?;
        let upper_inclusive = match close.tok {
            Tok::RangeClose { inclusive } => inclusive,
            Tok::Eof => return Err(ParseError::new(ParseErrorKind::UnclosedRange, open)),
            _ => return Err(self.unexpected(&close, Expected::RangeClose)),
        };
        let kind =
            MatchKind::Range { lower: make_bound(lower, lower_inclusive), upper: make_bound(upper, upper_inclusive) };
        Ok(leaf(field, kind, Span::new(start, close.span.end)))
    }

    /// One range bound; `None` for a lone unescaped `*`.
    fn bound(&mut self, open: usize) -> Result<Option<String>, ParseError> {
        let token = self.next(Mode::Range)?;
        match token.tok {
            Tok::Word(word) if word.raw == "*" => Ok(None),
            Tok::Word(word) => Ok(Some(word.text)),
            Tok::Phrase(text) => Ok(Some(text)),
            Tok::Eof => Err(ParseError::new(ParseErrorKind::UnclosedRange, open)),
            _ => Err(self.unexpected(&token, Expected::RangeBound)),
        }
    }

    /// The field name after `_exists_:`, which started at `start`.
    fn exists(&mut self, start: usize) -> Result<Node, ParseError> {
        let token = self.next(Mode::Value)?;
        let Tok::Word(word) = &token.tok else {
            let found = self.describe(&token);
            let kind = ParseErrorKind::ExistsWithoutField { found };
            return Err(ParseError::new(kind, token.span.start));
        };
        if !is_field_name(word.raw) {
            let kind = ParseErrorKind::InvalidField { name: word.raw.into() };
            return Err(ParseError::new(kind, token.span.start));
        }
        Ok(Node::Match(Match {
            field: Some(word.raw.to_string()),
            field_span: Some(token.span),
            kind: MatchKind::Exists,
            span: Span::new(start, token.span.end),
        }))
    }
}

/// Tokens that begin an operand, so that juxtaposition continues an `or`.
fn starts_clause(tok: &Tok<'_>) -> bool {
    matches!(
        tok,
        Tok::LParen
            | Tok::RangeOpen { .. }
            | Tok::Plus
            | Tok::Minus
            | Tok::Bang
            | Tok::Not
            | Tok::Field(_)
            | Tok::Colon
            | Tok::Phrase(_)
            | Tok::Word(_)
    )
}

/// Dot-separated segments of letters, digits, `_`, `-` and `@`, not starting
/// with `-` (which would read as a prefix operator).
fn is_field_name(name: &str) -> bool {
    !name.starts_with('-')
        && name.split('.').all(|segment| {
            !segment.is_empty() && segment.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '@'))
        })
}

fn leaf(field: Option<FieldRef<'_>>, kind: MatchKind, span: Span) -> Node {
    Node::Match(Match { field: field.map(|f| f.name.to_string()), field_span: field.map(|f| f.span), kind, span })
}

fn make_bound(value: Option<String>, inclusive: bool) -> Bound {
    match value {
        None => Bound::Unbounded,
        Some(v) if inclusive => Bound::Inclusive(v),
        Some(v) => Bound::Exclusive(v),
    }
}

fn word_node(field: Option<FieldRef<'_>>, word: Word<'_>, span: Span) -> Node {
    let kind = if !word.wildcard {
        MatchKind::Term(word.text)
    } else if field.is_none() && word.pattern == [PatternPart::AnyChars] {
        return Node::MatchAll;
    } else {
        MatchKind::Wildcard(Pattern(word.pattern))
    };
    leaf(field, kind, span)
}

/// At most 40 characters of `raw`, for error messages about huge tokens.
fn shorten(raw: &str) -> String {
    const MAX: usize = 40;
    match raw.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &raw[..cut]),
        None => raw.to_string(),
    }
}
