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

/// The scope a built-in role definition's id names when read at `scope`:
/// its subscription for any scope in one, the root otherwise. So Azure
/// spells them, and so the `roleDefinitionId` of an assignment matches the
/// definition listed at the assignment's own scope (az relies on it for
/// `roleDefinitionName`).
fn definition_scope(scope: &str) -> String {
    let mut segments = scope.split('/').filter(|s| !s.is_empty());
    match (segments.next(), segments.next()) {
        (Some(s), Some(sub)) if s.eq_ignore_ascii_case("subscriptions") => ids::subscription(sub),
        _ => "/".into(),
    }
}

pub fn role_definition(r: &keyrotor_core::rbac::RoleDefinition, scope: &str) -> wr::RoleDefinition {
    let strings = |s: &[&str]| s.iter().map(|a| (*a).to_string()).collect();
    wr::RoleDefinition {
        id: ids::role_definition(&definition_scope(scope), r.id),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_definitions_are_named_at_their_subscription_or_the_root() {
        let sub = "/subscriptions/00000000-0000-0000-0000-000000000001";
        let reader = keyrotor_core::rbac::role_by_name("Reader").expect("Reader");
        let want = format!(
            "{sub}/providers/Microsoft.Authorization/roleDefinitions/{}",
            reader.id
        );
        for scope in [
            sub.to_string(),
            format!("{sub}/resourceGroups/rg1"),
            format!("{sub}/resourceGroups/rg1/providers/Microsoft.Batch/batchAccounts/b1"),
        ] {
            assert_eq!(role_definition(reader, &scope).id, want, "{scope}");
        }
        assert_eq!(
            role_definition(reader, "/").id,
            format!(
                "/providers/Microsoft.Authorization/roleDefinitions/{}",
                reader.id
            )
        );
    }
}
