//! Role assignments and (built-in) role definitions.

use axum::http::StatusCode;
use axum::response::Response;
use keyrotor_core::rbac::{is_ancestor_or_self, normalize_scope};
use keyrotor_core::Actor;

use super::{empty, ok_json};
use crate::dispatch::Query;
use crate::dto;
use crate::error::{ArmError, ArmResult};
use crate::odata::rbac_filter;
use crate::state::ArmState;
use crate::wire::List;

/// `RoleAssignmentsList`: assignments above and below the scope (above only
/// with `atScope()`), optionally of one principal.
pub(super) fn handle_list_assignments(
    st: &ArmState,
    scope: &str,
    query: &Query,
) -> ArmResult<Response> {
    let key = normalize_scope(scope).ok_or_else(|| ArmError::NoRoute(scope.to_string()))?;
    let filter = rbac_filter(query.filter.as_deref())?;
    let value: List<_> = st
        .core
        .role_assignments()?
        .iter()
        .filter(|a| {
            let Some(k) = normalize_scope(&a.scope) else {
                return false;
            };
            let above = is_ancestor_or_self(&k, &key);
            let below = is_ancestor_or_self(&key, &k);
            let in_scope = if filter.at_scope {
                above
            } else {
                above || below
            };
            in_scope
                && filter
                    .principal
                    .as_deref()
                    .is_none_or(|p| a.principal_id.eq_ignore_ascii_case(p))
        })
        .map(|a| dto::role_assignment(a, &st.dir.subscription_id))
        .collect();
    ok_json(StatusCode::OK, &value)
}

/// `RoleAssignmentsCreate` (PUT): service principals only.
pub(super) fn handle_create_assignment(
    st: &ArmState,
    actor: &Actor,
    scope: &str,
    name: &str,
    body: &[u8],
) -> ArmResult<Response> {
    let dir = &st.dir;
    let (role, principal) = dto::role_assignment_request(body)?;
    let (a, created) = st
        .core
        .create_role_assignment(dir, actor, name, scope, &principal, &role)?;
    ok_json(
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        &dto::role_assignment(&a, &dir.subscription_id),
    )
}

/// `RoleAssignmentsGet`.
pub(super) fn handle_get_assignment(st: &ArmState, scope: &str, name: &str) -> ArmResult<Response> {
    let a = st.core.role_assignment(name, scope)?;
    ok_json(
        StatusCode::OK,
        &dto::role_assignment(&a, &st.dir.subscription_id),
    )
}

/// `RoleAssignmentsDelete`: the deleted assignment, or 204 when there was none.
pub(super) fn handle_delete_assignment(
    st: &ArmState,
    actor: &Actor,
    scope: &str,
    name: &str,
) -> ArmResult<Response> {
    match st.core.delete_role_assignment(actor, name, scope)? {
        Some(a) => ok_json(
            StatusCode::OK,
            &dto::role_assignment(&a, &st.dir.subscription_id),
        ),
        None => empty(StatusCode::NO_CONTENT),
    }
}

/// `RoleDefinitionsList`: the built-in roles, optionally one by `roleName`.
pub(super) fn handle_list_definitions(scope: &str, query: &Query) -> ArmResult<Response> {
    let filter = rbac_filter(query.filter.as_deref())?;
    let value: List<_> = keyrotor_core::rbac::BUILTIN_ROLES
        .iter()
        .filter(|r| {
            filter
                .role_name
                .as_deref()
                .is_none_or(|n| r.name.eq_ignore_ascii_case(n))
        })
        .map(|r| dto::role_definition(r, scope))
        .collect();
    ok_json(StatusCode::OK, &value)
}

/// `RoleDefinitionsGet`.
pub(super) fn handle_get_definition(scope: &str, id: &str) -> ArmResult<Response> {
    let r = keyrotor_core::rbac::role_by_id(id)
        .ok_or_else(|| keyrotor_core::Error::RoleNotFound(id.chars().take(64).collect()))?;
    ok_json(StatusCode::OK, &dto::role_definition(r, scope))
}
