//! The one table of the Key Vault data plane: every refusal and every
//! domain error it can meet, to a status and a Key Vault error code, in the
//! vault's body `{"error":{"code","message"}}`; the 401s carry the
//! challenge (`WWW-Authenticate: Bearer authorization=…, resource=…`) that
//! the SDKs answer with a token.

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use keyrotor_core::vault::Collection;
use keyrotor_core::{Error as CoreError, StoreError};
use keyrotor_crypto::vault::VaultCryptoError;

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
                // Not there (deleted by a concurrent request among them).
                CoreError::Gone
                | CoreError::Storage(StoreError::NotFound)
                | CoreError::ItemNotFound
                | CoreError::AccountNotFound { .. }
                | CoreError::SubscriptionNotFound(_)
                | CoreError::GroupNotFound(_)
                | CoreError::PrincipalNotFound(_)
                | CoreError::RoleNotFound(_)
                | CoreError::RoleAssignmentNotFound(_) => (S::NOT_FOUND, "NotFound"),
                // Changed or taken by another request.
                CoreError::ObjectConflict(..)
                | CoreError::ObjectChanged(..)
                | CoreError::ChangedMeanwhile
                | CoreError::Storage(StoreError::Conflict)
                | CoreError::ItemExists
                | CoreError::NameTaken { .. }
                | CoreError::KeysInUse { .. }
                | CoreError::RoleAssignmentExists
                | CoreError::VaultNameTaken(_) => (S::CONFLICT, "Conflict"),
                CoreError::PreconditionFailed
                | CoreError::Storage(StoreError::PreconditionFailed) => {
                    (S::PRECONDITION_FAILED, "PreconditionFailed")
                }
                CoreError::ObjectDisabled(_)
                | CoreError::ObjectNotValidNow(_)
                | CoreError::PurgeProtected(_)
                | CoreError::NotPrincipalOwner { .. }
                | CoreError::AdministratorManagedLocally => (S::FORBIDDEN, "Forbidden"),
                CoreError::InvalidInput(_)
                | CoreError::InvalidName(_)
                | CoreError::NoSuchKey { .. }
                | CoreError::VaultCrypto(
                    VaultCryptoError::BadKeySpec
                    | VaultCryptoError::WrongAlgorithm(_)
                    | VaultCryptoError::BadInput
                    | VaultCryptoError::Unauthentic,
                ) => (S::BAD_REQUEST, "BadParameter"),
                CoreError::BadCredentials => (S::UNAUTHORIZED, "Unauthorized"),
                CoreError::Unavailable(_) => (S::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
                CoreError::KeyMaterialUnavailable(_) => {
                    (S::SERVICE_UNAVAILABLE, "KeyMaterialUnavailable")
                }
                // Server faults: damaged stored material, the crypto
                // library, the ledger (the cause is logged, never sent).
                CoreError::VaultCrypto(VaultCryptoError::Malformed | VaultCryptoError::Library)
                | CoreError::Storage(
                    StoreError::Corrupt(_) | StoreError::Backend(_) | StoreError::Unavailable(_),
                )
                | CoreError::Crypto(_)
                | CoreError::Ledger(_) => (S::INTERNAL_SERVER_ERROR, "InternalError"),
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
