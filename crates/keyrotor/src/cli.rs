//! The `keyrotor` client commands, in az CLI style: `-g/--resource-group`,
//! `-n/--name`, JSON output by default, `-o table|tsv|none`. They talk to a
//! running service over its ARM API with the bootstrap (or given)
//! credentials, exactly as the az CLI would.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

const API_RG: &str = "2025-04-01";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Cosmos,
    Batch,
    Ai,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Cosmos, Kind::Batch, Kind::Ai];

    fn provider(self) -> &'static str {
        match self {
            Kind::Cosmos => "Microsoft.DocumentDB/databaseAccounts",
            Kind::Batch => "Microsoft.Batch/batchAccounts",
            Kind::Ai => "Microsoft.CognitiveServices/accounts",
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            Kind::Cosmos => "2026-03-15",
            Kind::Batch => "2025-06-01",
            Kind::Ai => "2025-09-01",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Cosmos => "cosmos",
            Kind::Batch => "batch",
            Kind::Ai => "ai",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Json,
    Table,
    Tsv,
    None,
}

/// How to reach and authenticate to the service.
#[derive(Debug, Clone, clap::Args)]
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
        cmd: GroupCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// Manage Cosmos DB, Batch and AI Services accounts.
    Account {
        #[command(subcommand)]
        cmd: AccountCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// Manage service principals, their client secrets and the token-signing key.
    Identity {
        #[command(subcommand)]
        cmd: IdentityCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// Turn key ("local") authentication off safely, in report-only mode, or back on.
    Auth {
        #[command(subcommand)]
        cmd: AuthCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// List and regenerate account keys.
    Keys {
        #[command(subcommand)]
        cmd: KeysCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// Key vaults, their keys (with rotation policies) and secrets.
    Vault {
        #[command(subcommand)]
        cmd: VaultCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// Role-based access: role definitions and role assignments.
    Role {
        #[command(subcommand)]
        cmd: RoleCmd,
        #[command(flatten)]
        conn: Conn,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum VaultCmd {
    /// Create (or update) a vault. Soft delete is always on.
    Create {
        #[arg(short = 'n', long)]
        name: String,
        #[arg(short = 'g', long)]
        resource_group: String,
        #[arg(short = 'l', long, default_value = "westus")]
        location: String,
        /// Days a deleted vault, key or secret stays recoverable (7-90).
        #[arg(long, default_value_t = 90)]
        retention_days: u32,
        /// Refuse purging before the retention ends; cannot be turned off.
        #[arg(long)]
        enable_purge_protection: bool,
    },
    /// List vaults (of a group, or of the subscription).
    List {
        #[arg(short = 'g', long)]
        resource_group: Option<String>,
        /// List soft-deleted vaults instead.
        #[arg(long)]
        deleted: bool,
    },
    /// Soft-delete a vault (recoverable during its retention period).
    Delete {
        #[arg(short = 'n', long)]
        name: String,
        #[arg(short = 'g', long)]
        resource_group: String,
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// Recover a soft-deleted vault.
    Recover {
        #[arg(short = 'n', long)]
        name: String,
        #[arg(short = 'g', long)]
        resource_group: String,
    },
    /// Remove a soft-deleted vault for good (refused under purge protection).
    Purge {
        #[arg(short = 'n', long)]
        name: String,
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// Keys: create, list, rotate, rotation policy.
    Key {
        #[command(subcommand)]
        cmd: VaultKeyCmd,
    },
    /// Secrets: set, get, list.
    Secret {
        #[command(subcommand)]
        cmd: VaultSecretCmd,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum VaultKeyCmd {
    /// Create a key (a new version if it exists).
    Create {
        #[arg(long)]
        vault: String,
        #[arg(short = 'n', long)]
        name: String,
        /// RSA, RSA-HSM, EC, EC-HSM, oct or oct-HSM.
        #[arg(long, default_value = "RSA")]
        kty: String,
        /// RSA: 2048, 3072 or 4096; oct: 256.
        #[arg(long)]
        size: Option<u32>,
        /// EC: P-256, P-384 or P-521.
        #[arg(long)]
        curve: Option<String>,
    },
    /// List keys, or the versions of one key.
    List {
        #[arg(long)]
        vault: String,
        /// Show this key's versions.
        #[arg(short = 'n', long)]
        name: Option<String>,
    },
    /// Rotate a key now (a new version; the old ones still unwrap).
    Rotate {
        #[arg(long)]
        vault: String,
        #[arg(short = 'n', long)]
        name: String,
    },
    /// Show, set or run rotation policies.
    Policy {
        #[command(subcommand)]
        cmd: PolicyCmd,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCmd {
    Show {
        #[arg(long)]
        vault: String,
        #[arg(short = 'n', long)]
        name: String,
    },
    /// Set a key's rotation policy (ISO 8601 durations, e.g. P30D, P1Y).
    Set {
        #[arg(long)]
        vault: String,
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

#[derive(Debug, clap::Subcommand)]
pub enum VaultSecretCmd {
    /// Set a secret (a new version). The value comes from --value, or from
    /// standard input when --value is absent (keeps it out of shell history).
    Set {
        #[arg(long)]
        vault: String,
        #[arg(short = 'n', long)]
        name: String,
        #[arg(long)]
        value: Option<String>,
        #[arg(long)]
        content_type: Option<String>,
    },
    /// Print a secret's value (latest, or --version).
    Get {
        #[arg(long)]
        vault: String,
        #[arg(short = 'n', long)]
        name: String,
        #[arg(long)]
        version: Option<String>,
    },
    /// List secrets (metadata only), or the versions of one.
    List {
        #[arg(long)]
        vault: String,
        #[arg(short = 'n', long)]
        name: Option<String>,
    },
}

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
    #[arg(long, value_enum, requires = "name")]
    kind: Option<Kind>,
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

#[derive(Debug, clap::Subcommand)]
pub enum GroupCmd {
    /// Create (or update) a resource group.
    Create {
        #[arg(short = 'n', long)]
        name: String,
        #[arg(short = 'l', long)]
        location: String,
        /// Space-separated tags: key[=value].
        #[arg(long, num_args = 0..)]
        tags: Vec<String>,
    },
    /// List resource groups.
    List,
    /// Show one resource group.
    Show {
        #[arg(short = 'n', long)]
        name: String,
    },
    /// Delete a resource group and every account in it.
    Delete {
        #[arg(short = 'n', long)]
        name: String,
        /// Do not prompt for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct AccountRef {
    #[arg(short = 'g', long)]
    resource_group: String,
    #[arg(short = 'n', long)]
    name: String,
    /// Account kind; found automatically when the name is unambiguous.
    #[arg(long, value_enum)]
    kind: Option<Kind>,
}

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
        #[arg(long, value_enum)]
        kind: Kind,
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
        #[arg(long, value_enum)]
        kind: Option<Kind>,
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
        #[arg(short = 'n', long)]
        name: String,
        /// Lifetime of the first secret (e.g. 90d); default: no expiry.
        #[arg(long, value_parser = parse_window)]
        secret_expires: Option<i64>,
    },
    /// List service principals and their secrets (ids and expiry only).
    List,
    /// Delete a service principal.
    Delete {
        /// Client id of the service principal.
        #[arg(long = "id")]
        sp_id: String,
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
    /// Remove a client secret.
    Remove {
        /// Client id of the service principal.
        #[arg(long = "id")]
        sp_id: String,
        #[arg(long)]
        secret_id: String,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum SigningKeyCmd {
    /// Start signing with a new key; the old one stays in the JWKS until its tokens expire.
    Rotate,
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeysType {
    Keys,
    ReadOnlyKeys,
    ConnectionStrings,
}

#[derive(Debug, clap::Subcommand)]
pub enum KeysCmd {
    /// List an account's keys.
    List {
        #[command(flatten)]
        account: AccountRef,
        /// What to list (Cosmos DB only: read-only-keys, connection-strings).
        #[arg(long = "type", value_enum, default_value = "keys")]
        kind_of_keys: KeysType,
    },
    /// Regenerate one key; the other keys keep working. Refuses a key used
    /// within --window unless --force, naming the clients that still use it.
    Regenerate {
        #[command(flatten)]
        account: AccountRef,
        /// Which key: primary | secondary (all kinds; key1/key2 for AI too),
        /// primaryReadonly | secondaryReadonly (Cosmos DB).
        #[arg(long)]
        key_kind: String,
        /// A key used more recently than this is "in use" (e.g. 15m, 2h, 7d; plain numbers are minutes).
        #[arg(long, default_value = "15m", value_parser = parse_window)]
        window: i64,
        /// Regenerate even if the key is in use (clients on it will fail at once).
        #[arg(long)]
        force: bool,
    },
    /// Show when each key was last used and by whom: is it safe to regenerate key X?
    Usage {
        #[command(flatten)]
        account: AccountRef,
        /// A key used more recently than this is "in use" (e.g. 15m, 2h, 7d).
        #[arg(long, default_value = "15m", value_parser = parse_window)]
        window: i64,
    },
}

/// Parses a duration such as `15m`, `2h`, `7d`, `90s` or `15` (minutes) into seconds.
/// `force=true`, or the guard window for the server's usage check.
fn guard_query(force: bool, window: i64) -> String {
    if force {
        "force=true".into()
    } else {
        format!("guardWindow=PT{window}S")
    }
}

fn parse_window(s: &str) -> std::result::Result<i64, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('s') => (&s[..s.len() - 1], 1),
        Some('m') => (&s[..s.len() - 1], 60),
        Some('h') => (&s[..s.len() - 1], 3600),
        Some('d') => (&s[..s.len() - 1], 86_400),
        _ => (s, 60),
    };
    num.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0 && *n <= 366 * 86_400)
        .map(|n| n * mult)
        .ok_or_else(|| format!("'{s}' is not a duration such as 15m, 2h or 7d"))
}

fn ago(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s ago"),
        s if s < 7200 => format!("{}m ago", s / 60),
        s if s < 172_800 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86_400),
    }
}

fn parse_time(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// One key's usage as listKeyUsage reports it, judged against a window.
struct KeyVerdict {
    name: String,
    kind: String,
    generated: String,
    last_used: Option<time::OffsetDateTime>,
    requests_24h: u64,
    clients: Vec<String>,
    in_use: bool,
}

/// Each key of a `listKeyUsage` answer, with the server guard's verdict.
fn verdicts(usage: &Value) -> Vec<KeyVerdict> {
    usage["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .map(|k| {
                    let last_used = k["lastUsedTime"].as_str().and_then(parse_time);
                    KeyVerdict {
                        name: cell(&k["keyName"]),
                        kind: cell(&k["keyKind"]),
                        generated: cell(&k["generationTime"]),
                        last_used,
                        requests_24h: k["requestsLast24Hours"].as_u64().unwrap_or(0),
                        clients: k["clients"]
                            .as_array()
                            .map(|c| {
                                c.iter()
                                    .map(|c| {
                                        format!(
                                            "{} @ {}",
                                            cell(&c["userAgent"]),
                                            cell(&c["address"])
                                        )
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        in_use: k["inUse"].as_bool().unwrap_or(false),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: zeroize::Zeroizing<String>,
    subscription: String,
    output: Output,
    /// For tokens of other audiences (vault data planes).
    token_url: String,
    client_id: String,
    secret: zeroize::Zeroizing<String>,
    ca_pem: Option<Vec<u8>>,
}

fn field(doc: &Value, name: &str) -> Option<String> {
    doc.get(name).and_then(Value::as_str).map(str::to_string)
}

async fn connect(conn: &Conn) -> Result<Client> {
    let doc: Value = match std::fs::read(&conn.bootstrap) {
        Ok(b) => serde_json::from_slice(&b).with_context(|| format!("{} is not valid JSON", conn.bootstrap.display()))?,
        Err(e) if conn.endpoint.is_some() && conn.client_secret.is_some() => {
            let _ = e;
            json!({})
        }
        Err(e) => bail!(
            "cannot read {} ({e}); start 'keyrotor serve' first or pass --endpoint, --tenant, --client-id and --client-secret",
            conn.bootstrap.display()
        ),
    };
    let need = |given: &Option<String>, key: &str, flag: &str| -> Result<String> {
        given
            .clone()
            .or_else(|| field(&doc, key))
            .ok_or_else(|| anyhow!("no {flag} given and none in {}", conn.bootstrap.display()))
    };
    let base = need(&conn.endpoint, "resourceManager", "--endpoint")?
        .trim_end_matches('/')
        .to_string();
    let authority = conn
        .endpoint
        .clone()
        .or_else(|| field(&doc, "authority"))
        .unwrap_or_else(|| base.clone());
    let tenant = need(&conn.tenant, "tenantId", "--tenant")?;
    let client_id = need(&conn.client_id, "clientId", "--client-id")?;
    let secret = zeroize::Zeroizing::new(need(
        &conn.client_secret,
        "clientSecret",
        "--client-secret",
    )?);
    let subscription = need(&conn.subscription, "subscriptionId", "--subscription")?;
    let ca = conn
        .ca_cert
        .clone()
        .or_else(|| field(&doc, "caCert").map(PathBuf::from));
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(std::time::Duration::from_secs(60));
    let ca_pem = match &ca {
        Some(ca) => Some(
            std::fs::read(ca)
                .with_context(|| format!("reading CA certificate {}", ca.display()))?,
        ),
        None => None,
    };
    if let Some(pem) = &ca_pem {
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(pem)?);
    }
    let http = builder.build()?;
    let token_url = format!(
        "{}/{tenant}/oauth2/v2.0/token",
        authority.trim_end_matches('/')
    );
    let token = get_token(
        &http,
        &token_url,
        &client_id,
        &secret,
        "https://management.azure.com/.default",
    )
    .await?;
    Ok(Client {
        http,
        base,
        token,
        subscription,
        output: conn.output,
        token_url,
        client_id,
        secret,
        ca_pem,
    })
}

/// A client-credentials token for `scope` from keyrotor's token endpoint.
async fn get_token(
    http: &reqwest::Client,
    url: &str,
    client_id: &str,
    secret: &str,
    scope: &str,
) -> Result<zeroize::Zeroizing<String>> {
    let resp = http
        .post(url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", scope),
        ])
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!(
            "sign-in failed ({status}): {}",
            field(&body, "error_description").unwrap_or_else(|| "no details".into())
        );
    }
    Ok(zeroize::Zeroizing::new(
        field(&body, "access_token").ok_or_else(|| anyhow!("sign-in returned no token"))?,
    ))
}

impl Client {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        api: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("{}{path}{sep}api-version={api}", self.base);
        let mut req = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(self.token.as_str());
        req = match body {
            Some(b) => req.json(&b),
            None if method == reqwest::Method::POST => req.header("content-length", "0"),
            None => req,
        };
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.base))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, value))
    }

    async fn ok(
        &self,
        method: reqwest::Method,
        path: &str,
        api: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let (status, value) = self.call(method, path, api, body).await?;
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let code = value
            .pointer("/error/code")
            .and_then(Value::as_str)
            .unwrap_or("Error");
        let message = value
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("no details");
        if code == "KeyInUse" {
            bail!("refusing: ({code}) {message}\nWith the CLI: `keyrotor keys usage` shows who still uses which key; --force overrides the check.")
        }
        bail!("({code}) {message}")
    }

    fn group_path(&self, group: &str) -> String {
        format!(
            "/subscriptions/{}/resourcegroups/{}",
            self.subscription,
            enc(group)
        )
    }

    fn account_path(&self, kind: Kind, group: &str, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{}/{}",
            self.subscription,
            enc(group),
            kind.provider(),
            enc(name)
        )
    }

    /// `listKeyUsage` of the account at `base`; with a window (seconds),
    /// the server's guard says of each key whether it is in use.
    async fn key_usage(&self, kind: Kind, base: &str, window: Option<i64>) -> Result<Value> {
        let query = window.map_or_else(String::new, |w| format!("?{}", guard_query(false, w)));
        self.ok(
            reqwest::Method::POST,
            &format!("{base}/listKeyUsage{query}"),
            kind.api_version(),
            None,
        )
        .await
    }

    /// Finds the kind of the account `name` when not given.
    async fn resolve(&self, r: &AccountRef) -> Result<Kind> {
        if let Some(k) = r.kind {
            return Ok(k);
        }
        let mut found = Vec::new();
        for k in Kind::ALL {
            let (status, _) = self
                .call(
                    reqwest::Method::GET,
                    &self.account_path(k, &r.resource_group, &r.name),
                    k.api_version(),
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
            [] => bail!(
                "(ResourceNotFound) no account named '{}' in resource group '{}'",
                r.name,
                r.resource_group
            ),
            _ => bail!("several accounts are named '{}'; pass --kind", r.name),
        }
    }
}

fn enc(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'(')
        .remove(b')');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

fn parse_tags(tags: &[String]) -> Value {
    let m: serde_json::Map<String, Value> = tags
        .iter()
        .map(|t| match t.split_once('=') {
            Some((k, v)) => (k.to_string(), json!(v)),
            None => (t.clone(), json!("")),
        })
        .collect();
    Value::Object(m)
}

fn confirm(what: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        bail!("refusing to {what} without confirmation; pass --yes");
    }
    eprint!("Are you sure you want to {what}? (y/n): ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if matches!(line.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        bail!("cancelled")
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints rows as an aligned table or as tab-separated values.
fn print_rows(output: Output, headers: &[&str], rows: &[Vec<String>]) {
    match output {
        Output::Tsv => {
            for r in rows {
                println!("{}", r.join("\t"));
            }
        }
        _ => {
            let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
            for r in rows {
                for (i, c) in r.iter().enumerate() {
                    widths[i] = widths[i].max(c.chars().count());
                }
            }
            let line = |cells: Vec<String>| {
                cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            println!("{}", line(headers.iter().map(|h| h.to_string()).collect()));
            println!("{}", line(widths.iter().map(|w| "-".repeat(*w)).collect()));
            for r in rows {
                println!("{}", line(r.clone()));
            }
        }
    }
}

/// Prints a result: JSON, or a table of the given columns (JSON pointers).
fn emit(output: Output, value: &Value, columns: &[(&str, &str)]) -> Result<()> {
    match output {
        Output::None => Ok(()),
        Output::Json => {
            println!("{}", serde_json::to_string_pretty(value)?);
            Ok(())
        }
        Output::Table | Output::Tsv => {
            let items: Vec<&Value> = match value {
                Value::Array(a) => a.iter().collect(),
                Value::Null => vec![],
                v => vec![v],
            };
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|it| {
                    columns
                        .iter()
                        .map(|(_, p)| cell(it.pointer(p).unwrap_or(&Value::Null)))
                        .collect()
                })
                .collect();
            let headers: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
            print_rows(output, &headers, &rows);
            Ok(())
        }
    }
}

const GROUP_COLUMNS: &[(&str, &str)] = &[
    ("Name", "/name"),
    ("Location", "/location"),
    ("Status", "/properties/provisioningState"),
];
const ACCOUNT_COLUMNS: &[(&str, &str)] = &[
    ("Name", "/name"),
    ("ResourceGroup", "/resourceGroup"),
    ("Kind", "/keyrotorKind"),
    ("Location", "/location"),
    ("Endpoint", "/endpoint"),
];

/// Adds the convenience fields `resourceGroup`, `keyrotorKind` and
/// `endpoint` that the table view shows (JSON keeps ARM's shape plus these).
fn decorate(kind: Kind, mut v: Value) -> Value {
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
        m.insert("keyrotorKind".into(), json!(kind.label()));
        if let Some(e) = endpoint {
            m.insert("endpoint".into(), e);
        }
    }
    v
}

fn key_name_for(kind: Kind, key_kind: &str) -> Result<(&'static str, &'static str)> {
    let k = key_kind.to_ascii_lowercase();
    Ok(match (kind, k.as_str()) {
        (Kind::Cosmos, "primary") => ("keyKind", "primary"),
        (Kind::Cosmos, "secondary") => ("keyKind", "secondary"),
        (Kind::Cosmos, "primaryreadonly") => ("keyKind", "primaryReadonly"),
        (Kind::Cosmos, "secondaryreadonly") => ("keyKind", "secondaryReadonly"),
        (Kind::Batch, "primary") => ("keyName", "Primary"),
        (Kind::Batch, "secondary") => ("keyName", "Secondary"),
        (Kind::Ai, "primary" | "key1") => ("keyName", "Key1"),
        (Kind::Ai, "secondary" | "key2") => ("keyName", "Key2"),
        (Kind::Cosmos, _) => bail!(
            "--key-kind must be one of primary, secondary, primaryReadonly, secondaryReadonly"
        ),
        (Kind::Batch, _) => bail!("--key-kind must be primary or secondary for Batch accounts"),
        (Kind::Ai, _) => {
            bail!("--key-kind must be primary (key1) or secondary (key2) for AI Services accounts")
        }
    })
}

/// Rows (key name, value, generated) of a keys listing.
fn key_rows(kind: Kind, keys: &Value, account: Option<&Value>) -> Vec<Vec<String>> {
    let names: &[(&str, &str, &str)] = match kind {
        Kind::Cosmos => &[
            ("primaryMasterKey", "primary", "primaryMasterKey"),
            ("secondaryMasterKey", "secondary", "secondaryMasterKey"),
            (
                "primaryReadonlyMasterKey",
                "primaryReadonly",
                "primaryReadonlyMasterKey",
            ),
            (
                "secondaryReadonlyMasterKey",
                "secondaryReadonly",
                "secondaryReadonlyMasterKey",
            ),
        ],
        Kind::Batch => &[("primary", "primary", ""), ("secondary", "secondary", "")],
        Kind::Ai => &[("key1", "primary", ""), ("key2", "secondary", "")],
    };
    names
        .iter()
        .filter(|(field, _, _)| keys.get(*field).is_some())
        .map(|(field, slot, meta)| {
            let generated = account
                .and_then(|a| a.pointer(&format!("/properties/keysMetadata/{meta}/generationTime")))
                .map(cell)
                .unwrap_or_default();
            vec![
                field.to_string(),
                slot.to_string(),
                cell(&keys[*field]),
                generated,
            ]
        })
        .collect()
}

impl ClientCommand {
    fn conn(&self) -> &Conn {
        match self {
            ClientCommand::Group { conn, .. }
            | ClientCommand::Account { conn, .. }
            | ClientCommand::Identity { conn, .. }
            | ClientCommand::Auth { conn, .. }
            | ClientCommand::Keys { conn, .. }
            | ClientCommand::Vault { conn, .. }
            | ClientCommand::Role { conn, .. } => conn,
        }
    }
}

pub async fn run(cmd: ClientCommand) -> Result<()> {
    use reqwest::Method;
    // Every command signs in the same way before it does anything.
    let c = connect(cmd.conn()).await?;
    match cmd {
        ClientCommand::Group { cmd, .. } => match cmd {
            GroupCmd::Create {
                name,
                location,
                tags,
            } => {
                let v = c
                    .ok(
                        Method::PUT,
                        &c.group_path(&name),
                        API_RG,
                        Some(json!({"location": location, "tags": parse_tags(&tags)})),
                    )
                    .await?;
                emit(c.output, &v, GROUP_COLUMNS)
            }
            GroupCmd::List => {
                let v = c
                    .ok(
                        Method::GET,
                        &format!("/subscriptions/{}/resourcegroups", c.subscription),
                        API_RG,
                        None,
                    )
                    .await?;
                emit(c.output, &v["value"], GROUP_COLUMNS)
            }
            GroupCmd::Show { name } => {
                let v = c
                    .ok(Method::GET, &c.group_path(&name), API_RG, None)
                    .await?;
                emit(c.output, &v, GROUP_COLUMNS)
            }
            GroupCmd::Delete { name, yes } => {
                confirm(
                    &format!("delete resource group '{name}' and every account in it"),
                    yes,
                )?;
                c.ok(Method::DELETE, &c.group_path(&name), API_RG, None)
                    .await?;
                Ok(())
            }
        },
        ClientCommand::Account { cmd, .. } => match cmd {
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
                    .ok(Method::GET, &c.group_path(&resource_group), API_RG, None)
                    .await?;
                let location = location
                    .or_else(|| field(&group, "location"))
                    .ok_or_else(|| anyhow!("no --location given"))?;
                let body = match kind {
                    Kind::Cosmos => {
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
                    Kind::Batch => {
                        json!({"location": location, "tags": parse_tags(&tags), "properties": {}})
                    }
                    Kind::Ai => json!({
                        "location": location, "kind": ai_kind, "sku": {"name": sku}, "tags": parse_tags(&tags),
                        "properties": {"customSubDomainName": name, "disableLocalAuth": disable_local_auth}
                    }),
                };
                let mut body = body;
                if let Some(u) = upstream {
                    if kind != Kind::Ai {
                        bail!("--upstream applies to AI Services accounts only");
                    }
                    body["properties"]["upstreamUrl"] = json!(u);
                }
                if let Some(m) = regeneration_guard_minutes {
                    body["properties"]["regenerationGuardMinutes"] = json!(m);
                }
                let v = c
                    .ok(
                        Method::PUT,
                        &c.account_path(kind, &resource_group, &name),
                        kind.api_version(),
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
                for k in Kind::ALL
                    .into_iter()
                    .filter(|k| kind.is_none_or(|x| x == *k))
                {
                    let path = match &resource_group {
                        Some(g) => format!(
                            "/subscriptions/{}/resourceGroups/{}/providers/{}",
                            c.subscription,
                            enc(g),
                            k.provider()
                        ),
                        None => format!(
                            "/subscriptions/{}/providers/{}",
                            c.subscription,
                            k.provider()
                        ),
                    };
                    let v = c.ok(Method::GET, &path, k.api_version(), None).await?;
                    if let Some(items) = v["value"].as_array() {
                        all.extend(items.iter().cloned().map(|i| decorate(k, i)));
                    }
                }
                emit(c.output, &Value::Array(all), ACCOUNT_COLUMNS)
            }
            AccountCmd::Show { account } => {
                let k = c.resolve(&account).await?;
                let v = c
                    .ok(
                        Method::GET,
                        &c.account_path(k, &account.resource_group, &account.name),
                        k.api_version(),
                        None,
                    )
                    .await?;
                emit(c.output, &decorate(k, v), ACCOUNT_COLUMNS)
            }
            AccountCmd::Delete { account, yes } => {
                let k = c.resolve(&account).await?;
                confirm(
                    &format!("delete {} account '{}'", k.label(), account.name),
                    yes,
                )?;
                c.ok(
                    Method::DELETE,
                    &c.account_path(k, &account.resource_group, &account.name),
                    k.api_version(),
                    None,
                )
                .await?;
                Ok(())
            }
        },
        ClientCommand::Identity { cmd, .. } => run_identity(&c, cmd).await,
        ClientCommand::Auth { cmd, .. } => run_auth(&c, cmd).await,
        ClientCommand::Vault { cmd, .. } => run_vault(&c, cmd).await,
        ClientCommand::Role { cmd, .. } => run_role(&c, cmd).await,
        ClientCommand::Keys { cmd, .. } => {
            match cmd {
                KeysCmd::List {
                    account,
                    kind_of_keys,
                } => {
                    let k = c.resolve(&account).await?;
                    let base = c.account_path(k, &account.resource_group, &account.name);
                    let action = match (k, kind_of_keys) {
                        (_, KeysType::Keys) => "listKeys",
                        (Kind::Cosmos, KeysType::ReadOnlyKeys) => "readonlykeys",
                        (Kind::Cosmos, KeysType::ConnectionStrings) => "listConnectionStrings",
                        _ => bail!("--type {kind_of_keys:?} applies to Cosmos DB accounts only"),
                    };
                    let v = c
                        .ok(
                            Method::POST,
                            &format!("{base}/{action}"),
                            k.api_version(),
                            None,
                        )
                        .await?;
                    match (c.output, kind_of_keys) {
                        (Output::Table | Output::Tsv, KeysType::ConnectionStrings) => emit(
                            c.output,
                            &v["connectionStrings"],
                            &[
                                ("Description", "/description"),
                                ("ConnectionString", "/connectionString"),
                            ],
                        ),
                        (Output::Table | Output::Tsv, _) => {
                            let acct = c.ok(Method::GET, &base, k.api_version(), None).await.ok();
                            print_rows(
                                c.output,
                                &["Key", "KeyKind", "Value", "Generated"],
                                &key_rows(k, &v, acct.as_ref()),
                            );
                            Ok(())
                        }
                        _ => emit(c.output, &v, &[]),
                    }
                }
                KeysCmd::Usage { account, window } => {
                    let k = c.resolve(&account).await?;
                    let base = c.account_path(k, &account.resource_group, &account.name);
                    let usage = c.key_usage(k, &base, Some(window)).await?;
                    if matches!(c.output, Output::Json | Output::None) {
                        return emit(c.output, &usage, &[]);
                    }
                    let now = time::OffsetDateTime::now_utc();
                    let list = verdicts(&usage);
                    let active = list
                        .iter()
                        .filter_map(|v| v.last_used.map(|t| (t, v.kind.clone())))
                        .max()
                        .map(|(_, k)| k);
                    let rows: Vec<Vec<String>> = list
                        .iter()
                        .map(|v| {
                            vec![
                                v.name.clone(),
                                v.kind.clone(),
                                v.last_used.map_or_else(
                                    || "never".into(),
                                    |t| {
                                        format!(
                                            "{} ({})",
                                            t.format(
                                                &time::format_description::well_known::Rfc3339
                                            )
                                            .unwrap_or_default(),
                                            ago((now - t).whole_seconds())
                                        )
                                    },
                                ),
                                v.requests_24h.to_string(),
                                if v.clients.is_empty() {
                                    "-".into()
                                } else {
                                    v.clients.join(", ")
                                },
                                match (v.in_use, active.as_deref() == Some(v.kind.as_str())) {
                                    (true, true) => "ACTIVE: in use, do not regenerate".into(),
                                    (true, false) => "IN USE: move clients first".into(),
                                    (false, _) => "safe to regenerate".into(),
                                },
                                v.generated.clone(),
                            ]
                        })
                        .collect();
                    print_rows(
                        c.output,
                        &[
                            "Key",
                            "KeyKind",
                            "LastUsed",
                            "Requests24h",
                            "Clients",
                            "Verdict",
                            "Generated",
                        ],
                        &rows,
                    );
                    Ok(())
                }
                KeysCmd::Regenerate {
                    account,
                    key_kind,
                    window,
                    force,
                } => {
                    let k = c.resolve(&account).await?;
                    let (field_name, value) = key_name_for(k, &key_kind)?;
                    let base = c.account_path(k, &account.resource_group, &account.name);
                    let action = if k == Kind::Batch {
                        "regenerateKeys"
                    } else {
                        "regenerateKey"
                    };
                    // The server refuses a key used within the window (one
                    // check, next to the regeneration: no race with a client
                    // that starts using the key in between).
                    let path = format!("{base}/{action}?{}", guard_query(force, window));
                    let v = c
                        .ok(
                            Method::POST,
                            &path,
                            k.api_version(),
                            Some(json!({ field_name: value })),
                        )
                        .await?;
                    // Cosmos answers without a body, as Azure does; show the account's key metadata instead.
                    let v = if v.is_null() {
                        let acct = c.ok(Method::GET, &base, k.api_version(), None).await?;
                        json!({ "keyKind": value, "keysMetadata": acct.pointer("/properties/keysMetadata") })
                    } else {
                        v
                    };
                    match c.output {
                        Output::Table | Output::Tsv if v.get("keysMetadata").is_none() => {
                            print_rows(
                                c.output,
                                &["Key", "KeyKind", "Value", "Generated"],
                                &key_rows(k, &v, None),
                            );
                            Ok(())
                        }
                        _ => emit(
                            c.output,
                            &v,
                            &[
                                ("KeyKind", "/keyKind"),
                                (
                                    "Generated",
                                    &format!("/keysMetadata/{value}MasterKey/generationTime"),
                                ),
                            ],
                        ),
                    }
                }
            }
        }
    }
}

/// ARM properties that switch key authentication on or off for a kind.
fn local_auth_properties(kind: Kind, disabled: bool) -> Value {
    match (kind, disabled) {
        (Kind::Batch, true) => {
            json!({ "allowedAuthenticationModes": ["AAD", "TaskAuthenticationToken"] })
        }
        (Kind::Batch, false) => {
            json!({ "allowedAuthenticationModes": ["SharedKey", "AAD", "TaskAuthenticationToken"] })
        }
        (_, d) => json!({ "disableLocalAuth": d }),
    }
}

fn local_auth_disabled(kind: Kind, account: &Value) -> bool {
    match kind {
        Kind::Batch => account
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

async fn run_auth(c: &Client, cmd: AuthCmd) -> Result<()> {
    use reqwest::Method;
    let now = time::OffsetDateTime::now_utc();
    let rfc3339 = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
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
            c.ok(
                Method::PATCH,
                &path,
                k.api_version(),
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
                    let current = c.ok(Method::GET, &base, k.api_version(), None).await?;
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
            c.ok(
                Method::PATCH,
                &base,
                k.api_version(),
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
            let a = c.ok(Method::GET, &base, k.api_version(), None).await?;
            let usage = c.key_usage(k, &base, None).await?;
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

const API_IDENTITY: &str = "2026-11-01";
const SP_COLUMNS: &[(&str, &str)] = &[
    ("ClientId", "/clientId"),
    ("DisplayName", "/displayName"),
    ("Created", "/createdTime"),
    ("Secrets", "/secretCount"),
];

const API_AUTHZ: &str = "2022-04-01";
const API_KV_MGMT: &str = "2026-05-15";
const API_KV: &str = "2025-07-01";
const VAULT_COLUMNS: &[(&str, &str)] = &[
    ("Name", "/name"),
    ("Location", "/location"),
    ("VaultUri", "/properties/vaultUri"),
    ("RetentionDays", "/properties/softDeleteRetentionInDays"),
    ("PurgeProtection", "/properties/enablePurgeProtection"),
];

/// A vault's data plane: its URL, an HTTP client that reaches it, a token.
struct VaultConn {
    uri: String,
    http: reqwest::Client,
    token: zeroize::Zeroizing<String>,
}

impl Client {
    /// Finds the vault by name and signs in to its data plane (the vault
    /// host resolves to the service's own address: one service serves all).
    async fn vault_conn(&self, name: &str) -> Result<VaultConn> {
        let list = self
            .ok(
                reqwest::Method::GET,
                &format!(
                    "/subscriptions/{}/providers/Microsoft.KeyVault/vaults",
                    self.subscription
                ),
                API_KV_MGMT,
                None,
            )
            .await?;
        let uri = list["value"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| {
                v["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .and_then(|v| v["properties"]["vaultUri"].as_str())
            .ok_or_else(|| anyhow!("(VaultNotFound) no vault named '{name}'"))?
            .to_string();
        let url = reqwest::Url::parse(&uri).context("the vault URI is not a URL")?;
        let host = url.host_str().unwrap_or_default().to_string();
        let port = url.port_or_known_default().unwrap_or(443);
        let base = reqwest::Url::parse(&self.base).context("the endpoint is not a URL")?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(std::time::Duration::from_secs(60));
        if let Some(pem) = &self.ca_pem {
            builder = builder.add_root_certificate(reqwest::Certificate::from_pem(pem)?);
        }
        if let (Some(bh), Some(bp)) = (base.host_str(), base.port_or_known_default()) {
            let target = tokio::net::lookup_host((bh.trim_matches(['[', ']']), bp))
                .await
                .ok()
                .and_then(|mut a| a.next());
            if let Some(mut addr) = target {
                addr.set_port(port);
                builder = builder.resolve(&host, addr);
            }
        }
        let http = builder.build()?;
        let resource = match host.split_once('.') {
            Some((_, rest)) => match url.port() {
                Some(p) => format!("https://{rest}:{p}"),
                None => format!("https://{rest}"),
            },
            None => bail!("the vault URI has no vault host name"),
        };
        let token = get_token(
            &self.http,
            &self.token_url,
            &self.client_id,
            &self.secret,
            &format!("{resource}/.default"),
        )
        .await?;
        Ok(VaultConn {
            uri: uri.trim_end_matches('/').to_string(),
            http,
            token,
        })
    }
}

impl VaultConn {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut req = self
            .http
            .request(
                method.clone(),
                format!("{}{path}{sep}api-version={API_KV}", self.uri),
            )
            .bearer_auth(self.token.as_str());
        req = match body {
            Some(b) => req.json(&b),
            None if method == reqwest::Method::POST => req.header("content-length", "0"),
            None => req,
        };
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.uri))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            bail!(
                "({}) {}",
                v.pointer("/error/code")
                    .and_then(Value::as_str)
                    .unwrap_or("Error"),
                v.pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("no details")
            );
        }
        Ok(v)
    }
}

fn last_segment(id: &str, n: usize) -> String {
    id.rsplit('/').nth(n).unwrap_or_default().to_string()
}

async fn run_vault(c: &Client, cmd: VaultCmd) -> Result<()> {
    use reqwest::Method;
    let vault_path = |g: &str, n: &str| {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
            c.subscription,
            enc(g),
            enc(n)
        )
    };
    let deleted_location = |name: String| async move {
        let list = c
            .ok(
                Method::GET,
                &format!(
                    "/subscriptions/{}/providers/Microsoft.KeyVault/deletedVaults",
                    c.subscription
                ),
                API_KV_MGMT,
                None,
            )
            .await?;
        list["value"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| {
                v["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&name))
            })
            .and_then(|v| v["properties"]["location"].as_str().map(str::to_string))
            .ok_or_else(|| anyhow!("(ResourceNotFound) no deleted vault named '{name}'"))
    };
    match cmd {
        VaultCmd::Create {
            name,
            resource_group,
            location,
            retention_days,
            enable_purge_protection,
        } => {
            let mut props = json!({
                "sku": {"family": "A", "name": "standard"},
                "enableSoftDelete": true,
                "softDeleteRetentionInDays": retention_days,
                "enableRbacAuthorization": true,
            });
            if enable_purge_protection {
                props["enablePurgeProtection"] = json!(true);
            }
            let v = c
                .ok(
                    Method::PUT,
                    &vault_path(&resource_group, &name),
                    API_KV_MGMT,
                    Some(json!({"location": location, "properties": props})),
                )
                .await?;
            emit(c.output, &v, VAULT_COLUMNS)
        }
        VaultCmd::List {
            resource_group,
            deleted,
        } => {
            let path = match (&resource_group, deleted) {
                (_, true) => format!(
                    "/subscriptions/{}/providers/Microsoft.KeyVault/deletedVaults",
                    c.subscription
                ),
                (Some(g), false) => format!(
                    "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults",
                    c.subscription,
                    enc(g)
                ),
                (None, false) => format!(
                    "/subscriptions/{}/providers/Microsoft.KeyVault/vaults",
                    c.subscription
                ),
            };
            let v = c.ok(Method::GET, &path, API_KV_MGMT, None).await?;
            if deleted {
                emit(
                    c.output,
                    &v["value"],
                    &[
                        ("Name", "/name"),
                        ("Location", "/properties/location"),
                        ("Deleted", "/properties/deletionDate"),
                        ("PurgeAfter", "/properties/scheduledPurgeDate"),
                        ("PurgeProtection", "/properties/purgeProtectionEnabled"),
                    ],
                )
            } else {
                emit(c.output, &v["value"], VAULT_COLUMNS)
            }
        }
        VaultCmd::Delete {
            name,
            resource_group,
            yes,
        } => {
            confirm(
                &format!("delete vault '{name}' (recoverable during its retention period)"),
                yes,
            )?;
            c.ok(
                Method::DELETE,
                &vault_path(&resource_group, &name),
                API_KV_MGMT,
                None,
            )
            .await?;
            Ok(())
        }
        VaultCmd::Recover {
            name,
            resource_group,
        } => {
            let location = deleted_location(name.clone()).await?;
            let v = c
                .ok(
                    Method::PUT,
                    &vault_path(&resource_group, &name),
                    API_KV_MGMT,
                    Some(json!({"location": location, "properties": {"createMode": "recover", "sku": {"family": "A", "name": "standard"}}})),
                )
                .await?;
            emit(c.output, &v, VAULT_COLUMNS)
        }
        VaultCmd::Purge { name, yes } => {
            confirm(
                &format!("purge vault '{name}' and everything in it for good"),
                yes,
            )?;
            let location = deleted_location(name.clone()).await?;
            c.ok(
                Method::POST,
                &format!(
                    "/subscriptions/{}/providers/Microsoft.KeyVault/locations/{}/deletedVaults/{}/purge",
                    c.subscription,
                    enc(&location),
                    enc(&name)
                ),
                API_KV_MGMT,
                None,
            )
            .await?;
            Ok(())
        }
        VaultCmd::Key { cmd } => run_vault_key(c, cmd).await,
        VaultCmd::Secret { cmd } => run_vault_secret(c, cmd).await,
    }
}

fn vault_key_rows(v: &Value) -> Value {
    let items = v["value"].as_array().cloned().unwrap_or_default();
    Value::Array(
        items
            .into_iter()
            .map(|mut i| {
                let kid = i["kid"].as_str().unwrap_or_default().to_string();
                i["name"] = json!(if kid.matches('/').count() > 4 {
                    last_segment(&kid, 1)
                } else {
                    last_segment(&kid, 0)
                });
                i["version"] = json!(if kid.matches('/').count() > 4 {
                    last_segment(&kid, 0)
                } else {
                    String::new()
                });
                i
            })
            .collect(),
    )
}

async fn run_vault_key(c: &Client, cmd: VaultKeyCmd) -> Result<()> {
    use reqwest::Method;
    let key_columns: &[(&str, &str)] = &[
        ("Kid", "/key/kid"),
        ("Kty", "/key/kty"),
        ("Enabled", "/attributes/enabled"),
        ("Expires", "/attributes/exp"),
    ];
    match cmd {
        VaultKeyCmd::Create {
            vault,
            name,
            kty,
            size,
            curve,
        } => {
            let v = c.vault_conn(&vault).await?;
            let mut body = json!({"kty": kty});
            if let Some(s) = size {
                body["key_size"] = json!(s);
            }
            if let Some(cv) = curve {
                body["crv"] = json!(cv);
            }
            let out = v
                .call(
                    Method::POST,
                    &format!("/keys/{}/create", enc(&name)),
                    Some(body),
                )
                .await?;
            emit(c.output, &out, key_columns)
        }
        VaultKeyCmd::List { vault, name } => {
            let v = c.vault_conn(&vault).await?;
            let path = match &name {
                Some(n) => format!("/keys/{}/versions", enc(n)),
                None => "/keys".to_string(),
            };
            let out = v.call(Method::GET, &path, None).await?;
            emit(
                c.output,
                &vault_key_rows(&out),
                &[
                    ("Name", "/name"),
                    ("Version", "/version"),
                    ("Enabled", "/attributes/enabled"),
                    ("Created", "/attributes/created"),
                    ("Expires", "/attributes/exp"),
                ],
            )
        }
        VaultKeyCmd::Rotate { vault, name } => {
            let v = c.vault_conn(&vault).await?;
            let out = v
                .call(Method::POST, &format!("/keys/{}/rotate", enc(&name)), None)
                .await?;
            emit(c.output, &out, key_columns)
        }
        VaultKeyCmd::Policy { cmd } => {
            match cmd {
                PolicyCmd::Show { vault, name } => {
                    let v = c.vault_conn(&vault).await?;
                    let out = v
                        .call(
                            Method::GET,
                            &format!("/keys/{}/rotationpolicy", enc(&name)),
                            None,
                        )
                        .await?;
                    emit(
                        c.output,
                        &out,
                        &[("Id", "/id"), ("ExpiryTime", "/attributes/expiryTime")],
                    )
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
                        actions.push(json!({"trigger": {"timeAfterCreate": d}, "action": {"type": "Rotate"}}));
                    }
                    if let Some(d) = rotate_before_expiry {
                        actions.push(json!({"trigger": {"timeBeforeExpiry": d}, "action": {"type": "Rotate"}}));
                    }
                    if let Some(d) = notify_before_expiry {
                        actions.push(json!({"trigger": {"timeBeforeExpiry": d}, "action": {"type": "Notify"}}));
                    }
                    let v = c.vault_conn(&vault).await?;
                    let out = v
                    .call(
                        Method::PUT,
                        &format!("/keys/{}/rotationpolicy", enc(&name)),
                        Some(json!({"lifetimeActions": actions, "attributes": {"expiryTime": expires_in}})),
                    )
                    .await?;
                    emit(
                        c.output,
                        &out,
                        &[("Id", "/id"), ("ExpiryTime", "/attributes/expiryTime")],
                    )
                }
                PolicyCmd::Run { now: _, at } => {
                    let body = at.map(|t| json!({ "at": t }));
                    let out = c
                        .ok(
                            Method::POST,
                            "/providers/Keyrotor.Vault/rotationPolicies/run",
                            API_IDENTITY,
                            body,
                        )
                        .await?;
                    emit(
                        c.output,
                        &out["rotated"],
                        &[
                            ("Vault", "/vault"),
                            ("Key", "/key"),
                            ("Version", "/version"),
                        ],
                    )
                }
            }
        }
    }
}

async fn run_vault_secret(c: &Client, cmd: VaultSecretCmd) -> Result<()> {
    use reqwest::Method;
    match cmd {
        VaultSecretCmd::Set {
            vault,
            name,
            value,
            content_type,
        } => {
            let value = zeroize::Zeroizing::new(match value {
                Some(v) => v,
                None => {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                        .context("reading the secret value from standard input")?;
                    s.trim_end_matches(['\n', '\r']).to_string()
                }
            });
            let v = c.vault_conn(&vault).await?;
            let mut body = json!({"value": value.as_str()});
            if let Some(ct) = content_type {
                body["contentType"] = json!(ct);
            }
            let mut out = v
                .call(Method::PUT, &format!("/secrets/{}", enc(&name)), Some(body))
                .await?;
            // Never echo the value back.
            if let Some(m) = out.as_object_mut() {
                m.remove("value");
            }
            emit(
                c.output,
                &out,
                &[("Id", "/id"), ("Enabled", "/attributes/enabled")],
            )
        }
        VaultSecretCmd::Get {
            vault,
            name,
            version,
        } => {
            let v = c.vault_conn(&vault).await?;
            let out = v
                .call(
                    Method::GET,
                    &format!(
                        "/secrets/{}/{}",
                        enc(&name),
                        version.as_deref().map(enc).unwrap_or_default()
                    ),
                    None,
                )
                .await?;
            emit(c.output, &out, &[("Value", "/value")])
        }
        VaultSecretCmd::List { vault, name } => {
            let v = c.vault_conn(&vault).await?;
            let path = match &name {
                Some(n) => format!("/secrets/{}/versions", enc(n)),
                None => "/secrets".to_string(),
            };
            let out = v.call(Method::GET, &path, None).await?;
            emit(
                c.output,
                &out["value"],
                &[
                    ("Id", "/id"),
                    ("ContentType", "/contentType"),
                    ("Enabled", "/attributes/enabled"),
                    ("Updated", "/attributes/updated"),
                ],
            )
        }
    }
}
const ASSIGNMENT_COLUMNS: &[(&str, &str)] = &[
    ("Name", "/name"),
    ("Principal", "/properties/principalId"),
    ("Role", "/properties/roleName"),
    ("Scope", "/properties/scope"),
];

impl Client {
    /// The scope named by `--scope`, `-g`, `-g -n`, or the subscription.
    async fn scope(&self, at: &ScopeArgs) -> Result<String> {
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
                let kind = self
                    .resolve(&AccountRef {
                        resource_group: g.clone(),
                        name: n.clone(),
                        kind: at.kind,
                    })
                    .await?;
                Ok(self.account_path(kind, g, n))
            }
            (Some(g), None) => Ok(format!(
                "/subscriptions/{}/resourceGroups/{}",
                self.subscription,
                enc(g)
            )),
            _ => Ok(format!("/subscriptions/{}", self.subscription)),
        }
    }

    /// Role definitions by GUID, to show role names next to assignments.
    async fn role_names(&self) -> Result<std::collections::BTreeMap<String, String>> {
        let v = self
            .ok(
                reqwest::Method::GET,
                &format!(
                    "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions",
                    self.subscription
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
}

fn assignments_path(scope: &str) -> String {
    format!(
        "{}/providers/Microsoft.Authorization/roleAssignments",
        scope.trim_end_matches('/')
    )
}

/// Adds `properties.roleName` for display.
fn name_roles(v: &mut Value, names: &std::collections::BTreeMap<String, String>) {
    let id = v["properties"]["roleDefinitionId"]
        .as_str()
        .and_then(|s| s.rsplit('/').next())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if let Some(n) = names.get(&id) {
        v["properties"]["roleName"] = json!(n);
    }
}

async fn run_role(c: &Client, cmd: RoleCmd) -> Result<()> {
    use reqwest::Method;
    match cmd {
        RoleCmd::Definition {
            cmd: DefinitionCmd::List { name },
        } => {
            let filter = name
                .map(|n| format!("?$filter={}", enc(&format!("roleName eq '{n}'"))))
                .unwrap_or_default();
            let v = c
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
                let scope = c.scope(&at).await?;
                let name = keyrotor_crypto::random_guid().map_err(|e| anyhow::anyhow!("{e}"))?;
                let mut v = c
                    .ok(
                        Method::PUT,
                        &format!("{}/{name}", assignments_path(&scope)),
                        API_AUTHZ,
                        Some(json!({"properties": {"roleDefinitionId": role, "principalId": assignee, "principalType": "ServicePrincipal"}})),
                    )
                    .await?;
                name_roles(&mut v, &c.role_names().await?);
                emit(c.output, &v, ASSIGNMENT_COLUMNS)
            }
            AssignmentCmd::List { assignee, at } => {
                let scope = c.scope(&at).await?;
                let filter = assignee
                    .map(|a| format!("?$filter={}", enc(&format!("principalId eq '{a}'"))))
                    .unwrap_or_default();
                let mut v = c
                    .ok(
                        Method::GET,
                        &format!("{}{filter}", assignments_path(&scope)),
                        API_AUTHZ,
                        None,
                    )
                    .await?;
                let names = c.role_names().await?;
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
                let scope = c.scope(&at).await?;
                let list = c
                    .ok(Method::GET, &assignments_path(&scope), API_AUTHZ, None)
                    .await?;
                let names = c.role_names().await?;
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
                c.ok(Method::DELETE, &id, API_AUTHZ, None).await?;
                Ok(())
            }
        },
    }
}

async fn run_identity(c: &Client, cmd: IdentityCmd) -> Result<()> {
    use reqwest::Method;
    const SPS: &str = "/providers/Keyrotor.Identity/servicePrincipals";
    let expiry = |s: Option<i64>| s.map_or_else(|| json!({}), |s| json!({ "expiresInSeconds": s }));
    match cmd {
        IdentityCmd::Sp { cmd } => match cmd {
            SpCmd::Create {
                name,
                secret_expires,
            } => {
                let mut body = expiry(secret_expires);
                body["displayName"] = json!(name);
                let v = c.ok(Method::POST, SPS, API_IDENTITY, Some(body)).await?;
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
                let mut v = c.ok(Method::GET, SPS, API_IDENTITY, None).await?;
                if let Some(items) = v["value"].as_array_mut() {
                    for i in items {
                        let n = i["secrets"].as_array().map_or(0, Vec::len);
                        i["secretCount"] = json!(n);
                    }
                }
                emit(c.output, &v["value"], SP_COLUMNS)
            }
            SpCmd::Delete {
                sp_id: client_id,
                yes,
            } => {
                confirm(&format!("delete service principal '{client_id}'"), yes)?;
                c.ok(
                    Method::DELETE,
                    &format!("{SPS}/{}", enc(&client_id)),
                    API_IDENTITY,
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
                        .ok(
                            Method::POST,
                            &format!("{SPS}/{}/addSecret", enc(&client_id)),
                            API_IDENTITY,
                            Some(expiry(expires)),
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
                SecretCmd::Remove {
                    sp_id: client_id,
                    secret_id,
                } => {
                    c.ok(
                        Method::POST,
                        &format!("{SPS}/{}/removeSecret", enc(&client_id)),
                        API_IDENTITY,
                        Some(json!({ "secretId": secret_id })),
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
                .ok(
                    Method::POST,
                    "/providers/Keyrotor.Identity/signingKeys/rotate",
                    API_IDENTITY,
                    None,
                )
                .await?;
            emit(c.output, &v, &[("SigningKid", "/signingKid")])
        }
    }
}
