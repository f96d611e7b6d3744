//! Resource groups.

use axum::http::StatusCode;
use axum::response::Response;
use keyrotor_core::Actor;
use keyrotor_types::ResourceGroupName;

use super::{empty, group_name_for_read, ok_json, sub_id};
use crate::dispatch::Access;
use crate::dto;
use crate::error::{ArmError, ArmResult};
use crate::state::ArmState;
use crate::wire::{ids, List};

/// `ResourceGroupsList`: the groups the caller may read.
pub(super) fn handle_list(
    st: &ArmState,
    access: &Access,
    subscription: &str,
) -> ArmResult<Response> {
    let sub = sub_id(subscription)?;
    let groups = st.core.groups(&st.dir, &sub)?;
    let read = format!("{}/resourceGroups/read", ids::SUBSCRIPTIONS);
    let value: List<_> = groups
        .iter()
        .filter(|g| {
            access.may_read(
                &keyrotor_core::rbac::group_scope(&g.subscription, &g.name),
                &read,
            )
        })
        .map(dto::resource_group)
        .collect();
    ok_json(StatusCode::OK, &value)
}

/// `ResourceGroupsCreateOrUpdate`.
pub(super) fn handle_create_or_update(
    st: &ArmState,
    actor: &Actor,
    subscription: &str,
    group: &str,
    body: &[u8],
) -> ArmResult<Response> {
    let sub = sub_id(subscription)?;
    let name = ResourceGroupName::parse(group).map_err(keyrotor_core::Error::from)?;
    let body = dto::group_request(body)?;
    let location = body
        .location
        .ok_or_else(|| ArmError::InvalidParameter("'location' is required".into()))?;
    let tags = body.tags.unwrap_or_default();
    let (g, created) = st
        .core
        .put_group(&st.dir, actor, &sub, &name, &location, tags)?;
    ok_json(
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        &dto::resource_group(&g),
    )
}

/// `ResourceGroupsGet`.
pub(super) fn handle_get(st: &ArmState, subscription: &str, group: &str) -> ArmResult<Response> {
    let sub = sub_id(subscription)?;
    let g = st.core.group(&st.dir, &sub, &group_name_for_read(group)?)?;
    ok_json(StatusCode::OK, &dto::resource_group(&g))
}

/// `ResourceGroupsCheckExistence` (HEAD): 204 or 404, no body.
pub(super) fn handle_check_existence(
    st: &ArmState,
    subscription: &str,
    group: &str,
) -> ArmResult<Response> {
    let sub = sub_id(subscription)?;
    let found = match ResourceGroupName::parse(group) {
        Ok(name) => st
            .core
            .group(&st.dir, &sub, &name)
            .map(|_| true)
            .or_else(|e| match e {
                keyrotor_core::Error::GroupNotFound(_) => Ok(false),
                other => Err(other),
            })?,
        Err(_) => false,
    };
    empty(if found {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    })
}

/// `ResourceGroupsUpdate` (PATCH): tags only.
pub(super) fn handle_update(
    st: &ArmState,
    actor: &Actor,
    subscription: &str,
    group: &str,
    body: &[u8],
) -> ArmResult<Response> {
    let sub = sub_id(subscription)?;
    let name = group_name_for_read(group)?;
    let body = dto::group_request(body)?;
    let current = st.core.group(&st.dir, &sub, &name)?;
    let tags = body.tags.unwrap_or(current.tags);
    let (g, _) = st
        .core
        .put_group(&st.dir, actor, &sub, &name, &current.location, tags)?;
    ok_json(StatusCode::OK, &dto::resource_group(&g))
}

/// `ResourceGroupsDelete`.
pub(super) fn handle_delete(
    st: &ArmState,
    actor: &Actor,
    subscription: &str,
    group: &str,
) -> ArmResult<Response> {
    let sub = sub_id(subscription)?;
    st.core
        .delete_group(&st.dir, actor, &sub, &group_name_for_read(group)?)?;
    empty(StatusCode::OK)
}
