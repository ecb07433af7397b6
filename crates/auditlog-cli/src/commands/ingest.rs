//! `auditlog ingest FILE.ndjson`: validate every line, store the valid ones
//! (a batch of lines per transaction), report bad lines by number, exit 1 if
//! any line was bad.
//!
//! A line is read up to `max_body_bytes` (the HTTP API's limit for a whole
//! bulk body): a longer one is reported and skipped without being held in
//! memory, and a line that is not UTF-8 is reported like any invalid line.
//! The signing key is loaded before anything is written.

use std::io::{BufRead, Read};
use std::path::PathBuf;

use auditlog_core::{EventInput, Identity, ValidationError};
use auditlog_store::AuditLogService;
use auditlog_store::service::LineOutcome;

use crate::config::Loaded;
use crate::progress::Progress;
use crate::{Failed, Format};

/// Lines stored per transaction.
const BATCH: usize = 1000;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// NDJSON file, one event per line (`-` for standard input).
    file: PathBuf,
    /// Report format: `table` prints a summary, `json`/`ndjson` one result per line.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

/// One line of input.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// The line's bytes are in the buffer (without `\n` or `\r\n`).
    Read,
    /// Longer than the limit: nothing of it is kept. `ended` says whether
    /// its end was read too; if not, the rest must be skipped.
    TooLong {
        ended: bool,
    },
    End,
}

/// Reads the next line into `buf`, at most `max` bytes of it (plus its
/// `\r\n`). Reading stops after that, so a line without end never fills
/// memory.
fn read_line(reader: &mut impl BufRead, max: usize, buf: &mut Vec<u8>) -> std::io::Result<(Line, u64)> {
    buf.clear();
    let cap = max as u64 + 2;
    let n = reader.by_ref().take(cap).read_until(b'\n', buf)? as u64;
    if n == 0 {
        return Ok((Line::End, 0));
    }
    let ended = buf.last() == Some(&b'\n') || n < cap;
    if buf.last() == Some(&b'\n') {
        buf.pop();
    }
    if ended && buf.last() == Some(&b'\r') {
        buf.pop();
    }
    if !ended || buf.len() > max {
        buf.clear();
        return Ok((Line::TooLong { ended }, n));
    }
    Ok((Line::Read, n))
}

/// Skips to the end of the current line; returns the bytes skipped.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<u64> {
    let mut skipped = 0u64;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(skipped);
        }
        let (used, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        reader.consume(used);
        skipped += used as u64;
        if done {
            return Ok(skipped);
        }
    }
}

/// A line's event, or why it has none.
fn parse_line(bytes: &[u8]) -> Result<EventInput, ValidationError> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| ValidationError::single("(body)", format!("not valid UTF-8: {e}")))?;
    EventInput::from_json(text)
}

pub async fn run(loaded: &Loaded, args: Args) -> anyhow::Result<()> {
    let store = loaded.open_store().await?;
    let service = AuditLogService::new(loaded.audit_log()?, store.clone());
    let signer = crate::sequencing::signer_for_writes(loaded)?;
    let max = loaded.config.max_body_bytes;
    let (reader, total) = super::open_input(&args.file)?;
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, reader);
    let mut progress = Progress::new("ingest", total);
    let (mut stored, mut skipped, mut bad) = (0u64, 0u64, 0u64);
    let mut batch: Vec<(usize, Result<EventInput, ValidationError>)> = Vec::new();
    let mut read_bytes = 0u64;
    let mut buf = Vec::new();
    let mut number = 0usize;
    loop {
        let (line, n) = read_line(&mut reader, max, &mut buf)
            .map_err(|e| anyhow::anyhow!("line {}: cannot read: {e}", number + 1))?;
        read_bytes += n;
        let unfinished = line == Line::TooLong { ended: false };
        match line {
            Line::End => {}
            Line::Read if buf.iter().all(u8::is_ascii_whitespace) => number += 1,
            Line::Read => {
                number += 1;
                batch.push((number, parse_line(&buf)));
            }
            Line::TooLong { .. } => {
                number += 1;
                let message = format!("the line is longer than the limit of {max} bytes (max_body_bytes); skipped");
                batch.push((number, Err(ValidationError::single("(line)", message))));
            }
        }
        // A batch is stored when full, at the end, and before skipping an
        // over-long line (which may take long): what was read is reported.
        let end = line == Line::End;
        if !batch.is_empty() && (batch.len() >= BATCH || end || unfinished) {
            let numbers: Vec<usize> = batch.iter().map(|(n, _)| *n).collect();
            let outcomes =
                service.create_many(&Identity::system(), batch.drain(..).map(|(_, l)| l).collect(), None).await?;
            for (n, outcome) in numbers.into_iter().zip(outcomes) {
                match &outcome {
                    LineOutcome::Logged(_) => stored += 1,
                    LineOutcome::NotLogged(_) => skipped += 1,
                    LineOutcome::Invalid(_) => bad += 1,
                }
                report(args.format, n, &outcome);
            }
            progress.set(read_bytes.min(total));
        }
        if unfinished {
            read_bytes += skip_line(&mut reader).map_err(|e| anyhow::anyhow!("line {number}: cannot read: {e}"))?;
        }
        if end {
            break;
        }
    }
    progress.finish();
    eprintln!("ingest: {stored} events stored, {skipped} not logged, {bad} bad lines ({})", args.file.display());
    if stored > 0 {
        let round = crate::sequencing::integrate_now(&signer, store).await?;
        eprintln!("ingest: transparency log at {} leaves", round.size);
    }
    if bad > 0 { Err(Failed.into()) } else { Ok(()) }
}

fn report(format: Format, line: usize, outcome: &LineOutcome) {
    match (format, outcome) {
        (Format::Table, LineOutcome::Invalid(e)) => eprintln!("line {line}: {e}"),
        (Format::Table, LineOutcome::NotLogged(reason)) => eprintln!("line {line}: not logged: {reason}"),
        (Format::Table, LineOutcome::Logged(_)) => {}
        (_, o) => {
            let v = match o {
                LineOutcome::Logged(e) => serde_json::json!({"line": line, "status": "stored", "id": e.id}),
                LineOutcome::NotLogged(r) => {
                    serde_json::json!({"line": line, "status": "not_logged", "reason": r.to_string()})
                }
                LineOutcome::Invalid(e) => serde_json::json!({"line": line, "status": "invalid", "errors": e.errors}),
            };
            println!("{v}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `input` read with limit `max`, as text (or `TOO LONG`).
    fn lines(input: &[u8], max: usize) -> Vec<String> {
        let mut reader = std::io::BufReader::with_capacity(4, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            match read_line(&mut reader, max, &mut buf).unwrap() {
                (Line::End, _) => return out,
                (Line::Read, _) => out.push(String::from_utf8_lossy(&buf).into_owned()),
                (Line::TooLong { ended }, _) => {
                    if !ended {
                        skip_line(&mut reader).unwrap();
                    }
                    out.push("TOO LONG".into());
                }
            }
        }
    }

    #[test]
    fn lines_are_bounded() {
        assert_eq!(lines(b"ab\ncd\r\n\nlast", 5), ["ab", "cd", "", "last"]);
        assert_eq!(lines(b"12345\n123456\nok\n", 5), ["12345", "TOO LONG", "ok"]);
        assert_eq!(lines(b"123456789012345", 5), ["TOO LONG"]);
        assert_eq!(lines(b"12345\r\n", 5), ["12345"], "CR is not counted when the newline ends the line");
        assert_eq!(lines(b"123456\nx", 5), ["TOO LONG", "x"]);
        assert_eq!(lines(b"1234\r\r\nx", 5), ["1234\r", "x"]);
        assert_eq!(lines(b"12345\r", 5), ["12345"]);
        assert_eq!(lines(b"123456", 5), ["TOO LONG"]);
        assert_eq!(lines(b"", 5), Vec::<String>::new());
    }
}
