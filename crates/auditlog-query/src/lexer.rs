//! The lexer: reads the one token at a byte offset, in the mode the parser asks for.
//!
//! The language is context-sensitive in small ways: `:` ends a field name but
//! belongs to a value (`created:2026-01-01T12:00:00`), `+` `-` `!` are
//! operators only where a clause starts, `>=` means "range" only right after
//! `field:`, and `TO` is a keyword only inside brackets. So instead of
//! tokenising the whole input up front, the parser asks for the next token
//! with a [`Mode`].

use crate::ast::{PatternPart, Span};
use crate::error::{ParseError, ParseErrorKind, UnsupportedFeature};

/// Characters that always end a word (besides whitespace). `^ ~ /` end it
/// so that the next token reports them as unsupported.
pub(crate) const WORD_STOP: [char; 10] = ['(', ')', '"', '[', ']', '{', '}', '^', '~', '/'];

/// Words that are operators where a clause or value may start.
pub(crate) const OPERATOR_WORDS: [&str; 5] = ["AND", "OR", "NOT", "&&", "||"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Where a clause may start: prefixes, operators, `field:` and groups.
    Clause,
    /// Right after `field:`: `:` belongs to words, `>` `<` start a comparison.
    Value,
    /// Range bounds: words are literal, no operators, no wildcards.
    Range,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
}

/// An unquoted run of characters.
#[derive(Debug, Clone)]
pub(crate) struct Word<'a> {
    /// The text as written, escapes included.
    pub raw: &'a str,
    /// Escapes resolved; `*` and `?` kept as characters.
    pub text: String,
    /// The same text split at unescaped `*` and `?`.
    pub pattern: Vec<PatternPart>,
    /// Whether there is any unescaped `*` or `?`.
    pub wildcard: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Tok<'a> {
    Eof,
    LParen,
    RParen,
    RangeOpen {
        inclusive: bool,
    },
    RangeClose {
        inclusive: bool,
    },
    Plus,
    Minus,
    Bang,
    And,
    Or,
    Not,
    /// `name:` (clause mode only); the token's span includes the colon.
    Field(&'a str),
    /// A `:` with no word before it (clause mode only).
    Colon,
    Compare(Cmp),
    Phrase(String),
    Word(Word<'a>),
}

#[derive(Debug, Clone)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    pub span: Span,
}

/// Whether `c` ends a word in `mode`. In a range bound (after `[`, `{` or
/// a comparison) `/` is part of the word, as in OpenSearch: date math
/// rounds with it (`created:>=now-7d/d`), and a bound is never a regex.
fn ends_word(c: char, mode: Mode) -> bool {
    c.is_whitespace()
        || (WORD_STOP.contains(&c) && !(c == '/' && mode == Mode::Range))
        || (c == ':' && mode == Mode::Clause)
}

/// The token starting at or after `from` (whitespace is skipped).
pub(crate) fn lex(src: &str, from: usize, mode: Mode) -> Result<Token<'_>, ParseError> {
    let start = src[from..].char_indices().find(|&(_, c)| !c.is_whitespace()).map_or(src.len(), |(off, _)| from + off);
    let Some(c) = src[start..].chars().next() else {
        let end = Span::new(src.len(), src.len());
        return Ok(Token { tok: Tok::Eof, span: end });
    };
    let one = |tok| Ok(Token { tok, span: Span::new(start, start + c.len_utf8()) });
    let unsupported = |feature| Err(ParseError::new(ParseErrorKind::Unsupported(feature), start));
    match c {
        '(' => one(Tok::LParen),
        ')' => one(Tok::RParen),
        '[' => one(Tok::RangeOpen { inclusive: true }),
        '{' => one(Tok::RangeOpen { inclusive: false }),
        ']' => one(Tok::RangeClose { inclusive: true }),
        '}' => one(Tok::RangeClose { inclusive: false }),
        '^' => unsupported(UnsupportedFeature::Boost),
        '~' => unsupported(UnsupportedFeature::Fuzzy),
        '/' if mode != Mode::Range => unsupported(UnsupportedFeature::Regex),
        '"' => phrase(src, start),
        '+' if mode == Mode::Clause => one(Tok::Plus),
        '-' if mode == Mode::Clause => one(Tok::Minus),
        '!' if mode == Mode::Clause => one(Tok::Bang),
        ':' if mode == Mode::Clause => one(Tok::Colon),
        '>' | '<' if mode == Mode::Value => {
            let or_equal = src[start + 1..].starts_with('=');
            let cmp = match (c, or_equal) {
                ('>', false) => Cmp::Gt,
                ('>', true) => Cmp::Ge,
                ('<', false) => Cmp::Lt,
                _ => Cmp::Le,
            };
            let end = start + 1 + usize::from(or_equal);
            Ok(Token { tok: Tok::Compare(cmp), span: Span::new(start, end) })
        }
        _ => word(src, start, mode),
    }
}

fn phrase(src: &str, start: usize) -> Result<Token<'_>, ParseError> {
    let mut text = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        match c {
            '"' => {
                let end = start + 1 + off + 1;
                return Ok(Token { tok: Tok::Phrase(text), span: Span::new(start, end) });
            }
            // A trailing backslash inside a phrase means the phrase is unclosed.
            '\\' => match chars.next() {
                Some((_, escaped)) => text.push(escaped),
                None => break,
            },
            _ => text.push(c),
        }
    }
    Err(ParseError::new(ParseErrorKind::UnclosedPhrase, start))
}

/// A word and what it turns out to be in `mode`. Never empty: `lex` only
/// calls it on a character that does not end a word.
fn word(src: &str, start: usize, mode: Mode) -> Result<Token<'_>, ParseError> {
    let w = scan_word(src, start, mode)?;
    let end = start + w.raw.len();
    let tok = match mode {
        // A field name is only recognised when the colon follows immediately.
        Mode::Clause if src[end..].starts_with(':') => {
            return Ok(Token { tok: Tok::Field(w.raw), span: Span::new(start, end + 1) });
        }
        Mode::Range => Tok::Word(w),
        Mode::Clause | Mode::Value => match w.raw {
            "AND" | "&&" => Tok::And,
            "OR" | "||" => Tok::Or,
            "NOT" => Tok::Not,
            _ => Tok::Word(w),
        },
    };
    Ok(Token { tok, span: Span::new(start, end) })
}

fn scan_word(src: &str, start: usize, mode: Mode) -> Result<Word<'_>, ParseError> {
    let mut text = String::new();
    let mut pattern = Vec::new();
    let mut literal = String::new();
    let mut wildcard = false;
    let mut end = src.len();
    let mut chars = src[start..].char_indices();
    while let Some((off, c)) = chars.next() {
        if ends_word(c, mode) {
            end = start + off;
            break;
        }
        match c {
            '\\' => {
                let Some((_, escaped)) = chars.next() else {
                    return Err(ParseError::new(ParseErrorKind::DanglingEscape, start + off));
                };
                text.push(escaped);
                literal.push(escaped);
            }
            '*' | '?' => {
                wildcard = true;
                text.push(c);
                if !literal.is_empty() {
                    pattern.push(PatternPart::Literal(std::mem::take(&mut literal)));
                }
                let part = if c == '*' { PatternPart::AnyChars } else { PatternPart::AnyChar };
                // `**` means the same as `*`; one part keeps patterns canonical.
                if !(part == PatternPart::AnyChars && pattern.last() == Some(&part)) {
                    pattern.push(part);
                }
            }
            _ => {
                text.push(c);
                literal.push(c);
            }
        }
    }
    if !literal.is_empty() {
        pattern.push(PatternPart::Literal(literal));
    }
    Ok(Word { raw: &src[start..end], text, pattern, wildcard })
}
