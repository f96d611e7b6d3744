//! Key Vault data plane at `https://{vault}.vault.{suffix}[:port]/`: the
//! challenge-based bearer flow the SDKs expect (401 with `WWW-Authenticate:
//! Bearer authorization=…, resource=…`), data roles per operation, keys
//! (create, get, list, versions, update, rotate, wrap/unwrap, encrypt/
//! decrypt, sign/verify, backup/restore, rotation policies, soft delete,
//! recover, purge) and secrets (set, get, list, versions, update,
//! backup/restore, soft delete, recover, purge). Errors use the vault's
//! body `{"error":{"code","message"}}`.
//!
//! The request runs: the challenge (no token, no answer about anything
//! else) → the token (the pipeline's verification, this service's
//! audiences) → the operation ([`op`]) → the vault → the data role of the
//! operation at the vault → the body ([`parse`]) → the operation on a
//! blocking thread ([`objects`], shown by [`render`]).

mod error;
mod objects;
mod op;
mod parse;
mod render;

use error::Unauthenticated;
pub(crate) use error::VaultError;
pub(crate) use parse::read_attributes;

use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{Request, StatusCode};
use keyrotor_core::Actor;
use serde_json::{Map, Value};

use crate::{DataPlane, TokenError};
use objects::Ctx;
use op::Op;

const MAX_BODY: usize = 256 * 1024;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Where vaults live: the host suffix (`vault.localhost`), the challenge
/// resource (`https://vault.localhost:8443`) and the token authority.
pub struct VaultConfig {
    pub suffix: String,
    pub resource: String,
    pub authority: String,
}

/// The vault named by a request's host, if it is a vault host.
pub fn vault_host<'a>(host: &'a str, suffix: &str) -> Option<&'a str> {
    // Byte scan for the port separator: every data-plane request passes here.
    let host = match host.bytes().rposition(|b| b == b':') {
        Some(i) if host.as_bytes()[i + 1..].iter().all(u8::is_ascii_digit) => &host[..i],
        _ => host,
    };
    let name = host.strip_suffix(suffix)?.strip_suffix('.')?;
    (!name.is_empty() && !name.contains('.')).then_some(name)
}

pub(crate) fn ok(v: &Value) -> Response {
    crate::json_response(StatusCode::OK, v.to_string())
}

/// A body field the operation needs, missing or invalid.
pub(crate) fn bad(message: impl Into<String>) -> VaultError {
    VaultError::BadParameter(message.into())
}

impl DataPlane {
    /// Serves one vault request (`vault` is the host's first label).
    pub async fn handle_vault(self: &Arc<Self>, vault_name: &str, req: Request<Body>) -> Response {
        match self.vault_request(vault_name, req).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        }
    }

    async fn vault_request(
        self: &Arc<Self>,
        vault_name: &str,
        req: Request<Body>,
    ) -> Result<Response, VaultError> {
        let (Some(cfg), Some(tokens)) = (self.vault_cfg.as_ref(), self.tokens.as_ref()) else {
            return Err(VaultError::NotConfigured);
        };
        let challenge = |why| VaultError::Unauthenticated {
            why,
            challenge: format!(
                "Bearer authorization=\"{}/{}\", resource=\"{}\"",
                cfg.authority, tokens.tenant, cfg.resource
            ),
        };
        // 1. The challenge: no token, no answer about anything else.
        let token =
            crate::bearer(req.headers()).ok_or_else(|| challenge(Unauthenticated::MissingToken))?;
        let principal = self
            .principal(&token, |aud| {
                let aud = aud.trim_end_matches('/');
                aud.eq_ignore_ascii_case(&cfg.resource) || aud == "https://vault.azure.net"
            })
            .map_err(|e| match e {
                TokenError::Invalid(e) => challenge(Unauthenticated::InvalidToken(e)),
                TokenError::NotConfigured | TokenError::OtherTenant | TokenError::Audience(_) => {
                    challenge(Unauthenticated::AudienceOrTenant)
                }
            })?;
        let path = req.uri().path().to_string();
        // The client's request id correlates the activity entry.
        let correlation_id = req
            .headers()
            .get("x-ms-client-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= 64
                    && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            .map(str::to_string);
        if !req.uri().query().is_some_and(|q| {
            q.split('&')
                .any(|p| p.starts_with("api-version=") && p.len() > 12)
        }) {
            return Err(VaultError::MissingApiVersion);
        }
        let op = Op::parse(req.method(), &path).ok_or_else(|| VaultError::NotImplemented {
            method: req.method().clone(),
            path: path.chars().take(200).collect(),
        })?;
        let core = self.core().clone();
        let name = vault_name.to_string();
        let vault = tokio::task::spawn_blocking(move || core.vault_by_name(&name))
            .await
            .map_err(|_| VaultError::TaskFailed)??
            .ok_or(VaultError::VaultNotFound)?;
        // 2. The data role for this operation at the vault (or above).
        let scope = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
            vault.subscription, vault.resource_group, vault.name
        );
        let action = op.action();
        let scope_key = keyrotor_core::rbac::normalize_scope(&scope).unwrap_or_default();
        if !self.allows_data(&scope_key, &principal, action) {
            return Err(VaultError::NotAuthorized {
                principal,
                action,
                scope,
            });
        }
        let body = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|_| VaultError::TooLarge)?;
        let body: Map<String, Value> = if body.is_empty() {
            Map::new()
        } else {
            match serde_json::from_slice(&body) {
                Ok(Value::Object(m)) => m,
                _ => return Err(VaultError::BodyNotObject),
            }
        };
        let base = format!(
            "https://{}.{}{}/",
            vault.name.as_str().to_ascii_lowercase(),
            cfg.suffix,
            port_of(&cfg.resource)
        );
        let me = self.clone();
        let actor = Actor::with_request(
            principal,
            keyrotor_core::activity::RequestInfo {
                operation: Some(action.to_string()),
                resource_id: Some(scope),
                correlation_id,
            },
        );
        tokio::task::spawn_blocking(move || {
            let ctx = Ctx {
                dp: &me,
                vault,
                base,
                actor,
            };
            ctx.run(op, &body)
        })
        .await
        .map_err(|_| VaultError::TaskFailed)?
    }
}

fn port_of(resource: &str) -> &str {
    let authority = resource.split_once("://").map_or(resource, |(_, r)| r);
    authority.rfind(':').map_or("", |i| &authority[i..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            vault_host("kv1.vault.localhost:8443", "vault.localhost"),
            Some("kv1")
        );
        assert_eq!(
            vault_host("kv1.vault.localhost", "vault.localhost"),
            Some("kv1")
        );
        assert_eq!(vault_host("a.b.vault.localhost", "vault.localhost"), None);
        assert_eq!(vault_host("vault.localhost", "vault.localhost"), None);
        assert_eq!(vault_host("127.0.0.1:8443", "vault.localhost"), None);
        assert_eq!(port_of("https://vault.localhost:8443"), ":8443");
        assert_eq!(port_of("https://vault.example"), "");
    }
}
