//! `Microsoft.Authorization`: role assignments and role definitions.

use serde::{Deserialize, Serialize};

use super::{lenient, Timestamp};

/// A role assignment as ARM returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    pub id: String,
    /// The assignment's GUID.
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub properties: RoleAssignmentProperties,
}

/// The `null`s are the ARM fields keyrotor has no use for (conditions,
/// delegated identities, descriptions); the SDKs expect them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    pub role_definition_id: String,
    pub principal_id: String,
    /// `ServicePrincipal`: keyrotor has no other principals.
    pub principal_type: String,
    pub scope: String,
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub condition_version: Option<String>,
    pub created_on: Timestamp,
    pub updated_on: Timestamp,
    pub created_by: String,
    pub updated_by: String,
    #[serde(default)]
    pub delegated_managed_identity_resource_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// The only principal type keyrotor has.
pub const SERVICE_PRINCIPAL: &str = "ServicePrincipal";

/// A role assignment PUT body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignmentRequest {
    #[serde(
        default,
        deserialize_with = "super::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub properties: Option<RoleAssignmentRequestProperties>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentRequestProperties {
    /// A role definition id, GUID or (keyrotor) role name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_definition_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// Only `ServicePrincipal` is accepted (other than a string is ignored).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub principal_type: Option<String>,
}

/// A (built-in) role definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinition {
    pub id: String,
    /// The role's GUID.
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub properties: RoleDefinitionProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinitionProperties {
    pub role_name: String,
    pub description: String,
    /// `BuiltInRole`.
    #[serde(rename = "type")]
    pub role_type: String,
    pub permissions: Vec<Permission>,
    pub assignable_scopes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
}
