//! The one table that maps every failure to an ARM status and error code,
//! and renders the ARM error envelope
//! `{"error":{"code","message","target"?,"details":[]}}`.

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use keyrotor_core::Error as CoreError;
use keyrotor_crypto::vault::VaultCryptoError;

/// A failure as ARM reports it.
#[derive(Debug, thiserror::Error)]
pub enum ArmError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("Authentication failed. The 'Authorization' header is missing.")]
    MissingToken,
    #[error("The access token is invalid: {0}")]
    InvalidToken(String),
    #[error("The api-version query parameter (?api-version=) is required for all requests.")]
    MissingApiVersion,
    #[error("The request content was invalid and could not be deserialized: {0}")]
    InvalidRequestContent(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("The request body is larger than the limit of {0} bytes.")]
    TooLarge(usize),
    #[error("The requested resource path '{0}' was not found.")]
    NoRoute(String),
    #[error("The request URI '{0}' is invalid: it contains a '.' or '..' segment, which ARM does not resolve.")]
    DotSegment(String),
    #[error("The HTTP method '{0}' is not supported for this resource.")]
    MethodNotAllowed(String),
    #[error("The operation '{0}' is not implemented by keyrotor. See COMPATIBILITY.md.")]
    NotImplemented(String),
    #[error("The client '{principal}' with object id '{principal}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.")]
    AuthorizationFailed {
        principal: String,
        action: String,
        scope: String,
    },
    #[error("The service could not complete the request: {0}")]
    Internal(String),
}

impl ArmError {
    /// The single status/code table.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            ArmError::Core(e) => match e {
                CoreError::InvalidName(_) => (S::BAD_REQUEST, "InvalidResourceName"),
                CoreError::InvalidInput(_) => (S::BAD_REQUEST, "InvalidRequestContent"),
                CoreError::SubscriptionNotFound(_) => (S::NOT_FOUND, "SubscriptionNotFound"),
                CoreError::GroupNotFound(_) => (S::NOT_FOUND, "ResourceGroupNotFound"),
                CoreError::AccountNotFound { .. } => (S::NOT_FOUND, "ResourceNotFound"),
                CoreError::NameTaken { .. } => (S::CONFLICT, "Conflict"),
                CoreError::NoSuchKey { .. } => (S::BAD_REQUEST, "InvalidKeyKind"),
                CoreError::KeysInUse { .. } => (S::CONFLICT, "KeyInUse"),
                CoreError::Gone => (S::NOT_FOUND, "ResourceNotFound"),
                CoreError::ChangedMeanwhile => (S::CONFLICT, "Conflict"),
                CoreError::BadCredentials => (S::UNAUTHORIZED, "AuthenticationFailed"),
                CoreError::PrincipalNotFound(_) => (S::NOT_FOUND, "PrincipalNotFound"),
                CoreError::NotPrincipalOwner { .. }
                | CoreError::AdministratorManagedLocally
                | CoreError::NotInDirectory(_) => (S::FORBIDDEN, "AuthorizationFailed"),
                CoreError::RoleNotFound(_) => (S::BAD_REQUEST, "RoleDefinitionDoesNotExist"),
                CoreError::RoleAssignmentNotFound(_) => (S::NOT_FOUND, "RoleAssignmentNotFound"),
                CoreError::RoleAssignmentExists => (S::CONFLICT, "RoleAssignmentExists"),
                CoreError::VaultNameTaken(_) => (S::CONFLICT, "VaultAlreadyExists"),
                CoreError::VaultNotFound(_) => (S::NOT_FOUND, "ResourceNotFound"),
                CoreError::ObjectNotFound(..) => (S::NOT_FOUND, "NotFound"),
                CoreError::ObjectConflict(..) | CoreError::ObjectChanged(..) => {
                    (S::CONFLICT, "Conflict")
                }
                CoreError::ObjectDisabled(_) | CoreError::ObjectNotValidNow(_) => {
                    (S::FORBIDDEN, "Forbidden")
                }
                CoreError::PurgeProtected(_) => (S::CONFLICT, "ConflictError"),
                // Damaged stored material and library failures are the
                // server's fault, not the request's.
                CoreError::VaultCrypto(VaultCryptoError::Malformed | VaultCryptoError::Library) => {
                    (S::INTERNAL_SERVER_ERROR, "InternalServerError")
                }
                CoreError::VaultCrypto(
                    VaultCryptoError::BadKeySpec
                    | VaultCryptoError::WrongAlgorithm(_)
                    | VaultCryptoError::BadInput
                    | VaultCryptoError::Unauthentic,
                ) => (S::BAD_REQUEST, "BadParameter"),
                CoreError::ItemExists => (S::CONFLICT, "Conflict"),
                CoreError::ItemNotFound => (S::NOT_FOUND, "NotFound"),
                CoreError::PreconditionFailed => (S::PRECONDITION_FAILED, "PreconditionFailed"),
                CoreError::KeyMaterialUnavailable(_) => {
                    (S::SERVICE_UNAVAILABLE, "KeyMaterialUnavailable")
                }
                CoreError::Unavailable(_) => (S::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
                CoreError::Storage(_) | CoreError::Crypto(_) | CoreError::Ledger(_) => {
                    (S::INTERNAL_SERVER_ERROR, "InternalServerError")
                }
            },
            ArmError::MissingToken => (S::UNAUTHORIZED, "AuthenticationFailed"),
            ArmError::InvalidToken(_) => (S::UNAUTHORIZED, "InvalidAuthenticationToken"),
            ArmError::MissingApiVersion => (S::BAD_REQUEST, "MissingApiVersionParameter"),
            ArmError::InvalidRequestContent(_) => (S::BAD_REQUEST, "InvalidRequestContent"),
            ArmError::InvalidParameter(_) => (S::BAD_REQUEST, "InvalidParameter"),
            ArmError::TooLarge(_) => (S::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge"),
            ArmError::NoRoute(_) => (S::NOT_FOUND, "NotFound"),
            ArmError::DotSegment(_) => (S::BAD_REQUEST, "InvalidRequestUri"),
            ArmError::MethodNotAllowed(_) => (S::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
            ArmError::NotImplemented(_) => (S::NOT_IMPLEMENTED, "NotImplemented"),
            ArmError::AuthorizationFailed { .. } => (S::FORBIDDEN, "AuthorizationFailed"),
            ArmError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "InternalServerError"),
        }
    }

    /// The message shown to the client: never a storage or crypto internal.
    fn public_message(&self) -> String {
        match self {
            ArmError::Core(
                CoreError::Storage(_)
                | CoreError::Crypto(_)
                | CoreError::VaultCrypto(VaultCryptoError::Malformed | VaultCryptoError::Library),
            )
            | ArmError::Internal(_) => {
                "The service encountered an internal error. Please retry the request.".into()
            }
            ArmError::Core(CoreError::KeysInUse { kind, window, keys }) => {
                keys_in_use_message(*kind, *window, keys)
            }
            other => other.to_string(),
        }
    }
}

/// Names each key in use by its wire name, with when and by whom.
fn keys_in_use_message(
    kind: keyrotor_types::AccountKind,
    window: time::Duration,
    keys: &[keyrotor_core::guard::KeyInUse],
) -> String {
    let mut msg = String::new();
    for k in keys {
        let clients: Vec<String> = k
            .clients
            .iter()
            .take(5)
            .map(|(agent, address)| format!("'{agent}' from {address}"))
            .collect();
        msg.push_str(&format!(
            "Key '{}' was last used at {} by {}. ",
            crate::dto::key_name(kind, k.slot),
            crate::dto::rfc3339(k.last_used),
            if clients.is_empty() {
                "unknown clients".to_string()
            } else {
                clients.join(", ")
            }
        ));
    }
    msg.push_str(&format!(
        "That is within the guard window of {}; the change would break those clients. Move them to the other key (or to identity tokens) first, or pass force=true.",
        humane(window)
    ));
    msg
}

fn humane(d: time::Duration) -> String {
    let s = d.whole_seconds();
    let (n, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(u, _)| s > 0 && s % u == 0)
        .map_or((s, "second"), |(u, name)| (s / u, name));
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Renders an ARM error envelope.
pub fn arm_error_response(status: StatusCode, code: &str, message: &str) -> Response {
    // Through `Value`, as every answer: keys in sorted order.
    let body = serde_json::to_value(crate::wire::error::ErrorResponse::new(code, message))
        .unwrap_or_default();
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        // A 501 (an operation keyrotor does not implement) is no fault.
        if status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED {
            tracing::error!(error = %self, source = ?std::error::Error::source(&self).map(ToString::to_string), "request failed");
        } else {
            tracing::debug!(error = %self, "request refused");
        }
        let mut resp = arm_error_response(status, code, &self.public_message());
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        // Only what a retry can cure says when to retry: undecryptable key
        // material (KeyMaterialUnavailable) is an operator's problem, and SDK
        // retry policies would repeat it for nothing.
        if matches!(self, ArmError::Core(CoreError::Unavailable(_))) {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

pub type ArmResult<T> = std::result::Result<T, ArmError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Server faults are 5xx, never 400; only what a retry can cure says
    /// `Retry-After` (issue 13, item 6).
    #[test]
    fn server_faults_and_retries() {
        let status = |e: CoreError| ArmError::Core(e).status_and_code().0;
        assert_eq!(
            status(CoreError::VaultCrypto(VaultCryptoError::Malformed)),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            status(CoreError::VaultCrypto(VaultCryptoError::Library)),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            status(CoreError::VaultCrypto(VaultCryptoError::Unauthentic)),
            StatusCode::BAD_REQUEST
        );
        let retry = |e: CoreError| {
            ArmError::Core(e)
                .into_response()
                .headers()
                .contains_key(header::RETRY_AFTER)
        };
        assert!(retry(CoreError::Unavailable(
            keyrotor_core::StoreError::Unavailable("busy".into())
        )));
        assert!(!retry(CoreError::KeyMaterialUnavailable(
            keyrotor_crypto::Error::Rng
        )));
        let r = ArmError::Core(CoreError::VaultCrypto(VaultCryptoError::Malformed));
        assert!(!r.public_message().contains("malformed"));
    }
}
