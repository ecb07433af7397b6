//! Handlers, grouped by resource: audit events (search, read, ingest) and
//! the transparency log's checkpoint and proofs, and the operational endpoints (health, metrics, the OpenAPI document). The
//! routes that reach them are all in [`crate::routes`].

pub(crate) mod events;
pub(crate) mod ingest;
pub(crate) mod ops;
pub(crate) mod search;
pub(crate) mod transparency;
