//! `keyrotor identity`: service principals, their client secrets, and the
//! token-signing key.

use anyhow::{anyhow, Result};
use keyrotor_arm::wire::api_versions::KEYROTOR;
use keyrotor_arm::wire::identity::{CreatePrincipal, Principal, RemoveSecret, SecretLifetime};
use keyrotor_arm::wire::ids::{ROTATE_SIGNING_KEY, SERVICE_PRINCIPALS, SIGNING_KEYS};
use keyrotor_arm::wire::{List, Timestamp};
use reqwest::Method;
use serde::Serialize;

use super::args::{confirm, parse_window};
use super::client::{body, enc};
use super::output::emit;
use super::Session;

#[derive(Debug, clap::Subcommand)]
pub enum IdentityCmd {
    /// Service principals (client id + client secrets).
    Sp {
        #[command(subcommand)]
        cmd: SpCmd,
    },
    /// The issuer's token-signing key.
    SigningKey {
        #[command(subcommand)]
        cmd: SigningKeyCmd,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum SpCmd {
    /// Create a service principal; prints its client id and secret (shown once).
    Create {
        /// Display name of the service principal.
        #[arg(short = 'n', long)]
        name: String,
        /// Lifetime of the first secret (e.g. 90d); default: no expiry.
        #[arg(long, value_parser = parse_window)]
        secret_expires: Option<i64>,
    },
    /// List service principals (the JSON has their secrets: ids, created,
    /// expires and last-used times, never values).
    List,
    /// Delete a service principal.
    Delete {
        /// Client id of the service principal.
        #[arg(long = "id")]
        sp_id: String,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// Add or remove client secrets: add the new one, move clients, remove the old one.
    Secret {
        #[command(subcommand)]
        cmd: SecretCmd,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum SecretCmd {
    /// Add a client secret; prints it (shown once).
    Add {
        /// Client id of the service principal.
        #[arg(long = "id")]
        sp_id: String,
        /// Lifetime (e.g. 90d); default: no expiry.
        #[arg(long, value_parser = parse_window)]
        expires: Option<i64>,
    },
    /// List a principal's client secrets: when each was created, expires
    /// and last signed in, to tell which one is still used.
    List {
        /// Client id of the service principal.
        #[arg(long = "id")]
        sp_id: String,
    },
    /// Remove a client secret.
    Remove {
        /// Client id of the service principal.
        #[arg(long = "id")]
        sp_id: String,
        /// Id of the secret to remove (`identity sp list -o json` shows each secret's id).
        #[arg(long)]
        secret_id: String,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum SigningKeyCmd {
    /// Start signing with a new key; the old one stays in the JWKS until its tokens expire.
    Rotate,
    /// List the keys the JWKS publishes: which one signs, when each was
    /// created and superseded.
    List,
}

/// A service principal as `sp list` prints it: with its number of secrets
/// and when any of them last signed in.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    #[serde(flatten)]
    principal: Principal,
    secret_count: usize,
    last_sign_in_time: Option<Timestamp>,
}

const SP_COLUMNS: &[(&str, &str)] = &[
    ("ClientId", "/clientId"),
    ("DisplayName", "/displayName"),
    ("Created", "/createdTime"),
    ("Secrets", "/secretCount"),
    ("LastSignIn", "/lastSignInTime"),
];

pub(super) async fn run(c: &Session, cmd: IdentityCmd) -> Result<()> {
    const SPS: &str = SERVICE_PRINCIPALS;
    match cmd {
        IdentityCmd::Sp { cmd } => match cmd {
            SpCmd::Create {
                name,
                secret_expires,
            } => {
                let create = CreatePrincipal {
                    display_name: Some(name),
                    expires_in_seconds: secret_expires,
                };
                let v = c
                    .arm
                    .ok(Method::POST, SPS, KEYROTOR, body(&create)?)
                    .await?;
                emit(
                    c.output,
                    &v,
                    &[
                        ("ClientId", "/clientId"),
                        ("TenantId", "/tenantId"),
                        ("Secret", "/secret/value"),
                        ("Expires", "/secret/expiresTime"),
                    ],
                )
            }
            SpCmd::List => {
                let list: List<Principal> = c.arm.ok_as(Method::GET, SPS, KEYROTOR, None).await?;
                let listed: Vec<Listed> = list
                    .value
                    .into_iter()
                    .map(|principal| Listed {
                        secret_count: principal.secrets.len(),
                        last_sign_in_time: principal
                            .secrets
                            .iter()
                            .filter_map(|s| s.last_used_time)
                            .max(),
                        principal,
                    })
                    .collect();
                emit(c.output, &serde_json::to_value(listed)?, SP_COLUMNS)
            }
            SpCmd::Delete {
                sp_id: client_id,
                yes,
            } => {
                confirm(&format!("delete service principal '{client_id}'"), yes)?;
                c.arm
                    .ok(
                        Method::DELETE,
                        &format!("{SPS}/{}", enc(&client_id)),
                        KEYROTOR,
                        None,
                    )
                    .await?;
                Ok(())
            }
            SpCmd::Secret { cmd } => match cmd {
                SecretCmd::Add {
                    sp_id: client_id,
                    expires,
                } => {
                    let v = c
                        .arm
                        .ok(
                            Method::POST,
                            &format!("{SPS}/{}/addSecret", enc(&client_id)),
                            KEYROTOR,
                            body(&SecretLifetime {
                                expires_in_seconds: expires,
                            })?,
                        )
                        .await?;
                    emit(
                        c.output,
                        &v,
                        &[
                            ("SecretId", "/secretId"),
                            ("Value", "/value"),
                            ("Expires", "/expiresTime"),
                        ],
                    )
                }
                SecretCmd::List { sp_id: client_id } => {
                    let list: List<Principal> =
                        c.arm.ok_as(Method::GET, SPS, KEYROTOR, None).await?;
                    let principal = list
                        .value
                        .into_iter()
                        .find(|p| p.client_id.eq_ignore_ascii_case(&client_id))
                        .ok_or_else(|| {
                            anyhow!("(PrincipalNotFound) no service principal '{client_id}'")
                        })?;
                    emit(
                        c.output,
                        &serde_json::to_value(principal.secrets)?,
                        &[
                            ("SecretId", "/secretId"),
                            ("Created", "/createdTime"),
                            ("Expires", "/expiresTime"),
                            ("LastUsed", "/lastUsedTime"),
                        ],
                    )
                }
                SecretCmd::Remove {
                    sp_id: client_id,
                    secret_id,
                } => {
                    c.arm
                        .ok(
                            Method::POST,
                            &format!("{SPS}/{}/removeSecret", enc(&client_id)),
                            KEYROTOR,
                            body(&RemoveSecret {
                                secret_id: Some(secret_id),
                            })?,
                        )
                        .await?;
                    Ok(())
                }
            },
        },
        IdentityCmd::SigningKey {
            cmd: SigningKeyCmd::Rotate,
        } => {
            let v = c
                .arm
                .ok(Method::POST, ROTATE_SIGNING_KEY, KEYROTOR, None)
                .await?;
            emit(c.output, &v, &[("SigningKid", "/signingKid")])
        }
        IdentityCmd::SigningKey {
            cmd: SigningKeyCmd::List,
        } => {
            let list: List<serde_json::Value> = c
                .arm
                .ok_as(Method::GET, SIGNING_KEYS, KEYROTOR, None)
                .await?;
            emit(
                c.output,
                &serde_json::Value::Array(list.value),
                &[
                    ("Kid", "/kid"),
                    ("Signing", "/signing"),
                    ("Created", "/createdTime"),
                    ("Superseded", "/supersededTime"),
                ],
            )
        }
    }
}
