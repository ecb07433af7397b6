//! The transparency endpoints (SPEC 5.5): the latest signed checkpoint, an
//! inclusion proof for one event, a consistency proof between two tree
//! sizes. Hashes are base64 (as in checkpoints). All need the verify right.

use auditlog_merkle::Hash;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;

use crate::auth::{Authorized, need};
use crate::content::ResponseFormat;
use crate::error::ApiError;
use crate::extract::EventId;
use crate::state::AppState;

fn b64(h: &Hash) -> String {
    B64.encode(h)
}

/// The value of `name` in a query string: absent, a whole number, or a 400
/// naming the parameter.
pub(crate) fn number_param(query: &Option<String>, name: &str) -> Result<Option<u64>, ApiError> {
    let mut found = None;
    for (k, v) in form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        if k != name || v.is_empty() {
            continue;
        }
        if found.is_some() {
            return Err(ApiError::BadParameter {
                param: name.into(),
                message: "given more than once; this parameter takes one value".into(),
            });
        }
        found = Some(v.parse::<u64>().map_err(|_| ApiError::BadParameter {
            param: name.into(),
            message: format!("{v:?} is not a whole number"),
        })?);
    }
    Ok(found)
}

/// `GET /api/audit-logs/checkpoint`: the C2SP signed note, as text.
pub(crate) async fn checkpoint(
    State(state): State<AppState>,
    auth: Authorized<need::Verify>,
) -> Result<Response, ApiError> {
    match state.service.checkpoint(&auth.identity).await? {
        Some(cp) => Ok((StatusCode::OK, [(CONTENT_TYPE, "text/plain; charset=utf-8")], cp.note).into_response()),
        None => Err(ApiError::NotYet(
            "No signed checkpoint yet: the log is empty or not yet integrated; retry in a second.".into(),
        )),
    }
}

/// `GET /api/audit-logs/{id}/proof?tree_size=N`.
pub(crate) async fn proof(
    State(state): State<AppState>,
    auth: Authorized<need::Verify>,
    format: ResponseFormat,
    EventId(id): EventId,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let tree_size = number_param(&query, "tree_size")?;
    let p = state.service.inclusion_proof(&auth.identity, id, tree_size).await?;
    Ok(format.respond(
        StatusCode::OK,
        &json!({
            "id": p.event_id,
            "leaf_index": p.leaf_index,
            "leaf_hash": b64(&p.leaf_hash),
            "tree_size": p.tree_size,
            "root": b64(&p.root),
            "proof": p.proof.iter().map(b64).collect::<Vec<_>>(),
            "checkpoint": p.checkpoint,
        }),
    ))
}

/// `GET /api/audit-logs/consistency?from=M&to=N`.
pub(crate) async fn consistency(
    State(state): State<AppState>,
    auth: Authorized<need::Verify>,
    format: ResponseFormat,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let from = number_param(&query, "from")?.ok_or_else(|| ApiError::BadParameter {
        param: "from".into(),
        message: "required: the older tree size".into(),
    })?;
    let to = number_param(&query, "to")?;
    let c = state.service.consistency_proof(&auth.identity, from, to).await?;
    Ok(format.respond(
        StatusCode::OK,
        &json!({
            "from": c.from,
            "to": c.to,
            "from_root": b64(&c.from_root),
            "to_root": b64(&c.to_root),
            "proof": c.proof.iter().map(b64).collect::<Vec<_>>(),
        }),
    ))
}
