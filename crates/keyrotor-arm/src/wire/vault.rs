//! Key vaults on ARM (`Microsoft.KeyVault/vaults` and `deletedVaults`).

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{lenient, present, Tags, Timestamp};

/// A vault as ARM returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vault {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub location: String,
    #[serde(default)]
    pub tags: Tags,
    pub properties: VaultProperties,
}

/// A vault's properties: the client's, with the ones keyrotor decides.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultProperties {
    #[serde(default, deserialize_with = "lenient")]
    pub tenant_id: String,
    /// Always `true`: soft delete cannot be turned off (as in Azure today).
    #[serde(default, deserialize_with = "lenient")]
    pub enable_soft_delete: bool,
    #[serde(default, deserialize_with = "lenient")]
    pub soft_delete_retention_in_days: u32,
    /// `true`, or `null` when off (as ARM answers).
    #[serde(default, deserialize_with = "lenient")]
    pub enable_purge_protection: Option<bool>,
    /// Always `true`: keyrotor's vaults authorize by role assignments.
    #[serde(default, deserialize_with = "lenient")]
    pub enable_rbac_authorization: bool,
    #[serde(default, deserialize_with = "lenient")]
    pub vault_uri: String,
    #[serde(default, deserialize_with = "lenient")]
    pub provisioning_state: String,
    /// The client's other properties, with [`VaultDefaults`].
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What a vault answers for `sku` and `accessPolicies` when the client
/// gave none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultDefaults {
    pub sku: VaultSku,
    pub access_policies: Vec<Value>,
}

impl Default for VaultDefaults {
    fn default() -> Self {
        VaultDefaults {
            sku: VaultSku::standard(),
            access_policies: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultSku {
    pub family: String,
    pub name: String,
}

impl VaultSku {
    pub fn standard() -> Self {
        VaultSku {
            family: "A".into(),
            name: "standard".into(),
        }
    }
}

/// A vault PUT body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultRequest<P = Map<String, Value>> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
    /// An object (`null` is refused).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none",
        bound(deserialize = "P: Deserialize<'de>")
    )]
    pub properties: Option<P>,
}

/// The vault properties a client sets that keyrotor acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultSettingsRequest {
    /// `recover` recovers a soft-deleted vault (other than a string is
    /// ignored).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub create_mode: Option<String>,
    /// Only `true` (other than a boolean is ignored).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_soft_delete: Option<bool>,
    /// 7 to 90; 90 for a new vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_delete_retention_in_days: Option<u32>,
    /// Once on, stays on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_purge_protection: Option<bool>,
}

/// A vault PUT body's properties as keyrotor stores them: what the client
/// set, without what keyrotor decides or does not keep.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredVaultProperties {
    #[serde(default, rename = "vaultUri")]
    _vault_uri: Option<IgnoredAny>,
    #[serde(default, rename = "provisioningState")]
    _provisioning_state: Option<IgnoredAny>,
    #[serde(default, rename = "hsmPoolResourceId")]
    _hsm_pool_resource_id: Option<IgnoredAny>,
    #[serde(default, rename = "privateEndpointConnections")]
    _private_endpoint_connections: Option<IgnoredAny>,
    #[serde(default, rename = "createMode")]
    _create_mode: Option<IgnoredAny>,
    /// What is stored.
    #[serde(flatten)]
    pub kept: Map<String, Value>,
}

/// The properties of a vault the CLI creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultCreateProperties {
    pub sku: VaultSku,
    pub enable_rbac_authorization: bool,
    #[serde(flatten)]
    pub settings: VaultSettingsRequest,
}

/// A soft-deleted vault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedVault {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub properties: DeletedVaultProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedVaultProperties {
    pub vault_id: String,
    pub location: String,
    #[serde(default)]
    pub deletion_date: Option<Timestamp>,
    #[serde(default)]
    pub scheduled_purge_date: Option<Timestamp>,
    #[serde(default)]
    pub tags: Tags,
    pub purge_protection_enabled: bool,
}
