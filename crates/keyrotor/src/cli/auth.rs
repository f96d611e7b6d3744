//! `keyrotor auth`: switch key ("local") authentication off safely, to
//! report-only, or back on (for a while: break-glass).

use anyhow::{bail, Result};
use keyrotor_arm::wire::account::{AccountRequest, KeyAuthProperties};
use keyrotor_arm::wire::api_versions;
use keyrotor_arm::wire::keys::KeyUsageList;
use keyrotor_arm::wire::{Properties, Timestamp};
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use super::args::parse_window;
use super::client::body;
use super::keys::{clients, guard_query, key_usage};
use super::output::{emit, rfc3339, Output};
use super::{AccountRef, Session};

#[derive(Debug, clap::Subcommand)]
pub enum AuthCmd {
    /// Disable key authentication; refuses while any key was used within --window.
    DisableLocal {
        #[command(flatten)]
        account: AccountRef,
        /// A key used more recently than this blocks the switch (monthly jobs exist: default 7d).
        #[arg(long, default_value = "7d", value_parser = parse_window)]
        window: i64,
        /// Disable even though keys are in use (their clients fail at once).
        #[arg(long)]
        force: bool,
        /// Do not refuse key requests yet: count and list them as "would be rejected".
        #[arg(long)]
        report_only: bool,
    },
    /// Enable key authentication again; with --for, only for that long (break-glass).
    EnableLocal {
        #[command(flatten)]
        account: AccountRef,
        /// Re-enable for this long only (e.g. 30m, 2h); key auth switches itself off afterwards.
        #[arg(long = "for", value_parser = parse_window)]
        duration: Option<i64>,
    },
    /// Show the key-auth mode and, per key, requests that disabling would reject.
    Status {
        #[command(flatten)]
        account: AccountRef,
    },
}

/// A PATCH body that sets `properties`.
fn patch(properties: KeyAuthProperties) -> Result<Option<Value>> {
    body(&AccountRequest {
        properties: Some(properties),
        ..AccountRequest::default()
    })
}

/// `auth disable-local` and `enable-local` as they print.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Switched {
    account: String,
    local_auth: String,
}

/// `auth status` as it prints.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    account: String,
    local_auth: String,
    keys: Vec<KeyStatus>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyStatus {
    key_name: String,
    key_kind: String,
    last_used_time: Option<Timestamp>,
    would_be_rejected: u64,
    clients: Vec<String>,
}

pub(super) async fn run(c: &Session, cmd: AuthCmd) -> Result<()> {
    // Whole seconds: the times this command prints and sends are RFC 3339 in seconds.
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    match cmd {
        AuthCmd::DisableLocal {
            account,
            window,
            force,
            report_only,
        } => {
            let k = c.resolve(&account).await?;
            let base = c.account_path(k, &account.resource_group, &account.name);
            let props = KeyAuthProperties {
                local_auth_report_only: Some(report_only),
                local_auth_reenabled_until: Some(None),
                ..KeyAuthProperties::local_auth(k, true)
            };
            // The server refuses while a key was used within the window
            // (report-only refuses nobody, so it needs no guard).
            let path = if report_only {
                base.clone()
            } else {
                format!("{base}?{}", guard_query(force, window))
            };
            c.arm
                .ok(
                    Method::PATCH,
                    &path,
                    api_versions::account(k),
                    patch(props)?,
                )
                .await?;
            let mode = if report_only {
                "report-only (key requests still succeed and are counted)"
            } else {
                "disabled"
            };
            let out = Switched {
                account: account.name,
                local_auth: mode.into(),
            };
            emit(
                c.output,
                &serde_json::to_value(out)?,
                &[("Account", "/account"), ("LocalAuth", "/localAuth")],
            )
        }
        AuthCmd::EnableLocal { account, duration } => {
            let k = c.resolve(&account).await?;
            let base = c.account_path(k, &account.resource_group, &account.name);
            let props = match duration {
                Some(secs) => {
                    let current: Properties<KeyAuthProperties> = c
                        .arm
                        .ok_as(Method::GET, &base, api_versions::account(k), None)
                        .await?;
                    if !current.properties.switched_off(k) {
                        bail!(
                            "key authentication is not disabled on '{}'; nothing to re-enable",
                            account.name
                        );
                    }
                    KeyAuthProperties {
                        local_auth_reenabled_until: Some(Some(rfc3339(
                            now + time::Duration::seconds(secs),
                        ))),
                        ..KeyAuthProperties::default()
                    }
                }
                None => KeyAuthProperties {
                    local_auth_report_only: Some(false),
                    local_auth_reenabled_until: Some(None),
                    ..KeyAuthProperties::local_auth(k, false)
                },
            };
            let state = match props.local_auth_reenabled_until.clone().flatten() {
                Some(until) => format!("enabled until {until} (break-glass), then disabled again"),
                None => "enabled".to_string(),
            };
            c.arm
                .ok(
                    Method::PATCH,
                    &base,
                    api_versions::account(k),
                    patch(props)?,
                )
                .await?;
            let out = Switched {
                account: account.name,
                local_auth: state,
            };
            emit(
                c.output,
                &serde_json::to_value(out)?,
                &[("Account", "/account"), ("LocalAuth", "/localAuth")],
            )
        }
        AuthCmd::Status { account } => {
            let k = c.resolve(&account).await?;
            let base = c.account_path(k, &account.resource_group, &account.name);
            let a: Properties<KeyAuthProperties> = c
                .arm
                .ok_as(Method::GET, &base, api_versions::account(k), None)
                .await?;
            let usage: KeyUsageList = serde_json::from_value(key_usage(c, k, &base, None).await?)?;
            let a = a.properties;
            let disabled = a.switched_off(k);
            let report_only = a.local_auth_report_only.unwrap_or(false);
            let until = a.reenabled_until().filter(|t| *t > now);
            let mode = match (disabled, report_only, until) {
                (false, _, _) => "enabled".to_string(),
                (true, _, Some(t)) => {
                    format!("disabled, re-enabled until {} (break-glass)", rfc3339(t))
                }
                (true, true, None) => {
                    "report-only: key requests succeed and are counted as would-be-rejected"
                        .to_string()
                }
                (true, false, None) => "disabled: key requests are refused".to_string(),
            };
            let out = Status {
                account: account.name,
                local_auth: mode.clone(),
                keys: usage
                    .keys
                    .iter()
                    .map(|k| KeyStatus {
                        key_name: k.key_name.clone(),
                        key_kind: k.key_kind.clone(),
                        last_used_time: k.last_used_time,
                        would_be_rejected: k.would_be_rejected,
                        clients: clients(k),
                    })
                    .collect(),
            };
            match c.output {
                Output::Table | Output::Tsv => {
                    println!("local auth: {mode}");
                    emit(
                        c.output,
                        &serde_json::to_value(&out.keys)?,
                        &[
                            ("Key", "/keyName"),
                            ("LastUsed", "/lastUsedTime"),
                            ("WouldBeRejected", "/wouldBeRejected"),
                            ("Clients", "/clients"),
                        ],
                    )
                }
                _ => emit(c.output, &serde_json::to_value(&out)?, &[]),
            }
        }
    }
}
