//! Printing results: aligned tables for people, JSON and NDJSON for programs.

use auditlog_core::Event;

/// Prints rows as columns aligned to their widest cell; the last column is
/// not padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let cells: Vec<&str> = cells.collect();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// One event as `key  value` lines.
pub fn event_details(e: &Event) -> String {
    let user = match &e.user.username {
        Some(u) => format!("{} ({u}) <{}>", e.user.id, e.user.email),
        None => format!("{} <{}>", e.user.id, e.user.email),
    };
    let metadata = serde_json::to_string_pretty(&e.metadata).unwrap_or_default().replace('\n', "\n          ");
    format!(
        "id        {}\ncreated   {}\naction    {}\nresource  {} {}\nuser      {user}\nmessage   {}\nmetadata  {metadata}\n",
        e.id, e.created, e.action, e.resource.kind, e.resource.id, e.message
    )
}

/// The table row of an event in a list.
pub fn event_row(e: &Event) -> Vec<String> {
    vec![
        e.created.to_string(),
        e.action.clone(),
        format!("{} {}", e.resource.kind, e.resource.id),
        e.user.id.clone(),
        e.message.clone(),
    ]
}

pub const EVENT_HEADER: [&str; 5] = ["CREATED", "ACTION", "RESOURCE", "USER", "MESSAGE"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let t = table(&["A", "BB"], &[vec!["xxx".into(), "y".into()], vec!["z".into(), "last".into()]]);
        assert_eq!(t, "A    BB\nxxx  y\nz    last\n");
    }
}
