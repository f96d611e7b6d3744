//! Answers shared by the data planes: JSON error bodies, the one
//! classification of core errors (`refusal`), when to say Retry-After, and
//! how refusals are logged.

use std::borrow::Cow;

use super::*;

/// `{"error":{"code","message"}}`, the body AI Services and Key Vault share.
#[derive(serde::Serialize)]
struct CodeMessageError<'a> {
    error: CodeMessage<'a>,
}

#[derive(serde::Serialize)]
struct CodeMessage<'a> {
    code: &'a str,
    message: &'a str,
}

/// An AI Services or Key Vault error answer.
pub(crate) fn code_message_error(status: http::StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        to_json(&CodeMessageError {
            error: CodeMessage { code, message },
        }),
    )
}

/// `v` serialized (an error body: plain structs of strings, which always
/// serialize).
pub(crate) fn to_json(v: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// A response with a JSON body already serialized.
pub(crate) fn json_response(status: http::StatusCode, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(http::header::CONTENT_TYPE, names::APPLICATION_JSON.clone());
    r
}

/// The message of a 503 that storage may heal (with `Retry-After`).
pub(crate) const BUSY_MESSAGE: &str =
    "The server is currently unable to receive requests. Please retry your request.";

/// The message of `KeyMaterialUnavailable`: stored keys do not decrypt (a
/// damaged row: retrying does not help, an operator must act, so no
/// Retry-After). A key is never accepted without its current value known.
pub(crate) const KEY_MATERIAL_MESSAGE: &str =
    "The account's keys could not be read by the server. Contact the service's operator.";

/// Whether a retry can cure a domain error: only storage that did not
/// answer. The one rule behind every data plane's `Retry-After`.
pub(crate) fn retry_cures(e: &keyrotor_core::Error) -> bool {
    matches!(e, keyrotor_core::Error::Unavailable(_))
}

/// What a core error means to a client, the same on every data plane;
/// each service's table names each kind in its own status and code (after
/// any case it answers more precisely). One exhaustive match: a new core
/// error does not compile until it has a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Storage did not answer (503 with Retry-After).
    Busy,
    /// The account's stored keys do not decrypt (503, no Retry-After).
    KeyMaterial,
    /// Not there (deleted by a concurrent request among them).
    NotFound,
    /// Changed or taken by another request.
    Conflict,
    Precondition,
    BadRequest,
    BadCredentials,
    Forbidden,
    /// Damaged data, the ledger, the crypto library: the cause is logged,
    /// never sent.
    Fault,
}

pub(crate) fn refusal(e: &keyrotor_core::Error) -> Refusal {
    use keyrotor_core::Error as E;
    use keyrotor_core::StoreError as S;
    use keyrotor_crypto::vault::VaultCryptoError as V;
    match e {
        E::Unavailable(_) => Refusal::Busy,
        E::KeyMaterialUnavailable(_) => Refusal::KeyMaterial,
        E::ItemNotFound
        | E::Gone
        | E::Storage(S::NotFound)
        | E::AccountNotFound { .. }
        | E::SubscriptionNotFound(_)
        | E::GroupNotFound(_)
        | E::PrincipalNotFound(_)
        | E::RoleNotFound(_)
        | E::RoleAssignmentNotFound(_)
        | E::VaultNotFound(_)
        | E::ObjectNotFound(..) => Refusal::NotFound,
        E::ItemExists
        | E::ChangedMeanwhile
        | E::Storage(S::Conflict)
        | E::NameTaken { .. }
        | E::KeysInUse { .. }
        | E::RoleAssignmentExists
        | E::VaultNameTaken(_)
        | E::ObjectConflict(..)
        | E::ObjectChanged(..) => Refusal::Conflict,
        E::PreconditionFailed | E::Storage(S::PreconditionFailed) => Refusal::Precondition,
        E::InvalidInput(_)
        | E::InvalidName(_)
        | E::NoSuchKey { .. }
        | E::VaultCrypto(V::BadKeySpec | V::WrongAlgorithm(_) | V::BadInput | V::Unauthentic) => {
            Refusal::BadRequest
        }
        E::BadCredentials => Refusal::BadCredentials,
        E::NotPrincipalOwner { .. }
        | E::NotInDirectory(_)
        | E::AdministratorManagedLocally
        | E::ObjectDisabled(_)
        | E::ObjectNotValidNow(_)
        | E::PurgeProtected(_) => Refusal::Forbidden,
        E::Storage(S::Corrupt(_) | S::Backend(_) | S::Unavailable(_))
        | E::Crypto(_)
        | E::Ledger(_)
        | E::VaultCrypto(V::Malformed | V::Library) => Refusal::Fault,
    }
}

/// Logs a refused request: a server fault with its cause (which the answer
/// never carries), anything else at debug level. A 501 (an operation keyrotor
/// does not implement) is the client's request, not a fault: logging it at
/// error level would write a line per such request.
pub(crate) fn log_refusal(status: http::StatusCode, e: &(dyn std::error::Error + 'static)) {
    if status.is_server_error() && status != http::StatusCode::NOT_IMPLEMENTED {
        tracing::error!(
            error = %e,
            source = ?e.source().map(ToString::to_string),
            "data-plane request failed"
        );
    } else {
        tracing::debug!(error = %e, "data-plane request refused");
    }
}

/// Adds `Retry-After: 1` to a 503 that storage may heal (every data plane
/// and the vault say it the same way).
pub(crate) fn retry_soon(mut r: Response) -> Response {
    r.headers_mut()
        .insert(http::header::RETRY_AFTER, names::ONE.clone());
    r
}

/// What a service says for the kinds of refusal whose core text it
/// replaces with its own (`None`: the core's message, which never holds an
/// internal).
pub(crate) struct Texts {
    pub not_found: Option<&'static str>,
    pub conflict: Option<&'static str>,
    pub precondition: Option<&'static str>,
    pub fault: &'static str,
}

/// The message a core refusal shows: storage that did not answer and keys
/// that do not decrypt say so in the shared words; the service's own text
/// where it has one; otherwise the core's message.
pub(crate) fn core_message<'a>(e: &'a keyrotor_core::Error, texts: &Texts) -> Cow<'a, str> {
    let own = match refusal(e) {
        Refusal::Busy => Some(BUSY_MESSAGE),
        Refusal::KeyMaterial => Some(KEY_MATERIAL_MESSAGE),
        Refusal::NotFound => texts.not_found,
        Refusal::Conflict => texts.conflict,
        Refusal::Precondition => texts.precondition,
        Refusal::Fault => Some(texts.fault),
        Refusal::BadRequest | Refusal::BadCredentials | Refusal::Forbidden => None,
    };
    own.map_or_else(|| Cow::Owned(e.to_string()), Cow::Borrowed)
}
