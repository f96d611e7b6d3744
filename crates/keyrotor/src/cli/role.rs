//! `keyrotor role`: role definitions and role assignments.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use keyrotor_types::AccountKind;
use reqwest::Method;
use serde_json::{json, Value};

use super::api_versions::API_AUTHZ;
use super::args;
use super::client::enc;
use super::output::emit;
use super::{AccountRef, Session};

#[derive(Debug, clap::Subcommand)]
pub enum RoleCmd {
    /// Role assignments (who holds which role at which scope).
    Assignment {
        #[command(subcommand)]
        cmd: AssignmentCmd,
    },
    /// The built-in role definitions.
    Definition {
        #[command(subcommand)]
        cmd: DefinitionCmd,
    },
}

/// Where an assignment applies: `--scope`, or a group (`-g`), or an account
/// (`-g` and `-n`); the subscription when none is given.
#[derive(Debug, Clone, clap::Args)]
pub struct ScopeArgs {
    /// A full scope (`/`, `/subscriptions/…`, a group or a resource id).
    #[arg(long, conflicts_with_all = ["resource_group", "name"])]
    scope: Option<String>,
    #[arg(short = 'g', long)]
    resource_group: Option<String>,
    /// Account name (with -g).
    #[arg(short = 'n', long, requires = "resource_group")]
    name: Option<String>,
    /// Account kind; found automatically when the name is unambiguous.
    #[arg(long, value_parser = args::kind(), requires = "name")]
    kind: Option<AccountKind>,
}

#[derive(Debug, clap::Subcommand)]
pub enum AssignmentCmd {
    /// Assign a role to a service principal at a scope.
    Create {
        /// Client id of the service principal.
        #[arg(long)]
        assignee: String,
        /// Role name (e.g. "Reader", "Keyrotor Key Operator") or GUID.
        #[arg(long)]
        role: String,
        #[command(flatten)]
        at: ScopeArgs,
    },
    /// List assignments that apply at a scope (inherited ones included).
    List {
        #[arg(long)]
        assignee: Option<String>,
        #[command(flatten)]
        at: ScopeArgs,
    },
    /// Delete an assignment by its name (GUID), or by assignee, role and scope.
    Delete {
        /// The assignment's name (GUID).
        #[arg(long = "id", conflicts_with_all = ["assignee", "role"])]
        assignment: Option<String>,
        #[arg(long, requires = "role")]
        assignee: Option<String>,
        #[arg(long, requires = "assignee")]
        role: Option<String>,
        #[command(flatten)]
        at: ScopeArgs,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum DefinitionCmd {
    /// List the built-in roles and what they allow.
    List {
        /// Only the role with this name.
        #[arg(long)]
        name: Option<String>,
    },
}

const ASSIGNMENT_COLUMNS: &[(&str, &str)] = &[
    ("Name", "/name"),
    ("Principal", "/properties/principalId"),
    ("Role", "/properties/roleName"),
    ("Scope", "/properties/scope"),
];

/// The scope named by `--scope`, `-g`, `-g -n`, or the subscription.
async fn scope(c: &Session, at: &ScopeArgs) -> Result<String> {
    if let Some(s) = &at.scope {
        return Ok(s.trim_end_matches('/').to_string()).map(|s| {
            if s.is_empty() {
                "/".into()
            } else {
                s
            }
        });
    }
    match (&at.resource_group, &at.name) {
        (Some(g), Some(n)) => {
            let kind = c
                .resolve(&AccountRef {
                    resource_group: g.clone(),
                    name: n.clone(),
                    kind: at.kind,
                })
                .await?;
            Ok(c.account_path(kind, g, n))
        }
        (Some(g), None) => Ok(format!(
            "/subscriptions/{}/resourceGroups/{}",
            c.subscription,
            enc(g)
        )),
        _ => Ok(format!("/subscriptions/{}", c.subscription)),
    }
}

/// Role definitions by GUID, to show role names next to assignments.
async fn role_names(c: &Session) -> Result<BTreeMap<String, String>> {
    let v = c
        .arm
        .ok(
            Method::GET,
            &format!(
                "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions",
                c.subscription
            ),
            API_AUTHZ,
            None,
        )
        .await?;
    Ok(v["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some((
                r["name"].as_str()?.to_ascii_lowercase(),
                r["properties"]["roleName"].as_str()?.to_string(),
            ))
        })
        .collect())
}

fn assignments_path(scope: &str) -> String {
    format!(
        "{}/providers/Microsoft.Authorization/roleAssignments",
        scope.trim_end_matches('/')
    )
}

/// Adds `properties.roleName` for display.
fn name_roles(v: &mut Value, names: &BTreeMap<String, String>) {
    let id = v["properties"]["roleDefinitionId"]
        .as_str()
        .and_then(|s| s.rsplit('/').next())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if let Some(n) = names.get(&id) {
        v["properties"]["roleName"] = json!(n);
    }
}

pub(super) async fn run(c: &Session, cmd: RoleCmd) -> Result<()> {
    match cmd {
        RoleCmd::Definition {
            cmd: DefinitionCmd::List { name },
        } => {
            let filter = name
                .map(|n| format!("?$filter={}", enc(&format!("roleName eq '{n}'"))))
                .unwrap_or_default();
            let v = c
                .arm
                .ok(
                    Method::GET,
                    &format!(
                        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions{filter}",
                        c.subscription
                    ),
                    API_AUTHZ,
                    None,
                )
                .await?;
            emit(
                c.output,
                &v["value"],
                &[
                    ("Name", "/properties/roleName"),
                    ("Id", "/name"),
                    ("Description", "/properties/description"),
                ],
            )
        }
        RoleCmd::Assignment { cmd } => match cmd {
            AssignmentCmd::Create { assignee, role, at } => {
                let scope = scope(c, &at).await?;
                let name = keyrotor_crypto::random_guid().map_err(|e| anyhow::anyhow!("{e}"))?;
                let mut v = c
                    .arm
                    .ok(
                        Method::PUT,
                        &format!("{}/{name}", assignments_path(&scope)),
                        API_AUTHZ,
                        Some(json!({"properties": {"roleDefinitionId": role, "principalId": assignee, "principalType": "ServicePrincipal"}})),
                    )
                    .await?;
                name_roles(&mut v, &role_names(c).await?);
                emit(c.output, &v, ASSIGNMENT_COLUMNS)
            }
            AssignmentCmd::List { assignee, at } => {
                let scope = scope(c, &at).await?;
                let filter = assignee
                    .map(|a| format!("?$filter={}", enc(&format!("principalId eq '{a}'"))))
                    .unwrap_or_default();
                let mut v = c
                    .arm
                    .ok(
                        Method::GET,
                        &format!("{}{filter}", assignments_path(&scope)),
                        API_AUTHZ,
                        None,
                    )
                    .await?;
                let names = role_names(c).await?;
                if let Some(items) = v["value"].as_array_mut() {
                    for i in items {
                        name_roles(i, &names);
                    }
                }
                emit(c.output, &v["value"], ASSIGNMENT_COLUMNS)
            }
            AssignmentCmd::Delete {
                assignment,
                assignee,
                role,
                at,
            } => {
                let scope = scope(c, &at).await?;
                let list = c
                    .arm
                    .ok(Method::GET, &assignments_path(&scope), API_AUTHZ, None)
                    .await?;
                let names = role_names(c).await?;
                let found: Vec<&Value> = list["value"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|a| match (&assignment, &assignee, &role) {
                        (Some(id), _, _) => a["name"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(id)),
                        (None, Some(who), Some(role)) => {
                            let rid = a["properties"]["roleDefinitionId"]
                                .as_str()
                                .and_then(|s| s.rsplit('/').next())
                                .unwrap_or_default()
                                .to_ascii_lowercase();
                            let role_matches = rid.eq_ignore_ascii_case(role)
                                || names
                                    .get(&rid)
                                    .is_some_and(|n| n.eq_ignore_ascii_case(role));
                            a["properties"]["principalId"]
                                .as_str()
                                .is_some_and(|p| p.eq_ignore_ascii_case(who))
                                && role_matches
                                && a["properties"]["scope"]
                                    .as_str()
                                    .is_some_and(|s| s.eq_ignore_ascii_case(&scope))
                        }
                        _ => false,
                    })
                    .collect();
                if assignment.is_none() && assignee.is_none() {
                    bail!("pass --id, or --assignee and --role");
                }
                let [a] = found.as_slice() else {
                    bail!("(RoleAssignmentNotFound) no matching role assignment at '{scope}'");
                };
                let id = a["id"].as_str().unwrap_or_default().to_string();
                c.arm.ok(Method::DELETE, &id, API_AUTHZ, None).await?;
                Ok(())
            }
        },
    }
}
