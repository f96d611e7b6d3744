//! Regression tests for the security findings of issue 12, against the
//! real binary over HTTP: the administrator take-over chain and its
//! break-glass recovery, the reverse proxy's path and header handling, and
//! keys that a restored database would bring back.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{api, raw_http as raw, scratch, sign_in, Api, Server, BIN};
use serde_json::{json, Value};

/// An ARM call by absolute path (the tenant-level routes live outside the
/// subscription), as `token`.
async fn arm(
    a: &Api,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut r = a
        .http
        .request(
            method,
            format!("{}{path}{sep}api-version=2025-06-01", a.base),
        )
        .bearer_auth(token);
    r = match body {
        Some(b) => r.json(&b),
        None => r.header("content-length", "0"),
    };
    let resp = r.send().await.expect("ARM request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Finding 3, end to end: a principal holding Contributor at `/` cannot add
/// or remove the bootstrap administrator's secrets (so it can neither sign
/// in as the administrator nor lock it out), cannot rotate the tenant's
/// signing key; the operator's break-glass command replaces a lost
/// administrator secret locally, at once, without printing it.
#[test]
fn a_root_contributor_cannot_take_over_the_administrator() {
    let (_tmp, dir, port) = scratch();
    let server = Server::start(&dir, port);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let b = server.bootstrap();
    let admin = b["clientId"].as_str().expect("clientId").to_string();
    let old_secret = b["clientSecret"].as_str().expect("secret").to_string();
    rt.block_on(async {
        let a = api(&server).await;
        let sp = "/providers/Keyrotor.Identity/servicePrincipals";
        let (s, v) = arm(&a, &a.token, reqwest::Method::POST, sp, Some(json!({"displayName": "mallory"}))).await;
        assert_eq!(s, 201, "{v}");
        let m_id = v["clientId"].as_str().expect("clientId").to_string();
        let m_secret = v["secret"]["value"].as_str().expect("secret").to_string();
        let ra = "/providers/Microsoft.Authorization/roleAssignments/3c1d2e3f-1f7e-4d8e-9a52-6c1d2e3f4a5b";
        let (s, v) = arm(&a, &a.token, reqwest::Method::PUT, ra, Some(json!({"properties": {
            "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
            "principalId": m_id}}))).await;
        assert_eq!(s, 201, "{v}");
        let m = sign_in(&a.http, &b, &m_id, &m_secret).await.expect("mallory signs in");
        // Contributor at / does what Contributor does...
        let (s, _) = arm(&a, &m, reqwest::Method::PUT, &format!("/subscriptions/{}/resourcegroups/m-rg", a.sub), Some(json!({"location": "westus"}))).await;
        assert_eq!(s, 201);
        // ...but the take-over chain stops at its first step.
        let (s, v) = arm(&a, &m, reqwest::Method::POST, &format!("{sp}/{admin}/addSecret"), Some(json!({}))).await;
        assert_eq!((s, v["error"]["code"].as_str()), (403, Some("AuthorizationFailed")), "{v}");
        assert!(v["secret"].is_null() && v["value"].is_null(), "{v}");
        let (s, list) = arm(&a, &m, reqwest::Method::GET, sp, None).await;
        assert_eq!(s, 200, "{list}");
        let admin_secrets: Vec<String> = list["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["clientId"] == admin.as_str())
            .flat_map(|p| p["secrets"].as_array().cloned().unwrap_or_default())
            .filter_map(|s| s["secretId"].as_str().map(str::to_string))
            .collect();
        assert_eq!(admin_secrets.len(), 1, "{list}");
        let (s, _) = arm(&a, &m, reqwest::Method::POST, &format!("{sp}/{admin}/removeSecret"), Some(json!({"secretId": admin_secrets[0]}))).await;
        assert_eq!(s, 403);
        let (s, _) = arm(&a, &m, reqwest::Method::DELETE, &format!("{sp}/{admin}"), None).await;
        assert_eq!(s, 403);
        let (s, _) = arm(&a, &m, reqwest::Method::PUT, "/providers/Microsoft.Authorization/roleAssignments/4c1d2e3f-1f7e-4d8e-9a52-6c1d2e3f4a5b", Some(json!({"properties": {
            "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
            "principalId": m_id}}))).await;
        assert_eq!(s, 403, "Contributor assigns no roles");
        let (s, _) = arm(&a, &m, reqwest::Method::POST, "/providers/Keyrotor.Identity/signingKeys/rotate", None).await;
        assert_eq!(s, 403);
        // The administrator cannot change its own secrets through the API either.
        let (s, v) = arm(&a, &a.token, reqwest::Method::POST, &format!("{sp}/{admin}/removeSecret"), Some(json!({"secretId": admin_secrets[0]}))).await;
        assert_eq!(s, 403, "{v}");
        assert!(sign_in(&a.http, &b, &admin, &old_secret).await.is_ok(), "the administrator is not locked out");
    });

    // Break-glass, with the server running: the data directory and the root
    // key, no network.
    let out = Command::new(BIN)
        .args(["admin", "reset-secret", "--data-dir"])
        .arg(&dir)
        .output()
        .expect("run admin reset-secret");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let b2 = server.bootstrap();
    let new_secret = b2["clientSecret"].as_str().expect("secret").to_string();
    assert_ne!(new_secret, old_secret);
    assert!(
        !printed.contains(&new_secret) && !printed.contains(&old_secret),
        "{printed}"
    );
    assert_eq!(b2["clientId"], admin.as_str());
    assert_eq!(
        b2["resourceManager"], b["resourceManager"],
        "the rest of bootstrap.json is kept"
    );
    rt.block_on(async {
        let a = api(&server).await; // signs in with the new secret
        assert_eq!(
            sign_in(&a.http, &b2, &admin, &old_secret).await,
            Err(401),
            "the old secret is refused at once"
        );
        let (s, _) = arm(&a, &a.token, reqwest::Method::GET, "/subscriptions", None).await;
        assert_eq!(s, 200);
    });
    // A wrong root key is refused and changes nothing.
    let out = Command::new(BIN)
        .args(["admin", "reset-secret", "--data-dir"])
        .arg(&dir)
        .env("KEYROTOR_ROOT_KEY", "00".repeat(32))
        .output()
        .expect("run admin reset-secret");
    assert!(!out.status.success());
    assert_eq!(server.bootstrap()["clientSecret"], new_secret.as_str());
    let log = server.log();
    assert!(
        !log.contains(&new_secret) && !log.contains(&old_secret),
        "a secret reached the log"
    );
}

/// What an upstream received: each request's head, as text.
struct Upstream {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

/// A real HTTP upstream on loopback that records request heads and answers
/// 200 `ok` (bounded: it serves until the test process ends).
fn upstream() -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(200) {
            let Ok(mut c) = conn else { continue };
            let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let redirect = head.starts_with("GET /base/redirect ");
            s2.lock().expect("lock").push(head);
            let answer = if redirect {
                format!("HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{port}/secret\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            } else {
                "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_string()
            };
            let _ = c.write_all(answer.as_bytes());
        }
    });
    Upstream { port, seen }
}

/// Finding 2: the forwarded path stays below the upstream's base in every
/// spelling, and method overrides never reach the upstream.
#[test]
fn the_proxy_keeps_paths_below_the_base_and_strips_overrides() {
    let (_tmp, dir, port) = scratch();
    let up = upstream();
    let server = Server::start_with(&dir, port, &["--no-tls"]);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let key = rt.block_on(async {
        let keys = api(&server)
            .await
            .create_ai_account(
                "proxy1",
                json!({"upstreamUrl": format!("http://127.0.0.1:{}/base", up.port)}),
            )
            .await;
        keys["key1"].as_str().expect("key1").to_string()
    });
    let get = |path: &str, extra: &str| {
        raw(server.port, &format!("GET /ai/proxy1{path} HTTP/1.1\r\nhost: 127.0.0.1\r\napi-key: {key}\r\n{extra}connection: close\r\n\r\n"))
    };
    // A path below the base is forwarded.
    let (s, body) = get("/v1/models", "");
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("ok"), "{body}");
    for path in [
        "/../secret",
        "/%2e%2e/secret",
        "/.%2e/secret",
        "/%2E%2E/secret",
        "/a/../../secret",
        "/..;/secret",
        "/a%2f..%2f..%2fsecret",
        "/%252e%252e/secret",
        "/a\\..\\..\\secret",
        "/./secret",
    ] {
        let (s, body) = get(path, "");
        assert_eq!(s, 400, "{path}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        assert!(v["error"]["message"].is_string(), "{path}: {body}");
    }
    // Method overrides and the client's forwarding headers are stripped.
    let (s, _) = get(
        "/v1/chat",
        "x-http-method-override: POST\r\nx-http-method: DELETE\r\nx-method-override: PUT\r\nx-forwarded-host: evil.example\r\nforwarded: for=1.2.3.4\r\nx-original-url: /secret\r\nx-rewrite-url: /secret\r\nx-forwarded-prefix: /x\r\n",
    );
    assert_eq!(s, 200);
    // A redirect is relayed to the caller, never followed by keyrotor (the
    // upstream answers /base/redirect with 302 to /secret).
    let (s, _) = get("/redirect", "");
    assert_eq!(s, 302);
    let seen = up.seen.lock().expect("lock").clone();
    assert_eq!(
        seen.len(),
        3,
        "only the three good requests reached the upstream: {seen:?}"
    );
    for head in &seen {
        let first = head.lines().next().unwrap_or_default();
        assert!(first.starts_with("GET /base/"), "{first}");
        let lower = head.to_ascii_lowercase();
        for h in [
            "x-http-method",
            "x-method-override",
            "x-forwarded-host",
            "x-forwarded-prefix",
            "x-original-url",
            "x-rewrite-url",
            "forwarded:",
            "api-key",
        ] {
            assert!(!lower.contains(h), "{h} reached the upstream: {head}");
        }
        assert!(lower.contains("x-forwarded-for: 127.0.0.1"), "{head}");
    }
}

/// The "Also" of issue 12: a database restored from a backup taken before
/// a regeneration does not bring the replaced key back. The slot answers
/// 503 RestoredStateRequiresRotation until regenerated; the other slot,
/// unchanged since the backup, keeps working.
#[test]
fn a_restored_database_refuses_keys_replaced_since_its_backup() {
    let (tmp, dir, port) = scratch();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let acct = "/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts/restore1";
    let (k1, k2) = {
        let server = Server::start_with(&dir, port, &["--no-tls"]);
        rt.block_on(async {
            let keys = api(&server)
                .await
                .create_ai_account("restore1", json!({}))
                .await;
            (
                keys["key1"].as_str().expect("key1").to_string(),
                keys["key2"].as_str().expect("key2").to_string(),
            )
        })
    };
    // The backup: the database file of the stopped server (WAL checkpointed
    // or not, both files are copied).
    let backup = tmp.path().join("backup");
    std::fs::create_dir_all(&backup).expect("mkdir");
    for f in ["keyrotor.db", "keyrotor.db-wal"] {
        if dir.join(f).exists() {
            std::fs::copy(dir.join(f), backup.join(f)).expect("copy");
        }
    }
    let k1_new = {
        let server = Server::start_with(&dir, port, &["--no-tls"]);
        regenerate_key1(&rt, &server, acct)
    };
    assert_ne!(k1_new, k1);
    // Restore the database only; the key ledger stays.
    for f in ["keyrotor.db", "keyrotor.db-wal", "keyrotor.db-shm"] {
        let _ = std::fs::remove_file(dir.join(f));
        if backup.join(f).exists() {
            std::fs::copy(backup.join(f), dir.join(f)).expect("restore");
        }
    }
    let server = Server::start_with(&dir, port, &["--no-tls"]);
    let ai = |key: &str| {
        raw(server.port, &format!("GET /ai/restore1/v1/models HTTP/1.1\r\nhost: 127.0.0.1\r\napi-key: {key}\r\nconnection: close\r\n\r\n"))
    };
    // Authenticated requests without an upstream answer 404 "Resource not found".
    let (s, body) = ai(&k1);
    assert_eq!(s, 503, "the replaced key came back: {body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        v["error"]["code"], "RestoredStateRequiresRotation",
        "{body}"
    );
    assert_eq!(ai(&k2).0, 404, "the unchanged key keeps working");
    assert_eq!(
        ai(&k1_new).0,
        401,
        "the restored database does not know the newer key"
    );
    assert!(
        server.log().contains("restored database"),
        "the start-up names what it refuses"
    );
    let k1_fresh = regenerate_key1(&rt, &server, acct);
    assert_eq!(ai(&k1_fresh).0, 404, "a regenerated slot works again");
    assert_eq!(ai(&k1).0, 401);
    for k in [&k1, &k2, &k1_new, &k1_fresh] {
        assert!(!server.log().contains(k.as_str()), "a key reached the log");
    }
    let ledger = std::fs::read_to_string(dir.join("key-ledger")).expect("ledger");
    for k in [&k1, &k2, &k1_new, &k1_fresh] {
        assert!(
            !ledger.contains(k.as_str()),
            "the ledger holds no key material"
        );
    }
}

/// Regenerates an AI account's Key1 through ARM: the new value.
fn regenerate_key1(rt: &tokio::runtime::Runtime, server: &Server, acct: &str) -> String {
    rt.block_on(async {
        let v = api(server)
            .await
            .ok(
                reqwest::Method::POST,
                &format!("{acct}/regenerateKey"),
                Some(json!({"keyName": "Key1"})),
            )
            .await;
        v["key1"].as_str().expect("key1").to_string()
    })
}
