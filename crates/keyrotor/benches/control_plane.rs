//! Control-plane benchmark (`cargo bench -p keyrotor --bench control_plane`).
//!
//! Starts the release binary and prints:
//! * start-up to first served request on an existing data dir (target < 100 ms;
//!   anchor: Azurite 0.79 s, ../shared/bench/README.md);
//! * regenerateKey latency over HTTPS on loopback, p50/p99 (target p99 < 10 ms);
//! * listKeys latency with 10 and with 10,000 accounts (target: flat) and the
//!   server's RSS with 10,000 accounts (target < 100 MB).
//!
//! `KEYROTOR_BENCH_ACCOUNTS` changes the account count.
//!
//! With `KEYROTOR_BENCH_BASELINE_BIN` (a keyrotor binary built without the
//! activity log's chain and key-read entries, e.g. the parent commit's
//! release build) it also prints regenerateKey and listKeys p50/p99 of that
//! binary and of this one, measured in the same run in alternating rounds
//! on fresh data directories (target: the activity log adds < 1 ms p99 to
//! a regenerateKey).

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const AZURITE_STARTUP_MS: f64 = 790.0;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (percentile(&v, 0.5), percentile(&v, 0.99), v[v.len() - 1])
}

fn client(dir: &Path) -> (reqwest::Client, Value) {
    let b: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("bootstrap.json")).expect("bootstrap.json"),
    )
    .expect("bootstrap.json is JSON");
    let ca = std::fs::read(b["caCert"].as_str().unwrap_or_default()).expect("the CA certificate");
    let http = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("a PEM certificate"))
        .pool_max_idle_per_host(64)
        .build()
        .expect("an HTTP client");
    (http, b)
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A server of `bin` on a fresh data directory under `root`, with ten Batch
/// accounts: its process, HTTP client, token and ARM account URL prefix.
struct Target {
    child: std::process::Child,
    http: reqwest::Client,
    token: String,
    accounts: String,
}

async fn target(bin: &str, root: &Path, name: &str) -> Target {
    let dir = root.join(name);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = std::process::Command::new(bin)
        .args(["serve", "--data-dir"])
        .arg(&dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("keyrotor starts");
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
        || !dir.join("bootstrap.json").exists()
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (http, b) = client(&dir);
    let token = common::admin_token(&http, &b, "https://management.azure.com/.default").await;
    let sub = format!(
        "{}/subscriptions/{}",
        b["resourceManager"].as_str().unwrap_or_default(),
        b["subscriptionId"].as_str().unwrap_or_default()
    );
    let t = Target {
        child,
        http,
        token,
        accounts: format!(
            "{sub}/resourceGroups/bench/providers/Microsoft.Batch/batchAccounts/bench"
        ),
    };
    t.send(
        reqwest::Method::PUT,
        format!("{sub}/resourcegroups/bench?api-version=2025-04-01"),
        Some(json!({"location": "westus"})),
    )
    .await;
    for i in 0..10 {
        t.send(
            reqwest::Method::PUT,
            format!("{}{i}?api-version=2025-06-01", t.accounts),
            Some(json!({"location": "westus"})),
        )
        .await;
    }
    t
}

impl Target {
    async fn send(&self, method: reqwest::Method, url: String, body: Option<Value>) {
        let mut r = self.http.request(method, url).bearer_auth(&self.token);
        r = match body {
            Some(b) => r.json(&b),
            None => r.header("content-length", "0"),
        };
        let resp = r.send().await.expect("the server answers");
        assert!(resp.status().is_success(), "{}", resp.status());
        let _ = resp.bytes().await;
    }

    /// `n` sequential regenerateKeys, then `n` listKeys: their latencies (ms).
    async fn round(&self, n: usize, regen: &mut Vec<f64>, list: &mut Vec<f64>) {
        for i in 0..n {
            let name = if i % 2 == 0 { "Primary" } else { "Secondary" };
            let t = Instant::now();
            self.send(
                reqwest::Method::POST,
                format!(
                    "{}{}/regenerateKeys?api-version=2025-06-01",
                    self.accounts,
                    i % 10
                ),
                Some(json!({"keyName": name})),
            )
            .await;
            regen.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        for i in 0..n {
            let t = Instant::now();
            self.send(
                reqwest::Method::POST,
                format!(
                    "{}{}/listKeys?api-version=2025-06-01",
                    self.accounts,
                    i % 10
                ),
                None,
            )
            .await;
            list.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
}

/// regenerateKey and listKeys of the baseline binary and of this one, in
/// alternating rounds (so that load on the machine hits both alike).
fn before_after(rt: &tokio::runtime::Runtime, baseline: &str) {
    let tmp = tempfile::tempdir().expect("temp dir");
    rt.block_on(async {
        let mut before = target(baseline, tmp.path(), "before").await;
        let mut after = target(common::BIN, tmp.path(), "after").await;
        let (mut rb, mut lb, mut ra, mut la) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..10 {
            before.round(50, &mut rb, &mut lb).await;
            after.round(50, &mut ra, &mut la).await;
        }
        let (b50, b99, _) = stats(rb);
        let (a50, a99, _) = stats(ra);
        println!("regenerate_key_ms before (baseline binary)  p50 {b50:.2}  p99 {b99:.2}");
        println!("regenerate_key_ms after (activity log)      p50 {a50:.2}  p99 {a99:.2}  added p50 {:+.2}  p99 {:+.2}  (target p99 added < 1)", a50 - b50, a99 - b99);
        let (b50, b99, _) = stats(lb);
        let (a50, a99, _) = stats(la);
        println!("list_keys_ms before (baseline binary)       p50 {b50:.2}  p99 {b99:.2}");
        println!("list_keys_ms after (key read recorded)      p50 {a50:.2}  p99 {a99:.2}  added p50 {:+.2}  p99 {:+.2}", a50 - b50, a99 - b99);
        for t in [&mut before, &mut after] {
            let _ = t.child.kill();
            let _ = t.child.wait();
        }
    });
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let accounts: usize = std::env::var("KEYROTOR_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("data");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");

    // First start creates the data dir (on a port the system picks, which
    // the later starts reuse); later starts measure the warm path.
    let first = common::Server::start(&dir, 0);
    let port = first.port;
    drop(first);
    let (http, b) = client(&dir);
    let tenant = b["tenantId"].as_str().unwrap_or_default().to_string();
    let base = b["resourceManager"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let discovery = format!("{base}/{tenant}/v2.0/.well-known/openid-configuration");

    let mut startups = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let mut child = common::spawn(&dir, port);
        rt.block_on(async {
            loop {
                // A fresh client each time: a full TLS handshake and a served request.
                let c = client(&dir).0;
                if let Ok(r) = c.get(&discovery).send().await {
                    if r.status().is_success() {
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        startups.push(t.elapsed().as_secs_f64() * 1000.0);
        let _ = child.kill();
        let _ = child.wait();
    }
    let (p50, _, max) = stats(startups);
    println!("startup_to_first_request_ms  median {p50:.1}  max {max:.1}  (target < 100; Azurite anchor {AZURITE_STARTUP_MS} ms => {:.1}x faster)", AZURITE_STARTUP_MS / p50);

    let mut server = common::spawn(&dir, port);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(2));
    }
    let sub = b["subscriptionId"].as_str().unwrap_or_default().to_string();
    rt.block_on(async {
        let tok = common::admin_token(&http, &b, "https://management.azure.com/.default").await;
        let arm = |path: String| format!("{base}/subscriptions/{sub}{path}");
        let send = |method: reqwest::Method, url: String, body: Option<Value>| {
            let mut r = http.request(method, url).bearer_auth(&tok);
            r = match body {
                Some(b) => r.json(&b),
                None => r.header("content-length", "0"),
            };
            async move {
                let resp = r.send().await.expect("the server answers");
                assert!(resp.status().is_success(), "{}", resp.status());
                resp.bytes().await.unwrap_or_default()
            }
        };
        send(reqwest::Method::PUT, arm("/resourcegroups/bench?api-version=2025-04-01".into()), Some(json!({"location": "westus"}))).await;
        let acct = |i: usize| arm(format!("/resourceGroups/bench/providers/Microsoft.Batch/batchAccounts/bench{i}"));
        for i in 0..10 {
            send(reqwest::Method::PUT, format!("{}?api-version=2025-06-01", acct(i)), Some(json!({"location": "westus"}))).await;
        }

        // regenerateKey latency, sequential, keep-alive.
        let mut lat = Vec::new();
        for i in 0..500 {
            let name = if i % 2 == 0 { "Primary" } else { "Secondary" };
            let t = Instant::now();
            send(reqwest::Method::POST, format!("{}/regenerateKeys?api-version=2025-06-01", acct(i % 10)), Some(json!({"keyName": name}))).await;
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let (p50, p99, max) = stats(lat);
        println!("regenerate_key_https_ms      p50 {p50:.2}  p99 {p99:.2}  max {max:.2}  (target p99 < 10)");

        let list_keys = |n: usize| {
            let send = &send;
            let acct = &acct;
            async move {
                let mut lat = Vec::new();
                let t0 = Instant::now();
                for i in 0..1000usize {
                    let idx = (i * 7919) % n;
                    let t = Instant::now();
                    send(reqwest::Method::POST, format!("{}/listKeys?api-version=2025-06-01", acct(idx)), None).await;
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                let rate = 1000.0 / t0.elapsed().as_secs_f64();
                let (p50, p99, _) = stats(lat);
                (p50, p99, rate)
            }
        };
        let (s50, s99, srate) = list_keys(10).await;
        println!("list_keys_10_accounts_ms     p50 {s50:.2}  p99 {s99:.2}  ({srate:.0} req/s sequential)");

        let t = Instant::now();
        for j in 10..accounts {
            send(reqwest::Method::PUT, format!("{}?api-version=2025-06-01", acct(j)), Some(json!({"location": "westus"}))).await;
        }
        println!("created {accounts} accounts in {:.1} s", t.elapsed().as_secs_f64());
        let (l50, l99, lrate) = list_keys(accounts).await;
        println!("list_keys_{accounts}_accounts_ms  p50 {l50:.2}  p99 {l99:.2}  ({lrate:.0} req/s sequential)  ratio p50 vs 10 accounts {:.2}x", l50 / s50);
    });
    println!(
        "server_rss_mb_with_{accounts}_accounts  {:.1}  (target < 100)",
        rss_mb(server.id())
    );
    let _ = server.kill();
    let _ = server.wait();
    if let Ok(baseline) = std::env::var("KEYROTOR_BENCH_BASELINE_BIN") {
        before_after(&rt, &baseline);
    }
}
