//! Role assignments and definitions.

use super::*;

/// A role definition's ARM id as Azure spells it for built-ins
/// (subscription-scoped).
pub fn role_definition_id(sub: &keyrotor_types::SubscriptionId, guid: &str) -> String {
    ids::role_definition(&ids::subscription(sub.as_str()), guid)
}

pub fn role_assignment(
    a: &keyrotor_core::rbac::RoleAssignment,
    sub: &keyrotor_types::SubscriptionId,
) -> wr::RoleAssignment {
    wr::RoleAssignment {
        id: ids::role_assignment(&a.scope, &a.name),
        name: a.name.clone(),
        resource_type: ids::ROLE_ASSIGNMENTS.into(),
        properties: wr::RoleAssignmentProperties {
            role_definition_id: role_definition_id(sub, &a.role_id),
            principal_id: a.principal_id.clone(),
            principal_type: wr::SERVICE_PRINCIPAL.into(),
            scope: a.scope.clone(),
            condition: None,
            condition_version: None,
            created_on: Timestamp(a.created_at),
            updated_on: Timestamp(a.created_at),
            created_by: a.created_by.clone(),
            updated_by: a.created_by.clone(),
            delegated_managed_identity_resource_id: None,
            description: None,
        },
    }
}

/// A role assignment PUT body: the role (id, GUID or name) and the
/// principal, both required; service principals only.
pub fn role_assignment_request(body: &[u8]) -> ArmResult<(String, String)> {
    const PROPERTIES: &str = "'properties' is required";
    let r: wr::RoleAssignmentRequest = parse(
        body,
        &[
            ("properties", PROPERTIES),
            ("properties.roleDefinitionId", ""),
            ("properties.principalId", ""),
        ],
    )?;
    let p = r
        .properties
        .ok_or_else(|| ArmError::InvalidParameter(PROPERTIES.into()))?;
    let required = |v: Option<String>, f: &str| match v {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => Err(ArmError::InvalidParameter(format!(
            "'properties.{f}' must be a non-empty string"
        ))),
        None => Err(ArmError::InvalidParameter(format!(
            "'properties.{f}' is required"
        ))),
    };
    let role = required(p.role_definition_id, "roleDefinitionId")?;
    let principal = required(p.principal_id, "principalId")?;
    if let Some(t) = p.principal_type {
        if !t.eq_ignore_ascii_case(wr::SERVICE_PRINCIPAL) {
            return Err(ArmError::InvalidParameter(format!(
                "principalType '{}' is not supported: keyrotor has service principals only",
                t.chars().take(40).collect::<String>()
            )));
        }
    }
    Ok((role, principal))
}

pub fn role_definition(r: &keyrotor_core::rbac::RoleDefinition, scope: &str) -> wr::RoleDefinition {
    let strings = |s: &[&str]| s.iter().map(|a| (*a).to_string()).collect();
    wr::RoleDefinition {
        id: ids::role_definition(scope, r.id),
        name: r.id.to_string(),
        resource_type: ids::ROLE_DEFINITIONS.into(),
        properties: wr::RoleDefinitionProperties {
            role_name: r.name.to_string(),
            description: r.description.to_string(),
            role_type: "BuiltInRole".into(),
            permissions: vec![wr::Permission {
                actions: strings(r.permissions.actions),
                not_actions: strings(r.permissions.not_actions),
                data_actions: strings(r.permissions.data_actions),
                not_data_actions: strings(r.permissions.not_data_actions),
            }],
            assignable_scopes: vec!["/".into()],
        },
    }
}
