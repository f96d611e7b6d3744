//! `keyrotor account`: Cosmos DB, Batch and AI Services accounts.

use anyhow::{bail, Context, Result};
use keyrotor_arm::wire::account::{
    self as wa, AccountEndpoint, AccountRequest, AiCreateProperties, ConsistencyPolicy,
    CosmosCreateProperties, CosmosLocationRequest, KeyAuthProperties, Sku,
};
use keyrotor_arm::wire::api_versions::{self, RESOURCES};
use keyrotor_arm::wire::group::ResourceGroup;
use keyrotor_arm::wire::{ids, List, Tags};
use keyrotor_types::AccountKind;
use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use super::args::{self, confirm, parse_tags, KINDS};
use super::client::enc;
use super::output::emit;
use super::{AccountRef, Session};

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

/// An account as the CLI prints it: ARM's answer as it came, plus the
/// convenience fields `resourceGroup`, `keyrotorKind` and `endpoint` that
/// the table view shows.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown {
    #[serde(flatten)]
    account: Map<String, Value>,
    resource_group: Option<String>,
    keyrotor_kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
}

fn decorate(kind: AccountKind, v: Value) -> Result<Value> {
    let a: wa::Account<AccountEndpoint> = serde_json::from_value(v.clone())?;
    let Value::Object(account) = v else {
        bail!("an account is not a JSON object");
    };
    Ok(serde_json::to_value(Shown {
        account,
        resource_group: ids::group_of(&a.id).map(str::to_string),
        keyrotor_kind: kind.as_str(),
        endpoint: a.properties.url().map(str::to_string),
    })?)
}

/// The PUT body of a new account.
#[allow(
    clippy::too_many_arguments,
    reason = "the create command's options, passed on"
)]
fn create_body(
    kind: AccountKind,
    name: &str,
    location: String,
    tags: Tags,
    cosmos: CosmosOptions,
    ai_kind: String,
    sku: String,
    key_auth: KeyAuthProperties,
) -> Result<Value> {
    let tags = Some(tags);
    let location = Some(location);
    Ok(match kind {
        AccountKind::Cosmos => {
            let mut locations = Vec::new();
            for l in &cosmos.locations {
                let (region, prio) = l
                    .rsplit_once('=')
                    .map_or((l.as_str(), "0"), |(r, p)| (r, p));
                let prio: u32 = prio
                    .parse()
                    .with_context(|| format!("invalid failover priority in '{l}'"))?;
                locations.push(CosmosLocationRequest {
                    location_name: region.to_string(),
                    failover_priority: prio.into(),
                    is_zone_redundant: false,
                });
            }
            if locations.is_empty() {
                locations.push(CosmosLocationRequest {
                    location_name: location.clone().unwrap_or_default(),
                    failover_priority: 0,
                    is_zone_redundant: false,
                });
            }
            let mut consistency = ConsistencyPolicy {
                default_consistency_level: cosmos.default_consistency_level,
                max_interval_in_seconds: cosmos.max_interval,
                max_staleness_prefix: cosmos.max_staleness_prefix,
            };
            let given = consistency != ConsistencyPolicy::default();
            if given && consistency.default_consistency_level.is_none() {
                consistency.default_consistency_level = Some("Session".into());
            }
            serde_json::to_value(AccountRequest {
                location,
                tags,
                kind: Some(Value::String(cosmos.api_kind)),
                properties: Some(CosmosCreateProperties {
                    locations,
                    database_account_offer_type: "Standard".into(),
                    consistency_policy: given.then_some(consistency),
                    key_auth,
                }),
                ..AccountRequest::default()
            })?
        }
        AccountKind::Batch => serde_json::to_value(AccountRequest {
            location,
            tags,
            properties: Some(KeyAuthProperties {
                disable_local_auth: None,
                ..key_auth
            }),
            ..AccountRequest::default()
        })?,
        AccountKind::Ai => serde_json::to_value(AccountRequest {
            location,
            tags,
            kind: Some(Value::String(ai_kind)),
            sku: Some(serde_json::to_value(Sku { name: sku })?),
            properties: Some(AiCreateProperties {
                custom_sub_domain_name: name.to_string(),
                key_auth,
            }),
            ..AccountRequest::default()
        })?,
    })
}

/// The Cosmos DB options of `account create`.
struct CosmosOptions {
    api_kind: String,
    locations: Vec<String>,
    default_consistency_level: Option<String>,
    max_interval: Option<u32>,
    max_staleness_prefix: Option<u64>,
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
            let group: ResourceGroup = c
                .arm
                .ok_as(Method::GET, &c.group_path(&resource_group), RESOURCES, None)
                .await?;
            let location = location.unwrap_or(group.location);
            if upstream.is_some() && kind != AccountKind::Ai {
                bail!("--upstream applies to AI Services accounts only");
            }
            let key_auth = KeyAuthProperties {
                disable_local_auth: Some(disable_local_auth),
                upstream_url: upstream,
                regeneration_guard_minutes,
                ..KeyAuthProperties::default()
            };
            let cosmos = CosmosOptions {
                api_kind,
                locations,
                default_consistency_level,
                max_interval,
                max_staleness_prefix,
            };
            let body = create_body(
                kind,
                &name,
                location,
                parse_tags(&tags),
                cosmos,
                ai_kind,
                sku,
                key_auth,
            )?;
            let v = c
                .arm
                .ok(
                    Method::PUT,
                    &c.account_path(kind, &resource_group, &name),
                    api_versions::account(kind),
                    Some(body),
                )
                .await?;
            emit(c.output, &decorate(kind, v)?, ACCOUNT_COLUMNS)
        }
        AccountCmd::List {
            resource_group,
            kind,
        } => {
            let mut all = Vec::new();
            for k in KINDS.into_iter().filter(|k| kind.is_none_or(|x| x == *k)) {
                let group = resource_group.as_deref().map(enc);
                let path = ids::accounts(&c.subscription, group.as_deref(), k);
                let v: List<Value> = c
                    .arm
                    .ok_as(Method::GET, &path, api_versions::account(k), None)
                    .await?;
                for i in v.value {
                    all.push(decorate(k, i)?);
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
            emit(c.output, &decorate(k, v)?, ACCOUNT_COLUMNS)
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
