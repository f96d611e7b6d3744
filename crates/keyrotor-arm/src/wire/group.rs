//! `Microsoft.Resources`: the subscription, resource groups, resource
//! providers and the generic resource list.

use serde::{Deserialize, Serialize};

use super::Tags;

/// A subscription (`GET /subscriptions/{id}` and the list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    pub subscription_id: String,
    pub tenant_id: String,
    pub home_tenant_id: String,
    pub display_name: String,
    pub state: String,
    #[serde(default)]
    pub managed_by_tenants: Vec<ManagedByTenant>,
    pub authorization_source: String,
    pub subscription_policies: SubscriptionPolicies,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedByTenant {
    pub tenant_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionPolicies {
    pub location_placement_id: String,
    pub quota_id: String,
    pub spending_limit: String,
}

/// `GET /subscriptions`: the list with its count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionList {
    pub value: Vec<Subscription>,
    pub count: Count,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {
    /// `Total`.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: usize,
}

/// A resource group as ARM returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroup {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub location: String,
    #[serde(default)]
    pub tags: Tags,
    pub properties: ProvisioningState,
}

/// `{"provisioningState": "Succeeded"}`: every resource keyrotor answers
/// for is provisioned synchronously.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningState {
    pub provisioning_state: String,
}

impl ProvisioningState {
    pub fn succeeded() -> Self {
        ProvisioningState {
            provisioning_state: SUCCEEDED.into(),
        }
    }
}

/// The provisioning state of every resource keyrotor returns.
pub const SUCCEEDED: &str = "Succeeded";

/// A resource group PUT (`location` required) or PATCH (tags only) body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroupRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
}

/// A resource provider: every one is registered; the ones keyrotor serves
/// list their resource types (see [`super::api_versions::PROVIDERS`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    pub id: String,
    pub namespace: String,
    pub registration_state: String,
    pub registration_policy: String,
    #[serde(default)]
    pub resource_types: Vec<ProviderResourceType>,
}

/// A resource type of a provider and the api-versions it takes (clients
/// such as `az resource show --resource-type` pick one from here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderResourceType {
    pub resource_type: String,
    #[serde(default)]
    pub locations: Vec<String>,
    pub api_versions: Vec<String>,
}

/// One entry of the generic resource list (`GET /subscriptions/{id}/resources`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenericResource {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub location: String,
    #[serde(default)]
    pub tags: Tags,
}
