//! Cosmos DB (`Microsoft.DocumentDB/databaseAccounts`), Batch
//! (`Microsoft.Batch/batchAccounts`) and AI Services
//! (`Microsoft.CognitiveServices/accounts`) accounts: the resource as ARM
//! returns it, each kind's properties, the defaults keyrotor answers for
//! properties a client did not set, the PUT/PATCH body, and the properties
//! keyrotor acts on ([`KeyAuthProperties`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::keys::{KeyMap, KeyMetadata};
use super::{lenient, lenient_each, present, strings_only, Tags, Timestamp};

/// An account resource (GET, PUT, PATCH, lists), generic over its kind's
/// properties (or over the aspect of them a reader wants).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account<P> {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub location: String,
    #[serde(default)]
    pub tags: Tags,
    /// The client's, echoed (also a `null` it sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Value>,
    pub system_data: SystemData,
    /// Cosmos DB (`GlobalDocumentDB` by default) and AI Services only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Value>,
    /// AI Services only (`{"name": "S0"}` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Value>,
    /// AI Services only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    pub properties: P,
}

/// An account of any kind, as the server answers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AccountResource {
    Cosmos(Account<CosmosAccountProperties>),
    Batch(Account<BatchAccountProperties>),
    Ai(Account<AiAccountProperties>),
}

/// Who created and last changed a resource, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemData {
    pub created_by: String,
    pub created_by_type: String,
    pub created_at: Timestamp,
    pub last_modified_by: String,
    pub last_modified_by_type: String,
    pub last_modified_at: Timestamp,
}

/// A Cosmos DB account's properties: the client's, with the ones keyrotor
/// computes. Every region the client asked for is served by the one
/// endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CosmosAccountProperties {
    #[serde(default, deserialize_with = "lenient")]
    pub provisioning_state: String,
    #[serde(default, deserialize_with = "lenient")]
    pub document_endpoint: String,
    #[serde(default, deserialize_with = "lenient")]
    pub write_locations: Vec<CosmosLocation>,
    #[serde(default, deserialize_with = "lenient")]
    pub read_locations: Vec<CosmosLocation>,
    #[serde(default, deserialize_with = "lenient")]
    pub locations: Vec<CosmosLocation>,
    #[serde(default, deserialize_with = "lenient")]
    pub failover_policies: Vec<FailoverPolicy>,
    #[serde(default, deserialize_with = "lenient")]
    pub instance_id: String,
    /// Always `Standard`.
    #[serde(default, deserialize_with = "lenient")]
    pub database_account_offer_type: String,
    /// Each key's generation time and (keyrotor extension) last use.
    #[serde(default, deserialize_with = "lenient")]
    pub keys_metadata: KeyMap<KeyMetadata>,
    /// The client's other properties, with [`CosmosDefaults`].
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A region of a Cosmos DB account as ARM returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CosmosLocation {
    pub id: String,
    pub location_name: String,
    pub document_endpoint: String,
    pub provisioning_state: String,
    pub failover_priority: u64,
    pub is_zone_redundant: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailoverPolicy {
    pub id: String,
    pub location_name: String,
    pub failover_priority: u64,
}

/// A region a client asks for: read leniently, as ARM does (no priority is
/// 0, the write region; no zone redundancy unless `true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CosmosLocationRequest {
    pub location_name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub failover_priority: u64,
    #[serde(default, deserialize_with = "lenient")]
    pub is_zone_redundant: bool,
}

/// The regions of a Cosmos DB account's client properties (entries that
/// name none are skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CosmosRegions {
    #[serde(default, deserialize_with = "lenient_each")]
    pub locations: Vec<CosmosLocationRequest>,
}

/// What a Cosmos DB account answers for properties the client left out
/// (or set to `null`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CosmosDefaults {
    pub disable_local_auth: bool,
    pub consistency_policy: ConsistencyPolicy,
    pub enable_multiple_write_locations: bool,
    pub enable_automatic_failover: bool,
    pub capabilities: Vec<Value>,
    pub public_network_access: &'static str,
    pub disable_key_based_metadata_write_access: bool,
    pub minimal_tls_version: &'static str,
}

impl Default for CosmosDefaults {
    fn default() -> Self {
        CosmosDefaults {
            disable_local_auth: false,
            consistency_policy: ConsistencyPolicy {
                default_consistency_level: Some("Session".into()),
                max_interval_in_seconds: Some(5),
                max_staleness_prefix: Some(100),
            },
            enable_multiple_write_locations: false,
            enable_automatic_failover: false,
            capabilities: Vec::new(),
            public_network_access: PUBLIC_NETWORK_ENABLED,
            disable_key_based_metadata_write_access: false,
            minimal_tls_version: "Tls12",
        }
    }
}

/// `publicNetworkAccess` of every account keyrotor answers for.
pub const PUBLIC_NETWORK_ENABLED: &str = "Enabled";

/// A Cosmos DB consistency policy (the fields a client gives).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsistencyPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_consistency_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_interval_in_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_staleness_prefix: Option<u64>,
}

/// A Batch account's properties.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchAccountProperties {
    #[serde(default, deserialize_with = "lenient")]
    pub provisioning_state: String,
    /// `{account}.batch.{suffix}:PORT` or `HOST:PORT/batch/{account}`: no
    /// scheme, as in Azure.
    #[serde(default, deserialize_with = "lenient")]
    pub account_endpoint: String,
    /// The client's other properties, with [`BatchDefaults`].
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Batch authentication modes; `SharedKey` is key authentication.
pub const SHARED_KEY: &str = "SharedKey";
pub const AAD: &str = "AAD";
pub const TASK_AUTHENTICATION_TOKEN: &str = "TaskAuthenticationToken";

/// A Batch account's `allowedAuthenticationModes`, with or without key
/// authentication.
pub fn batch_authentication_modes(shared_key: bool) -> Vec<String> {
    let mut modes = Vec::with_capacity(3);
    if shared_key {
        modes.push(SHARED_KEY.to_string());
    }
    modes.push(AAD.to_string());
    modes.push(TASK_AUTHENTICATION_TOKEN.to_string());
    modes
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchDefaults {
    pub pool_allocation_mode: &'static str,
    pub allowed_authentication_modes: Vec<String>,
    pub public_network_access: &'static str,
    pub encryption: BatchEncryption,
}

impl Default for BatchDefaults {
    fn default() -> Self {
        BatchDefaults {
            pool_allocation_mode: "BatchService",
            allowed_authentication_modes: batch_authentication_modes(true),
            public_network_access: PUBLIC_NETWORK_ENABLED,
            encryption: BatchEncryption {
                key_source: "Microsoft.Batch".into(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchEncryption {
    pub key_source: String,
}

/// An AI Services account's properties.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AiAccountProperties {
    #[serde(default, deserialize_with = "lenient")]
    pub provisioning_state: String,
    #[serde(default, deserialize_with = "lenient")]
    pub endpoint: String,
    #[serde(default, deserialize_with = "lenient")]
    pub endpoints: AiEndpoints,
    /// The account's uid without dashes.
    #[serde(default, deserialize_with = "lenient")]
    pub internal_id: String,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub date_created: Option<Timestamp>,
    /// The client's other properties, with [`AiDefaults`].
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The APIs an AI Services account serves, all at its one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiEndpoints {
    #[serde(rename = "AI Services")]
    pub ai_services: String,
    #[serde(rename = "OpenAI Language Model Instance API")]
    pub openai: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AiDefaults {
    /// The account's name.
    pub custom_sub_domain_name: String,
    pub disable_local_auth: bool,
    pub public_network_access: &'static str,
}

impl AiDefaults {
    pub fn for_account(name: &str) -> Self {
        AiDefaults {
            custom_sub_domain_name: name.to_string(),
            disable_local_auth: false,
            public_network_access: PUBLIC_NETWORK_ENABLED,
        }
    }
}

/// The default `kind` of a Cosmos DB account.
pub const COSMOS_DEFAULT_KIND: &str = "GlobalDocumentDB";
/// The `kind`s of a Cosmos DB account.
pub const COSMOS_KINDS: [&str; 3] = ["GlobalDocumentDB", "MongoDB", "Parse"];
/// The default `kind` of an AI Services account.
pub const AI_DEFAULT_KIND: &str = "AIServices";

/// An AI Services account's SKU as keyrotor reads it (`{"name": "S0"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sku {
    pub name: String,
}

/// The default SKU of an AI Services account.
pub fn ai_default_sku() -> Sku {
    Sku { name: "S0".into() }
}

/// An account PUT or PATCH body (`location` is required by PUT). `P` is
/// the client's properties: any object on the server, a kind's typed
/// properties when the CLI builds one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRequest<P = Map<String, Value>> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub sku: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub identity: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<P>,
}

impl<P> Default for AccountRequest<P> {
    fn default() -> Self {
        AccountRequest {
            location: None,
            tags: None,
            kind: None,
            sku: None,
            identity: None,
            properties: None,
        }
    }
}

/// What keyrotor stores of an account's PUT and PATCH bodies (and reads
/// back to answer): the client's `kind`, `sku`, `identity` and properties,
/// verbatim. Reading never fails: a stored value of another shape is none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredAccount {
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub sku: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub identity: Option<Value>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub properties: Option<Map<String, Value>>,
}

/// The account properties keyrotor acts on, of every kind (which apply
/// depends on the kind). The server reads them from what an account
/// stores, the CLI sends them in PATCH bodies and reads them back from an
/// account (ARM echoes them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyAuthProperties {
    /// Cosmos DB and AI Services: refuse key authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_local_auth: Option<bool>,
    /// Batch: key authentication is allowed while `SharedKey` is among
    /// them (other than strings are ignored).
    #[serde(
        default,
        deserialize_with = "strings_only",
        skip_serializing_if = "Option::is_none"
    )]
    pub allowed_authentication_modes: Option<Vec<String>>,
    /// AI Services (keyrotor extension): the base URL the data plane
    /// forwards authenticated requests to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_url: Option<String>,
    /// keyrotor extension: refuse regenerating a key used within this many
    /// minutes (1 to 525600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regeneration_guard_minutes: Option<u32>,
    /// keyrotor extension: with key auth disabled, count key requests as
    /// "would be rejected" instead of refusing them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_auth_report_only: Option<bool>,
    /// keyrotor extension (break-glass): key auth works again until this
    /// RFC 3339 time. `Some(None)` is a `null` (clears it in a PATCH).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub local_auth_reenabled_until: Option<Option<String>>,
    /// keyrotor extension, read-only: the key-auth state in effect, one of
    /// [`LOCAL_AUTH_MODES`] (ignored in requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_auth_mode: Option<String>,
}

/// The values of `localAuthMode`: key authentication on; switched off;
/// switched off in report-only mode; switched off but re-enabled by
/// break-glass until `localAuthReenabledUntil` (while it lasts,
/// `disableLocalAuth` reads `false` and Batch's `allowedAuthenticationModes`
/// include `SharedKey`, since keys are accepted).
pub const LOCAL_AUTH_ENABLED: &str = "Enabled";
pub const LOCAL_AUTH_DISABLED: &str = "Disabled";
pub const LOCAL_AUTH_REPORT_ONLY: &str = "ReportOnly";
pub const LOCAL_AUTH_TEMPORARILY_ENABLED: &str = "TemporarilyEnabled";
pub const LOCAL_AUTH_MODES: [&str; 4] = [
    LOCAL_AUTH_ENABLED,
    LOCAL_AUTH_DISABLED,
    LOCAL_AUTH_REPORT_ONLY,
    LOCAL_AUTH_TEMPORARILY_ENABLED,
];

/// The property names of the key-auth switch and its extensions.
pub const DISABLE_LOCAL_AUTH: &str = "disableLocalAuth";
pub const ALLOWED_AUTHENTICATION_MODES: &str = "allowedAuthenticationModes";
pub const LOCAL_AUTH_REENABLED_UNTIL: &str = "localAuthReenabledUntil";
pub const LOCAL_AUTH_MODE: &str = "localAuthMode";

impl KeyAuthProperties {
    /// Whether key authentication is switched off as configured, break-glass
    /// or not: from `localAuthMode` where the server says it, else from the
    /// switch itself.
    pub fn switched_off(&self, kind: keyrotor_types::AccountKind) -> bool {
        match self.local_auth_mode.as_deref() {
            Some(mode) => mode != LOCAL_AUTH_ENABLED,
            None => self.disables_local_auth(kind),
        }
    }

    /// Whether these properties switch key authentication off for an
    /// account of `kind`.
    pub fn disables_local_auth(&self, kind: keyrotor_types::AccountKind) -> bool {
        match kind {
            keyrotor_types::AccountKind::Batch => self
                .allowed_authentication_modes
                .as_ref()
                .is_some_and(|m| !m.iter().any(|m| m.eq_ignore_ascii_case(SHARED_KEY))),
            _ => self.disable_local_auth.unwrap_or(false),
        }
    }

    /// The properties that switch key authentication off or on for `kind`.
    pub fn local_auth(kind: keyrotor_types::AccountKind, disabled: bool) -> Self {
        match kind {
            keyrotor_types::AccountKind::Batch => KeyAuthProperties {
                allowed_authentication_modes: Some(batch_authentication_modes(!disabled)),
                ..Default::default()
            },
            _ => KeyAuthProperties {
                disable_local_auth: Some(disabled),
                ..Default::default()
            },
        }
    }

    /// When break-glass ends, if set.
    pub fn reenabled_until(&self) -> Option<time::OffsetDateTime> {
        self.local_auth_reenabled_until
            .as_ref()
            .and_then(Option::as_deref)
            .and_then(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
    }
}

/// The properties of a Cosmos DB account the CLI creates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CosmosCreateProperties {
    pub locations: Vec<CosmosLocationRequest>,
    /// `Standard`, the only offer.
    pub database_account_offer_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency_policy: Option<ConsistencyPolicy>,
    #[serde(flatten)]
    pub key_auth: KeyAuthProperties,
}

/// The properties of an AI Services account the CLI creates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AiCreateProperties {
    pub custom_sub_domain_name: String,
    #[serde(flatten)]
    pub key_auth: KeyAuthProperties,
}

/// The endpoint of an account of any kind, as the CLI shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountEndpoint {
    /// Cosmos DB.
    #[serde(default, deserialize_with = "lenient")]
    pub document_endpoint: Option<String>,
    /// Batch.
    #[serde(default, deserialize_with = "lenient")]
    pub account_endpoint: Option<String>,
    /// AI Services.
    #[serde(default, deserialize_with = "lenient")]
    pub endpoint: Option<String>,
}

impl AccountEndpoint {
    pub fn url(&self) -> Option<&str> {
        self.document_endpoint
            .as_deref()
            .or(self.account_endpoint.as_deref())
            .or(self.endpoint.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyrotor_types::AccountKind;
    use serde_json::json;

    #[test]
    fn key_auth_properties_switch_per_kind() {
        let off = KeyAuthProperties::local_auth(AccountKind::Batch, true);
        assert_eq!(
            serde_json::to_value(&off).ok(),
            Some(json!({"allowedAuthenticationModes": ["AAD", "TaskAuthenticationToken"]}))
        );
        assert!(off.disables_local_auth(AccountKind::Batch));
        let on = KeyAuthProperties::local_auth(AccountKind::Batch, false);
        assert!(!on.disables_local_auth(AccountKind::Batch));
        let cosmos = KeyAuthProperties {
            local_auth_reenabled_until: Some(None),
            ..KeyAuthProperties::local_auth(AccountKind::Cosmos, true)
        };
        assert_eq!(
            serde_json::to_value(&cosmos).ok(),
            Some(json!({"disableLocalAuth": true, "localAuthReenabledUntil": null}))
        );
        let read: KeyAuthProperties = serde_json::from_value(
            json!({"allowedAuthenticationModes": ["aad", 5], "localAuthReenabledUntil": null, "other": 1}),
        )
        .expect("properties");
        assert_eq!(read.allowed_authentication_modes, Some(vec!["aad".into()]));
        assert_eq!(read.local_auth_reenabled_until, Some(None));
        assert!(read.disables_local_auth(AccountKind::Batch));
    }

    #[test]
    fn stored_documents_read_leniently() {
        let s: StoredAccount =
            serde_json::from_value(json!({"kind": null, "properties": "x"})).expect("a document");
        assert_eq!(s.kind, Some(Value::Null));
        assert_eq!(s.properties, None);
        assert_eq!(s.identity, None);
    }
}
