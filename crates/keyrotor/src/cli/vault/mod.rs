//! `keyrotor vault`: vaults on ARM (create, list, delete, recover, purge),
//! and, through a vault's data plane, its keys and secrets.

mod key;
mod policy;
mod secret;

use anyhow::{anyhow, bail, Context, Result};
use keyrotor_arm::wire::api_versions::{KEY_VAULT as API_KV_MGMT, RESOURCES};
use keyrotor_arm::wire::group::ResourceGroup;
use keyrotor_arm::wire::ids;
use keyrotor_arm::wire::vault::{
    DeletedVault, Vault, VaultCreateProperties, VaultRequest, VaultSettingsRequest, VaultSku,
};
use keyrotor_arm::wire::List;
use reqwest::Method;
use serde_json::Value;

use super::args::confirm;
use super::client::{self, body, enc, Api};
use super::output::emit;
use super::Session;

#[derive(Debug, clap::Subcommand)]
pub enum VaultCmd {
    /// Create (or update) a vault. Soft delete is always on.
    Create {
        /// Name of the vault.
        #[arg(short = 'n', long)]
        name: String,
        /// Resource group of the vault.
        #[arg(short = 'g', long)]
        resource_group: String,
        /// Location (default: the resource group's).
        #[arg(short = 'l', long)]
        location: Option<String>,
        /// Days a deleted vault, key or secret stays recoverable (7-90).
        #[arg(long, default_value_t = 90)]
        retention_days: u32,
        /// Refuse purging before the retention ends; cannot be turned off.
        #[arg(long)]
        enable_purge_protection: bool,
    },
    /// Show one vault.
    Show {
        /// Name of the vault.
        #[arg(short = 'n', long)]
        name: String,
        /// Resource group of the vault.
        #[arg(short = 'g', long)]
        resource_group: String,
    },
    /// List vaults (of a group, or of the subscription).
    List {
        /// Resource group of the vault.
        #[arg(short = 'g', long)]
        resource_group: Option<String>,
        /// List soft-deleted vaults instead.
        #[arg(long)]
        deleted: bool,
    },
    /// Soft-delete a vault (recoverable during its retention period).
    Delete {
        /// Name of the vault.
        #[arg(short = 'n', long)]
        name: String,
        /// Resource group of the vault.
        #[arg(short = 'g', long)]
        resource_group: String,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// Recover a soft-deleted vault.
    Recover {
        /// Name of the vault.
        #[arg(short = 'n', long)]
        name: String,
        /// Resource group of the vault.
        #[arg(short = 'g', long)]
        resource_group: String,
    },
    /// Remove a soft-deleted vault for good (refused under purge protection).
    Purge {
        /// Name of the vault.
        #[arg(short = 'n', long)]
        name: String,
        /// Do not ask for confirmation.
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

/// The properties of a recovering vault PUT.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RecoverProperties {
    create_mode: &'static str,
    sku: VaultSku,
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
    let list: List<Vault> = c
        .arm
        .ok_as(
            Method::GET,
            &ids::vaults(&c.subscription, None),
            API_KV_MGMT,
            None,
        )
        .await?;
    let uri = list
        .value
        .into_iter()
        .find(|v| v.name.eq_ignore_ascii_case(name))
        .map(|v| v.properties.vault_uri)
        .ok_or_else(|| anyhow!("(VaultNotFound) no vault named '{name}'"))?;
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
    ids::vault(&c.subscription, &enc(group), &enc(name))
}

/// The location of the soft-deleted vault `name`.
async fn deleted_location(c: &Session, name: &str) -> Result<String> {
    let list: List<DeletedVault> = c
        .arm
        .ok_as(
            Method::GET,
            &ids::deleted_vaults(&c.subscription),
            API_KV_MGMT,
            None,
        )
        .await?;
    list.value
        .into_iter()
        .find(|v| v.name.eq_ignore_ascii_case(name))
        .map(|v| v.properties.location)
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
            let location = match location {
                Some(l) => l,
                None => {
                    let group: ResourceGroup = c
                        .arm
                        .ok_as(Method::GET, &c.group_path(&resource_group), RESOURCES, None)
                        .await?;
                    group.location
                }
            };
            let request = VaultRequest {
                location: Some(location),
                tags: None,
                properties: Some(VaultCreateProperties {
                    sku: VaultSku::standard(),
                    enable_rbac_authorization: true,
                    settings: VaultSettingsRequest {
                        enable_soft_delete: Some(true),
                        soft_delete_retention_in_days: Some(retention_days),
                        enable_purge_protection: enable_purge_protection.then_some(true),
                        create_mode: None,
                    },
                }),
            };
            let v = c
                .arm
                .ok(
                    Method::PUT,
                    &vault_path(c, &resource_group, &name),
                    API_KV_MGMT,
                    body(&request)?,
                )
                .await?;
            emit(c.output, &v, VAULT_COLUMNS)
        }
        VaultCmd::Show {
            name,
            resource_group,
        } => {
            let v = c
                .arm
                .ok(
                    Method::GET,
                    &vault_path(c, &resource_group, &name),
                    API_KV_MGMT,
                    None,
                )
                .await?;
            emit(c.output, &v, VAULT_COLUMNS)
        }
        VaultCmd::List {
            resource_group,
            deleted,
        } => {
            let path = if deleted {
                ids::deleted_vaults(&c.subscription)
            } else {
                let group = resource_group.as_deref().map(enc);
                ids::vaults(&c.subscription, group.as_deref())
            };
            let v: List<Value> = c.arm.ok_as(Method::GET, &path, API_KV_MGMT, None).await?;
            let v = Value::Array(v.value);
            if deleted {
                emit(
                    c.output,
                    &v,
                    &[
                        ("Name", "/name"),
                        ("Location", "/properties/location"),
                        ("Deleted", "/properties/deletionDate"),
                        ("PurgeAfter", "/properties/scheduledPurgeDate"),
                        ("PurgeProtection", "/properties/purgeProtectionEnabled"),
                    ],
                )
            } else {
                emit(c.output, &v, VAULT_COLUMNS)
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
            let request = VaultRequest {
                location: Some(location),
                tags: None,
                properties: Some(RecoverProperties {
                    create_mode: "recover",
                    sku: VaultSku::standard(),
                }),
            };
            let v = c
                .arm
                .ok(
                    Method::PUT,
                    &vault_path(c, &resource_group, &name),
                    API_KV_MGMT,
                    body(&request)?,
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
                        "{}/purge",
                        ids::deleted_vault(&c.subscription, &enc(&location), &enc(&name))
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
