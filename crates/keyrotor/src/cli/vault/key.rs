//! `keyrotor vault key`: create, list and rotate a vault's keys; their
//! rotation policies are in [`super::policy`].

use anyhow::Result;
use reqwest::Method;
use serde_json::{json, Value};

use super::{data_plane, policy};
use crate::cli::client::enc;
use crate::cli::output::emit;
use crate::cli::Session;
use keyrotor_arm::wire::api_versions::KEY_VAULT_DATA as API_KV;

#[derive(Debug, clap::Subcommand)]
pub enum VaultKeyCmd {
    /// Create a key (a new version if it exists).
    Create {
        /// Name of the vault (`--vault-name` is az's spelling).
        #[arg(long, visible_alias = "vault-name")]
        vault: String,
        /// Name of the key.
        #[arg(short = 'n', long)]
        name: String,
        /// RSA, RSA-HSM, EC, EC-HSM, oct or oct-HSM.
        #[arg(long, default_value = "RSA")]
        kty: String,
        /// RSA: 2048, 3072 or 4096; oct: 256.
        #[arg(long)]
        size: Option<u32>,
        /// EC: P-256, P-384 or P-521.
        #[arg(long)]
        curve: Option<String>,
    },
    /// List keys, or the versions of one key.
    List {
        /// Name of the vault (`--vault-name` is az's spelling).
        #[arg(long, visible_alias = "vault-name")]
        vault: String,
        /// Show this key's versions.
        #[arg(short = 'n', long)]
        name: Option<String>,
    },
    /// Rotate a key now (a new version; the old ones still unwrap).
    Rotate {
        /// Name of the vault (`--vault-name` is az's spelling).
        #[arg(long, visible_alias = "vault-name")]
        vault: String,
        /// Name of the key.
        #[arg(short = 'n', long)]
        name: String,
    },
    /// Show, set or run rotation policies.
    Policy {
        #[command(subcommand)]
        cmd: policy::PolicyCmd,
    },
}

const KEY_COLUMNS: &[(&str, &str)] = &[
    ("Kid", "/key/kid"),
    ("Kty", "/key/kty"),
    ("Enabled", "/attributes/enabled"),
    ("Expires", "/attributes/exp"),
];

fn last_segment(id: &str, n: usize) -> String {
    id.rsplit('/').nth(n).unwrap_or_default().to_string()
}

/// A key listing's items with `name` and `version` taken from their kid.
fn vault_key_rows(v: &Value) -> Value {
    let items = v["value"].as_array().cloned().unwrap_or_default();
    Value::Array(
        items
            .into_iter()
            .map(|mut i| {
                let kid = i["kid"].as_str().unwrap_or_default().to_string();
                i["name"] = json!(if kid.matches('/').count() > 4 {
                    last_segment(&kid, 1)
                } else {
                    last_segment(&kid, 0)
                });
                i["version"] = json!(if kid.matches('/').count() > 4 {
                    last_segment(&kid, 0)
                } else {
                    String::new()
                });
                i
            })
            .collect(),
    )
}

pub(super) async fn run(c: &Session, cmd: VaultKeyCmd) -> Result<()> {
    match cmd {
        VaultKeyCmd::Create {
            vault,
            name,
            kty,
            size,
            curve,
        } => {
            let v = data_plane(c, &vault).await?;
            let mut body = json!({"kty": kty});
            if let Some(s) = size {
                body["key_size"] = json!(s);
            }
            if let Some(cv) = curve {
                body["crv"] = json!(cv);
            }
            let out = v
                .ok(
                    Method::POST,
                    &format!("/keys/{}/create", enc(&name)),
                    API_KV,
                    Some(body),
                )
                .await?;
            emit(c.output, &out, KEY_COLUMNS)
        }
        VaultKeyCmd::List { vault, name } => {
            let v = data_plane(c, &vault).await?;
            let path = match &name {
                Some(n) => format!("/keys/{}/versions", enc(n)),
                None => "/keys".to_string(),
            };
            let out = v.ok(Method::GET, &path, API_KV, None).await?;
            emit(
                c.output,
                &vault_key_rows(&out),
                &[
                    ("Name", "/name"),
                    ("Version", "/version"),
                    ("Enabled", "/attributes/enabled"),
                    ("Created", "/attributes/created"),
                    ("Expires", "/attributes/exp"),
                ],
            )
        }
        VaultKeyCmd::Rotate { vault, name } => {
            let v = data_plane(c, &vault).await?;
            let out = v
                .ok(
                    Method::POST,
                    &format!("/keys/{}/rotate", enc(&name)),
                    API_KV,
                    None,
                )
                .await?;
            emit(c.output, &out, KEY_COLUMNS)
        }
        VaultKeyCmd::Policy { cmd } => policy::run(c, cmd).await,
    }
}
