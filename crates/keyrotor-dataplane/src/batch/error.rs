//! The one table of the Batch data plane: every refusal and every domain
//! error it can meet, to a status, a Batch error code and (for some) a
//! detail, rendered in Batch's OData error body
//! `{"odata.metadata","code","message":{"lang","value"},"values"?}` with
//! the request id and time in the message, as the service writes them.

use crate::Refusal;
use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use keyrotor_auth::AuthError;
use keyrotor_core::Error as CoreError;

use super::Collection;
use crate::TokenError;

/// A Batch refusal.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BatchError {
    /// The SharedKey credential did not verify (also for an unknown
    /// account: its keys are no one's).
    #[error("Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.")]
    AuthenticationFailed(AuthError),
    #[error("The access token could not be validated.")]
    InvalidToken(TokenError),
    #[error("This request is not authorized to perform this operation using this permission.")]
    NotAuthorized {
        principal: String,
        action: Cow<'static, str>,
        scope: String,
    },
    #[error("Shared key authentication is not permitted for this account: its allowed authentication modes exclude SharedKey.")]
    LocalAuthDisabled,
    #[error("{}", crate::RESTORED_STATE_MESSAGE)]
    RestoredStateRequiresRotation,
    #[error("{0}")]
    NotImplemented(&'static str),
    #[error("The request body is too large.")]
    TooLarge,
    #[error("The request body is not a JSON object.")]
    InvalidBody,
    #[error("A required property was not specified in the request body.")]
    MissingProperty(&'static str),
    #[error("The value provided for one of the properties in the request body is invalid.")]
    InvalidProperty(&'static str),
    #[error("The specified resource does not exist.")]
    NotFound(Collection),
    #[error("The specified resource already exists.")]
    Exists(Collection),
    /// The blocking task serving the operation failed (panicked).
    #[error("The server encountered an internal error.")]
    TaskFailed,
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl BatchError {
    /// The one table: status and Batch error code.
    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            BatchError::AuthenticationFailed(_) => (S::FORBIDDEN, "AuthenticationFailed"),
            BatchError::InvalidToken(_) => (S::UNAUTHORIZED, "InvalidAuthenticationTokenAudience"),
            BatchError::NotAuthorized { .. } => (S::FORBIDDEN, "AuthorizationPermissionMismatch"),
            BatchError::LocalAuthDisabled => (S::FORBIDDEN, "KeyBasedAuthenticationNotPermitted"),
            BatchError::RestoredStateRequiresRotation => {
                (S::SERVICE_UNAVAILABLE, "RestoredStateRequiresRotation")
            }
            BatchError::NotImplemented(_) => (S::NOT_IMPLEMENTED, "NotImplemented"),
            BatchError::TooLarge => (S::PAYLOAD_TOO_LARGE, "RequestBodyTooLarge"),
            BatchError::InvalidBody => (S::BAD_REQUEST, "InvalidRequestBody"),
            BatchError::MissingProperty(_) => (S::BAD_REQUEST, "MissingRequiredProperty"),
            BatchError::InvalidProperty(_) => (S::BAD_REQUEST, "InvalidPropertyValue"),
            BatchError::NotFound(c) => (
                S::NOT_FOUND,
                match c {
                    Collection::Applications => "ApplicationNotFound",
                    Collection::Pools => "PoolNotFound",
                    Collection::Jobs => "JobNotFound",
                },
            ),
            BatchError::Exists(c) => (
                S::CONFLICT,
                match c {
                    Collection::Applications => "ApplicationExists",
                    Collection::Pools => "PoolExists",
                    Collection::Jobs => "JobExists",
                },
            ),
            BatchError::TaskFailed => (S::INTERNAL_SERVER_ERROR, "InternalError"),
            BatchError::Core(e) => match crate::refusal(e) {
                Refusal::Busy => (S::SERVICE_UNAVAILABLE, "ServerBusy"),
                Refusal::KeyMaterial => (S::SERVICE_UNAVAILABLE, "KeyMaterialUnavailable"),
                Refusal::NotFound => (S::NOT_FOUND, "ResourceNotFound"),
                Refusal::Conflict => (S::CONFLICT, "ResourceAlreadyExists"),
                Refusal::Precondition => (S::PRECONDITION_FAILED, "ConditionNotMet"),
                Refusal::BadRequest => (S::BAD_REQUEST, "InvalidRequestBody"),
                Refusal::BadCredentials => (S::FORBIDDEN, "AuthenticationFailed"),
                Refusal::Forbidden => (S::FORBIDDEN, "InsufficientPermissions"),
                Refusal::Fault => (S::INTERNAL_SERVER_ERROR, "InternalError"),
            },
        }
    }

    /// The message shown: never a storage or crypto internal.
    fn public_message(&self) -> Cow<'_, str> {
        match self {
            BatchError::Core(e) => crate::core_message(
                e,
                &crate::Texts {
                    not_found: Some("The specified resource does not exist."),
                    conflict: Some("The specified resource already exists."),
                    precondition: Some(
                        "The condition specified using HTTP conditional header(s) is not met.",
                    ),
                    fault: "The server encountered an internal error.",
                },
            ),
            other => Cow::Owned(other.to_string()),
        }
    }

    /// The `values` entry some refusals carry.
    fn detail(&self) -> Option<(&'static str, Cow<'_, str>)> {
        match self {
            BatchError::AuthenticationFailed(why) => {
                Some(("AuthenticationErrorDetail", Cow::Owned(why.to_string())))
            }
            BatchError::InvalidToken(why) => {
                Some(("AuthenticationErrorDetail", Cow::Owned(why.to_string())))
            }
            BatchError::NotAuthorized {
                principal,
                action,
                scope,
            } => Some((
                "AuthorizationErrorDetail",
                Cow::Owned(format!(
                    "The principal '{principal}' has no role assignment granting '{action}' on '{scope}'."
                )),
            )),
            BatchError::MissingProperty(name) | BatchError::InvalidProperty(name) => {
                Some(("PropertyName", Cow::Borrowed(name)))
            }
            _ => None,
        }
    }
}

impl IntoResponse for BatchError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        crate::log_refusal(status, &self);
        let detail = self.detail();
        let mut r = body(
            status,
            code,
            &self.public_message(),
            detail.as_ref().map(|(k, v)| (*k, v.as_ref())),
        );
        if matches!(&self, BatchError::Core(e) if crate::retry_cures(e)) {
            r = crate::retry_soon(r);
        }
        r
    }
}

/// Batch's OData error body.
#[derive(serde::Serialize)]
struct Body<'a> {
    #[serde(rename = "odata.metadata")]
    metadata: &'static str,
    code: &'a str,
    message: Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    values: Option<[Detail<'a>; 1]>,
}

#[derive(serde::Serialize)]
struct Message {
    lang: &'static str,
    value: String,
}

#[derive(serde::Serialize)]
struct Detail<'a> {
    key: &'a str,
    value: &'a str,
}

/// The Batch error answer: the message says the request id (also its
/// `request-id` header) and the time, as the service's do.
pub(crate) fn body(
    status: StatusCode,
    code: &str,
    message: &str,
    detail: Option<(&str, &str)>,
) -> Response {
    let request_id = crate::activity_id();
    let now = time::OffsetDateTime::now_utc();
    let time = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let body = Body {
        metadata: "https://batch/$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element",
        code,
        message: Message {
            lang: "en-US",
            value: format!("{message}\nRequestId:{}\nTime:{time}", request_id.as_str()),
        },
        values: detail.map(|(key, value)| [Detail { key, value }]),
    };
    let mut r = crate::json_response(status, crate::to_json(&body));
    r.headers_mut()
        .insert(&crate::names::REQUEST_ID, request_id.header());
    r
}
