//! `keyrotor vault`: vaults on ARM (create, list, delete, recover, purge),
//! and, through a vault's data plane, its keys and secrets.

mod key;
mod policy;
mod secret;

use anyhow::{anyhow, bail, Context, Result};
use reqwest::Method;
use serde_json::json;

use super::api_versions::API_KV_MGMT;
use super::args::confirm;
use super::client::{self, enc, Api};
use super::output::emit;
use super::Session;

#[derive(Debug, clap::Subcommand)]
pub enum VaultCmd {
    /// Create (or update) a vault. Soft delete is always on.
    Create {
        #[arg(short = 'n', long)]
        name: String,
        #[arg(short = 'g', long)]
        resource_group: String,
        #[arg(short = 'l', long, default_value = "westus")]
        location: String,
        /// Days a deleted vault, key or secret stays recoverable (7-90).
        #[arg(long, default_value_t = 90)]
        retention_days: u32,
        /// Refuse purging before the retention ends; cannot be turned off.
        #[arg(long)]
        enable_purge_protection: bool,
    },
    /// List vaults (of a group, or of the subscription).
    List {
        #[arg(short = 'g', long)]
        resource_group: Option<String>,
        /// List soft-deleted vaults instead.
        #[arg(long)]
        deleted: bool,
    },
    /// Soft-delete a vault (recoverable during its retention period).
    Delete {
        #[arg(short = 'n', long)]
        name: String,
        #[arg(short = 'g', long)]
        resource_group: String,
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// Recover a soft-deleted vault.
    Recover {
        #[arg(short = 'n', long)]
        name: String,
        #[arg(short = 'g', long)]
        resource_group: String,
    },
    /// Remove a soft-deleted vault for good (refused under purge protection).
    Purge {
        #[arg(short = 'n', long)]
        name: String,
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// Keys: create, list, rotate, rotation policy.
    Key {
        #[command(subcommand)]
        cmd: key::VaultKeyCmd,
    },
    /// Secrets: set, get, list.
    Secret {
        #[command(subcommand)]
        cmd: secret::VaultSecretCmd,
    },
}

const VAULT_COLUMNS: &[(&str, &str)] = &[
    ("Name", "/name"),
    ("Location", "/location"),
    ("VaultUri", "/properties/vaultUri"),
    ("RetentionDays", "/properties/softDeleteRetentionInDays"),
    ("PurgeProtection", "/properties/enablePurgeProtection"),
];

/// Finds the vault by name and signs in to its data plane (the vault
/// host resolves to the service's own address: one service serves all).
async fn data_plane(c: &Session, name: &str) -> Result<Api> {
    let list = c
        .arm
        .ok(
            Method::GET,
            &format!(
                "/subscriptions/{}/providers/Microsoft.KeyVault/vaults",
                c.subscription
            ),
            API_KV_MGMT,
            None,
        )
        .await?;
    let uri = list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| {
            v["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .and_then(|v| v["properties"]["vaultUri"].as_str())
        .ok_or_else(|| anyhow!("(VaultNotFound) no vault named '{name}'"))?
        .to_string();
    let url = reqwest::Url::parse(&uri).context("the vault URI is not a URL")?;
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let base = reqwest::Url::parse(c.arm.base()).context("the endpoint is not a URL")?;
    let mut builder = client::builder(c.ca_pem.as_deref())?;
    if let (Some(bh), Some(bp)) = (base.host_str(), base.port_or_known_default()) {
        let target = tokio::net::lookup_host((bh.trim_matches(['[', ']']), bp))
            .await
            .ok()
            .and_then(|mut a| a.next());
        if let Some(mut addr) = target {
            addr.set_port(port);
            builder = builder.resolve(&host, addr);
        }
    }
    let http = builder.build()?;
    let resource = match host.split_once('.') {
        Some((_, rest)) => match url.port() {
            Some(p) => format!("https://{rest}:{p}"),
            None => format!("https://{rest}"),
        },
        None => bail!("the vault URI has no vault host name"),
    };
    let token = c.sign_in.token(&format!("{resource}/.default")).await?;
    Ok(Api::new(http, uri.trim_end_matches('/').to_string(), token))
}

fn vault_path(c: &Session, group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
        c.subscription,
        enc(group),
        enc(name)
    )
}

/// The location of the soft-deleted vault `name`.
async fn deleted_location(c: &Session, name: &str) -> Result<String> {
    let list = c
        .arm
        .ok(
            Method::GET,
            &format!(
                "/subscriptions/{}/providers/Microsoft.KeyVault/deletedVaults",
                c.subscription
            ),
            API_KV_MGMT,
            None,
        )
        .await?;
    list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| {
            v["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .and_then(|v| v["properties"]["location"].as_str().map(str::to_string))
        .ok_or_else(|| anyhow!("(ResourceNotFound) no deleted vault named '{name}'"))
}

pub(super) async fn run(c: &Session, cmd: VaultCmd) -> Result<()> {
    match cmd {
        VaultCmd::Create {
            name,
            resource_group,
            location,
            retention_days,
            enable_purge_protection,
        } => {
            let mut props = json!({
                "sku": {"family": "A", "name": "standard"},
                "enableSoftDelete": true,
                "softDeleteRetentionInDays": retention_days,
                "enableRbacAuthorization": true,
            });
            if enable_purge_protection {
                props["enablePurgeProtection"] = json!(true);
            }
            let v = c
                .arm
                .ok(
                    Method::PUT,
                    &vault_path(c, &resource_group, &name),
                    API_KV_MGMT,
                    Some(json!({"location": location, "properties": props})),
                )
                .await?;
            emit(c.output, &v, VAULT_COLUMNS)
        }
        VaultCmd::List {
            resource_group,
            deleted,
        } => {
            let path = match (&resource_group, deleted) {
                (_, true) => format!(
                    "/subscriptions/{}/providers/Microsoft.KeyVault/deletedVaults",
                    c.subscription
                ),
                (Some(g), false) => format!(
                    "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults",
                    c.subscription,
                    enc(g)
                ),
                (None, false) => format!(
                    "/subscriptions/{}/providers/Microsoft.KeyVault/vaults",
                    c.subscription
                ),
            };
            let v = c.arm.ok(Method::GET, &path, API_KV_MGMT, None).await?;
            if deleted {
                emit(
                    c.output,
                    &v["value"],
                    &[
                        ("Name", "/name"),
                        ("Location", "/properties/location"),
                        ("Deleted", "/properties/deletionDate"),
                        ("PurgeAfter", "/properties/scheduledPurgeDate"),
                        ("PurgeProtection", "/properties/purgeProtectionEnabled"),
                    ],
                )
            } else {
                emit(c.output, &v["value"], VAULT_COLUMNS)
            }
        }
        VaultCmd::Delete {
            name,
            resource_group,
            yes,
        } => {
            confirm(
                &format!("delete vault '{name}' (recoverable during its retention period)"),
                yes,
            )?;
            c.arm
                .ok(
                    Method::DELETE,
                    &vault_path(c, &resource_group, &name),
                    API_KV_MGMT,
                    None,
                )
                .await?;
            Ok(())
        }
        VaultCmd::Recover {
            name,
            resource_group,
        } => {
            let location = deleted_location(c, &name).await?;
            let v = c
                .arm
                .ok(
                    Method::PUT,
                    &vault_path(c, &resource_group, &name),
                    API_KV_MGMT,
                    Some(json!({"location": location, "properties": {"createMode": "recover", "sku": {"family": "A", "name": "standard"}}})),
                )
                .await?;
            emit(c.output, &v, VAULT_COLUMNS)
        }
        VaultCmd::Purge { name, yes } => {
            confirm(
                &format!("purge vault '{name}' and everything in it for good"),
                yes,
            )?;
            let location = deleted_location(c, &name).await?;
            c.arm
                .ok(
                    Method::POST,
                    &format!(
                        "/subscriptions/{}/providers/Microsoft.KeyVault/locations/{}/deletedVaults/{}/purge",
                        c.subscription,
                        enc(&location),
                        enc(&name)
                    ),
                    API_KV_MGMT,
                    None,
                )
                .await?;
            Ok(())
        }
        VaultCmd::Key { cmd } => key::run(c, cmd).await,
        VaultCmd::Secret { cmd } => secret::run(c, cmd).await,
    }
}
