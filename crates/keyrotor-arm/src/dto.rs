//! ARM JSON shapes. The only place that knows how Azure spells resources.

use std::collections::BTreeMap;

use keyrotor_core::{
    Account, AccountKey, AccountSettings, Directory, KeyInfo, KeyUsage, ResourceGroup,
};
use keyrotor_types::{AccountKind, KeySlot};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::endpoints::Endpoints;
use crate::error::{ArmError, ArmResult};
use crate::operation::kind_provider;

/// RFC 3339 UTC with microseconds, the precision every SDK parses.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

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

/// Reads `tags`: an object of at most 50 string values.
pub fn tags(body: &Map<String, Value>) -> ArmResult<Option<BTreeMap<String, String>>> {
    match body.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => {
            if m.len() > 50 {
                return Err(ArmError::InvalidParameter(
                    "at most 50 tags are allowed".into(),
                ));
            }
            m.iter()
                .map(|(k, v)| match v {
                    Value::String(s) if !k.is_empty() && k.len() <= 512 && s.len() <= 256 => {
                        Ok((k.clone(), s.clone()))
                    }
                    _ => Err(ArmError::InvalidParameter(format!(
                        "tag '{}' is invalid: names have 1-512 characters and values are strings of at most 256",
                        k.chars().take(64).collect::<String>()
                    ))),
                })
                .collect::<ArmResult<_>>()
                .map(Some)
        }
        Some(_) => Err(ArmError::InvalidRequestContent(
            "'tags' must be an object".into(),
        )),
    }
}

/// Reads a required or optional string field.
pub fn string_field(body: &Map<String, Value>, name: &str) -> ArmResult<Option<String>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ArmError::InvalidRequestContent(format!(
            "'{name}' must be a string"
        ))),
    }
}

pub fn subscription(dir: &Directory) -> Value {
    let sub = dir.subscription_id.as_str();
    json!({
        "id": format!("/subscriptions/{sub}"),
        "subscriptionId": sub,
        "tenantId": dir.tenant_id,
        "homeTenantId": dir.tenant_id,
        "displayName": "keyrotor",
        "state": "Enabled",
        "managedByTenants": [],
        "authorizationSource": "RoleBased",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "keyrotor",
            "spendingLimit": "Off"
        }
    })
}

pub fn resource_group(g: &ResourceGroup) -> Value {
    json!({
        "id": format!("/subscriptions/{}/resourceGroups/{}", g.subscription, g.name),
        "name": g.name.as_str(),
        "type": "Microsoft.Resources/resourceGroups",
        "location": g.location,
        "tags": g.tags,
        "properties": { "provisioningState": "Succeeded" }
    })
}

pub fn account_id(a: &Account) -> String {
    let (ns, ty) = kind_provider(a.kind);
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/{ns}/{ty}/{}",
        a.subscription, a.resource_group, a.name
    )
}

fn set_default(props: &mut Map<String, Value>, key: &str, value: Value) {
    if props.get(key).is_none_or(Value::is_null) {
        props.insert(key.to_string(), value);
    }
}

/// Names of Cosmos key slots in `keysMetadata` and `listKeys`.
fn cosmos_key_name(slot: KeySlot) -> &'static str {
    match slot {
        KeySlot::Primary => "primaryMasterKey",
        KeySlot::Secondary => "secondaryMasterKey",
        KeySlot::PrimaryReadonly => "primaryReadonlyMasterKey",
        KeySlot::SecondaryReadonly => "secondaryReadonlyMasterKey",
    }
}

/// The stored client document: `{"kind","sku","identity","properties"}`.
pub fn stored_document(a: &Account) -> Map<String, Value> {
    match serde_json::from_str::<Value>(&a.document) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Renders an account resource as ARM GET returns it.
pub fn account(
    a: &Account,
    keys: &[KeyInfo],
    usage: &[KeyUsage],
    ep: &Endpoints,
    actor: &str,
) -> Value {
    let doc = stored_document(a);
    let mut props = match doc.get("properties") {
        Some(Value::Object(p)) => p.clone(),
        _ => Map::new(),
    };
    props.insert("provisioningState".into(), json!("Succeeded"));
    let mut out = Map::new();
    out.insert("id".into(), json!(account_id(a)));
    out.insert("name".into(), json!(a.name.as_str()));
    let (ns, ty) = kind_provider(a.kind);
    out.insert("type".into(), json!(format!("{ns}/{ty}")));
    out.insert("location".into(), json!(a.location));
    out.insert("tags".into(), json!(a.tags));
    if let Some(identity) = doc.get("identity") {
        out.insert("identity".into(), identity.clone());
    }
    out.insert(
        "systemData".into(),
        json!({
            "createdBy": actor, "createdByType": "Application", "createdAt": rfc3339(a.created_at),
            "lastModifiedBy": actor, "lastModifiedByType": "Application", "lastModifiedAt": rfc3339(a.updated_at)
        }),
    );
    match a.kind {
        AccountKind::Cosmos => {
            let endpoint = ep.cosmos(a.name.as_str());
            out.insert(
                "kind".into(),
                doc.get("kind")
                    .cloned()
                    .unwrap_or_else(|| json!("GlobalDocumentDB")),
            );
            // Every region the client asked for is served by this one endpoint.
            let mut regions: Vec<(String, u64, bool)> = props
                .get("locations")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(|r| {
                            let name = r.get("locationName")?.as_str()?.to_string();
                            let prio = r
                                .get("failoverPriority")
                                .and_then(Value::as_u64)
                                .unwrap_or(0);
                            let zr = r
                                .get("isZoneRedundant")
                                .and_then(Value::as_bool)
                                .unwrap_or(false);
                            Some((name, prio, zr))
                        })
                        .collect()
                })
                .unwrap_or_default();
            if regions.is_empty() {
                regions.push((a.location.clone(), 0, false));
            }
            regions.sort_by_key(|r| r.1);
            let region_id = |name: &str| {
                let n: String = name
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>()
                    .to_ascii_lowercase();
                format!("{}-{n}", a.name)
            };
            let rendered: Vec<Value> = regions
                .iter()
                .map(|(name, prio, zr)| {
                    json!({
                        "id": region_id(name),
                        "locationName": name,
                        "documentEndpoint": endpoint,
                        "provisioningState": "Succeeded",
                        "failoverPriority": prio,
                        "isZoneRedundant": zr
                    })
                })
                .collect();
            props.insert("documentEndpoint".into(), json!(endpoint));
            props.insert("writeLocations".into(), json!([rendered[0].clone()]));
            props.insert("readLocations".into(), json!(rendered.clone()));
            props.insert("locations".into(), json!(rendered));
            props.insert(
                "failoverPolicies".into(),
                json!(regions
                    .iter()
                    .map(|(name, prio, _)| json!({ "id": region_id(name), "locationName": name, "failoverPriority": prio }))
                    .collect::<Vec<_>>()),
            );
            props.insert("instanceId".into(), json!(a.uid));
            props.insert("databaseAccountOfferType".into(), json!("Standard"));
            let meta: Map<String, Value> = keys
                .iter()
                .map(|k| {
                    let last = usage
                        .iter()
                        .find(|u| u.slot == k.slot)
                        .and_then(|u| u.last_used);
                    let mut m = json!({ "generationTime": rfc3339(k.generated_at) });
                    // keyrotor extension: account key usage metadata.
                    m["lastUsedTime"] = last.map_or(Value::Null, |t| json!(rfc3339(t)));
                    (cosmos_key_name(k.slot).to_string(), m)
                })
                .collect();
            props.insert("keysMetadata".into(), Value::Object(meta));
            set_default(&mut props, "disableLocalAuth", json!(false));
            set_default(
                &mut props,
                "consistencyPolicy",
                json!({"defaultConsistencyLevel": "Session", "maxIntervalInSeconds": 5, "maxStalenessPrefix": 100}),
            );
            set_default(&mut props, "enableMultipleWriteLocations", json!(false));
            set_default(&mut props, "enableAutomaticFailover", json!(false));
            set_default(&mut props, "capabilities", json!([]));
            set_default(&mut props, "publicNetworkAccess", json!("Enabled"));
            set_default(
                &mut props,
                "disableKeyBasedMetadataWriteAccess",
                json!(false),
            );
            set_default(&mut props, "minimalTlsVersion", json!("Tls12"));
        }
        AccountKind::Batch => {
            props.insert("accountEndpoint".into(), json!(ep.batch(a.name.as_str())));
            set_default(&mut props, "poolAllocationMode", json!("BatchService"));
            set_default(
                &mut props,
                "allowedAuthenticationModes",
                json!(["SharedKey", "AAD", "TaskAuthenticationToken"]),
            );
            set_default(&mut props, "publicNetworkAccess", json!("Enabled"));
            set_default(
                &mut props,
                "encryption",
                json!({"keySource": "Microsoft.Batch"}),
            );
        }
        AccountKind::Ai => {
            let endpoint = ep.ai(a.name.as_str());
            out.insert(
                "kind".into(),
                doc.get("kind")
                    .cloned()
                    .unwrap_or_else(|| json!("AIServices")),
            );
            out.insert(
                "sku".into(),
                doc.get("sku")
                    .cloned()
                    .unwrap_or_else(|| json!({"name": "S0"})),
            );
            out.insert(
                "etag".into(),
                json!(format!("\"{}\"", a.updated_at.unix_timestamp_nanos())),
            );
            props.insert("endpoint".into(), json!(endpoint));
            props.insert(
                "endpoints".into(),
                json!({ "AI Services": endpoint, "OpenAI Language Model Instance API": endpoint }),
            );
            props.insert("internalId".into(), json!(a.uid.replace('-', "")));
            props.insert("dateCreated".into(), json!(rfc3339(a.created_at)));
            set_default(&mut props, "customSubDomainName", json!(a.name.as_str()));
            set_default(&mut props, "disableLocalAuth", json!(false));
            set_default(&mut props, "publicNetworkAccess", json!("Enabled"));
        }
    }
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

/// Builds the document to store from a PUT body (and, for PATCH, the
/// current document): keeps `kind`, `sku`, `identity` and `properties`.
pub fn merge_document(
    current: Option<Map<String, Value>>,
    body: &Map<String, Value>,
) -> ArmResult<String> {
    let mut doc = current.unwrap_or_default();
    for key in ["kind", "sku", "identity"] {
        if let Some(v) = body.get(key) {
            doc.insert(key.into(), v.clone());
        }
    }
    match body.get("properties") {
        None | Some(Value::Null) => {}
        Some(Value::Object(p)) => {
            let mut merged = match doc.remove("properties") {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            for (k, v) in p {
                merged.insert(k.clone(), v.clone());
            }
            doc.insert("properties".into(), Value::Object(merged));
        }
        Some(_) => {
            return Err(ArmError::InvalidRequestContent(
                "'properties' must be an object".into(),
            ))
        }
    }
    serde_json::to_string(&doc).map_err(|e| ArmError::Internal(e.to_string()))
}

/// listKeys (and Batch/AI regenerate) response bodies.
pub fn keys(a: &Account, keys: &[AccountKey]) -> Value {
    let get = |slot: KeySlot| {
        keys.iter()
            .find(|k| k.slot == slot)
            .map(|k| k.value.expose().to_string())
    };
    match a.kind {
        AccountKind::Cosmos => {
            let mut m = Map::new();
            for &slot in AccountKind::Cosmos.slots() {
                m.insert(cosmos_key_name(slot).into(), json!(get(slot)));
            }
            Value::Object(m)
        }
        AccountKind::Batch => json!({
            "accountName": a.name.as_str(),
            "primary": get(KeySlot::Primary),
            "secondary": get(KeySlot::Secondary),
        }),
        AccountKind::Ai => {
            json!({ "key1": get(KeySlot::Primary), "key2": get(KeySlot::Secondary) })
        }
    }
}

pub fn read_only_keys(keys: &[AccountKey]) -> Value {
    let get = |slot: KeySlot| {
        keys.iter()
            .find(|k| k.slot == slot)
            .map(|k| k.value.expose().to_string())
    };
    json!({
        "primaryReadonlyMasterKey": get(KeySlot::PrimaryReadonly),
        "secondaryReadonlyMasterKey": get(KeySlot::SecondaryReadonly),
    })
}

pub fn connection_strings(a: &Account, keys: &[AccountKey], ep: &Endpoints) -> Value {
    let endpoint = ep.cosmos(a.name.as_str());
    let list: Vec<Value> = keys
        .iter()
        .map(|k| {
            let (desc, kind) = match k.slot {
                KeySlot::Primary => ("Primary SQL Connection String", "Primary"),
                KeySlot::Secondary => ("Secondary SQL Connection String", "Secondary"),
                KeySlot::PrimaryReadonly => ("Primary Read-Only SQL Connection String", "PrimaryReadonly"),
                KeySlot::SecondaryReadonly => ("Secondary Read-Only SQL Connection String", "SecondaryReadonly"),
            };
            json!({
                "connectionString": format!("AccountEndpoint={endpoint};AccountKey={};", k.value.expose()),
                "description": desc,
                "keyKind": kind,
                "type": "Sql"
            })
        })
        .collect();
    json!({ "connectionStrings": list })
}

/// Parses the key named in a regenerate body, per account kind:
/// Cosmos `{"keyKind": "primary|secondary|primaryReadonly|secondaryReadonly"}`,
/// Batch `{"keyName": "Primary|Secondary"}`, AI `{"keyName": "Key1|Key2"}`.
pub fn regenerate_slot(kind: AccountKind, body: &Map<String, Value>) -> ArmResult<KeySlot> {
    let (field, allowed): (&str, &[(&str, KeySlot)]) = match kind {
        AccountKind::Cosmos => (
            "keyKind",
            &[
                ("primary", KeySlot::Primary),
                ("secondary", KeySlot::Secondary),
                ("primaryReadonly", KeySlot::PrimaryReadonly),
                ("secondaryReadonly", KeySlot::SecondaryReadonly),
            ],
        ),
        AccountKind::Batch => (
            "keyName",
            &[
                ("Primary", KeySlot::Primary),
                ("Secondary", KeySlot::Secondary),
            ],
        ),
        AccountKind::Ai => (
            "keyName",
            &[("Key1", KeySlot::Primary), ("Key2", KeySlot::Secondary)],
        ),
    };
    let names = allowed
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ");
    let value = string_field(body, field)?.ok_or_else(|| {
        ArmError::InvalidParameter(format!("'{field}' is required; one of: {names}"))
    })?;
    allowed
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&value))
        .map(|(_, s)| *s)
        .ok_or_else(|| {
            ArmError::InvalidParameter(format!(
                "'{field}' value '{}' is invalid; expected one of: {names}",
                value.chars().take(40).collect::<String>()
            ))
        })
}

/// The settings keyrotor acts on, read from a stored document's properties:
/// `disableLocalAuth` (Cosmos, AI) or `allowedAuthenticationModes` without
/// `SharedKey` (Batch); `upstreamUrl` (AI: where the data plane forwards);
/// `regenerationGuardMinutes` (refuse regenerating a recently used key).
pub fn settings(kind: AccountKind, document: &str) -> ArmResult<AccountSettings> {
    let doc: Value = serde_json::from_str(document).unwrap_or(Value::Null);
    let props = doc.get("properties").cloned().unwrap_or(Value::Null);
    let disable_local_auth = match kind {
        AccountKind::Batch => match props.get("allowedAuthenticationModes") {
            None | Some(Value::Null) => false,
            Some(Value::Array(modes)) => !modes.iter().any(|m| {
                m.as_str()
                    .is_some_and(|m| m.eq_ignore_ascii_case("SharedKey"))
            }),
            Some(_) => {
                return Err(ArmError::InvalidRequestContent(
                    "'properties.allowedAuthenticationModes' must be an array".into(),
                ))
            }
        },
        _ => match props.get("disableLocalAuth") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(ArmError::InvalidRequestContent(
                    "'properties.disableLocalAuth' must be a boolean".into(),
                ))
            }
        },
    };
    let upstream = match props.get("upstreamUrl") {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) if kind == AccountKind::Ai => {
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
        Some(Value::String(_)) => {
            return Err(ArmError::InvalidParameter(
                "'properties.upstreamUrl' applies to AI Services accounts only".into(),
            ))
        }
        Some(_) => {
            return Err(ArmError::InvalidRequestContent(
                "'properties.upstreamUrl' must be a string".into(),
            ))
        }
    };
    let regeneration_guard_minutes = match props.get("regenerationGuardMinutes") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().and_then(|m| u32::try_from(m).ok()) {
            Some(m) if (1..=525_600).contains(&m) => Some(m),
            _ => {
                return Err(ArmError::InvalidParameter(
                    "'properties.regenerationGuardMinutes' must be an integer from 1 to 525600"
                        .into(),
                ))
            }
        },
    };
    let local_auth_report_only = match props.get("localAuthReportOnly") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ArmError::InvalidRequestContent(
                "'properties.localAuthReportOnly' must be a boolean".into(),
            ))
        }
    };
    let local_auth_reenabled_until = match props.get("localAuthReenabledUntil") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(
            OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .map_err(|_| {
                    ArmError::InvalidParameter(
                        "'properties.localAuthReenabledUntil' must be an RFC 3339 time".into(),
                    )
                })?
                .unix_timestamp(),
        ),
        Some(_) => {
            return Err(ArmError::InvalidRequestContent(
                "'properties.localAuthReenabledUntil' must be an RFC 3339 time".into(),
            ))
        }
    };
    Ok(AccountSettings {
        disable_local_auth,
        upstream,
        regeneration_guard_minutes,
        local_auth_report_only,
        local_auth_reenabled_until,
    })
}

/// The wire name of a key slot for an account kind (`primaryMasterKey`,
/// `primary`, `key1`, ...).
pub fn key_name(kind: AccountKind, slot: KeySlot) -> &'static str {
    match (kind, slot) {
        (AccountKind::Cosmos, s) => cosmos_key_name(s),
        (AccountKind::Batch, KeySlot::Primary) => "primary",
        (AccountKind::Batch, _) => "secondary",
        (AccountKind::Ai, KeySlot::Primary) => "key1",
        (AccountKind::Ai, _) => "key2",
    }
}

/// `listKeyUsage` (keyrotor extension): per key, its generation, when it was
/// last used, request counts and the clients that used it.
pub fn key_usage(a: &Account, keys: &[KeyInfo], usage: &[KeyUsage], now: OffsetDateTime) -> Value {
    let list: Vec<Value> = keys
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
            json!({
                "keyName": key_name(a.kind, k.slot),
                "keyKind": k.slot.as_str(),
                "generation": k.generation,
                "generationTime": rfc3339(k.generated_at),
                "lastUsedTime": u.and_then(|u| u.last_used).map(rfc3339),
                "requestsLast24Hours": sum_since(86_400),
                "wouldBeRejected": u.map_or(0, |u| u.would_reject),
                "requestsLast30Days": sum_since(30 * 86_400),
                "hourly": u.map(|u| u.hourly.iter().map(|(h, n)| json!({"hour": rfc3339(*h), "requests": n})).collect::<Vec<_>>()).unwrap_or_default(),
                "clients": u.map(|u| u.clients.iter().map(|(ua, addr, t, n)| json!({
                    "userAgent": ua, "address": addr, "lastSeenTime": rfc3339(*t), "requests": n
                })).collect::<Vec<_>>()).unwrap_or_default(),
            })
        })
        .collect();
    json!({ "keys": list })
}

/// Adds the guard's verdict to a `listKeyUsage` answer: `inUse` per key
/// (used within the window) and the window itself, in seconds.
pub fn mark_in_use(
    v: &mut Value,
    kind: AccountKind,
    window: time::Duration,
    in_use: &[keyrotor_core::guard::KeyInUse],
) {
    v["guardWindowSeconds"] = json!(window.whole_seconds());
    if let Some(keys) = v["keys"].as_array_mut() {
        for k in keys {
            let used = in_use
                .iter()
                .any(|u| k["keyName"] == key_name(kind, u.slot));
            k["inUse"] = json!(used);
        }
    }
}

/// A service principal as the identity extension returns it (never a secret value).
pub fn principal(
    p: &keyrotor_core::Principal,
    secrets: &[keyrotor_core::PrincipalSecret],
    tenant: &str,
    bootstrap: bool,
) -> Value {
    json!({
        "clientId": p.client_id,
        "displayName": p.display_name,
        "tenantId": tenant,
        "createdTime": rfc3339(p.created_at),
        "bootstrapAdministrator": bootstrap,
        "owner": p.owner,
        "secrets": secrets.iter().map(|s| json!({
            "secretId": s.secret_id,
            "expiresTime": s.expires_at.map(rfc3339),
        })).collect::<Vec<_>>(),
    })
}

/// A newly created client secret: the only response that carries its value.
pub fn new_secret(meta: &keyrotor_core::PrincipalSecret, secret: &keyrotor_types::Secret) -> Value {
    json!({ "secretId": meta.secret_id, "value": secret.expose(), "expiresTime": meta.expires_at.map(rfc3339) })
}

/// `expiresInSeconds` (1 s to 2 years) of a new client secret, if given.
pub fn secret_expiry(
    body: &Map<String, Value>,
    now: OffsetDateTime,
) -> ArmResult<Option<OffsetDateTime>> {
    match body.get("expiresInSeconds") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(s) if (1..=2 * 366 * 86_400).contains(&s) => {
                Ok(Some(now + time::Duration::seconds(s)))
            }
            _ => Err(ArmError::InvalidParameter(
                "'expiresInSeconds' must be an integer from 1 to 63244800".into(),
            )),
        },
    }
}

/// `{scope}/providers/Microsoft.Authorization/...` with the root scope as ``.
fn under_scope(scope: &str, rest: &str) -> String {
    let s = scope.trim_end_matches('/');
    format!("{s}/providers/Microsoft.Authorization/{rest}")
}

/// A role definition's ARM id as Azure spells it for built-ins
/// (subscription-scoped).
pub fn role_definition_id(sub: &keyrotor_types::SubscriptionId, guid: &str) -> String {
    under_scope(
        &format!("/subscriptions/{sub}"),
        &format!("roleDefinitions/{guid}"),
    )
}

pub fn role_assignment(
    a: &keyrotor_core::rbac::RoleAssignment,
    sub: &keyrotor_types::SubscriptionId,
) -> Value {
    json!({
        "id": under_scope(&a.scope, &format!("roleAssignments/{}", a.name)),
        "name": a.name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": role_definition_id(sub, &a.role_id),
            "principalId": a.principal_id,
            "principalType": "ServicePrincipal",
            "scope": a.scope,
            "condition": null,
            "conditionVersion": null,
            "createdOn": rfc3339(a.created_at),
            "updatedOn": rfc3339(a.created_at),
            "createdBy": a.created_by,
            "updatedBy": a.created_by,
            "delegatedManagedIdentityResourceId": null,
            "description": null,
        }
    })
}

pub fn role_definition(r: &keyrotor_core::rbac::RoleDefinition, scope: &str) -> Value {
    json!({
        "id": under_scope(scope, &format!("roleDefinitions/{}", r.id)),
        "name": r.id,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": r.name,
            "description": r.description,
            "type": "BuiltInRole",
            "permissions": [{
                "actions": r.permissions.actions,
                "notActions": r.permissions.not_actions,
                "dataActions": r.permissions.data_actions,
                "notDataActions": r.permissions.not_data_actions,
            }],
            "assignableScopes": ["/"],
        }
    })
}

/// Properties keyrotor computes; never stored from the client.
const VAULT_COMPUTED: &[&str] = &[
    "vaultUri",
    "provisioningState",
    "hsmPoolResourceId",
    "privateEndpointConnections",
    "createMode",
];

/// What a vault PUT/PATCH asks for. Soft delete is always on (as in Azure
/// today); the retention defaults to 90 days; purge protection stays on once set.
pub fn vault_spec(
    body: &Map<String, Value>,
    props: &Map<String, Value>,
    existing: Option<&keyrotor_core::vault::Vault>,
) -> ArmResult<keyrotor_core::vault::VaultSpec> {
    if props.get("enableSoftDelete") == Some(&Value::Bool(false)) {
        return Err(ArmError::InvalidParameter(
            "soft delete cannot be disabled (enableSoftDelete must be true)".into(),
        ));
    }
    let days = match props.get("softDeleteRetentionInDays") {
        None | Some(Value::Null) => existing.map_or(90, |v| v.settings.soft_delete_days),
        Some(v) => v
            .as_u64()
            .and_then(|d| u32::try_from(d).ok())
            .filter(|d| (7..=90).contains(d))
            .ok_or_else(|| {
                ArmError::InvalidParameter(
                    "softDeleteRetentionInDays must be an integer between 7 and 90".into(),
                )
            })?,
    };
    let purge_protection = match props.get("enablePurgeProtection") {
        None | Some(Value::Null) => existing.is_some_and(|v| v.settings.purge_protection),
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ArmError::InvalidParameter(
                "enablePurgeProtection must be a boolean".into(),
            ))
        }
    };
    let location = match (string_field(body, "location")?, existing) {
        (Some(l), _) => l,
        (None, Some(v)) => v.location.clone(),
        (None, None) => return Err(ArmError::InvalidParameter("'location' is required".into())),
    };
    let tags = match tags(body)? {
        Some(t) => t,
        None => existing.map(|v| v.tags.clone()).unwrap_or_default(),
    };
    let mut doc = existing
        .and_then(|v| serde_json::from_str::<Map<String, Value>>(&v.document).ok())
        .unwrap_or_default();
    for (k, v) in props {
        if !VAULT_COMPUTED.contains(&k.as_str()) {
            doc.insert(k.clone(), v.clone());
        }
    }
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
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
        v.subscription, v.resource_group, v.name
    )
}

pub fn vault(v: &keyrotor_core::vault::Vault, ep: &Endpoints, tenant: &str) -> Value {
    let mut props: Map<String, Value> = serde_json::from_str(&v.document).unwrap_or_default();
    props.insert("tenantId".into(), json!(tenant));
    props
        .entry("sku")
        .or_insert_with(|| json!({"family": "A", "name": "standard"}));
    props.insert(
        "accessPolicies".into(),
        props.get("accessPolicies").cloned().unwrap_or(json!([])),
    );
    props.insert("enableSoftDelete".into(), json!(true));
    props.insert(
        "softDeleteRetentionInDays".into(),
        json!(v.settings.soft_delete_days),
    );
    props.insert(
        "enablePurgeProtection".into(),
        if v.settings.purge_protection {
            json!(true)
        } else {
            Value::Null
        },
    );
    props.insert("enableRbacAuthorization".into(), json!(true));
    props.insert("vaultUri".into(), json!(ep.vault(v.name.as_str())));
    props.insert("provisioningState".into(), json!("Succeeded"));
    json!({
        "id": vault_id(v),
        "name": v.name.as_str(),
        "type": "Microsoft.KeyVault/vaults",
        "location": v.location,
        "tags": v.tags,
        "properties": props,
    })
}

pub fn deleted_vault(v: &keyrotor_core::vault::Vault) -> Value {
    json!({
        "id": format!(
            "/subscriptions/{}/providers/Microsoft.KeyVault/locations/{}/deletedVaults/{}",
            v.subscription, v.location, v.name
        ),
        "name": v.name.as_str(),
        "type": "Microsoft.KeyVault/deletedVaults",
        "properties": {
            "vaultId": vault_id(v),
            "location": v.location,
            "deletionDate": v.deleted_at.map(rfc3339),
            "scheduledPurgeDate": v.scheduled_purge().map(rfc3339),
            "tags": v.tags,
            "purgeProtectionEnabled": v.settings.purge_protection,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_has_microseconds() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.123456Z");
    }

    #[test]
    fn regenerate_bodies() {
        let body = |s: &str| json_object(s.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            regenerate_slot(
                AccountKind::Cosmos,
                &body(r#"{"keyKind":"primaryReadonly"}"#)
            )
            .ok(),
            Some(KeySlot::PrimaryReadonly)
        );
        assert_eq!(
            regenerate_slot(AccountKind::Batch, &body(r#"{"keyName":"Secondary"}"#)).ok(),
            Some(KeySlot::Secondary)
        );
        assert_eq!(
            regenerate_slot(AccountKind::Ai, &body(r#"{"keyName":"Key2"}"#)).ok(),
            Some(KeySlot::Secondary)
        );
        assert!(regenerate_slot(AccountKind::Batch, &body(r#"{"keyName":"Key2"}"#)).is_err());
        assert!(regenerate_slot(AccountKind::Cosmos, &body(r#"{"keyKind":"tertiary"}"#)).is_err());
        assert!(regenerate_slot(AccountKind::Cosmos, &body(r#"{"keyKind":5}"#)).is_err());
        assert!(regenerate_slot(AccountKind::Cosmos, &body("{}")).is_err());
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(json_object(b"").is_err());
        assert!(json_object(b"[1]").is_err());
        assert!(json_object(b"{\"a\":").is_err());
        assert!(json_object(b"{}").is_ok());
    }
}
