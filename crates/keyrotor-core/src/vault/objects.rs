//! Objects (keys and secrets): versions, update, delete, recover, purge.

use super::*;

impl Keyrotor {
    pub(crate) fn new_version() -> Result<String> {
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

    /// All versions of a live object, oldest first: an object with a
    /// deleted version (or none) is not found.
    pub fn live_versions(
        &self,
        vault: &Vault,
        c: Collection,
        name: &str,
    ) -> Result<Vec<VaultObject>> {
        let v = self.object_versions(vault, c, name)?;
        if v.is_empty() || v.iter().any(|o| o.deleted_at.is_some()) {
            return Err(object_not_found(c, name));
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
            .ok_or_else(|| object_not_found(c, name))
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one private helper behind create_key, rotate_key and set_secret"
    )]
    pub(crate) fn insert_object(
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
        let audit = self.audit(
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
        let audit = self.audit(
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
        // NotFound: deleted or purged by a concurrent request meanwhile.
        self.store
            .update_vault_object(&updated, &audit)
            .map_err(|e| match e {
                StoreError::NotFound => {
                    Error::ObjectNotFound(o.collection, format!("{}/{}", o.name, o.version))
                }
                other => other.into(),
            })?;
        Ok(updated)
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
        let audit = self.audit(
            actor,
            "object.delete",
            format!("{}/{}/{}", vault.name, c.as_str(), latest.name),
            String::new(),
        );
        let gone = || object_not_found(c, name);
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
        let audit = self.audit(
            actor,
            "object.recover",
            format!("{}/{}/{}", vault.name, c.as_str(), latest.name),
            String::new(),
        );
        if !self
            .store
            .set_objects_deleted(vault.id, c, &name.to_ascii_lowercase(), None, &audit)?
        {
            return Err(object_not_found(c, name));
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
        let audit = self.audit(
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
            return Err(object_not_found(c, name));
        }
        self.forget_keys(vault, Some(name));
        Ok(())
    }
}
