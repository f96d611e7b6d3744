//! What the benchmarks that start the real binary share.

use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_keyrotor");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A token of the bootstrap administrator (`bootstrap` is bootstrap.json)
/// for `scope`, from the server's client-credentials endpoint.
pub async fn token(http: &reqwest::Client, bootstrap: &serde_json::Value, scope: &str) -> String {
    let s = |k: &str| bootstrap[k].as_str().unwrap_or_default().to_string();
    let v: serde_json::Value = http
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            s("authority"),
            s("tenantId")
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &s("clientId")),
            ("client_secret", &s("clientSecret")),
            ("scope", scope),
        ])
        .send()
        .await
        .expect("the token endpoint answers")
        .json()
        .await
        .expect("a JSON token response");
    v["access_token"].as_str().unwrap_or_default().to_string()
}

/// `keyrotor serve` on 127.0.0.1:`port` with `dir` as its data directory.
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
