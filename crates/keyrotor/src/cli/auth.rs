//! `keyrotor auth`: switch key ("local") authentication off safely, to
//! report-only, or back on (for a while: break-glass).

use anyhow::{bail, Result};
use keyrotor_types::AccountKind;
use reqwest::Method;
use serde_json::{json, Value};

use super::api_versions;
use super::args::parse_window;
use super::keys::{guard_query, key_usage};
use super::output::{cell, emit, parse_time, rfc3339, Output};
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

/// ARM properties that switch key authentication on or off for a kind.
fn local_auth_properties(kind: AccountKind, disabled: bool) -> Value {
    match (kind, disabled) {
        (AccountKind::Batch, true) => {
            json!({ "allowedAuthenticationModes": ["AAD", "TaskAuthenticationToken"] })
        }
        (AccountKind::Batch, false) => {
            json!({ "allowedAuthenticationModes": ["SharedKey", "AAD", "TaskAuthenticationToken"] })
        }
        (_, d) => json!({ "disableLocalAuth": d }),
    }
}

fn local_auth_disabled(kind: AccountKind, account: &Value) -> bool {
    match kind {
        AccountKind::Batch => account
            .pointer("/properties/allowedAuthenticationModes")
            .and_then(Value::as_array)
            .is_some_and(|m| {
                !m.iter().any(|x| {
                    x.as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case("SharedKey"))
                })
            }),
        _ => account
            .pointer("/properties/disableLocalAuth")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    }
}

pub(super) async fn run(c: &Session, cmd: AuthCmd) -> Result<()> {
    let now = time::OffsetDateTime::now_utc();
    match cmd {
        AuthCmd::DisableLocal {
            account,
            window,
            force,
            report_only,
        } => {
            let k = c.resolve(&account).await?;
            let base = c.account_path(k, &account.resource_group, &account.name);
            let mut props = local_auth_properties(k, true);
            props["localAuthReportOnly"] = json!(report_only);
            props["localAuthReenabledUntil"] = Value::Null;
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
                    Some(json!({ "properties": props })),
                )
                .await?;
            let mode = if report_only {
                "report-only (key requests still succeed and are counted)"
            } else {
                "disabled"
            };
            emit(
                c.output,
                &json!({ "account": account.name, "localAuth": mode }),
                &[("Account", "/account"), ("LocalAuth", "/localAuth")],
            )
        }
        AuthCmd::EnableLocal { account, duration } => {
            let k = c.resolve(&account).await?;
            let base = c.account_path(k, &account.resource_group, &account.name);
            let props = match duration {
                Some(secs) => {
                    let current = c
                        .arm
                        .ok(Method::GET, &base, api_versions::account(k), None)
                        .await?;
                    if !local_auth_disabled(k, &current) {
                        bail!(
                            "key authentication is not disabled on '{}'; nothing to re-enable",
                            account.name
                        );
                    }
                    json!({ "localAuthReenabledUntil": rfc3339(now + time::Duration::seconds(secs)) })
                }
                None => {
                    let mut p = local_auth_properties(k, false);
                    p["localAuthReportOnly"] = json!(false);
                    p["localAuthReenabledUntil"] = Value::Null;
                    p
                }
            };
            c.arm
                .ok(
                    Method::PATCH,
                    &base,
                    api_versions::account(k),
                    Some(json!({ "properties": props.clone() })),
                )
                .await?;
            let state = match props.get("localAuthReenabledUntil").and_then(Value::as_str) {
                Some(until) => format!("enabled until {until} (break-glass), then disabled again"),
                None => "enabled".to_string(),
            };
            emit(
                c.output,
                &json!({ "account": account.name, "localAuth": state }),
                &[("Account", "/account"), ("LocalAuth", "/localAuth")],
            )
        }
        AuthCmd::Status { account } => {
            let k = c.resolve(&account).await?;
            let base = c.account_path(k, &account.resource_group, &account.name);
            let a = c
                .arm
                .ok(Method::GET, &base, api_versions::account(k), None)
                .await?;
            let usage = key_usage(c, k, &base, None).await?;
            let disabled = local_auth_disabled(k, &a);
            let report_only = a
                .pointer("/properties/localAuthReportOnly")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let until = a
                .pointer("/properties/localAuthReenabledUntil")
                .and_then(Value::as_str)
                .and_then(parse_time)
                .filter(|t| *t > now);
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
            let keys: Vec<Value> = usage["keys"]
                .as_array()
                .map(|ks| {
                    ks.iter()
                        .map(|k| {
                            json!({
                                "keyName": k["keyName"], "keyKind": k["keyKind"], "lastUsedTime": k["lastUsedTime"],
                                "wouldBeRejected": k["wouldBeRejected"],
                                "clients": k["clients"].as_array().map(|c| c.iter().map(|c| format!("{} @ {}", cell(&c["userAgent"]), cell(&c["address"]))).collect::<Vec<_>>()).unwrap_or_default(),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let out = json!({ "account": account.name, "localAuth": mode, "keys": keys });
            match c.output {
                Output::Table | Output::Tsv => {
                    println!("local auth: {mode}");
                    emit(
                        c.output,
                        &out["keys"],
                        &[
                            ("Key", "/keyName"),
                            ("LastUsed", "/lastUsedTime"),
                            ("WouldBeRejected", "/wouldBeRejected"),
                            ("Clients", "/clients"),
                        ],
                    )
                }
                _ => emit(c.output, &out, &[]),
            }
        }
    }
}
