//! The one table of the AI Services data plane: every refusal and every
//! domain error it can meet, to a status and an AI Services error code, in
//! its body `{"error":{"code","message"}}`.

use crate::Refusal;
use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use keyrotor_core::Error as CoreError;

use super::PathRefusal;
use crate::TokenError;

/// An AI Services refusal.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AiError {
    /// No such account, or an account without upstream.
    #[error("Resource not found")]
    NotFound,
    #[error("Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.")]
    MissingKey,
    #[error("Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.")]
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
    #[error("Key based authentication is disabled for this resource.")]
    LocalAuthDisabled,
    #[error("{}", crate::RESTORED_STATE_MESSAGE)]
    RestoredStateRequiresRotation,
    #[error("{}", .0.message())]
    Path(PathRefusal),
    #[error("The request path does not stay below the account's upstream base path.")]
    OutsideBase,
    #[error("The upstream service could not be reached.")]
    Unreachable,
    #[error("The upstream response could not be relayed.")]
    NotRelayed,
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl AiError {
    /// The one table: status and AI Services error code.
    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            AiError::NotFound => (S::NOT_FOUND, "404"),
            AiError::MissingKey => (S::UNAUTHORIZED, "401"),
            AiError::InvalidKey => (S::UNAUTHORIZED, "401"),
            AiError::InvalidToken(_) => (S::UNAUTHORIZED, "401"),
            AiError::NotAuthorized { .. } => (S::FORBIDDEN, "PermissionDenied"),
            AiError::LocalAuthDisabled => (S::UNAUTHORIZED, "AuthenticationTypeDisabled"),
            AiError::RestoredStateRequiresRotation => {
                (S::SERVICE_UNAVAILABLE, "RestoredStateRequiresRotation")
            }
            AiError::Path(_) | AiError::OutsideBase => (S::BAD_REQUEST, "400"),
            AiError::Unreachable => (S::BAD_GATEWAY, "502"),
            AiError::NotRelayed => (S::BAD_GATEWAY, "502"),
            AiError::Core(e) => match crate::refusal(e) {
                Refusal::Busy => (S::SERVICE_UNAVAILABLE, "503"),
                Refusal::KeyMaterial => (S::SERVICE_UNAVAILABLE, "KeyMaterialUnavailable"),
                Refusal::NotFound => (S::NOT_FOUND, "404"),
                Refusal::Conflict => (S::CONFLICT, "409"),
                Refusal::Precondition => (S::PRECONDITION_FAILED, "412"),
                Refusal::BadRequest => (S::BAD_REQUEST, "400"),
                Refusal::BadCredentials => (S::UNAUTHORIZED, "401"),
                Refusal::Forbidden => (S::FORBIDDEN, "403"),
                Refusal::Fault => (S::INTERNAL_SERVER_ERROR, "500"),
            },
        }
    }

    /// The message shown: never a storage or crypto internal.
    fn public_message(&self) -> Cow<'_, str> {
        match self {
            AiError::Core(e) => crate::core_message(
                e,
                &crate::Texts {
                    not_found: None,
                    conflict: None,
                    precondition: None,
                    fault: "The server encountered an internal error.",
                },
            ),
            other => Cow::Owned(other.to_string()),
        }
    }
}

impl IntoResponse for AiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        crate::log_refusal(status, &self);
        let r = crate::code_message_error(status, code, &self.public_message());
        match &self {
            AiError::Core(e) if crate::retry_cures(e) => crate::retry_soon(r),
            _ => r,
        }
    }
}
