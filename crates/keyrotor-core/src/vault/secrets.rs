//! Secrets: set and read.

use super::*;

impl Keyrotor {
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

    /// A secret version's value as a caller reads it: the read is an
    /// activity entry, recorded before the value is returned.
    pub fn read_secret_value(
        &self,
        actor: &Actor,
        vault: &Vault,
        o: &VaultObject,
    ) -> Result<Secret> {
        usable(o, self.now())?;
        self.record_activity(
            actor,
            "secret.get",
            format!("{}/secrets/{}/{}", vault.name, o.name, o.version),
            crate::activity::ActivityStatus::Succeeded,
            Some(200),
        )?;
        self.secret_value(vault, o)
    }

    /// A secret version's value; refused when disabled, expired or not yet valid.
    pub fn secret_value(&self, vault: &Vault, o: &VaultObject) -> Result<Secret> {
        usable(o, self.now())?;
        let plain = self.unseal(vault, o)?;
        Ok(Secret::new(String::from_utf8(plain.to_vec()).map_err(
            |_| Error::Storage(crate::StoreError::Corrupt("secret".into())),
        )?))
    }
}
