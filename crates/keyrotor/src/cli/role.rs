//! `keyrotor role`: role definitions and role assignments.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use keyrotor_arm::wire::api_versions::AUTHORIZATION;
use keyrotor_arm::wire::ids;
use keyrotor_arm::wire::rbac::{
    RoleAssignment, RoleAssignmentRequest, RoleAssignmentRequestProperties, RoleDefinition,
    SERVICE_PRINCIPAL,
};
use keyrotor_arm::wire::{List, Properties};
use keyrotor_types::AccountKind;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::args;
use super::client::{self, body, enc, Api};
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
    /// Resource group of the scope.
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
        /// Client id of the service principal, or its display name when
        /// exactly one principal has it.
        #[arg(long)]
        assignee: String,
        /// Role name (e.g. "Reader", "Keyrotor Key Operator") or GUID.
        #[arg(long)]
        role: String,
        #[command(flatten)]
        at: ScopeArgs,
    },
    /// List the assignments at a scope (the subscription by default), with
    /// each principal's display name (from keyrotor's Microsoft Graph);
    /// --include-inherited adds those at every parent scope,
    /// which apply here too.
    List {
        /// Client id, or a display name exactly one principal has.
        #[arg(long)]
        assignee: Option<String>,
        /// Also list the assignments at the scope's parents (the
        /// subscription, its group), as `az role assignment list
        /// --include-inherited` does.
        #[arg(long)]
        include_inherited: bool,
        #[command(flatten)]
        at: ScopeArgs,
    },
    /// Delete an assignment by its name (GUID), or by assignee, role and scope.
    Delete {
        /// The assignment's name (GUID).
        #[arg(long = "id", conflicts_with_all = ["assignee", "role"])]
        assignment: Option<String>,
        /// Client id, or a display name exactly one principal has.
        #[arg(long, requires = "role")]
        assignee: Option<String>,
        /// Role name (e.g. Reader) or role definition id.
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
    ("Principal", "/properties/principalName"),
    ("PrincipalId", "/properties/principalId"),
    ("Role", "/properties/roleName"),
    ("Scope", "/properties/scope"),
];

/// The client id `--assignee` names: a GUID as given (ARM checks that the
/// principal exists), otherwise the display name of exactly one service
/// principal, looked up in keyrotor's Microsoft Graph (the core's directory
/// lookup, the one az resolves its `--assignee` with).
async fn assignee_id(c: &Session, assignee: &str) -> Result<String> {
    use keyrotor_arm::graph::wire::{Collection, ServicePrincipal};
    if keyrotor_core::directory::is_guid(assignee) {
        return Ok(assignee.to_string());
    }
    let graph = graph(c).await?;
    let filter = format!("displayName eq '{}'", assignee.replace('\'', "''"));
    // Graph ignores the api-version parameter `Api` adds.
    let found: Collection<ServicePrincipal> = graph
        .ok_as(
            Method::GET,
            &format!("/servicePrincipals?$filter={}", enc(&filter)),
            "v1.0",
            None,
        )
        .await?;
    match found.value.as_slice() {
        [one] => Ok(one.app_id.clone()),
        [] => bail!(
            "(PrincipalNotFound) no service principal is named '{assignee}'; pass its client id (`keyrotor identity sp list`)"
        ),
        many => bail!(
            "(AmbiguousAssignee) {} service principals are named '{assignee}' ({}); pass the client id of the one you mean",
            many.len(),
            many.iter()
                .map(|p| p.app_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// keyrotor's Microsoft Graph, signed in for its audience.
async fn graph(c: &Session) -> Result<Api> {
    let endpoints = keyrotor_arm::Endpoints::new(c.arm.base(), None);
    // Azure's Graph audience, which the server accepts whatever URL it is
    // reached by (its own Graph resource id names its public URL, which
    // `--endpoint` may spell differently).
    let token = c
        .sign_in
        .token("https://graph.microsoft.com/.default")
        .await?;
    let http = client::builder(c.ca_pem.as_deref())?.build()?;
    Ok(Api::new(http, format!("{}/v1.0", endpoints.graph()), token))
}

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
        (Some(g), None) => Ok(ids::group(&c.subscription, &enc(g))),
        _ => Ok(ids::subscription(&c.subscription)),
    }
}

/// Role definitions by GUID, to show role names next to assignments.
async fn role_names(c: &Session) -> Result<BTreeMap<String, String>> {
    let v: List<RoleDefinition> = c
        .arm
        .ok_as(
            Method::GET,
            &ids::role_definitions(&ids::subscription(&c.subscription)),
            AUTHORIZATION,
            None,
        )
        .await?;
    Ok(v.value
        .into_iter()
        .map(|r| (r.name.to_ascii_lowercase(), r.properties.role_name))
        .collect())
}

/// The GUID of an assignment's role definition, lower case.
fn role_guid(a: &RoleAssignment) -> String {
    ids::last_segment(&a.properties.role_definition_id).to_ascii_lowercase()
}

/// The role definition id of an assignment as ARM answered it.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleOf {
    role_definition_id: String,
}

/// An assignment as the CLI prints it: ARM's answer with
/// `properties.roleName` added for display.
#[derive(Serialize, Deserialize)]
struct Named {
    #[serde(flatten)]
    assignment: Map<String, Value>,
    properties: NamedProperties,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NamedProperties {
    #[serde(flatten)]
    properties: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    principal_name: Option<String>,
}

/// Adds `properties.roleName` and, when known, `properties.principalName`
/// (the principal's display name) for display.
fn name_roles(
    v: Value,
    names: &BTreeMap<String, String>,
    principals: &BTreeMap<String, String>,
) -> Result<Value> {
    let role: Properties<RoleOf> = serde_json::from_value(v.clone())?;
    let guid = ids::last_segment(&role.properties.role_definition_id).to_ascii_lowercase();
    let mut named: Named = serde_json::from_value(v)?;
    named.properties.role_name = names.get(&guid).cloned();
    named.properties.principal_name = named
        .properties
        .properties
        .get("principalId")
        .and_then(Value::as_str)
        .and_then(|id| principals.get(&id.to_ascii_lowercase()))
        .cloned();
    Ok(serde_json::to_value(named)?)
}

/// The display names of the principals `ids` (client ids), by lower-case
/// client id, from keyrotor's Microsoft Graph (`getByIds`, as az fills its
/// `principalName`; every principal of the tenant may read it). Empty
/// when the directory cannot be read: names are a convenience.
async fn principal_names<'a>(
    c: &Session,
    ids: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<String, String> {
    use keyrotor_arm::graph::wire::{Collection, GetByIds, ServicePrincipal};
    let mut ids: Vec<String> = ids.into_iter().map(str::to_ascii_lowercase).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return BTreeMap::new();
    }
    let graph = match graph(c).await {
        Ok(g) => g,
        Err(e) => {
            eprintln!("keyrotor: principal names left blank: cannot read the directory: {e:#}");
            return BTreeMap::new();
        }
    };
    let mut names = BTreeMap::new();
    // getByIds takes at most 1,000 ids a call.
    for chunk in ids.chunks(1000) {
        let request = GetByIds {
            ids: chunk.to_vec(),
            types: Some(vec!["servicePrincipal".into()]),
        };
        // Graph ignores the api-version parameter `Api` adds.
        let found: Result<Collection<ServicePrincipal>> = async {
            graph
                .ok_as(
                    Method::POST,
                    "/directoryObjects/getByIds",
                    "v1.0",
                    body(&request)?,
                )
                .await
        }
        .await;
        match found {
            Ok(f) => names.extend(
                f.value
                    .into_iter()
                    .map(|p| (p.app_id.to_ascii_lowercase(), p.display_name)),
            ),
            Err(e) => {
                eprintln!("keyrotor: principal names left blank: cannot read the directory: {e:#}");
                break;
            }
        }
    }
    names
}

/// The `properties.principalId` of an assignment as ARM answered it.
fn principal_of(a: &Value) -> Option<&str> {
    a.pointer("/properties/principalId").and_then(Value::as_str)
}

/// Whether an assignment at `assigned` is listed for `scope`: exactly
/// there, or with `inherited` also at any parent of it (ARM scopes are
/// paths; compared without case, as ARM does).
fn listed_at(assigned: &str, scope: &str, inherited: bool) -> bool {
    let norm = |s: &str| s.trim_end_matches('/').to_ascii_lowercase();
    let (assigned, scope) = (norm(assigned), norm(scope));
    assigned == scope
        || (inherited
            && (assigned.is_empty()
                || scope
                    .strip_prefix(&assigned)
                    .is_some_and(|rest| rest.starts_with('/'))))
}

pub(super) async fn run(c: &Session, cmd: RoleCmd) -> Result<()> {
    match cmd {
        RoleCmd::Definition {
            cmd: DefinitionCmd::List { name },
        } => {
            let filter = name
                .map(|n| format!("?$filter={}", enc(&format!("roleName eq '{n}'"))))
                .unwrap_or_default();
            let v: List<Value> = c
                .arm
                .ok_as(
                    Method::GET,
                    &format!(
                        "{}{filter}",
                        ids::role_definitions(&ids::subscription(&c.subscription))
                    ),
                    AUTHORIZATION,
                    None,
                )
                .await?;
            emit(
                c.output,
                &Value::Array(v.value),
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
                let assignee = assignee_id(c, &assignee).await?;
                let name = keyrotor_crypto::random_guid().map_err(|e| anyhow::anyhow!("{e}"))?;
                let request = RoleAssignmentRequest {
                    properties: Some(RoleAssignmentRequestProperties {
                        role_definition_id: Some(role),
                        principal_id: Some(assignee),
                        principal_type: Some(SERVICE_PRINCIPAL.into()),
                    }),
                };
                let v = c
                    .arm
                    .ok(
                        Method::PUT,
                        &ids::role_assignment(&scope, &name),
                        AUTHORIZATION,
                        body(&request)?,
                    )
                    .await?;
                let principals = principal_names(c, principal_of(&v)).await;
                let v = name_roles(v, &role_names(c).await?, &principals)?;
                emit(c.output, &v, ASSIGNMENT_COLUMNS)
            }
            AssignmentCmd::List {
                assignee,
                include_inherited,
                at,
            } => {
                let scope = scope(c, &at).await?;
                // What az sends: the assignments at the scope and above it
                // (`atScope()`), then only those at the scope itself unless
                // inherited ones are asked for.
                let mut filter = "atScope()".to_string();
                if let Some(a) = assignee {
                    let a = assignee_id(c, &a).await?;
                    filter.push_str(&format!(" and principalId eq '{a}'"));
                }
                let list: List<Value> = c
                    .arm
                    .ok_as(
                        Method::GET,
                        &format!("{}?$filter={}", ids::role_assignments(&scope), enc(&filter)),
                        AUTHORIZATION,
                        None,
                    )
                    .await?;
                let names = role_names(c).await?;
                let listed: Vec<Value> = list
                    .value
                    .into_iter()
                    .filter(|a| {
                        let assigned = a.pointer("/properties/scope").and_then(Value::as_str);
                        assigned.is_some_and(|s| listed_at(s, &scope, include_inherited))
                    })
                    .collect();
                let principals = principal_names(c, listed.iter().filter_map(principal_of)).await;
                let named = listed
                    .into_iter()
                    .map(|a| name_roles(a, &names, &principals))
                    .collect::<Result<Vec<_>>>()?;
                emit(c.output, &Value::Array(named), ASSIGNMENT_COLUMNS)
            }
            AssignmentCmd::Delete {
                assignment,
                assignee,
                role,
                at,
            } => {
                let scope = scope(c, &at).await?;
                let assignee = match assignee {
                    Some(a) => Some(assignee_id(c, &a).await?),
                    None => None,
                };
                let list: List<RoleAssignment> = c
                    .arm
                    .ok_as(
                        Method::GET,
                        &ids::role_assignments(&scope),
                        AUTHORIZATION,
                        None,
                    )
                    .await?;
                let names = role_names(c).await?;
                let found: Vec<&RoleAssignment> = list
                    .value
                    .iter()
                    .filter(|a| match (&assignment, &assignee, &role) {
                        (Some(id), _, _) => a.name.eq_ignore_ascii_case(id),
                        (None, Some(who), Some(role)) => {
                            let rid = role_guid(a);
                            let role_matches = rid.eq_ignore_ascii_case(role)
                                || names
                                    .get(&rid)
                                    .is_some_and(|n| n.eq_ignore_ascii_case(role));
                            a.properties.principal_id.eq_ignore_ascii_case(who)
                                && role_matches
                                && a.properties.scope.eq_ignore_ascii_case(&scope)
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
                c.arm.ok(Method::DELETE, &a.id, AUTHORIZATION, None).await?;
                Ok(())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_are_listed_at_their_scope_or_inherited_on_request() {
        let sub = "/subscriptions/s1";
        let group = "/subscriptions/s1/resourceGroups/rg";
        let account =
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/b";
        assert!(listed_at(group, group, false));
        assert!(listed_at(
            "/subscriptions/S1/resourcegroups/RG",
            group,
            false
        ));
        assert!(!listed_at(sub, group, false));
        assert!(listed_at(sub, group, true));
        assert!(listed_at("/", account, true));
        assert!(!listed_at("/", account, false));
        assert!(listed_at(group, account, true));
        // Below the scope, or a sibling that shares a prefix: never.
        assert!(!listed_at(account, group, true));
        assert!(!listed_at(
            "/subscriptions/s1/resourceGroups/rg2",
            group,
            true
        ));
    }
}
