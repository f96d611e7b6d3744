//! What every request parser, and the parsing the handlers do, makes of a
//! table of bodies.

use super::*;

/// Request bodies through every parser.
pub(super) fn parse_cases() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut push = |name: String, v: Value| out.push((name, v));
    for (i, raw) in ["", "  ", "[1]", "5", "null", "{\"a\":", "{}", "{\"a\": 1}"]
        .iter()
        .enumerate()
    {
        push(
            format!("json_object/{i}"),
            outcome(dto::json_object(raw.as_bytes()), Value::Object),
        );
    }
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("t{i}"), json!("v"))).collect();
    for (i, b) in [
        json!({}),
        json!({"tags": null}),
        json!({"tags": {}}),
        json!({"tags": {"a": "b", "c": ""}}),
        json!({"tags": {"a": 1}}),
        json!({"tags": {"": "x"}}),
        json!({"tags": {"a": "x".repeat(257)}}),
        json!({"tags": {"a": "x".repeat(256)}}),
        json!({"tags": [1]}),
        json!({"tags": "a"}),
        json!({ "tags": many }),
    ]
    .iter()
    .enumerate()
    {
        push(
            format!("tags/{i}"),
            outcome(dto::group_request(&bytes(b)), |r| json!(r.tags)),
        );
    }
    for (i, b) in [
        json!({}),
        json!({"location": null}),
        json!({"location": "westus"}),
        json!({"location": 5}),
    ]
    .iter()
    .enumerate()
    {
        push(
            format!("string_field/{i}"),
            outcome(dto::group_request(&bytes(b)), |r| json!(r.location)),
        );
    }
    let regen: Vec<(AccountKind, Value)> = vec![
        (AccountKind::Cosmos, json!({"keyKind": "primary"})),
        (AccountKind::Cosmos, json!({"keyKind": "SECONDARY"})),
        (AccountKind::Cosmos, json!({"keyKind": "primaryReadonly"})),
        (AccountKind::Cosmos, json!({"keyKind": "secondaryreadonly"})),
        (AccountKind::Cosmos, json!({"keyKind": "tertiary"})),
        (AccountKind::Cosmos, json!({"keyKind": 1})),
        (AccountKind::Cosmos, json!({"keyKind": null})),
        (AccountKind::Cosmos, json!({"keyName": "Key1"})),
        (AccountKind::Cosmos, json!({})),
        (AccountKind::Batch, json!({"keyName": "Primary"})),
        (AccountKind::Batch, json!({"keyName": "secondary"})),
        (AccountKind::Batch, json!({"keyName": "Key1"})),
        (AccountKind::Batch, json!({"keyKind": "primary"})),
        (AccountKind::Ai, json!({"keyName": "Key1"})),
        (AccountKind::Ai, json!({"keyName": "key2"})),
        (AccountKind::Ai, json!({"keyName": "Primary"})),
        (AccountKind::Ai, json!({"keyName": ["Key1"]})),
    ];
    for (i, (kind, b)) in regen.iter().enumerate() {
        push(
            format!("regenerate_slot/{i}/{kind}"),
            outcome(
                dto::regenerate_slot(*kind, &bytes(b)),
                |s| json!(s.as_str()),
            ),
        );
    }
    let docs: Vec<(AccountKind, Value)> = vec![
        (AccountKind::Cosmos, json!({})),
        (
            AccountKind::Cosmos,
            json!({"properties": {"disableLocalAuth": true}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"properties": {"disableLocalAuth": "true"}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"properties": {"disableLocalAuth": null}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"properties": {"upstreamUrl": "https://x"}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"properties": {"upstreamUrl": 5}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"properties": {"allowedAuthenticationModes": []}}),
        ),
        (
            AccountKind::Batch,
            json!({"properties": {"allowedAuthenticationModes": []}}),
        ),
        (
            AccountKind::Batch,
            json!({"properties": {"allowedAuthenticationModes": ["sharedkey", "AAD"]}}),
        ),
        (
            AccountKind::Batch,
            json!({"properties": {"allowedAuthenticationModes": ["AAD", 5]}}),
        ),
        (
            AccountKind::Batch,
            json!({"properties": {"allowedAuthenticationModes": "SharedKey"}}),
        ),
        (
            AccountKind::Batch,
            json!({"properties": {"allowedAuthenticationModes": null, "disableLocalAuth": true}}),
        ),
        (
            AccountKind::Ai,
            json!({"properties": {"upstreamUrl": "https://up.example.com/v1/"}}),
        ),
        (
            AccountKind::Ai,
            json!({"properties": {"upstreamUrl": "ftp://up"}}),
        ),
        (
            AccountKind::Ai,
            json!({"properties": {"upstreamUrl": "https://up?x=1"}}),
        ),
        (AccountKind::Ai, json!({"properties": {"upstreamUrl": 5}})),
        (
            AccountKind::Ai,
            json!({"properties": {"upstreamUrl": null}}),
        ),
        (
            AccountKind::Ai,
            json!({"properties": {"regenerationGuardMinutes": 15}}),
        ),
        (
            AccountKind::Ai,
            json!({"properties": {"regenerationGuardMinutes": 0}}),
        ),
        (
            AccountKind::Ai,
            json!({"properties": {"regenerationGuardMinutes": 525_601}}),
        ),
        (
            AccountKind::Ai,
            json!({"properties": {"regenerationGuardMinutes": -1}}),
        ),
        (
            AccountKind::Ai,
            json!({"properties": {"regenerationGuardMinutes": "5"}}),
        ),
        (
            AccountKind::Ai,
            json!({"properties": {"regenerationGuardMinutes": 1.5}}),
        ),
        (
            AccountKind::Ai,
            json!({"properties": {"regenerationGuardMinutes": null}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"properties": {"localAuthReportOnly": true}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"properties": {"localAuthReportOnly": 1}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"properties": {"localAuthReenabledUntil": "2026-01-02T03:04:05Z"}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"properties": {"localAuthReenabledUntil": "2026-01-02T03:04:05.123+01:00"}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"properties": {"localAuthReenabledUntil": "tomorrow"}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"properties": {"localAuthReenabledUntil": 5}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"properties": {"localAuthReenabledUntil": null}}),
        ),
    ];
    for (i, (kind, doc)) in docs.iter().enumerate() {
        push(
            format!("settings/{i}/{kind}"),
            outcome(dto::settings(*kind, &doc.to_string()), settings_json),
        );
    }
    push(
        "settings/not-json".into(),
        outcome(
            dto::settings(AccountKind::Cosmos, "not json"),
            settings_json,
        ),
    );
    push(
        "settings/empty".into(),
        outcome(dto::settings(AccountKind::Cosmos, ""), settings_json),
    );
    let current = json!({"kind": "GlobalDocumentDB", "identity": {"type": "None"},
        "properties": {"a": 1, "b": {"c": 2}, "keep": true}});
    let merges: Vec<(Option<Value>, Value)> = vec![
        (None, json!({})),
        (
            None,
            json!({"location": "x", "tags": {"a": "b"}, "kind": "MongoDB", "sku": {"name": "S0"},
            "identity": null, "properties": {"x": null, "y": [1]}, "other": 5}),
        ),
        (
            Some(current.clone()),
            json!({"properties": {"a": 2, "b": {"d": 3}, "n": null}}),
        ),
        (
            Some(current.clone()),
            json!({"properties": null, "kind": null}),
        ),
        (Some(current.clone()), json!({"properties": [1]})),
        (Some(current.clone()), json!({"properties": "x"})),
        (
            Some(json!({"properties": "not an object"})),
            json!({"properties": {"a": 1}}),
        ),
    ];
    for (i, (cur, b)) in merges.iter().enumerate() {
        push(
            format!("merge_document/{i}"),
            outcome(
                dto::account_request(&bytes(b)).and_then(|r| {
                    let cur = cur
                        .as_ref()
                        .map(|c| serde_json::from_value(c.clone()).unwrap_or_default());
                    dto::merge_document(cur, &r)
                }),
                |s| serde_json::from_str::<Value>(&s).unwrap_or(Value::String(s)),
            ),
        );
    }
    let a = account(
        AccountKind::Cosmos,
        "cos1",
        current.clone(),
        BTreeMap::new(),
    );
    push("stored_document".into(), render(&dto::stored_document(&a)));
    push(
        "stored_document/empty".into(),
        render(&dto::stored_document(&account(
            AccountKind::Cosmos,
            "cos1",
            Value::Null,
            BTreeMap::new(),
        ))),
    );
    let now = t(0);
    for (i, b) in [
        json!({}),
        json!({"expiresInSeconds": null}),
        json!({"expiresInSeconds": 60}),
        json!({"expiresInSeconds": 0}),
        json!({"expiresInSeconds": 63_244_800}),
        json!({"expiresInSeconds": 63_244_801}),
        json!({"expiresInSeconds": "60"}),
        json!({"expiresInSeconds": 1.5}),
    ]
    .iter()
    .enumerate()
    {
        push(
            format!("secret_expiry/{i}"),
            outcome(dto::add_secret(&bytes(b), now), |t| {
                json!(t.map(dto::rfc3339))
            }),
        );
    }
    let existing = vault(
        json!({"sku": {"family": "A", "name": "premium"}, "kept": 1}),
        true,
        false,
    );
    let vault_bodies: Vec<(bool, Value)> = vec![
        (false, json!({"location": "westus", "properties": {}})),
        (false, json!({"properties": {}})),
        (true, json!({"properties": {}})),
        (false, json!({"location": 5, "properties": {}})),
        (
            false,
            json!({"location": "westus", "tags": {"a": "b"}, "properties": {
            "enableSoftDelete": true, "softDeleteRetentionInDays": 7, "enablePurgeProtection": true,
            "sku": {"family": "A", "name": "standard"}, "vaultUri": "x", "provisioningState": "y",
            "hsmPoolResourceId": "z", "privateEndpointConnections": [], "createMode": "default",
            "accessPolicies": [], "tenantId": "t", "networkAcls": null}}),
        ),
        (
            false,
            json!({"location": "westus", "properties": {"enableSoftDelete": false}}),
        ),
        (
            false,
            json!({"location": "westus", "properties": {"enableSoftDelete": "false"}}),
        ),
        (
            false,
            json!({"location": "westus", "properties": {"softDeleteRetentionInDays": 6}}),
        ),
        (
            false,
            json!({"location": "westus", "properties": {"softDeleteRetentionInDays": 91}}),
        ),
        (
            false,
            json!({"location": "westus", "properties": {"softDeleteRetentionInDays": "30"}}),
        ),
        (
            false,
            json!({"location": "westus", "properties": {"softDeleteRetentionInDays": null}}),
        ),
        (
            true,
            json!({"properties": {"softDeleteRetentionInDays": null}}),
        ),
        (
            false,
            json!({"location": "westus", "properties": {"enablePurgeProtection": "yes"}}),
        ),
        (
            false,
            json!({"location": "westus", "properties": {"enablePurgeProtection": null}}),
        ),
        (
            true,
            json!({"properties": {"enablePurgeProtection": false}}),
        ),
        (
            true,
            json!({"tags": null, "properties": {"kept": 2, "new": 3}}),
        ),
        (
            false,
            json!({"location": "westus", "tags": {"a": 1}, "properties": {}}),
        ),
    ];
    for (i, (with_existing, b)) in vault_bodies.iter().enumerate() {
        let r = dto::vault_request(&bytes(b))
            .and_then(|v| dto::vault_spec(&v, with_existing.then_some(&existing)));
        push(
            format!("vault_spec/{i}"),
            outcome(r, |s| {
                json!({
                    "location": s.location,
                    "tags": s.tags,
                    "document": serde_json::from_str::<Value>(&s.document).unwrap_or(Value::String(s.document)),
                    "soft_delete_days": s.settings.soft_delete_days,
                    "purge_protection": s.settings.purge_protection,
                })
            }),
        );
    }
    out.extend(handler_parse_cases());
    out
}

/// The bodies the handlers parsed by hand before the typed wire layer
/// (recorded after it; the old server answered each with the same status
/// and code over HTTP).
fn handler_parse_cases() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut push = |name: String, v: Value| out.push((name, v));
    let offer = json!({"databaseAccountOfferType": "Standard"});
    let puts: Vec<(AccountKind, Value)> = vec![
        (
            AccountKind::Cosmos,
            json!({"location": "westus", "properties": offer}),
        ),
        (AccountKind::Cosmos, json!({"properties": offer})),
        (
            AccountKind::Cosmos,
            json!({"location": null, "properties": offer}),
        ),
        (
            AccountKind::Cosmos,
            json!({"location": 5, "properties": offer}),
        ),
        (AccountKind::Cosmos, json!({"location": "westus"})),
        (
            AccountKind::Cosmos,
            json!({"location": "westus", "properties": null}),
        ),
        (
            AccountKind::Cosmos,
            json!({"location": "westus", "properties": [1]}),
        ),
        (
            AccountKind::Cosmos,
            json!({"location": "westus", "properties": {"databaseAccountOfferType": "Premium"}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"location": "westus", "properties": {"databaseAccountOfferType": null}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"location": "westus", "properties": {"databaseAccountOfferType": 5}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"location": "westus", "kind": "MongoDB", "properties": offer}),
        ),
        (
            AccountKind::Cosmos,
            json!({"location": "westus", "kind": "Other", "properties": offer}),
        ),
        (
            AccountKind::Cosmos,
            json!({"location": "westus", "kind": null, "properties": offer}),
        ),
        (
            AccountKind::Cosmos,
            json!({"location": "westus", "kind": 5, "properties": offer}),
        ),
        (
            AccountKind::Cosmos,
            json!({"location": "westus", "properties": {"databaseAccountOfferType": "Standard", "disableLocalAuth": null}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"location": "westus", "properties": {"databaseAccountOfferType": "Standard", "disableLocalAuth": "yes"}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"location": "westus", "properties": {"databaseAccountOfferType": "Standard", "disableLocalAuth": true}}),
        ),
        (
            AccountKind::Cosmos,
            json!({"location": "westus", "tags": {"a": 1}, "properties": offer}),
        ),
        (AccountKind::Batch, json!({"location": "westus"})),
        (AccountKind::Batch, json!({})),
        (
            AccountKind::Batch,
            json!({"location": "westus", "sku": [1], "kind": 5}),
        ),
        (
            AccountKind::Ai,
            json!({"location": "westus", "kind": "AIServices", "sku": {"name": "S0"}}),
        ),
        (
            AccountKind::Ai,
            json!({"location": "westus", "sku": {"name": "S0"}}),
        ),
        (
            AccountKind::Ai,
            json!({"location": "westus", "kind": "", "sku": {"name": "S0"}}),
        ),
        (
            AccountKind::Ai,
            json!({"location": "westus", "kind": null, "sku": {"name": "S0"}}),
        ),
        (
            AccountKind::Ai,
            json!({"location": "westus", "kind": 5, "sku": {"name": "S0"}}),
        ),
        (
            AccountKind::Ai,
            json!({"location": "westus", "kind": "AIServices"}),
        ),
        (
            AccountKind::Ai,
            json!({"location": "westus", "kind": "AIServices", "sku": null}),
        ),
        (
            AccountKind::Ai,
            json!({"location": "westus", "kind": "AIServices", "sku": ["S0"]}),
        ),
        (
            AccountKind::Ai,
            json!({"location": "westus", "kind": "AIServices", "sku": {"name": 5}}),
        ),
        (
            AccountKind::Ai,
            json!({"location": "westus", "kind": "AIServices", "sku": {"tier": "x"}}),
        ),
        (
            AccountKind::Ai,
            json!({"location": "westus", "kind": "AIServices", "sku": "S0"}),
        ),
    ];
    for (i, (kind, b)) in puts.iter().enumerate() {
        push(
            format!("account_put/{i}/{kind}"),
            outcome(dto::account_put(*kind, &bytes(b)), |r| render(&r)),
        );
    }
    let assignments = [
        json!({"properties": {"roleDefinitionId": "Reader", "principalId": "p", "principalType": "ServicePrincipal"}}),
        json!({"properties": {"roleDefinitionId": "Reader", "principalId": "p", "principalType": "servicePRINCIPAL"}}),
        json!({"properties": {"roleDefinitionId": "Reader", "principalId": "p", "principalType": 5}}),
        json!({"properties": {"roleDefinitionId": "Reader", "principalId": "p", "principalType": "User"}}),
        json!({}),
        json!({"properties": null}),
        json!({"properties": "x"}),
        json!({"properties": ["Reader", "p"]}),
        json!({"properties": {"roleDefinitionId": 5, "principalId": "p"}}),
        json!({"properties": {"roleDefinitionId": "", "principalId": "p"}}),
        json!({"properties": {"principalId": "p"}}),
        json!({"properties": {"roleDefinitionId": "Reader"}}),
        json!({"properties": {"roleDefinitionId": "Reader", "principalId": null}}),
    ];
    for (i, b) in assignments.iter().enumerate() {
        push(
            format!("role_assignment_request/{i}"),
            outcome(dto::role_assignment_request(&bytes(b)), |r| json!(r)),
        );
    }
    let now = t(0);
    let principals = [
        json!({"displayName": "app"}),
        json!({"displayName": "app", "expiresInSeconds": 60}),
        json!({"displayName": "app", "expiresInSeconds": 0}),
        json!({"displayName": "app", "expiresInSeconds": "60"}),
        json!({}),
        json!({"displayName": null}),
        json!({"displayName": 5}),
    ];
    for (i, b) in principals.iter().enumerate() {
        push(
            format!("create_principal/{i}"),
            outcome(dto::create_principal(&bytes(b), now), |(n, e)| {
                json!([n, e.map(dto::rfc3339)])
            }),
        );
    }
    push(
        "add_secret/empty".into(),
        outcome(dto::add_secret(b"", now), |e| json!(e.map(dto::rfc3339))),
    );
    for (i, b) in [json!({"secretId": "s1"}), json!({}), json!({"secretId": 5})]
        .iter()
        .enumerate()
    {
        push(
            format!("remove_secret/{i}"),
            outcome(dto::remove_secret(&bytes(b)), |s| json!(s)),
        );
    }
    push(
        "rotation_at/empty".into(),
        outcome(dto::rotation_at(b""), |a| json!(a)),
    );
    for (i, b) in [
        json!({}),
        json!({"at": "2030-01-01T00:00:00Z"}),
        json!({"at": 5}),
    ]
    .iter()
    .enumerate()
    {
        push(
            format!("rotation_at/{i}"),
            outcome(dto::rotation_at(&bytes(b)), |a| json!(a)),
        );
    }
    out
}
