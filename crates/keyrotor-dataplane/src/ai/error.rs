//! The one table of the AI Services data plane: every refusal and every
//! domain error it can meet, to a status and an AI Services error code, in
//! its body `{"error":{"code","message"}}`. The refusals whose text never
//! varies (the key refusals, the 404 of an unknown account or one without
//! upstream, the 502s) are [`FixedError`]s: built by the compiler, answered
//! without formatting.

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use keyrotor_core::{Error as CoreError, StoreError};
use keyrotor_crypto::vault::VaultCryptoError;

use super::PathRefusal;
use crate::{fixed_error, FixedError, TokenError};

const NOT_FOUND: FixedError = fixed_error!(StatusCode::NOT_FOUND, "404", "Resource not found");
const MISSING_KEY: FixedError = fixed_error!(
    StatusCode::UNAUTHORIZED,
    "401",
    "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."
);
const INVALID_KEY: FixedError = fixed_error!(
    StatusCode::UNAUTHORIZED,
    "401",
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."
);
const LOCAL_AUTH_DISABLED: FixedError = fixed_error!(
    StatusCode::UNAUTHORIZED,
    "AuthenticationTypeDisabled",
    "Key based authentication is disabled for this resource."
);
const UNREACHABLE: FixedError = fixed_error!(
    StatusCode::BAD_GATEWAY,
    "502",
    "The upstream service could not be reached."
);
const NOT_RELAYED: FixedError = fixed_error!(
    StatusCode::BAD_GATEWAY,
    "502",
    "The upstream response could not be relayed."
);

/// An AI Services refusal.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AiError {
    /// No such account, or an account without upstream.
    #[error("{}", NOT_FOUND.message)]
    NotFound,
    #[error("{}", MISSING_KEY.message)]
    MissingKey,
    #[error("{}", INVALID_KEY.message)]
    InvalidKey,
    #[error("Access token validation failed: {0}.")]
    InvalidToken(TokenError),
    #[error("The principal '{principal}' lacks the required data action '{action}' to perform '{method} {path}' on '{scope}'.")]
    NotAuthorized {
        principal: String,
        action: Cow<'static, str>,
        method: http::Method,
        path: String,
        scope: String,
    },
    #[error("{}", LOCAL_AUTH_DISABLED.message)]
    LocalAuthDisabled,
    #[error("{}", crate::RESTORED_STATE_MESSAGE)]
    RestoredStateRequiresRotation,
    #[error("{}", .0.message())]
    Path(PathRefusal),
    #[error("The request path does not stay below the account's upstream base path.")]
    OutsideBase,
    #[error("{}", UNREACHABLE.message)]
    Unreachable,
    #[error("{}", NOT_RELAYED.message)]
    NotRelayed,
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// How an error is shown: a body the compiler built, or its status and code
/// with the message formatted.
enum Shape {
    Fixed(&'static FixedError),
    Text(StatusCode, &'static str),
}

impl AiError {
    /// The one table.
    fn shape(&self) -> Shape {
        use StatusCode as S;
        match self {
            AiError::NotFound => Shape::Fixed(&NOT_FOUND),
            AiError::MissingKey => Shape::Fixed(&MISSING_KEY),
            AiError::InvalidKey => Shape::Fixed(&INVALID_KEY),
            AiError::InvalidToken(_) => Shape::Text(S::UNAUTHORIZED, "401"),
            AiError::NotAuthorized { .. } => Shape::Text(S::FORBIDDEN, "PermissionDenied"),
            AiError::LocalAuthDisabled => Shape::Fixed(&LOCAL_AUTH_DISABLED),
            AiError::RestoredStateRequiresRotation => {
                Shape::Text(S::SERVICE_UNAVAILABLE, "RestoredStateRequiresRotation")
            }
            AiError::Path(_) | AiError::OutsideBase => Shape::Text(S::BAD_REQUEST, "400"),
            AiError::Unreachable => Shape::Fixed(&UNREACHABLE),
            AiError::NotRelayed => Shape::Fixed(&NOT_RELAYED),
            AiError::Core(e) => match e {
                CoreError::Unavailable(_) => Shape::Text(S::SERVICE_UNAVAILABLE, "503"),
                CoreError::KeyMaterialUnavailable(_) => {
                    Shape::Text(S::SERVICE_UNAVAILABLE, "KeyMaterialUnavailable")
                }
                // Not there (the account deleted meanwhile among them).
                CoreError::Gone
                | CoreError::Storage(StoreError::NotFound)
                | CoreError::AccountNotFound { .. }
                | CoreError::SubscriptionNotFound(_)
                | CoreError::GroupNotFound(_)
                | CoreError::ItemNotFound
                | CoreError::PrincipalNotFound(_)
                | CoreError::RoleNotFound(_)
                | CoreError::RoleAssignmentNotFound(_)
                | CoreError::VaultNotFound(_)
                | CoreError::ObjectNotFound(..) => Shape::Fixed(&NOT_FOUND),
                // Changed or taken by another request.
                CoreError::ChangedMeanwhile
                | CoreError::Storage(StoreError::Conflict)
                | CoreError::ItemExists
                | CoreError::NameTaken { .. }
                | CoreError::KeysInUse { .. }
                | CoreError::RoleAssignmentExists
                | CoreError::VaultNameTaken(_)
                | CoreError::ObjectConflict(..)
                | CoreError::ObjectChanged(..) => Shape::Text(S::CONFLICT, "409"),
                CoreError::PreconditionFailed
                | CoreError::Storage(StoreError::PreconditionFailed) => {
                    Shape::Text(S::PRECONDITION_FAILED, "412")
                }
                CoreError::InvalidInput(_)
                | CoreError::InvalidName(_)
                | CoreError::NoSuchKey { .. }
                | CoreError::VaultCrypto(
                    VaultCryptoError::BadKeySpec
                    | VaultCryptoError::WrongAlgorithm(_)
                    | VaultCryptoError::BadInput
                    | VaultCryptoError::Unauthentic,
                ) => Shape::Text(S::BAD_REQUEST, "400"),
                CoreError::BadCredentials => Shape::Text(S::UNAUTHORIZED, "401"),
                CoreError::NotPrincipalOwner { .. }
                | CoreError::AdministratorManagedLocally
                | CoreError::ObjectDisabled(_)
                | CoreError::ObjectNotValidNow(_)
                | CoreError::PurgeProtected(_) => Shape::Text(S::FORBIDDEN, "403"),
                // Server faults: damaged data, the ledger, the crypto
                // library (the cause is logged, never sent).
                CoreError::Storage(
                    StoreError::Corrupt(_) | StoreError::Backend(_) | StoreError::Unavailable(_),
                )
                | CoreError::Crypto(_)
                | CoreError::Ledger(_)
                | CoreError::VaultCrypto(VaultCryptoError::Malformed | VaultCryptoError::Library) => {
                    Shape::Text(S::INTERNAL_SERVER_ERROR, "500")
                }
            },
        }
    }

    /// Status and code, as the table says.
    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self.shape() {
            Shape::Fixed(f) => (f.status, f.code),
            Shape::Text(status, code) => (status, code),
        }
    }

    /// The message shown: never a storage or crypto internal.
    fn public_message(&self, status: StatusCode) -> Cow<'_, str> {
        match self {
            AiError::Core(e) if crate::retry_cures(e) => Cow::Borrowed(crate::BUSY_MESSAGE),
            AiError::Core(CoreError::KeyMaterialUnavailable(_)) => {
                Cow::Borrowed(crate::KEY_MATERIAL_MESSAGE)
            }
            AiError::Core(_) if status.is_server_error() => {
                Cow::Borrowed("The server encountered an internal error.")
            }
            other => Cow::Owned(other.to_string()),
        }
    }
}

impl IntoResponse for AiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        crate::log_refusal(status, &self);
        if let Shape::Fixed(f) = self.shape() {
            return f.response();
        }
        let r = crate::code_message_error(status, code, &self.public_message(status));
        match &self {
            AiError::Core(e) if crate::retry_cures(e) => crate::retry_soon(r),
            _ => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body the compiler built says what the formatted one would.
    #[tokio::test]
    async fn fixed_bodies_are_the_formatted_ones() {
        let body = |r: Response| async move {
            axum::body::to_bytes(r.into_body(), 1 << 16)
                .await
                .expect("body")
        };
        for e in [
            AiError::NotFound,
            AiError::MissingKey,
            AiError::InvalidKey,
            AiError::LocalAuthDisabled,
            AiError::Unreachable,
            AiError::NotRelayed,
        ] {
            let (status, code) = e.status_and_code();
            let formatted = crate::code_message_error(status, code, &e.to_string());
            let fixed = e.into_response();
            assert_eq!(fixed.status(), status);
            assert_eq!(body(fixed).await, body(formatted).await);
        }
    }
}
