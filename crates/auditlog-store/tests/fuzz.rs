//! Fuzzing, in CI: whatever a client puts in `q`, `created_from` and
//! `created_to`, planning a search (parse, size limits, lowering with date
//! math, filters) and rendering its SQL for both stores answers `Ok` or an
//! error, and never panics (date math overflow once did, as a 500).
//!
//! A fixed seed keeps every run the same; the case counts keep it to
//! seconds. Input is arbitrary text, and text glued from the language's own
//! pieces so that it gets past the first token.

use auditlog_core::Timestamp;
use auditlog_store::SearchParams;
use auditlog_store::postgres::PgDialect;
use auditlog_store::search::Sort;
use auditlog_store::sql::{Sql, render};
use auditlog_store::sqlite::SqliteDialect;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn runner(cases: u32) -> TestRunner {
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[18; 32]))
}

const PIECES: &[&str] = &[
    " ",
    " ",
    "  ",
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
    "/",
    "~",
    "^",
    " AND ",
    " OR ",
    "NOT ",
    "&&",
    "||",
    " TO ",
    ">",
    ">=",
    "<",
    "<=",
    "created:",
    "@timestamp:",
    "message:",
    "user.email:",
    "metadata.n:",
    "metadata.a.b:",
    "action:",
    "id:",
    "_exists_:",
    "now",
    "now-",
    "now+",
    "7d",
    "/d",
    "/M",
    "1y",
    "999999999d",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "2026-01-01",
    "9999-12-31",
    "0000-01-01",
    "2026-02-30",
    "T12:00:00",
    "Z",
    "+01:00",
    ".5",
    "1e308",
    "NaN",
    "inf",
    "draft.*",
    "*x*",
    "a?b",
    "é",
    "名前",
    "\u{0}",
    "\u{feff}",
    "\u{10ffff}",
    "%",
    "'",
    ";",
    "--",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(select(PIECES), 0..32).prop_map(|p| p.concat())
}

/// Date math with numbers of every magnitude (shifting a random 64-bit
/// number spreads them evenly over the digits): small ones, ones that leave
/// the calendar, ones that overflow the arithmetic.
fn date_math() -> impl Strategy<Value = String> {
    let unit = || select(vec!["y", "M", "w", "d", "h", "H", "m", "s", "x", ""]);
    let number = || (any::<u64>(), 0u32..64).prop_map(|(n, shift)| n >> shift);
    (
        select(vec!["now", "now", "2026-01-01||", ""]),
        prop::collection::vec((select(vec!["-", "+", "/"]), number(), unit()), 0..4),
    )
        .prop_map(|(anchor, steps)| {
            let mut out = anchor.to_owned();
            for (op, n, unit) in steps {
                out.push_str(op);
                if op != "/" {
                    out.push_str(&n.to_string());
                }
                out.push_str(unit);
            }
            out
        })
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        soup(),
        any::<String>(),
        "[ -~]{0,64}",
        date_math(),
        (
            select(vec!["created:", "created:>", "created:<=", "@timestamp:["]),
            date_math(),
            select(vec!["", " TO now]", "]"])
        )
            .prop_map(|(field, date, end)| format!("{field}{date}{end}")),
    ]
}

fn check(params: &SearchParams) {
    let now: Timestamp = "2026-11-26T14:30:00Z".parse().unwrap();
    if let Ok(plan) = params.plan(now) {
        let cond = plan.hits_cond();
        render(&cond, &mut Sql::question(), &SqliteDialect);
        render(&cond, &mut Sql::dollar(), &PgDialect);
    }
}

#[test]
fn planning_a_search_never_panics() {
    let strategy = (text(), prop::option::of(text()), prop::option::of(text()), any::<bool>());
    runner(3000)
        .run(&strategy, |(q, from, to, best)| {
            let sort = if best { Sort::BestMatch } else { Sort::Newest };
            check(&SearchParams { q: Some(q), created_from: from, created_to: to, sort, ..SearchParams::default() });
            Ok(())
        })
        .unwrap();
}

/// The largest queries the limits allow still plan and render.
#[test]
fn queries_at_the_limits_plan() {
    let clauses = (0..auditlog_query::MAX_CLAUSES).map(|i| format!("*x{}* t{i}", i % 10)).collect::<Vec<_>>();
    let q = clauses[..auditlog_query::MAX_CLAUSES / 2].join(" OR ");
    let now = Timestamp::now();
    let plan = SearchParams { q: Some(q), ..SearchParams::default() }.plan(now);
    assert!(plan.is_err(), "more than ten inner wildcards");
    let q = (0..auditlog_query::MAX_CLAUSES).map(|i| format!("metadata.n:[{i} TO *]")).collect::<Vec<_>>().join(" ");
    let plan = SearchParams { q: Some(q), ..SearchParams::default() }.plan(now).unwrap();
    let mut sql = Sql::question();
    render(&plan.hits_cond(), &mut sql, &SqliteDialect);
    assert!(sql.params.len() < 32_766, "within SQLite's parameter limit: {}", sql.params.len());
}
