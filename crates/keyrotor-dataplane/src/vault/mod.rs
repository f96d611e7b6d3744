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

#![allow(
    clippy::result_large_err,
    reason = "the Err side is the finished HTTP response, built once per refused request"
)]

mod objects;
mod op;
mod parse;
mod render;

pub(crate) use parse::read_attributes;

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, Method, Request, StatusCode};
use keyrotor_core::vault::Collection;
use keyrotor_core::{Actor, Error as CoreError};
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

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    crate::code_message_error(status, code, message)
}

pub(crate) fn ok(v: &Value) -> Response {
    crate::json_response(StatusCode::OK, v.to_string())
}

/// The one table from domain errors to the vault's statuses and codes.
pub(crate) fn core_error(e: &CoreError) -> Response {
    let (status, code) = match e {
        CoreError::ObjectNotFound(Collection::Keys, _) => (StatusCode::NOT_FOUND, "KeyNotFound"),
        CoreError::ObjectNotFound(Collection::Secrets, _) => {
            (StatusCode::NOT_FOUND, "SecretNotFound")
        }
        CoreError::ObjectConflict(..) | CoreError::ObjectChanged(..) => {
            (StatusCode::CONFLICT, "Conflict")
        }
        CoreError::ObjectDisabled(_) | CoreError::ObjectNotValidNow(_) => {
            (StatusCode::FORBIDDEN, "Forbidden")
        }
        CoreError::PurgeProtected(_) => (StatusCode::FORBIDDEN, "Forbidden"),
        // Damaged stored material and library failures are the server's.
        CoreError::VaultCrypto(
            keyrotor_crypto::vault::VaultCryptoError::Malformed
            | keyrotor_crypto::vault::VaultCryptoError::Library,
        ) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
        CoreError::VaultCrypto(_) => (StatusCode::BAD_REQUEST, "BadParameter"),
        CoreError::InvalidInput(_) | CoreError::InvalidName(_) => {
            (StatusCode::BAD_REQUEST, "BadParameter")
        }
        CoreError::VaultNotFound(_) => (StatusCode::NOT_FOUND, "VaultNotFound"),
        CoreError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        CoreError::KeyMaterialUnavailable(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "KeyMaterialUnavailable")
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
    };
    if status.is_server_error() {
        tracing::error!(error = %e, "vault request failed");
        let r = error(status, code, "The service encountered an internal error.");
        return match e {
            CoreError::Unavailable(_) => crate::retry_soon(r),
            _ => r,
        };
    }
    error(status, code, &e.to_string())
}

fn challenge(cfg: &VaultConfig, tenant: &str, code: &str, message: &str) -> Response {
    let mut r = error(StatusCode::UNAUTHORIZED, code, message);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "Bearer authorization=\"{}/{tenant}\", resource=\"{}\"",
        cfg.authority, cfg.resource
    )) {
        r.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
    }
    r
}

fn not_implemented(m: &Method, path: &str) -> Response {
    error(
        StatusCode::NOT_IMPLEMENTED,
        "NotImplemented",
        &format!(
            "The operation '{m} {}' is not implemented by keyrotor. See COMPATIBILITY.md.",
            path.chars().take(200).collect::<String>()
        ),
    )
}

pub(crate) fn bad(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "BadParameter", message)
}

impl DataPlane {
    /// Serves one vault request (`vault` is the host's first label).
    pub async fn handle_vault(self: &Arc<Self>, vault_name: &str, req: Request<Body>) -> Response {
        let (Some(cfg), Some(tokens)) = (self.vault_cfg.as_ref(), self.tokens.as_ref()) else {
            return error(
                StatusCode::NOT_FOUND,
                "VaultNotFound",
                "Vaults are not configured.",
            );
        };
        let tenant = tokens.tenant.clone();
        // 1. The challenge: no token, no answer about anything else.
        let Some(token) = crate::bearer(req.headers()) else {
            return challenge(
                cfg,
                &tenant,
                "Unauthorized",
                "AKV10000: Request is missing a Bearer or PoP token.",
            );
        };
        let principal = match self.principal(&token, |aud| {
            let aud = aud.trim_end_matches('/');
            aud.eq_ignore_ascii_case(&cfg.resource) || aud == "https://vault.azure.net"
        }) {
            Ok(p) => p,
            Err(TokenError::Invalid(e)) => {
                return challenge(
                    cfg,
                    &tenant,
                    "Unauthorized",
                    &format!("AKV10032: Invalid token: {e}."),
                )
            }
            Err(TokenError::NotConfigured | TokenError::OtherTenant | TokenError::Audience(_)) => {
                return challenge(
                    cfg,
                    &tenant,
                    "Unauthorized",
                    "AKV10022: Invalid audience or tenant.",
                )
            }
        };
        let path = req.uri().path().to_string();
        if !req.uri().query().is_some_and(|q| {
            q.split('&')
                .any(|p| p.starts_with("api-version=") && p.len() > 12)
        }) {
            return bad("The api-version query parameter is required.");
        }
        let Some(op) = Op::parse(req.method(), &path) else {
            return not_implemented(req.method(), &path);
        };
        let core = self.core().clone();
        let name = vault_name.to_string();
        let vault = match tokio::task::spawn_blocking(move || core.vault_by_name(&name)).await {
            Ok(Ok(Some(v))) => v,
            Ok(Ok(None)) => {
                return error(
                    StatusCode::NOT_FOUND,
                    "VaultNotFound",
                    "The vault does not exist.",
                )
            }
            Ok(Err(e)) => return core_error(&e),
            Err(_) => {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    "Try again.",
                )
            }
        };
        // 2. The data role for this operation at the vault (or above).
        let scope = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
            vault.subscription, vault.resource_group, vault.name
        );
        let action = op.action();
        let scope_key = keyrotor_core::rbac::normalize_scope(&scope).unwrap_or_default();
        if !self.allows_data(&scope_key, &principal, action) {
            return error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &format!(
                    "Caller is not authorized to perform action on resource. Caller: appid={principal}; Action: '{action}'; Resource: '{scope}'. Assign a Key Vault data role (role assignments take effect on the next request)."
                ),
            );
        }
        let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
            Ok(b) => b,
            Err(_) => {
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "BadParameter",
                    "The request body is too large.",
                )
            }
        };
        let body: Map<String, Value> = if body.is_empty() {
            Map::new()
        } else {
            match serde_json::from_slice(&body) {
                Ok(Value::Object(m)) => m,
                _ => return bad("The request body must be a JSON object."),
            }
        };
        let base = format!(
            "https://{}.{}{}/",
            vault.name.as_str().to_ascii_lowercase(),
            cfg.suffix,
            port_of(&cfg.resource)
        );
        let me = self.clone();
        let actor = Actor(principal);
        match tokio::task::spawn_blocking(move || {
            let ctx = Ctx {
                dp: &me,
                vault,
                base,
                actor,
            };
            ctx.run(op, &body)
        })
        .await
        {
            Ok(r) => r,
            Err(_) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "The request failed.",
            ),
        }
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
