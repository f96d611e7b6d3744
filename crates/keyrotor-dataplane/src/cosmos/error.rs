//! The one table of the Cosmos DB data plane: every refusal and every domain
//! error it can meet, to a status and a Cosmos error code, in the body the
//! SDKs read, `{"code","message"}` with the activity id at the end of the
//! message, and `x-ms-activity-id` / `x-ms-substatus` headers.

use crate::Refusal;
use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use keyrotor_auth::AuthError;
use keyrotor_core::Error as CoreError;

use crate::{names, TokenError};

/// Why a Cosmos request did not authenticate (401 `Unauthorized`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unauthenticated {
    #[error("Required Header authorization is missing.")]
    Missing,
    #[error("The authorization header is not valid text.")]
    NotText,
    /// A path no resource can have: it authenticates nothing, as a
    /// signature over it would not.
    #[error("invalid resource path")]
    ResourcePath,
    #[error("Resource tokens are not supported by keyrotor.")]
    ResourceToken,
    /// The master-key token or its signature (also a repeated header).
    #[error("{0}")]
    Token(AuthError),
    #[error("The AAD token could not be validated: {0}.")]
    Aad(TokenError),
    #[error("Local Authorization is disabled. Use an AAD token to authorize all requests.")]
    LocalAuthDisabled,
}

/// A Cosmos DB refusal.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CosmosError {
    #[error("The database account does not exist.")]
    AccountNotFound,
    #[error("The input authorization token can't serve the request. The wrong key is being used or the expected payload is not built as per the protocol. {0}")]
    Unauthorized(Unauthenticated),
    #[error("The authorization token is not valid at the current time. Please create another token and retry (token start time, expiry and the x-ms-date header must be within 15 minutes of the server's time).")]
    DateOutOfWindow,
    #[error("The input authorization token can't serve the request: a read-only key cannot authorize writes.")]
    ReadOnlyKey,
    #[error("Request blocked by Auth {account} : Request is blocked because principal [{principal}] does not have required RBAC permissions to perform action [{action}] on resource [{scope}].")]
    NotAuthorized {
        account: String,
        principal: String,
        action: Cow<'static, str>,
        scope: String,
    },
    #[error("{}", crate::RESTORED_STATE_MESSAGE)]
    RestoredStateRequiresRotation,
    /// A header that selects the operation or a precondition, repeated.
    #[error("{0}")]
    RepeatedHeader(AuthError),
    #[error("The account resource only supports GET.")]
    MethodNotAllowed,
    #[error("{0}")]
    NotImplemented(Cow<'static, str>),
    #[error("The request body is too large.")]
    TooLarge,
    #[error("The request body must be a JSON object.")]
    BodyNotObject,
    #[error("The {0} id is missing or invalid.")]
    InvalidId(&'static str),
    #[error("The id in the body must match the id in the URL.")]
    IdMismatch,
    #[error("The query body must be {{\"query\": \"...\", \"parameters\": [...]}}.")]
    QueryBody,
    #[error("Syntax error: {0}")]
    QuerySyntax(String),
    /// The blocking task serving the operation failed (panicked).
    #[error("The request failed.")]
    TaskFailed,
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl CosmosError {
    /// The one table: status and Cosmos error code.
    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            CosmosError::AccountNotFound => (S::NOT_FOUND, "NotFound"),
            CosmosError::Unauthorized(_) => (S::UNAUTHORIZED, "Unauthorized"),
            CosmosError::DateOutOfWindow
            | CosmosError::ReadOnlyKey
            | CosmosError::NotAuthorized { .. } => (S::FORBIDDEN, "Forbidden"),
            CosmosError::RestoredStateRequiresRotation => {
                (S::SERVICE_UNAVAILABLE, "RestoredStateRequiresRotation")
            }
            CosmosError::RepeatedHeader(_)
            | CosmosError::BodyNotObject
            | CosmosError::InvalidId(_)
            | CosmosError::IdMismatch
            | CosmosError::QueryBody
            | CosmosError::QuerySyntax(_) => (S::BAD_REQUEST, "BadRequest"),
            CosmosError::MethodNotAllowed => (S::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
            CosmosError::NotImplemented(_) => (S::NOT_IMPLEMENTED, "NotImplemented"),
            CosmosError::TooLarge => (S::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge"),
            CosmosError::TaskFailed => (S::INTERNAL_SERVER_ERROR, "InternalServerError"),
            CosmosError::Core(e) => match crate::refusal(e) {
                Refusal::Busy => (S::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
                Refusal::KeyMaterial => (S::SERVICE_UNAVAILABLE, "KeyMaterialUnavailable"),
                Refusal::NotFound => (S::NOT_FOUND, "NotFound"),
                Refusal::Conflict => (S::CONFLICT, "Conflict"),
                Refusal::Precondition => (S::PRECONDITION_FAILED, "PreconditionFailed"),
                Refusal::BadRequest => (S::BAD_REQUEST, "BadRequest"),
                Refusal::BadCredentials => (S::UNAUTHORIZED, "Unauthorized"),
                Refusal::Forbidden => (S::FORBIDDEN, "Forbidden"),
                Refusal::Fault => (S::INTERNAL_SERVER_ERROR, "InternalServerError"),
            },
        }
    }

    /// The message shown: never a storage or crypto internal.
    fn public_message(&self) -> Cow<'_, str> {
        match self {
            CosmosError::Core(e) => crate::core_message(
                e,
                &crate::Texts {
                    not_found: Some("Entity with the specified id does not exist in the system."),
                    conflict: Some("Entity with the specified id already exists in the system."),
                    precondition: Some(
                        "Operation cannot be performed because one of the specified precondition is not met.",
                    ),
                    fault: "The server encountered an internal error.",
                },
            ),
            other => Cow::Owned(other.to_string()),
        }
    }
}

impl IntoResponse for CosmosError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        crate::log_refusal(status, &self);
        let r = body(status, code, &self.public_message());
        match &self {
            CosmosError::Core(e) if crate::retry_cures(e) => crate::retry_soon(r),
            _ => r,
        }
    }
}

/// The Cosmos error body `{"code","message"}`.
#[derive(serde::Serialize)]
struct Body<'a> {
    code: &'a str,
    message: String,
}

/// The Cosmos error answer, with the activity id in the message and its
/// headers.
fn body(status: StatusCode, code: &str, message: &str) -> Response {
    let activity = crate::activity_id();
    let mut r = crate::json_response(
        status,
        crate::to_json(&Body {
            code,
            message: format!("{message}\r\nActivityId: {}", activity.as_str()),
        }),
    );
    let h = r.headers_mut();
    h.insert(&names::X_MS_ACTIVITY_ID, activity.header());
    h.insert(&names::X_MS_SUBSTATUS, names::ZERO.clone());
    r
}
