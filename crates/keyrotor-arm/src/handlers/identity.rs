//! keyrotor's identity extensions: service principals, their secrets, and
//! signing-key rotation.

use axum::http::StatusCode;
use axum::response::Response;
use keyrotor_core::Actor;
use keyrotor_identity::TokenIssuer;

use super::{empty, ok_json};
use crate::dto;
use crate::error::{ArmError, ArmResult};
use crate::login;
use crate::state::ArmState;
use crate::wire::identity::{SigningKeyInfo, SigningKeys};
use crate::wire::List;

/// `PrincipalsList`.
pub(super) fn handle_list_principals(st: &ArmState) -> ArmResult<Response> {
    let dir = &st.dir;
    let list: List<_> = st
        .core
        .principals()?
        .iter()
        .map(|(p, secrets)| {
            dto::principal(
                p,
                secrets,
                &dir.tenant_id,
                p.client_id == dir.admin_client_id,
            )
        })
        .collect();
    ok_json(StatusCode::OK, &list)
}

/// `PrincipalsCreate`: the new principal with its first secret.
pub(super) fn handle_create_principal(
    st: &ArmState,
    actor: &Actor,
    body: &[u8],
) -> ArmResult<Response> {
    let core = &st.core;
    let (name, expires) = dto::create_principal(body, core.now())?;
    let (p, meta, secret) = core.create_principal(actor, &name, expires)?;
    let mut v = dto::principal(&p, std::slice::from_ref(&meta), &st.dir.tenant_id, false);
    v.secret = Some(dto::new_secret(&meta, &secret));
    ok_json(StatusCode::CREATED, &v)
}

/// `PrincipalsDelete`.
pub(super) fn handle_delete_principal(
    st: &ArmState,
    actor: &Actor,
    client_id: &str,
) -> ArmResult<Response> {
    st.core.delete_principal(actor, client_id)?;
    empty(StatusCode::OK)
}

/// `PrincipalsAddSecret` (the body is optional).
pub(super) fn handle_add_secret(
    st: &ArmState,
    actor: &Actor,
    client_id: &str,
    body: &[u8],
) -> ArmResult<Response> {
    let core = &st.core;
    let expires = dto::add_secret(body, core.now())?;
    let (meta, secret) = core.add_principal_secret(actor, client_id, expires)?;
    ok_json(StatusCode::OK, &dto::new_secret(&meta, &secret))
}

/// `PrincipalsRemoveSecret`.
pub(super) fn handle_remove_secret(
    st: &ArmState,
    actor: &Actor,
    client_id: &str,
    body: &[u8],
) -> ArmResult<Response> {
    let secret_id = dto::remove_secret(body)?;
    st.core
        .remove_principal_secret(actor, client_id, &secret_id)?;
    empty(StatusCode::OK)
}

/// `SigningKeysList`: the keys the JWKS publishes, oldest first; the last
/// one signs (never key material).
pub(super) fn handle_list_signing_keys(st: &ArmState) -> ArmResult<Response> {
    let list: List<SigningKeyInfo> = st
        .core
        .signing_key_list()?
        .iter()
        .map(dto::signing_key)
        .collect();
    ok_json(StatusCode::OK, &list)
}

/// `SigningKeysRotate`: a new signing key, and this node's issuer rebuilt
/// from the stored keys.
pub(super) fn handle_rotate_signing_keys(st: &ArmState) -> ArmResult<Response> {
    let core = &st.core;
    // Old keys stay in the JWKS until every token they signed has expired.
    let overlap = time::Duration::seconds(login::TOKEN_LIFETIME_SECONDS + 600);
    let keys = core.rotate_signing_key(overlap, || {
        keyrotor_identity::generate_signing_key()
            .map_err(|_| keyrotor_core::Error::Crypto(keyrotor_crypto::Error::Rng))
    })?;
    let pairs: Vec<(String, &[u8])> = keys
        .iter()
        .map(|k| (k.kid.clone(), k.pkcs8.as_slice()))
        .collect();
    let issuer = TokenIssuer::new(st.issuer_name(), &pairs)
        .map_err(|e| ArmError::Internal(e.to_string()))?;
    let epoch = core.change_epoch(keyrotor_core::ChangeDomain::Signing);
    st.set_issuer_at(issuer, epoch);
    let jwks_kids: Vec<String> = keys.iter().map(|k| k.kid.clone()).collect();
    ok_json(
        StatusCode::OK,
        &SigningKeys {
            signing_kid: jwks_kids.last().cloned(),
            jwks_kids,
        },
    )
}
