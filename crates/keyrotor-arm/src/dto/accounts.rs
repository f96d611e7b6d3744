//! Accounts: the resource, its request bodies, settings.

use super::*;

pub fn account_id(a: &Account) -> String {
    keyrotor_core::rbac::account_scope(a.kind, &a.subscription, &a.resource_group, &a.name)
}

/// What an account stores of its bodies (none for a document of another
/// shape).
pub fn stored_document(a: &Account) -> StoredAccount {
    stored(&a.document)
}

/// The client properties of a stored account document.
pub(crate) fn client_properties(doc: &StoredAccount) -> Map<String, Value> {
    doc.properties.clone().unwrap_or_default()
}

/// A view of a properties object as `T` (its other members ignored).
pub(crate) fn view<T: DeserializeOwned + Default>(props: &Map<String, Value>) -> T {
    T::deserialize(&Value::Object(props.clone())).unwrap_or_default()
}

/// An account resource as ARM GET returns it.
pub fn account(
    a: &Account,
    keys: &[KeyInfo],
    usage: &[KeyUsage],
    ep: &Endpoints,
    actor: &str,
    now: i64,
) -> wa::AccountResource {
    let doc = stored_document(a);
    let mut client = client_properties(&doc);
    show_local_auth(a.kind, &a.settings, now, &mut client);
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

pub(crate) fn cosmos_properties(
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

/// The wire name of a key-auth mode (`localAuthMode`).
pub fn local_auth_mode_name(mode: LocalAuthMode) -> &'static str {
    match mode {
        LocalAuthMode::Enabled => wa::LOCAL_AUTH_ENABLED,
        LocalAuthMode::Disabled => wa::LOCAL_AUTH_DISABLED,
        LocalAuthMode::ReportOnly => wa::LOCAL_AUTH_REPORT_ONLY,
        LocalAuthMode::TemporarilyEnabled { .. } => wa::LOCAL_AUTH_TEMPORARILY_ENABLED,
    }
}

/// The key-auth switch as clients read it: `localAuthMode` always, and
/// while break-glass lasts the switch reads "on" (`disableLocalAuth:
/// false`, Batch's modes with `SharedKey`), since keys are accepted; the
/// configured "off" and its end are in `localAuthMode` and
/// `localAuthReenabledUntil`.
fn show_local_auth(
    kind: AccountKind,
    settings: &AccountSettings,
    now: i64,
    client: &mut Map<String, Value>,
) {
    let mode = settings.local_auth_mode(now);
    client.insert(
        wa::LOCAL_AUTH_MODE.into(),
        Value::String(local_auth_mode_name(mode).into()),
    );
    if let LocalAuthMode::TemporarilyEnabled { .. } = mode {
        match kind {
            AccountKind::Batch => {
                let configured = batch_modes(client);
                client.insert(
                    wa::ALLOWED_AUTHENTICATION_MODES.into(),
                    Value::from(with_shared_key(&configured)),
                );
            }
            AccountKind::Cosmos | AccountKind::Ai => {
                client.insert(wa::DISABLE_LOCAL_AUTH.into(), Value::Bool(false));
            }
        }
    }
}

/// Batch's `allowedAuthenticationModes` as stored (strings only).
fn batch_modes(client: &Map<String, Value>) -> Vec<String> {
    view::<KeyAuthProperties>(client)
        .allowed_authentication_modes
        .unwrap_or_default()
}

/// `modes` with `SharedKey` first (as Batch lists it).
fn with_shared_key(modes: &[String]) -> Vec<String> {
    let mut all = vec![wa::SHARED_KEY.to_string()];
    all.extend(
        modes
            .iter()
            .filter(|m| !m.eq_ignore_ascii_case(wa::SHARED_KEY))
            .cloned(),
    );
    all
}

/// A PUT or PATCH body that echoes what a GET showed during break-glass
/// (the stored `localAuthReenabledUntil`, the switch as it read then) keeps
/// the configured "off", also when the break-glass has ended between the
/// read and the write: a client that reads, edits something else and writes
/// back does not turn key auth on for good.
pub fn undo_break_glass_view(a: &Account, body: &mut wa::AccountRequest) {
    let Some(props) = body.properties.as_mut() else {
        return;
    };
    let Some(until) = a
        .settings
        .local_auth_reenabled_until
        .filter(|_| a.settings.disable_local_auth)
    else {
        return;
    };
    let echoed_until = view::<KeyAuthProperties>(props)
        .reenabled_until()
        .map(OffsetDateTime::unix_timestamp);
    if echoed_until != Some(until) {
        return;
    }
    let stored = client_properties(&stored_document(a));
    match a.kind {
        AccountKind::Batch => {
            let configured = batch_modes(&stored);
            if props.get(wa::ALLOWED_AUTHENTICATION_MODES)
                == Some(&Value::from(with_shared_key(&configured)))
            {
                props.insert(
                    wa::ALLOWED_AUTHENTICATION_MODES.into(),
                    Value::from(configured),
                );
            }
        }
        AccountKind::Cosmos | AccountKind::Ai => {
            if props.get(wa::DISABLE_LOCAL_AUTH) == Some(&Value::Bool(false)) {
                props.insert(wa::DISABLE_LOCAL_AUTH.into(), Value::Bool(true));
            }
        }
    }
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
        // `localAuthMode` is read-only: computed on every read, never stored.
        for (k, v) in p.iter().filter(|(k, _)| *k != wa::LOCAL_AUTH_MODE) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn account(kind: AccountKind, props: Value) -> Account {
        let document = json!({ "properties": props }).to_string();
        Account {
            id: 1,
            uid: "u".into(),
            kind,
            subscription: keyrotor_types::SubscriptionId::parse(
                "00000000-0000-0000-0000-000000000001",
            )
            .expect("a subscription id"),
            resource_group: keyrotor_types::ResourceGroupName::parse("g").expect("a group name"),
            name: keyrotor_types::AccountName::parse(kind, "acct1").expect("an account name"),
            location: "westus".into(),
            tags: Default::default(),
            settings: settings(kind, &document).expect("valid settings"),
            document,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn request(props: Value) -> wa::AccountRequest {
        account_request(json!({ "properties": props }).to_string().as_bytes()).expect("a body")
    }

    const UNTIL: &str = "1970-01-01T01:00:00Z";

    #[test]
    fn a_body_echoing_an_active_break_glass_keeps_key_auth_switched_off() {
        let cosmos = account(
            AccountKind::Cosmos,
            json!({"disableLocalAuth": true, "localAuthReenabledUntil": UNTIL}),
        );
        // What a GET showed during break-glass, written back.
        let mut echo = request(
            json!({"disableLocalAuth": false, "localAuthReenabledUntil": UNTIL, "localAuthMode": "TemporarilyEnabled"}),
        );
        undo_break_glass_view(&cosmos, &mut echo);
        let doc = merge_document(Some(stored_document(&cosmos)), &echo).expect("merged");
        let s = settings(AccountKind::Cosmos, &doc).expect("settings");
        assert!(s.disable_local_auth);
        assert!(
            !doc.contains("localAuthMode"),
            "read-only, never stored: {doc}"
        );
        // Read during break-glass, written back after its end: still off.
        let mut late =
            request(json!({"disableLocalAuth": false, "localAuthReenabledUntil": UNTIL}));
        undo_break_glass_view(&cosmos, &mut late);
        assert_eq!(
            late.properties.expect("props")["disableLocalAuth"],
            json!(true)
        );
        // Another end time is no echo: taken at its word.
        let mut other = request(
            json!({"disableLocalAuth": false, "localAuthReenabledUntil": "1970-01-01T02:00:00Z"}),
        );
        undo_break_glass_view(&cosmos, &mut other);
        assert_eq!(
            other.properties.expect("props")["disableLocalAuth"],
            json!(false)
        );
        // Clearing the end (enable for good) is taken at its word too.
        let mut on = request(json!({"disableLocalAuth": false, "localAuthReenabledUntil": null}));
        undo_break_glass_view(&cosmos, &mut on);
        assert_eq!(
            on.properties.expect("props")["disableLocalAuth"],
            json!(false)
        );

        let batch = account(
            AccountKind::Batch,
            json!({"allowedAuthenticationModes": ["AAD"], "localAuthReenabledUntil": UNTIL}),
        );
        let mut echo = request(
            json!({"allowedAuthenticationModes": ["SharedKey", "AAD"], "localAuthReenabledUntil": UNTIL}),
        );
        undo_break_glass_view(&batch, &mut echo);
        assert_eq!(
            echo.properties.expect("props")["allowedAuthenticationModes"],
            json!(["AAD"])
        );
    }
}
