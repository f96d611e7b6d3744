//! The `keyrotor` client commands, in az CLI style: `-g/--resource-group`,
//! `-n/--name`, JSON output by default, `-o table|tsv|none`. They talk to a
//! running service over its ARM API with the bootstrap (or given)
//! credentials, exactly as the az CLI would.
//!
//! This module holds the top-level commands, the connection options and
//! the sign-in; each command group has a module of its own with its clap
//! enum next to its handler.

mod account;
mod activity;
mod args;
mod auth;
mod client;
mod group;
mod hosts;
mod identity;
mod keys;
mod output;
mod role;
mod vault;

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use keyrotor_arm::wire::{api_versions, ids};
use keyrotor_types::AccountKind;
use serde::Deserialize;

use client::{enc, Api};
use output::Output;

/// How to reach and authenticate to the service (shown under their own
/// heading in every command's `--help`).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Connection")]
pub struct Conn {
    /// Bootstrap credentials file written by `keyrotor serve`.
    #[arg(
        long,
        global = true,
        env = "KEYROTOR_BOOTSTRAP",
        default_value = "./keyrotor-data/bootstrap.json"
    )]
    bootstrap: PathBuf,
    /// Service URL (overrides the bootstrap file).
    #[arg(long, global = true, env = "KEYROTOR_ENDPOINT")]
    endpoint: Option<String>,
    /// Tenant id (overrides the bootstrap file).
    #[arg(long, global = true, env = "KEYROTOR_TENANT_ID")]
    tenant: Option<String>,
    /// Client id of the service principal (overrides the bootstrap file).
    #[arg(long, global = true, env = "KEYROTOR_CLIENT_ID")]
    client_id: Option<String>,
    /// Client secret; prefer the environment variable to the command line.
    #[arg(
        long,
        global = true,
        env = "KEYROTOR_CLIENT_SECRET",
        hide_env_values = true
    )]
    client_secret: Option<String>,
    /// CA certificate (PEM) to trust (overrides the bootstrap file).
    #[arg(long, global = true, env = "KEYROTOR_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// Subscription id (default: the bootstrap subscription).
    #[arg(long, global = true, env = "KEYROTOR_SUBSCRIPTION")]
    subscription: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value = "json")]
    output: Output,
}

#[derive(Debug, clap::Subcommand)]
pub enum ClientCommand {
    /// Manage resource groups.
    Group {
        #[command(subcommand)]
        cmd: group::GroupCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// Manage Cosmos DB, Batch and AI Services accounts.
    Account {
        #[command(subcommand)]
        cmd: account::AccountCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// Manage service principals, their client secrets and the token-signing key.
    Identity {
        #[command(subcommand)]
        cmd: identity::IdentityCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// Turn key ("local") authentication off safely, in report-only mode, or back on.
    Auth {
        #[command(subcommand)]
        cmd: auth::AuthCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// List and regenerate account keys.
    Keys {
        #[command(subcommand)]
        cmd: keys::KeysCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// Key vaults, their keys (with rotation policies) and secrets.
    Vault {
        #[command(subcommand)]
        cmd: vault::VaultCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// Role-based access: role definitions and role assignments.
    Role {
        #[command(subcommand)]
        cmd: role::RoleCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// Who changed what and who read which keys: the activity log (list), and its hash-chain check (verify).
    Activity {
        #[command(subcommand)]
        cmd: activity::ActivityCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// /etc/hosts lines for vault (and --dns-suffix account) host names; --apply, --remove.
    Hosts {
        #[command(flatten)]
        args: hosts::HostsArgs,
        #[command(flatten)]
        conn: Conn,
    },
}

pub async fn run(cmd: ClientCommand) -> Result<()> {
    // Every command signs in the same way before it does anything, but
    // `hosts`, which signs in only when it needs the service (`--remove`
    // edits a local file).
    match cmd {
        ClientCommand::Group { cmd, conn } => group::run(&connect(&conn).await?, cmd).await,
        ClientCommand::Account { cmd, conn } => account::run(&connect(&conn).await?, cmd).await,
        ClientCommand::Identity { cmd, conn } => identity::run(&connect(&conn).await?, cmd).await,
        ClientCommand::Auth { cmd, conn } => auth::run(&connect(&conn).await?, cmd).await,
        ClientCommand::Keys { cmd, conn } => keys::run(&connect(&conn).await?, cmd).await,
        ClientCommand::Vault { cmd, conn } => vault::run(&connect(&conn).await?, cmd).await,
        ClientCommand::Role { cmd, conn } => role::run(&connect(&conn).await?, cmd).await,
        ClientCommand::Hosts { args, conn } => hosts::run(&conn, args).await,
        // `verify` reads the database, not the service.
        ClientCommand::Activity { cmd, conn } => activity::run(&conn, cmd).await,
    }
}

/// An account named on the command line: `-g`, `-n`, and `--kind` unless
/// the name is unambiguous.
#[derive(Debug, Clone, clap::Args)]
pub struct AccountRef {
    /// Resource group of the account.
    #[arg(short = 'g', long)]
    resource_group: String,
    /// Name of the account.
    #[arg(short = 'n', long)]
    name: String,
    /// Account kind; found automatically when the name is unambiguous.
    #[arg(long, value_parser = args::kind())]
    kind: Option<AccountKind>,
}

/// A signed-in connection: the ARM API, the subscription the commands act
/// in, the output format, and what it takes to sign in to a vault's data
/// plane as well.
struct Session {
    arm: Api,
    subscription: String,
    output: Output,
    sign_in: SignIn,
    ca_pem: Option<Vec<u8>>,
}

/// The client credentials and the token endpoint, for tokens of any
/// audience (ARM, vault data planes).
struct SignIn {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    secret: zeroize::Zeroizing<String>,
}

/// What the CLI reads of the bootstrap file `keyrotor serve` writes.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bootstrap {
    resource_manager: Option<String>,
    authority: Option<String>,
    tenant_id: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    subscription_id: Option<String>,
    ca_cert: Option<String>,
}

/// A token endpoint's answer (the OAuth 2.0 fields the CLI reads).
#[derive(Debug, Default, Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error_description: Option<String>,
}

async fn connect(conn: &Conn) -> Result<Session> {
    let doc: Bootstrap = match std::fs::read(&conn.bootstrap) {
        Ok(b) => serde_json::from_slice(&b).with_context(|| format!("{} is not valid JSON", conn.bootstrap.display()))?,
        Err(e) if conn.endpoint.is_some() && conn.client_secret.is_some() => {
            let _ = e;
            Bootstrap::default()
        }
        Err(e) => bail!(
            "cannot read {} ({e}); start 'keyrotor serve' first or pass --endpoint, --tenant, --client-id and --client-secret",
            conn.bootstrap.display()
        ),
    };
    let need = |given: &Option<String>, stored: &Option<String>, flag: &str| -> Result<String> {
        given
            .clone()
            .or_else(|| stored.clone())
            .ok_or_else(|| anyhow!("no {flag} given and none in {}", conn.bootstrap.display()))
    };
    let base = need(&conn.endpoint, &doc.resource_manager, "--endpoint")?
        .trim_end_matches('/')
        .to_string();
    let authority = conn
        .endpoint
        .clone()
        .or_else(|| doc.authority.clone())
        .unwrap_or_else(|| base.clone());
    let tenant = need(&conn.tenant, &doc.tenant_id, "--tenant")?;
    let client_id = need(&conn.client_id, &doc.client_id, "--client-id")?;
    let secret = zeroize::Zeroizing::new(need(
        &conn.client_secret,
        &doc.client_secret,
        "--client-secret",
    )?);
    let subscription = need(&conn.subscription, &doc.subscription_id, "--subscription")?;
    let ca = conn
        .ca_cert
        .clone()
        .or_else(|| doc.ca_cert.clone().map(PathBuf::from));
    let ca_pem = match &ca {
        Some(ca) => Some(
            std::fs::read(ca)
                .with_context(|| format!("reading CA certificate {}", ca.display()))?,
        ),
        None => None,
    };
    let http = client::builder(ca_pem.as_deref())?.build()?;
    let sign_in = SignIn {
        http: http.clone(),
        token_url: format!(
            "{}/{tenant}/oauth2/v2.0/token",
            authority.trim_end_matches('/')
        ),
        client_id,
        secret,
    };
    let token = sign_in
        .token("https://management.azure.com/.default")
        .await?;
    Ok(Session {
        arm: Api::new(http, base, token),
        subscription,
        output: conn.output,
        sign_in,
        ca_pem,
    })
}

impl SignIn {
    /// A client-credentials token for `scope` from keyrotor's token endpoint.
    async fn token(&self, scope: &str) -> Result<zeroize::Zeroizing<String>> {
        let url = &self.token_url;
        let resp = self
            .http
            .post(url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.secret.as_str()),
                ("scope", scope),
            ])
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = resp.status();
        let body: TokenAnswer = resp.json().await.unwrap_or_default();
        if !status.is_success() {
            bail!(
                "sign-in failed ({status}): {}",
                body.error_description
                    .unwrap_or_else(|| "no details".into())
            );
        }
        Ok(zeroize::Zeroizing::new(
            body.access_token
                .ok_or_else(|| anyhow!("sign-in returned no token"))?,
        ))
    }
}

impl Session {
    fn group_path(&self, group: &str) -> String {
        ids::group(&self.subscription, &enc(group))
    }

    fn account_path(&self, kind: AccountKind, group: &str, name: &str) -> String {
        ids::account(&self.subscription, &enc(group), kind, &enc(name))
    }

    /// Finds the kind of the account `name` when not given.
    async fn resolve(&self, r: &AccountRef) -> Result<AccountKind> {
        if let Some(k) = r.kind {
            return Ok(k);
        }
        let mut found = Vec::new();
        for k in args::KINDS {
            let (status, _) = self
                .arm
                .call(
                    reqwest::Method::GET,
                    &self.account_path(k, &r.resource_group, &r.name),
                    api_versions::account(k),
                    None,
                )
                .await?;
            match status {
                200 => found.push(k),
                404 | 400 => {}
                other => bail!("looking up account '{}' failed with status {other}", r.name),
            }
        }
        match found.as_slice() {
            [k] => Ok(*k),
            [] => {
                // A missing group is the group's error, not the account's.
                self.arm
                    .ok(
                        reqwest::Method::GET,
                        &self.group_path(&r.resource_group),
                        api_versions::RESOURCES,
                        None,
                    )
                    .await?;
                bail!(
                    "(ResourceNotFound) no account named '{}' in resource group '{}'",
                    r.name,
                    r.resource_group
                )
            }
            _ => bail!("several accounts are named '{}'; pass --kind", r.name),
        }
    }
}
