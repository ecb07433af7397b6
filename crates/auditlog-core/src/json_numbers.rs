//! Integer literals in JSON input that cannot be kept exactly.
//!
//! `serde_json` reads an integer literal outside the 64-bit range
//! (`18446744073709551616`) as the nearest `f64` without saying so, and the
//! event would then hold a different number than the one sent. Events are
//! immutable and hashed into the transparency log, so such a value is
//! refused instead: [`check_integers`] finds the first one, with its path.

use std::fmt::Write;

/// An integer literal outside `i64::MIN ..= u64::MAX`, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutOfRange {
    /// Dotted path of the value (`metadata.revision_id`, `metadata.ids[2]`).
    pub(crate) field: String,
    pub(crate) message: String,
}

/// Deeper than this the scan stops looking (`serde_json` refuses input
/// nested beyond 128 levels, so valid events never get here).
const MAX_DEPTH: usize = 256;

/// Checks every integer literal of `text`, a JSON document that already
/// parsed. Never panics, whatever `text` is.
pub(crate) fn check_integers(text: &str) -> Result<(), OutOfRange> {
    Scanner { text, i: 0, path: Vec::new() }.value(0)
}

enum Segment {
    Key(String),
    Index(usize),
}

struct Scanner<'a> {
    text: &'a str,
    i: usize,
    path: Vec<Segment>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), OutOfRange> {
        self.skip_ws();
        if depth > MAX_DEPTH {
            return Ok(());
        }
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b'"') => {
                            let key = self.string();
                            self.skip_ws();
                            if self.peek() != Some(b':') {
                                return Ok(());
                            }
                            self.i += 1;
                            self.path.push(Segment::Key(key));
                            self.value(depth + 1)?;
                            self.path.pop();
                            self.skip_ws();
                            if self.peek() == Some(b',') {
                                self.i += 1;
                            }
                        }
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Ok(()),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut index = 0;
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b']') => {
                            self.i += 1;
                            return Ok(());
                        }
                        None => return Ok(()),
                        Some(_) => {
                            self.path.push(Segment::Index(index));
                            let before = self.i;
                            self.value(depth + 1)?;
                            self.path.pop();
                            if self.i == before {
                                // Not JSON after all: stop rather than loop.
                                return Ok(());
                            }
                            index += 1;
                            self.skip_ws();
                            if self.peek() == Some(b',') {
                                self.i += 1;
                            }
                        }
                    }
                }
            }
            Some(b'"') => {
                self.skip_string();
                Ok(())
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => {
                // true, false, null
                while self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
                    self.i += 1;
                }
                Ok(())
            }
        }
    }

    /// Moves past a string starting at the current `"`; returns where its
    /// closing quote ends.
    fn skip_string(&mut self) -> usize {
        let bytes = self.text.as_bytes();
        let start = self.i;
        self.i += 1;
        while let Some(&b) = bytes.get(self.i) {
            self.i += 1;
            match b {
                b'\\' => self.i += 1,
                b'"' => return self.i,
                _ => {}
            }
        }
        self.i = self.i.min(bytes.len());
        debug_assert!(self.i > start);
        self.i
    }

    /// A key: its text with escapes resolved (by `serde_json`, which parsed
    /// the same bytes already).
    fn string(&mut self) -> String {
        let start = self.i;
        let end = self.skip_string();
        self.text.get(start..end).and_then(|raw| serde_json::from_str(raw).ok()).unwrap_or_default()
    }

    fn number(&mut self) -> Result<(), OutOfRange> {
        let bytes = self.text.as_bytes();
        let start = self.i;
        while matches!(self.peek(), Some(b'-' | b'0'..=b'9')) {
            self.i += 1;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            while matches!(self.peek(), Some(b'.' | b'e' | b'E' | b'+' | b'-' | b'0'..=b'9')) {
                self.i += 1;
            }
            return Ok(());
        }
        let literal = std::str::from_utf8(&bytes[start..self.i]).unwrap_or_default();
        if literal.parse::<i64>().is_ok() || literal.parse::<u64>().is_ok() {
            return Ok(());
        }
        Err(OutOfRange {
            field: self.field(),
            message: format!(
                "integer {} does not fit in 64 bits ({} to {}); send it as a string",
                shorten(literal),
                i64::MIN,
                u64::MAX
            ),
        })
    }

    fn field(&self) -> String {
        let mut out = String::new();
        for segment in &self.path {
            match segment {
                Segment::Key(k) if out.is_empty() => out.push_str(k),
                Segment::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Segment::Index(n) => {
                    let _ = write!(out, "[{n}]");
                }
            }
        }
        if out.is_empty() { "(body)".into() } else { out }
    }
}

/// At most 40 characters of a literal, for messages.
fn shorten(literal: &str) -> String {
    match literal.char_indices().nth(40) {
        Some((cut, _)) => format!("{}... ({} digits)", &literal[..cut], literal.len()),
        None => literal.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<(), (String, String)> {
        check_integers(text).map_err(|e| (e.field, e.message))
    }

    #[test]
    fn integers_in_and_out_of_range() {
        let ok = [
            r#"{"a": 1, "b": -9223372036854775808, "c": 18446744073709551615}"#,
            r#"{"a": 1.8446744073709552e19, "b": 1e400, "c": 18446744073709551616.0}"#,
            r#"{"s": "18446744073709551616", "k\"ey": [true, null, {"x": 0}]}"#,
            "[]",
            "",
            "not json at all [",
        ];
        for text in ok {
            assert_eq!(check(text), Ok(()), "{text}");
        }
        let bad = [
            (r#"{"metadata": {"revision_id": 18446744073709551616}}"#, "metadata.revision_id", "18446744073709551616"),
            (r#"{"m": {"ids": [1, 2, -9223372036854775809]}}"#, "m.ids[2]", "-9223372036854775809"),
            (r#"{"a\"b": {"c": 99999999999999999999}}"#, "a\"b.c", "99999999999999999999"),
            ("123456789012345678901234567890", "(body)", "123456789012345678901234567890"),
        ];
        for (text, field, literal) in bad {
            let (f, m) = check(text).expect_err(text);
            assert_eq!(f, field, "{text}");
            assert!(m.starts_with(&format!("integer {literal} does not fit in 64 bits")), "{m}");
        }
        let long = format!(r#"{{"n": {}}}"#, "9".repeat(5000));
        let (_, m) = check(&long).unwrap_err();
        assert!(m.len() < 200 && m.contains("(5000 digits)"), "{m}");
    }
}
