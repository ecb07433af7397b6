//! Property tests: `parse` never panics, errors point at valid positions, and
//! the canonical form round-trips.

use auditlog_query::{Node, Query, parse};
use proptest::prelude::*;
use proptest::sample::select;

/// Everything that must hold for any input, whether it parses or not.
fn check_invariants(input: &str) -> Result<(), TestCaseError> {
    match parse(input) {
        Err(e) => {
            prop_assert!(e.position <= input.len(), "{input:?}: {e}");
            prop_assert!(input.is_char_boundary(e.position), "{input:?}: {e}");
            let message = e.to_string();
            prop_assert!(message.contains(&format!("position {}", e.position)), "{message}");
        }
        Ok(query) => {
            if let Some(root) = &query.root {
                check_spans(root, input)?;
            }
            check_round_trip(&query)?;
        }
    }
    Ok(())
}

fn check_spans(node: &Node, input: &str) -> Result<(), TestCaseError> {
    match node {
        Node::MatchAll => {}
        Node::Bool { must, should, must_not } => {
            prop_assert!(!(must.is_empty() && should.is_empty() && must_not.is_empty()));
            for child in must.iter().chain(should).chain(must_not) {
                check_spans(child, input)?;
            }
        }
        Node::Match(m) => {
            for span in std::iter::once(m.span).chain(m.field_span) {
                prop_assert!(span.start < span.end && span.end <= input.len(), "{span}");
                prop_assert!(input.is_char_boundary(span.start), "{input:?} {span}");
                prop_assert!(input.is_char_boundary(span.end), "{input:?} {span}");
            }
            if let (Some(field), Some(span)) = (&m.field, m.field_span) {
                prop_assert_eq!(&input[span.start..span.end], field.as_str());
            }
        }
    }
    Ok(())
}

/// The canonical form parses back to the same AST and prints identically.
fn check_round_trip(query: &Query) -> Result<(), TestCaseError> {
    let printed = query.to_string();
    match parse(&printed) {
        Ok(again) => {
            prop_assert_eq!(&again, query, "canonical form {:?}", printed);
            prop_assert_eq!(again.to_string(), printed);
        }
        Err(e) => prop_assert!(false, "canonical form {printed:?} does not parse: {e}"),
    }
    Ok(())
}

/// Fragments of the language, glued together at random so the parser gets
/// past the first token and into every branch.
const TOKENS: &[&str] = &[
    " ",
    " ",
    " ",
    "  ",
    "\t",
    "\n",
    "\u{3000}",
    "(",
    ")",
    "(",
    ")",
    "\"",
    "[",
    "]",
    "{",
    "}",
    ":",
    "\\",
    "*",
    "?",
    "+",
    "-",
    "!",
    "AND ",
    " OR ",
    "NOT ",
    "&&",
    "||",
    " TO ",
    ">",
    ">=",
    "<",
    "<=",
    "~",
    "^",
    "/",
    "a",
    "b",
    "abcd-1234",
    "draft.*",
    "resource.id",
    "resource.id:",
    "f:",
    "_exists_:",
    "*:",
    "2026-01-01T12:00:00",
    "\"x y\"",
    "é",
    "名前",
    "\\:",
    "\\ ",
    "\\\"",
    "and",
    "=",
    "@",
    ".",
    "'",
    ";",
    "[1 TO 2]",
    "{a TO *]",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(select(TOKENS), 0..24).prop_map(|tokens| tokens.concat())
}

fn field() -> impl Strategy<Value = &'static str> {
    select(vec![
        "resource.id",
        "user.email",
        "action",
        "metadata.revision_id",
        "created",
        "metadata.related_to.id",
        "名前",
        "@timestamp",
        "AND",
        "TO",
    ])
}

fn term() -> impl Strategy<Value = &'static str> {
    select(vec![
        "abcd-1234",
        "draft.create",
        "a+b",
        "x",
        "and",
        "a&&b",
        "\\AND",
        "\\||",
        "café",
        "a\\:b",
        "\\(x\\)",
        "\\*",
        "a\\ b",
        "\\-x",
        "alice@cern.ch",
        "TO",
        "1=1",
        "'",
        "\\~",
        "\\\\",
        ">5",
    ])
}

/// Words that only make sense right after `field:`.
fn value_term() -> impl Strategy<Value = &'static str> {
    select(vec!["2026-01-01T12:00:00", ":", "-1", "+1", "\\>5", "a>b", "!x", "\\OR", "a:b:c"])
}

fn wildcard() -> impl Strategy<Value = &'static str> {
    select(vec!["*@cern.ch", "draft.*", "te?t", "*", "a\\**", "**", "?", "\\-*"])
}

fn phrase() -> impl Strategy<Value = &'static str> {
    select(vec!["\"hello world\"", "\"\"", "\"say \\\"hi\\\"\"", "\"a:b (c) [d] AND\"", "\"\\\\\"", "\"é\""])
}

fn bound() -> impl Strategy<Value = &'static str> {
    select(vec![
        "*",
        "2025-12-25T00:00:00",
        "2026-01-01T12:00:00+00:00",
        "\"a b\"",
        "\"*\"",
        "\\TO",
        "5",
        "-3",
        "AND",
        "\"\"",
        "a*",
        ">1",
    ])
}

fn range() -> impl Strategy<Value = String> {
    (select(vec!["[", "{", "[ "]), bound(), select(vec![" TO ", "  TO\t"]), bound(), select(vec!["]", "}", " }"]))
        .prop_map(|(open, lower, to, upper, close)| format!("{open}{lower}{to}{upper}{close}"))
}

fn compare() -> impl Strategy<Value = String> {
    (select(vec![">", ">=", "<", "<="]), select(vec!["", " "]), bound())
        .prop_map(|(op, space, bound)| format!("{op}{space}{bound}"))
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        term().prop_map(String::from),
        value_term().prop_map(String::from),
        phrase().prop_map(String::from),
        wildcard().prop_map(String::from),
        range(),
        compare(),
    ]
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        term().prop_map(String::from),
        phrase().prop_map(String::from),
        wildcard().prop_map(String::from),
        range(),
        (field(), select(vec!["", " "]), value()).prop_map(|(field, space, value)| format!("{field}:{space}{value}")),
        select(vec!["metadata.revision_id", "user.id", "_exists_", "a-b"])
            .prop_map(|field| format!("_exists_:{field}")),
        Just("*:*".to_string()),
        value().prop_map(|value| format!("*:{value}")),
    ]
}

/// Syntactically valid queries with real structure: operators of every
/// spelling, prefixes, groups and field groups, nested a few levels.
fn valid_query() -> impl Strategy<Value = String> {
    let separators = vec![" ", "\t", " OR ", " || ", " AND ", " && ", "\n"];
    let prefixes = vec!["", "+", "-", "!", "NOT ", "! ", "NOT NOT ", "+-"];
    leaf().prop_recursive(4, 64, 5, move |inner| {
        let operand =
            (select(prefixes.clone()), inner.clone()).prop_map(|(prefix, operand)| format!("{prefix}{operand}"));
        prop_oneof![
            (prop::collection::vec(operand.clone(), 2..5), prop::collection::vec(select(separators.clone()), 4),)
                .prop_map(|(operands, separators)| {
                    let mut out = operands[0].clone();
                    for (operand, sep) in operands[1..].iter().zip(separators) {
                        out.push_str(sep);
                        out.push_str(operand);
                    }
                    out
                }),
            operand,
            (inner.clone(), select(vec!["", " "])).prop_map(|(q, space)| format!("({space}{q}{space})")),
            (field(), inner).prop_map(|(field, q)| format!("{field}:({q})")),
        ]
    })
}

proptest! {
    // A fixed seed: the same cases on every run, so the suite cannot fail by chance.
    #![proptest_config(ProptestConfig { rng_seed: prop::test_runner::RngSeed::Fixed(0x6175_6469_746c_6f67), ..ProptestConfig::with_cases(1000) })]

    #[test]
    fn arbitrary_unicode_never_panics(input in any::<String>()) {
        check_invariants(&input)?;
    }

    #[test]
    fn printable_ascii_never_panics(input in "[ -~]{0,40}") {
        check_invariants(&input)?;
    }

    #[test]
    fn token_soup_never_panics(input in token_soup()) {
        check_invariants(&input)?;
    }

    #[test]
    fn valid_queries_parse_and_round_trip(input in valid_query()) {
        let query = parse(&input);
        prop_assert!(query.is_ok(), "{:?} should parse: {}", input, query.unwrap_err());
        check_invariants(&input)?;
        // Surrounding whitespace never changes the meaning.
        prop_assert_eq!(parse(&format!(" \t{input}\n")), query);
    }
}
