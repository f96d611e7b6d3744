//! Key Vault resources (the control plane; the vault data plane is in
//! `keyrotor-dataplane`).

use axum::http::StatusCode;
use axum::response::Response;
use keyrotor_core::Actor;

use super::{empty, group_name_for_read, ok_json, own_subscription, sub_id};
use crate::dispatch::Access;
use crate::dto;
use crate::error::ArmResult;
use crate::operation::VaultPath;
use crate::state::ArmState;
use crate::wire::{ids, List};

/// `VaultsCreate` and `VaultsUpdate` (PUT): creates or replaces the vault,
/// or recovers a deleted one with `createMode: recover`.
pub(super) fn handle_put(
    st: &ArmState,
    actor: &Actor,
    p: &VaultPath,
    body: &[u8],
) -> ArmResult<Response> {
    let core = &st.core;
    let dir = &st.dir;
    let sub = sub_id(&p.subscription)?;
    let group = group_name_for_read(&p.resource_group)?;
    let name = keyrotor_types::VaultName::parse(&p.name).map_err(keyrotor_core::Error::from)?;
    let body = dto::vault_request(body)?;
    if body.recover() {
        let v = core.recover_vault(actor, name.as_str())?;
        return ok_json(
            StatusCode::OK,
            &dto::vault(&v, &st.endpoints, &dir.tenant_id),
        );
    }
    let existing = core.vault_in(&sub, &group, name.as_str()).ok();
    let spec = dto::vault_spec(&body, existing.as_ref())?;
    let (v, created) = core.put_vault(dir, actor, &sub, &group, &name, spec)?;
    ok_json(
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        &dto::vault(&v, &st.endpoints, &dir.tenant_id),
    )
}

/// `VaultsGet`.
pub(super) fn handle_get(st: &ArmState, p: &VaultPath) -> ArmResult<Response> {
    let v = st.core.vault_in(
        &sub_id(&p.subscription)?,
        &group_name_for_read(&p.resource_group)?,
        &p.name,
    )?;
    ok_json(
        StatusCode::OK,
        &dto::vault(&v, &st.endpoints, &st.dir.tenant_id),
    )
}

/// `VaultsDelete` (soft delete): 204 when the vault is already gone (the
/// group must exist).
pub(super) fn handle_delete(st: &ArmState, actor: &Actor, p: &VaultPath) -> ArmResult<Response> {
    let core = &st.core;
    let sub = sub_id(&p.subscription)?;
    let group = group_name_for_read(&p.resource_group)?;
    core.group(&st.dir, &sub, &group)?;
    match core.vault_in(&sub, &group, &p.name) {
        Ok(v) => {
            core.delete_vault(actor, &v)?;
            empty(StatusCode::OK)
        }
        Err(keyrotor_core::Error::VaultNotFound(_)) => empty(StatusCode::NO_CONTENT),
        Err(e) => Err(e.into()),
    }
}

/// `VaultsList`: the vaults the caller may read, in the subscription or one
/// of its groups.
pub(super) fn handle_list(
    st: &ArmState,
    access: &Access,
    subscription: &str,
    group: Option<&str>,
) -> ArmResult<Response> {
    let core = &st.core;
    let dir = &st.dir;
    let sub = sub_id(subscription)?;
    let group = group.map(group_name_for_read).transpose()?;
    if let Some(g) = &group {
        core.group(dir, &sub, g)?;
    }
    let read = format!("{}/read", ids::VAULTS);
    let value: List<_> = core
        .vaults(&sub, group.as_ref())?
        .iter()
        .filter(|v| access.may_read(&dto::vault_id(v), &read))
        .map(|v| dto::vault(v, &st.endpoints, &dir.tenant_id))
        .collect();
    ok_json(StatusCode::OK, &value)
}

/// `VaultsListDeleted`.
pub(super) fn handle_list_deleted(st: &ArmState, subscription: &str) -> ArmResult<Response> {
    own_subscription(&st.dir, subscription)?;
    let value: List<_> = st
        .core
        .deleted_vaults()?
        .iter()
        .map(dto::deleted_vault)
        .collect();
    ok_json(StatusCode::OK, &value)
}

/// `ManagedHsmsListDeleted`: always empty, keyrotor has no managed HSMs
/// (`az keyvault list-deleted` lists both kinds).
pub(super) fn handle_list_deleted_managed_hsms(
    st: &ArmState,
    subscription: &str,
) -> ArmResult<Response> {
    own_subscription(&st.dir, subscription)?;
    ok_json(StatusCode::OK, &List::<serde_json::Value>::new(Vec::new()))
}

/// `VaultsGetDeleted`.
pub(super) fn handle_get_deleted(
    st: &ArmState,
    subscription: &str,
    name: &str,
) -> ArmResult<Response> {
    own_subscription(&st.dir, subscription)?;
    ok_json(
        StatusCode::OK,
        &dto::deleted_vault(&st.core.deleted_vault(name)?),
    )
}

/// `VaultsPurgeDeleted`.
pub(super) fn handle_purge_deleted(
    st: &ArmState,
    actor: &Actor,
    subscription: &str,
    name: &str,
) -> ArmResult<Response> {
    own_subscription(&st.dir, subscription)?;
    st.core.purge_vault(actor, name)?;
    empty(StatusCode::OK)
}
