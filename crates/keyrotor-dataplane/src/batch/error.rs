//! The one table of the Batch data plane: every refusal and every domain
//! error it can meet, to a status, a Batch error code and (for some) a
//! detail, rendered in Batch's OData error body
//! `{"odata.metadata","code","message":{"lang","value"},"values"?}` with
//! the request id and time in the message, as the service writes them.

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use keyrotor_auth::AuthError;
use keyrotor_core::{Error as CoreError, StoreError};
use keyrotor_crypto::vault::VaultCryptoError;

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
            BatchError::Core(e) => match e {
                CoreError::Unavailable(_) => (S::SERVICE_UNAVAILABLE, "ServerBusy"),
                CoreError::KeyMaterialUnavailable(_) => {
                    (S::SERVICE_UNAVAILABLE, "KeyMaterialUnavailable")
                }
                // Not there (deleted by a concurrent request among them).
                CoreError::Gone
                | CoreError::Storage(StoreError::NotFound)
                | CoreError::ItemNotFound
                | CoreError::AccountNotFound { .. }
                | CoreError::SubscriptionNotFound(_)
                | CoreError::GroupNotFound(_)
                | CoreError::PrincipalNotFound(_)
                | CoreError::RoleNotFound(_)
                | CoreError::RoleAssignmentNotFound(_)
                | CoreError::VaultNotFound(_)
                | CoreError::ObjectNotFound(..) => (S::NOT_FOUND, "ResourceNotFound"),
                // Changed or taken by another request.
                CoreError::ChangedMeanwhile
                | CoreError::Storage(StoreError::Conflict)
                | CoreError::ItemExists
                | CoreError::NameTaken { .. }
                | CoreError::KeysInUse { .. }
                | CoreError::RoleAssignmentExists
                | CoreError::VaultNameTaken(_)
                | CoreError::ObjectConflict(..)
                | CoreError::ObjectChanged(..) => (S::CONFLICT, "ResourceAlreadyExists"),
                CoreError::PreconditionFailed
                | CoreError::Storage(StoreError::PreconditionFailed) => {
                    (S::PRECONDITION_FAILED, "ConditionNotMet")
                }
                CoreError::InvalidInput(_)
                | CoreError::InvalidName(_)
                | CoreError::NoSuchKey { .. }
                | CoreError::VaultCrypto(
                    VaultCryptoError::BadKeySpec
                    | VaultCryptoError::WrongAlgorithm(_)
                    | VaultCryptoError::BadInput
                    | VaultCryptoError::Unauthentic,
                ) => (S::BAD_REQUEST, "InvalidRequestBody"),
                CoreError::BadCredentials => (S::FORBIDDEN, "AuthenticationFailed"),
                CoreError::NotPrincipalOwner { .. }
                | CoreError::AdministratorManagedLocally
                | CoreError::ObjectDisabled(_)
                | CoreError::ObjectNotValidNow(_)
                | CoreError::PurgeProtected(_) => (S::FORBIDDEN, "InsufficientPermissions"),
                // Server faults: damaged data, the ledger, the crypto
                // library (the cause is logged, never sent).
                CoreError::Storage(
                    StoreError::Corrupt(_) | StoreError::Backend(_) | StoreError::Unavailable(_),
                )
                | CoreError::Crypto(_)
                | CoreError::Ledger(_)
                | CoreError::VaultCrypto(VaultCryptoError::Malformed | VaultCryptoError::Library) => {
                    (S::INTERNAL_SERVER_ERROR, "InternalError")
                }
            },
        }
    }

    /// The message shown: never a storage or crypto internal.
    fn public_message(&self) -> Cow<'_, str> {
        let BatchError::Core(e) = self else {
            return Cow::Owned(self.to_string());
        };
        if crate::retry_cures(e) {
            return Cow::Borrowed(crate::BUSY_MESSAGE);
        }
        if let CoreError::KeyMaterialUnavailable(_) = e {
            return Cow::Borrowed(crate::KEY_MATERIAL_MESSAGE);
        }
        Cow::Borrowed(match self.status_and_code().0 {
            StatusCode::NOT_FOUND => "The specified resource does not exist.",
            StatusCode::CONFLICT => "The specified resource already exists.",
            StatusCode::PRECONDITION_FAILED => {
                "The condition specified using HTTP conditional header(s) is not met."
            }
            s if s.is_server_error() => "The server encountered an internal error.",
            _ => return Cow::Owned(e.to_string()),
        })
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

/// The Batch error body.
pub(crate) fn body(
    status: StatusCode,
    code: &str,
    message: &str,
    detail: Option<(&str, &str)>,
) -> Response {
    use crate::push_json_str;
    let request_id = crate::activity_id();
    let mut body = String::with_capacity(message.len() + code.len() + 320);
    body.push_str(r#"{"odata.metadata":"https://batch/$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element","code":"#);
    push_json_str(&mut body, code);
    // "{message}\nRequestId:{id}\nTime:{time}": id and time need no escaping.
    body.push_str(r#","message":{"lang":"en-US","value":""#);
    crate::push_json_str_content(&mut body, message);
    body.push_str("\\nRequestId:");
    body.push_str(request_id.as_str());
    body.push_str("\\nTime:");
    push_now_rfc3339(&mut body);
    body.push_str("\"}");
    if let Some((k, v)) = detail {
        body.push_str(r#","values":[{"key":"#);
        push_json_str(&mut body, k);
        body.push_str(r#","value":"#);
        push_json_str(&mut body, v);
        body.push_str("}]");
    }
    body.push('}');
    let mut r = crate::json_response(status, body);
    r.headers_mut()
        .insert(&crate::names::REQUEST_ID, request_id.header());
    r
}

/// Appends the current time in RFC 3339 at second resolution (for error
/// messages); formatted once per second and thread.
fn push_now_rfc3339(out: &mut String) {
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    // Unix seconds first (cheap); a calendar date only when the second changed.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    LAST.with(|l| {
        let mut l = l.borrow_mut();
        if l.0 != secs {
            l.1 = time::OffsetDateTime::from_unix_timestamp(secs)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default();
            l.0 = secs;
        }
        out.push_str(&l.1);
    });
}
