//! What the integration tests that start the real binary share: a scratch
//! data directory, the server process, and an ARM client signed in as the
//! bootstrap administrator.
#![allow(
    dead_code,
    reason = "each test crate uses a different part of this module"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_keyrotor");

/// `keyrotor serve` on 127.0.0.1:`port` with `dir` as its data directory,
/// output discarded (for the benchmarks, which time start-up themselves).
pub fn spawn(dir: &Path, port: u16) -> Child {
    Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("keyrotor starts")
}

/// A scratch directory (removed when the first value drops), the data
/// directory inside it, and port 0: [`Server::start`] then lets the system
/// pick a free port (no race between tests) and reads it back.
pub fn scratch() -> (tempfile::TempDir, PathBuf, u16) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("data");
    (tmp, dir, 0)
}

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Server {
    pub fn start(dir: &Path, port: u16) -> Server {
        Self::start_with(dir, port, &[])
    }

    /// Starts `keyrotor serve` on `port`; with 0 the server binds a port
    /// the system chooses (no race with other tests) and reports it in its
    /// log, where this reads it.
    pub fn start_with(dir: &Path, port: u16, extra: &[&str]) -> Server {
        let log_path = dir.with_extension("log");
        // Only what this start writes: the log is appended across restarts.
        let log_from = std::fs::metadata(&log_path).map_or(0, |m| m.len());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("server log file");
        let child = Command::new(BIN)
            .args(["serve", "--data-dir"])
            .arg(dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .env("KEYROTOR_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("keyrotor starts");
        let mut s = Server {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        // Ready once it says so (it binds early, so a connection alone does
        // not mean bootstrap.json exists yet).
        s.port = s.wait_bound_port(log_from);
        s
    }

    /// The port in the server's "serving <url> on <addr>" line (printed
    /// when it is ready), written after `log_from`.
    fn wait_bound_port(&mut self, log_from: u64) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("keyrotor exited early: {status}\n{}", self.log());
            }
            let log = std::fs::read(self.dir.with_extension("log")).unwrap_or_default();
            let fresh = String::from_utf8_lossy(log.get(log_from as usize..).unwrap_or_default());
            let port = fresh
                .lines()
                .filter_map(|l| l.strip_prefix("keyrotor: serving "))
                .filter_map(|l| l.split(" on ").nth(1))
                .filter_map(|addr| addr.split(' ').next())
                .find_map(|addr| addr.parse::<std::net::SocketAddr>().ok())
                .map(|a| a.port());
            if let Some(p) = port {
                return p;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("keyrotor did not report the port it bound");
    }

    pub fn bootstrap(&self) -> Value {
        let text =
            std::fs::read_to_string(self.dir.join("bootstrap.json")).expect("bootstrap.json");
        serde_json::from_str(&text).expect("bootstrap.json is JSON")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.with_extension("log")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub sub: String,
}

/// `client_credentials` sign-in for the ARM audience, as described by a
/// bootstrap document: the token, or the status of the refusal.
pub async fn sign_in(
    http: &reqwest::Client,
    b: &Value,
    client_id: &str,
    secret: &str,
) -> Result<String, u16> {
    sign_in_for(
        http,
        b,
        client_id,
        secret,
        "https://management.azure.com/.default",
    )
    .await
}

/// A token of the bootstrap administrator for `scope` (a vault's
/// `{uri}/.default`, ARM's ...).
pub async fn admin_token(http: &reqwest::Client, b: &Value, scope: &str) -> String {
    let s = |k: &str| b[k].as_str().unwrap_or_default().to_string();
    sign_in_for(http, b, &s("clientId"), &s("clientSecret"), scope)
        .await
        .unwrap_or_else(|status| panic!("the administrator cannot sign in: {status}"))
}

/// `client_credentials` sign-in for `scope`.
pub async fn sign_in_for(
    http: &reqwest::Client,
    b: &Value,
    client_id: &str,
    secret: &str,
    scope: &str,
) -> Result<String, u16> {
    let s = |k: &str| b[k].as_str().unwrap_or_default().to_string();
    let r = http
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            s("authority"),
            s("tenantId")
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", scope),
        ])
        .send()
        .await
        .expect("token request");
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    match v["access_token"].as_str() {
        Some(t) if status == 200 => Ok(t.to_string()),
        _ => Err(status),
    }
}

/// One request written as is over a plain connection (no client library
/// normalises its path): the status and the body.
pub fn raw_http(port: u16, head: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    c.write_all(head.as_bytes()).expect("write");
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

pub async fn api(server: &Server) -> Api {
    let b = server.bootstrap();
    let s = |k: &str| {
        b[k].as_str()
            .unwrap_or_else(|| panic!("bootstrap lacks {k}"))
            .to_string()
    };
    let ca = std::fs::read(s("caCert")).expect("the CA certificate");
    let http = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("a PEM certificate"))
        .build()
        .expect("an HTTP client");
    let token = sign_in(&http, &b, &s("clientId"), &s("clientSecret"))
        .await
        .unwrap_or_else(|status| panic!("the administrator cannot sign in: {status}"));
    Api {
        http,
        base: s("resourceManager"),
        token,
        sub: s("subscriptionId"),
    }
}

impl Api {
    /// Creates group `rg1` and the Batch account at [`BATCH`].
    pub async fn create_batch_account(&self) {
        for path in ["/resourcegroups/rg1", BATCH] {
            self.ok(
                reqwest::Method::PUT,
                path,
                Some(json!({"location": "westus"})),
            )
            .await;
        }
    }

    /// Creates group `rg1` and the AI Services account `name` in it (with
    /// `properties`); returns its keys as listKeys answers them.
    pub async fn create_ai_account(&self, name: &str, properties: Value) -> Value {
        self.ok(
            reqwest::Method::PUT,
            "/resourcegroups/rg1",
            Some(json!({"location": "westus"})),
        )
        .await;
        let acct =
            format!("/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts/{name}");
        self.ok(
            reqwest::Method::PUT,
            &acct,
            Some(json!({"location": "westus", "kind": "AIServices", "sku": {"name": "S0"}, "properties": properties})),
        )
        .await;
        self.ok(reqwest::Method::POST, &format!("{acct}/listKeys"), None)
            .await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Result<(u16, Value)> {
        let url = format!(
            "{}/subscriptions/{}{path}?api-version=2025-06-01",
            self.base, self.sub
        );
        let mut r = self.http.request(method, url).bearer_auth(&self.token);
        r = match body {
            Some(b) => r.json(&b),
            None => r.header("content-length", "0"),
        };
        let resp = r.send().await?;
        let status = resp.status().as_u16();
        let v = resp.json().await.unwrap_or(Value::Null);
        Ok((status, v))
    }

    pub async fn ok(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.send(method, path, body).await.expect("a JSON answer");
        assert!((200..300).contains(&status), "{status}: {v}");
        v
    }
}

pub const BATCH: &str = "/resourceGroups/rg1/providers/Microsoft.Batch/batchAccounts/crash1";

/// Runs `keyrotor ARGS` against `server` (its bootstrap credentials);
/// returns (success, stdout, stderr).
pub fn kr_run(server: &Server, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("KEYROTOR_BOOTSTRAP", server.dir.join("bootstrap.json"))
        .stdin(Stdio::null())
        .output()
        .expect("the CLI runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `keyrotor ARGS`, which must succeed: its standard output.
pub fn kr(server: &Server, args: &[&str]) -> String {
    let (ok, out, err) = kr_run(server, args);
    assert!(ok, "keyrotor {}: {err}", args.join(" "));
    out
}

/// `keyrotor ARGS` (JSON output): the parsed answer.
pub fn kr_json(server: &Server, args: &[&str]) -> Value {
    let out = kr(server, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("keyrotor {}: {e}: {out}", args.join(" ")))
}
