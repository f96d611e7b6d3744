//! The one table of the Key Vault data plane: every refusal and every
//! domain error it can meet, to a status and a Key Vault error code, in the
//! vault's body `{"error":{"code","message"}}`; the 401s carry the
//! challenge (`WWW-Authenticate: Bearer authorization=…, resource=…`) that
//! the SDKs answer with a token.

use crate::Refusal;
use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use keyrotor_core::vault::Collection;
use keyrotor_core::Error as CoreError;

/// Why a vault request did not authenticate (401 with the challenge).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unauthenticated {
    #[error("AKV10000: Request is missing a Bearer or PoP token.")]
    MissingToken,
    #[error("AKV10032: Invalid token: {0}.")]
    InvalidToken(keyrotor_identity::Error),
    #[error("AKV10022: Invalid audience or tenant.")]
    AudienceOrTenant,
}

/// A Key Vault refusal.
#[derive(Debug, thiserror::Error)]
pub(crate) enum VaultError {
    /// The server serves no vaults (no vault suffix or no token issuer).
    #[error("Vaults are not configured.")]
    NotConfigured,
    #[error("{why}")]
    Unauthenticated {
        why: Unauthenticated,
        /// The `WWW-Authenticate` challenge.
        challenge: String,
    },
    #[error("The api-version query parameter is required.")]
    MissingApiVersion,
    #[error(
        "The operation '{method} {path}' is not implemented by keyrotor. See COMPATIBILITY.md."
    )]
    NotImplemented { method: http::Method, path: String },
    #[error("The vault does not exist.")]
    VaultNotFound,
    #[error("Caller is not authorized to perform action on resource. Caller: appid={principal}; Action: '{action}'; Resource: '{scope}'. Assign a Key Vault data role (role assignments take effect on the next request).")]
    NotAuthorized {
        principal: String,
        action: &'static str,
        scope: String,
    },
    #[error("The request body is too large.")]
    TooLarge,
    #[error("The request body must be a JSON object.")]
    BodyNotObject,
    /// A body field the operation needs is missing or invalid.
    #[error("{0}")]
    BadParameter(String),
    /// A blocking task serving the request failed (panicked).
    #[error("The request failed.")]
    TaskFailed,
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl VaultError {
    /// The one table: status and Key Vault error code.
    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            VaultError::NotConfigured | VaultError::VaultNotFound => {
                (S::NOT_FOUND, "VaultNotFound")
            }
            VaultError::Unauthenticated { .. } => (S::UNAUTHORIZED, "Unauthorized"),
            VaultError::MissingApiVersion
            | VaultError::BodyNotObject
            | VaultError::BadParameter(_) => (S::BAD_REQUEST, "BadParameter"),
            VaultError::TooLarge => (S::PAYLOAD_TOO_LARGE, "BadParameter"),
            VaultError::NotImplemented { .. } => (S::NOT_IMPLEMENTED, "NotImplemented"),
            VaultError::NotAuthorized { .. } => (S::FORBIDDEN, "Forbidden"),
            VaultError::TaskFailed => (S::INTERNAL_SERVER_ERROR, "InternalError"),
            VaultError::Core(e) => match e {
                CoreError::ObjectNotFound(Collection::Keys, _) => (S::NOT_FOUND, "KeyNotFound"),
                CoreError::ObjectNotFound(Collection::Secrets, _) => {
                    (S::NOT_FOUND, "SecretNotFound")
                }
                CoreError::VaultNotFound(_) => (S::NOT_FOUND, "VaultNotFound"),
                e => match crate::refusal(e) {
                    Refusal::Busy => (S::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
                    Refusal::KeyMaterial => (S::SERVICE_UNAVAILABLE, "KeyMaterialUnavailable"),
                    Refusal::NotFound => (S::NOT_FOUND, "NotFound"),
                    Refusal::Conflict => (S::CONFLICT, "Conflict"),
                    Refusal::Precondition => (S::PRECONDITION_FAILED, "PreconditionFailed"),
                    Refusal::BadRequest => (S::BAD_REQUEST, "BadParameter"),
                    Refusal::BadCredentials => (S::UNAUTHORIZED, "Unauthorized"),
                    Refusal::Forbidden => (S::FORBIDDEN, "Forbidden"),
                    Refusal::Fault => (S::INTERNAL_SERVER_ERROR, "InternalError"),
                },
            },
        }
    }

    /// The message shown: never a storage or crypto internal.
    fn public_message(&self, status: StatusCode) -> Cow<'_, str> {
        match self {
            VaultError::Core(_) if status.is_server_error() => {
                Cow::Borrowed("The service encountered an internal error.")
            }
            other => Cow::Owned(other.to_string()),
        }
    }
}

impl IntoResponse for VaultError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        crate::log_refusal(status, &self);
        let mut r = crate::code_message_error(status, code, &self.public_message(status));
        match &self {
            VaultError::Unauthenticated { challenge, .. } => {
                if let Ok(v) = HeaderValue::from_str(challenge) {
                    r.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
                }
            }
            VaultError::Core(e) if crate::retry_cures(e) => r = crate::retry_soon(r),
            _ => {}
        }
        r
    }
}
