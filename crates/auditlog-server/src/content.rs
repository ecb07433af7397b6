//! Media types (SPEC 5): what a request body may be sent as, and which of
//! `application/json` and `application/vnd.inveniordm.v1+json` a response
//! is written in, chosen from the `Accept` header.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::ApiError;

pub(crate) const JSON: &str = "application/json";
pub(crate) const INVENIO_JSON: &str = "application/vnd.inveniordm.v1+json";
pub(crate) const NDJSON: &str = "application/x-ndjson";

/// Request bodies of `POST /api/audit-logs`.
pub(crate) const JSON_TYPES: &[&str] = &[JSON, INVENIO_JSON];
/// Request bodies of `POST /api/audit-logs/_bulk`.
pub(crate) const BULK_TYPES: &[&str] = &[NDJSON, JSON, INVENIO_JSON];

/// Checks the request's `Content-Type` (parameters such as `charset` aside).
pub(crate) fn require_content_type(headers: &HeaderMap, accepted: &'static [&'static str]) -> Result<(), ApiError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Err(ApiError::UnsupportedMediaType { found: None, accepted });
    };
    let raw = String::from_utf8_lossy(value.as_bytes());
    let essence = raw.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if accepted.contains(&essence.as_str()) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType { found: Some(raw.into_owned()), accepted })
    }
}

/// The media type a response is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ResponseFormat {
    #[default]
    Json,
    InvenioJson,
}

impl ResponseFormat {
    /// The reference's vendor type when `Accept` prefers it, else plain JSON
    /// (also when `Accept` names neither: a browser's `text/html, */*` still
    /// gets JSON rather than a 406).
    pub(crate) fn from_accept(accept: &str) -> Self {
        let mut vendor = 0.0f32;
        let mut json_exact: Option<f32> = None;
        let mut json_wildcard = 0.0f32;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|v| v.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                INVENIO_JSON => vendor = vendor.max(q),
                JSON => json_exact = Some(json_exact.unwrap_or(0.0).max(q)),
                "application/*" | "*/*" => json_wildcard = json_wildcard.max(q),
                _ => {}
            }
        }
        let json = json_exact.unwrap_or(json_wildcard);
        // A type named exactly beats a wildcard of the same weight.
        let vendor_wins = vendor > json || (vendor > 0.0 && vendor == json && json_exact.is_none());
        if vendor_wins { ResponseFormat::InvenioJson } else { ResponseFormat::Json }
    }

    pub(crate) fn content_type(self) -> &'static str {
        match self {
            ResponseFormat::Json => JSON,
            ResponseFormat::InvenioJson => INVENIO_JSON,
        }
    }

    /// `body` as JSON in this format.
    pub(crate) fn respond(self, status: StatusCode, body: &impl Serialize) -> Response {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                (status, [(CONTENT_TYPE, HeaderValue::from_static(self.content_type()))], bytes).into_response()
            }
            Err(e) => ApiError::Internal(format!("cannot serialise the response: {e}")).into_response(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ResponseFormat {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let accept: Vec<String> =
            parts.headers.get_all(ACCEPT).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect();
        Ok(ResponseFormat::from_accept(&accept.join(",")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        use ResponseFormat::*;
        let cases = [
            ("", Json),
            ("application/json", Json),
            ("application/vnd.inveniordm.v1+json", InvenioJson),
            ("Application/VND.InvenioRDM.v1+JSON", InvenioJson),
            ("application/vnd.inveniordm.v1+json, */*", InvenioJson),
            ("application/vnd.inveniordm.v1+json;q=0.5, application/json", Json),
            ("application/json;q=0.5, application/vnd.inveniordm.v1+json", InvenioJson),
            ("application/json, application/vnd.inveniordm.v1+json", Json),
            ("application/vnd.inveniordm.v1+json;q=0", Json),
            ("text/html,application/xhtml+xml,*/*;q=0.8", Json),
            ("text/plain", Json),
        ];
        for (accept, want) in cases {
            assert_eq!(ResponseFormat::from_accept(accept), want, "Accept: {accept}");
        }
    }

    #[test]
    fn content_type_check_ignores_parameters_and_case() {
        let check = |ct: Option<&str>| {
            let mut h = HeaderMap::new();
            if let Some(ct) = ct {
                h.insert(CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            }
            require_content_type(&h, JSON_TYPES).map_err(|e| e.status().as_u16())
        };
        assert_eq!(check(Some("application/json")), Ok(()));
        assert_eq!(check(Some("application/json; charset=utf-8")), Ok(()));
        assert_eq!(check(Some("Application/Vnd.InvenioRDM.v1+json")), Ok(()));
        assert_eq!(check(Some("text/plain")), Err(415));
        assert_eq!(check(Some("application/x-ndjson")), Err(415));
        assert_eq!(check(None), Err(415));
    }
}
