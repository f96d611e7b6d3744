//! Integration tests that start the real `keyrotor` binary.

mod common;

use common::{api, scratch, Server, BATCH, BIN};

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Starts `keyrotor serve` expecting it to refuse; returns what it printed.
fn serve_refuses(dir: &Path, port: u16) -> String {
    let mut child = Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::piped())
        .spawn()
        .expect("keyrotor starts");
    let status = child.wait().expect("keyrotor exits");
    let mut err = String::new();
    child.stderr.take().map(|mut s| s.read_to_string(&mut err));
    assert!(
        !status.success(),
        "keyrotor started although it should refuse: {err}"
    );
    err
}

/// kill -9 during a stream of regenerations: after restart every slot holds
/// the value acknowledged last, or the value of the one request in flight at
/// the kill; no acknowledged value is lost and no replaced value comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_regenerations_loses_nothing() {
    let (_tmp, dir, port) = scratch();
    let mut server = Server::start(&dir, port);
    let a = api(&server).await;
    a.create_batch_account().await;
    let first = a
        .ok(reqwest::Method::POST, &format!("{BATCH}/listKeys"), None)
        .await;
    let mut acked: HashMap<&str, String> = HashMap::new();
    let mut replaced: Vec<String> = Vec::new();
    for slot in ["primary", "secondary"] {
        acked.insert(slot, first[slot].as_str().unwrap_or_default().to_string());
    }
    let mut all_seen: Vec<String> = acked.values().cloned().collect();

    // A count of acknowledged regenerations before each kill, not a time
    // window: a slow machine takes longer, it does not test less. The
    // deadline (generous) only stops a server that no longer answers.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    for round in 0..3u64 {
        let a = api(&server).await;
        let kill_after = 10 + 10 * round;
        let mut in_flight: Option<&str>;
        let mut i = 0u64;
        loop {
            let slot = if i.is_multiple_of(2) {
                "primary"
            } else {
                "secondary"
            };
            let key_name = if slot == "primary" {
                "Primary"
            } else {
                "Secondary"
            };
            if i == kill_after {
                // Fire one more request and kill the server while it runs.
                let path = format!("{BATCH}/regenerateKeys");
                let (http, url, token) = (
                    a.http.clone(),
                    format!(
                        "{}/subscriptions/{}{path}?api-version=2025-06-01",
                        a.base, a.sub
                    ),
                    a.token.clone(),
                );
                let req = tokio::spawn(async move {
                    let r = http
                        .post(url)
                        .bearer_auth(token)
                        .json(&json!({"keyName": key_name}))
                        .send()
                        .await?;
                    let status = r.status().as_u16();
                    Ok::<_, reqwest::Error>((
                        status,
                        r.json::<Value>().await.unwrap_or(Value::Null),
                    ))
                });
                in_flight = Some(slot);
                // Kill at a different moment each round: before, during or after the commit.
                std::thread::sleep(Duration::from_micros(200 * round));
                server.child.kill().expect("the server can be killed");
                server.child.wait().expect("the killed server is reaped");
                if let Ok(Ok((200, v))) = req.await {
                    for s in ["primary", "secondary"] {
                        let new = v[s].as_str().unwrap_or_default().to_string();
                        if acked[s] != new {
                            replaced.push(acked[s].clone());
                        }
                        acked.insert(s, new.clone());
                        all_seen.push(new);
                    }
                    in_flight = None;
                }
                break;
            }
            let path = format!("{BATCH}/regenerateKeys");
            let regenerate = a.send(
                reqwest::Method::POST,
                &path,
                Some(json!({"keyName": key_name})),
            );
            let (status, v) = tokio::time::timeout_at(deadline, regenerate)
                .await
                .unwrap_or_else(|_| panic!("round {round}: no answer after {i} regenerations"))
                .expect("the regeneration is answered");
            assert_eq!(status, 200, "{v}");
            i += 1;
            for s in ["primary", "secondary"] {
                let new = v[s].as_str().unwrap_or_default().to_string();
                if acked[s] != new {
                    assert_eq!(s, slot, "regenerating {slot} changed {s}");
                    replaced.push(acked[s].clone());
                }
                acked.insert(s, new.clone());
                all_seen.push(new);
            }
        }
        eprintln!(
            "round {round}: {i} acknowledged regenerations, then one at the kill (still in flight: {})",
            in_flight.is_some()
        );
        server = Server::start(&dir, port);
        let a = api(&server).await;
        let now = a
            .ok(reqwest::Method::POST, &format!("{BATCH}/listKeys"), None)
            .await;
        for s in ["primary", "secondary"] {
            let value = now[s].as_str().unwrap_or_default().to_string();
            assert!(
                !replaced.contains(&value),
                "round {round}: a replaced {s} key came back"
            );
            if Some(s) == in_flight {
                if value != acked[s] {
                    // The in-flight regeneration committed: a new, never-seen value.
                    assert!(!all_seen.contains(&value));
                    replaced.push(acked[s].clone());
                    acked.insert(s, value.clone());
                    all_seen.push(value);
                }
            } else {
                assert_eq!(value, acked[s], "round {round}: acknowledged {s} key lost");
            }
        }
    }
    let log = server.log();
    for k in &all_seen {
        assert!(
            !log.contains(k.as_str()),
            "a key value appears in the server log"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_state_and_sigterm_is_graceful() {
    let (_tmp, dir, port) = scratch();
    let mut server = Server::start(&dir, port);
    let secret = server.bootstrap()["clientSecret"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        !server.log().contains(&secret),
        "the bootstrap secret was printed"
    );
    let a = api(&server).await;
    a.create_batch_account().await;
    let keys = a
        .ok(reqwest::Method::POST, &format!("{BATCH}/listKeys"), None)
        .await;
    let pid = server.child.id();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill(1) runs");
    assert!(status.success());
    let t = Instant::now();
    let exit = loop {
        if let Some(s) = server.child.try_wait().expect("the server's status reads") {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(exit.success(), "{exit}");
    let server = Server::start(&dir, port);
    assert_eq!(
        server.bootstrap()["clientSecret"].as_str(),
        Some(secret.as_str()),
        "credentials survive a restart"
    );
    let a = api(&server).await;
    let again = a
        .ok(reqwest::Method::POST, &format!("{BATCH}/listKeys"), None)
        .await;
    assert_eq!(again, keys);
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(dir.join("bootstrap.json"))
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    };
    assert_eq!(mode, 0o600);
}

#[test]
fn world_readable_root_key_is_refused() {
    let (_tmp, dir, port) = scratch();
    drop(Server::start(&dir, port));
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("root.key"), std::fs::Permissions::from_mode(0o644))
            .expect("root.key's mode changes");
    }
    let err = serve_refuses(&dir, port);
    assert!(err.contains("accessible to other users"), "{err}");
}

#[test]
fn wrong_root_key_cannot_read_keys() {
    let (_tmp, dir, port) = scratch();
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    {
        let server = Server::start(&dir, port);
        rt.block_on(async {
            let a = api(&server).await;
            a.create_batch_account().await;
        });
    }
    // Another root key: the stored keys (and signing keys) cannot be opened.
    std::fs::write(dir.join("root.key"), "11".repeat(32)).expect("root.key is written");
    let err = serve_refuses(&dir, port);
    assert!(
        err.contains("decrypted") || err.contains("root key"),
        "{err}"
    );
}

/// A damaged key row (bits flipped at rest) makes only that account's
/// requests fail, with a clear 503 in each API's shape and no key material
/// in the log; the server keeps serving every other account.
#[test]
fn damaged_key_material_fails_only_its_account() {
    let (_tmp, dir, port) = scratch();
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    const OTHER: &str = "/resourceGroups/rg1/providers/Microsoft.Batch/batchAccounts/intact1";
    let keys = {
        let server = Server::start(&dir, port);
        rt.block_on(async {
            let a = api(&server).await;
            a.create_batch_account().await;
            a.ok(
                reqwest::Method::PUT,
                OTHER,
                Some(json!({"location": "westus"})),
            )
            .await;
            a.ok(reqwest::Method::POST, &format!("{BATCH}/listKeys"), None)
                .await
        })
    };
    // Flip one bit of each of crash1's sealed keys, as a damaged disk would.
    {
        let db = rusqlite::Connection::open(dir.join("keyrotor.db")).expect("the database opens");
        let sql = "SELECT k.rowid, k.sealed FROM account_keys k JOIN accounts a ON a.id = k.account_id WHERE a.name_key = 'crash1'";
        let mut stmt = db.prepare(sql).expect("the query prepares");
        let rows: Vec<(i64, Vec<u8>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(Iterator::collect)
            .expect("the sealed keys read");
        assert!(!rows.is_empty(), "crash1 has no key rows");
        for (rowid, mut sealed) in rows {
            let last = sealed.len() - 1;
            sealed[last] ^= 0x01;
            db.execute(
                "UPDATE account_keys SET sealed = ?1 WHERE rowid = ?2",
                rusqlite::params![sealed, rowid],
            )
            .expect("the damaged key is written");
        }
    }
    let server = Server::start(&dir, port);
    rt.block_on(async {
        let a = api(&server).await;
        // The data plane: Batch's error shape, an operator's problem (no Retry-After).
        let r = a
            .http
            .get(format!(
                "{}/batch/crash1/applications?api-version=2025-06-01",
                a.base
            ))
            .header("authorization", "SharedKey crash1:AAAA")
            .header("ocp-date", "Sun, 29 Nov 2026 12:00:00 GMT")
            .send()
            .await
            .expect("the data plane answers");
        assert_eq!(r.status().as_u16(), 503);
        assert!(r.headers().get("retry-after").is_none());
        let body: Value = r.json().await.expect("a JSON error body");
        assert_eq!(body["code"], "KeyMaterialUnavailable", "{body}");
        // ARM: the same account's keys cannot be listed (a permanent
        // failure: no Retry-After there either); the other's can.
        let r = a
            .http
            .post(format!(
                "{}/subscriptions/{}{BATCH}/listKeys?api-version=2025-06-01",
                a.base, a.sub
            ))
            .bearer_auth(&a.token)
            .header("content-length", "0")
            .send()
            .await
            .expect("ARM answers");
        assert_eq!(r.status().as_u16(), 503);
        assert!(r.headers().get("retry-after").is_none(), "ARM says retry");
        let body: Value = r.json().await.expect("a JSON error body");
        assert_eq!(body["error"]["code"], "KeyMaterialUnavailable", "{body}");
        let other = a
            .ok(reqwest::Method::POST, &format!("{OTHER}/listKeys"), None)
            .await;
        assert!(
            other["primary"].as_str().is_some_and(|k| !k.is_empty()),
            "{other}"
        );
    });
    let log = server.log();
    for k in ["primary", "secondary"] {
        let value = keys[k]
            .as_str()
            .unwrap_or_else(|| panic!("no {k} key: {keys}"));
        assert!(!log.contains(value), "the {k} key appears in the log");
    }
    assert!(log.contains("could not be decrypted"), "{log}");
    // A log file is plain text (colour codes only on a terminal).
    assert!(
        !log.contains('\u{1b}'),
        "terminal colour codes in a log file"
    );
}

#[test]
fn a_second_server_on_a_port_in_use_is_refused() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let first = Server::start(&tmp.path().join("a"), 0);
    let err = serve_refuses(&tmp.path().join("b"), first.port);
    assert!(err.contains("already in use"), "{err}");
    drop(first);
}

#[test]
fn a_second_server_on_the_same_data_dir_is_refused() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("data");
    let first = Server::start(&dir, 0);
    let err = serve_refuses(&dir, 0);
    assert!(err.contains("another keyrotor server"), "{err}");
    drop(first);
}

/// A client that sends nothing, or its request head a byte at a time, is
/// disconnected after the header-read timeout (slowloris); a prompt client on
/// the same server is served.
#[test]
fn slow_request_heads_are_cut_off() {
    use std::io::Write;
    let tmp = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(
        &tmp.path().join("data"),
        0,
        &["--no-tls", "--header-read-timeout", "1"],
    );
    let port = server.port;
    let connect = || {
        let s = std::net::TcpStream::connect(("127.0.0.1", port))
            .expect("the server accepts a connection");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a read timeout");
        s
    };
    // Closed: read returns 0 bytes (or a reset) well before 10 s.
    let closed_within = |s: &mut std::net::TcpStream, started: Instant| {
        let mut buf = [0u8; 512];
        let n = loop {
            match s.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break 0,
                Err(e) => panic!("the server kept the connection open: {e}"),
            }
        };
        (n, started.elapsed())
    };

    // Silent client.
    let started = Instant::now();
    let mut silent = connect();
    let (n, took) = closed_within(&mut silent, started);
    assert!(
        took >= Duration::from_millis(900),
        "closed too early: {took:?}"
    );
    assert!(took < Duration::from_secs(4), "closed too late: {took:?}");
    let _ = n;

    // Slow client: one byte of a valid head every 200 ms never finishes in time.
    let started = Instant::now();
    let mut slow = connect();
    let head = b"GET /metadata/endpoints?api-version=2022-09-01 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut cut = None;
    for b in head {
        if slow.write_all(&[*b]).is_err() {
            cut = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        if started.elapsed() > Duration::from_secs(6) {
            break;
        }
    }
    let took = match cut {
        Some(t) => t,
        None => closed_within(&mut slow, started).1,
    };
    assert!(
        took < Duration::from_secs(5),
        "slow head not cut off: {took:?}"
    );

    // A prompt client is answered.
    let mut ok = connect();
    ok.write_all(b"GET /metadata/endpoints?api-version=2022-09-01 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .expect("the request is sent");
    let mut text = String::new();
    ok.read_to_string(&mut text).expect("the answer is read");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}
