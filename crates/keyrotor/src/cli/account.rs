//! `keyrotor account`: Cosmos DB, Batch and AI Services accounts.

use anyhow::{bail, Context, Result};
use keyrotor_arm::wire::account::{
    self as wa, AccountEndpoint, AccountRequest, AiCreateProperties, ConsistencyPolicy,
    CosmosCreateProperties, CosmosLocationRequest, KeyAuthProperties, Sku,
};
use keyrotor_arm::wire::api_versions::{self, RESOURCES};
use keyrotor_arm::wire::group::ResourceGroup;
use keyrotor_arm::wire::{ids, List};
use keyrotor_types::AccountKind;
use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use super::args::{self, confirm, parse_tags, KINDS};
use super::client::enc;
use super::keys::guard_query;
use super::output::emit;
use super::{AccountRef, Session};

#[derive(Debug, clap::Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per process; boxing the variant only complicates the clap derive"
)]
pub enum AccountCmd {
    /// Create an account. On an existing account only the options given
    /// change (as `account update` does); nothing else is reset.
    Create {
        /// Resource group of the account.
        #[arg(short = 'g', long)]
        resource_group: String,
        /// Name of the account.
        #[arg(short = 'n', long)]
        name: String,
        #[arg(long, value_parser = args::kind())]
        kind: AccountKind,
        /// Location (default: the resource group's).
        #[arg(short = 'l', long)]
        location: Option<String>,
        /// Cosmos DB API kind [default: GlobalDocumentDB].
        #[arg(long, value_parser = ["GlobalDocumentDB", "MongoDB", "Parse"])]
        api_kind: Option<String>,
        /// AI Services account kind [default: AIServices].
        #[arg(long)]
        ai_kind: Option<String>,
        /// AI Services SKU [default: S0].
        #[arg(long)]
        sku: Option<String>,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Change an account: only the options given change (PATCH); everything
    /// else stays as it is.
    Update {
        #[command(flatten)]
        account: AccountRef,
        /// AI Services SKU.
        #[arg(long)]
        sku: Option<String>,
        #[command(flatten)]
        settings: SettingsArgs,
        /// With --disable-local-auth: a key used more recently than this
        /// blocks the switch (e.g. 30m, 2h, 7d), as `auth disable-local` does.
        #[arg(long, default_value = "7d", value_parser = args::parse_window)]
        window: i64,
        /// With --disable-local-auth: switch key auth off even though keys are in use.
        #[arg(long)]
        force: bool,
    },
    /// List accounts.
    List {
        /// Only the accounts of this resource group.
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
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

/// The settings `account create` and `account update` share. Each is
/// optional: on an existing account only what is given changes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SettingsArgs {
    /// Space-separated tags: key[=value]. Replaces every tag; `--tags` alone removes them all.
    #[arg(long, num_args = 0..)]
    tags: Option<Vec<String>>,
    /// Cosmos DB regions: "Region Name"=failoverPriority ... (replaces the list).
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
    /// Refuse key (local) authentication on the data plane: `--disable-local-auth`
    /// or `--disable-local-auth true|false`.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    disable_local_auth: Option<bool>,
    /// AI Services: base URL the data plane forwards authenticated requests to.
    #[arg(long)]
    upstream: Option<String>,
    /// Refuse (409) regenerating a key used within this many minutes, also
    /// for ARM clients; 0 removes the guard.
    #[arg(long, value_name = "MINUTES")]
    regeneration_guard_minutes: Option<u32>,
}

impl SettingsArgs {
    /// Whether no setting is given.
    fn is_empty(&self) -> bool {
        self.tags.is_none()
            && !self.cosmos_only_given()
            && self.disable_local_auth.is_none()
            && self.upstream.is_none()
            && self.regeneration_guard_minutes.is_none()
    }

    fn cosmos_only_given(&self) -> bool {
        !self.locations.is_empty()
            || self.default_consistency_level.is_some()
            || self.max_interval.is_some()
            || self.max_staleness_prefix.is_some()
    }

    /// Refuses options that do not apply to `kind`.
    fn check(&self, kind: AccountKind) -> Result<()> {
        if self.upstream.is_some() && kind != AccountKind::Ai {
            bail!("--upstream applies to AI Services accounts only");
        }
        if self.cosmos_only_given() && kind != AccountKind::Cosmos {
            bail!("--locations, --default-consistency-level, --max-interval and --max-staleness-prefix apply to Cosmos DB accounts only");
        }
        Ok(())
    }

    /// The key-auth properties as given, for a new account.
    fn key_auth(&self, kind: AccountKind) -> KeyAuthProperties {
        KeyAuthProperties {
            upstream_url: self.upstream.clone(),
            regeneration_guard_minutes: self.regeneration_guard_minutes.filter(|m| *m > 0),
            ..self
                .disable_local_auth
                .map(|off| KeyAuthProperties::local_auth(kind, off))
                .unwrap_or_default()
        }
    }

    /// The PATCH body of `account update`: only what is given.
    fn patch(&self, kind: AccountKind, sku: Option<String>) -> Result<AccountRequest> {
        let mut props = Map::new();
        let mut set = |name: &str, v: Value| {
            props.insert(name.to_string(), v);
        };
        if let Some(off) = self.disable_local_auth {
            let switch = serde_json::to_value(KeyAuthProperties::local_auth(kind, off))?;
            if let Value::Object(m) = switch {
                for (k, v) in m {
                    set(&k, v);
                }
            }
            if !off {
                // Switching key auth on for good ends a break-glass too.
                set(wa::LOCAL_AUTH_REENABLED_UNTIL, Value::Null);
                set("localAuthReportOnly", Value::Bool(false));
            }
        }
        if let Some(u) = &self.upstream {
            set("upstreamUrl", Value::String(u.clone()));
        }
        if let Some(m) = self.regeneration_guard_minutes {
            set(
                "regenerationGuardMinutes",
                if m == 0 { Value::Null } else { Value::from(m) },
            );
        }
        if !self.locations.is_empty() {
            set(
                "locations",
                serde_json::to_value(cosmos_locations(&self.locations, "")?)?,
            );
        }
        if let Some(policy) = self.consistency() {
            set("consistencyPolicy", serde_json::to_value(policy)?);
        }
        let sku = sku
            .map(|name| serde_json::to_value(Sku { name }))
            .transpose()?;
        if sku.is_some() && kind != AccountKind::Ai {
            bail!("--sku applies to AI Services accounts only");
        }
        let request = AccountRequest {
            tags: self.tags.as_deref().map(parse_tags),
            sku,
            properties: (!props.is_empty()).then_some(props),
            ..AccountRequest::default()
        };
        if request.tags.is_none() && request.sku.is_none() && request.properties.is_none() {
            bail!("nothing to change: give at least one option (see --help)");
        }
        Ok(request)
    }

    /// The consistency policy, when any part of it is given.
    fn consistency(&self) -> Option<ConsistencyPolicy> {
        let mut consistency = ConsistencyPolicy {
            default_consistency_level: self.default_consistency_level.clone(),
            max_interval_in_seconds: self.max_interval,
            max_staleness_prefix: self.max_staleness_prefix,
        };
        if consistency == ConsistencyPolicy::default() {
            return None;
        }
        if consistency.default_consistency_level.is_none() {
            consistency.default_consistency_level = Some("Session".into());
        }
        Some(consistency)
    }
}

/// `"Region Name"=priority ...` as Cosmos DB locations; `fallback` alone
/// when none is given (and it is not empty).
fn cosmos_locations(given: &[String], fallback: &str) -> Result<Vec<CosmosLocationRequest>> {
    let mut locations = Vec::new();
    for l in given {
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
    if locations.is_empty() && !fallback.is_empty() {
        locations.push(CosmosLocationRequest {
            location_name: fallback.to_string(),
            failover_priority: 0,
            is_zone_redundant: false,
        });
    }
    Ok(locations)
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

/// The PUT body of a new account: the options given, with the defaults
/// of each kind for the rest.
fn create_body(
    kind: AccountKind,
    name: &str,
    location: String,
    opts: &NewAccount,
    settings: &SettingsArgs,
) -> Result<Value> {
    let tags = Some(settings.tags.as_deref().map(parse_tags).unwrap_or_default());
    let key_auth = settings.key_auth(kind);
    Ok(match kind {
        AccountKind::Cosmos => serde_json::to_value(AccountRequest {
            tags,
            kind: Some(Value::String(
                opts.api_kind
                    .clone()
                    .unwrap_or_else(|| "GlobalDocumentDB".into()),
            )),
            properties: Some(CosmosCreateProperties {
                locations: cosmos_locations(&settings.locations, &location)?,
                database_account_offer_type: "Standard".into(),
                consistency_policy: settings.consistency(),
                key_auth,
            }),
            location: Some(location),
            ..AccountRequest::default()
        })?,
        AccountKind::Batch => serde_json::to_value(AccountRequest {
            location: Some(location),
            tags,
            properties: Some(key_auth),
            ..AccountRequest::default()
        })?,
        AccountKind::Ai => serde_json::to_value(AccountRequest {
            location: Some(location),
            tags,
            kind: Some(Value::String(
                opts.ai_kind.clone().unwrap_or_else(|| "AIServices".into()),
            )),
            sku: Some(serde_json::to_value(Sku {
                name: opts.sku.clone().unwrap_or_else(|| "S0".into()),
            })?),
            properties: Some(AiCreateProperties {
                custom_sub_domain_name: name.to_string(),
                key_auth,
            }),
            ..AccountRequest::default()
        })?,
    })
}

/// What `account create` says of a new account beyond its settings.
struct NewAccount {
    location: Option<String>,
    api_kind: Option<String>,
    ai_kind: Option<String>,
    sku: Option<String>,
}

/// Sends an `account update` PATCH; switching key auth off goes through
/// the server's usage guard (`window`, unless `force`), as `auth
/// disable-local` does.
async fn patch_account(
    c: &Session,
    kind: AccountKind,
    path: &str,
    request: AccountRequest,
    guard: Option<(bool, i64)>,
) -> Result<Value> {
    let switching_off = request
        .properties
        .as_ref()
        .map(|p| serde_json::from_value::<KeyAuthProperties>(Value::Object(p.clone())))
        .transpose()?
        .is_some_and(|p| p.disables_local_auth(kind));
    let path = match guard {
        Some((force, window)) if switching_off => format!("{path}?{}", guard_query(force, window)),
        _ => path.to_string(),
    };
    c.arm
        .ok(
            Method::PATCH,
            &path,
            api_versions::account(kind),
            Some(serde_json::to_value(request)?),
        )
        .await
}

pub(super) async fn run(c: &Session, cmd: AccountCmd) -> Result<()> {
    match cmd {
        AccountCmd::Create {
            resource_group,
            name,
            kind,
            location,
            api_kind,
            ai_kind,
            sku,
            settings,
        } => {
            settings.check(kind)?;
            let group: ResourceGroup = c
                .arm
                .ok_as(Method::GET, &c.group_path(&resource_group), RESOURCES, None)
                .await?;
            let path = c.account_path(kind, &resource_group, &name);
            let api = api_versions::account(kind);
            let (status, current) = c.arm.call(Method::GET, &path, api, None).await?;
            let opts = NewAccount {
                location,
                api_kind,
                ai_kind,
                sku,
            };
            let v = if status == 200 {
                update_existing(c, kind, &name, &path, current, opts, &settings).await?
            } else {
                let location = opts.location.clone().unwrap_or(group.location);
                let body = create_body(kind, &name, location, &opts, &settings)?;
                c.arm.ok(Method::PUT, &path, api, Some(body)).await?
            };
            emit(c.output, &decorate(kind, v)?, ACCOUNT_COLUMNS)
        }
        AccountCmd::Update {
            account,
            sku,
            settings,
            window,
            force,
        } => {
            let k = c.resolve(&account).await?;
            settings.check(k)?;
            let path = c.account_path(k, &account.resource_group, &account.name);
            let request = settings.patch(k, sku)?;
            let v = patch_account(c, k, &path, request, Some((force, window))).await?;
            emit(c.output, &decorate(k, v)?, ACCOUNT_COLUMNS)
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

/// `account create` on an account that exists: what cannot change is
/// refused, the rest is an update with the options given (nothing else is
/// reset).
async fn update_existing(
    c: &Session,
    kind: AccountKind,
    name: &str,
    path: &str,
    current: Value,
    opts: NewAccount,
    settings: &SettingsArgs,
) -> Result<Value> {
    let current: wa::Account<Map<String, Value>> =
        serde_json::from_value(current).context("unexpected answer for the existing account")?;
    if let Some(l) = opts.location.as_deref() {
        if !l.eq_ignore_ascii_case(&current.location) {
            bail!(
                "account '{name}' exists in location '{}'; an account's location cannot change",
                current.location
            );
        }
    }
    let current_kind = current
        .kind
        .as_ref()
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    for (flag, given) in [("--api-kind", &opts.api_kind), ("--ai-kind", &opts.ai_kind)] {
        if let Some(given) = given {
            if !given.eq_ignore_ascii_case(&current_kind) {
                bail!(
                    "account '{name}' exists with kind '{current_kind}'; {flag} cannot change it"
                );
            }
        }
    }
    if settings.is_empty() && opts.sku.is_none() {
        // Nothing given to change: the account is as asked.
        eprintln!("account '{name}' exists; nothing to change");
        return Ok(serde_json::to_value(current)?);
    }
    let request = settings.patch(kind, opts.sku)?;
    eprintln!(
        "account '{name}' exists; changing only the options given (as `account update` does)"
    );
    patch_account(c, kind, path, request, Some((false, DISABLE_WINDOW))).await
}

/// The window of the usage guard when `account create` switches key auth
/// off on an existing account (as `auth disable-local`'s default).
const DISABLE_WINDOW: i64 = 7 * 86_400;
