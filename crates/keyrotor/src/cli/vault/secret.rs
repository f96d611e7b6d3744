//! `keyrotor vault secret`: set, get and list a vault's secrets.

use anyhow::{Context, Result};
use reqwest::Method;
use serde_json::json;

use super::data_plane;
use crate::cli::client::enc;
use crate::cli::output::emit;
use crate::cli::Session;
use keyrotor_arm::wire::api_versions::KEY_VAULT_DATA as API_KV;

#[derive(Debug, clap::Subcommand)]
pub enum VaultSecretCmd {
    /// Set a secret (a new version). The value comes from --value, or from
    /// standard input when --value is absent (keeps it out of shell history).
    Set {
        /// Name of the vault (`--vault-name` is az's spelling).
        #[arg(long, visible_alias = "vault-name")]
        vault: String,
        /// Name of the secret.
        #[arg(short = 'n', long)]
        name: String,
        /// The value (prefer standard input: it stays out of shell history).
        #[arg(long)]
        value: Option<String>,
        /// Content type to store with the secret (e.g. text/plain).
        #[arg(long)]
        content_type: Option<String>,
    },
    /// Print a secret's value (latest, or --version).
    Get {
        /// Name of the vault (`--vault-name` is az's spelling).
        #[arg(long, visible_alias = "vault-name")]
        vault: String,
        /// Name of the secret.
        #[arg(short = 'n', long)]
        name: String,
        /// A version id instead of the latest.
        #[arg(long)]
        version: Option<String>,
    },
    /// List secrets (metadata only), or the versions of one.
    List {
        /// Name of the vault (`--vault-name` is az's spelling).
        #[arg(long, visible_alias = "vault-name")]
        vault: String,
        /// Name of the secret.
        #[arg(short = 'n', long)]
        name: Option<String>,
    },
}

pub(super) async fn run(c: &Session, cmd: VaultSecretCmd) -> Result<()> {
    match cmd {
        VaultSecretCmd::Set {
            vault,
            name,
            value,
            content_type,
        } => {
            let value = zeroize::Zeroizing::new(match value {
                Some(v) => v,
                None => {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                        .context("reading the secret value from standard input")?;
                    s.trim_end_matches(['\n', '\r']).to_string()
                }
            });
            let v = data_plane(c, &vault).await?;
            let mut body = json!({"value": value.as_str()});
            if let Some(ct) = content_type {
                body["contentType"] = json!(ct);
            }
            let mut out = v
                .ok(
                    Method::PUT,
                    &format!("/secrets/{}", enc(&name)),
                    API_KV,
                    Some(body),
                )
                .await?;
            // Never echo the value back.
            if let Some(m) = out.as_object_mut() {
                m.remove("value");
            }
            emit(
                c.output,
                &out,
                &[("Id", "/id"), ("Enabled", "/attributes/enabled")],
            )
        }
        VaultSecretCmd::Get {
            vault,
            name,
            version,
        } => {
            let v = data_plane(c, &vault).await?;
            let out = v
                .ok(
                    Method::GET,
                    &format!(
                        "/secrets/{}/{}",
                        enc(&name),
                        version.as_deref().map(enc).unwrap_or_default()
                    ),
                    API_KV,
                    None,
                )
                .await?;
            emit(c.output, &out, &[("Value", "/value")])
        }
        VaultSecretCmd::List { vault, name } => {
            let v = data_plane(c, &vault).await?;
            let path = match &name {
                Some(n) => format!("/secrets/{}/versions", enc(n)),
                None => "/secrets".to_string(),
            };
            let out = v.ok(Method::GET, &path, API_KV, None).await?;
            emit(
                c.output,
                &out["value"],
                &[
                    ("Id", "/id"),
                    ("ContentType", "/contentType"),
                    ("Enabled", "/attributes/enabled"),
                    ("Updated", "/attributes/updated"),
                ],
            )
        }
    }
}
