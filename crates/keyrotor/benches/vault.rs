//! Key Vault benchmark (`cargo bench -p keyrotor --bench vault`).
//!
//! Prints wrap/unwrap rates for A256KW and RSA-OAEP-256 (2048-bit):
//! * in process, the raw crypto with a parsed key (the limit; the service
//!   keeps parsed key versions in memory, so this is its per-operation cost);
//! * over HTTPS on loopback against the real binary (bearer token, role
//!   check, JSON), 32 requests in flight on keep-alive connections;
//!
//! and the ratio of each to the in-process crypto limit measured in the same
//! run, next to the anchors of ../shared/bench/README.md (AES-KW unwrap
//! 640 ns, RSA-OAEP-256 2048-bit unwrap 244 us per core).

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use keyrotor_crypto::vault::{KeyMaterial, KeySpec, WrapAlg};
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn rate(label: &str, n: usize, f: &mut dyn FnMut(usize)) -> f64 {
    for i in 0..n / 10 {
        f(i);
    }
    let t = Instant::now();
    for i in 0..n {
        f(i);
    }
    let r = n as f64 / t.elapsed().as_secs_f64();
    println!("{label:<52} {r:>10.0} /s  ({:>8.1} us/op)", 1e6 / r);
    r
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // ---- in process: raw crypto (the limit) -------------------------------
    let aes = KeyMaterial::generate(KeySpec::Oct(256)).expect("an AES key");
    let rsa = KeyMaterial::generate(KeySpec::Rsa(2048)).expect("an RSA key");
    let dek = [7u8; 32];
    let aes_ct = aes.wrap(WrapAlg::A256Kw, &dek).expect("wrapping succeeds");
    let rsa_ct = rsa
        .wrap(WrapAlg::RsaOaep256, &dek)
        .expect("wrapping succeeds");
    println!("in process, raw crypto (aws-lc-rs), one core:");
    let lim_aes_wrap = rate("  A256KW wrap", 200_000, &mut |_| {
        let _ = aes.wrap(WrapAlg::A256Kw, &dek);
    });
    let lim_aes_unwrap = rate("  A256KW unwrap", 200_000, &mut |_| {
        let _ = aes.unwrap(WrapAlg::A256Kw, &aes_ct);
    });
    let lim_rsa_wrap = rate("  RSA-OAEP-256 wrap (public key)", 20_000, &mut |_| {
        let _ = rsa.wrap(WrapAlg::RsaOaep256, &dek);
    });
    let lim_rsa_unwrap = rate("  RSA-OAEP-256 unwrap (private key)", 2_000, &mut |_| {
        let _ = rsa.unwrap(WrapAlg::RsaOaep256, &rsa_ct);
    });
    println!(
        "  anchors (../shared/bench): AES-KW unwrap 640 ns = {:.0}/s -> {:.2}x; RSA-OAEP-256 unwrap 244 us = 4,098/s -> {:.2}x",
        1e9 / 640.0,
        lim_aes_unwrap / (1e9 / 640.0),
        lim_rsa_unwrap / 4098.0
    );

    // ---- through the service over HTTPS --------------------------------------
    let tmp = tempfile::tempdir().expect("temp dir");
    let server = common::Server::start(&tmp.path().join("data"), 0);
    let port = server.port;
    let data = server.dir.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !data.join("bootstrap.json").exists() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let b: Value = serde_json::from_str(
            &std::fs::read_to_string(data.join("bootstrap.json")).expect("bootstrap.json"),
        )
        .expect("bootstrap.json is JSON");
        let s = |k: &str| b[k].as_str().unwrap_or_default().to_string();
        let ca = std::fs::read(s("caCert")).expect("the CA certificate");
        let vault_host = "bench.vault.localhost".to_string();
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("a PEM certificate"))
            .resolve(&vault_host, ([127, 0, 0, 1], port).into())
            .pool_max_idle_per_host(64)
            .build()
            .expect("an HTTP client");
        let arm = common::admin_token(&http, &b, "https://management.azure.com/.default").await;
        let base = s("resourceManager");
        let sub = s("subscriptionId");
        let put = |path: String, body: Value| {
            let http = http.clone();
            let arm = arm.clone();
            let base = base.clone();
            async move {
                let r = http
                    .put(format!("{}{path}?api-version=2026-05-15", base.trim_end_matches('/')))
                    .bearer_auth(arm)
                    .json(&body)
                    .send()
                    .await
                    .expect("ARM answers");
                assert!(r.status().is_success(), "{path}: {}", r.status());
                r.json::<Value>().await.unwrap_or_default()
            }
        };
        put(format!("/subscriptions/{sub}/resourcegroups/bench"), json!({"location": "westus"})).await;
        let v = put(
            format!("/subscriptions/{sub}/resourceGroups/bench/providers/Microsoft.KeyVault/vaults/bench"),
            json!({"location": "westus", "properties": {"tenantId": s("tenantId"), "sku": {"family": "A", "name": "standard"}}}),
        )
        .await;
        let vault_id = v["id"].as_str().unwrap_or_default().to_string();
        put(
            format!("{vault_id}/providers/Microsoft.Authorization/roleAssignments/6f0e4a52-1b1d-4c57-9d3b-0a1b2c3d4e5f"),
            json!({"properties": {"roleDefinitionId": "Key Vault Crypto Officer", "principalId": s("clientId")}}),
        )
        .await;
        let uri = v["properties"]["vaultUri"].as_str().unwrap_or_default().trim_end_matches('/').to_string();
        let resource = format!("https://vault.localhost:{port}");
        let kv = common::admin_token(&http, &b, &format!("{resource}/.default")).await;
        let mut kids = Vec::new();
        for (name, body) in [
            ("aes", json!({"kty": "oct-HSM", "key_size": 256})),
            ("rsa", json!({"kty": "RSA", "key_size": 2048})),
        ] {
            let r: Value = http
                .post(format!("{uri}/keys/{name}/create?api-version=2025-07-01"))
                .bearer_auth(&kv)
                .json(&body)
                .send()
                .await
                .expect("the vault answers")
                .json()
                .await
                .expect("a JSON key");
            kids.push(r["key"]["kid"].as_str().unwrap_or_default().to_string());
        }
        let http = Arc::new(http);
        let kv = Arc::new(kv);
        let op = |kid: String, what: &'static str, alg: &'static str, value: String, n: usize, inflight: usize| {
            let http = http.clone();
            let kv = kv.clone();
            async move {
                let t = Instant::now();
                let per = n / inflight;
                let mut tasks = Vec::new();
                for _ in 0..inflight {
                    let (http, kv, kid, value) = (http.clone(), kv.clone(), kid.clone(), value.clone());
                    tasks.push(tokio::spawn(async move {
                        for _ in 0..per {
                            let r = http
                                .post(format!("{kid}/{what}?api-version=2025-07-01"))
                                .bearer_auth(kv.as_str())
                                .json(&json!({"alg": alg, "value": value}))
                                .send()
                                .await
                                .expect("the vault answers");
                            assert!(r.status().is_success(), "{}", r.status());
                            let _ = r.bytes().await;
                        }
                    }));
                }
                for t in tasks {
                    let _ = t.await;
                }
                (per * inflight) as f64 / t.elapsed().as_secs_f64()
            }
        };
        let dek64 = B64.encode(dek);
        let wrap = |kid: String, alg: &'static str| {
            let (http, kv, dek64) = (http.clone(), kv.clone(), dek64.clone());
            async move {
                let v: Value = http
                    .post(format!("{kid}/wrapkey?api-version=2025-07-01"))
                    .bearer_auth(kv.as_str())
                    .json(&json!({"alg": alg, "value": dek64}))
                    .send()
                    .await
                    .expect("the vault answers")
                    .json()
                    .await
                    .unwrap_or_default();
                v["value"].as_str().unwrap_or_default().to_string()
            }
        };
        let a_ct = wrap(kids[0].clone(), "A256KW").await;
        let r_ct = wrap(kids[1].clone(), "RSA-OAEP-256").await;
        // Warm up connections.
        op(kids[0].clone(), "wrapkey", "A256KW", dek64.clone(), 320, 32).await;
        (
            op(kids[0].clone(), "wrapkey", "A256KW", dek64.clone(), 6_400, 32).await,
            op(kids[0].clone(), "unwrapkey", "A256KW", a_ct, 6_400, 32).await,
            op(kids[1].clone(), "wrapkey", "RSA-OAEP-256", dek64.clone(), 3_200, 32).await,
            op(kids[1].clone(), "unwrapkey", "RSA-OAEP-256", r_ct, 1_600, 32).await,
        )
    });
    drop(server);
    let (aw, au, rw, ru) = result;
    println!("over HTTPS on loopback (bearer token + role check + JSON), 32 in flight, server and client on 2 cores:");
    for (label, r, lim) in [
        ("  A256KW wrap", aw, lim_aes_wrap),
        ("  A256KW unwrap", au, lim_aes_unwrap),
        ("  RSA-OAEP-256 wrap", rw, lim_rsa_wrap),
        ("  RSA-OAEP-256 unwrap", ru, lim_rsa_unwrap),
    ] {
        println!(
            "{label:<52} {r:>10.0} /s  = {:.3}x the in-process crypto limit",
            r / lim
        );
    }
}
