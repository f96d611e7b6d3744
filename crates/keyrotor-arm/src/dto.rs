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
    Account, AccountKey, AccountSettings, Directory, KeyInfo, KeyUsage, ResourceGroup,
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
    wg::Provider {
        id: ids::provider(sub.as_str(), namespace),
        namespace: namespace.to_string(),
        registration_state: "Registered".into(),
        registration_policy: "RegistrationRequired".into(),
        resource_types: Vec::new(),
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

// ---------------------------------------------------------------------------
// Accounts.

pub fn account_id(a: &Account) -> String {
    keyrotor_core::rbac::account_scope(a.kind, &a.subscription, &a.resource_group, &a.name)
}

/// What an account stores of its bodies (none for a document of another
/// shape).
pub fn stored_document(a: &Account) -> StoredAccount {
    stored(&a.document)
}

/// The client properties of a stored account document.
fn client_properties(doc: &StoredAccount) -> Map<String, Value> {
    doc.properties.clone().unwrap_or_default()
}

/// A view of a properties object as `T` (its other members ignored).
fn view<T: DeserializeOwned + Default>(props: &Map<String, Value>) -> T {
    T::deserialize(&Value::Object(props.clone())).unwrap_or_default()
}

/// An account resource as ARM GET returns it.
pub fn account(
    a: &Account,
    keys: &[KeyInfo],
    usage: &[KeyUsage],
    ep: &Endpoints,
    actor: &str,
) -> wa::AccountResource {
    let doc = stored_document(a);
    let client = client_properties(&doc);
    let system_data = SystemData {
        created_by: actor.to_string(),
        created_by_type: "Application".into(),
        created_at: Timestamp(a.created_at),
        last_modified_by: actor.to_string(),
        last_modified_by_type: "Application".into(),
        last_modified_at: Timestamp(a.updated_at),
    };
    fn resource<P>(
        a: &Account,
        doc: &StoredAccount,
        system_data: SystemData,
        properties: P,
    ) -> AccountDto<P> {
        AccountDto {
            id: account_id(a),
            name: a.name.as_str().to_string(),
            resource_type: ids::account_type(a.kind),
            location: a.location.clone(),
            tags: a.tags.clone(),
            identity: doc.identity.clone(),
            system_data,
            kind: None,
            sku: None,
            etag: None,
            properties,
        }
    }
    match a.kind {
        AccountKind::Cosmos => {
            let properties = cosmos_properties(a, client, keys, usage, ep);
            wa::AccountResource::Cosmos(AccountDto {
                kind: Some(
                    doc.kind
                        .clone()
                        .unwrap_or_else(|| wa::COSMOS_DEFAULT_KIND.into()),
                ),
                ..resource(a, &doc, system_data, properties)
            })
        }
        AccountKind::Batch => {
            let mut p: BatchAccountProperties =
                claim(with_defaults(client, &BatchDefaults::default()));
            p.provisioning_state = SUCCEEDED.into();
            p.account_endpoint = ep.batch(a.name.as_str());
            wa::AccountResource::Batch(resource(a, &doc, system_data, p))
        }
        AccountKind::Ai => {
            let endpoint = ep.ai(a.name.as_str());
            let mut p: AiAccountProperties = claim(with_defaults(
                client,
                &AiDefaults::for_account(a.name.as_str()),
            ));
            p.provisioning_state = SUCCEEDED.into();
            p.endpoints = AiEndpoints {
                ai_services: endpoint.clone(),
                openai: endpoint.clone(),
            };
            p.endpoint = endpoint;
            p.internal_id = a.uid.replace('-', "");
            p.date_created = Some(Timestamp(a.created_at));
            wa::AccountResource::Ai(AccountDto {
                kind: Some(
                    doc.kind
                        .clone()
                        .unwrap_or_else(|| wa::AI_DEFAULT_KIND.into()),
                ),
                sku: Some(doc.sku.clone().unwrap_or_else(|| {
                    serde_json::to_value(wa::ai_default_sku()).unwrap_or_default()
                })),
                etag: Some(format!("\"{}\"", a.updated_at.unix_timestamp_nanos())),
                ..resource(a, &doc, system_data, p)
            })
        }
    }
}

fn cosmos_properties(
    a: &Account,
    client: Map<String, Value>,
    keys: &[KeyInfo],
    usage: &[KeyUsage],
    ep: &Endpoints,
) -> CosmosAccountProperties {
    let endpoint = ep.cosmos(a.name.as_str());
    // Every region the client asked for is served by this one endpoint.
    let mut regions = view::<CosmosRegions>(&client).locations;
    if regions.is_empty() {
        regions.push(CosmosLocationRequest {
            location_name: a.location.clone(),
            failover_priority: 0,
            is_zone_redundant: false,
        });
    }
    regions.sort_by_key(|r| r.failover_priority);
    let region_id = |name: &str| {
        let n: String = name
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        format!("{}-{n}", a.name)
    };
    let rendered: Vec<CosmosLocation> = regions
        .iter()
        .map(|r| CosmosLocation {
            id: region_id(&r.location_name),
            location_name: r.location_name.clone(),
            document_endpoint: endpoint.clone(),
            provisioning_state: SUCCEEDED.into(),
            failover_priority: r.failover_priority,
            is_zone_redundant: r.is_zone_redundant,
        })
        .collect();
    let mut p: CosmosAccountProperties = claim(with_defaults(client, &CosmosDefaults::default()));
    p.provisioning_state = SUCCEEDED.into();
    p.document_endpoint = endpoint;
    p.write_locations = rendered.iter().take(1).cloned().collect();
    p.read_locations = rendered.clone();
    p.locations = rendered;
    p.failover_policies = regions
        .iter()
        .map(|r| FailoverPolicy {
            id: region_id(&r.location_name),
            location_name: r.location_name.clone(),
            failover_priority: r.failover_priority,
        })
        .collect();
    p.instance_id = a.uid.clone();
    p.database_account_offer_type = "Standard".into();
    p.keys_metadata = KeyMap(
        keys.iter()
            .filter_map(|k| {
                let name = KeyName::of(AccountKind::Cosmos, k.slot)?;
                // keyrotor extension: account key usage metadata.
                let last = usage
                    .iter()
                    .find(|u| u.slot == k.slot)
                    .and_then(|u| u.last_used);
                Some((
                    name,
                    KeyMetadata {
                        generation_time: Timestamp(k.generated_at),
                        last_used_time: last.map(Timestamp),
                    },
                ))
            })
            .collect(),
    );
    p
}

/// An account PUT or PATCH body (not validated per kind).
pub fn account_request(body: &[u8]) -> ArmResult<wa::AccountRequest> {
    let mut r: wa::AccountRequest = parse(body, &[TAGS])?;
    r.tags = check_tags(r.tags)?;
    Ok(r)
}

/// A Cosmos DB account PUT body's fields that a PUT requires.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CosmosPut {
    #[serde(default, deserialize_with = "crate::wire::present")]
    kind: Option<CosmosApiKind>,
    #[serde(default)]
    properties: Option<CosmosPutProperties>,
}

#[derive(serde::Deserialize)]
enum CosmosApiKind {
    GlobalDocumentDB,
    MongoDB,
    Parse,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CosmosPutProperties {
    #[serde(default, deserialize_with = "crate::wire::present")]
    database_account_offer_type: Option<OfferType>,
}

#[derive(serde::Deserialize)]
enum OfferType {
    Standard,
}

/// An AI Services account PUT body's fields that a PUT requires.
#[derive(serde::Deserialize)]
struct AiPut {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::object")]
    sku: Option<wa::Sku>,
}

/// `disableLocalAuth` in a PUT body: a boolean (not even `null`).
#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocalAuthPut {
    #[serde(default, deserialize_with = "crate::wire::present")]
    disable_local_auth: Option<bool>,
}

/// An account PUT body, validated for its kind: `location` always;
/// Cosmos DB `databaseAccountOfferType: Standard` and a known `kind`; AI
/// Services `kind` and `sku.name`.
pub fn account_put(kind: AccountKind, body: &[u8]) -> ArmResult<wa::AccountRequest> {
    let r = account_request(body)?;
    if r.location.is_none() {
        return Err(ArmError::InvalidParameter("'location' is required".into()));
    }
    let v = serde_json::to_value(&r).map_err(|e| ArmError::Internal(e.to_string()))?;
    match kind {
        AccountKind::Cosmos => {
            const KIND: &str = "'kind' must be one of GlobalDocumentDB, MongoDB, Parse";
            const OFFER: &str = "'properties.databaseAccountOfferType' must be 'Standard'";
            let put: CosmosPut = from_json(
                &v,
                &[
                    ("kind", KIND),
                    ("properties.databaseAccountOfferType", OFFER),
                ],
            )?;
            let _: Option<CosmosApiKind> = put.kind;
            let offer: Option<OfferType> =
                put.properties.and_then(|p| p.database_account_offer_type);
            if offer.is_none() {
                return Err(ArmError::InvalidParameter(
                    "'properties.databaseAccountOfferType' is required".into(),
                ));
            }
        }
        AccountKind::Batch => {}
        AccountKind::Ai => {
            const SKU: &str = "'sku.name' is required (for example 'S0')";
            let put: AiPut = from_json(&v, &[("sku", SKU), ("sku.*", SKU)])?;
            if put.kind.is_none_or(|k| k.is_empty()) {
                return Err(ArmError::InvalidParameter(
                    "'kind' is required (for example 'AIServices')".into(),
                ));
            }
            if put.sku.is_none() {
                return Err(ArmError::InvalidParameter(SKU.into()));
            }
        }
    }
    // A boolean if given (not even `null`).
    let _: Option<bool> = from_json::<Properties<LocalAuthPut>>(&v, &[])?
        .properties
        .disable_local_auth;
    Ok(r)
}

/// Builds the document to store from a PUT or PATCH body and, for PATCH,
/// the current document: the body's `kind`, `sku` and `identity` replace
/// the current ones, its properties are merged into the current ones.
pub fn merge_document(
    current: Option<StoredAccount>,
    body: &wa::AccountRequest,
) -> ArmResult<String> {
    let mut doc = current.unwrap_or_default();
    if let Some(k) = &body.kind {
        doc.kind = Some(k.clone());
    }
    if let Some(s) = &body.sku {
        doc.sku = Some(s.clone());
    }
    if let Some(i) = &body.identity {
        doc.identity = Some(i.clone());
    }
    if let Some(p) = &body.properties {
        let merged = doc.properties.get_or_insert_with(Map::new);
        for (k, v) in p {
            merged.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_value(&doc)
        .map(|v| v.to_string())
        .map_err(|e| ArmError::Internal(e.to_string()))
}

const GUARD_MINUTES: &str =
    "'properties.regenerationGuardMinutes' must be an integer from 1 to 525600";

/// The settings keyrotor acts on, read from a stored document's properties:
/// `disableLocalAuth` (Cosmos, AI) or `allowedAuthenticationModes` without
/// `SharedKey` (Batch); `upstreamUrl` (AI: where the data plane forwards);
/// `regenerationGuardMinutes` (refuse regenerating a recently used key);
/// `localAuthReportOnly` and `localAuthReenabledUntil`.
pub fn settings(kind: AccountKind, document: &str) -> ArmResult<AccountSettings> {
    let doc: StoredAccount = stored(document);
    let props = serde_json::to_value(Properties {
        properties: client_properties(&doc),
    })
    .map_err(|e| ArmError::Internal(e.to_string()))?;
    let Properties { properties: p } = from_json::<Properties<KeyAuthProperties>>(
        &props,
        &[("properties.regenerationGuardMinutes", GUARD_MINUTES)],
    )?;
    let upstream = match p.upstream_url.as_deref() {
        None => None,
        Some(u) if kind == AccountKind::Ai => {
            let ok = (u.starts_with("http://") || u.starts_with("https://"))
                && u.len() <= 2048
                && u.parse::<http::Uri>()
                    .is_ok_and(|uri| uri.host().is_some() && uri.query().is_none());
            if !ok {
                return Err(ArmError::InvalidParameter(
                    "'properties.upstreamUrl' must be an absolute http(s) URL without a query"
                        .into(),
                ));
            }
            Some(u.trim_end_matches('/').to_string())
        }
        Some(_) => {
            return Err(ArmError::InvalidParameter(
                "'properties.upstreamUrl' applies to AI Services accounts only".into(),
            ))
        }
    };
    let regeneration_guard_minutes = match p.regeneration_guard_minutes {
        None => None,
        Some(m) if (1..=525_600).contains(&m) => Some(m),
        Some(_) => return Err(ArmError::InvalidParameter(GUARD_MINUTES.into())),
    };
    let local_auth_reenabled_until = match p.local_auth_reenabled_until.as_ref() {
        None | Some(None) => None,
        Some(Some(_)) => Some(
            p.reenabled_until()
                .ok_or_else(|| {
                    ArmError::InvalidParameter(
                        "'properties.localAuthReenabledUntil' must be an RFC 3339 time".into(),
                    )
                })?
                .unix_timestamp(),
        ),
    };
    Ok(AccountSettings {
        disable_local_auth: p.disables_local_auth(kind),
        upstream,
        regeneration_guard_minutes,
        local_auth_report_only: p.local_auth_report_only.unwrap_or(false),
        local_auth_reenabled_until,
    })
}

// ---------------------------------------------------------------------------
// Keys.

/// The key values of `slots` under their wire names (`null` for a key
/// missing from `keys`).
fn key_values(kind: AccountKind, slots: &[KeySlot], keys: &[AccountKey]) -> KeyMap<Option<String>> {
    KeyMap(
        slots
            .iter()
            .filter_map(|&slot| {
                let value = keys
                    .iter()
                    .find(|k| k.slot == slot)
                    .map(|k| k.value.expose().to_string());
                Some((KeyName::of(kind, slot)?, value))
            })
            .collect(),
    )
}

/// listKeys (and Batch/AI regenerate) response bodies.
pub fn keys(a: &Account, keys: &[AccountKey]) -> wk::KeyList {
    let slots: &[KeySlot] = match a.kind {
        AccountKind::Cosmos => AccountKind::Cosmos.slots(),
        AccountKind::Batch | AccountKind::Ai => &[KeySlot::Primary, KeySlot::Secondary],
    };
    wk::KeyList {
        account_name: (a.kind == AccountKind::Batch).then(|| a.name.as_str().to_string()),
        keys: key_values(a.kind, slots, keys),
    }
}

/// The read-only keys of a Cosmos DB account.
pub fn read_only_keys(keys: &[AccountKey]) -> wk::KeyList {
    wk::KeyList {
        account_name: None,
        keys: key_values(
            AccountKind::Cosmos,
            &[KeySlot::PrimaryReadonly, KeySlot::SecondaryReadonly],
            keys,
        ),
    }
}

pub fn connection_strings(
    a: &Account,
    keys: &[AccountKey],
    ep: &Endpoints,
) -> wk::ConnectionStrings {
    let endpoint = ep.cosmos(a.name.as_str());
    wk::ConnectionStrings {
        connection_strings: keys
            .iter()
            .map(|k| {
                let (description, kind) = wk::connection_string_names(k.slot);
                wk::ConnectionString {
                    connection_string: format!(
                        "AccountEndpoint={endpoint};AccountKey={};",
                        k.value.expose()
                    ),
                    description: description.into(),
                    key_kind: kind.into(),
                    kind: "Sql".into(),
                }
            })
            .collect(),
    }
}

/// Parses the key named in a regenerate body, per account kind:
/// Cosmos `{"keyKind": "primary|secondary|primaryReadonly|secondaryReadonly"}`,
/// Batch `{"keyName": "Primary|Secondary"}`, AI `{"keyName": "Key1|Key2"}`
/// (any case).
pub fn regenerate_slot(kind: AccountKind, body: &[u8]) -> ArmResult<KeySlot> {
    let field = wk::regenerate_field(kind);
    let value = match kind {
        AccountKind::Cosmos => parse::<wk::RegenerateByKind>(body, &[])?.key_kind,
        AccountKind::Batch | AccountKind::Ai => parse::<wk::RegenerateByName>(body, &[])?.key_name,
    };
    let names = KeyName::all(kind)
        .map(|k| k.regenerate)
        .collect::<Vec<_>>()
        .join(", ");
    let value = value.ok_or_else(|| {
        ArmError::InvalidParameter(format!("'{field}' is required; one of: {names}"))
    })?;
    KeyName::all(kind)
        .find(|k| k.regenerate.eq_ignore_ascii_case(&value))
        .map(|k| k.slot)
        .ok_or_else(|| {
            ArmError::InvalidParameter(format!(
                "'{field}' value '{}' is invalid; expected one of: {names}",
                value.chars().take(40).collect::<String>()
            ))
        })
}

/// `listKeyUsage` (keyrotor extension): per key, its generation, when it was
/// last used, request counts and the clients that used it.
pub fn key_usage(
    a: &Account,
    keys: &[KeyInfo],
    usage: &[KeyUsage],
    now: OffsetDateTime,
) -> wk::KeyUsageList {
    let list = keys
        .iter()
        .map(|k| {
            let u = usage.iter().find(|u| u.slot == k.slot);
            let sum_since = |secs: i64| -> u64 {
                u.map_or(0, |u| {
                    u.hourly
                        .iter()
                        .filter(|(h, _)| (now - *h).whole_seconds() < secs)
                        .map(|(_, n)| *n)
                        .sum()
                })
            };
            wk::KeyUsage {
                key_name: key_name(a.kind, k.slot).into(),
                key_kind: k.slot.as_str().into(),
                generation: k.generation,
                generation_time: Timestamp(k.generated_at),
                last_used_time: u.and_then(|u| u.last_used).map(Timestamp),
                requests_last24_hours: sum_since(86_400),
                would_be_rejected: u.map_or(0, |u| u.would_reject),
                requests_last30_days: sum_since(30 * 86_400),
                hourly: u
                    .map(|u| {
                        u.hourly
                            .iter()
                            .map(|(h, n)| wk::HourlyRequests {
                                hour: Timestamp(*h),
                                requests: *n,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                clients: u
                    .map(|u| {
                        u.clients
                            .iter()
                            .filter_map(|c| {
                                Some(wk::ClientUse {
                                    user_agent: c.user_agent.clone(),
                                    address: c.address.clone(),
                                    last_seen_time: Timestamp(
                                        OffsetDateTime::from_unix_timestamp(c.last_seen).ok()?,
                                    ),
                                    requests: c.requests,
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                in_use: None,
            }
        })
        .collect();
    wk::KeyUsageList {
        keys: list,
        guard_window_seconds: None,
    }
}

/// Adds the guard's verdict to a `listKeyUsage` answer: `inUse` per key
/// (used within the window) and the window itself, in seconds.
pub fn mark_in_use(
    usage: &mut wk::KeyUsageList,
    window: time::Duration,
    in_use: &[keyrotor_core::guard::KeyInUse],
) {
    usage.guard_window_seconds = Some(window.whole_seconds());
    for k in &mut usage.keys {
        k.in_use = Some(in_use.iter().any(|u| u.slot.as_str() == k.key_kind));
    }
}

// ---------------------------------------------------------------------------
// Identity.

/// A service principal as the identity extension returns it (never a secret value).
pub fn principal(
    p: &keyrotor_core::Principal,
    secrets: &[keyrotor_core::PrincipalSecret],
    tenant: &str,
    bootstrap: bool,
) -> wi::Principal {
    wi::Principal {
        client_id: p.client_id.clone(),
        display_name: p.display_name.clone(),
        tenant_id: tenant.to_string(),
        created_time: Timestamp(p.created_at),
        bootstrap_administrator: bootstrap,
        owner: p.owner.clone(),
        secrets: secrets
            .iter()
            .map(|s| wi::SecretInfo {
                secret_id: s.secret_id.clone(),
                expires_time: s.expires_at.map(Timestamp),
            })
            .collect(),
        secret: None,
    }
}

/// A newly created client secret: the only response that carries its value.
pub fn new_secret(
    meta: &keyrotor_core::PrincipalSecret,
    secret: &keyrotor_types::Secret,
) -> wi::NewSecret {
    wi::NewSecret {
        secret_id: meta.secret_id.clone(),
        value: secret.expose().to_string(),
        expires_time: meta.expires_at.map(Timestamp),
    }
}

const EXPIRES: (&str, &str) = (
    "expiresInSeconds",
    "'expiresInSeconds' must be an integer from 1 to 63244800",
);

/// When a new client secret expires: `expiresInSeconds` (1 s to 2 years)
/// from `now`, if given.
pub fn secret_expiry(
    lifetime: Option<i64>,
    now: OffsetDateTime,
) -> ArmResult<Option<OffsetDateTime>> {
    match lifetime {
        None => Ok(None),
        Some(s) if (1..=2 * 366 * 86_400).contains(&s) => {
            Ok(Some(now + time::Duration::seconds(s)))
        }
        Some(_) => Err(ArmError::InvalidParameter(EXPIRES.1.into())),
    }
}

/// A create-principal body: the display name and when its first secret
/// expires.
pub fn create_principal(
    body: &[u8],
    now: OffsetDateTime,
) -> ArmResult<(String, Option<OffsetDateTime>)> {
    let r: wi::CreatePrincipal = parse(body, &[EXPIRES])?;
    let name = r
        .display_name
        .ok_or_else(|| ArmError::InvalidParameter("'displayName' is required".into()))?;
    Ok((name, secret_expiry(r.expires_in_seconds, now)?))
}

/// An add-secret body (optional): when the secret expires.
pub fn add_secret(body: &[u8], now: OffsetDateTime) -> ArmResult<Option<OffsetDateTime>> {
    if body.is_empty() {
        return Ok(None);
    }
    let r: wi::SecretLifetime = parse(body, &[EXPIRES])?;
    secret_expiry(r.expires_in_seconds, now)
}

/// A remove-secret body: the secret's id.
pub fn remove_secret(body: &[u8]) -> ArmResult<String> {
    parse::<wi::RemoveSecret>(body, &[])?
        .secret_id
        .ok_or_else(|| ArmError::InvalidParameter("'secretId' is required".into()))
}

/// A rotation-policy run body (optional): the time to run at, if given.
pub fn rotation_at(body: &[u8]) -> ArmResult<Option<String>> {
    if body.is_empty() {
        return Ok(None);
    }
    Ok(parse::<wi::RunRotationPolicies>(body, &[])?.at)
}

// ---------------------------------------------------------------------------
// Role assignments and definitions.

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

// ---------------------------------------------------------------------------
// Vaults.

/// A vault PUT body, read.
pub struct VaultBody {
    request: wv::VaultRequest,
    settings: wv::VaultSettingsRequest,
}

impl VaultBody {
    /// `createMode: recover`: recover the soft-deleted vault instead.
    pub fn recover(&self) -> bool {
        self.settings
            .create_mode
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("recover"))
    }
}

/// Reads a vault PUT body.
pub fn vault_request(body: &[u8]) -> ArmResult<VaultBody> {
    let v = Value::Object(json_object(body)?);
    let parameters: Parameters = &[
        ("properties", "'properties' must be an object"),
        TAGS,
        (
            "properties.softDeleteRetentionInDays",
            "softDeleteRetentionInDays must be an integer between 7 and 90",
        ),
        (
            "properties.enablePurgeProtection",
            "enablePurgeProtection must be a boolean",
        ),
    ];
    let request: wv::VaultRequest = from_json(&v, parameters)?;
    let settings = from_json::<wv::VaultRequest<wv::VaultSettingsRequest>>(&v, parameters)?
        .properties
        .unwrap_or_default();
    Ok(VaultBody { request, settings })
}

/// What a vault PUT asks for. Soft delete is always on (as in Azure
/// today); the retention defaults to 90 days; purge protection stays on
/// once set (the core refuses turning it off).
pub fn vault_spec(
    body: &VaultBody,
    existing: Option<&keyrotor_core::vault::Vault>,
) -> ArmResult<keyrotor_core::vault::VaultSpec> {
    let s = &body.settings;
    if s.enable_soft_delete == Some(false) {
        return Err(ArmError::InvalidParameter(
            "soft delete cannot be disabled (enableSoftDelete must be true)".into(),
        ));
    }
    let days = match s.soft_delete_retention_in_days {
        None => existing.map_or(90, |v| v.settings.soft_delete_days),
        Some(d) if (7..=90).contains(&d) => d,
        Some(_) => {
            return Err(ArmError::InvalidParameter(
                "softDeleteRetentionInDays must be an integer between 7 and 90".into(),
            ))
        }
    };
    let purge_protection = s
        .enable_purge_protection
        .unwrap_or_else(|| existing.is_some_and(|v| v.settings.purge_protection));
    let location = match (&body.request.location, existing) {
        (Some(l), _) => l.clone(),
        (None, Some(v)) => v.location.clone(),
        (None, None) => return Err(ArmError::InvalidParameter("'location' is required".into())),
    };
    let tags = match check_tags(body.request.tags.clone())? {
        Some(t) => t,
        None => existing.map(|v| v.tags.clone()).unwrap_or_default(),
    };
    let mut doc: Map<String, Value> = existing.map(|v| stored(&v.document)).unwrap_or_default();
    let props = body.request.properties.clone().unwrap_or_default();
    doc.extend(view::<wv::StoredVaultProperties>(&props).kept);
    Ok(keyrotor_core::vault::VaultSpec {
        location,
        tags,
        document: Value::Object(doc).to_string(),
        settings: keyrotor_core::vault::VaultSettings {
            soft_delete_days: days,
            purge_protection,
        },
    })
}

pub fn vault_id(v: &keyrotor_core::vault::Vault) -> String {
    ids::vault(
        v.subscription.as_str(),
        v.resource_group.as_str(),
        v.name.as_str(),
    )
}

pub fn vault(v: &keyrotor_core::vault::Vault, ep: &Endpoints, tenant: &str) -> wv::Vault {
    let client: Map<String, Value> = stored(&v.document);
    let mut p: wv::VaultProperties = claim(with_missing(client, &VaultDefaults::default()));
    p.tenant_id = tenant.to_string();
    p.enable_soft_delete = true;
    p.soft_delete_retention_in_days = v.settings.soft_delete_days;
    p.enable_purge_protection = v.settings.purge_protection.then_some(true);
    p.enable_rbac_authorization = true;
    p.vault_uri = ep.vault(v.name.as_str());
    p.provisioning_state = SUCCEEDED.into();
    wv::Vault {
        id: vault_id(v),
        name: v.name.as_str().to_string(),
        resource_type: ids::VAULTS.into(),
        location: v.location.clone(),
        tags: v.tags.clone(),
        properties: p,
    }
}

pub fn deleted_vault(v: &keyrotor_core::vault::Vault) -> wv::DeletedVault {
    wv::DeletedVault {
        id: ids::deleted_vault(v.subscription.as_str(), &v.location, v.name.as_str()),
        name: v.name.as_str().to_string(),
        resource_type: ids::DELETED_VAULTS.into(),
        properties: wv::DeletedVaultProperties {
            vault_id: vault_id(v),
            location: v.location.clone(),
            deletion_date: v.deleted_at.map(Timestamp),
            scheduled_purge_date: v.scheduled_purge().map(Timestamp),
            tags: v.tags.clone(),
            purge_protection_enabled: v.settings.purge_protection,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regenerate_bodies() {
        let slot = |kind, s: &str| regenerate_slot(kind, s.as_bytes()).ok();
        assert_eq!(
            slot(AccountKind::Cosmos, r#"{"keyKind":"primaryReadonly"}"#),
            Some(KeySlot::PrimaryReadonly)
        );
        assert_eq!(
            slot(AccountKind::Batch, r#"{"keyName":"Secondary"}"#),
            Some(KeySlot::Secondary)
        );
        assert_eq!(
            slot(AccountKind::Ai, r#"{"keyName":"Key2"}"#),
            Some(KeySlot::Secondary)
        );
        assert!(slot(AccountKind::Batch, r#"{"keyName":"Key2"}"#).is_none());
        assert!(slot(AccountKind::Cosmos, r#"{"keyKind":"tertiary"}"#).is_none());
        assert!(slot(AccountKind::Cosmos, r#"{"keyKind":5}"#).is_none());
        assert!(slot(AccountKind::Cosmos, "{}").is_none());
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(json_object(b"").is_err());
        assert!(json_object(b"[1]").is_err());
        assert!(json_object(b"{\"a\":").is_err());
        assert!(json_object(b"{}").is_ok());
    }

    #[test]
    fn parameter_paths() {
        assert!(path_matches("tags.*", "tags.a"));
        assert!(path_matches("tags.*", "tags.a.b"));
        assert!(!path_matches("tags.*", "tags"));
        assert!(!path_matches("tags.*", "tagsx.a"));
        assert!(path_matches("properties", "properties"));
        assert!(!path_matches("properties", "properties.x"));
    }
}
