//! Signing in and out of the admin page. The sign-in form posts an API
//! token; an admin or auditor token starts a session, any other token is
//! refused on the form itself. Both forms are CSRF-protected: sign-in by a
//! double-submit cookie, sign-out by the session's own token.

use std::time::Instant;

use askama::Template;
use axum::body::to_bytes;
use axum::extract::{RawQuery, Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::session::{
    CSRF_COOKIE, HOME, SESSION_COOKIE, SignedIn, cookie, csrf_cookie, current, delete_cookie, page_roles,
    random_secret, safe_next, secrets_match, secure_cookies, see_other, session_cookie,
};
use super::{Layout, html};
use crate::state::AppState;

/// Far more than a token, a CSRF token and a path need.
const MAX_FORM_BYTES: usize = 16 * 1024;

#[derive(Template)]
#[template(path = "admin/sign_in.html")]
struct SignInPage {
    layout: Layout,
    csrf: String,
    next: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

/// The fields of a form body (`application/x-www-form-urlencoded`); the
/// first value of each name counts.
struct FormFields(Vec<(String, String)>);

impl FormFields {
    fn parse(body: &[u8]) -> FormFields {
        FormFields(form_urlencoded::parse(body).into_owned().collect())
    }

    fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }
}

/// A request a browser marked as coming from another site.
fn cross_site(headers: &HeaderMap) -> bool {
    headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes() == b"cross-site")
}

/// The sign-in form. Its CSRF cookie is reused while it is valid, so two
/// open sign-in tabs both work.
fn sign_in_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: &str,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Response {
    let csrf = cookie(headers, CSRF_COOKIE)
        .filter(|c| c.len() == 43 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .map_or_else(random_secret, str::to_owned);
    let page =
        SignInPage { layout: Layout::new("Sign in", None), csrf: csrf.clone(), next: next.to_owned(), error, notice };
    let mut res = html(status, &page);
    let (name, value) = csrf_cookie(&csrf, secure_cookies(state));
    res.headers_mut().append(name, value);
    res
}

/// `GET /administration/sign-in?next=...`
pub(crate) async fn form(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let param = |name: &str| form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v);
    let next = param("next").and_then(|n| safe_next(&n).map(str::to_owned)).unwrap_or_else(|| HOME.to_owned());
    if current(&state, &headers).is_some() {
        return see_other(&next);
    }
    let notice = param("signed_out").map(|_| "You have signed out.");
    sign_in_form(&state, &headers, StatusCode::OK, &next, None, notice)
}

/// `POST /administration/sign-in` with `token`, `csrf` and `next`.
pub(crate) async fn submit(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let Ok(body) = to_bytes(body, MAX_FORM_BYTES).await else {
        let error = "The sign-in form was too large.".to_owned();
        return sign_in_form(&state, &headers, StatusCode::PAYLOAD_TOO_LARGE, HOME, Some(error), None);
    };
    let fields = FormFields::parse(&body);
    let next = safe_next(fields.get("next")).unwrap_or(HOME);
    let csrf_ok = cookie(&headers, CSRF_COOKIE).is_some_and(|c| secrets_match(c, fields.get("csrf")));
    if !csrf_ok || cross_site(&headers) {
        let error = "The sign-in form expired or came from another site; please sign in again.".to_owned();
        return sign_in_form(&state, &headers, StatusCode::FORBIDDEN, next, Some(error), None);
    }
    let token = fields.get("token").trim();
    let Some(identity) = state.tokens.authenticate(token).filter(|_| !token.is_empty()) else {
        let error = "Invalid token.".to_owned();
        return sign_in_form(&state, &headers, StatusCode::UNAUTHORIZED, next, Some(error), None);
    };
    let roles = page_roles(&identity);
    if roles.is_empty() {
        let has: Vec<&str> = identity.roles.iter().map(|r| r.as_str()).collect();
        let error = format!(
            "This token has the role {}, which cannot use the administration page: sign in with an admin or auditor token.",
            if has.is_empty() { "none".to_owned() } else { has.join(", ") }
        );
        return sign_in_form(&state, &headers, StatusCode::FORBIDDEN, next, Some(error), None);
    }
    let name = identity.id.strip_prefix("token:").unwrap_or(&identity.id);
    // A new session id on every sign-in (no fixation); an old one ends.
    if let Some(previous) = current(&state, &headers) {
        state.sessions.end(&previous);
    }
    let session_id = state.sessions.create(name, roles, Instant::now());
    tracing::info!(token = %name, "admin page: signed in");
    let secure = secure_cookies(&state);
    let mut res = see_other(next);
    let cookies = res.headers_mut();
    let (h, v) = session_cookie(&session_id, secure);
    cookies.append(h, v);
    let (_, v) = delete_cookie(CSRF_COOKIE, secure);
    cookies.append(SET_COOKIE, v);
    res
}

/// `POST /administration/sign-out` with the session's `csrf`.
pub(crate) async fn sign_out(State(state): State<AppState>, signed_in: SignedIn, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, MAX_FORM_BYTES).await.unwrap_or_default();
    let fields = FormFields::parse(&body);
    if !secrets_match(&signed_in.csrf, fields.get("csrf")) || cross_site(&parts.headers) {
        let layout = Layout::new("Sign out", Some(&signed_in));
        let err = crate::error::ApiError::Forbidden(
            "The sign-out form expired or came from another site; use the Sign out button again.".into(),
        );
        return super::error_page(layout, err);
    }
    state.sessions.end(&signed_in);
    tracing::info!(token = %signed_in.name, "admin page: signed out");
    let mut res = see_other("/administration/sign-in?signed_out=1");
    let (h, v) = delete_cookie(SESSION_COOKIE, secure_cookies(&state));
    res.headers_mut().append(h, v);
    res
}
