//! One `handle_<operation>` function per ARM operation, grouped by the
//! resource it acts on; [`handle`] maps each [`Operation`] to its function.
//! Handlers run on the blocking pool, authorized already.

mod accounts;
mod groups;
mod identity;
mod keys;
mod monitor;
mod rbac;
mod resources;
mod rotation;
mod subscriptions;
mod vaults;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use keyrotor_core::{Actor, Directory};
use keyrotor_types::{ResourceGroupName, SubscriptionId};
use serde::Serialize;

use crate::dispatch::{Access, Query};
use crate::error::{ArmError, ArmResult};
use crate::operation::Operation;
use crate::state::ArmState;

/// Runs one authorized operation.
pub(crate) fn handle(
    st: &ArmState,
    actor: &Actor,
    access: &Access,
    op: Operation,
    body: &[u8],
    query: &Query,
) -> ArmResult<Response> {
    match op {
        Operation::SubscriptionsList => subscriptions::handle_list(st, access),
        Operation::SubscriptionsGet { subscription } => {
            subscriptions::handle_get(st, &subscription)
        }
        Operation::ProvidersGet {
            subscription,
            namespace,
        }
        | Operation::ProvidersRegister {
            subscription,
            namespace,
        } => subscriptions::handle_get_provider(st, &subscription, &namespace),
        Operation::ResourceGroupsList { subscription } => {
            groups::handle_list(st, access, &subscription)
        }
        Operation::ResourceGroupsCreateOrUpdate {
            subscription,
            group,
        } => groups::handle_create_or_update(st, actor, &subscription, &group, body),
        Operation::ResourceGroupsGet {
            subscription,
            group,
        } => groups::handle_get(st, &subscription, &group),
        Operation::ResourceGroupsCheckExistence {
            subscription,
            group,
        } => groups::handle_check_existence(st, &subscription, &group),
        Operation::ResourceGroupsUpdate {
            subscription,
            group,
        } => groups::handle_update(st, actor, &subscription, &group, body),
        Operation::ResourceGroupsDelete {
            subscription,
            group,
        } => groups::handle_delete(st, actor, &subscription, &group),
        Operation::AccountsList {
            kind,
            subscription,
            group,
        } => accounts::handle_list(st, access, kind, &subscription, group.as_deref()),
        Operation::AccountsCreate(p) => accounts::handle_create(st, actor, &p, body),
        Operation::AccountsUpdate(p) => accounts::handle_update(st, actor, &p, body, query),
        Operation::AccountsGet(p) => accounts::handle_get(st, &p),
        Operation::AccountsDelete(p) => accounts::handle_delete(st, actor, &p),
        Operation::CheckNameExists { kind, name } => {
            accounts::handle_check_name_exists(st, kind, &name)
        }
        Operation::AccountsListKeys(p) => keys::handle_list(st, actor, &p),
        Operation::AccountsListReadOnlyKeys(p) => keys::handle_list_read_only(st, actor, &p),
        Operation::AccountsListConnectionStrings(p) => {
            keys::handle_list_connection_strings(st, actor, &p)
        }
        Operation::AccountsRegenerateKey(p) => keys::handle_regenerate(st, actor, &p, body, query),
        Operation::AccountsListKeyUsage(p) => keys::handle_list_usage(st, &p, query),
        Operation::PrincipalsList => identity::handle_list_principals(st),
        Operation::PrincipalsCreate => identity::handle_create_principal(st, actor, body),
        Operation::PrincipalsDelete { client_id } => {
            identity::handle_delete_principal(st, actor, &client_id)
        }
        Operation::PrincipalsAddSecret { client_id } => {
            identity::handle_add_secret(st, actor, &client_id, body)
        }
        Operation::PrincipalsRemoveSecret { client_id } => {
            identity::handle_remove_secret(st, actor, &client_id, body)
        }
        Operation::SigningKeysRotate => identity::handle_rotate_signing_keys(st),
        Operation::SigningKeysList => identity::handle_list_signing_keys(st),
        Operation::RoleAssignmentsList { scope } => {
            rbac::handle_list_assignments(st, &scope, query)
        }
        Operation::RoleAssignmentsCreate { scope, name } => {
            rbac::handle_create_assignment(st, actor, &scope, &name, body)
        }
        Operation::RoleAssignmentsGet { scope, name } => {
            rbac::handle_get_assignment(st, &scope, &name)
        }
        Operation::RoleAssignmentsDelete { scope, name } => {
            rbac::handle_delete_assignment(st, actor, &scope, &name)
        }
        Operation::RoleDefinitionsList { scope } => rbac::handle_list_definitions(&scope, query),
        Operation::RoleDefinitionsGet { scope, id } => rbac::handle_get_definition(&scope, &id),
        Operation::VaultsCreate(p) | Operation::VaultsUpdate(p) => {
            vaults::handle_put(st, actor, &p, body)
        }
        Operation::VaultsGet(p) => vaults::handle_get(st, &p),
        Operation::VaultsDelete(p) => vaults::handle_delete(st, actor, &p),
        Operation::VaultsList {
            subscription,
            group,
        } => vaults::handle_list(st, access, &subscription, group.as_deref()),
        Operation::VaultsListDeleted { subscription } => {
            vaults::handle_list_deleted(st, &subscription)
        }
        Operation::VaultsGetDeleted { subscription, name } => {
            vaults::handle_get_deleted(st, &subscription, &name)
        }
        Operation::VaultsPurgeDeleted { subscription, name } => {
            vaults::handle_purge_deleted(st, actor, &subscription, &name)
        }
        Operation::ManagedHsmsListDeleted { subscription } => {
            vaults::handle_list_deleted_managed_hsms(st, &subscription)
        }
        Operation::ResourcesList {
            subscription,
            group,
        } => resources::handle_list(st, access, &subscription, group.as_deref(), query),
        Operation::RotationPoliciesRun => rotation::handle_run(st, body),
        Operation::ActivityLogsList { subscription } => {
            monitor::handle_list(st, access, &subscription, query)
        }
    }
}

/// The subscription named in a path, which must be this service's one.
fn own_subscription(dir: &Directory, s: &str) -> ArmResult<SubscriptionId> {
    let sub = sub_id(s)?;
    if sub != dir.subscription_id {
        return Err(
            keyrotor_core::Error::SubscriptionNotFound(s.chars().take(64).collect()).into(),
        );
    }
    Ok(sub)
}

fn sub_id(s: &str) -> ArmResult<SubscriptionId> {
    SubscriptionId::parse(s).map_err(|_| {
        keyrotor_core::Error::SubscriptionNotFound(s.chars().take(64).collect()).into()
    })
}

/// Group names in a path: an invalid name cannot exist, so reads answer 404.
fn group_name_for_read(s: &str) -> ArmResult<ResourceGroupName> {
    ResourceGroupName::parse(s)
        .map_err(|_| keyrotor_core::Error::GroupNotFound(s.chars().take(90).collect()).into())
}

/// A JSON answer. The body goes out through `serde_json::Value`, whose
/// objects keep their keys sorted, as every ARM answer of keyrotor has.
fn ok_json<T: Serialize>(status: StatusCode, body: &T) -> ArmResult<Response> {
    let v = serde_json::to_value(body).map_err(|e| ArmError::Internal(e.to_string()))?;
    Ok((status, Json(v)).into_response())
}

fn empty(status: StatusCode) -> ArmResult<Response> {
    Ok(status.into_response())
}
