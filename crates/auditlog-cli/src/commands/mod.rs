//! One module per subcommand.

pub mod actions;
pub mod demo;
pub mod export;
pub mod import;
pub mod ingest;
pub mod key;
pub mod migrate;
pub mod retention;
pub mod search;
pub mod serve;
pub mod show;
pub mod token;
pub mod verify;

/// An input file, or standard input for `-`, unbuffered, with its size in
/// bytes for progress (0 when unknown). `Send`, so a reader thread can own it.
pub fn open_input(path: &std::path::Path) -> anyhow::Result<(Box<dyn std::io::Read + Send>, u64)> {
    use anyhow::Context;
    if path.as_os_str() == "-" {
        return Ok((Box::new(std::io::stdin()), 0));
    }
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((Box::new(f), size))
}

/// A search failure as the user should see it: a bad query (with a caret
/// under the position) or bad parameters are usage errors, anything else
/// is a failure.
pub fn search_error(query: &str, e: auditlog_store::ServiceError) -> anyhow::Error {
    use auditlog_store::SearchError;
    use auditlog_store::ServiceError;
    match e {
        ServiceError::Search(SearchError::Query(e)) => {
            crate::UsageError(format!("{e}\n  {}\n  {}^", query, " ".repeat(e.position))).into()
        }
        ServiceError::Search(e) => crate::UsageError(e.to_string()).into(),
        e => e.into(),
    }
}
