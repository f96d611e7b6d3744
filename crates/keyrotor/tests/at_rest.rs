//! What the database files hold at rest: Cosmos documents, Batch pools and
//! jobs and account keys written and read through the real server are
//! sealed under the accounts' data keys, and the data keys are stored only
//! wrapped: none of those values is in keyrotor.db, its WAL or its
//! shared-memory file.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const COSMOS: &str = "/resourceGroups/rg1/providers/Microsoft.DocumentDB/databaseAccounts/atrest1";

fn hmac(key: &str, msg: &str) -> String {
    let k = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        &B64.decode(key).expect("the key is base64"),
    );
    B64.encode(ring::hmac::sign(&k, msg.as_bytes()).as_ref())
}

/// A Cosmos request signed with the master key `key`.
async fn cosmos(
    a: &Api,
    key: &str,
    method: Method,
    rest: &str,
    signed: (&str, &str),
    body: Option<Value>,
) -> (u16, Value) {
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let sts = keyrotor_auth::cosmos::string_to_sign(
        &method.as_str().to_ascii_lowercase(),
        signed.0,
        signed.1,
        &date.to_ascii_lowercase(),
        "",
    );
    let sig = hmac(key, &sts);
    let auth = format!(
        "type%3Dmaster%26ver%3D1.0%26sig%3D{}",
        sig.replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    );
    let origin = a.base.trim_end_matches('/');
    let mut r = a
        .http
        .request(method, format!("{origin}/cosmos/atrest1{rest}"))
        .header("authorization", auth)
        .header("x-ms-date", date)
        .header("x-ms-version", "2018-12-31");
    if let Some(b) = body {
        r = r
            .header("x-ms-documentdb-partitionkey", r#"["p1"]"#)
            .json(&b);
    }
    let resp = r.send().await.expect("the Cosmos data plane answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A Batch request signed with SharedKey.
async fn batch(a: &Api, key: &str, method: Method, rest: &str, body: Option<&Value>) -> u16 {
    let query = "api-version=2025-06-01";
    let path = format!("/batch/{}{rest}", "crash1");
    let text = body.map(Value::to_string);
    let mut h = http::HeaderMap::new();
    h.insert(
        "ocp-date",
        httpdate::fmt_http_date(std::time::SystemTime::now())
            .parse()
            .expect("a date header"),
    );
    if let Some(t) = &text {
        h.insert(
            "content-type",
            "application/json; odata=minimalmetadata"
                .parse()
                .expect("a content type"),
        );
        h.insert(
            "content-length",
            t.len().to_string().parse().expect("a length"),
        );
    }
    let sts = keyrotor_auth::shared_key::string_to_sign(
        &http::Method::from_bytes(method.as_str().as_bytes()).expect("a method"),
        &h,
        "crash1",
        &path,
        Some(query),
    )
    .expect("a string to sign");
    let origin = a.base.trim_end_matches('/');
    let mut r = a
        .http
        .request(method, format!("{origin}{path}?{query}"))
        .header(
            "authorization",
            format!("SharedKey crash1:{}", hmac(key, &sts)),
        );
    for (k, v) in &h {
        r = r.header(k.as_str(), v.as_bytes());
    }
    if let Some(t) = text {
        r = r.body(t);
    }
    r.send()
        .await
        .expect("the Batch data plane answers")
        .status()
        .as_u16()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn nothing_written_through_the_server_is_in_the_database_files_in_clear() {
    let (_tmp, dir, port) = scratch();
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let server = Server::start(&dir, port);
    let (values, markers, ck) = rt.block_on(async {
        let a = api(&server).await;
        a.create_batch_account().await;
        a.ok(
            Method::PUT,
            COSMOS,
            Some(json!({"location": "westus", "properties": {
                "databaseAccountOfferType": "Standard",
                "locations": [{"locationName": "westus"}]}})),
        )
        .await;
        let ckeys = a
            .ok(Method::POST, &format!("{COSMOS}/listKeys"), None)
            .await;
        let bkeys = a.ok(Method::POST, &format!("{BATCH}/listKeys"), None).await;
        let ck = ckeys["primaryMasterKey"]
            .as_str()
            .expect("a Cosmos key")
            .to_string();
        let bk = bkeys["primary"].as_str().expect("a Batch key").to_string();
        let mut markers = Vec::new();
        let db_marker = "database-marker-7f3a";
        let (s, v) = cosmos(&a, &ck, Method::POST, "/dbs", ("dbs", ""), None).await;
        assert_eq!(s, 400, "a database needs a body: {v}");
        let (s, v) = cosmos(
            &a,
            &ck,
            Method::POST,
            "/dbs",
            ("dbs", ""),
            Some(json!({"id": "db1", "note": db_marker})),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        markers.push(db_marker.to_string());
        let (s, v) = cosmos(
            &a,
            &ck,
            Method::POST,
            "/dbs/db1/colls",
            ("colls", "dbs/db1"),
            Some(json!({"id": "c1", "partitionKey": {"paths": ["/pk"], "kind": "Hash"}})),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        for i in 0..20 {
            let marker = format!("document-marker-{i:02}-{}", "q".repeat(40));
            let (s, v) = cosmos(
                &a,
                &ck,
                Method::POST,
                "/dbs/db1/colls/c1/docs",
                ("docs", "dbs/db1/colls/c1"),
                Some(json!({"id": format!("d{i}"), "pk": "p1", "text": marker})),
            )
            .await;
            assert_eq!(s, 201, "{v}");
            markers.push(marker);
        }
        // Read back through the data plane: the server opens them.
        let (s, v) = cosmos(
            &a,
            &ck,
            Method::GET,
            "/dbs/db1/colls/c1/docs/d3",
            ("docs", "dbs/db1/colls/c1/docs/d3"),
            None,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["text"], markers[4].as_str(), "{v}");
        let pool_marker = "pool-marker-standard-d2-v9c1";
        let pool = json!({"id": "pool1", "vmSize": pool_marker});
        assert_eq!(
            batch(&a, &bk, Method::POST, "/pools", Some(&pool)).await,
            201
        );
        markers.push(pool_marker.to_string());
        let job_marker = "job-marker-42b7e";
        let job = json!({"id": "job1", "displayName": job_marker, "poolInfo": {"poolId": "pool1"}});
        assert_eq!(batch(&a, &bk, Method::POST, "/jobs", Some(&job)).await, 201);
        markers.push(job_marker.to_string());
        assert_eq!(batch(&a, &bk, Method::GET, "/pools/pool1", None).await, 200);
        // A regenerated key is sealed too (and so is the one it replaced).
        let again = a
            .ok(
                Method::POST,
                &format!("{BATCH}/regenerateKeys"),
                Some(json!({"keyName": "Secondary"})),
            )
            .await;
        let mut values: Vec<String> = Vec::new();
        for keys in [&ckeys, &bkeys, &again] {
            for (_, v) in keys.as_object().expect("a key list") {
                // The key values (not `accountName`).
                if let Some(v) = v.as_str().filter(|v| v.len() >= 32) {
                    values.push(v.to_string());
                }
            }
        }
        assert_eq!(values.len(), 4 + 2 + 2, "key values listed");
        (values, markers, ck)
    });
    // The files as the running server has them (WAL not checkpointed),
    // then after it was killed.
    let root = std::fs::read_to_string(dir.join("root.key")).expect("the root key");
    let root = keyrotor_crypto::RootKey::parse(&root).expect("a root key");
    let mut server = Some(server);
    for stage in ["running", "killed"] {
        if stage == "killed" {
            drop(server.take());
        }
        let mut files = Vec::new();
        for name in ["keyrotor.db", "keyrotor.db-wal", "keyrotor.db-shm"] {
            if let Ok(b) = std::fs::read(dir.join(name)) {
                files.push((name, b));
            }
        }
        assert!(
            files
                .iter()
                .any(|(n, b)| *n == "keyrotor.db" && !b.is_empty()),
            "no database file"
        );
        // The data keys, unwrapped with the root key from their rows.
        let db = rusqlite::Connection::open(dir.join("keyrotor.db")).expect("the database opens");
        let deks: Vec<(String, String, Vec<u8>)> = db
            .prepare(
                "SELECT a.uid, d.id, d.wrapped FROM account_deks d JOIN accounts a ON a.id = d.account_id",
            )
            .expect("prepares")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .and_then(Iterator::collect)
            .expect("the data keys read");
        drop(db);
        assert!(deks.len() >= 2, "{} data keys", deks.len());
        let raw: Vec<Vec<u8>> = deks
            .iter()
            .map(|(uid, id, wrapped)| {
                root.open(format!("keyrotor/dek/v1/{uid}/{id}").as_bytes(), wrapped)
                    .expect("a data key unwraps with the root key")
                    .to_vec()
            })
            .collect();
        for (name, bytes) in &files {
            for m in &markers {
                assert!(!contains(bytes, m.as_bytes()), "{stage}: {m} in {name}");
            }
            for v in &values {
                assert!(!contains(bytes, v.as_bytes()), "{stage}: a key in {name}");
                let decoded = B64.decode(v).unwrap_or_default();
                if decoded.len() >= 16 {
                    assert!(!contains(bytes, &decoded), "{stage}: a raw key in {name}");
                }
            }
            for k in &raw {
                assert!(!contains(bytes, k), "{stage}: a data key in {name}");
                assert!(
                    !contains(bytes, hex_of(k).as_bytes()),
                    "{stage}: a hex data key in {name}"
                );
            }
        }
    }
    // A document damaged at rest (one bit of its sealed body): its read is
    // Cosmos's 503 KeyMaterialUnavailable, the other documents still read.
    {
        let db = rusqlite::Connection::open(dir.join("keyrotor.db")).expect("the database opens");
        let (seq, mut sealed): (i64, Vec<u8>) = db
            .query_row(
                "SELECT seq, sealed FROM data_items WHERE id = 'd5'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("d5 is stored");
        let mid = sealed.len() / 2;
        sealed[mid] ^= 0x01;
        db.execute(
            "UPDATE data_items SET sealed = ?2 WHERE seq = ?1",
            rusqlite::params![seq, sealed],
        )
        .expect("the damaged body is written");
    }
    let server = Server::start(&dir, port);
    rt.block_on(async {
        let a = api(&server).await;
        let read = |id: &'static str| {
            let link = format!("dbs/db1/colls/c1/docs/{id}");
            let rest = format!("/{link}");
            let a = &a;
            let ck = &ck;
            async move { cosmos(a, ck, Method::GET, &rest, ("docs", &link), None).await }
        };
        let (s, v) = read("d5").await;
        assert_eq!(s, 503, "{v}");
        assert_eq!(v["code"], "KeyMaterialUnavailable", "{v}");
        let (s, v) = read("d6").await;
        assert_eq!((s, v["text"].as_str()), (200, Some(markers[7].as_str())));
    });
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
