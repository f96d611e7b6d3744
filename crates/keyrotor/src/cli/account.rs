//! `keyrotor account`: Cosmos DB, Batch and AI Services accounts.

use anyhow::{anyhow, bail, Context, Result};
use keyrotor_types::AccountKind;
use reqwest::Method;
use serde_json::{json, Value};

use super::api_versions::{self, API_RG};
use super::args::{self, confirm, parse_tags, KINDS};
use super::client::enc;
use super::output::emit;
use super::{field, provider, AccountRef, Session};

#[derive(Debug, clap::Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per process; boxing the variant only complicates the clap derive"
)]
pub enum AccountCmd {
    /// Create (or update) an account.
    Create {
        #[arg(short = 'g', long)]
        resource_group: String,
        #[arg(short = 'n', long)]
        name: String,
        #[arg(long, value_parser = args::kind())]
        kind: AccountKind,
        /// Location (default: the resource group's).
        #[arg(short = 'l', long)]
        location: Option<String>,
        /// Space-separated tags: key[=value].
        #[arg(long, num_args = 0..)]
        tags: Vec<String>,
        /// Cosmos DB API kind.
        #[arg(long, default_value = "GlobalDocumentDB", value_parser = ["GlobalDocumentDB", "MongoDB", "Parse"])]
        api_kind: String,
        /// Cosmos DB regions: "Region Name"=failoverPriority ...
        #[arg(long, num_args = 1..)]
        locations: Vec<String>,
        /// Cosmos DB default consistency level.
        #[arg(long, value_parser = ["Eventual", "Session", "BoundedStaleness", "Strong", "ConsistentPrefix"])]
        default_consistency_level: Option<String>,
        /// Cosmos DB bounded staleness: maximum lag in seconds.
        #[arg(long)]
        max_interval: Option<u32>,
        /// Cosmos DB bounded staleness: maximum lag in operations.
        #[arg(long)]
        max_staleness_prefix: Option<u64>,
        /// AI Services account kind.
        #[arg(long, default_value = "AIServices")]
        ai_kind: String,
        /// AI Services SKU.
        #[arg(long, default_value = "S0")]
        sku: String,
        /// Refuse key (local) authentication on the data plane.
        #[arg(long)]
        disable_local_auth: bool,
        /// AI Services: base URL the data plane forwards authenticated requests to.
        #[arg(long)]
        upstream: Option<String>,
        /// Refuse (409) regenerating a key used within this many minutes, also for ARM clients.
        #[arg(long)]
        regeneration_guard_minutes: Option<u32>,
    },
    /// List accounts.
    List {
        #[arg(short = 'g', long)]
        resource_group: Option<String>,
        #[arg(long, value_parser = args::kind())]
        kind: Option<AccountKind>,
    },
    /// Show one account.
    Show {
        #[command(flatten)]
        account: AccountRef,
    },
    /// Delete an account.
    Delete {
        #[command(flatten)]
        account: AccountRef,
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

const ACCOUNT_COLUMNS: &[(&str, &str)] = &[
    ("Name", "/name"),
    ("ResourceGroup", "/resourceGroup"),
    ("Kind", "/keyrotorKind"),
    ("Location", "/location"),
    ("Endpoint", "/endpoint"),
];

/// Adds the convenience fields `resourceGroup`, `keyrotorKind` and
/// `endpoint` that the table view shows (JSON keeps ARM's shape plus these).
fn decorate(kind: AccountKind, mut v: Value) -> Value {
    let group = v
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| id.split('/').nth(4))
        .map(str::to_string);
    let endpoint = [
        "/properties/documentEndpoint",
        "/properties/accountEndpoint",
        "/properties/endpoint",
    ]
    .iter()
    .find_map(|p| v.pointer(p).cloned());
    if let Value::Object(m) = &mut v {
        m.insert("resourceGroup".into(), json!(group));
        m.insert("keyrotorKind".into(), json!(kind.as_str()));
        if let Some(e) = endpoint {
            m.insert("endpoint".into(), e);
        }
    }
    v
}

pub(super) async fn run(c: &Session, cmd: AccountCmd) -> Result<()> {
    match cmd {
        AccountCmd::Create {
            resource_group,
            name,
            kind,
            location,
            tags,
            api_kind,
            locations,
            default_consistency_level,
            max_interval,
            max_staleness_prefix,
            ai_kind,
            sku,
            disable_local_auth,
            upstream,
            regeneration_guard_minutes,
        } => {
            let group = c
                .arm
                .ok(Method::GET, &c.group_path(&resource_group), API_RG, None)
                .await?;
            let location = location
                .or_else(|| field(&group, "location"))
                .ok_or_else(|| anyhow!("no --location given"))?;
            let mut body = match kind {
                AccountKind::Cosmos => {
                    let mut locs = Vec::new();
                    for l in &locations {
                        let (region, prio) = l
                            .rsplit_once('=')
                            .map_or((l.as_str(), "0"), |(r, p)| (r, p));
                        let prio: u32 = prio
                            .parse()
                            .with_context(|| format!("invalid failover priority in '{l}'"))?;
                        locs.push(json!({"locationName": region, "failoverPriority": prio, "isZoneRedundant": false}));
                    }
                    if locs.is_empty() {
                        locs.push(json!({"locationName": location, "failoverPriority": 0, "isZoneRedundant": false}));
                    }
                    let mut consistency = serde_json::Map::new();
                    if let Some(l) = default_consistency_level {
                        consistency.insert("defaultConsistencyLevel".into(), json!(l));
                    }
                    if let Some(i) = max_interval {
                        consistency.insert("maxIntervalInSeconds".into(), json!(i));
                    }
                    if let Some(p) = max_staleness_prefix {
                        consistency.insert("maxStalenessPrefix".into(), json!(p));
                    }
                    if !consistency.is_empty()
                        && !consistency.contains_key("defaultConsistencyLevel")
                    {
                        consistency.insert("defaultConsistencyLevel".into(), json!("Session"));
                    }
                    let mut props = json!({
                        "locations": locs,
                        "databaseAccountOfferType": "Standard",
                        "disableLocalAuth": disable_local_auth,
                    });
                    if !consistency.is_empty() {
                        props["consistencyPolicy"] = Value::Object(consistency);
                    }
                    json!({"location": location, "kind": api_kind, "tags": parse_tags(&tags), "properties": props})
                }
                AccountKind::Batch => {
                    json!({"location": location, "tags": parse_tags(&tags), "properties": {}})
                }
                AccountKind::Ai => json!({
                    "location": location, "kind": ai_kind, "sku": {"name": sku}, "tags": parse_tags(&tags),
                    "properties": {"customSubDomainName": name, "disableLocalAuth": disable_local_auth}
                }),
            };
            if let Some(u) = upstream {
                if kind != AccountKind::Ai {
                    bail!("--upstream applies to AI Services accounts only");
                }
                body["properties"]["upstreamUrl"] = json!(u);
            }
            if let Some(m) = regeneration_guard_minutes {
                body["properties"]["regenerationGuardMinutes"] = json!(m);
            }
            let v = c
                .arm
                .ok(
                    Method::PUT,
                    &c.account_path(kind, &resource_group, &name),
                    api_versions::account(kind),
                    Some(body),
                )
                .await?;
            emit(c.output, &decorate(kind, v), ACCOUNT_COLUMNS)
        }
        AccountCmd::List {
            resource_group,
            kind,
        } => {
            let mut all = Vec::new();
            for k in KINDS.into_iter().filter(|k| kind.is_none_or(|x| x == *k)) {
                let path = match &resource_group {
                    Some(g) => format!(
                        "/subscriptions/{}/resourceGroups/{}/providers/{}",
                        c.subscription,
                        enc(g),
                        provider(k)
                    ),
                    None => format!(
                        "/subscriptions/{}/providers/{}",
                        c.subscription,
                        provider(k)
                    ),
                };
                let v = c
                    .arm
                    .ok(Method::GET, &path, api_versions::account(k), None)
                    .await?;
                if let Some(items) = v["value"].as_array() {
                    all.extend(items.iter().cloned().map(|i| decorate(k, i)));
                }
            }
            emit(c.output, &Value::Array(all), ACCOUNT_COLUMNS)
        }
        AccountCmd::Show { account } => {
            let k = c.resolve(&account).await?;
            let v = c
                .arm
                .ok(
                    Method::GET,
                    &c.account_path(k, &account.resource_group, &account.name),
                    api_versions::account(k),
                    None,
                )
                .await?;
            emit(c.output, &decorate(k, v), ACCOUNT_COLUMNS)
        }
        AccountCmd::Delete { account, yes } => {
            let k = c.resolve(&account).await?;
            confirm(
                &format!("delete {} account '{}'", k.as_str(), account.name),
                yes,
            )?;
            c.arm
                .ok(
                    Method::DELETE,
                    &c.account_path(k, &account.resource_group, &account.name),
                    api_versions::account(k),
                    None,
                )
                .await?;
            Ok(())
        }
    }
}
