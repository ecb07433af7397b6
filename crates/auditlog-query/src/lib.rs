//! The OpenSearch `query_string` language as InvenioRDM audit-log users type it: query text to an AST, with byte positions in errors.
//!
//! ```
//! use auditlog_query::parse;
//!
//! let query = parse("resource.id: abcd-1234 AND action: draft.create").unwrap();
//! assert_eq!(query.to_string(), "(+resource.id:abcd-1234 +action:draft.create)");
//!
//! let err = parse("resource.id:").unwrap_err();
//! assert_eq!(err.position, 12);
//! ```
//!
//! [`parse`] accepts fields (`resource.id:x`, `field: x`), bare terms,
//! `"phrases"`, wildcards (`draft.*`, `te?t`), ranges (`[a TO b]`, `{a TO b}`,
//! mixed brackets, `*` ends, `field:>=x` and friends), `_exists_:field`,
//! `*` / `*:*`, the operators `AND` `OR` `NOT` `&&` `||` `!` `+` `-`,
//! parentheses and `field:( ... )`. Fuzzy `~`, boosts `^` and `/regex/` are
//! rejected with [`ParseErrorKind::Unsupported`]. The precedence rules and
//! how they map onto [`Node::Bool`] are documented in the `parser` module
//! source; in short `NOT` > `AND` > `OR`/juxtaposition.
//!
//! # Canonical form
//!
//! `Display` on [`Query`] and [`Node`] prints a compact form that parses back
//! to an equal AST (spans aside), and printing that again gives the same text:
//!
//! ```text
//! query  := ""                                   (the empty query)
//!         | node
//! node   := "*:*"                                (MatchAll)
//!         | "(" clause (" " clause)* ")"         (Bool: must, then should, then must_not)
//!         | match
//! clause := "+" node | node | "-" node
//! match  := "_exists_:" FIELD
//!         | (FIELD ":")? value
//! value  := WORD                                 (Term)
//!         | '"' (CHAR | '\"' | '\\')* '"'        (Phrase)
//!         | (WORD-PART | "*" | "?")+             (Wildcard)
//!         | ("[" | "{") bound " TO " bound ("]" | "}")
//! bound  := "*" | WORD
//! ```
//!
//! A WORD escapes with `\` every character that would otherwise not read
//! back literally where it stands: whitespace, `( ) " [ ] { } ^ ~ \`, `/`,
//! `*` and `?` outside ranges, `:` and a leading `+ - !` when there is no field,
//! a leading `>`/`<` after `field:`, and the first character of a word
//! equal to `AND` `OR` `NOT` `&&` `||` (or `TO` / `*` inside a range). An
//! empty term or bound prints as `""`. An unbounded end prints `*` inside
//! `[` / `]`.

pub mod ast;
pub mod error;
mod lexer;
mod parser;
mod print;

pub use ast::{Bound, Match, MatchKind, Node, Pattern, PatternPart, Query, Span};
pub use error::{
    Expected, MAX_CLAUSES, MAX_DEPTH, MAX_WILDCARD_TERMS, MAX_WILDCARDS_PER_TERM, ParseError, ParseErrorKind,
    UnsupportedFeature,
};
pub use parser::parse;

impl std::str::FromStr for Query {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        parse(input)
    }
}
