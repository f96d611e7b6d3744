//! In-process tests of ARM token checks with a clock the test moves:
//! expired, not-yet-valid, other tenant, other audience, other issuer.
//! Each answers 401 in ARM shape and changes nothing.

mod common;

use std::sync::{Arc, Mutex};

use axum::body::Body;
use http::{Request, StatusCode};
use keyrotor_arm::{ArmState, Endpoints};
use keyrotor_identity::{generate_signing_key, TokenIssuer};
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_types::Clock;
use serde_json::Value;
use time::OffsetDateTime;

struct ManualClock(Mutex<OffsetDateTime>);

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ManualClock {
    fn advance(&self, d: time::Duration) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += d;
    }
}

struct Env {
    _tmp: tempfile::TempDir,
    app: axum::Router,
    state: Arc<ArmState>,
    clock: Arc<ManualClock>,
    key: (String, Vec<u8>),
}

const URL: &str = "https://127.0.0.1:8443";

fn env() -> Env {
    let tmp = keyrotor_testkit::scratch();
    let clock = Arc::new(ManualClock(Mutex::new(OffsetDateTime::now_utc())));
    let keyrotor_testkit::Env { core, dir } = keyrotor_testkit::Env::with_clock(
        Arc::new(SqliteStore::open(&tmp.path().join("db")).expect("store")),
        Arc::new(keyrotor_core::ledger::MemoryLedger::default()),
        clock.clone(),
    );
    let key = generate_signing_key().expect("a signing key");
    let issuer = TokenIssuer::new(
        format!("{URL}/{}/v2.0", dir.tenant_id),
        &[(key.0.clone(), &key.1)],
    )
    .expect("an issuer");
    let state = Arc::new(ArmState::new(
        core,
        Arc::new(keyrotor_core::UsageRecorder::new()),
        dir,
        Endpoints::new(URL, None),
        issuer,
    ));
    Env {
        _tmp: tmp,
        app: keyrotor_arm::router(state.clone()),
        state,
        clock,
        key,
    }
}

impl Env {
    fn token_with(&self, tenant: &str, audience: &str, issuer: &TokenIssuer) -> String {
        issuer
            .issue(
                tenant,
                &self.state.dir.admin_client_id,
                audience,
                self.clock.now(),
                3600,
            )
            .expect("a token")
            .0
            .expose()
            .to_string()
    }

    fn token(&self) -> String {
        self.token_with(
            &self.state.dir.tenant_id.clone(),
            "https://management.azure.com/",
            &self.state.issuer(),
        )
    }

    async fn call(&self, method: &str, path: &str, token: &str, body: &str) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(format!("{path}?api-version=2025-04-01"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .expect("a valid request");
        common::send(&self.app, req).await
    }

    fn group_path(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourcegroups/{name}",
            self.state.dir.subscription_id
        )
    }
}

fn assert_401(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        body["error"]["code"], "InvalidAuthenticationToken",
        "{body}"
    );
}

#[tokio::test]
async fn expired_and_future_tokens_are_refused() {
    let e = env();
    let token = e.token();
    let (s, _) = e
        .call(
            "PUT",
            &e.group_path("rg1"),
            &token,
            r#"{"location":"westus"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    e.clock.advance(time::Duration::hours(2));
    let (s, b) = e.call("DELETE", &e.group_path("rg1"), &token, "").await;
    assert_401(s, &b);
    // Nothing changed: a fresh token still sees the group.
    let (s, _) = e.call("GET", &e.group_path("rg1"), &e.token(), "").await;
    assert_eq!(s, StatusCode::OK);
    // A token issued "in the future" (clock skew beyond 5 minutes).
    let future = e.token();
    e.clock.advance(time::Duration::hours(-1));
    let (s, b) = e.call("DELETE", &e.group_path("rg1"), &future, "").await;
    assert_401(s, &b);
}

#[tokio::test]
async fn other_tenant_audience_and_issuer_are_refused() {
    let e = env();
    let own = e.state.issuer();
    let other_tenant = e.token_with(
        "00000000-0000-0000-0000-000000000000",
        "https://management.azure.com/",
        &own,
    );
    let other_audience = e.token_with(
        &e.state.dir.tenant_id.clone(),
        "https://vault.azure.net",
        &own,
    );
    let foreign_key = generate_signing_key().expect("a signing key");
    let foreign = TokenIssuer::new(
        own.issuer().to_string(),
        &[(e.key.0.clone(), &foreign_key.1)],
    )
    .expect("an issuer");
    let forged_same_kid = e.token_with(
        &e.state.dir.tenant_id.clone(),
        "https://management.azure.com/",
        &foreign,
    );
    let other_issuer = TokenIssuer::new(
        "https://evil.example/t/v2.0".into(),
        &[(e.key.0.clone(), &e.key.1)],
    )
    .expect("an issuer");
    let wrong_iss = e.token_with(
        &e.state.dir.tenant_id.clone(),
        "https://management.azure.com/",
        &other_issuer,
    );
    for t in [other_tenant, other_audience, forged_same_kid, wrong_iss] {
        let (s, b) = e
            .call("PUT", &e.group_path("rg2"), &t, r#"{"location":"westus"}"#)
            .await;
        assert_401(s, &b);
    }
    let (s, _) = e.call("GET", &e.group_path("rg2"), &e.token(), "").await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a refused request created the group"
    );
}

#[tokio::test]
async fn signing_key_rotation_keeps_old_tokens_valid() {
    let e = env();
    let old = e.token();
    let new_key = generate_signing_key().expect("a signing key");
    let issuer = TokenIssuer::new(
        e.state.issuer_name(),
        &[(e.key.0.clone(), &e.key.1), (new_key.0.clone(), &new_key.1)],
    )
    .expect("an issuer with both keys");
    e.state.set_issuer(issuer);
    let (s, _) = e
        .call(
            "PUT",
            &e.group_path("rg3"),
            &old,
            r#"{"location":"westus"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = e.call("GET", &e.group_path("rg3"), &e.token(), "").await;
    assert_eq!(s, StatusCode::OK);
}

/// `/metadata/endpoints` names the vault DNS suffix vaults really live
/// under, so `az keyvault … --vault-name` reaches this service (it said
/// `vault.azure.net` while vaults were at `vault.localhost`).
#[tokio::test]
async fn metadata_advertises_the_vault_suffix_in_use() {
    let e = env();
    let (s, v) = e.call("GET", "/metadata/endpoints", "", "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["suffixes"]["keyVaultDns"], "vault.localhost:8443", "{v}");
    let vault = e.state.endpoints.vault("kv1");
    assert_eq!(
        vault,
        format!(
            "https://kv1.{}/",
            v["suffixes"]["keyVaultDns"].as_str().unwrap_or_default()
        )
    );
}
