//! The OpenAPI 3.1 document of the API, written by hand in `openapi.json`
//! and served as is. A test checks it against the route table both ways.

pub(crate) const DOCUMENT: &str = include_str!("openapi.json");

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::DOCUMENT;
    use crate::routes::api_route_table;

    const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    fn documented() -> BTreeSet<(String, String)> {
        let doc: Value = serde_json::from_str(DOCUMENT).expect("openapi.json is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().expect("paths");
        let mut out = BTreeSet::new();
        for (path, item) in paths {
            for (key, _) in item.as_object().expect("path item") {
                if METHODS.contains(&key.as_str()) {
                    out.insert((path.clone(), key.to_ascii_uppercase()));
                }
            }
        }
        out
    }

    #[test]
    fn document_paths_and_methods_match_the_route_table() {
        let routed: BTreeSet<(String, String)> =
            api_route_table().into_iter().map(|(m, p)| (p.to_owned(), m.as_str().to_owned())).collect();
        let documented = documented();
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(undocumented.is_empty(), "routes missing from openapi.json: {undocumented:?}");
        assert!(unrouted.is_empty(), "openapi.json documents routes that do not exist: {unrouted:?}");
    }

    #[test]
    fn every_reference_resolves() {
        let doc: Value = serde_json::from_str(DOCUMENT).expect("JSON");
        let mut stack = vec![&doc];
        let mut refs = 0;
        while let Some(v) = stack.pop() {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("external $ref {r}"));
                        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
                        refs += 1;
                    }
                    stack.extend(m.values());
                }
                Value::Array(a) => stack.extend(a),
                _ => {}
            }
        }
        assert!(refs > 0);
    }
}
