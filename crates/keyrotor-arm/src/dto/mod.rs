//! Between core types and the ARM wire types of [`crate::wire`]: what a
//! resource looks like on the wire (`account`, `vault`, ...), and what a
//! request body asks for, validated (`account_put`, `vault_request`, ...).
//!
//! Request bodies are read with [`parse`]: a body that is not a JSON
//! object, or whose parts have the wrong JSON type, is unreadable content
//! (`InvalidRequestContent`), except at the paths a parser lists as
//! [`Parameters`], which ARM reports as a wrong value (`InvalidParameter`),
//! as a wrong value in the right type is.

use keyrotor_core::{
    Account, AccountKey, AccountSettings, Directory, KeyInfo, KeyUsage, LocalAuthMode,
    ResourceGroup,
};
use keyrotor_types::{AccountKind, KeySlot};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::endpoints::Endpoints;
use crate::error::{ArmError, ArmResult};
use crate::wire::account::{
    self as wa, Account as AccountDto, AiAccountProperties, AiDefaults, AiEndpoints,
    BatchAccountProperties, BatchDefaults, CosmosAccountProperties, CosmosDefaults, CosmosLocation,
    CosmosLocationRequest, CosmosRegions, FailoverPolicy, KeyAuthProperties, StoredAccount,
    SystemData,
};
use crate::wire::group::{self as wg, ProvisioningState, SUCCEEDED};
use crate::wire::identity as wi;
use crate::wire::keys::{self as wk, KeyMap, KeyMetadata, KeyName};
use crate::wire::rbac as wr;
use crate::wire::vault::{self as wv, VaultDefaults};
use crate::wire::{
    claim, decode, ids, stored, with_defaults, with_missing, Properties, Tags, Timestamp,
};

mod accounts;
mod identity;
mod keys;
mod monitor;
mod rbac;
mod vaults;

pub use accounts::*;
pub use identity::*;
pub use keys::*;
pub use monitor::*;
pub use rbac::*;
pub use vaults::*;

pub use crate::wire::keys::key_name;
pub use crate::wire::rfc3339;

/// Paths of a body where a value that does not fit is a wrong value
/// (`InvalidParameter`), with the message to give (empty: the shape
/// error's own). `name.*` stands for every member of `name`.
pub type Parameters<'a> = &'a [(&'a str, &'a str)];

/// Parses a JSON request body that must be an object.
pub fn json_object(body: &[u8]) -> ArmResult<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ArmError::InvalidRequestContent(
            "the request body is empty".into(),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ArmError::InvalidRequestContent(
            "the request body must be a JSON object".into(),
        )),
        Err(e) => Err(ArmError::InvalidRequestContent(format!(
            "line {} column {}: {}",
            e.line(),
            e.column(),
            match e.classify() {
                serde_json::error::Category::Eof => "unexpected end of input",
                serde_json::error::Category::Syntax => "syntax error",
                serde_json::error::Category::Data => "invalid value",
                serde_json::error::Category::Io => "unreadable",
            }
        ))),
    }
}

/// Reads a request body as `T` (see the module documentation).
pub fn parse<T: DeserializeOwned>(body: &[u8], parameters: Parameters) -> ArmResult<T> {
    from_json(&Value::Object(json_object(body)?), parameters)
}

/// Reads a JSON value as `T`, reporting what does not fit as [`parse`] does.
fn from_json<T: DeserializeOwned>(v: &Value, parameters: Parameters) -> ArmResult<T> {
    decode(v).map_err(|e| {
        match parameters
            .iter()
            .find(|(pattern, _)| path_matches(pattern, &e.path))
        {
            Some((_, message)) if !message.is_empty() => {
                ArmError::InvalidParameter((*message).to_string())
            }
            Some(_) => ArmError::InvalidParameter(e.to_string()),
            None => ArmError::InvalidRequestContent(e.to_string()),
        }
    })
}

fn path_matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(parent) => path
            .strip_prefix(parent)
            .is_some_and(|rest| rest.starts_with('.')),
        None => path == pattern,
    }
}

/// A tag value of another type than a string is a wrong tag.
const TAGS: (&str, &str) = ("tags.*", "");

/// Tags as ARM accepts them: at most 50, names of 1-512 characters, values
/// of at most 256.
fn check_tags(tags: Option<Tags>) -> ArmResult<Option<Tags>> {
    let Some(tags) = tags else {
        return Ok(None);
    };
    if tags.len() > 50 {
        return Err(ArmError::InvalidParameter(
            "at most 50 tags are allowed".into(),
        ));
    }
    if let Some((k, _)) = tags
        .iter()
        .find(|(k, v)| k.is_empty() || k.len() > 512 || v.len() > 256)
    {
        return Err(ArmError::InvalidParameter(format!(
            "tag '{}' is invalid: names have 1-512 characters and values are strings of at most 256",
            k.chars().take(64).collect::<String>()
        )));
    }
    Ok(Some(tags))
}

// ---------------------------------------------------------------------------
// Subscriptions, providers, resource groups, the resource list.

pub fn subscription(dir: &Directory) -> wg::Subscription {
    let sub = dir.subscription_id.as_str();
    wg::Subscription {
        id: ids::subscription(sub),
        subscription_id: sub.to_string(),
        tenant_id: dir.tenant_id.clone(),
        home_tenant_id: dir.tenant_id.clone(),
        display_name: "keyrotor".into(),
        state: "Enabled".into(),
        managed_by_tenants: Vec::new(),
        authorization_source: "RoleBased".into(),
        subscription_policies: wg::SubscriptionPolicies {
            location_placement_id: "Public_2014-09-01".into(),
            quota_id: "keyrotor".into(),
            spending_limit: "Off".into(),
        },
    }
}

/// The subscription list: this service's one subscription, or none.
pub fn subscriptions(list: Vec<wg::Subscription>) -> wg::SubscriptionList {
    let n = list.len();
    wg::SubscriptionList {
        value: list,
        count: wg::Count {
            kind: "Total".into(),
            value: n,
        },
    }
}

/// A resource provider: every one is registered (keyrotor never asks
/// clients to register one).
pub fn provider(sub: &keyrotor_types::SubscriptionId, namespace: &str) -> wg::Provider {
    let served = crate::wire::api_versions::provider(namespace);
    let namespace = served.map_or(namespace, |(ns, _)| ns);
    wg::Provider {
        id: ids::provider(sub.as_str(), namespace),
        namespace: namespace.to_string(),
        registration_state: "Registered".into(),
        registration_policy: "RegistrationRequired".into(),
        resource_types: served
            .map(|(_, types)| types)
            .unwrap_or_default()
            .iter()
            .map(|(ty, api)| wg::ProviderResourceType {
                resource_type: (*ty).to_string(),
                locations: Vec::new(),
                api_versions: vec![(*api).to_string()],
            })
            .collect(),
    }
}

pub fn resource_group(g: &ResourceGroup) -> wg::ResourceGroup {
    wg::ResourceGroup {
        id: ids::group(g.subscription.as_str(), g.name.as_str()),
        name: g.name.as_str().to_string(),
        resource_type: ids::RESOURCE_GROUPS.into(),
        location: g.location.clone(),
        tags: g.tags.clone(),
        properties: ProvisioningState::succeeded(),
    }
}

/// A resource group PUT or PATCH body.
pub fn group_request(body: &[u8]) -> ArmResult<wg::ResourceGroupRequest> {
    let mut r: wg::ResourceGroupRequest = parse(body, &[TAGS])?;
    r.tags = check_tags(r.tags)?;
    Ok(r)
}

/// An account in the generic resource list.
pub fn account_summary(a: &Account) -> wg::GenericResource {
    wg::GenericResource {
        id: account_id(a),
        name: a.name.as_str().to_string(),
        resource_type: ids::account_type(a.kind),
        location: a.location.clone(),
        tags: a.tags.clone(),
    }
}

/// A vault in the generic resource list.
pub fn vault_summary(v: &keyrotor_core::vault::Vault) -> wg::GenericResource {
    wg::GenericResource {
        id: vault_id(v),
        name: v.name.as_str().to_string(),
        resource_type: ids::VAULTS.into(),
        location: v.location.clone(),
        tags: v.tags.clone(),
    }
}
