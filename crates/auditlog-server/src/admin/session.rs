//! Admin page sessions: signing in with an API token creates a random
//! session id kept in memory (idle and absolute expiry), sent as an
//! `HttpOnly; SameSite=Strict` cookie scoped to `/administration`. Each
//! session carries its own CSRF token; the sign-in form, which has no
//! session yet, uses a double-submit cookie. The [`SignedIn`] extractor
//! sends anyone without a session to the sign-in page, remembering a local
//! `next` path.
//!
//! Sessions live in this process only: after a restart, or on another
//! server behind a load balancer without sticky sessions, users sign in
//! again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use auditlog_core::{Identity, Role};
use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::api::search::form_encode;
use crate::state::AppState;

pub(crate) const SESSION_COOKIE: &str = "auditlog_session";
/// The sign-in form's double-submit token.
pub(crate) const CSRF_COOKIE: &str = "auditlog_csrf";
/// Every admin cookie is scoped to the admin pages.
const COOKIE_PATH: &str = "/administration";
/// A session unused this long ends.
const IDLE_TIMEOUT: Duration = Duration::from_secs(8 * 3600);
/// A session ends this long after sign-in, however busy.
const ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(12 * 3600);
/// Most live sessions kept; signing in beyond this ends the least recently
/// used one (only holders of valid tokens can create sessions at all).
const MAX_SESSIONS: usize = 10_000;
/// Lifetime of the sign-in form's CSRF cookie.
const CSRF_COOKIE_MAX_AGE: Duration = Duration::from_secs(3600);

/// The roles that may use the admin page; a session keeps only these, so a
/// token that also has `system` cannot create events through a session.
const PAGE_ROLES: [Role; 2] = [Role::Admin, Role::Auditor];

/// 256 random bits, base64url: session ids and CSRF tokens.
pub(crate) fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Equality of two secrets in time independent of where they differ.
pub(crate) fn secrets_match(a: &str, b: &str) -> bool {
    // Hashing first makes the comparison length-independent too.
    bool::from(Sha256::digest(a.as_bytes()).ct_eq(&Sha256::digest(b.as_bytes())))
}

/// The admin-page part of a token's roles, if it has any.
pub(crate) fn page_roles(identity: &Identity) -> Vec<Role> {
    PAGE_ROLES.into_iter().filter(|r| identity.roles.contains(r)).collect()
}

struct Session {
    name: String,
    roles: Vec<Role>,
    csrf: String,
    created: Instant,
    last_seen: Instant,
}

impl Session {
    fn expired(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_seen) >= IDLE_TIMEOUT
            || now.saturating_duration_since(self.created) >= ABSOLUTE_TIMEOUT
    }
}

/// A signed-in admin page user.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    /// The token's name in the configuration.
    pub(crate) name: String,
    /// The token's identity, narrowed to the page's roles.
    pub(crate) identity: Identity,
    /// This session's CSRF token, for state-changing forms.
    pub(crate) csrf: String,
    key: [u8; 32],
}

/// The session table, keyed by the SHA-256 of the session id so that a
/// lookup's timing says nothing about stored ids.
pub(crate) struct Sessions {
    table: Mutex<HashMap<[u8; 32], Session>>,
    limit: usize,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions { table: Mutex::default(), limit: MAX_SESSIONS }
    }
}

fn key_of(session_id: &str) -> [u8; 32] {
    Sha256::digest(session_id.as_bytes()).into()
}

impl Sessions {
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        // A poisoned lock only means another request panicked mid-update.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a session for token `name` with `roles`; returns its id.
    /// Expired sessions are dropped at the same time, and at the size limit
    /// the least recently used one makes room.
    pub(crate) fn create(&self, name: &str, roles: Vec<Role>, now: Instant) -> String {
        let id = random_secret();
        let session = Session { name: name.to_owned(), roles, csrf: random_secret(), created: now, last_seen: now };
        let mut table = self.table();
        table.retain(|_, s| !s.expired(now));
        let oldest = table.iter().min_by_key(|(_, s)| s.last_seen).map(|(k, _)| *k);
        if let Some(oldest) = oldest.filter(|_| table.len() >= self.limit) {
            table.remove(&oldest);
        }
        table.insert(key_of(&id), session);
        id
    }

    /// The live session with this id, marked as used at `now`.
    pub(crate) fn get(&self, session_id: &str, now: Instant) -> Option<SignedIn> {
        let key = key_of(session_id);
        let mut table = self.table();
        let session = table.get_mut(&key)?;
        if session.expired(now) {
            table.remove(&key);
            return None;
        }
        session.last_seen = now;
        Some(SignedIn {
            name: session.name.clone(),
            identity: Identity::with_roles(format!("token:{}", session.name), session.roles.iter().copied()),
            csrf: session.csrf.clone(),
            key,
        })
    }

    pub(crate) fn end(&self, signed_in: &SignedIn) {
        self.table().remove(&signed_in.key);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.table().len()
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Whether cookies must carry `Secure`: when the server is reached over HTTPS.
pub(crate) fn secure_cookies(state: &AppState) -> bool {
    state.base_url.starts_with("https://")
}

/// A `Set-Cookie` value for an admin cookie; `max_age` zero deletes it.
pub(crate) fn set_cookie(
    name: &str,
    value: &str,
    max_age: Duration,
    secure: bool,
) -> (axum::http::HeaderName, HeaderValue) {
    let secure = if secure { "; Secure" } else { "" };
    let header =
        format!("{name}={value}; Path={COOKIE_PATH}; Max-Age={}; HttpOnly; SameSite=Strict{secure}", max_age.as_secs());
    // Names are constants and values base64url: always a valid header.
    (SET_COOKIE, HeaderValue::from_str(&header).expect("cookie values are base64url"))
}

pub(crate) fn session_cookie(id: &str, secure: bool) -> (axum::http::HeaderName, HeaderValue) {
    set_cookie(SESSION_COOKIE, id, ABSOLUTE_TIMEOUT, secure)
}

pub(crate) fn csrf_cookie(token: &str, secure: bool) -> (axum::http::HeaderName, HeaderValue) {
    set_cookie(CSRF_COOKIE, token, CSRF_COOKIE_MAX_AGE, secure)
}

pub(crate) fn delete_cookie(name: &str, secure: bool) -> (axum::http::HeaderName, HeaderValue) {
    set_cookie(name, "", Duration::ZERO, secure)
}

/// Where the admin page starts.
pub(crate) const HOME: &str = "/administration/audit-logs";

/// `next` if it is a path of the admin pages (so signing in can never
/// redirect elsewhere), else `None`.
pub(crate) fn safe_next(next: &str) -> Option<&str> {
    let path = next.split(['?', '#']).next().unwrap_or_default();
    let local = path == "/administration" || path.starts_with("/administration/");
    let clean = next.len() <= 2048
        && next.bytes().all(|b| b.is_ascii_graphic())
        && !next.contains('\\')
        && !path.split('/').any(|segment| segment == ".." || segment == ".");
    (local && clean).then_some(next)
}

/// `303 See Other` to `location`, a local path.
pub(crate) fn see_other(location: &str) -> Response {
    let location = HeaderValue::from_str(location).unwrap_or_else(|_| HeaderValue::from_static(HOME));
    (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response()
}

/// The sign-in page, returning to `next` afterwards.
pub(crate) fn sign_in_url(next: &str) -> String {
    format!("/administration/sign-in?next={}", form_encode(next))
}

/// The session of a request's cookie, if it is live.
pub(crate) fn current(state: &AppState, headers: &HeaderMap) -> Option<SignedIn> {
    cookie(headers, SESSION_COOKIE).and_then(|id| state.sessions.get(id, Instant::now()))
}

impl FromRequestParts<AppState> for SignedIn {
    /// A redirect to the sign-in page.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some(signed_in) = current(state, &parts.headers) {
            return Ok(signed_in);
        }
        // Only a page can be returned to; a form post starts over at home.
        let here = match parts.method {
            Method::GET | Method::HEAD => parts.uri.path_and_query().map_or(HOME, |pq| pq.as_str()),
            _ => HOME,
        };
        Err(see_other(&sign_in_url(safe_next(here).unwrap_or(HOME))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_stay_on_the_admin_pages() {
        for (next, ok) in [
            ("/administration/audit-logs", true),
            ("/administration/audit-logs?q=action:draft.create&page=2", true),
            ("/administration/audit-logs/01936f7e-8b4a-7c3e-9d2a-5f1e2b3c4d5e", true),
            ("/administration", true),
            ("/administrationevil", false),
            ("/api/audit-logs", false),
            ("//evil.example/administration/", false),
            ("https://evil.example/administration/", false),
            ("/administration/../api/audit-logs", false),
            ("/administration/\\evil.example", false),
            ("/administration/a b", false),
            ("/administration/\r\nSet-Cookie:x", false),
            ("", false),
        ] {
            assert_eq!(safe_next(next).is_some(), ok, "{next:?}");
        }
    }

    #[test]
    fn sessions_expire_when_idle_or_old() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        let id = sessions.create("ops", vec![Role::Admin], t0);
        let hour = Duration::from_secs(3600);
        let got = sessions.get(&id, t0 + hour).expect("live");
        assert_eq!(got.identity, Identity::with_roles("token:ops", [Role::Admin]));
        assert_eq!(got.name, "ops");
        assert!(sessions.get("not-a-session", t0).is_none());
        // Used every 7 hours, it lives until the absolute limit.
        assert!(sessions.get(&id, t0 + 7 * hour).is_some());
        assert!(sessions.get(&id, t0 + 11 * hour).is_some());
        assert!(sessions.get(&id, t0 + 12 * hour).is_none(), "absolute timeout");
        assert_eq!(sessions.len(), 0, "an expired session is dropped on sight");

        let id = sessions.create("ops", vec![Role::Admin], t0);
        assert!(sessions.get(&id, t0 + 8 * hour).is_none(), "idle timeout");

        // Creating a session sweeps the expired ones.
        let _old = sessions.create("a", vec![Role::Auditor], t0);
        let _new = sessions.create("b", vec![Role::Auditor], t0 + 9 * hour);
        assert_eq!(sessions.len(), 1);
    }

    #[test]
    fn the_table_is_bounded() {
        let sessions = Sessions { limit: 3, ..Sessions::default() };
        let t0 = Instant::now();
        let first = sessions.create("ops", vec![Role::Admin], t0);
        for i in 1..3 {
            sessions.create("ops", vec![Role::Admin], t0 + Duration::from_millis(i));
        }
        assert_eq!(sessions.len(), 3);
        let last = sessions.create("ops", vec![Role::Admin], t0 + Duration::from_secs(60));
        assert_eq!(sessions.len(), 3);
        assert!(sessions.get(&first, t0 + Duration::from_secs(60)).is_none(), "the least recently used made room");
        assert!(sessions.get(&last, t0 + Duration::from_secs(60)).is_some());
    }

    #[test]
    fn ended_sessions_are_gone_and_ids_are_distinct() {
        let sessions = Sessions::default();
        let now = Instant::now();
        let a = sessions.create("ops", vec![Role::Admin], now);
        let b = sessions.create("ops", vec![Role::Admin], now);
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "256 bits in unpadded base64url");
        let signed_in = sessions.get(&a, now).unwrap();
        assert_ne!(signed_in.csrf, sessions.get(&b, now).unwrap().csrf);
        sessions.end(&signed_in);
        assert!(sessions.get(&a, now).is_none());
        assert!(sessions.get(&b, now).is_some());
    }

    #[test]
    fn page_roles_keep_admin_and_auditor_only() {
        let roles = |r: &[Role]| page_roles(&Identity::with_roles("t", r.iter().copied()));
        assert_eq!(roles(&[Role::System]), []);
        assert_eq!(roles(&[Role::System, Role::Admin]), [Role::Admin]);
        assert_eq!(roles(&[Role::Auditor]), [Role::Auditor]);
    }

    #[test]
    fn cookies_are_found_among_several() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; auditlog_session=abc"));
        h.append(COOKIE, HeaderValue::from_static("auditlog_csrf=xyz"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, CSRF_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "b"), None);
        let (_, v) = session_cookie("abc", true);
        assert_eq!(v, "auditlog_session=abc; Path=/administration; Max-Age=43200; HttpOnly; SameSite=Strict; Secure");
        let (_, v) = delete_cookie(CSRF_COOKIE, false);
        assert_eq!(v, "auditlog_csrf=; Path=/administration; Max-Age=0; HttpOnly; SameSite=Strict");
    }

    #[test]
    fn secrets_compare_by_value() {
        assert!(secrets_match("abc", "abc"));
        assert!(!secrets_match("abc", "abd"));
        assert!(!secrets_match("abc", "abcd"));
        assert!(!secrets_match("", "x"));
    }
}
