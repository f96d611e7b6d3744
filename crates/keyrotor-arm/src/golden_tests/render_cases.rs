//! What every body dto renders for fixed inputs.

use super::*;

/// The time of the rendered answers (`t(0)`).
const NOW: i64 = 1_700_000_000;

/// Every case: a name and the JSON it produces, as the wire sees it
/// (`serde_json::Value`, keys in order).
pub(super) fn cases() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut push = |name: &str, v: Value| out.push((name.to_string(), v));
    let ep = Endpoints::new("https://127.0.0.1:8443", None);
    let ep_host = Endpoints::new("https://kr.example.com:8443", Some("kr.example.com".into()));
    let dir = Directory {
        tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
        subscription_id: sub(),
        admin_client_id: "admin-client".into(),
    };
    push("subscription", render(&dto::subscription(&dir)));
    let rg = ResourceGroup {
        subscription: sub(),
        name: group(),
        location: "westus".into(),
        tags: tags(),
        created_at: t(0),
    };
    push("resource_group", render(&dto::resource_group(&rg)));
    push(
        "resource_group/no-tags",
        render(&dto::resource_group(&ResourceGroup {
            tags: BTreeMap::new(),
            ..rg.clone()
        })),
    );

    // Accounts: stored documents as clients leave them.
    let documents: Vec<(&str, AccountKind, &str, Value)> = vec![
        ("cosmos/empty", AccountKind::Cosmos, "cos1", Value::Null),
        (
            "cosmos/full",
            AccountKind::Cosmos,
            "cos1",
            json!({"kind": "MongoDB", "identity": {"type": "SystemAssigned"},
            "properties": {
                "databaseAccountOfferType": "Standard",
                "locations": [
                    {"locationName": "East US 2", "failoverPriority": 1, "isZoneRedundant": true},
                    {"locationName": "westus", "failoverPriority": 0}
                ],
                "consistencyPolicy": {"defaultConsistencyLevel": "Strong"},
                "capabilities": [{"name": "EnableServerless"}],
                "disableLocalAuth": true,
                "localAuthReportOnly": true,
                "localAuthReenabledUntil": null,
                "regenerationGuardMinutes": 15,
                "documentEndpoint": "https://elsewhere/",
                "keysMetadata": {"x": 1},
                "provisioningState": "Creating",
                "publicNetworkAccess": null,
                "somethingNew": {"nested": [1, 2.5, "x", null]}
            }}),
        ),
        (
            "cosmos/odd-locations",
            AccountKind::Cosmos,
            "cos2",
            json!({"kind": null, "identity": null, "properties": {
                "locations": [
                    {"failoverPriority": 0},
                    {"locationName": "North Europe", "failoverPriority": "2", "isZoneRedundant": "yes"},
                    {"locationName": 5},
                    "not an object"
                ],
                "enableAutomaticFailover": true
            }}),
        ),
        (
            "cosmos/locations-not-array",
            AccountKind::Cosmos,
            "cos3",
            json!({"properties": {"locations": {"a": 1}, "disableLocalAuth": null}}),
        ),
        ("batch/empty", AccountKind::Batch, "bat1", Value::Null),
        (
            "batch/full",
            AccountKind::Batch,
            "bat1",
            json!({"identity": {"type": "None"}, "sku": {"name": "ignored"}, "kind": "ignored",
            "properties": {
                "allowedAuthenticationModes": ["AAD"],
                "encryption": null,
                "poolAllocationMode": "UserSubscription",
                "accountEndpoint": "elsewhere",
                "autoStorage": {"storageAccountId": "/x"}
            }}),
        ),
        ("ai/empty", AccountKind::Ai, "ai01", Value::Null),
        (
            "ai/full",
            AccountKind::Ai,
            "ai01",
            json!({"kind": "OpenAI", "sku": {"name": "S0", "tier": "Standard"},
            "properties": {
                "customSubDomainName": "custom",
                "disableLocalAuth": false,
                "upstreamUrl": "https://upstream.example.com",
                "endpoint": "https://elsewhere/",
                "endpoints": {"x": "y"},
                "internalId": "client",
                "dateCreated": "never",
                "networkAcls": {"defaultAction": "Allow"}
            }}),
        ),
        (
            "ai/null-sku",
            AccountKind::Ai,
            "ai02",
            json!({"kind": "AIServices", "sku": null, "properties": {"customSubDomainName": null}}),
        ),
        (
            "ai/not-an-object",
            AccountKind::Ai,
            "ai03",
            json!(["a document that is not an object"]),
        ),
    ];
    for (name, kind, acct, doc) in &documents {
        let a = account(*kind, acct, doc.clone(), tags());
        let infos = key_infos(*kind);
        push(
            &format!("account/{name}"),
            render(&dto::account(&a, &infos, &usage(), &ep, "actor-id", NOW)),
        );
    }
    let cosmos = account(AccountKind::Cosmos, "cos1", Value::Null, BTreeMap::new());
    push(
        "account/cosmos/host-routing-no-usage",
        render(&dto::account(
            &cosmos,
            &key_infos(AccountKind::Cosmos),
            &[],
            &ep_host,
            "actor-id",
            NOW,
        )),
    );
    for (kind, acct) in [(AccountKind::Batch, "bat1"), (AccountKind::Ai, "ai01")] {
        let a = account(kind, acct, Value::Null, BTreeMap::new());
        push(
            &format!("account/{kind}/host-routing"),
            render(&dto::account(&a, &key_infos(kind), &[], &ep_host, "a", NOW)),
        );
    }
    // Break-glass: while it lasts the switch reads "on" (keys are accepted)
    // and localAuthMode says so; after its end the configured "off" is back.
    for (kind, acct, off) in [
        (
            AccountKind::Cosmos,
            "cos1",
            json!({"disableLocalAuth": true}),
        ),
        (
            AccountKind::Batch,
            "bat1",
            json!({"allowedAuthenticationModes": ["AAD"]}),
        ),
        (AccountKind::Ai, "ai01", json!({"disableLocalAuth": true})),
    ] {
        let mut props = off;
        props["localAuthReenabledUntil"] = json!("2023-11-15T00:13:20Z");
        let a = account(kind, acct, json!({ "properties": props }), BTreeMap::new());
        for (when, now) in [("during", NOW), ("after", NOW + 7200)] {
            push(
                &format!("account/{kind}/break-glass-{when}"),
                render(&dto::account(&a, &key_infos(kind), &[], &ep, "a", now)),
            );
        }
    }
    push("account_id/cosmos", json!(dto::account_id(&cosmos)));

    // Keys.
    for (kind, acct) in [
        (AccountKind::Cosmos, "cos1"),
        (AccountKind::Batch, "bat1"),
        (AccountKind::Ai, "ai01"),
    ] {
        let a = account(kind, acct, Value::Null, BTreeMap::new());
        push(&format!("keys/{kind}"), render(&dto::keys(&a, &keys(kind))));
        let partial: Vec<AccountKey> = keys(kind).into_iter().skip(1).collect();
        push(
            &format!("keys/{kind}/missing-first"),
            render(&dto::keys(&a, &partial)),
        );
        for &slot in kind.slots() {
            push(
                &format!("key_name/{kind}/{slot}"),
                json!(dto::key_name(kind, slot)),
            );
        }
        let now = t(7200 + 30);
        push(
            &format!("key_usage/{kind}"),
            render(&dto::key_usage(&a, &key_infos(kind), &usage(), now)),
        );
        let mut v = dto::key_usage(&a, &key_infos(kind), &usage(), now);
        let in_use = vec![keyrotor_core::guard::KeyInUse {
            slot: KeySlot::Primary,
            last_used: t(7200),
            clients: vec![("sdk/1.0".into(), "10.0.0.1".into())],
        }];
        dto::mark_in_use(&mut v, time::Duration::minutes(15), &in_use);
        push(&format!("key_usage/{kind}/guarded"), render(&v));
    }
    push(
        "read_only_keys",
        render(&dto::read_only_keys(&keys(AccountKind::Cosmos))),
    );
    push(
        "read_only_keys/missing",
        render(&dto::read_only_keys(&keys(AccountKind::Cosmos)[..2])),
    );
    push(
        "connection_strings",
        render(&dto::connection_strings(
            &cosmos,
            &keys(AccountKind::Cosmos),
            &ep,
        )),
    );

    // Identity.
    let p = Principal {
        client_id: "c1".into(),
        display_name: "build agent".into(),
        created_at: t(0),
        owner: Some("admin-client".into()),
    };
    let secrets = vec![
        PrincipalSecret {
            secret_id: "s1".into(),
            verifier: "v".into(),
            expires_at: Some(t(86_400)),
            created_at: t(0),
            last_used_at: Some(t(3_600)),
        },
        PrincipalSecret {
            secret_id: "s2".into(),
            verifier: "v".into(),
            expires_at: None,
            created_at: t(60),
            last_used_at: None,
        },
    ];
    push(
        "principal",
        render(&dto::principal(&p, &secrets, "tenant", false)),
    );
    push(
        "principal/bootstrap",
        render(&dto::principal(
            &Principal {
                owner: None,
                ..p.clone()
            },
            &[],
            "tenant",
            true,
        )),
    );
    push(
        "signing_keys",
        render(&crate::wire::List::new(
            [
                keyrotor_core::SigningKeyInfo {
                    kid: "k1".into(),
                    created_at: t(0),
                    superseded_at: Some(t(86_400)),
                },
                keyrotor_core::SigningKeyInfo {
                    kid: "k2".into(),
                    created_at: t(86_400),
                    superseded_at: None,
                },
            ]
            .iter()
            .map(dto::signing_key)
            .collect(),
        )),
    );
    let secret = Secret::new("the-secret".into());
    push("new_secret", render(&dto::new_secret(&secrets[0], &secret)));
    push(
        "new_secret/no-expiry",
        render(&dto::new_secret(&secrets[1], &secret)),
    );

    // Role assignments and definitions.
    let ra = RoleAssignment {
        name: "0b7c3a8e-1f7e-4d8e-9a52-6c1d2e3f4a5b".into(),
        scope: format!("/subscriptions/{SUB}/resourceGroups/rg-Golden"),
        principal_id: "c1".into(),
        role_id: "acdd72a7-3385-48ef-bd42-f606fba81ae7".into(),
        created_at: t(0),
        created_by: "admin-client".into(),
    };
    push(
        "role_assignment",
        render(&dto::role_assignment(&ra, &sub())),
    );
    push(
        "role_assignment/root",
        render(&dto::role_assignment(
            &RoleAssignment {
                scope: "/".into(),
                ..ra.clone()
            },
            &sub(),
        )),
    );
    for (i, r) in BUILTIN_ROLES.iter().enumerate() {
        push(
            &format!("role_definition/{i}"),
            render(&dto::role_definition(r, &format!("/subscriptions/{SUB}"))),
        );
    }
    push(
        "role_definition/root",
        render(&dto::role_definition(&BUILTIN_ROLES[0], "/")),
    );
    push(
        "role_definition_id",
        json!(dto::role_definition_id(&sub(), "guid")),
    );

    // Vaults.
    for (name, doc, pp, deleted) in [
        ("vault/empty", Value::Null, false, false),
        (
            "vault/full",
            json!({"sku": {"family": "A", "name": "premium"}, "accessPolicies": [{"tenantId": "x"}],
                "enableRbacAuthorization": false, "networkAcls": {"bypass": "AzureServices"},
                "enabledForDeployment": true}),
            true,
            false,
        ),
        (
            "vault/null-fields",
            json!({"sku": null, "accessPolicies": null}),
            false,
            true,
        ),
    ] {
        let v = vault(doc, pp, deleted);
        push(name, render(&dto::vault(&v, &ep, "tenant")));
        push(
            &format!("{name}/host"),
            render(&dto::vault(&v, &ep_host, "tenant")),
        );
        push(&format!("deleted_{name}"), render(&dto::deleted_vault(&v)));
    }
    push(
        "vault_id",
        json!(dto::vault_id(&vault(Value::Null, false, false))),
    );
    push("rfc3339", json!(dto::rfc3339(t(0))));
    // Activity-log entries as Azure Monitor's EventData.
    let entry = keyrotor_core::AuditEvent {
        at: t(0),
        actor: "admin-client".into(),
        action: "key.regenerate".into(),
        target: "cosmos/rg1/cos1".into(),
        detail: "primary".into(),
        operation: "Microsoft.DocumentDB/databaseAccounts/regenerateKey/action".into(),
        resource_id: format!(
            "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.DocumentDB/databaseAccounts/cos1"
        ),
        status: keyrotor_core::activity::ActivityStatus::Succeeded,
        http_status: None,
        correlation_id: "3f1d8a6e-0c2b-4e57-9a1d-6b2f0e9c7d41".into(),
    };
    let record = |event: keyrotor_core::AuditEvent, hash: Option<&str>| {
        keyrotor_core::activity::ActivityRecord {
            seq: 42,
            event,
            hash: hash.map(str::to_string),
        }
    };
    push(
        "event_data/succeeded",
        render(&dto::event_data(
            &record(entry.clone(), Some(&"ab".repeat(32))),
            &dir.tenant_id,
        )),
    );
    push(
        "event_data/failed",
        render(&dto::event_data(
            &record(
                keyrotor_core::AuditEvent {
                    status: keyrotor_core::activity::ActivityStatus::Failed,
                    http_status: Some(409),
                    detail: String::new(),
                    ..entry.clone()
                },
                None,
            ),
            &dir.tenant_id,
        )),
    );
    push(
        "event_data/selected",
        render(
            &dto::event_data(&record(entry, None), &dir.tenant_id).select(&[
                "operationName",
                "STATUS",
                "caller",
            ]),
        ),
    );
    out.extend(parse_cases());
    out
}
