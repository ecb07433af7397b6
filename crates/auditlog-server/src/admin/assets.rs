//! The admin page's stylesheet and script: static files compiled into the
//! binary (no build step, no CDN), served with a validator and a cache
//! lifetime; pages link them with a content hash so a new release is
//! fetched at once.

use std::sync::LazyLock;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("../../static/admin.css");
const JS: &str = include_str!("../../static/admin.js");

struct Asset {
    body: &'static str,
    content_type: &'static str,
    /// The first 16 hex digits of the body's SHA-256.
    version: String,
    url: String,
}

impl Asset {
    fn new(path: &str, body: &'static str, content_type: &'static str) -> Asset {
        let version = hex::encode(&Sha256::digest(body.as_bytes())[..8]);
        Asset { body, content_type, url: format!("{path}?v={version}"), version }
    }

    fn respond(&self, headers: &HeaderMap) -> Response {
        let etag = format!("\"{}\"", self.version);
        let cache = [
            (CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
            (ETAG, HeaderValue::from_str(&etag).expect("hex is a valid header")),
        ];
        let fresh = headers
            .get_all(IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|tag| tag.trim() == etag || tag.trim() == "*");
        if fresh {
            return (StatusCode::NOT_MODIFIED, cache).into_response();
        }
        (cache, [(CONTENT_TYPE, HeaderValue::from_static(self.content_type))], self.body).into_response()
    }
}

static STYLESHEET: LazyLock<Asset> =
    LazyLock::new(|| Asset::new("/administration/static/admin.css", CSS, "text/css; charset=utf-8"));
static SCRIPT: LazyLock<Asset> =
    LazyLock::new(|| Asset::new("/administration/static/admin.js", JS, "text/javascript; charset=utf-8"));

/// The stylesheet's URL, with its version.
pub(crate) fn css_url() -> &'static str {
    &STYLESHEET.url
}

/// The script's URL, with its version.
pub(crate) fn js_url() -> &'static str {
    &SCRIPT.url
}

pub(crate) async fn stylesheet(headers: HeaderMap) -> Response {
    STYLESHEET.respond(&headers)
}

pub(crate) async fn script(headers: HeaderMap) -> Response {
    SCRIPT.respond(&headers)
}
