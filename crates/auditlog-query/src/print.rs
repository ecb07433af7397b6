//! The canonical text form: `Display` for [`Query`], [`Node`] and [`Match`].
//!
//! The output is itself valid query syntax and parses back to an equal AST
//! (see the crate docs for the grammar). Words are escaped only as much as
//! the place they are printed in requires, so common values such as
//! `abcd-1234` and `2026-01-01T12:00:00` print unchanged.

use std::fmt;

use crate::ast::{Bound, Match, MatchKind, Node, PatternPart, Query};
use crate::lexer::{OPERATOR_WORDS, WORD_STOP};

/// Where a word is printed, which decides what must be escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Bare, where a clause starts: `:` would make it a field, a leading
    /// `+ - !` a prefix.
    Clause,
    /// Right after `field:`: a leading `>` or `<` would make it a comparison.
    Value,
    /// A range bound: `*` and `?` are literal, only `TO` and a lone `*` are special.
    Range,
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.root {
            Some(node) => node.fmt(f),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::MatchAll => f.write_str("*:*"),
            Node::Match(m) => m.fmt(f),
            Node::Bool { must, should, must_not } => {
                f.write_str("(")?;
                let clauses = must
                    .iter()
                    .map(|n| ("+", n))
                    .chain(should.iter().map(|n| ("", n)))
                    .chain(must_not.iter().map(|n| ("-", n)));
                for (i, (prefix, node)) in clauses.enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{prefix}{node}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == MatchKind::Exists {
            return write!(f, "_exists_:{}", self.field.as_deref().unwrap_or_default());
        }
        let place = match &self.field {
            Some(field) => {
                write!(f, "{field}:")?;
                Place::Value
            }
            None => Place::Clause,
        };
        let mut out = String::new();
        match &self.kind {
            MatchKind::Term(text) => push_word(&mut out, text, place),
            MatchKind::Phrase(text) => push_phrase(&mut out, text),
            MatchKind::Wildcard(pattern) => {
                for part in &pattern.0 {
                    match part {
                        PatternPart::Literal(text) => {
                            let at_start = out.is_empty();
                            push_escaped(&mut out, text, place, at_start);
                        }
                        PatternPart::AnyChars => out.push('*'),
                        PatternPart::AnyChar => out.push('?'),
                    }
                }
            }
            MatchKind::Range { lower, upper } => {
                out.push(match lower {
                    Bound::Exclusive(_) => '{',
                    Bound::Inclusive(_) | Bound::Unbounded => '[',
                });
                push_bound(&mut out, lower);
                out.push_str(" TO ");
                push_bound(&mut out, upper);
                out.push(match upper {
                    Bound::Exclusive(_) => '}',
                    Bound::Inclusive(_) | Bound::Unbounded => ']',
                });
            }
            MatchKind::Exists => {}
        }
        f.write_str(&out)
    }
}

fn push_bound(out: &mut String, bound: &Bound) {
    match bound {
        Bound::Unbounded => out.push('*'),
        Bound::Inclusive(text) | Bound::Exclusive(text) => push_word(out, text, Place::Range),
    }
}

fn push_phrase(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// A whole word that must read back as exactly `text`.
fn push_word(out: &mut String, text: &str, place: Place) {
    if text.is_empty() {
        // Only a quoted string can be empty.
        out.push_str("\"\"");
        return;
    }
    let keyword = match place {
        Place::Range => text == "TO" || text == "*",
        Place::Clause | Place::Value => OPERATOR_WORDS.contains(&text),
    };
    // Escaping the first character is enough to stop keyword recognition,
    // which compares the raw text.
    if keyword {
        out.push('\\');
    }
    push_escaped(out, text, place, !keyword);
}

/// Literal text with a `\` before every character the lexer would not read
/// back literally at this place; `at_start` is whether it begins the word.
fn push_escaped(out: &mut String, text: &str, place: Place, at_start: bool) {
    for (i, c) in text.chars().enumerate() {
        let first = at_start && i == 0;
        let escape = c == '\\'
            || c.is_whitespace()
            || (WORD_STOP.contains(&c) && !(place == Place::Range && c == '/'))
            || (place != Place::Range && matches!(c, '*' | '?'))
            || (place == Place::Clause && c == ':')
            || (place == Place::Clause && first && matches!(c, '+' | '-' | '!'))
            || (place == Place::Value && first && matches!(c, '>' | '<'));
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
}
