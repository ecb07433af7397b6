//! "View changes": the difference between an event's `before` and `after`
//! JSON documents, computed here so the page needs no script. Both sides
//! are flattened to `path -> leaf value` (objects by key, arrays by index;
//! empty objects and arrays are leaves) and compared path by path.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// One step of a path into a JSON document. Indexes order numerically.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Index(usize),
    Key(String),
}

type Leaves<'v> = BTreeMap<Vec<Segment>, &'v Value>;

fn flatten<'v>(value: &'v Value, path: &mut Vec<Segment>, out: &mut Leaves<'v>) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                path.push(Segment::Key(k.clone()));
                flatten(v, path, out);
                path.pop();
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, v) in a.iter().enumerate() {
                path.push(Segment::Index(i));
                flatten(v, path, out);
                path.pop();
            }
        }
        leaf => {
            out.insert(path.clone(), leaf);
        }
    }
}

/// A document's leaves; an empty document (`{}`, `[]`) has none.
fn leaves(value: &Value) -> Leaves<'_> {
    let mut out = BTreeMap::new();
    let empty = match value {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    if !empty {
        flatten(value, &mut Vec::new(), &mut out);
    }
    out
}

/// `a.b[0].c`; keys that are not plain words are quoted: `a["x.y"]`.
fn path_text(path: &[Segment]) -> String {
    if path.is_empty() {
        return "(whole value)".into();
    }
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
            Segment::Key(k)
                if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
            {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Key(k) => out.push_str(&format!("[{}]", Value::String(k.clone()))),
        }
    }
    out
}

/// A leaf as JSON text (strings quoted, so `"1"` and `1` differ).
fn json_text(v: &Value) -> String {
    v.to_string()
}

/// A document's leaves as `(path, value)` for display; strings unquoted.
pub(crate) fn flat_fields(value: &Value) -> Vec<(String, String)> {
    leaves(value)
        .into_iter()
        .map(|(path, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => json_text(other),
            };
            (path_text(&path), text)
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Added,
    Removed,
    Changed,
    Unchanged,
}

impl Change {
    /// CSS modifier.
    pub(crate) fn class(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
            Change::Unchanged => "unchanged",
        }
    }

    /// Shown next to the row, so the kind never depends on colour alone.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
            Change::Unchanged => "unchanged",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DiffRow {
    pub(crate) path: String,
    pub(crate) change: Change,
    pub(crate) before: Option<String>,
    pub(crate) after: Option<String>,
}

/// The rows that differ, in path order, and the unchanged ones apart (the
/// page folds them away).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Diff {
    pub(crate) changed: Vec<DiffRow>,
    pub(crate) unchanged: Vec<DiffRow>,
}

impl Diff {
    pub(crate) fn count(&self, change: Change) -> usize {
        self.changed.iter().filter(|r| r.change == change).count()
    }
}

pub(crate) fn diff(before: &Value, after: &Value) -> Diff {
    let (old, new) = (leaves(before), leaves(after));
    let mut paths: Vec<&Vec<Segment>> = old.keys().chain(new.keys()).collect();
    paths.sort();
    paths.dedup();
    let mut out = Diff::default();
    for path in paths {
        let (b, a) = (old.get(path), new.get(path));
        let change = match (b, a) {
            (None, _) => Change::Added,
            (_, None) => Change::Removed,
            (Some(b), Some(a)) if b == a => Change::Unchanged,
            _ => Change::Changed,
        };
        let row =
            DiffRow { path: path_text(path), change, before: b.map(|v| json_text(v)), after: a.map(|v| json_text(v)) };
        if change == Change::Unchanged { out.unchanged.push(row) } else { out.changed.push(row) }
    }
    out
}

/// The `before`/`after` pair of an event's metadata, if it carries either
/// (a missing side counts as an empty object).
pub(crate) fn changes_of(metadata: &Map<String, Value>) -> Option<(Value, Value)> {
    let (before, after) = (metadata.get("before"), metadata.get("after"));
    if before.is_none() && after.is_none() {
        return None;
    }
    let side = |v: Option<&Value>| v.cloned().unwrap_or_else(|| Value::Object(Map::new()));
    Some((side(before), side(after)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sign(change: Change) -> char {
        match change {
            Change::Added => '+',
            Change::Removed => '-',
            Change::Changed => '~',
            Change::Unchanged => '=',
        }
    }

    /// One line per row: `<sign> path: before -> after`.
    fn check(before: Value, after: Value, want: &[&str]) {
        let d = diff(&before, &after);
        let got: Vec<String> = d
            .changed
            .iter()
            .chain(&d.unchanged)
            .map(|r| {
                let side = |v: &Option<String>| v.clone().unwrap_or_else(|| "_".into());
                format!("{} {}: {} -> {}", sign(r.change), r.path, side(&r.before), side(&r.after))
            })
            .collect();
        assert_eq!(got, want, "{before} vs {after}");
    }

    #[test]
    fn rows_by_path() {
        check(json!({}), json!({}), &[]);
        check(json!({}), json!([]), &[]);
        check(json!({"a": 1}), json!({"a": 1}), &["= a: 1 -> 1"]);
        check(json!({"a": 1}), json!({"a": 2}), &["~ a: 1 -> 2"]);
        check(json!({"a": 1}), json!({"a": "1"}), &[r#"~ a: 1 -> "1""#]);
        check(json!({}), json!({"a": {"b": true}}), &["+ a.b: _ -> true"]);
        check(json!({"a": {"b": true}}), json!({}), &["- a.b: true -> _"]);
        check(
            json!({"grants": [{"subject": "1", "permission": "view"}]}),
            json!({"grants": [{"subject": "1", "permission": "edit"}, {"subject": "2", "permission": "view"}]}),
            &[
                r#"~ grants[0].permission: "view" -> "edit""#,
                r#"+ grants[1].permission: _ -> "view""#,
                r#"+ grants[1].subject: _ -> "2""#,
                r#"= grants[0].subject: "1" -> "1""#,
            ],
        );
        // Empty containers are values; indexes sort as numbers.
        check(
            json!({"l": []}),
            json!({"l": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}),
            &[
                "- l: [] -> _",
                "+ l[0]: _ -> 0",
                "+ l[1]: _ -> 1",
                "+ l[2]: _ -> 2",
                "+ l[3]: _ -> 3",
                "+ l[4]: _ -> 4",
                "+ l[5]: _ -> 5",
                "+ l[6]: _ -> 6",
                "+ l[7]: _ -> 7",
                "+ l[8]: _ -> 8",
                "+ l[9]: _ -> 9",
                "+ l[10]: _ -> 10",
            ],
        );
        check(json!({"x.y": 1, "": 2}), json!({"x.y": 1, "": 3}), &[r#"~ [""]: 2 -> 3"#, r#"= ["x.y"]: 1 -> 1"#]);
        check(json!("a"), json!("b"), &[r#"~ (whole value): "a" -> "b""#]);
        check(json!({"a": null}), json!({"a": {}}), &["~ a: null -> {}"]);
    }

    #[test]
    fn counts_by_kind() {
        let d = diff(&json!({"a": 1, "b": 2, "c": 3}), &json!({"a": 1, "b": 3, "d": 4}));
        assert_eq!(
            [Change::Added, Change::Removed, Change::Changed, Change::Unchanged].map(|c| d.count(c)),
            [1, 1, 1, 0],
            "unchanged rows are kept apart"
        );
        assert_eq!(d.unchanged.len(), 1);
    }

    #[test]
    fn changes_need_before_or_after() {
        let m = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(changes_of(&m(json!({"parent_pid": "x"}))), None);
        assert_eq!(changes_of(&m(json!({"after": {"a": 1}}))), Some((json!({}), json!({"a": 1}))));
        assert_eq!(changes_of(&m(json!({"before": 1, "after": 2}))), Some((json!(1), json!(2))));
    }

    #[test]
    fn flat_fields_unquote_strings() {
        let got = flat_fields(
            &json!({"ip_address": "127.0.0.1", "revision_id": 9, "triggered_by": {"id": "1", "type": "user"}}),
        );
        let want = [
            ("ip_address", "127.0.0.1"),
            ("revision_id", "9"),
            ("triggered_by.id", "1"),
            ("triggered_by.type", "user"),
        ];
        let got: Vec<(&str, &str)> = got.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(got, want);
    }
}
