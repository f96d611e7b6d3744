//! The data planes' answers, pinned: every refusal of the request pipeline
//! (account, credential, verification, role, admission) and a walk through
//! each service's operations, as status, headers and body, with what
//! changes from run to run (ids, times, key material) masked.
//!
//! The transcript is `tests/wire.golden`; a change of any answer fails this
//! test. `KEYROTOR_BLESS=1 cargo test -p keyrotor-dataplane --test wire`
//! rewrites it: review the diff, it is what the SDKs see.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use base64::Engine as _;
use http::{HeaderMap, HeaderValue, Method, Request};
use keyrotor_core::ledger::{KeyLedger, LedgerEntry, MemoryLedger};
use keyrotor_core::{AccountSettings, AccountSpec, Keyrotor};
use keyrotor_dataplane::vault::VaultConfig;
use keyrotor_dataplane::{DataPlane, TokenConfig};
use keyrotor_identity::{generate_signing_key, IssuerCell, TokenIssuer};
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_types::{AccountKind, AccountName, KeySlot, SystemClock};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

struct World {
    dp: Arc<DataPlane>,
    core: Arc<Keyrotor>,
    issuer: Arc<IssuerCell>,
    tenant: String,
    keys: std::collections::BTreeMap<String, (String, String)>,
    out: String,
    _tmp: tempfile::TempDir,
}

/// Principals and the roles they hold at the subscription.
const PRINCIPALS: [(&str, &[&str]); 5] = [
    ("nobody", &[]),
    ("reader", &["Keyrotor Data Reader"]),
    (
        "writer",
        &["Keyrotor Data Contributor", "Cognitive Services User"],
    ),
    ("kvadmin", &["Key Vault Administrator"]),
    ("kvsecrets", &["Key Vault Secrets User"]),
];

fn world() -> World {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ledger = Arc::new(MemoryLedger::default());
    let env = keyrotor_testkit::Env::with_clock(
        Arc::new(SqliteStore::open(&tmp.path().join("db")).expect("store")),
        ledger.clone(),
        Arc::new(SystemClock),
    );
    let core = env.core.clone();
    let actor = keyrotor_testkit::actor();
    let g = env.group("rg1");
    let mut keys = std::collections::BTreeMap::new();
    let settings = |off: bool, upstream: Option<&str>| AccountSettings {
        disable_local_auth: off,
        upstream: upstream.map(str::to_string),
        ..Default::default()
    };
    // An upstream that refuses connections: a port just bound and released.
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        format!("http://127.0.0.1:{port}/base")
    };
    for (kind, name, off, upstream, restored) in [
        (AccountKind::Cosmos, "cosmos1", false, None, false),
        (AccountKind::Cosmos, "cosmosoff", true, None, false),
        (AccountKind::Cosmos, "cosmosrest", false, None, true),
        (AccountKind::Batch, "batch1", false, None, false),
        (AccountKind::Batch, "batchoff", true, None, false),
        (AccountKind::Batch, "batchrest", false, None, true),
        (AccountKind::Ai, "ai1", false, Some(refused.as_str()), false),
        (AccountKind::Ai, "ai2", false, None, false),
        (AccountKind::Ai, "aioff", true, None, false),
        (AccountKind::Ai, "airest", false, None, true),
    ] {
        let n = AccountName::parse(kind, name).expect("name");
        let spec = AccountSpec {
            settings: settings(off, upstream),
            ..keyrotor_testkit::account_spec()
        };
        let (a, _) = core
            .put_account(
                &env.dir,
                &actor,
                kind,
                &env.dir.subscription_id,
                &g,
                &n,
                spec,
            )
            .expect("account");
        let listed = core.list_keys(&a).expect("keys");
        let value = |slot: KeySlot| {
            listed
                .iter()
                .find(|k| k.slot == slot)
                .map(|k| k.value.expose().to_string())
                .unwrap_or_default()
        };
        let second = if kind == AccountKind::Cosmos {
            value(KeySlot::PrimaryReadonly)
        } else {
            value(KeySlot::Secondary)
        };
        keys.insert(name.to_string(), (value(KeySlot::Primary), second));
        if restored {
            let generation = listed
                .iter()
                .find(|k| k.slot == KeySlot::Primary)
                .map_or(0, |k| k.generation);
            ledger
                .record(&[LedgerEntry {
                    account_uid: a.uid.clone(),
                    slot: KeySlot::Primary,
                    generation: generation + 5,
                }])
                .expect("ledger");
        }
    }
    env.vault("rg1", "kv1");
    let sub = keyrotor_core::rbac::subscription_scope(&env.dir.subscription_id);
    let (key, der) = generate_signing_key().expect("signing key");
    let issuer = TokenIssuer::new(
        format!("https://127.0.0.1/{}/v2.0", env.dir.tenant_id),
        &[(key, der.as_slice())],
    )
    .expect("issuer");
    let issuer = Arc::new(IssuerCell::new(issuer));
    let mut w = World {
        dp: Arc::new(DataPlane::new(core.clone())),
        core: core.clone(),
        issuer: issuer.clone(),
        tenant: env.dir.tenant_id.clone(),
        keys,
        out: String::new(),
        _tmp: tmp,
    };
    for (display, roles) in PRINCIPALS {
        let (p, _, _) = core
            .create_principal(&actor, display, None)
            .expect("principal");
        for role in roles {
            let name = uuid::Uuid::new_v4().to_string();
            core.create_role_assignment(&env.dir, &actor, &name, &sub, &p.client_id, role)
                .expect("role");
        }
        w.keys
            .insert(format!("principal:{display}"), (p.client_id, String::new()));
    }
    let dp = DataPlane::new(core)
        .with_tokens(TokenConfig {
            issuer,
            tenant: w.tenant.clone(),
            public_host: "127.0.0.1".into(),
            dns_suffix: None,
        })
        .with_vaults(VaultConfig {
            suffix: "vault.localhost".into(),
            resource: "https://vault.localhost:8443".into(),
            authority: "https://127.0.0.1:8443".into(),
        });
    w.dp = Arc::new(dp);
    w
}

impl World {
    fn key(&self, account: &str) -> &str {
        &self.keys[account].0
    }

    fn second_key(&self, account: &str) -> &str {
        &self.keys[account].1
    }

    /// A bearer token of `principal` for `audience` (`tenant` overrides
    /// the directory's; `age` backdates it by that many seconds).
    fn token(&self, principal: &str, audience: &str, tenant: Option<&str>, age: i64) -> String {
        let client = &self.keys[&format!("principal:{principal}")].0;
        let now = time::OffsetDateTime::now_utc() - time::Duration::seconds(age);
        let (t, _) = self
            .issuer
            .get()
            .issue(tenant.unwrap_or(&self.tenant), client, audience, now, 600)
            .expect("token");
        t.expose().to_string()
    }

    async fn send(&mut self, title: &str, req: Request<Body>) {
        let (method, uri) = (req.method().clone(), req.uri().clone());
        let resp = if let Some(vault) = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_suffix(".vault.localhost:8443"))
        {
            let vault = vault.to_string();
            self.dp.handle_vault(&vault, req).await
        } else {
            let host = req
                .headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string);
            let mut t = keyrotor_dataplane::target(host.as_deref(), req.uri().path(), None)
                .expect("a data-plane path");
            t.peer = Some(SocketAddr::from(([127, 0, 0, 1], 40_000)));
            self.dp.handle(t, req).await
        };
        let (parts, body) = resp.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.expect("body");
        let path = uri.path_and_query().map_or("", |p| p.as_str());
        let path = mask(&path.chars().take(120).collect::<String>());
        let _ = writeln!(self.out, "## {title}\n{method} {path}\n-> {}", parts.status);
        let mut headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(k, v)| {
                let v = String::from_utf8_lossy(v.as_bytes()).to_string();
                let v = if k == http::header::ETAG {
                    "<etag>".to_string()
                } else {
                    mask(&v)
                };
                (k.as_str().to_string(), v)
            })
            .collect();
        headers.sort();
        for (k, v) in headers {
            let _ = writeln!(self.out, "{k}: {v}");
        }
        let _ = writeln!(self.out, "{}\n", mask(&String::from_utf8_lossy(&body)));
    }

    fn date() -> String {
        httpdate::fmt_http_date(std::time::SystemTime::now())
    }

    /// A Cosmos request signed with `key` (`sign` overrides what is signed:
    /// verb, resource type, link, x-ms-date).
    fn cosmos(
        &self,
        method: Method,
        account: &str,
        rest: &str,
        key: &str,
        sign: (&str, &str, &str),
        body: &str,
    ) -> http::request::Builder {
        let date = Self::date();
        let sts = keyrotor_auth::cosmos::string_to_sign(
            &sign.0.to_ascii_lowercase(),
            sign.1,
            sign.2,
            &date.to_ascii_lowercase(),
            "",
        );
        let k = ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            &B64.decode(key).unwrap_or_default(),
        );
        let sig = B64.encode(ring::hmac::sign(&k, sts.as_bytes()).as_ref());
        let auth = format!(
            "type%3Dmaster%26ver%3D1.0%26sig%3D{}",
            sig.replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D")
        );
        let _ = body;
        Request::builder()
            .method(method)
            .uri(format!("/cosmos/{account}{rest}"))
            .header("host", "127.0.0.1:8443")
            .header("authorization", auth)
            .header("x-ms-date", date)
            .header("user-agent", "wire-test")
    }

    /// A Batch request signed with SharedKey (`body` with its length and
    /// type); `signed_as` names the account in the credential.
    fn batch(
        &self,
        method: Method,
        account: &str,
        rest_and_query: &str,
        key: &str,
        body: Option<&str>,
    ) -> Request<Body> {
        let (rest, query) = rest_and_query
            .split_once('?')
            .map_or((rest_and_query, None), |(r, q)| (r, Some(q)));
        let path = format!("/batch/{account}{rest}");
        let mut h = HeaderMap::new();
        h.insert("ocp-date", Self::date().parse().expect("date"));
        h.insert("host", HeaderValue::from_static("127.0.0.1:8443"));
        h.insert("user-agent", HeaderValue::from_static("wire-test"));
        if let Some(b) = body {
            h.insert(
                "content-type",
                HeaderValue::from_static("application/json; odata=minimalmetadata"),
            );
            h.insert("content-length", b.len().to_string().parse().expect("len"));
        }
        let sts = keyrotor_auth::shared_key::string_to_sign(&method, &h, account, &path, query)
            .expect("string to sign");
        let k = ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            &B64.decode(key).unwrap_or_default(),
        );
        let sig = B64.encode(ring::hmac::sign(&k, sts.as_bytes()).as_ref());
        h.insert(
            "authorization",
            format!("SharedKey {account}:{sig}").parse().expect("auth"),
        );
        let uri = match query {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body.unwrap_or("").to_string()))
            .expect("request");
        *req.headers_mut() = h;
        req
    }
}

/// Masks what differs between runs: GUIDs, 32-digit hex versions, RFC 3339
/// times, Unix seconds, and the values of fields holding random material.
fn mask(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    let is_hex = |c: u8| c.is_ascii_hexdigit();
    'outer: while i < b.len() {
        let boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if boundary {
            // Random material in JSON fields.
            for field in [
                "\"_rid\":\"",
                "\"_self\":\"",
                "\"_etag\":\"",
                "\"n\":\"",
                "\"x\":\"",
                "\"y\":\"",
            ] {
                if s[i..].starts_with(field) {
                    out.push_str(field);
                    i += field.len();
                    while i < b.len() && b[i] != b'"' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                    i = i.min(b.len());
                    out.push_str("<r>");
                    continue 'outer;
                }
            }
            if s[i..].starts_with("\"value\":\"") {
                let start = i + 9;
                let end = s[start..].find('"').map_or(b.len(), |e| start + e);
                if end - start > 40 {
                    out.push_str("\"value\":\"<r>");
                    i = end;
                    continue 'outer;
                }
            }
            // GUID
            let guid = b.len() >= i + 36
                && (0..36).all(|k| match k {
                    8 | 13 | 18 | 23 => b[i + k] == b'-',
                    _ => is_hex(b[i + k]),
                })
                && b.get(i + 36).is_none_or(|c| !c.is_ascii_alphanumeric());
            if guid {
                out.push_str("<guid>");
                i += 36;
                continue;
            }
            let hex_run = b[i..].iter().take_while(|c| is_hex(**c)).count();
            if hex_run == 32 && b.get(i + 32).is_none_or(|c| !c.is_ascii_alphanumeric()) {
                out.push_str("<hex32>");
                i += 32;
                continue;
            }
            // RFC 3339: 2026-12-01T10:11:12(.123)Z
            let shape = b"dddd-dd-ddTdd:dd:dd";
            if b.len() >= i + shape.len()
                && shape.iter().enumerate().all(|(k, c)| match c {
                    b'd' => b[i + k].is_ascii_digit(),
                    c => b[i + k] == *c,
                })
            {
                let mut j = i + shape.len();
                if b.get(j) == Some(&b'.') {
                    j += 1;
                    while b.get(j).is_some_and(u8::is_ascii_digit) {
                        j += 1;
                    }
                }
                if b.get(j) == Some(&b'Z') {
                    j += 1;
                } else if b.get(j).is_some_and(|c| *c == b'+' || *c == b'-') {
                    j += 6;
                }
                out.push_str("<time>");
                i = j.min(b.len());
                continue;
            }
            let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 10 && b.get(i + 10).is_none_or(|c| !c.is_ascii_alphanumeric()) {
                out.push_str("<unix>");
                i += 10;
                continue;
            }
        }
        let c = s[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn req(method: Method, uri: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1:8443")
        .header("user-agent", "wire-test")
}

fn body(s: &str) -> Body {
    Body::from(s.to_string())
}

async fn cosmos(w: &mut World) {
    let k = w.key("cosmos1").to_string();
    let ro = w.second_key("cosmos1").to_string();
    let g = Method::GET;
    let p = Method::POST;
    let r = w
        .cosmos(g.clone(), "nosuch", "/dbs", &k, ("GET", "dbs", ""), "")
        .body(Body::empty())
        .expect("request");
    w.send("cosmos: unknown account", r).await;
    let r = req(p.clone(), "/cosmos/cosmos1/dbs")
        .body(body(r#"{"id":"x"}"#))
        .expect("request");
    w.send("cosmos: no authorization", r).await;
    let mut r = w
        .cosmos(p.clone(), "cosmos1", "/dbs", &k, ("POST", "dbs", ""), "")
        .body(body(r#"{"id":"x"}"#))
        .expect("request");
    let a = r.headers()["authorization"].clone();
    r.headers_mut().append("authorization", a);
    w.send("cosmos: authorization twice", r).await;
    let r = req(p.clone(), "/cosmos/cosmos1/dbs")
        .header(
            "authorization",
            HeaderValue::from_bytes(b"type=master\xff").expect("header"),
        )
        .body(body(r#"{"id":"x"}"#))
        .expect("request");
    w.send("cosmos: authorization not text", r).await;
    let r = w
        .cosmos(
            g.clone(),
            "cosmos1",
            "/dbs/a%2Fb",
            &k,
            ("GET", "dbs", ""),
            "",
        )
        .body(Body::empty())
        .expect("request");
    w.send("cosmos: invalid resource path", r).await;
    let r = w
        .cosmos(
            p.clone(),
            "cosmos1",
            "/dbs/db0/colls/c0/docs",
            &k,
            ("POST", "docs", "dbs/db0/colls/c0"),
            "",
        )
        .header("x-ms-documentdb-isquery", "True")
        .header("x-ms-documentdb-isquery", "False")
        .body(body("{}"))
        .expect("request");
    w.send("cosmos: selector twice", r).await;
    let r = w
        .cosmos(
            g.clone(),
            "cosmos1",
            "/dbs/db0",
            &k,
            ("GET", "dbs", "dbs/db0"),
            "",
        )
        .header("if-match", "\"a\"")
        .header("if-match", "\"b\"")
        .body(Body::empty())
        .expect("request");
    w.send("cosmos: if-match twice", r).await;
    for (what, auth) in [
        (
            "resource token",
            "type%3Dresource%26ver%3D1.0%26sig%3Dabc".to_string(),
        ),
        ("malformed token", "type=master&ver=1.0".to_string()),
        (
            "aad token not a jwt",
            "type%3Daad%26ver%3D1.0%26sig%3Da.b.c".to_string(),
        ),
        (
            "aad token for another audience",
            format!(
                "type%3Daad%26ver%3D1.0%26sig%3D{}",
                w.token("writer", "https://management.azure.com/", None, 0)
            ),
        ),
        (
            "aad token of another tenant",
            format!(
                "type%3Daad%26ver%3D1.0%26sig%3D{}",
                w.token(
                    "writer",
                    "https://cosmos.azure.com",
                    Some("other-tenant"),
                    0
                )
            ),
        ),
        (
            "aad token expired",
            format!(
                "type%3Daad%26ver%3D1.0%26sig%3D{}",
                w.token("writer", "https://cosmos.azure.com", None, 4000)
            ),
        ),
        (
            "aad token without a role",
            format!(
                "type%3Daad%26ver%3D1.0%26sig%3D{}",
                w.token("nobody", "https://cosmos.azure.com", None, 0)
            ),
        ),
        (
            "aad token of a reader writing",
            format!(
                "type%3Daad%26ver%3D1.0%26sig%3D{}",
                w.token("reader", "https://cosmos.azure.com", None, 0)
            ),
        ),
        (
            "aad token of a writer",
            format!(
                "type%3Daad%26ver%3D1.0%26sig%3D{}",
                w.token("writer", "https://cosmos.azure.com", None, 0)
            ),
        ),
    ] {
        let r = req(p.clone(), "/cosmos/cosmos1/dbs")
            .header("authorization", auth)
            .header("x-ms-date", World::date())
            .body(body(r#"{"id":"aaddb"}"#))
            .expect("request");
        w.send(&format!("cosmos: {what}"), r).await;
    }
    let reader = w.token("reader", "https://cosmos.azure.com", None, 0);
    let r = req(g.clone(), "/cosmos/cosmos1/")
        .header(
            "authorization",
            format!("type%3Daad%26ver%3D1.0%26sig%3D{reader}"),
        )
        .body(Body::empty())
        .expect("request");
    w.send("cosmos: aad reader reads the account", r).await;
    let mut r = w
        .cosmos(p.clone(), "cosmos1", "/dbs", &k, ("POST", "dbs", ""), "")
        .body(body(r#"{"id":"x"}"#))
        .expect("request");
    r.headers_mut().insert(
        "x-ms-date",
        httpdate::fmt_http_date(
            std::time::SystemTime::now() - std::time::Duration::from_secs(1200),
        )
        .parse()
        .expect("date"),
    );
    w.send("cosmos: date 20 minutes old", r).await;
    let mut r = w
        .cosmos(p.clone(), "cosmos1", "/dbs", &k, ("POST", "dbs", ""), "")
        .body(body(r#"{"id":"x"}"#))
        .expect("request");
    r.headers_mut().remove("x-ms-date");
    w.send("cosmos: no date", r).await;
    let r = w
        .cosmos(p.clone(), "cosmos1", "/dbs", &ro, ("POST", "dbs", ""), "")
        .body(body(r#"{"id":"x"}"#))
        .expect("request");
    w.send("cosmos: read-only key writing", r).await;
    let r = w
        .cosmos(
            p.clone(),
            "cosmos1",
            "/dbs",
            &B64.encode([7u8; 64]),
            ("POST", "dbs", ""),
            "",
        )
        .body(body(r#"{"id":"x"}"#))
        .expect("request");
    w.send("cosmos: foreign key", r).await;
    let r = w
        .cosmos(p.clone(), "cosmos1", "/dbs", &k, ("GET", "dbs", ""), "")
        .body(body(r#"{"id":"x"}"#))
        .expect("request");
    w.send("cosmos: signed for GET", r).await;
    let koff = w.key("cosmosoff").to_string();
    let r = w
        .cosmos(
            g.clone(),
            "cosmosoff",
            "/dbs",
            &koff,
            ("GET", "dbs", ""),
            "",
        )
        .body(Body::empty())
        .expect("request");
    w.send("cosmos: local auth disabled", r).await;
    let krest = w.key("cosmosrest").to_string();
    let r = w
        .cosmos(
            g.clone(),
            "cosmosrest",
            "/dbs",
            &krest,
            ("GET", "dbs", ""),
            "",
        )
        .body(Body::empty())
        .expect("request");
    w.send("cosmos: key replaced after the restored backup", r)
        .await;
    let krest2 = w.second_key("cosmosrest").to_string();
    let r = w
        .cosmos(
            g.clone(),
            "cosmosrest",
            "/dbs",
            &krest2,
            ("GET", "dbs", ""),
            "",
        )
        .body(Body::empty())
        .expect("request");
    w.send("cosmos: the other key of a restored account", r)
        .await;

    // Operations, with the primary key.
    /// What a case does, how it is signed (verb, resource type, link), its
    /// body and extra headers.
    type Case<'a> = (
        &'a str,
        Method,
        &'a str,
        (&'a str, &'a str, &'a str),
        &'a str,
        Vec<(&'a str, &'a str)>,
    );
    let ops: Vec<Case> = vec![
        ("read account", g.clone(), "/", ("GET", "", ""), "", vec![]),
        (
            "account method not allowed",
            Method::PUT,
            "/",
            ("PUT", "", ""),
            "{}",
            vec![],
        ),
        (
            "not implemented",
            g.clone(),
            "/dbs/db1/users",
            ("GET", "users", "dbs/db1"),
            "",
            vec![],
        ),
        (
            "list databases",
            g.clone(),
            "/dbs",
            ("GET", "dbs", ""),
            "",
            vec![],
        ),
        (
            "create database",
            p.clone(),
            "/dbs",
            ("POST", "dbs", ""),
            r#"{"id":"db1"}"#,
            vec![],
        ),
        (
            "create database again",
            p.clone(),
            "/dbs",
            ("POST", "dbs", ""),
            r#"{"id":"db1"}"#,
            vec![],
        ),
        (
            "create database, not json",
            p.clone(),
            "/dbs",
            ("POST", "dbs", ""),
            "nope",
            vec![],
        ),
        (
            "create database, bad id",
            p.clone(),
            "/dbs",
            ("POST", "dbs", ""),
            r#"{"id":"a/b"}"#,
            vec![],
        ),
        (
            "read database",
            g.clone(),
            "/dbs/db1",
            ("GET", "dbs", "dbs/db1"),
            "",
            vec![],
        ),
        (
            "read missing database",
            g.clone(),
            "/dbs/nosuch",
            ("GET", "dbs", "dbs/nosuch"),
            "",
            vec![],
        ),
        (
            "create container",
            p.clone(),
            "/dbs/db1/colls",
            ("POST", "colls", "dbs/db1"),
            r#"{"id":"c1","partitionKey":{"paths":["/pk"],"kind":"Hash"}}"#,
            vec![],
        ),
        (
            "list containers",
            g.clone(),
            "/dbs/db1/colls",
            ("GET", "colls", "dbs/db1"),
            "",
            vec![],
        ),
        (
            "read container",
            g.clone(),
            "/dbs/db1/colls/c1",
            ("GET", "colls", "dbs/db1/colls/c1"),
            "",
            vec![],
        ),
        (
            "partition key ranges",
            g.clone(),
            "/dbs/db1/colls/c1/pkranges",
            ("GET", "pkranges", "dbs/db1/colls/c1"),
            "",
            vec![],
        ),
        (
            "create item",
            p.clone(),
            "/dbs/db1/colls/c1/docs",
            ("POST", "docs", "dbs/db1/colls/c1"),
            r#"{"id":"d1","pk":"a","n":1}"#,
            vec![],
        ),
        (
            "create item again",
            p.clone(),
            "/dbs/db1/colls/c1/docs",
            ("POST", "docs", "dbs/db1/colls/c1"),
            r#"{"id":"d1","pk":"a","n":1}"#,
            vec![],
        ),
        (
            "upsert item",
            p.clone(),
            "/dbs/db1/colls/c1/docs",
            ("POST", "docs", "dbs/db1/colls/c1"),
            r#"{"id":"d1","pk":"a","n":2}"#,
            vec![("x-ms-documentdb-is-upsert", "True")],
        ),
        (
            "read item",
            g.clone(),
            "/dbs/db1/colls/c1/docs/d1",
            ("GET", "docs", "dbs/db1/colls/c1/docs/d1"),
            "",
            vec![],
        ),
        (
            "read missing item",
            g.clone(),
            "/dbs/db1/colls/c1/docs/nosuch",
            ("GET", "docs", "dbs/db1/colls/c1/docs/nosuch"),
            "",
            vec![],
        ),
        (
            "read item of a missing container",
            g.clone(),
            "/dbs/db1/colls/nosuch/docs/d1",
            ("GET", "docs", "dbs/db1/colls/nosuch/docs/d1"),
            "",
            vec![],
        ),
        (
            "replace item, other id",
            Method::PUT,
            "/dbs/db1/colls/c1/docs/d1",
            ("PUT", "docs", "dbs/db1/colls/c1/docs/d1"),
            r#"{"id":"d2"}"#,
            vec![],
        ),
        (
            "replace item, stale etag",
            Method::PUT,
            "/dbs/db1/colls/c1/docs/d1",
            ("PUT", "docs", "dbs/db1/colls/c1/docs/d1"),
            r#"{"id":"d1","pk":"a"}"#,
            vec![("if-match", "\"stale\"")],
        ),
        (
            "replace item",
            Method::PUT,
            "/dbs/db1/colls/c1/docs/d1",
            ("PUT", "docs", "dbs/db1/colls/c1/docs/d1"),
            r#"{"id":"d1","pk":"a","n":3}"#,
            vec![],
        ),
        (
            "read feed",
            g.clone(),
            "/dbs/db1/colls/c1/docs",
            ("GET", "docs", "dbs/db1/colls/c1"),
            "",
            vec![],
        ),
        (
            "query plan",
            p.clone(),
            "/dbs/db1/colls/c1/docs",
            ("POST", "docs", "dbs/db1/colls/c1"),
            r#"{"query":"SELECT * FROM c"}"#,
            vec![
                ("x-ms-documentdb-isquery", "True"),
                ("x-ms-cosmos-is-query-plan-request", "True"),
            ],
        ),
        (
            "query",
            p.clone(),
            "/dbs/db1/colls/c1/docs",
            ("POST", "docs", "dbs/db1/colls/c1"),
            r#"{"query":"SELECT * FROM c WHERE c.n = @n","parameters":[{"name":"@n","value":3}]}"#,
            vec![("x-ms-documentdb-isquery", "True")],
        ),
        (
            "query, syntax error",
            p.clone(),
            "/dbs/db1/colls/c1/docs",
            ("POST", "docs", "dbs/db1/colls/c1"),
            r#"{"query":"SELEC"}"#,
            vec![("x-ms-documentdb-isquery", "True")],
        ),
        (
            "query, unsupported",
            p.clone(),
            "/dbs/db1/colls/c1/docs",
            ("POST", "docs", "dbs/db1/colls/c1"),
            r#"{"query":"SELECT COUNT(1) FROM c GROUP BY c.n"}"#,
            vec![("x-ms-documentdb-isquery", "True")],
        ),
        (
            "query, no query",
            p.clone(),
            "/dbs/db1/colls/c1/docs",
            ("POST", "docs", "dbs/db1/colls/c1"),
            r#"{"q":1}"#,
            vec![("x-ms-documentdb-isquery", "True")],
        ),
        (
            "delete item",
            Method::DELETE,
            "/dbs/db1/colls/c1/docs/d1",
            ("DELETE", "docs", "dbs/db1/colls/c1/docs/d1"),
            "",
            vec![],
        ),
        (
            "delete item again",
            Method::DELETE,
            "/dbs/db1/colls/c1/docs/d1",
            ("DELETE", "docs", "dbs/db1/colls/c1/docs/d1"),
            "",
            vec![],
        ),
        (
            "replace container",
            Method::PUT,
            "/dbs/db1/colls/c1",
            ("PUT", "colls", "dbs/db1/colls/c1"),
            r#"{"id":"c1","partitionKey":{"paths":["/pk"],"kind":"Hash"}}"#,
            vec![],
        ),
        (
            "delete container",
            Method::DELETE,
            "/dbs/db1/colls/c1",
            ("DELETE", "colls", "dbs/db1/colls/c1"),
            "",
            vec![],
        ),
        (
            "delete database",
            Method::DELETE,
            "/dbs/db1",
            ("DELETE", "dbs", "dbs/db1"),
            "",
            vec![],
        ),
        (
            "delete database again",
            Method::DELETE,
            "/dbs/db1",
            ("DELETE", "dbs", "dbs/db1"),
            "",
            vec![],
        ),
    ];
    for (what, m, rest, sign, b, extra) in ops {
        let mut r = w.cosmos(m, "cosmos1", rest, &k, sign, b);
        for (h, v) in extra {
            r = r.header(h, v);
        }
        let r = r.body(body(b)).expect("request");
        w.send(&format!("cosmos: {what}"), r).await;
    }
    let big = format!(r#"{{"id":"big","pad":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let r = w
        .cosmos(p.clone(), "cosmos1", "/dbs", &k, ("POST", "dbs", ""), "")
        .body(body(&big))
        .expect("request");
    w.send("cosmos: body too large", r).await;
}

async fn batch(w: &mut World) {
    let k = w.key("batch1").to_string();
    let g = Method::GET;
    let p = Method::POST;
    let q = "?api-version=2025-06-01";
    let r = w.batch(g.clone(), "nosuch", &format!("/pools{q}"), &k, None);
    w.send("batch: unknown account", r).await;
    let mut r = w.batch(g.clone(), "batch1", &format!("/pools{q}"), &k, None);
    r.headers_mut().remove("authorization");
    w.send("batch: no authorization", r).await;
    let r = w.batch(
        g.clone(),
        "batch1",
        &format!("/pools{q}"),
        &B64.encode([9u8; 64]),
        None,
    );
    w.send("batch: foreign key", r).await;
    let mut r = w.batch(g.clone(), "batch1", &format!("/pools{q}"), &k, None);
    r.headers_mut().insert(
        "ocp-date",
        HeaderValue::from_static("Tue, 07 Jan 2025 12:00:00 GMT"),
    );
    w.send("batch: old date", r).await;
    for (what, token) in [
        ("bearer token not a jwt", "a.b.c".to_string()),
        (
            "bearer token for another audience",
            w.token("writer", "https://cosmos.azure.com", None, 0),
        ),
        (
            "bearer token without a role",
            w.token("nobody", "https://batch.core.windows.net/", None, 0),
        ),
        (
            "bearer token of a reader writing",
            w.token("reader", "https://batch.core.windows.net/", None, 0),
        ),
    ] {
        let r = req(p.clone(), &format!("/batch/batch1/pools{q}"))
            .header("authorization", format!("Bearer {token}"))
            .body(body(r#"{"id":"tp","vmSize":"x"}"#))
            .expect("request");
        w.send(&format!("batch: {what}"), r).await;
    }
    let reader = w.token("reader", "https://batch.core.windows.net/", None, 0);
    let r = req(g.clone(), &format!("/batch/batch1/pools{q}"))
        .header("authorization", format!("Bearer {reader}"))
        .body(Body::empty())
        .expect("request");
    w.send("batch: bearer reader lists pools", r).await;
    let koff = w.key("batchoff").to_string();
    let r = w.batch(g.clone(), "batchoff", &format!("/pools{q}"), &koff, None);
    w.send("batch: local auth disabled", r).await;
    let krest = w.key("batchrest").to_string();
    let r = w.batch(g.clone(), "batchrest", &format!("/pools{q}"), &krest, None);
    w.send("batch: key replaced after the restored backup", r)
        .await;
    let ops: Vec<(&str, Method, &str, Option<&str>)> = vec![
        ("list pools", g.clone(), "/pools", None),
        (
            "add pool",
            p.clone(),
            "/pools",
            Some(r#"{"id":"p1","vmSize":"standard_d2s_v3"}"#),
        ),
        (
            "add pool again",
            p.clone(),
            "/pools",
            Some(r#"{"id":"p1","vmSize":"standard_d2s_v3"}"#),
        ),
        (
            "add pool, no vmSize",
            p.clone(),
            "/pools",
            Some(r#"{"id":"p2"}"#),
        ),
        (
            "add pool, no id",
            p.clone(),
            "/pools",
            Some(r#"{"vmSize":"x"}"#),
        ),
        (
            "add pool, bad id",
            p.clone(),
            "/pools",
            Some(r#"{"id":"a b","vmSize":"x"}"#),
        ),
        ("add pool, not json", p.clone(), "/pools", Some("{x}")),
        ("get pool", g.clone(), "/pools/p1", None),
        ("get missing pool", g.clone(), "/pools/nosuch", None),
        (
            "add job",
            p.clone(),
            "/jobs",
            Some(r#"{"id":"j1","poolInfo":{"poolId":"p1"}}"#),
        ),
        (
            "add job again",
            p.clone(),
            "/jobs",
            Some(r#"{"id":"j1","poolInfo":{"poolId":"p1"}}"#),
        ),
        ("list jobs", g.clone(), "/jobs", None),
        ("list applications", g.clone(), "/applications", None),
        (
            "get missing application",
            g.clone(),
            "/applications/nosuch",
            None,
        ),
        ("patch pool", Method::PATCH, "/pools/p1", Some("{}")),
        ("not implemented", g.clone(), "/certificates", None),
        ("delete pool", Method::DELETE, "/pools/p1", None),
        ("delete pool again", Method::DELETE, "/pools/p1", None),
        ("delete missing job", Method::DELETE, "/jobs/nosuch", None),
    ];
    for (what, m, rest, b) in ops {
        let r = w.batch(m, "batch1", &format!("{rest}{q}"), &k, b);
        w.send(&format!("batch: {what}"), r).await;
    }
    let big = format!(r#"{{"id":"big","pad":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let r = w.batch(p.clone(), "batch1", &format!("/pools{q}"), &k, Some(&big));
    w.send("batch: body too large", r).await;
}

async fn ai(w: &mut World) {
    let k1 = w.key("ai1").to_string();
    let k2 = w.key("ai2").to_string();
    let g = Method::GET;
    let p = Method::POST;
    let path = "/openai/deployments/d/chat/completions?api-version=2024-10-21";
    let r = req(p.clone(), &format!("/ai/nosuch{path}"))
        .header("api-key", k1.as_str())
        .body(body("{}"))
        .expect("request");
    w.send("ai: unknown account", r).await;
    let r = req(p.clone(), &format!("/ai/ai2{path}"))
        .body(body("{}"))
        .expect("request");
    w.send("ai: no key", r).await;
    let r = req(p.clone(), &format!("/ai/ai2{path}"))
        .header("api-key", "0123456789abcdef0123456789abcdef")
        .body(body("{}"))
        .expect("request");
    w.send("ai: wrong key", r).await;
    let r = req(p.clone(), &format!("/ai/ai2{path}"))
        .header("api-key", k2.as_str())
        .header("api-key", k2.as_str())
        .body(body("{}"))
        .expect("request");
    w.send("ai: key twice", r).await;
    let r = req(p.clone(), &format!("/ai/ai2{path}"))
        .header("ocp-apim-subscription-key", k2.as_str())
        .body(body("{}"))
        .expect("request");
    w.send("ai: subscription key, no upstream", r).await;
    let r = req(p.clone(), &format!("/ai/ai2{path}"))
        .header("api-key", k1.as_str())
        .body(body("{}"))
        .expect("request");
    w.send("ai: another account's key", r).await;
    for (what, token) in [
        ("bearer token not a jwt", "a.b.c".to_string()),
        (
            "bearer token for another audience",
            w.token("writer", "https://batch.core.windows.net/", None, 0),
        ),
        (
            "bearer token without a role",
            w.token("nobody", "https://cognitiveservices.azure.com", None, 0),
        ),
        (
            "bearer token of a reader writing",
            w.token("reader", "https://cognitiveservices.azure.com", None, 0),
        ),
        (
            "bearer token of a writer, no upstream",
            w.token("writer", "https://cognitiveservices.azure.com", None, 0),
        ),
    ] {
        let r = req(p.clone(), &format!("/ai/ai2{path}"))
            .header("authorization", format!("Bearer {token}"))
            .body(body("{}"))
            .expect("request");
        w.send(&format!("ai: {what}"), r).await;
    }
    let nobody = w.token("nobody", "https://cognitiveservices.azure.com", None, 0);
    let r = req(p.clone(), &format!("/ai/ai2{path}"))
        .header("authorization", format!("Bearer {nobody}"))
        .header("api-key", k2.as_str())
        .body(body("{}"))
        .expect("request");
    w.send("ai: bearer token beside a key (the key counts)", r)
        .await;
    let r = req(p.clone(), "/ai/ai2/a/../b")
        .header("api-key", k2.as_str())
        .body(body("{}"))
        .expect("request");
    w.send("ai: dot segment", r).await;
    let r = req(p.clone(), "/ai/ai1/a%2fb")
        .header("api-key", k1.as_str())
        .body(body("{}"))
        .expect("request");
    w.send("ai: encoded slash", r).await;
    let r = req(g.clone(), &format!("/ai/ai1{path}"))
        .header("api-key", k1.as_str())
        .body(Body::empty())
        .expect("request");
    w.send("ai: upstream refuses the connection", r).await;
    let koff = w.key("aioff").to_string();
    let r = req(p.clone(), &format!("/ai/aioff{path}"))
        .header("api-key", koff.as_str())
        .body(body("{}"))
        .expect("request");
    w.send("ai: local auth disabled", r).await;
    let krest = w.key("airest").to_string();
    let r = req(p.clone(), &format!("/ai/airest{path}"))
        .header("api-key", krest.as_str())
        .body(body("{}"))
        .expect("request");
    w.send("ai: key replaced after the restored backup", r)
        .await;
}

async fn vault(w: &mut World) {
    const HOST: &str = "kv1.vault.localhost:8443";
    const AUD: &str = "https://vault.localhost:8443";
    let v = "api-version=7.5";
    let admin = w.token("kvadmin", AUD, None, 0);
    let kvreq = |m: Method, path: &str, token: Option<&str>, b: &str| {
        let mut r = Request::builder()
            .method(m)
            .uri(path)
            .header("host", HOST)
            .header("content-type", "application/json");
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        r.body(body(b)).expect("request")
    };
    w.send(
        "vault: no token",
        kvreq(Method::GET, &format!("/keys?{v}"), None, ""),
    )
    .await;
    let mut r = kvreq(Method::GET, &format!("/keys?{v}"), Some(&admin), "");
    let a = r.headers()["authorization"].clone();
    r.headers_mut().append("authorization", a);
    w.send("vault: authorization twice", r).await;
    w.send(
        "vault: token not a jwt",
        kvreq(Method::GET, &format!("/keys?{v}"), Some("a.b.c"), ""),
    )
    .await;
    let t = w.token("kvadmin", "https://management.azure.com/", None, 0);
    w.send(
        "vault: token for another audience",
        kvreq(Method::GET, &format!("/keys?{v}"), Some(&t), ""),
    )
    .await;
    let t = w.token("kvadmin", AUD, Some("other-tenant"), 0);
    w.send(
        "vault: token of another tenant",
        kvreq(Method::GET, &format!("/keys?{v}"), Some(&t), ""),
    )
    .await;
    let t = w.token("kvadmin", "https://vault.azure.net", None, 0);
    w.send(
        "vault: token for vault.azure.net",
        kvreq(Method::GET, &format!("/keys?{v}"), Some(&t), ""),
    )
    .await;
    w.send(
        "vault: no api-version",
        kvreq(Method::GET, "/keys", Some(&admin), ""),
    )
    .await;
    w.send(
        "vault: not implemented",
        kvreq(Method::GET, &format!("/certificates?{v}"), Some(&admin), ""),
    )
    .await;
    w.send(
        "vault: unknown crypto operation",
        kvreq(
            Method::POST,
            &format!("/keys/k1/v1/frobnicate?{v}"),
            Some(&admin),
            "{}",
        ),
    )
    .await;
    let r = Request::builder()
        .method(Method::GET)
        .uri(format!("/keys?{v}"))
        .header("host", "nosuch.vault.localhost:8443")
        .header("authorization", format!("Bearer {admin}"))
        .body(Body::empty())
        .expect("request");
    w.send("vault: unknown vault", r).await;
    let nobody = w.token("nobody", AUD, None, 0);
    w.send(
        "vault: no role",
        kvreq(Method::GET, &format!("/keys?{v}"), Some(&nobody), ""),
    )
    .await;
    let secrets = w.token("kvsecrets", AUD, None, 0);
    w.send(
        "vault: secrets user creating a key",
        kvreq(
            Method::POST,
            &format!("/keys/k1/create?{v}"),
            Some(&secrets),
            r#"{"kty":"EC"}"#,
        ),
    )
    .await;
    let big = format!(r#"{{"value":"{}"}}"#, "x".repeat(300 * 1024));
    w.send(
        "vault: body too large",
        kvreq(Method::PUT, &format!("/secrets/s1?{v}"), Some(&admin), &big),
    )
    .await;
    w.send(
        "vault: body not an object",
        kvreq(
            Method::PUT,
            &format!("/secrets/s1?{v}"),
            Some(&admin),
            "[1]",
        ),
    )
    .await;

    let ops: Vec<(&str, Method, String, String)> = vec![
        ("create key, no kty", Method::POST, "/keys/k1/create".into(), "{}".into()),
        ("create key, bad kty", Method::POST, "/keys/k1/create".into(), r#"{"kty":"DSA"}"#.into()),
        ("create key, bad size", Method::POST, "/keys/k1/create".into(), r#"{"kty":"RSA","key_size":1024}"#.into()),
        ("create key, bad curve", Method::POST, "/keys/k1/create".into(), r#"{"kty":"EC","crv":"P-999"}"#.into()),
        ("create key, attributes not an object", Method::POST, "/keys/k1/create".into(), r#"{"kty":"EC","attributes":1}"#.into()),
        ("create key, enabled not a boolean", Method::POST, "/keys/k1/create".into(), r#"{"kty":"EC","attributes":{"enabled":1}}"#.into()),
        ("create key, exp out of range", Method::POST, "/keys/k1/create".into(), r#"{"kty":"EC","attributes":{"exp":-377705116800}}"#.into()),
        ("create key, bad name", Method::POST, "/keys/k_1/create".into(), r#"{"kty":"EC"}"#.into()),
        ("create RSA key", Method::POST, "/keys/k1/create".into(), r#"{"kty":"RSA","key_size":2048,"tags":{"a":"b"}}"#.into()),
        ("create EC key", Method::POST, "/keys/e1/create".into(), r#"{"kty":"EC","crv":"P-256","key_ops":["sign","verify"]}"#.into()),
        ("create oct key", Method::POST, "/keys/o1/create".into(), r#"{"kty":"oct-HSM","attributes":{"nbf":1000000000,"exp":4000000000}}"#.into()),
        ("get key", Method::GET, "/keys/k1/".into(), String::new()),
        ("get key by empty version", Method::GET, "/keys/k1/".into(), String::new()),
        ("get missing key", Method::GET, "/keys/nosuch/".into(), String::new()),
        ("get missing version", Method::GET, "/keys/k1/0123".into(), String::new()),
        ("list keys", Method::GET, "/keys".into(), String::new()),
        ("key versions", Method::GET, "/keys/k1/versions".into(), String::new()),
        ("versions of a missing key", Method::GET, "/keys/nosuch/versions".into(), String::new()),
        ("update key", Method::PATCH, "/keys/k1".into(), r#"{"tags":{"c":"d"},"attributes":{"exp":4000000000}}"#.into()),
        ("update key, bad attributes", Method::PATCH, "/keys/k1".into(), r#"{"attributes":{"nbf":"x"}}"#.into()),
        ("update missing key", Method::PATCH, "/keys/nosuch".into(), "{}".into()),
        ("rotate key", Method::POST, "/keys/k1/rotate".into(), String::new()),
        ("rotate missing key", Method::POST, "/keys/nosuch/rotate".into(), String::new()),
        ("key versions after rotating", Method::GET, "/keys/k1/versions".into(), String::new()),
        ("backup key", Method::POST, "/keys/k1/backup".into(), String::new()),
        ("backup missing key", Method::POST, "/keys/nosuch/backup".into(), String::new()),
        ("restore key, bad blob", Method::POST, "/keys/restore".into(), r#"{"value":"AAAA"}"#.into()),
        ("restore key, no blob", Method::POST, "/keys/restore".into(), "{}".into()),
        ("rotation policy, default", Method::GET, "/keys/k1/rotationpolicy".into(), String::new()),
        ("set rotation policy", Method::PUT, "/keys/k1/rotationpolicy".into(), r#"{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},"action":{"type":"Rotate"}}],"attributes":{"expiryTime":"P2Y"}}"#.into()),
        ("get rotation policy", Method::GET, "/keys/k1/rotationPolicy".into(), String::new()),
        ("set rotation policy, bad duration", Method::PUT, "/keys/k1/rotationpolicy".into(), r#"{"lifetimeActions":[{"trigger":{"timeAfterCreate":"90 days"},"action":{"type":"Rotate"}}]}"#.into()),
        ("set rotation policy, both triggers", Method::PUT, "/keys/k1/rotationpolicy".into(), r#"{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D","timeBeforeExpiry":"P10D"},"action":{"type":"Rotate"}}]}"#.into()),
        ("set rotation policy, bad action", Method::PUT, "/keys/k1/rotationpolicy".into(), r#"{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},"action":{"type":"Explode"}}]}"#.into()),
        ("set rotation policy, too short", Method::PUT, "/keys/k1/rotationpolicy".into(), r#"{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P1D"},"action":{"type":"Rotate"}}]}"#.into()),
        ("rotation policy of a missing key", Method::GET, "/keys/nosuch/rotationpolicy".into(), String::new()),
        ("delete key", Method::DELETE, "/keys/k1".into(), String::new()),
        ("delete key again", Method::DELETE, "/keys/k1".into(), String::new()),
        ("get deleted key as a key", Method::GET, "/keys/k1/".into(), String::new()),
        ("versions of a deleted key", Method::GET, "/keys/k1/versions".into(), String::new()),
        ("create key over a deleted one", Method::POST, "/keys/k1/create".into(), r#"{"kty":"EC"}"#.into()),
        ("list deleted keys", Method::GET, "/deletedkeys".into(), String::new()),
        ("get deleted key", Method::GET, "/deletedkeys/k1".into(), String::new()),
        ("get deleted key that is not deleted", Method::GET, "/deletedkeys/e1".into(), String::new()),
        ("recover key", Method::POST, "/deletedkeys/k1/recover".into(), String::new()),
        ("recover key again", Method::POST, "/deletedkeys/k1/recover".into(), String::new()),
        ("purge live key", Method::DELETE, "/deletedkeys/k1".into(), String::new()),
        ("delete key to purge", Method::DELETE, "/keys/k1".into(), String::new()),
        ("purge key", Method::DELETE, "/deletedkeys/k1".into(), String::new()),
        ("purge key again", Method::DELETE, "/deletedkeys/k1".into(), String::new()),
        ("set secret, no value", Method::PUT, "/secrets/s1".into(), r#"{"contentType":"text/plain"}"#.into()),
        ("set secret, bad attributes", Method::PUT, "/secrets/s1".into(), r#"{"value":"v","attributes":{"exp":"soon"}}"#.into()),
        ("set secret", Method::PUT, "/secrets/s1".into(), r#"{"value":"s3cret","contentType":"text/plain","tags":{"t":"1"}}"#.into()),
        ("set secret again", Method::PUT, "/secrets/s1".into(), r#"{"value":"s3cret2"}"#.into()),
        ("get secret", Method::GET, "/secrets/s1/".into(), String::new()),
        ("get missing secret", Method::GET, "/secrets/nosuch/".into(), String::new()),
        ("list secrets", Method::GET, "/secrets".into(), String::new()),
        ("secret versions", Method::GET, "/secrets/s1/versions".into(), String::new()),
        ("versions of a missing secret", Method::GET, "/secrets/nosuch/versions".into(), String::new()),
        ("update secret", Method::PATCH, "/secrets/s1".into(), r#"{"contentType":"application/json","attributes":{"enabled":true}}"#.into()),
        ("update secret, bad attributes", Method::PATCH, "/secrets/s1".into(), r#"{"attributes":[]}"#.into()),
        ("update missing secret", Method::PATCH, "/secrets/nosuch".into(), "{}".into()),
        ("backup secret", Method::POST, "/secrets/s1/backup".into(), String::new()),
        ("restore secret, bad blob", Method::POST, "/secrets/restore".into(), r#"{"value":"AAAA"}"#.into()),
        ("delete secret", Method::DELETE, "/secrets/s1".into(), String::new()),
        ("delete secret again", Method::DELETE, "/secrets/s1".into(), String::new()),
        ("get deleted secret as a secret", Method::GET, "/secrets/s1/".into(), String::new()),
        ("versions of a deleted secret", Method::GET, "/secrets/s1/versions".into(), String::new()),
        ("set secret over a deleted one", Method::PUT, "/secrets/s1".into(), r#"{"value":"x"}"#.into()),
        ("list deleted secrets", Method::GET, "/deletedsecrets".into(), String::new()),
        ("get deleted secret", Method::GET, "/deletedsecrets/s1".into(), String::new()),
        ("recover secret", Method::POST, "/deletedsecrets/s1/recover".into(), String::new()),
        ("recover missing secret", Method::POST, "/deletedsecrets/nosuch/recover".into(), String::new()),
        ("delete secret to purge", Method::DELETE, "/secrets/s1".into(), String::new()),
        ("purge secret", Method::DELETE, "/deletedsecrets/s1".into(), String::new()),
        ("purge secret again", Method::DELETE, "/deletedsecrets/s1".into(), String::new()),
        ("list secrets at the end", Method::GET, "/secrets".into(), String::new()),
        ("list keys at the end", Method::GET, "/keys".into(), String::new()),
    ];
    for (what, m, path, b) in ops {
        let r = kvreq(m, &format!("{path}?{v}"), Some(&admin), &b);
        w.send(&format!("vault: {what}"), r).await;
    }
    // The secrets user reads a secret (set again first) but no key.
    let r = kvreq(
        Method::PUT,
        &format!("/secrets/s2?{v}"),
        Some(&admin),
        r#"{"value":"two"}"#,
    );
    w.send("vault: set a second secret", r).await;
    let r = kvreq(
        Method::GET,
        &format!("/secrets/s2/?{v}"),
        Some(&secrets),
        "",
    );
    w.send("vault: secrets user reads it", r).await;
    let r = kvreq(Method::GET, &format!("/keys/e1/?{v}"), Some(&secrets), "");
    w.send("vault: secrets user reads a key", r).await;
    // Cryptographic operations on versions that exist.
    let version = |name: &'static str| {
        let r = kvreq(Method::GET, &format!("/keys/{name}/?{v}"), Some(&admin), "");
        let dp = w.dp.clone();
        async move {
            let resp = dp.handle_vault("kv1", r).await;
            let b = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .expect("body");
            let v: serde_json::Value = serde_json::from_slice(&b).expect("json");
            v["key"]["kid"]
                .as_str()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string()
        }
    };
    let e1 = version("e1").await;
    let o1 = version("o1").await;
    let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([1u8; 32]);
    let block = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([2u8; 32]);
    let ops: Vec<(&str, Method, String, String)> = vec![
        (
            "sign, no alg",
            Method::POST,
            format!("/keys/e1/{e1}/sign"),
            "{}".into(),
        ),
        (
            "sign, bad alg",
            Method::POST,
            format!("/keys/e1/{e1}/sign"),
            format!(r#"{{"alg":"HS256","value":"{digest}"}}"#),
        ),
        (
            "sign, no digest",
            Method::POST,
            format!("/keys/e1/{e1}/sign"),
            r#"{"alg":"ES256"}"#.into(),
        ),
        (
            "sign",
            Method::POST,
            format!("/keys/e1/{e1}/sign"),
            format!(r#"{{"alg":"ES256","value":"{digest}"}}"#),
        ),
        (
            "sign, wrong digest length",
            Method::POST,
            format!("/keys/e1/{e1}/sign"),
            r#"{"alg":"ES256","value":"AAAA"}"#.into(),
        ),
        (
            "verify, no signature",
            Method::POST,
            format!("/keys/e1/{e1}/verify"),
            format!(r#"{{"alg":"ES256","digest":"{digest}"}}"#),
        ),
        (
            "verify a wrong signature",
            Method::POST,
            format!("/keys/e1/{e1}/verify"),
            format!(r#"{{"alg":"ES256","digest":"{digest}","value":"{digest}{digest}"}}"#),
        ),
        (
            "wrap with an EC key",
            Method::POST,
            format!("/keys/e1/{e1}/wrapkey"),
            format!(r#"{{"alg":"A256KW","value":"{block}"}}"#),
        ),
        (
            "wrap, no alg",
            Method::POST,
            format!("/keys/o1/{o1}/wrapkey"),
            format!(r#"{{"value":"{block}"}}"#),
        ),
        (
            "wrap, bad alg",
            Method::POST,
            format!("/keys/o1/{o1}/wrapkey"),
            format!(r#"{{"alg":"RSA1_5","value":"{block}"}}"#),
        ),
        (
            "wrap, no value",
            Method::POST,
            format!("/keys/o1/{o1}/wrapkey"),
            r#"{"alg":"A256KW"}"#.into(),
        ),
        (
            "wrap",
            Method::POST,
            format!("/keys/o1/{o1}/wrapkey"),
            format!(r#"{{"alg":"A256KW","value":"{block}"}}"#),
        ),
        (
            "wrap with an RSA algorithm on an oct key",
            Method::POST,
            format!("/keys/o1/{o1}/wrapkey"),
            format!(r#"{{"alg":"RSA-OAEP-256","value":"{block}"}}"#),
        ),
        (
            "unwrap, not a wrapped key",
            Method::POST,
            format!("/keys/o1/{o1}/unwrapkey"),
            format!(r#"{{"alg":"A256KW","value":"{block}AAAAAAAAAAA"}}"#),
        ),
        (
            "encrypt",
            Method::POST,
            format!("/keys/o1/{o1}/encrypt"),
            format!(r#"{{"alg":"A256KW","value":"{block}"}}"#),
        ),
        (
            "decrypt, not a ciphertext",
            Method::POST,
            format!("/keys/o1/{o1}/decrypt"),
            format!(r#"{{"alg":"A256KW","value":"{digest}"}}"#),
        ),
        (
            "disable oct key",
            Method::PATCH,
            format!("/keys/o1/{o1}"),
            r#"{"attributes":{"enabled":false}}"#.into(),
        ),
        (
            "wrap with a disabled key",
            Method::POST,
            format!("/keys/o1/{o1}/wrapkey"),
            format!(r#"{{"alg":"A256KW","value":"{block}"}}"#),
        ),
        (
            "expire EC key",
            Method::PATCH,
            format!("/keys/e1/{e1}"),
            r#"{"attributes":{"exp":1000000000}}"#.into(),
        ),
        (
            "sign with an expired key",
            Method::POST,
            format!("/keys/e1/{e1}/sign"),
            format!(r#"{{"alg":"ES256","value":"{digest}"}}"#),
        ),
    ];
    for (what, m, path, b) in ops {
        let r = kvreq(m, &format!("{path}?{v}"), Some(&admin), &b);
        w.send(&format!("vault: {what}"), r).await;
    }
    let _ = &w.core;
}

#[tokio::test(flavor = "current_thread")]
async fn the_data_planes_answer_as_pinned() {
    let mut w = world();
    cosmos(&mut w).await;
    batch(&mut w).await;
    ai(&mut w).await;
    vault(&mut w).await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wire.golden");
    if std::env::var_os("KEYROTOR_BLESS").is_some() {
        std::fs::write(&path, &w.out).expect("write the transcript");
        return;
    }
    let pinned =
        std::fs::read_to_string(&path).expect("tests/wire.golden (KEYROTOR_BLESS=1 writes it)");
    if pinned != w.out {
        let fresh = path.with_extension("actual");
        std::fs::write(&fresh, &w.out).expect("write the actual transcript");
        let first = pinned
            .lines()
            .zip(w.out.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "the data planes' answers changed (first at line {}: {:?} became {:?}); see {} (diff it against tests/wire.golden)",
            first + 1,
            pinned.lines().nth(first),
            w.out.lines().nth(first),
            fresh.display()
        );
    }
}
