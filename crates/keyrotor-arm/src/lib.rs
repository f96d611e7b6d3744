//! The Azure Resource Manager wire layer: the only crate that knows ARM
//! URLs, JSON shapes, status codes and the Entra token endpoints.
//!
//! Flow of one ARM request: [`arm_dispatch`] reads the body (bounded),
//! checks `api-version`, authenticates the bearer token, maps (method, path)
//! to an [`operation::Operation`] and runs it against `keyrotor-core` on the
//! blocking pool. Every failure becomes an [`error::ArmError`], rendered by
//! the single table in `error.rs`.
//!
//! Modules: `state` ([`ArmState`], audiences, authentication), `dispatch`
//! (body, query, authorization, request ids), `handlers` (one
//! `handle_<operation>` function per operation, by resource), `odata`
//! (`$filter`), `metadata` (`/metadata/endpoints`), `graph` (the Microsoft
//! Graph subset az needs to resolve principals, its own wire types and
//! error table), and the public `wire`
//! (every ARM body as a `serde` type, shared with the CLI; resource ids and
//! api-versions), `dto` (core types to and from the wire types, request
//! validation), `endpoints`, `error`, `login` and `operation`.

mod dispatch;
pub mod dto;
pub mod endpoints;
pub mod error;
#[cfg(test)]
mod golden_tests;
pub mod graph;
mod handlers;
pub mod login;
mod metadata;
mod odata;
pub mod operation;
mod state;
pub mod wire;

use std::sync::Arc;

use axum::routing::{any, get, post};
use axum::Router;

pub use dispatch::{arm_dispatch, MAX_BODY_BYTES};
pub use endpoints::Endpoints;
pub use state::ArmState;

/// The control-plane router: token issuer endpoints plus the ARM fallback.
pub fn router(state: Arc<ArmState>) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(login::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(login::jwks))
        .route("/{tenant}/oauth2/v2.0/token", post(login::token))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(login::authorize).post(login::authorize),
        )
        .route("/metadata/endpoints", get(metadata::metadata_endpoints))
        .route(graph::PREFIX, any(graph::dispatch))
        .route(
            &format!("{}/{{*rest}}", graph::PREFIX),
            any(graph::dispatch),
        )
        .fallback(arm_dispatch)
        .with_state(state)
}
