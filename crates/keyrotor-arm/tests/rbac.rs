//! The authorization table: every ARM route, called by principals holding
//! each built-in control-plane role at different scopes. A denied call is a
//! 403 `AuthorizationFailed` in ARM shape and changes nothing (the audit log
//! does not grow); an allowed call is never a 403. The table is checked
//! against `Operation::ALL` (which a new `Operation` variant cannot miss: see
//! `operation_names!` in src/operation.rs) before anything runs, so a new
//! route cannot go untested.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use keyrotor_arm::operation::{split_path, Operation, OperationName};
use keyrotor_arm::{ArmState, Endpoints};
use keyrotor_core::{Actor, Keyrotor};
use keyrotor_identity::{generate_signing_key, TokenIssuer};
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_types::{AccountKind, SystemClock};
use serde_json::{json, Value};

const URL: &str = "https://127.0.0.1:8443";

/// Principals of the table, in column order.
const WHO: [&str; 6] = ["none", "reader", "keyop", "contrib", "owner", "admin"];

struct Env {
    _tmp: tempfile::TempDir,
    app: axum::Router,
    state: Arc<ArmState>,
    core: Arc<Keyrotor>,
    ids: BTreeMap<&'static str, String>,
}

impl Env {
    fn token(&self, who: &str) -> String {
        self.state
            .issuer()
            .issue(
                &self.state.dir.tenant_id,
                &self.ids[who],
                "https://management.azure.com/",
                self.core.now(),
                3600,
            )
            .expect("a token")
            .0
            .expose()
            .to_string()
    }

    async fn call(
        &self,
        who: &str,
        method: &Method,
        path: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let sep = if path.contains('?') { '&' } else { '?' };
        let req = Request::builder()
            .method(method.clone())
            .uri(format!("{path}{sep}api-version=2022-04-01"))
            .header("authorization", format!("Bearer {}", self.token(who)))
            .header("content-type", "application/json")
            .body(Body::from(if body.is_null() {
                String::new()
            } else {
                body.to_string()
            }))
            .expect("a valid request");
        common::send(&self.app, req).await
    }

    /// How many changes the activity log records (refused attempts are
    /// entries too, with status Failed; they change nothing).
    fn audit_len(&self) -> usize {
        self.core
            .audit_events(100_000)
            .expect("the audit log reads")
            .iter()
            .filter(|e| e.status == keyrotor_core::activity::ActivityStatus::Succeeded)
            .count()
    }
}

async fn env() -> Env {
    let tmp = tempfile::tempdir().expect("temp dir");
    let kit = keyrotor_testkit::Env::with_clock(
        Arc::new(SqliteStore::open(&tmp.path().join("db")).expect("the store opens")),
        Arc::new(keyrotor_core::ledger::MemoryLedger::default()),
        Arc::new(SystemClock),
    );
    for (kind, name) in [
        (AccountKind::Cosmos, "cos1"),
        (AccountKind::Batch, "bat1"),
        (AccountKind::Ai, "ai01"),
    ] {
        kit.account(kind, "rg1", name);
    }
    let keyrotor_testkit::Env { core, dir } = kit;
    let key = generate_signing_key().expect("a signing key");
    let issuer = TokenIssuer::new(format!("{URL}/{}/v2.0", dir.tenant_id), &[(key.0, &key.1)])
        .expect("an issuer");
    let actor = Actor::new("test");
    let mut ids = BTreeMap::new();
    ids.insert("admin", dir.admin_client_id.clone());
    let sub = format!("/subscriptions/{}", dir.subscription_id);
    let rg_scope = format!("{sub}/resourceGroups/rg1");
    for (who, role, scope) in [
        ("none", None, ""),
        ("reader", Some("Reader"), sub.as_str()),
        ("keyop", Some("Keyrotor Key Operator"), rg_scope.as_str()),
        ("contrib", Some("Contributor"), rg_scope.as_str()),
        ("owner", Some("Owner"), sub.as_str()),
        ("extra", None, ""),
    ] {
        let (p, _, _) = core
            .create_principal(&actor, who, None)
            .expect("the principal is created");
        if let Some(role) = role {
            let name = keyrotor_crypto::random_guid().expect("a GUID");
            core.create_role_assignment(&dir, &actor, &name, scope, &p.client_id, role)
                .expect("the role is assigned");
        }
        ids.insert(who, p.client_id);
    }
    let state = Arc::new(ArmState::new(
        core.clone(),
        Arc::new(keyrotor_core::UsageRecorder::new()),
        dir,
        Endpoints::new(URL, None),
        issuer,
    ));
    Env {
        _tmp: tmp,
        app: keyrotor_arm::router(state.clone()),
        state,
        core,
        ids,
    }
}

#[tokio::test]
async fn every_route_against_every_role() {
    let e = env().await;
    let sub = format!("/subscriptions/{}", e.state.dir.subscription_id);
    let rg = format!("{sub}/resourceGroups/rg1");
    let cosmos = format!("{rg}/providers/Microsoft.DocumentDB/databaseAccounts/cos1");
    let batch = format!("{rg}/providers/Microsoft.Batch/batchAccounts/bat1");
    let ai = format!("{rg}/providers/Microsoft.CognitiveServices/accounts/ai01");
    let vault = format!("{rg}/providers/Microsoft.KeyVault/vaults/kv-rbac");
    let ra = "0b7c3a8e-1f7e-4d8e-9a52-6c1d2e3f4a5b";
    let new_principal = e.ids["extra"].clone();
    let reader_role =
        "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7";
    let cosmos_body = json!({"location": "westus", "kind": "GlobalDocumentDB",
        "properties": {"databaseAccountOfferType": "Standard", "locations": [{"locationName": "westus"}]}});
    let unknown = "11111111-2222-3333-4444-555555555555";
    // (method, path, body, allowed for [none, reader, keyop, contrib, owner, admin]).
    // Lists answer every caller (filtered); tenant-level identity operations
    // need an assignment at the root scope, which only the bootstrap
    // administrator holds here. A principal's secrets and its deletion are
    // its owners' (none of the table's principals owns `unknown`), see
    // `principal_credentials_belong_to_their_owners`.
    let all = "NRKCOA";
    let rows: Vec<(Method, String, Value, &str)> = vec![
        (Method::GET, "/subscriptions".into(), Value::Null, all),
        (Method::GET, sub.clone(), Value::Null, "-R--OA"),
        (Method::GET, format!("{sub}/providers/Microsoft.DocumentDB"), Value::Null, "-R--OA"),
        (Method::POST, format!("{sub}/providers/Microsoft.DocumentDB/register"), Value::Null, "----OA"),
        (Method::GET, format!("{sub}/resourcegroups"), Value::Null, all),
        (Method::GET, format!("{sub}/resources"), Value::Null, all),
        (Method::PUT, rg.clone(), json!({"location": "westus"}), "---COA"),
        (Method::GET, rg.clone(), Value::Null, "-RKCOA"),
        (Method::HEAD, rg.clone(), Value::Null, "-RKCOA"),
        (Method::PATCH, rg.clone(), json!({"tags": {"a": "b"}}), "---COA"),
        (Method::GET, format!("{sub}/providers/Microsoft.DocumentDB/databaseAccounts"), Value::Null, all),
        (Method::GET, format!("{rg}/providers/Microsoft.Batch/batchAccounts"), Value::Null, all),
        (Method::PUT, cosmos.clone(), cosmos_body.clone(), "---COA"),
        (Method::PATCH, cosmos.clone(), json!({"tags": {"x": "y"}}), "---COA"),
        (Method::GET, cosmos.clone(), Value::Null, "-RKCOA"),
        (Method::GET, batch.clone(), Value::Null, "-RKCOA"),
        (Method::POST, format!("{cosmos}/listKeys"), Value::Null, "--KCOA"),
        (Method::POST, format!("{batch}/listKeys"), Value::Null, "--KCOA"),
        (Method::POST, format!("{ai}/listKeys"), Value::Null, "--KCOA"),
        (Method::POST, format!("{cosmos}/readonlykeys"), Value::Null, "--KCOA"),
        (Method::POST, format!("{cosmos}/regenerateKey"), json!({"keyKind": "secondary"}), "--KCOA"),
        (Method::POST, format!("{batch}/regenerateKeys"), json!({"keyName": "Secondary"}), "--KCOA"),
        (Method::POST, format!("{ai}/regenerateKey"), json!({"keyName": "Key2"}), "--KCOA"),
        (Method::POST, format!("{cosmos}/listConnectionStrings"), Value::Null, "--KCOA"),
        (Method::POST, format!("{ai}/listKeyUsage"), Value::Null, "--KCOA"),
        (Method::HEAD, "/providers/Microsoft.DocumentDB/databaseAccountNames/cos1".into(), Value::Null, all),
        (Method::GET, "/providers/Keyrotor.Identity/servicePrincipals".into(), Value::Null, "-----A"),
        (Method::POST, "/providers/Keyrotor.Identity/servicePrincipals".into(), json!({"displayName": "x"}), "-----A"),
        (Method::POST, format!("/providers/Keyrotor.Identity/servicePrincipals/{unknown}/addSecret"), json!({}), "-----A"),
        (Method::POST, format!("/providers/Keyrotor.Identity/servicePrincipals/{unknown}/removeSecret"), json!({"secretId": unknown}), "-----A"),
        (Method::DELETE, format!("/providers/Keyrotor.Identity/servicePrincipals/{unknown}"), Value::Null, "-----A"),
        (Method::POST, "/providers/Keyrotor.Identity/signingKeys/rotate".into(), Value::Null, "-----A"),
        (Method::GET, "/providers/Keyrotor.Identity/signingKeys".into(), Value::Null, "-----A"),
        (Method::POST, "/providers/Keyrotor.Vault/rotationPolicies/run".into(), Value::Null, "-----A"),
        (Method::GET, format!("{sub}/providers/Microsoft.Authorization/roleAssignments"), Value::Null, "-R--OA"),
        (Method::GET, format!("{rg}/providers/Microsoft.Authorization/roleAssignments"), Value::Null, "-RKCOA"),
        (Method::PUT, format!("{rg}/providers/Microsoft.Authorization/roleAssignments/{ra}"),
            json!({"properties": {"roleDefinitionId": reader_role, "principalId": new_principal}}), "----OA"),
        (Method::GET, format!("{rg}/providers/Microsoft.Authorization/roleAssignments/{ra}"), Value::Null, "-RKCOA"),
        (Method::DELETE, format!("{rg}/providers/Microsoft.Authorization/roleAssignments/{ra}"), Value::Null, "----OA"),
        (Method::GET, format!("{sub}/providers/Microsoft.Authorization/roleDefinitions"), Value::Null, all),
        (Method::GET, format!("{sub}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"), Value::Null, all),
        (Method::PUT, vault.clone(), json!({"location": "westus", "properties": {"tenantId": "t", "sku": {"family": "A", "name": "standard"}, "softDeleteRetentionInDays": 7}}), "---COA"),
        (Method::PATCH, vault.clone(), json!({"tags": {"k": "v"}}), "---COA"),
        (Method::GET, vault.clone(), Value::Null, "-RKCOA"),
        (Method::GET, format!("{rg}/providers/Microsoft.KeyVault/vaults"), Value::Null, all),
        (Method::GET, format!("{sub}/providers/Microsoft.KeyVault/vaults"), Value::Null, all),
        (Method::DELETE, vault.clone(), Value::Null, "---COA"),
        (Method::GET, format!("{sub}/providers/Microsoft.KeyVault/deletedVaults"), Value::Null, "-R--OA"),
        (Method::GET, format!("{sub}/providers/Microsoft.KeyVault/locations/westus/deletedVaults/kv-rbac"), Value::Null, "-R--OA"),
        (Method::POST, format!("{sub}/providers/Microsoft.KeyVault/locations/westus/deletedVaults/kv-rbac/purge"), Value::Null, "----OA"),
        (Method::GET, format!("{sub}/providers/Microsoft.KeyVault/deletedManagedHSMs"), Value::Null, "-R--OA"),
        (Method::GET, format!("{sub}/providers/Microsoft.Insights/eventtypes/management/values"), Value::Null, "-R--OA"),
        (Method::DELETE, ai.clone(), Value::Null, "---COA"),
        (Method::DELETE, rg.clone(), Value::Null, "---COA"),
    ];
    // Every row's operation, then every operation's rows: each operation
    // needs at least one sample request before anything is called.
    let ops: Vec<Operation> = rows
        .iter()
        .map(|(method, path, _, _)| {
            let segs = split_path(path).unwrap_or_else(|| panic!("{path} splits"));
            Operation::parse(method, &segs).unwrap_or_else(|u| panic!("{method} {path}: {u:?}"))
        })
        .collect();
    let mut samples: BTreeMap<OperationName, usize> = BTreeMap::new();
    for op in &ops {
        // `name()` is the variant's own name (as Debug spells it), not another's.
        let debug = format!("{op:?}");
        let rest = debug.strip_prefix(op.name().as_str());
        assert!(
            rest.is_some_and(|r| !r.starts_with(|c: char| c.is_alphanumeric())),
            "{debug} is named {:?}",
            op.name()
        );
        *samples.entry(op.name()).or_default() += 1;
    }
    let missing: Vec<&str> = Operation::ALL
        .iter()
        .filter(|name| !samples.contains_key(name))
        .map(|name| name.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "operations without a sample request in the table: {missing:?}"
    );
    for ((method, path, body, allowed), op) in rows.iter().zip(&ops) {
        for (i, who) in WHO.iter().enumerate() {
            let allow = allowed.as_bytes()[i] != b'-';
            let before = e.audit_len();
            let (status, v) = e.call(who, method, path, body).await;
            if allow {
                assert_ne!(status, StatusCode::FORBIDDEN, "{who} {method} {path}: {v}");
                assert_ne!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{who} {method} {path}: {v}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{who} {method} {path}: {v}");
                if *method != Method::HEAD {
                    assert_eq!(
                        v["error"]["code"], "AuthorizationFailed",
                        "{who} {method} {path}"
                    );
                    let msg = v["error"]["message"].as_str().unwrap_or_default();
                    if op.owner_checked() {
                        assert!(msg.contains("owner"), "{msg}");
                    } else {
                        assert!(msg.contains(&op.required_action()), "{msg}");
                    }
                }
                assert_eq!(e.audit_len(), before, "{who} {method} {path} changed state");
            }
        }
    }
}

#[tokio::test]
async fn lists_show_only_what_the_caller_may_read() {
    let e = env().await;
    let sub = format!("/subscriptions/{}", e.state.dir.subscription_id);
    let (s, v) = e
        .call("none", &Method::GET, "/subscriptions", &Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["value"].as_array().map(Vec::len), Some(0), "{v}");
    let (_, v) = e
        .call(
            "keyop",
            &Method::GET,
            &format!("{sub}/resourcegroups"),
            &Value::Null,
        )
        .await;
    assert_eq!(v["value"].as_array().map(Vec::len), Some(1), "{v}");
    let (_, v) = e
        .call(
            "none",
            &Method::GET,
            &format!("{sub}/resourcegroups"),
            &Value::Null,
        )
        .await;
    assert_eq!(v["value"].as_array().map(Vec::len), Some(0), "{v}");
    let (_, v) = e
        .call(
            "keyop",
            &Method::GET,
            &format!("{sub}/providers/Microsoft.DocumentDB/databaseAccounts"),
            &Value::Null,
        )
        .await;
    assert_eq!(v["value"].as_array().map(Vec::len), Some(1), "{v}");
}

#[tokio::test]
async fn assignments_are_validated_and_revoked_with_their_scope() {
    let e = env().await;
    let sub = format!("/subscriptions/{}", e.state.dir.subscription_id);
    let rg = format!("{sub}/resourceGroups/rg1");
    let ra = |scope: &str, name: &str| {
        format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}")
    };
    let g1 = "5f6b2b1e-0c3a-4d7e-8f90-112233445566";
    let body =
        |role: &str, p: &str| json!({"properties": {"roleDefinitionId": role, "principalId": p}});
    let none = e.ids["none"].clone();
    let before = e.audit_len();
    for (path, b, code) in [
        (
            ra(&rg, "not-a-guid"),
            body("Reader", &none),
            "InvalidRequestContent",
        ),
        (
            ra(&rg, g1),
            body("No Such Role", &none),
            "RoleDefinitionDoesNotExist",
        ),
        (
            ra(&rg, g1),
            body("Reader", "99999999-9999-9999-9999-999999999999"),
            "PrincipalNotFound",
        ),
        (
            ra("/subscriptions/00000000-0000-0000-0000-00000000dead", g1),
            body("Reader", &none),
            "InvalidRequestContent",
        ),
        (
            ra(&rg, g1),
            json!({"properties": {"principalId": none}}),
            "InvalidParameter",
        ),
        (ra(&rg, g1), json!([1]), "InvalidRequestContent"),
    ] {
        let (s, v) = e.call("admin", &Method::PUT, &path, &b).await;
        assert!(s.is_client_error(), "{path}: {s} {v}");
        assert_eq!(v["error"]["code"], code, "{path}: {v}");
    }
    assert_eq!(e.audit_len(), before, "refused assignments changed state");
    // The Reader role by name, then the same triple under another name: 409.
    let (s, v) = e
        .call("admin", &Method::PUT, &ra(&rg, g1), &body("Reader", &none))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["properties"]["principalId"], none.as_str());
    let (s, _) = e
        .call("admin", &Method::PUT, &ra(&rg, g1), &body("Reader", &none))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = e
        .call(
            "admin",
            &Method::PUT,
            &ra(&rg, "6f6b2b1e-0c3a-4d7e-8f90-112233445566"),
            &body("Reader", &none),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("RoleAssignmentExists"))
    );
    let (s, _) = e.call("none", &Method::GET, &rg, &Value::Null).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the new Reader assignment takes effect at once"
    );
    let (s, v) = e
        .call("admin", &Method::GET, &format!("{sub}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId%20eq%20%27{none}%27"), &Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["value"].as_array().map(Vec::len), Some(1), "{v}");
    // Deleting the group revokes what was assigned in it: a group created
    // again with the same name inherits nothing.
    let (s, _) = e.call("admin", &Method::DELETE, &rg, &Value::Null).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = e
        .call("admin", &Method::PUT, &rg, &json!({"location": "westus"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = e.call("none", &Method::GET, &rg, &Value::Null).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = e.call("keyop", &Method::GET, &rg, &Value::Null).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// Security finding 3: a Contributor at `/` added a secret to the bootstrap
/// administrator, signed in as it, made itself Owner and removed the
/// administrator's own secret. Credential management is an owner's
/// privilege, never a role's; the administrator's own is nobody's through
/// the API.
#[tokio::test]
async fn principal_credentials_belong_to_their_owners() {
    let e = env().await;
    let dir = &e.state.dir;
    let admin = e.ids["admin"].clone();
    let (rc, _, _) = e
        .core
        .create_principal(&Actor::new("test"), "root contributor", None)
        .expect("principal");
    let name = keyrotor_crypto::random_guid().expect("guid");
    e.core
        .create_role_assignment(
            dir,
            &Actor::new("test"),
            &name,
            "/",
            &rc.client_id,
            "Contributor",
        )
        .expect("assignment");
    let mut e = e;
    e.ids.insert("rootcontrib", rc.client_id.clone());
    let sp = "/providers/Keyrotor.Identity/servicePrincipals";
    let before = e.audit_len();
    // The escalation chain of the finding, refused at its first step.
    for who in ["rootcontrib", "owner", "admin"] {
        let (s, v) = e
            .call(
                who,
                &Method::POST,
                &format!("{sp}/{admin}/addSecret"),
                &json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
        assert_eq!(v["error"]["code"], "AuthorizationFailed");
        assert!(v.to_string().contains("keyrotor admin reset-secret"), "{v}");
        let (s, _) = e
            .call(
                who,
                &Method::POST,
                &format!("{sp}/{admin}/removeSecret"),
                &json!({"secretId": "11111111-2222-3333-4444-555555555555"}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
        let (s, _) = e
            .call(who, &Method::DELETE, &format!("{sp}/{admin}"), &Value::Null)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
    }
    // Nor may a root Contributor rotate the tenant's signing key, or assign roles.
    let (s, _) = e
        .call(
            "rootcontrib",
            &Method::POST,
            "/providers/Keyrotor.Identity/signingKeys/rotate",
            &Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let ra =
        "/providers/Microsoft.Authorization/roleAssignments/7b7c3a8e-1f7e-4d8e-9a52-6c1d2e3f4a5b";
    let owner_role =
        "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
    let (s, _) = e
        .call(
            "rootcontrib",
            &Method::PUT,
            ra,
            &json!({"properties": {"roleDefinitionId": owner_role, "principalId": rc.client_id}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(e.audit_len(), before, "refused calls changed state");

    // A principal the root Contributor creates is its own to manage...
    let (s, v) = e
        .call(
            "rootcontrib",
            &Method::POST,
            sp,
            &json!({"displayName": "app"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let app = v["appId"]
        .as_str()
        .or(v["clientId"].as_str())
        .expect("client id")
        .to_string();
    let (s, v) = e
        .call(
            "rootcontrib",
            &Method::POST,
            &format!("{sp}/{app}/addSecret"),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let added = v["secretId"]
        .as_str()
        .or(v["keyId"].as_str())
        .expect("secret id")
        .to_string();
    // ...not an Owner's of the subscription (roles do not grant it)...
    for who in ["owner", "contrib", "keyop", "none"] {
        let (s, v) = e
            .call(
                who,
                &Method::POST,
                &format!("{sp}/{app}/addSecret"),
                &json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
        let (s, _) = e
            .call(who, &Method::DELETE, &format!("{sp}/{app}"), &Value::Null)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
    }
    // ...and the administrator's, as the tenant's administrator.
    let (s, _) = e
        .call(
            "admin",
            &Method::POST,
            &format!("{sp}/{app}/addSecret"),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = e
        .call(
            "rootcontrib",
            &Method::POST,
            &format!("{sp}/{app}/removeSecret"),
            &json!({"secretId": added}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = e
        .call(
            "rootcontrib",
            &Method::DELETE,
            &format!("{sp}/{app}"),
            &Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // A deleted owner owns nothing, even with a token that has not expired.
    let (s, v) = e
        .call(
            "rootcontrib",
            &Method::POST,
            sp,
            &json!({"displayName": "app2"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let app2 = v["clientId"].as_str().expect("client id").to_string();
    let token = e.token("rootcontrib");
    let (s, _) = e
        .call(
            "admin",
            &Method::DELETE,
            &format!("{sp}/{}", rc.client_id),
            &Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("{sp}/{app2}/addSecret?api-version=2022-04-01"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .expect("request");
    let (s, v) = common::send(&e.app, req).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    // Unknown principals: 404 for the administrator, 403 for anybody else
    // (no oracle for which client ids exist).
    let unknown = "22222222-2222-3333-4444-555555555555";
    let (s, _) = e
        .call(
            "admin",
            &Method::POST,
            &format!("{sp}/{unknown}/addSecret"),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = e
        .call(
            "rootcontrib",
            &Method::POST,
            &format!("{sp}/{unknown}/addSecret"),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// `.` and `..` segments are refused in ARM's shape (400), never resolved
/// and never a 501.
#[tokio::test]
async fn dot_segments_answer_400() {
    let e = env().await;
    let sub = format!("/subscriptions/{}", e.state.dir.subscription_id);
    for path in [
        format!("{sub}/resourceGroups/rg1/../rg2"),
        format!("{sub}/resourceGroups/%2e%2e/providers/Microsoft.DocumentDB/databaseAccounts/cos1/listKeys"),
        format!("{sub}/./resourceGroups/rg1"),
    ] {
        let (s, v) = e.call("admin", &Method::GET, &path, &Value::Null).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {v}");
        assert_eq!(v["error"]["code"], "InvalidRequestUri", "{path}");
    }
}
