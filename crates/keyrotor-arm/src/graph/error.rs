//! Graph's errors: the one table from every failure to (HTTP status, Graph
//! code), and the envelope `{"error":{"code","message","innerError"}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keyrotor_core::Error as CoreError;
use keyrotor_crypto::vault::VaultCryptoError;

use super::filter::FilterError;
use super::wire::{ErrorDetail, ErrorResponse, InnerError};

#[derive(Debug, thiserror::Error)]
pub(crate) enum GraphError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("Access token is empty.")]
    MissingToken,
    #[error("Access token validation failure: {0}")]
    InvalidToken(String),
    #[error("Invalid version: {0}")]
    BadVersion(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("{0}")]
    NotImplemented(String),
    #[error("The request body is larger than {0} bytes.")]
    TooLarge(usize),
    #[error("The service could not complete the request: {0}")]
    Internal(String),
}

impl GraphError {
    /// The single status/code table.
    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            GraphError::Core(e) => match e {
                CoreError::PrincipalNotFound(_)
                | CoreError::Gone
                | CoreError::ItemNotFound
                | CoreError::SubscriptionNotFound(_)
                | CoreError::GroupNotFound(_)
                | CoreError::AccountNotFound { .. }
                | CoreError::RoleAssignmentNotFound(_)
                | CoreError::VaultNotFound(_)
                | CoreError::ObjectNotFound(..) => (S::NOT_FOUND, "Request_ResourceNotFound"),
                CoreError::InvalidInput(_)
                | CoreError::InvalidName(_)
                | CoreError::NoSuchKey { .. }
                | CoreError::RoleNotFound(_)
                | CoreError::VaultCrypto(
                    VaultCryptoError::BadKeySpec
                    | VaultCryptoError::WrongAlgorithm(_)
                    | VaultCryptoError::BadInput
                    | VaultCryptoError::Unauthentic,
                ) => (S::BAD_REQUEST, "Request_BadRequest"),
                CoreError::BadCredentials => (S::UNAUTHORIZED, "InvalidAuthenticationToken"),
                CoreError::NotInDirectory(_)
                | CoreError::NotPrincipalOwner { .. }
                | CoreError::AdministratorManagedLocally
                | CoreError::ObjectDisabled(_)
                | CoreError::ObjectNotValidNow(_)
                | CoreError::PurgeProtected(_) => (S::FORBIDDEN, "Authorization_RequestDenied"),
                CoreError::NameTaken { .. }
                | CoreError::ItemExists
                | CoreError::KeysInUse { .. }
                | CoreError::RoleAssignmentExists
                | CoreError::VaultNameTaken(_)
                | CoreError::ObjectConflict(..)
                | CoreError::ObjectChanged(..)
                | CoreError::ChangedMeanwhile => {
                    (S::CONFLICT, "Request_MultipleObjectsWithSameKeyValue")
                }
                CoreError::PreconditionFailed => {
                    (S::PRECONDITION_FAILED, "Request_PreconditionFailed")
                }
                CoreError::Unavailable(_) | CoreError::KeyMaterialUnavailable(_) => {
                    (S::SERVICE_UNAVAILABLE, "serviceNotAvailable")
                }
                CoreError::Storage(_)
                | CoreError::Crypto(_)
                | CoreError::Ledger(_)
                | CoreError::VaultCrypto(VaultCryptoError::Malformed | VaultCryptoError::Library) => {
                    (S::INTERNAL_SERVER_ERROR, "generalException")
                }
            },
            GraphError::MissingToken | GraphError::InvalidToken(_) => {
                (S::UNAUTHORIZED, "InvalidAuthenticationToken")
            }
            GraphError::BadVersion(_) | GraphError::BadRequest(_) => (S::BAD_REQUEST, "BadRequest"),
            GraphError::Filter(FilterError::Invalid(_)) => (S::BAD_REQUEST, "BadRequest"),
            GraphError::Filter(FilterError::Unsupported(_)) | GraphError::NotImplemented(_) => {
                (S::NOT_IMPLEMENTED, "NotImplemented")
            }
            GraphError::TooLarge(_) => (S::PAYLOAD_TOO_LARGE, "Request_EntityTooLarge"),
            GraphError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "generalException"),
        }
    }

    /// The message shown to the client: never a storage or crypto internal.
    fn public_message(&self) -> String {
        match self {
            GraphError::Core(
                CoreError::Storage(_)
                | CoreError::Crypto(_)
                | CoreError::Ledger(_)
                | CoreError::VaultCrypto(VaultCryptoError::Malformed | VaultCryptoError::Library),
            )
            | GraphError::Internal(_) => {
                "The service encountered an internal error. Please retry the request.".into()
            }
            GraphError::Core(CoreError::PrincipalNotFound(id)) => format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
            GraphError::Core(CoreError::NotInDirectory(_)) => {
                "Insufficient privileges to complete the operation.".into()
            }
            other => other.to_string(),
        }
    }

    /// The error as Graph sends it, naming the request ids.
    pub(crate) fn render(self, request_id: &str, client_request_id: &str) -> Response {
        let (status, code) = self.status_and_code();
        // A 501 (a request keyrotor does not implement) is no fault.
        if status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED {
            tracing::error!(error = %self, source = ?std::error::Error::source(&self).map(ToString::to_string), "graph request failed");
        } else {
            tracing::debug!(error = %self, "graph request refused");
        }
        let now = time::OffsetDateTime::now_utc();
        let body = ErrorResponse {
            error: ErrorDetail {
                code: code.into(),
                message: self.public_message(),
                inner_error: InnerError {
                    date: format!(
                        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                        now.year(),
                        u8::from(now.month()),
                        now.day(),
                        now.hour(),
                        now.minute(),
                        now.second()
                    ),
                    request_id: request_id.into(),
                    client_request_id: client_request_id.into(),
                },
            },
        };
        let mut resp = (
            status,
            axum::Json(serde_json::to_value(body).unwrap_or_default()),
        )
            .into_response();
        let h = resp.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        // Only storage that did not answer is worth a retry.
        if matches!(self, GraphError::Core(CoreError::Unavailable(_))) {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_have_graph_codes_and_internals_stay_private() {
        let cases = [
            (GraphError::MissingToken, 401, "InvalidAuthenticationToken"),
            (
                GraphError::Core(CoreError::PrincipalNotFound("x".into())),
                404,
                "Request_ResourceNotFound",
            ),
            (
                GraphError::Core(CoreError::InvalidInput("x".into())),
                400,
                "Request_BadRequest",
            ),
            (
                GraphError::Core(CoreError::NotInDirectory("x".into())),
                403,
                "Authorization_RequestDenied",
            ),
            (
                GraphError::Filter(FilterError::Invalid("x".into())),
                400,
                "BadRequest",
            ),
            (
                GraphError::Filter(FilterError::Unsupported("x".into())),
                501,
                "NotImplemented",
            ),
            (
                GraphError::NotImplemented("x".into()),
                501,
                "NotImplemented",
            ),
            (
                GraphError::Internal("disk on fire".into()),
                500,
                "generalException",
            ),
        ];
        for (e, status, code) in cases {
            assert_eq!(
                e.status_and_code(),
                (StatusCode::from_u16(status).expect("status"), code)
            );
        }
        let msg = GraphError::Internal("disk on fire".into()).public_message();
        assert!(!msg.contains("disk"), "{msg}");
    }
}
