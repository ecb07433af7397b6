//! One event's page, `GET /administration/audit-logs/{id}`: every field,
//! the full JSON as the API returns it (with a copy button), links to the
//! other events of the same resource and of the same user, the diff of
//! `before`/`after` when the event carries them, and its integrity status
//! when a transparency log is plugged in.

use askama::Template;
use auditlog_store::SearchParams;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use uuid::Uuid;

use super::diff::{Change, Diff, changes_of, diff, flat_fields};
use super::search::search_url;
use super::session::SignedIn;
use super::{IntegrityBadge, Layout, TimeView, error_page, html};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin/event.html")]
struct EventPage {
    layout: Layout,
    id: String,
    time: TimeView,
    action: String,
    resource_type: String,
    resource_id: String,
    user_id: String,
    username: Option<String>,
    email: String,
    message: String,
    /// Metadata leaves other than `before`/`after` (shown as the diff).
    metadata: Vec<(String, String)>,
    json: String,
    resource_href: String,
    user_href: String,
    action_href: String,
    changes: Option<Changes>,
    integrity: Option<IntegrityBadge>,
}

struct Changes {
    diff: Diff,
    summary: String,
}

impl Changes {
    fn new(diff: Diff) -> Changes {
        let counts = [Change::Added, Change::Removed, Change::Changed]
            .map(|c| (diff.count(c), c.label()))
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, label)| format!("{n} {label}"))
            .collect::<Vec<_>>();
        let summary = if counts.is_empty() { "No differences.".to_owned() } else { counts.join(", ") };
        Changes { diff, summary }
    }
}

pub(crate) async fn page(State(state): State<AppState>, signed_in: SignedIn, Path(raw): Path<String>) -> Response {
    let layout = Layout::new("Audit event", Some(&signed_in))
        .with_checkpoint(state.integrity.as_deref(), &signed_in.identity)
        .await;
    let Ok(id) = Uuid::parse_str(&raw) else {
        let err = ApiError::BadRequest(format!(
            "Invalid event id {raw:?}: expected a UUID like 01936f7e-8b4a-7c3e-9d2a-5f1e2b3c4d5e."
        ));
        return error_page(layout, err);
    };
    let event = match state.service.read(&signed_in.identity, id).await {
        Ok(event) => event,
        Err(e) => return error_page(layout, e.into()),
    };
    let integrity = match &state.integrity {
        Some(view) => match view.event_status(&signed_in.identity, id).await {
            Ok(status) => status.as_ref().map(IntegrityBadge::new),
            Err(e) => {
                tracing::warn!(error = %e, "integrity provider: event status unavailable");
                Some(IntegrityBadge::unavailable())
            }
        },
        None => None,
    };
    let mut others = event.metadata.clone();
    others.remove("before");
    others.remove("after");
    let json = serde_json::to_string_pretty(&event.to_api_json(&state.base_url)).unwrap_or_default();
    let page = EventPage {
        layout: Layout { title: format!("{} · {}", event.action, event.resource.id), ..layout },
        id: event.id.to_string(),
        time: TimeView::new(event.created),
        resource_href: search_url(&SearchParams {
            resource_type: Some(event.resource.kind.clone()),
            resource_id: Some(event.resource.id.clone()),
            ..SearchParams::default()
        }),
        user_href: search_url(&SearchParams { user_id: Some(event.user.id.clone()), ..SearchParams::default() }),
        action_href: search_url(&SearchParams { facet_action: vec![event.action.clone()], ..SearchParams::default() }),
        changes: changes_of(&event.metadata).map(|(before, after)| Changes::new(diff(&before, &after))),
        metadata: flat_fields(&Value::Object(others)),
        action: event.action,
        resource_type: event.resource.kind,
        resource_id: event.resource.id,
        user_id: event.user.id,
        username: event.user.username,
        email: event.user.email,
        message: event.message,
        json,
        integrity,
    };
    html(StatusCode::OK, &page)
}
