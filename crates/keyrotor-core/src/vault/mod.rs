//! Key vaults: the vault resource (soft delete with retention, purge
//! protection that cannot be turned off), and its keys and secrets, stored as
//! versions sealed under the root key. A key's private material never leaves
//! this module except as the results of operations performed with it.

mod backup;
mod duration;
mod keys;
mod objects;
mod policy;
mod secrets;

pub use duration::IsoDuration;
pub use policy::{ActionType, LifetimeAction, RotationPolicy, Trigger};

use std::collections::BTreeMap;

use keyrotor_crypto::vault::{KeyMaterial, KeySpec, PublicParts, SignAlg, WrapAlg};
use keyrotor_types::{ResourceGroupName, Secret, SubscriptionId, VaultName};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::store::{LatestVersion, StoreError};
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
pub(crate) fn usable(o: &VaultObject, now: OffsetDateTime) -> Result<()> {
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

pub(crate) fn object_context(vault: &Vault, c: Collection, name: &str, version: &str) -> Vec<u8> {
    format!(
        "keyrotor/vault-object/v1/{}/{}/{}/{}",
        vault.uid,
        c.as_str(),
        name.to_ascii_lowercase(),
        version
    )
    .into_bytes()
}

/// An object's not-found error (the name cut to what a name can be).
pub(crate) fn object_not_found(c: Collection, name: &str) -> Error {
    Error::ObjectNotFound(c, name.chars().take(130).collect())
}

pub(crate) fn check_object_name(name: &str) -> Result<()> {
    if keyrotor_types::valid_object_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "'{}' is not a valid name: use 1-127 letters, digits and hyphens",
            name.chars().take(130).collect::<String>()
        )))
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
        // Read, decide, then a conditional write; a write that finds the
        // vault created, changed or deleted meanwhile reads again.
        for _ in 0..4 {
            let now = self.now();
            let spec = spec.clone();
            match self.store.vault(&name.key())? {
                Some(v) if v.deleted_at.is_some() => {
                    return Err(Error::VaultNameTaken(format!(
                        "{name} (a deleted vault holds the name until it is purged or recovered)"
                    )))
                }
                Some(v) if v.subscription != *sub || v.resource_group.key() != group.key() => {
                    return Err(Error::VaultNameTaken(name.to_string()))
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
                    let read_at = v.updated_at;
                    let updated = Vault {
                        location: v.location.clone(),
                        tags: spec.tags,
                        document: spec.document,
                        settings: spec.settings,
                        updated_at: now,
                        ..v
                    };
                    let audit = self.audit(actor, "vault.update", name.to_string(), String::new());
                    match self.store.update_vault(&updated, read_at, &audit) {
                        Ok(()) => return Ok((updated, false)),
                        Err(StoreError::PreconditionFailed | StoreError::NotFound) => continue,
                        Err(e) => return Err(e.into()),
                    }
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
                    let audit = self.audit(actor, "vault.create", name.to_string(), String::new());
                    match self.store.insert_vault(&v, &audit) {
                        Ok(id) => return Ok((Vault { id, ..v }, true)),
                        Err(StoreError::Conflict) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Err(Error::ChangedMeanwhile)
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
            // As ARM answers: a group that does not exist is named as such.
            _ if self.store.group(sub, group)?.is_none() => {
                Err(Error::GroupNotFound(group.to_string()))
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
        let audit = self.audit(actor, "vault.delete", vault.name.to_string(), String::new());
        let done = self
            .store
            .set_vault_deleted(vault.id, Some(self.now()), &audit)?;
        self.committed(&[ChangeDomain::Accounts, ChangeDomain::Vaults]);
        Ok(done)
    }

    pub fn recover_vault(&self, actor: &Actor, name: &str) -> Result<Vault> {
        let v = self.deleted_vault(name)?;
        let audit = self.audit(actor, "vault.recover", v.name.to_string(), String::new());
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
        let audit = self.audit(actor, "vault.purge", v.name.to_string(), String::new());
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
                        IsoDuration::parse("P30D").expect("a valid duration"),
                    ),
                    action: ActionType::Rotate,
                },
                LifetimeAction {
                    trigger: Trigger::BeforeExpiry(
                        IsoDuration::parse("P7D").expect("a valid duration"),
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
