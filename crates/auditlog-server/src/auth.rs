//! Bearer-token access (SPEC 5.4): tokens are known only by their SHA-256,
//! a presented token is hashed and compared in constant time with every
//! configured digest, and [`Authorized`] turns a request into an
//! [`Identity`] that holds the permission a route needs (401 or 403 if not).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use auditlog_core::config::TokenConfig;
use auditlog_core::{Identity, Permission, Role};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// Prefix of generated tokens, so a leaked one is recognisable in a scan.
const TOKEN_PREFIX: &str = "al_";

/// Lowercase hex SHA-256 of a token: what the config stores.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random token: `al_` and 32 bytes from a CSPRNG, base64url without
/// padding (URL- and header-safe).
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

struct TokenEntry {
    name: String,
    digest: [u8; 32],
    roles: Vec<Role>,
}

/// The configured tokens, by digest.
#[derive(Clone, Default)]
pub(crate) struct TokenTable {
    entries: Arc<[TokenEntry]>,
}

impl fmt::Debug for TokenTable {
    // Names only: digests are not secrets, but nothing about tokens belongs in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.entries.iter().map(|e| &e.name)).finish()
    }
}

impl TokenTable {
    pub(crate) fn from_config(tokens: &BTreeMap<String, TokenConfig>) -> Self {
        let entries = tokens
            .iter()
            .filter_map(|(name, t)| {
                // The config loader already checked the digest's form.
                let digest: [u8; 32] = hex::decode(&t.sha256).ok()?.try_into().ok()?;
                Some(TokenEntry { name: name.clone(), digest, roles: t.roles.clone() })
            })
            .collect();
        TokenTable { entries }
    }

    /// The identity of a presented token, if it is configured.
    pub(crate) fn authenticate(&self, token: &str) -> Option<Identity> {
        let digest = Sha256::digest(token.as_bytes());
        let mut found = None;
        // Every digest is compared, without early exit, so timing does not
        // depend on which entry (if any) matches.
        for entry in self.entries.iter() {
            let equal: bool = entry.digest.ct_eq(digest.as_slice()).into();
            if equal && found.is_none() {
                found = Some(entry);
            }
        }
        found.map(|e| Identity::with_roles(format!("token:{}", e.name), e.roles.iter().copied()))
    }
}

/// What a route needs; see [`need`].
pub(crate) trait Requirement {
    const PERMISSION: Permission;
}

/// Markers for [`Authorized`]: `Authorized<need::Create>`.
pub(crate) mod need {
    use super::{Permission, Requirement};

    pub(crate) struct Search;
    pub(crate) struct Read;
    pub(crate) struct Create;
    pub(crate) struct Verify;

    impl Requirement for Search {
        const PERMISSION: Permission = Permission::Search;
    }
    impl Requirement for Read {
        const PERMISSION: Permission = Permission::Read;
    }
    impl Requirement for Create {
        const PERMISSION: Permission = Permission::Create;
    }
    impl Requirement for Verify {
        const PERMISSION: Permission = Permission::Verify;
    }
}

/// An authenticated caller holding permission `P`. Extracting it answers 401
/// without a valid token and 403 when the token's roles lack `P`.
pub(crate) struct Authorized<P> {
    pub(crate) identity: Identity,
    _need: PhantomData<P>,
}

impl<P: Requirement> FromRequestParts<AppState> for Authorized<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts)?;
        let identity = state.tokens.authenticate(token).ok_or(ApiError::InvalidToken)?;
        if !identity.can(P::PERMISSION) {
            let roles: Vec<&str> = Role::ALL.iter().filter(|r| r.allows(P::PERMISSION)).map(|r| r.as_str()).collect();
            return Err(ApiError::Forbidden(format!(
                "permission denied: {} needs one of the roles {}",
                P::PERMISSION,
                roles.join(", ")
            )));
        }
        Ok(Authorized { identity, _need: PhantomData })
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Err(ApiError::MissingToken);
    };
    let value = value.to_str().map_err(|_| ApiError::InvalidToken)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(ApiError::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::MissingToken);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::MissingToken);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_token_is_lowercase_hex_sha256() {
        // FIPS 180-2 test vector.
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn generated_tokens_are_prefixed_url_safe_and_distinct() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        let body = a.strip_prefix(TOKEN_PREFIX).expect("prefix");
        assert_eq!(body.len(), 43, "32 bytes in unpadded base64: {a}");
        assert!(body.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{a}");
    }

    #[test]
    fn authenticate_finds_the_token_by_digest() {
        let tokens = BTreeMap::from([
            ("ci".to_owned(), TokenConfig { sha256: hash_token("t-ci"), roles: vec![Role::System] }),
            ("ops".to_owned(), TokenConfig { sha256: hash_token("t-ops"), roles: vec![Role::Admin, Role::Auditor] }),
        ]);
        let table = TokenTable::from_config(&tokens);
        let digest = hash_token("t-ci");
        // token -> identity
        let cases = [
            ("t-ci", Some(Identity::with_roles("token:ci", [Role::System]))),
            ("t-ops", Some(Identity::with_roles("token:ops", [Role::Admin, Role::Auditor]))),
            ("t-ci ", None),
            ("", None),
            (digest.as_str(), None),
        ];
        for (token, want) in cases {
            assert_eq!(table.authenticate(token), want, "token {token:?}");
        }
        assert_eq!(format!("{table:?}"), r#"["ci", "ops"]"#);
    }
}
