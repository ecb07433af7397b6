//! Message templates: `User {user_id} created the draft {resource_id}.`
//!
//! A template is parsed once, when its action is registered, so a malformed
//! template or one naming a key the action can never provide is a
//! registration error, not a failure (or a panic) while logging.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Key(String),
}

/// A parsed message template. `{{` and `}}` stand for literal braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplate {
    source: String,
    parts: Vec<Part>,
}

impl MessageTemplate {
    pub fn parse(source: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((pos, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                    chars.next();
                    text.push('}');
                }
                '}' => {
                    return Err(format!("unmatched '}}' at position {pos} (write '}}}}' for a literal brace)"));
                }
                '{' => {
                    let mut key = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, c)) if c.is_ascii_alphanumeric() || c == '_' => key.push(c),
                            Some((p, c)) => {
                                return Err(format!(
                                    "invalid character {c:?} at position {p} in placeholder starting at position {pos}"
                                ));
                            }
                            None => {
                                return Err(format!("placeholder starting at position {pos} is not closed with '}}'"));
                            }
                        }
                    }
                    if key.is_empty() {
                        return Err(format!("empty placeholder '{{}}' at position {pos}"));
                    }
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Key(key));
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(MessageTemplate { source: source.to_owned(), parts })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The placeholder names, in order of appearance.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Key(k) => Some(k.as_str()),
            Part::Text(_) => None,
        })
    }

    /// Renders the template; `lookup` returns the value of a key. Fails with
    /// the name of the first key that has no value.
    pub fn render<'a>(&self, lookup: impl Fn(&str) -> Option<&'a Value>) -> Result<String, String> {
        let mut out = String::with_capacity(self.source.len() + 32);
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Key(k) => match lookup(k) {
                    Some(Value::String(s)) => out.push_str(s),
                    Some(Value::Null) | None => return Err(k.clone()),
                    Some(other) => out.push_str(&other.to_string()),
                },
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(template: &str, expect: &str) {
        let values = json!({"user_id": "1", "resource_id": "abcd", "n": 9, "obj": {"a": 1}});
        let got = match MessageTemplate::parse(template) {
            Ok(t) => match t.render(|k| values.get(k)) {
                Ok(s) => s,
                Err(k) => format!("missing {k}"),
            },
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expect, "template {template:?}");
    }

    #[test]
    fn templates() {
        check("User {user_id} created the draft {resource_id}.", "User 1 created the draft abcd.");
        check("{n} and {obj}", "9 and {\"a\":1}");
        check("literal {{braces}}", "literal {braces}");
        check("no placeholders", "no placeholders");
        check("{file_key}", "missing file_key");
        check("User {user_id", "error: placeholder starting at position 5 is not closed with '}'");
        check("a } b", "error: unmatched '}' at position 2 (write '}}' for a literal brace)");
        check("{}", "error: empty placeholder '{}' at position 0");
        check("{user id}", "error: invalid character ' ' at position 5 in placeholder starting at position 0");
    }
}
