//! The administration page of SPEC section 10, server-rendered HTML under
//! `/administration`: sign-in with an admin or auditor token, the search
//! page (query, facets, sort, date range, pagination), one event's details
//! with its full JSON and the diff of its `before`/`after`, and the
//! integrity status when a transparency log is plugged in.
//!
//! Every value shown comes through an askama template with HTML escaping
//! on; no template marks user data safe. Pages carry a strict
//! Content-Security-Policy (scripts from our own static file only), so the
//! page works without JavaScript and the small script only enhances it.
//!
//! Architecture invariant: the admin page is another client of the same
//! service calls and parameters as the API (`AuditLogService::search` with
//! the API's own parameter parsing); it adds presentation, not rules.

pub(crate) mod assets;
pub(crate) mod diff;
pub(crate) mod event;
pub(crate) mod search;
pub(crate) mod session;
pub(crate) mod sign_in;

use askama::Template;
use auditlog_core::Timestamp;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, RETRY_AFTER, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorCause};
use crate::integrity::{CheckpointSummary, EventIntegrity, IntegrityView};
use session::SignedIn;

/// Every admin path starts with this; the OpenAPI document (the API's
/// contract) leaves these routes out.
pub const ADMIN_PREFIX: &str = "/administration";

/// Scripts and styles only from our own static files; no framing; forms
/// only to ourselves.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the admin pages' security headers to a response.
pub(crate) fn with_security_headers(mut res: Response) -> Response {
    let headers = res.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// What every page's frame shows: the title, who is signed in (with the
/// sign-out form's CSRF token) and the latest checkpoint, if known.
pub(crate) struct Layout {
    pub(crate) title: String,
    pub(crate) user: Option<UserView>,
    pub(crate) checkpoint: Option<CheckpointView>,
    pub(crate) css: &'static str,
    pub(crate) js: &'static str,
}

pub(crate) struct UserView {
    pub(crate) name: String,
    pub(crate) roles: String,
    pub(crate) csrf: String,
}

/// The page header's integrity badge: the latest checkpoint's size and
/// time, or a note saying why there is none.
pub(crate) struct CheckpointView {
    pub(crate) tree_size: String,
    pub(crate) time: Option<TimeView>,
    pub(crate) note: &'static str,
}

impl Layout {
    pub(crate) fn new(title: impl Into<String>, user: Option<&SignedIn>) -> Layout {
        Layout {
            title: title.into(),
            user: user.map(|u| UserView {
                name: u.name.clone(),
                roles: u.identity.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
                csrf: u.csrf.clone(),
            }),
            checkpoint: None,
            css: assets::css_url(),
            js: assets::js_url(),
        }
    }

    /// Asks the integrity provider (if any) for the header badge.
    pub(crate) async fn with_checkpoint(
        mut self,
        integrity: Option<&dyn IntegrityView>,
        identity: &auditlog_core::Identity,
    ) -> Layout {
        if let Some(view) = integrity {
            self.checkpoint = Some(checkpoint_view(view.latest_checkpoint(identity).await));
        }
        self
    }
}

fn checkpoint_view(answer: Result<Option<CheckpointSummary>, crate::integrity::IntegrityError>) -> CheckpointView {
    let note = |note| CheckpointView { tree_size: String::new(), time: None, note };
    match answer {
        Ok(Some(c)) => {
            CheckpointView { tree_size: thousands(c.tree_size), time: Some(TimeView::new(c.signed_at)), note: "" }
        }
        Ok(None) => note("No signed checkpoint yet."),
        Err(e) => {
            tracing::warn!(error = %e, "integrity provider: latest checkpoint unavailable");
            note("Checkpoint status unavailable.")
        }
    }
}

/// A moment as the page shows it: UTC text (local time once the script
/// runs) in a `<time>` element whose title keeps the UTC value.
pub(crate) struct TimeView {
    /// `2026-11-26T14:00:00.123456Z`, for the `datetime` attribute.
    pub(crate) iso: String,
    /// `2026-11-26 14:00:00 UTC`.
    pub(crate) utc: String,
}

impl TimeView {
    pub(crate) fn new(t: Timestamp) -> TimeView {
        let dt = t.as_datetime();
        TimeView {
            iso: dt.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            utc: dt.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        }
    }
}

/// One event's integrity badge.
pub(crate) struct IntegrityBadge {
    /// CSS modifier: `verified`, `pending`, `failed`, `unknown`.
    pub(crate) class: &'static str,
    pub(crate) label: &'static str,
    pub(crate) detail: String,
}

impl IntegrityBadge {
    pub(crate) fn new(status: &EventIntegrity) -> IntegrityBadge {
        match status {
            EventIntegrity::Verified { leaf_index, tree_size } => IntegrityBadge {
                class: "verified",
                label: "Verified",
                detail: format!(
                    "Leaf {} is included in the signed checkpoint of {} events.",
                    thousands(*leaf_index),
                    thousands(*tree_size)
                ),
            },
            EventIntegrity::Pending => IntegrityBadge {
                class: "pending",
                label: "Pending",
                detail: "Stored after the latest checkpoint; the next checkpoint will include it.".into(),
            },
            EventIntegrity::Failed { reason } => IntegrityBadge {
                class: "failed",
                label: "Failed",
                detail: format!("The inclusion proof does not verify: {reason}"),
            },
        }
    }

    pub(crate) fn unavailable() -> IntegrityBadge {
        IntegrityBadge {
            class: "unknown",
            label: "Unavailable",
            detail: "The transparency log could not be asked about this event.".into(),
        }
    }
}

/// `1234567` -> `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut groups: Vec<&str> =
        digits.as_bytes().rchunks(3).map(|g| std::str::from_utf8(g).expect("ASCII digits")).collect();
    groups.reverse();
    groups.join(",")
}

/// A rendered page. A template that fails to render (it cannot, short of a
/// formatting bug) becomes a plain 500.
pub(crate) fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [
                (CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
                // Audit data stays out of shared and browser caches.
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            let mut res = (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.").into_response();
            res.extensions_mut().insert(ErrorCause(format!("template: {e}")));
            res
        }
    }
}

#[derive(Template)]
#[template(path = "admin/error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    heading: &'static str,
    message: String,
}

/// An error as a page: the API error's status and message (a 5xx says only
/// that something failed; its cause goes to the request's log line).
pub(crate) fn error_page(layout: Layout, err: ApiError) -> Response {
    let status = err.status();
    let heading = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::BAD_REQUEST => "Bad request",
        StatusCode::FORBIDDEN => "Forbidden",
        StatusCode::SERVICE_UNAVAILABLE => "Temporarily unavailable",
        _ => "Something went wrong",
    };
    let page = ErrorPage { layout, status: status.as_u16(), heading, message: err.message() };
    let mut res = html(status, &page);
    if let ApiError::Unavailable { retry_after_secs, .. } = &err {
        res.headers_mut().insert(RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
    if let ApiError::Internal(cause) | ApiError::Unavailable { cause, .. } = err {
        res.extensions_mut().insert(ErrorCause(cause));
    }
    res
}

/// `GET /administration`: the admin page starts at the search.
pub(crate) async fn home() -> Response {
    session::see_other(session::HOME)
}

/// The 404 page for unknown paths under [`ADMIN_PREFIX`].
pub(crate) fn not_found(uri: &Uri) -> Response {
    let layout = Layout::new("Not found", None);
    let err = ApiError::NotFound(format!("There is no page at {}.", uri.path()));
    with_security_headers(error_page(layout, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        for (n, want) in [(0, "0"), (999, "999"), (1000, "1,000"), (1234567, "1,234,567"), (100000, "100,000")] {
            assert_eq!(thousands(n), want);
        }
    }

    #[test]
    fn time_view_is_utc_with_microseconds() {
        let t: Timestamp = "2026-11-26T15:00:00.123456+01:00".parse().unwrap();
        let v = TimeView::new(t);
        assert_eq!(v.iso, "2026-11-26T14:00:00.123456Z");
        assert_eq!(v.utc, "2026-11-26 14:00:00 UTC");
    }
}
