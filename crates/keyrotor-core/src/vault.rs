//! Key vaults: the vault resource (soft delete with retention, purge
//! protection that cannot be turned off), and its keys and secrets, stored as
//! versions sealed under the root key. A key's private material never leaves
//! this module except as the results of operations performed with it.

use std::collections::BTreeMap;

use keyrotor_crypto::vault::{KeyMaterial, KeySpec, PublicParts, SignAlg, WrapAlg};
use keyrotor_types::{ResourceGroupName, Secret, SubscriptionId, VaultName};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::store::{AuditEvent, LatestVersion, StoreError};
use crate::{Actor, ChangeDomain, Directory, Error, Keyrotor, Result};

/// A vault as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    pub id: i64,
    /// Random, never reused; bound into every sealed object of the vault.
    pub uid: String,
    pub subscription: SubscriptionId,
    pub resource_group: ResourceGroupName,
    pub name: VaultName,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    /// The wire layer's opaque record of the client's properties.
    pub document: String,
    pub settings: VaultSettings,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Set while the vault is soft-deleted.
    pub deleted_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VaultSettings {
    /// 7-90 days.
    pub soft_delete_days: u32,
    /// Once true, never false again; deleted objects and the vault itself
    /// cannot be purged before their retention ends.
    pub purge_protection: bool,
}

impl Vault {
    pub fn scheduled_purge(&self) -> Option<OffsetDateTime> {
        self.deleted_at
            .map(|d| d + time::Duration::days(i64::from(self.settings.soft_delete_days)))
    }
}

/// Keys or secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Keys,
    Secrets,
}

impl Collection {
    pub fn as_str(self) -> &'static str {
        match self {
            Collection::Keys => "keys",
            Collection::Secrets => "secrets",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Collection::Keys, Collection::Secrets]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// Attributes Key Vault acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ObjectAttributes {
    /// `None` means enabled (the default).
    pub enabled: Option<bool>,
    pub not_before: Option<i64>,
    pub expires: Option<i64>,
}

impl ObjectAttributes {
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }
}

/// One version of a key or secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultObject {
    pub vault_id: i64,
    pub collection: Collection,
    pub name: String,
    /// 32 lower-case hex characters.
    pub version: String,
    pub attributes: ObjectAttributes,
    /// The wire layer's opaque record (tags, contentType, key_ops, kty).
    pub document: String,
    pub sealed: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub deleted_at: Option<OffsetDateTime>,
}

/// Why an object cannot be used now.
fn usable(o: &VaultObject, now: OffsetDateTime) -> Result<()> {
    let t = now.unix_timestamp();
    if !o.attributes.is_enabled() {
        return Err(Error::ObjectDisabled(o.name.clone()));
    }
    if o.attributes.expires.is_some_and(|e| e <= t)
        || o.attributes.not_before.is_some_and(|n| n > t)
    {
        return Err(Error::ObjectNotValidNow(o.name.clone()));
    }
    Ok(())
}

fn object_context(vault: &Vault, c: Collection, name: &str, version: &str) -> Vec<u8> {
    format!(
        "keyrotor/vault-object/v1/{}/{}/{}/{}",
        vault.uid,
        c.as_str(),
        name.to_ascii_lowercase(),
        version
    )
    .into_bytes()
}

fn check_object_name(name: &str) -> Result<()> {
    if keyrotor_types::valid_object_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "'{}' is not a valid name: use 1-127 letters, digits and hyphens",
            name.chars().take(130).collect::<String>()
        )))
    }
}

/// An ISO 8601 duration of the forms Key Vault policies use:
/// `P[nY][nM][nW][nD][T[nH][nM][nS]]`. Years and months are calendar units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsoDuration {
    pub years: u32,
    pub months: u32,
    pub days: u32,
    pub seconds: u32,
}

impl IsoDuration {
    pub fn parse(s: &str) -> Option<Self> {
        let rest = s.strip_prefix('P')?;
        let (date, time) = match rest.split_once('T') {
            Some((d, t)) => (d, Some(t)),
            None => (rest, None),
        };
        let mut d = IsoDuration {
            years: 0,
            months: 0,
            days: 0,
            seconds: 0,
        };
        let mut any = false;
        let mut num = String::new();
        for c in date.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let n: u32 = num.parse().ok()?;
            num.clear();
            any = true;
            match c {
                'Y' => d.years = d.years.checked_add(n)?,
                'M' => d.months = d.months.checked_add(n)?,
                'W' => d.days = d.days.checked_add(n.checked_mul(7)?)?,
                'D' => d.days = d.days.checked_add(n)?,
                _ => return None,
            }
        }
        if !num.is_empty() {
            return None;
        }
        if let Some(t) = time {
            if t.is_empty() {
                return None;
            }
            for c in t.chars() {
                if c.is_ascii_digit() {
                    num.push(c);
                    continue;
                }
                let n: u32 = num.parse().ok()?;
                num.clear();
                any = true;
                let mult = match c {
                    'H' => 3600,
                    'M' => 60,
                    'S' => 1,
                    _ => return None,
                };
                d.seconds = d.seconds.checked_add(n.checked_mul(mult)?)?;
            }
            if !num.is_empty() {
                return None;
            }
        }
        (any && d.years <= 100 && d.months <= 1200 && d.days <= 36_500).then_some(d)
    }

    fn months_total(self) -> i64 {
        i64::from(self.months) + 12 * i64::from(self.years)
    }

    /// `t` plus this duration (calendar years and months; the day of the
    /// month is clamped, as 31 January + P1M is 28/29 February). `None` when
    /// the result is outside the calendar `time` represents (a client can
    /// set an expiry near year -9999 or 9999).
    pub fn after(self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        add_months(t, self.months_total())?
            .checked_add(time::Duration::days(i64::from(self.days)))?
            .checked_add(time::Duration::seconds(i64::from(self.seconds)))
    }

    /// `t` minus this duration; `None` out of range, as for [`Self::after`].
    pub fn before(self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        add_months(t, -self.months_total())?
            .checked_sub(time::Duration::days(i64::from(self.days)))?
            .checked_sub(time::Duration::seconds(i64::from(self.seconds)))
    }

    /// Whether the duration is at least `days` long (from the Unix epoch,
    /// where every duration keyrotor accepts is in range).
    fn at_least_days(self, days: i64) -> bool {
        let epoch = OffsetDateTime::UNIX_EPOCH;
        self.after(epoch)
            .is_some_and(|t| t - epoch >= time::Duration::days(days))
    }
}

fn add_months(t: OffsetDateTime, delta: i64) -> Option<OffsetDateTime> {
    let total = i64::from(t.month() as u8) - 1 + delta;
    let year = i64::from(t.year()).checked_add(total.div_euclid(12))?;
    let year = i32::try_from(year).ok()?;
    let month = time::Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
    let day = t.day().min(month.length(year));
    time::Date::from_calendar_date(year, month, day)
        .ok()
        .map(|d| t.replace_date(d))
}

impl std::fmt::Display for IsoDuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("P")?;
        if self.years > 0 {
            write!(f, "{}Y", self.years)?;
        }
        if self.months > 0 {
            write!(f, "{}M", self.months)?;
        }
        if self.days > 0 || (self.years == 0 && self.months == 0 && self.seconds == 0) {
            write!(f, "{}D", self.days)?;
        }
        if self.seconds > 0 {
            write!(f, "T{}S", self.seconds)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    AfterCreate(IsoDuration),
    BeforeExpiry(IsoDuration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionType {
    Rotate,
    Notify,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifetimeAction {
    pub trigger: Trigger,
    pub action: ActionType,
}

/// A key's rotation policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationPolicy {
    pub actions: Vec<LifetimeAction>,
    /// Expiry of each new version, from its creation.
    pub expiry: Option<IsoDuration>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl RotationPolicy {
    /// Line format: `rotate after P30D`, `notify before P7D`, `expiry P90D`.
    fn to_text(&self) -> String {
        let mut out: Vec<String> = self
            .actions
            .iter()
            .map(|a| {
                let act = match a.action {
                    ActionType::Rotate => "rotate",
                    ActionType::Notify => "notify",
                };
                match a.trigger {
                    Trigger::AfterCreate(d) => format!("{act} after {d}"),
                    Trigger::BeforeExpiry(d) => format!("{act} before {d}"),
                }
            })
            .collect();
        if let Some(e) = self.expiry {
            out.push(format!("expiry {e}"));
        }
        out.join("\n")
    }

    fn from_text(s: &str, created_at: OffsetDateTime, updated_at: OffsetDateTime) -> Option<Self> {
        let mut p = RotationPolicy {
            actions: Vec::new(),
            expiry: None,
            created_at,
            updated_at,
        };
        for line in s.lines().filter(|l| !l.is_empty()) {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts.as_slice() {
                ["expiry", d] => p.expiry = Some(IsoDuration::parse(d)?),
                [act, when, d] => {
                    let action = match *act {
                        "rotate" => ActionType::Rotate,
                        "notify" => ActionType::Notify,
                        _ => return None,
                    };
                    let d = IsoDuration::parse(d)?;
                    let trigger = match *when {
                        "after" => Trigger::AfterCreate(d),
                        "before" => Trigger::BeforeExpiry(d),
                        _ => return None,
                    };
                    p.actions.push(LifetimeAction { trigger, action });
                }
                _ => return None,
            }
        }
        Some(p)
    }
}

const BACKUP_CONTEXT: &[u8] = b"keyrotor/vault-backup/v1";

/// Parsed key versions kept in memory (RSA parsing costs more than using).
const KEY_CACHE_ENTRIES: usize = 4096;

/// Length-prefixed fields of a backup (inside the sealed blob).
#[derive(Default)]
struct Codec(Vec<u8>);

impl Codec {
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(&(b.len() as u64).to_be_bytes());
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn opt(&mut self, v: Option<i64>) {
        match v {
            Some(x) => {
                self.0.push(1);
                self.i64(x);
            }
            None => self.0.push(0),
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = usize::try_from(self.u64()?).ok()?;
        self.take(n).map(<[u8]>::to_vec)
    }
    fn str(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?).ok()
    }
    fn opt(&mut self) -> Option<Option<i64>> {
        match self.take(1)?[0] {
            0 => Some(None),
            1 => Some(Some(self.i64()?)),
            _ => None,
        }
    }
}

/// Fields of a vault to create or update.
#[derive(Debug, Clone)]
pub struct VaultSpec {
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub document: String,
    pub settings: VaultSettings,
}

impl Keyrotor {
    fn vault_audit(
        &self,
        actor: &Actor,
        action: &str,
        target: String,
        detail: String,
    ) -> AuditEvent {
        AuditEvent {
            at: self.now(),
            actor: actor.0.clone(),
            action: action.into(),
            target,
            detail,
        }
    }

    /// Creates or updates a vault. Purge protection cannot be turned off and
    /// the retention period cannot change once set; a name held by a
    /// soft-deleted vault is taken until it is purged (409).
    pub fn put_vault(
        &self,
        dir: &Directory,
        actor: &Actor,
        sub: &SubscriptionId,
        group: &ResourceGroupName,
        name: &VaultName,
        spec: VaultSpec,
    ) -> Result<(Vault, bool)> {
        self.group(dir, sub, group)?;
        if !(7..=90).contains(&spec.settings.soft_delete_days) {
            return Err(Error::InvalidInput(
                "softDeleteRetentionInDays must be between 7 and 90".into(),
            ));
        }
        let now = self.now();
        match self.store.vault(&name.key())? {
            Some(v) if v.deleted_at.is_some() => Err(Error::VaultNameTaken(format!(
                "{name} (a deleted vault holds the name until it is purged or recovered)"
            ))),
            Some(v) if v.subscription != *sub || v.resource_group.key() != group.key() => {
                Err(Error::VaultNameTaken(name.to_string()))
            }
            Some(v) => {
                if v.settings.purge_protection && !spec.settings.purge_protection {
                    return Err(Error::InvalidInput(
                        "purge protection cannot be disabled once enabled".into(),
                    ));
                }
                if v.settings.soft_delete_days != spec.settings.soft_delete_days {
                    return Err(Error::InvalidInput(
                        "softDeleteRetentionInDays cannot be changed once set".into(),
                    ));
                }
                let updated = Vault {
                    location: v.location.clone(),
                    tags: spec.tags,
                    document: spec.document,
                    settings: spec.settings,
                    updated_at: now,
                    ..v
                };
                let audit =
                    self.vault_audit(actor, "vault.update", name.to_string(), String::new());
                self.store.update_vault(&updated, &audit)?;
                Ok((updated, false))
            }
            None => {
                let v = Vault {
                    id: 0,
                    uid: keyrotor_crypto::random_guid().map_err(Error::Crypto)?,
                    subscription: sub.clone(),
                    resource_group: group.clone(),
                    name: name.clone(),
                    location: crate::normalize_location(&spec.location)?,
                    tags: spec.tags,
                    document: spec.document,
                    settings: spec.settings,
                    created_at: now,
                    updated_at: now,
                    deleted_at: None,
                };
                let audit =
                    self.vault_audit(actor, "vault.create", name.to_string(), String::new());
                let id = self.store.insert_vault(&v, &audit).map_err(|e| match e {
                    crate::StoreError::Conflict => Error::VaultNameTaken(name.to_string()),
                    other => other.into(),
                })?;
                Ok((Vault { id, ..v }, true))
            }
        }
    }

    /// A live vault in the given group.
    pub fn vault_in(
        &self,
        sub: &SubscriptionId,
        group: &ResourceGroupName,
        name: &str,
    ) -> Result<Vault> {
        match self.store.vault(&name.to_ascii_lowercase())? {
            Some(v)
                if v.deleted_at.is_none()
                    && v.subscription == *sub
                    && v.resource_group.key() == group.key() =>
            {
                Ok(v)
            }
            _ => Err(Error::VaultNotFound(name.chars().take(64).collect())),
        }
    }

    /// A live vault by name (data plane).
    pub fn vault_by_name(&self, name: &str) -> Result<Option<Vault>> {
        Ok(self
            .store
            .vault(&name.to_ascii_lowercase())?
            .filter(|v| v.deleted_at.is_none()))
    }

    /// Live vaults of a subscription, optionally of one group.
    pub fn vaults(
        &self,
        sub: &SubscriptionId,
        group: Option<&ResourceGroupName>,
    ) -> Result<Vec<Vault>> {
        Ok(self
            .store
            .vaults()?
            .into_iter()
            .filter(|v| {
                v.deleted_at.is_none()
                    && v.subscription == *sub
                    && group.is_none_or(|g| g.key() == v.resource_group.key())
            })
            .collect())
    }

    /// Soft-deleted vaults.
    pub fn deleted_vaults(&self) -> Result<Vec<Vault>> {
        Ok(self
            .store
            .vaults()?
            .into_iter()
            .filter(|v| v.deleted_at.is_some())
            .collect())
    }

    pub fn deleted_vault(&self, name: &str) -> Result<Vault> {
        self.store
            .vault(&name.to_ascii_lowercase())?
            .filter(|v| v.deleted_at.is_some())
            .ok_or_else(|| Error::VaultNotFound(name.chars().take(64).collect()))
    }

    /// Soft-deletes a vault (its keys and secrets stay, unusable, until it is
    /// recovered or purged). Returns false when there was no such vault.
    pub fn delete_vault(&self, actor: &Actor, vault: &Vault) -> Result<bool> {
        let audit = self.vault_audit(actor, "vault.delete", vault.name.to_string(), String::new());
        let done = self
            .store
            .set_vault_deleted(vault.id, Some(self.now()), &audit)?;
        self.committed(&[ChangeDomain::Accounts, ChangeDomain::Vaults]);
        Ok(done)
    }

    pub fn recover_vault(&self, actor: &Actor, name: &str) -> Result<Vault> {
        let v = self.deleted_vault(name)?;
        let audit = self.vault_audit(actor, "vault.recover", v.name.to_string(), String::new());
        // False: purged, or recovered, by a concurrent request meanwhile.
        if !self.store.set_vault_deleted(v.id, None, &audit)? {
            return Err(Error::VaultNotFound(v.name.to_string()));
        }
        self.committed(&[ChangeDomain::Accounts, ChangeDomain::Vaults]);
        Ok(Vault {
            deleted_at: None,
            ..v
        })
    }

    /// Removes a deleted vault and everything in it for good. Refused under
    /// purge protection until the retention period has passed.
    pub fn purge_vault(&self, actor: &Actor, name: &str) -> Result<()> {
        let v = self.deleted_vault(name)?;
        if v.settings.purge_protection && v.scheduled_purge().is_some_and(|p| p > self.now()) {
            return Err(Error::PurgeProtected(v.name.to_string()));
        }
        let audit = self.vault_audit(actor, "vault.purge", v.name.to_string(), String::new());
        let deleted_at = v
            .deleted_at
            .ok_or_else(|| Error::VaultNotFound(v.name.to_string()))?;
        // Only the deletion that was checked: a concurrent recover wins.
        if !self.store.purge_vault(v.id, deleted_at, &audit)? {
            return Err(Error::VaultNotFound(v.name.to_string()));
        }
        self.forget_keys(&v, None);
        self.committed(&[ChangeDomain::Accounts, ChangeDomain::Vaults]);
        Ok(())
    }

    // ----- objects (keys and secrets) -----------------------------------------

    fn new_version() -> Result<String> {
        Ok(keyrotor_crypto::random_guid()
            .map_err(Error::Crypto)?
            .replace('-', ""))
    }

    /// All versions of one object, oldest first.
    pub fn object_versions(
        &self,
        vault: &Vault,
        c: Collection,
        name: &str,
    ) -> Result<Vec<VaultObject>> {
        Ok(self
            .store
            .vault_objects(vault.id, c, Some(&name.to_ascii_lowercase()))?)
    }

    fn live_versions(&self, vault: &Vault, c: Collection, name: &str) -> Result<Vec<VaultObject>> {
        let v = self.object_versions(vault, c, name)?;
        if v.is_empty() || v.iter().any(|o| o.deleted_at.is_some()) {
            return Err(Error::ObjectNotFound(c, name.chars().take(130).collect()));
        }
        Ok(v)
    }

    /// One version (the latest when `version` is None) of a live object.
    pub fn object(
        &self,
        vault: &Vault,
        c: Collection,
        name: &str,
        version: Option<&str>,
    ) -> Result<VaultObject> {
        let versions = self.live_versions(vault, c, name)?;
        match version {
            None => versions.into_iter().last(),
            Some(ver) => versions
                .into_iter()
                .find(|o| o.version.eq_ignore_ascii_case(ver)),
        }
        .ok_or_else(|| Error::ObjectNotFound(c, format!("{name}/{}", version.unwrap_or(""))))
    }

    /// The latest version of every live object.
    pub fn objects(&self, vault: &Vault, c: Collection) -> Result<Vec<VaultObject>> {
        let mut latest: BTreeMap<String, VaultObject> = BTreeMap::new();
        let mut deleted = std::collections::BTreeSet::new();
        for o in self.store.vault_objects(vault.id, c, None)? {
            let k = o.name.to_ascii_lowercase();
            if o.deleted_at.is_some() {
                deleted.insert(k.clone());
            }
            latest.insert(k, o);
        }
        Ok(latest
            .into_iter()
            .filter(|(k, _)| !deleted.contains(k))
            .map(|(_, o)| o)
            .collect())
    }

    /// The latest version of every soft-deleted object.
    pub fn deleted_objects(&self, vault: &Vault, c: Collection) -> Result<Vec<VaultObject>> {
        let mut latest: BTreeMap<String, VaultObject> = BTreeMap::new();
        for o in self.store.vault_objects(vault.id, c, None)? {
            latest.insert(o.name.to_ascii_lowercase(), o);
        }
        Ok(latest
            .into_values()
            .filter(|o| o.deleted_at.is_some())
            .collect())
    }

    pub fn deleted_object(&self, vault: &Vault, c: Collection, name: &str) -> Result<VaultObject> {
        self.object_versions(vault, c, name)?
            .into_iter()
            .last()
            .filter(|o| o.deleted_at.is_some())
            .ok_or_else(|| Error::ObjectNotFound(c, name.chars().take(130).collect()))
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one private helper behind create_key, rotate_key and set_secret"
    )]
    fn insert_object(
        &self,
        actor: &Actor,
        vault: &Vault,
        c: Collection,
        name: &str,
        attributes: ObjectAttributes,
        document: String,
        plain: &[u8],
        action: &str,
        now: OffsetDateTime,
        latest: LatestVersion<'_>,
    ) -> Result<VaultObject> {
        check_object_name(name)?;
        let versions = self.object_versions(vault, c, name)?;
        if versions.iter().any(|o| o.deleted_at.is_some()) {
            return Err(Error::ObjectConflict(c, name.to_string()));
        }
        let version = Self::new_version()?;
        let sealed = self
            .root
            .seal(&object_context(vault, c, name, &version), plain)
            .map_err(Error::Crypto)?;
        let o = VaultObject {
            vault_id: vault.id,
            collection: c,
            // Keep the first spelling of the name.
            name: versions
                .first()
                .map_or_else(|| name.to_string(), |o| o.name.clone()),
            version,
            attributes,
            document,
            sealed,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let audit = self.vault_audit(
            actor,
            action,
            format!("{}/{}/{}/{}", vault.name, c.as_str(), o.name, o.version),
            String::new(),
        );
        // The store re-checks in its transaction: no deleted version, and
        // the latest version still the one this write expects.
        self.store
            .insert_vault_object(&o, latest, &audit)
            .map_err(|e| match e {
                StoreError::Conflict => Error::ObjectConflict(c, o.name.clone()),
                StoreError::PreconditionFailed => Error::ObjectChanged(c, o.name.clone()),
                other => other.into(),
            })?;
        Ok(o)
    }

    /// Creates a key (a new version if it exists).
    pub fn create_key(
        &self,
        actor: &Actor,
        vault: &Vault,
        name: &str,
        spec: KeySpec,
        attributes: ObjectAttributes,
        document: String,
    ) -> Result<VaultObject> {
        let m = KeyMaterial::generate(spec).map_err(Error::VaultCrypto)?;
        self.insert_object(
            actor,
            vault,
            Collection::Keys,
            name,
            attributes,
            document,
            &m.to_bytes(),
            "key.create",
            self.now(),
            LatestVersion::Any,
        )
    }

    /// A new version of a key with the same type, size and document; its
    /// expiry follows the key's rotation policy (`expiryTime`) when it has one.
    pub fn rotate_key(&self, actor: &Actor, vault: &Vault, name: &str) -> Result<VaultObject> {
        let current = self.object(vault, Collection::Keys, name, None)?;
        self.rotate_key_at(actor, vault, current, self.now(), "key.rotate", false)
    }

    /// A new version after `current`; with `only_if_latest`, only while
    /// `current` is still the latest version (`ObjectChanged` otherwise).
    fn rotate_key_at(
        &self,
        actor: &Actor,
        vault: &Vault,
        current: VaultObject,
        at: OffsetDateTime,
        action: &str,
        only_if_latest: bool,
    ) -> Result<VaultObject> {
        let name = current.name.clone();
        let latest = if only_if_latest {
            LatestVersion::Is(Some(&current.version))
        } else {
            LatestVersion::Any
        };
        let spec = self.key_material(vault, &current)?.spec();
        let m = KeyMaterial::generate(spec).map_err(Error::VaultCrypto)?;
        let policy = self.rotation_policy(vault, &name)?;
        let attrs = ObjectAttributes {
            enabled: Some(true),
            not_before: None,
            expires: match policy.and_then(|p| p.expiry) {
                Some(d) => Some(
                    d.after(at)
                        .ok_or_else(|| {
                            Error::InvalidInput(
                                "the policy's expiry is out of range from now".into(),
                            )
                        })?
                        .unix_timestamp(),
                ),
                None => None,
            },
        };
        self.insert_object(
            actor,
            vault,
            Collection::Keys,
            &name,
            attrs,
            current.document,
            &m.to_bytes(),
            action,
            at,
            latest,
        )
    }

    /// The key's rotation policy, if one was set.
    pub fn rotation_policy(&self, vault: &Vault, name: &str) -> Result<Option<RotationPolicy>> {
        match self
            .store
            .rotation_policy(vault.id, &name.to_ascii_lowercase())?
        {
            None => Ok(None),
            Some(p) => RotationPolicy::from_text(&p.text, p.created_at, p.updated_at)
                .map(Some)
                .ok_or_else(|| {
                    Error::Storage(crate::StoreError::Corrupt("rotation policy".into()))
                }),
        }
    }

    /// Sets a live key's rotation policy.
    pub fn set_rotation_policy(
        &self,
        actor: &Actor,
        vault: &Vault,
        name: &str,
        actions: Vec<LifetimeAction>,
        expiry: Option<IsoDuration>,
    ) -> Result<RotationPolicy> {
        let key = self.object(vault, Collection::Keys, name, None)?;
        if let Some(e) = expiry {
            if !e.at_least_days(28) {
                return Err(Error::InvalidInput(
                    "expiryTime must be at least 28 days (P28D)".into(),
                ));
            }
        }
        for a in &actions {
            match a.trigger {
                Trigger::AfterCreate(d) if !d.at_least_days(7) => {
                    return Err(Error::InvalidInput(
                        "timeAfterCreate must be at least 7 days (P7D)".into(),
                    ))
                }
                Trigger::BeforeExpiry(_) if expiry.is_none() => {
                    return Err(Error::InvalidInput(
                        "timeBeforeExpiry needs attributes.expiryTime".into(),
                    ))
                }
                _ => {}
            }
        }
        if actions
            .iter()
            .filter(|a| a.action == ActionType::Rotate)
            .count()
            > 1
        {
            return Err(Error::InvalidInput(
                "a policy has at most one Rotate action".into(),
            ));
        }
        let now = self.now();
        let mut p = RotationPolicy {
            actions,
            expiry,
            created_at: now,
            updated_at: now,
        };
        let audit = self.vault_audit(
            actor,
            "key.rotationPolicy.set",
            format!("{}/keys/{}", vault.name, key.name),
            p.to_text(),
        );
        // The first time sets the creation time; the store keeps it after.
        p.created_at = self.store.put_rotation_policy(
            vault.id,
            &name.to_ascii_lowercase(),
            &p.to_text(),
            now,
            &audit,
        )?;
        Ok(p)
    }

    /// Rotates every key whose policy says it is due at `at` (the real clock
    /// in production; tests may pass a later time to run a year in a
    /// second). Returns (vault, key, new version) per rotation; each has an
    /// audit record `key.rotate.policy`.
    pub fn run_rotation_policies(
        &self,
        at: OffsetDateTime,
    ) -> Result<Vec<(String, String, String)>> {
        let vaults: BTreeMap<i64, Vault> = self
            .store
            .vaults()?
            .into_iter()
            .filter(|v| v.deleted_at.is_none())
            .map(|v| (v.id, v))
            .collect();
        let actor = Actor("rotation-policy".into());
        let mut done = Vec::new();
        for stored in self.store.rotation_policies()? {
            let name_key = stored.name_key;
            let (Some(vault), Some(policy)) = (
                vaults.get(&stored.vault_id),
                RotationPolicy::from_text(&stored.text, stored.created_at, stored.updated_at),
            ) else {
                continue;
            };
            let Ok(latest) = self.object(vault, Collection::Keys, &name_key, None) else {
                continue;
            };
            // A trigger whose time is outside the calendar is never due
            // (an expiry near year -9999 must not stop the runner).
            let due = policy.actions.iter().any(|a| {
                a.action == ActionType::Rotate
                    && match a.trigger {
                        Trigger::AfterCreate(d) => {
                            d.after(latest.created_at).is_some_and(|t| t <= at)
                        }
                        Trigger::BeforeExpiry(d) => latest.attributes.expires.is_some_and(|e| {
                            OffsetDateTime::from_unix_timestamp(e)
                                .ok()
                                .and_then(|exp| d.before(exp))
                                .is_some_and(|t| t <= at)
                        }),
                    }
            });
            if due {
                // One key that cannot rotate does not hold up the others.
                // Only while the version it found due is still the latest:
                // two runners (two processes on one database) add one
                // version, not two.
                match self.rotate_key_at(&actor, vault, latest, at, "key.rotate.policy", true) {
                    Ok(o) => done.push((vault.name.to_string(), o.name, o.version)),
                    Err(Error::ObjectChanged(..)) => {
                        tracing::debug!(vault = %vault.name, key = %name_key, "rotated meanwhile by another runner");
                    }
                    Err(e @ (Error::Unavailable(_) | Error::Storage(_))) => return Err(e),
                    Err(e) => {
                        tracing::warn!(vault = %vault.name, key = %name_key, error = %e, "rotation policy could not rotate this key; the others go on");
                    }
                }
            }
        }
        Ok(done)
    }

    fn unseal(&self, vault: &Vault, o: &VaultObject) -> Result<Zeroizing<Vec<u8>>> {
        self.root
            .open(
                &object_context(vault, o.collection, &o.name, &o.version),
                &o.sealed,
            )
            .map_err(Error::KeyMaterialUnavailable)
    }

    fn key_material(&self, vault: &Vault, o: &VaultObject) -> Result<std::sync::Arc<KeyMaterial>> {
        let id = format!(
            "{}/{}/{}",
            vault.uid,
            o.name.to_ascii_lowercase(),
            o.version
        );
        let cache = || {
            self.key_cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(m) = cache().get(&id) {
            return Ok(m.clone());
        }
        let m = std::sync::Arc::new(
            KeyMaterial::from_bytes(&self.unseal(vault, o)?).map_err(Error::VaultCrypto)?,
        );
        let mut c = cache();
        if c.len() >= KEY_CACHE_ENTRIES {
            c.clear();
        }
        c.insert(id, m.clone());
        Ok(m)
    }

    /// Forgets cached material of a vault (all keys) or of one key.
    fn forget_keys(&self, vault: &Vault, name: Option<&str>) {
        let prefix = match name {
            Some(n) => format!("{}/{}/", vault.uid, n.to_ascii_lowercase()),
            None => format!("{}/", vault.uid),
        };
        self.key_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|k, _| !k.starts_with(&prefix));
    }

    /// The public parts of a key version (what GET returns).
    pub fn key_public(&self, vault: &Vault, o: &VaultObject) -> Result<(KeySpec, PublicParts)> {
        let m = self.key_material(vault, o)?;
        Ok((m.spec(), m.public().map_err(Error::VaultCrypto)?))
    }

    /// Runs `f` with the material of a usable key version (enabled, within
    /// its validity window).
    fn with_usable_key<T>(
        &self,
        vault: &Vault,
        o: &VaultObject,
        f: impl FnOnce(&KeyMaterial) -> std::result::Result<T, keyrotor_crypto::vault::VaultCryptoError>,
    ) -> Result<T> {
        usable(o, self.now())?;
        f(self.key_material(vault, o)?.as_ref()).map_err(Error::VaultCrypto)
    }

    /// Wraps or encrypts with a usable key version.
    pub fn key_wrap(
        &self,
        vault: &Vault,
        o: &VaultObject,
        alg: WrapAlg,
        data: &[u8],
    ) -> Result<Vec<u8>> {
        self.with_usable_key(vault, o, |m| m.wrap(alg, data))
    }

    /// Unwraps or decrypts with a usable key version.
    pub fn key_unwrap(
        &self,
        vault: &Vault,
        o: &VaultObject,
        alg: WrapAlg,
        data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.with_usable_key(vault, o, |m| m.unwrap(alg, data))
    }

    /// Signs a digest with a usable key version.
    pub fn key_sign(
        &self,
        vault: &Vault,
        o: &VaultObject,
        alg: SignAlg,
        digest: &[u8],
    ) -> Result<Vec<u8>> {
        self.with_usable_key(vault, o, |m| m.sign(alg, digest))
    }

    /// Verifies a signature with a usable key version.
    pub fn key_verify(
        &self,
        vault: &Vault,
        o: &VaultObject,
        alg: SignAlg,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<bool> {
        self.with_usable_key(vault, o, |m| m.verify(alg, digest, signature))
    }

    /// Sets a secret (a new version).
    pub fn set_secret(
        &self,
        actor: &Actor,
        vault: &Vault,
        name: &str,
        value: &Secret,
        attributes: ObjectAttributes,
        document: String,
    ) -> Result<VaultObject> {
        if value.expose().len() > 25 * 1024 {
            return Err(Error::InvalidInput(
                "secret values are limited to 25 KiB".into(),
            ));
        }
        self.insert_object(
            actor,
            vault,
            Collection::Secrets,
            name,
            attributes,
            document,
            value.expose().as_bytes(),
            "secret.set",
            self.now(),
            LatestVersion::Any,
        )
    }

    /// A secret version's value; refused when disabled, expired or not yet valid.
    pub fn secret_value(&self, vault: &Vault, o: &VaultObject) -> Result<Secret> {
        usable(o, self.now())?;
        let plain = self.unseal(vault, o)?;
        Ok(Secret::new(String::from_utf8(plain.to_vec()).map_err(
            |_| Error::Storage(crate::StoreError::Corrupt("secret".into())),
        )?))
    }

    /// Replaces the attributes and document of one version.
    pub fn update_object(
        &self,
        actor: &Actor,
        vault: &Vault,
        o: &VaultObject,
        attributes: ObjectAttributes,
        document: String,
    ) -> Result<VaultObject> {
        let updated = VaultObject {
            attributes,
            document,
            updated_at: self.now(),
            ..o.clone()
        };
        let audit = self.vault_audit(
            actor,
            "object.update",
            format!(
                "{}/{}/{}/{}",
                vault.name,
                o.collection.as_str(),
                o.name,
                o.version
            ),
            String::new(),
        );
        self.store.update_vault_object(&updated, &audit)?;
        Ok(updated)
    }

    /// A backup of every version of a live object: one blob sealed under the
    /// root key, so only this service (or one sharing its root key) can
    /// restore it, into any of its vaults.
    pub fn backup_object(&self, vault: &Vault, c: Collection, name: &str) -> Result<Vec<u8>> {
        let versions = self.live_versions(vault, c, name)?;
        let mut w = Codec::default();
        w.str(c.as_str());
        w.str(&versions[0].name);
        let policy = match c {
            Collection::Keys => self.rotation_policy(vault, name)?.map(|p| p.to_text()),
            Collection::Secrets => None,
        };
        w.str(policy.as_deref().unwrap_or(""));
        w.u64(versions.len() as u64);
        for o in &versions {
            let plain = self.unseal(vault, o)?;
            w.str(&o.version);
            w.i64(o.attributes.enabled.map_or(-1, i64::from));
            w.opt(o.attributes.not_before);
            w.opt(o.attributes.expires);
            w.str(&o.document);
            w.i64(o.created_at.unix_timestamp());
            w.i64(o.updated_at.unix_timestamp());
            w.bytes(&plain);
        }
        let plain = Zeroizing::new(w.0);
        self.root
            .seal(BACKUP_CONTEXT, &plain)
            .map_err(Error::Crypto)
    }

    /// Restores a backup into `vault`; the name must be free there (no live
    /// or deleted object of that name).
    pub fn restore_object(
        &self,
        actor: &Actor,
        vault: &Vault,
        c: Collection,
        blob: &[u8],
    ) -> Result<VaultObject> {
        let bad = || {
            Error::InvalidInput(
                "the backup blob is malformed or was made by another service".into(),
            )
        };
        let plain = self.root.open(BACKUP_CONTEXT, blob).map_err(|_| bad())?;
        let mut r = Reader(&plain);
        if r.str().ok_or_else(bad)? != c.as_str() {
            return Err(Error::InvalidInput(format!(
                "the backup is not one of {}",
                c.as_str()
            )));
        }
        let name = r.str().ok_or_else(bad)?;
        check_object_name(&name)?;
        let policy = r.str().ok_or_else(bad)?;
        if !self.object_versions(vault, c, &name)?.is_empty() {
            return Err(Error::ObjectConflict(c, name));
        }
        let n = r.u64().ok_or_else(bad)?;
        let mut last = None;
        for _ in 0..n.min(10_000) {
            let version = r.str().ok_or_else(bad)?;
            let enabled = match r.i64().ok_or_else(bad)? {
                -1 => None,
                v => Some(v != 0),
            };
            let not_before = r.opt().ok_or_else(bad)?;
            let expires = r.opt().ok_or_else(bad)?;
            let document = r.str().ok_or_else(bad)?;
            let created =
                OffsetDateTime::from_unix_timestamp(r.i64().ok_or_else(bad)?).map_err(|_| bad())?;
            let updated =
                OffsetDateTime::from_unix_timestamp(r.i64().ok_or_else(bad)?).map_err(|_| bad())?;
            let material = Zeroizing::new(r.bytes().ok_or_else(bad)?);
            let sealed = self
                .root
                .seal(&object_context(vault, c, &name, &version), &material)
                .map_err(Error::Crypto)?;
            let o = VaultObject {
                vault_id: vault.id,
                collection: c,
                name: name.clone(),
                version,
                attributes: ObjectAttributes {
                    enabled,
                    not_before,
                    expires,
                },
                document,
                sealed,
                created_at: created,
                updated_at: updated,
                deleted_at: None,
            };
            let audit = self.vault_audit(
                actor,
                "object.restore",
                format!("{}/{}/{}/{}", vault.name, c.as_str(), o.name, o.version),
                String::new(),
            );
            // Each version after the one before: a concurrent write to the
            // same name stops the restore instead of interleaving with it.
            let latest = LatestVersion::Is(last.as_ref().map(|l: &VaultObject| l.version.as_str()));
            self.store
                .insert_vault_object(&o, latest, &audit)
                .map_err(|e| match e {
                    StoreError::Conflict | StoreError::PreconditionFailed => {
                        Error::ObjectChanged(c, o.name.clone())
                    }
                    other => other.into(),
                })?;
            last = Some(o);
        }
        if !policy.is_empty() {
            let now = self.now();
            let audit = self.vault_audit(
                actor,
                "key.rotationPolicy.restore",
                format!("{}/keys/{name}", vault.name),
                policy.clone(),
            );
            self.store.put_rotation_policy(
                vault.id,
                &name.to_ascii_lowercase(),
                &policy,
                now,
                &audit,
            )?;
        }
        last.ok_or_else(bad)
    }

    /// Soft-deletes every version of an object.
    pub fn delete_object(
        &self,
        actor: &Actor,
        vault: &Vault,
        c: Collection,
        name: &str,
    ) -> Result<VaultObject> {
        let latest = self.object(vault, c, name, None)?;
        let now = self.now();
        let audit = self.vault_audit(
            actor,
            "object.delete",
            format!("{}/{}/{}", vault.name, c.as_str(), latest.name),
            String::new(),
        );
        let gone = || Error::ObjectNotFound(c, name.chars().take(130).collect());
        // False: deleted or purged by a concurrent request meanwhile.
        if !self.store.set_objects_deleted(
            vault.id,
            c,
            &name.to_ascii_lowercase(),
            Some(now),
            &audit,
        )? {
            return Err(gone());
        }
        self.forget_keys(vault, Some(name));
        Ok(VaultObject {
            deleted_at: Some(now),
            ..latest
        })
    }

    pub fn recover_object(
        &self,
        actor: &Actor,
        vault: &Vault,
        c: Collection,
        name: &str,
    ) -> Result<VaultObject> {
        let latest = self.deleted_object(vault, c, name)?;
        let audit = self.vault_audit(
            actor,
            "object.recover",
            format!("{}/{}/{}", vault.name, c.as_str(), latest.name),
            String::new(),
        );
        if !self
            .store
            .set_objects_deleted(vault.id, c, &name.to_ascii_lowercase(), None, &audit)?
        {
            return Err(Error::ObjectNotFound(c, name.chars().take(130).collect()));
        }
        Ok(VaultObject {
            deleted_at: None,
            ..latest
        })
    }

    /// Removes a deleted object for good; refused under purge protection.
    pub fn purge_object(
        &self,
        actor: &Actor,
        vault: &Vault,
        c: Collection,
        name: &str,
    ) -> Result<()> {
        let latest = self.deleted_object(vault, c, name)?;
        let retention = time::Duration::days(i64::from(vault.settings.soft_delete_days));
        if vault.settings.purge_protection
            && latest
                .deleted_at
                .is_some_and(|d| d + retention > self.now())
        {
            return Err(Error::PurgeProtected(format!(
                "{}/{}",
                c.as_str(),
                latest.name
            )));
        }
        let audit = self.vault_audit(
            actor,
            "object.purge",
            format!("{}/{}/{}", vault.name, c.as_str(), latest.name),
            String::new(),
        );
        // Only while still deleted: a concurrent recover wins.
        if !self
            .store
            .purge_objects(vault.id, c, &name.to_ascii_lowercase(), &audit)?
        {
            return Err(Error::ObjectNotFound(c, name.chars().take(130).collect()));
        }
        self.forget_keys(vault, Some(name));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations() {
        let p = |s: &str| IsoDuration::parse(s);
        assert_eq!(p("P30D").map(|d| d.days), Some(30));
        assert_eq!(p("P1Y").map(|d| d.years), Some(1));
        assert_eq!(p("P2W").map(|d| d.days), Some(14));
        assert_eq!(p("PT1H").map(|d| d.seconds), Some(3600));
        for bad in ["", "P", "30D", "P1X", "P1", "PT", "P-1D", "P99999999999D"] {
            assert_eq!(p(bad), None, "{bad}");
        }
        let t = time::macros::datetime!(2026-01-31 12:00 UTC);
        assert_eq!(
            p("P1M").and_then(|d| d.after(t)),
            Some(time::macros::datetime!(2026-02-28 12:00 UTC))
        );
        assert_eq!(
            p("P1Y").and_then(|d| d.after(t)),
            Some(time::macros::datetime!(2027-01-31 12:00 UTC))
        );
        assert_eq!(
            p("P7D").and_then(|d| d.before(t)),
            Some(time::macros::datetime!(2026-01-24 12:00 UTC))
        );
        assert_eq!(
            p("P1Y2M3DT4S").map(|d| d.to_string()).as_deref(),
            Some("P1Y2M3DT4S")
        );
    }

    proptest::proptest! {
        /// Calendar arithmetic never panics over the whole range `time`
        /// represents (and so the whole range a client can set as `exp`),
        /// and answers `None` exactly when the result leaves it.
        #[test]
        fn durations_never_panic_over_the_full_timestamp_range(
            ts in OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT).unix_timestamp()
                ..=OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT).unix_timestamp(),
            years in 0u32..=100, months in 0u32..=1200, days in 0u32..=36_500, seconds in 0u32..=400_000,
        ) {
            let t = OffsetDateTime::from_unix_timestamp(ts).expect("in range");
            let d = IsoDuration { years, months, days, seconds };
            if let Some(later) = d.after(t) {
                proptest::prop_assert!(later >= t);
            }
            if let Some(earlier) = d.before(t) {
                proptest::prop_assert!(earlier <= t);
            }
            // Far from the ends, both are defined.
            if (-300_000_000_000..=200_000_000_000).contains(&ts) {
                proptest::prop_assert!(d.after(t).is_some() && d.before(t).is_some());
            }
        }
    }

    #[test]
    fn durations_at_the_ends_of_the_calendar_are_none() {
        let min = OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT);
        let max = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT);
        let p7d = IsoDuration::parse("P7D").expect("P7D");
        assert_eq!(p7d.before(min), None);
        assert_eq!(p7d.after(max), None);
        let p1y = IsoDuration::parse("P1Y").expect("P1Y");
        assert_eq!(p1y.before(min), None);
        assert_eq!(p1y.after(max), None);
    }

    #[test]
    fn policy_text_round_trip() {
        let t = OffsetDateTime::UNIX_EPOCH;
        let p = RotationPolicy {
            actions: vec![
                LifetimeAction {
                    trigger: Trigger::AfterCreate(
                        IsoDuration::parse("P30D").unwrap_or_else(|| panic!()),
                    ),
                    action: ActionType::Rotate,
                },
                LifetimeAction {
                    trigger: Trigger::BeforeExpiry(
                        IsoDuration::parse("P7D").unwrap_or_else(|| panic!()),
                    ),
                    action: ActionType::Notify,
                },
            ],
            expiry: IsoDuration::parse("P90D"),
            created_at: t,
            updated_at: t,
        };
        assert_eq!(RotationPolicy::from_text(&p.to_text(), t, t), Some(p));
    }
}
