//! `keyrotor vault key policy`: show, set and run keys' rotation policies.

use anyhow::Result;
use keyrotor_arm::wire::api_versions::{KEYROTOR, KEY_VAULT_DATA as API_KV};
use keyrotor_arm::wire::identity::{RotationRun, RunRotationPolicies};
use keyrotor_arm::wire::ids::RUN_ROTATION_POLICIES;
use reqwest::Method;
use serde_json::{json, Value};

use super::data_plane;
use crate::cli::client::{body, enc};
use crate::cli::output::{emit, legend, Output};
use crate::cli::Session;

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCmd {
    /// Show a key's rotation policy: when it rotates and notifies, and how
    /// long new versions live.
    Show {
        /// Name of the vault (`--vault-name` is az's spelling).
        #[arg(long, visible_alias = "vault-name")]
        vault: String,
        /// Name of the key.
        #[arg(short = 'n', long)]
        name: String,
    },
    /// Set a key's rotation policy (ISO 8601 durations, e.g. P30D, P1Y).
    Set {
        /// Name of the vault (`--vault-name` is az's spelling).
        #[arg(long, visible_alias = "vault-name")]
        vault: String,
        /// Name of the key.
        #[arg(short = 'n', long)]
        name: String,
        /// Rotate this long after each version's creation.
        #[arg(long)]
        rotate_after: Option<String>,
        /// Rotate this long before each version's expiry (needs --expires-in).
        #[arg(long, conflicts_with = "rotate_after")]
        rotate_before_expiry: Option<String>,
        /// Each new version expires this long after its creation.
        #[arg(long)]
        expires_in: Option<String>,
        /// Notify this long before expiry (recorded; keyrotor sends no events).
        #[arg(long)]
        notify_before_expiry: Option<String>,
    },
    /// Rotate every key whose policy is due, now, instead of waiting for
    /// the server's next evaluation.
    Run {
        /// Run now (the default; accepted for clarity).
        #[arg(long)]
        now: bool,
        /// Evaluate as of this RFC 3339 time (servers started with --test-clock only).
        #[arg(long, conflicts_with = "now")]
        at: Option<String>,
    },
}

const POLICY_COLUMNS: &[(&str, &str)] = &[
    ("Id", "/id"),
    ("Rotate", "/rotate"),
    ("Notify", "/notify"),
    ("ExpiryTime", "/attributes/expiryTime"),
];

/// When a policy's actions of `kind` (`Rotate`, `Notify`) fire, in words:
/// `P30D after creation`, `P7D before expiry`; `never` without one.
fn trigger_text(policy: &Value, kind: &str) -> String {
    let actions = policy["lifetimeActions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let triggers: Vec<String> = actions
        .iter()
        .filter(|a| {
            a["action"]["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(kind))
        })
        .filter_map(|a| {
            let t = &a["trigger"];
            match (
                t["timeAfterCreate"].as_str(),
                t["timeBeforeExpiry"].as_str(),
            ) {
                (Some(d), _) => Some(format!("{d} after creation")),
                (None, Some(d)) => Some(format!("{d} before expiry")),
                (None, None) => None,
            }
        })
        .collect();
    if triggers.is_empty() {
        "never".into()
    } else {
        triggers.join(", ")
    }
}

/// A rotation policy as the CLI prints it: Key Vault's answer, plus the
/// display fields `rotate` and `notify` (when each action fires).
fn decorate(mut policy: Value) -> Value {
    let rotate = trigger_text(&policy, "Rotate");
    let notify = trigger_text(&policy, "Notify");
    if let Some(m) = policy.as_object_mut() {
        m.insert("rotate".into(), Value::String(rotate));
        m.insert("notify".into(), Value::String(notify));
    }
    policy
}

pub(super) async fn run(c: &Session, cmd: PolicyCmd) -> Result<()> {
    match cmd {
        PolicyCmd::Show { vault, name } => {
            let v = data_plane(c, &vault).await?;
            let out = v
                .ok(
                    Method::GET,
                    &format!("/keys/{}/rotationpolicy", enc(&name)),
                    API_KV,
                    None,
                )
                .await?;
            emit(c.output, &decorate(out), POLICY_COLUMNS)
        }
        PolicyCmd::Set {
            vault,
            name,
            rotate_after,
            rotate_before_expiry,
            expires_in,
            notify_before_expiry,
        } => {
            let mut actions = Vec::new();
            if let Some(d) = rotate_after {
                actions
                    .push(json!({"trigger": {"timeAfterCreate": d}, "action": {"type": "Rotate"}}));
            }
            if let Some(d) = rotate_before_expiry {
                actions.push(
                    json!({"trigger": {"timeBeforeExpiry": d}, "action": {"type": "Rotate"}}),
                );
            }
            if let Some(d) = notify_before_expiry {
                actions.push(
                    json!({"trigger": {"timeBeforeExpiry": d}, "action": {"type": "Notify"}}),
                );
            }
            let v = data_plane(c, &vault).await?;
            let out = v
                .ok(
                    Method::PUT,
                    &format!("/keys/{}/rotationpolicy", enc(&name)),
                    API_KV,
                    Some(json!({"lifetimeActions": actions, "attributes": {"expiryTime": expires_in}})),
                )
                .await?;
            emit(c.output, &decorate(out), POLICY_COLUMNS)
        }
        PolicyCmd::Run { now: _, at } => {
            // On ARM (keyrotor's own provider), not a vault's data plane:
            // it runs the policies of every vault.
            let request = match at {
                Some(t) => body(&RunRotationPolicies { at: Some(t) })?,
                None => None,
            };
            let out: RotationRun = c
                .arm
                .ok_as(Method::POST, RUN_ROTATION_POLICIES, KEYROTOR, request)
                .await?;
            // Say what the run did: a table of nothing reads as a failure.
            if out.rotated.is_empty() && c.output == Output::Table {
                println!("nothing due: no key's rotation policy is due, nothing was rotated");
                return Ok(());
            }
            emit(
                c.output,
                &serde_json::to_value(&out.rotated)?,
                &[
                    ("Vault", "/vault"),
                    ("Key", "/key"),
                    ("Version", "/version"),
                ],
            )?;
            legend(
                c.output,
                &format!(
                    "rotated {} key(s): each has a new version",
                    out.rotated.len()
                ),
            );
            Ok(())
        }
    }
}
