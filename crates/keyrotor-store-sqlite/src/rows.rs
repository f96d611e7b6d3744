//! How stored values are encoded in columns, and rows decoded into the
//! core's types (by column name).

use std::collections::BTreeMap;

use keyrotor_core::store::{
    Account, AccountSettings, PrincipalSecret, ResourceGroup, StoredKey, StoredPolicy,
};
use keyrotor_core::vault::{Collection, ObjectAttributes, Vault, VaultObject, VaultSettings};
use keyrotor_types::{AccountKind, AccountName, KeySlot, ResourceGroupName, SubscriptionId};
use rusqlite::Row;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::conn::{corrupt, Db};

/// Times are stored as Unix microseconds.
pub(crate) fn to_micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(us: i64) -> Db<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).map_err(|_| corrupt("time"))
}

fn time(r: &Row<'_>, col: &str) -> Db<OffsetDateTime> {
    from_micros(r.get(col)?)
}

fn opt_time(r: &Row<'_>, col: &str) -> Db<Option<OffsetDateTime>> {
    r.get::<_, Option<i64>>(col)?.map(from_micros).transpose()
}

pub(crate) fn tags_to_text(tags: &BTreeMap<String, String>) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "{}".into())
}

fn tags(r: &Row<'_>) -> Db<BTreeMap<String, String>> {
    serde_json::from_str(&r.get::<_, String>("tags")?).map_err(|_| corrupt("tags"))
}

/// Generations and other counters are u64 in the core, INTEGER here.
pub(crate) fn to_sql(n: u64) -> Db<i64> {
    i64::try_from(n).map_err(|_| corrupt("counter"))
}

pub(crate) fn from_sql(n: i64, what: &str) -> Db<u64> {
    u64::try_from(n).map_err(|_| corrupt(what))
}

pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The settings column: JSON private to this store (older rows may lack
/// fields; they default).
#[derive(Serialize, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SettingsColumn {
    disable_local_auth: bool,
    upstream: Option<String>,
    regeneration_guard_minutes: Option<u32>,
    local_auth_report_only: bool,
    local_auth_reenabled_until: Option<i64>,
}

pub(crate) fn settings_to_text(s: &AccountSettings) -> String {
    serde_json::to_string(&SettingsColumn {
        disable_local_auth: s.disable_local_auth,
        upstream: s.upstream.clone(),
        regeneration_guard_minutes: s.regeneration_guard_minutes,
        local_auth_report_only: s.local_auth_report_only,
        local_auth_reenabled_until: s.local_auth_reenabled_until,
    })
    .unwrap_or_else(|_| "{}".into())
}

fn settings(text: &str) -> Db<AccountSettings> {
    let c: SettingsColumn = serde_json::from_str(text).map_err(|_| corrupt("settings"))?;
    Ok(AccountSettings {
        disable_local_auth: c.disable_local_auth,
        upstream: c.upstream,
        regeneration_guard_minutes: c.regeneration_guard_minutes,
        local_auth_report_only: c.local_auth_report_only,
        local_auth_reenabled_until: c.local_auth_reenabled_until,
    })
}

pub(crate) fn slot(text: &str) -> Db<KeySlot> {
    KeySlot::parse(text).ok_or_else(|| corrupt("key slot"))
}

fn subscription(r: &Row<'_>) -> Db<SubscriptionId> {
    SubscriptionId::parse(&r.get::<_, String>("subscription")?).map_err(|_| corrupt("subscription"))
}

pub(crate) const GROUP_COLS: &str = "subscription, name, location, tags, created_at";

pub(crate) fn group(r: &Row<'_>) -> Db<ResourceGroup> {
    Ok(ResourceGroup {
        subscription: subscription(r)?,
        name: ResourceGroupName::parse(&r.get::<_, String>("name")?)
            .map_err(|_| corrupt("group name"))?,
        location: r.get("location")?,
        tags: tags(r)?,
        created_at: time(r, "created_at")?,
    })
}

pub(crate) const ACCOUNT_COLS: &str = "id, uid, kind, name, subscription, location, tags, \
    document, created_at, updated_at, settings, (SELECT name FROM resource_groups g \
    WHERE g.subscription = accounts.subscription AND g.name_key = accounts.group_key) AS group_name";

pub(crate) fn account(r: &Row<'_>) -> Db<Account> {
    let kind =
        AccountKind::parse(&r.get::<_, String>("kind")?).ok_or_else(|| corrupt("account kind"))?;
    let group: Option<String> = r.get("group_name")?;
    Ok(Account {
        id: r.get("id")?,
        uid: r.get("uid")?,
        kind,
        subscription: subscription(r)?,
        resource_group: ResourceGroupName::parse(group.as_deref().unwrap_or_default())
            .map_err(|_| corrupt("group"))?,
        name: AccountName::parse(kind, &r.get::<_, String>("name")?)
            .map_err(|_| corrupt("account name"))?,
        location: r.get("location")?,
        tags: tags(r)?,
        document: r.get("document")?,
        settings: settings(&r.get::<_, String>("settings")?)?,
        created_at: time(r, "created_at")?,
        updated_at: time(r, "updated_at")?,
    })
}

pub(crate) const KEY_COLS: &str = "slot, generation, dek_id, sealed, generated_at";

pub(crate) fn key(r: &Row<'_>) -> Db<StoredKey> {
    Ok(StoredKey {
        slot: slot(&r.get::<_, String>("slot")?)?,
        generation: from_sql(r.get("generation")?, "generation")?,
        dek_id: r.get("dek_id")?,
        sealed: r.get("sealed")?,
        generated_at: time(r, "generated_at")?,
    })
}

pub(crate) fn secret(r: &Row<'_>) -> Db<PrincipalSecret> {
    Ok(PrincipalSecret {
        secret_id: r.get("secret_id")?,
        verifier: r.get("verifier")?,
        expires_at: opt_time(r, "expires_at")?,
        created_at: from_micros(r.get("created_at")?)?,
        last_used_at: opt_time(r, "last_used_at")?,
    })
}

pub(crate) const VAULT_COLS: &str = "id, uid, name, subscription, group_name, location, tags, \
    document, soft_delete_days, purge_protection, created_at, updated_at, deleted_at";

pub(crate) fn vault(r: &Row<'_>) -> Db<Vault> {
    Ok(Vault {
        id: r.get("id")?,
        uid: r.get("uid")?,
        subscription: subscription(r)?,
        resource_group: ResourceGroupName::parse(&r.get::<_, String>("group_name")?)
            .map_err(|_| corrupt("group name"))?,
        name: keyrotor_types::VaultName::parse(&r.get::<_, String>("name")?)
            .map_err(|_| corrupt("vault name"))?,
        location: r.get("location")?,
        tags: tags(r)?,
        document: r.get("document")?,
        settings: VaultSettings {
            soft_delete_days: r.get("soft_delete_days")?,
            purge_protection: r.get("purge_protection")?,
        },
        created_at: time(r, "created_at")?,
        updated_at: time(r, "updated_at")?,
        deleted_at: opt_time(r, "deleted_at")?,
    })
}

pub(crate) const OBJECT_COLS: &str = "vault_id, collection, name, version, enabled, nbf, exp, \
    document, sealed, created_at, updated_at, deleted_at";

pub(crate) fn object(r: &Row<'_>) -> Db<VaultObject> {
    Ok(VaultObject {
        vault_id: r.get("vault_id")?,
        collection: Collection::parse(&r.get::<_, String>("collection")?)
            .ok_or_else(|| corrupt("collection"))?,
        name: r.get("name")?,
        version: r.get("version")?,
        attributes: ObjectAttributes {
            enabled: r.get("enabled")?,
            not_before: r.get("nbf")?,
            expires: r.get("exp")?,
        },
        document: r.get("document")?,
        sealed: r.get("sealed")?,
        created_at: time(r, "created_at")?,
        updated_at: time(r, "updated_at")?,
        deleted_at: opt_time(r, "deleted_at")?,
    })
}

pub(crate) const POLICY_COLS: &str = "vault_id, name_key, policy, created_at, updated_at";

pub(crate) fn policy(r: &Row<'_>) -> Db<StoredPolicy> {
    Ok(StoredPolicy {
        vault_id: r.get("vault_id")?,
        name_key: r.get("name_key")?,
        text: r.get("policy")?,
        created_at: time(r, "created_at")?,
        updated_at: time(r, "updated_at")?,
    })
}
