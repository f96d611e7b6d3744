//! Keys: create, rotate, and the cryptographic operations (with a
//! bounded cache of parsed key material).

use super::*;

/// Parsed key versions kept in memory (RSA parsing costs more than using).
const KEY_CACHE_ENTRIES: usize = 4096;

impl Keyrotor {
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
    pub(crate) fn rotate_key_at(
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

    pub(crate) fn unseal(&self, vault: &Vault, o: &VaultObject) -> Result<Zeroizing<Vec<u8>>> {
        self.root
            .open(
                &object_context(vault, o.collection, &o.name, &o.version),
                &o.sealed,
            )
            .map_err(Error::KeyMaterialUnavailable)
    }

    pub(crate) fn key_material(
        &self,
        vault: &Vault,
        o: &VaultObject,
    ) -> Result<std::sync::Arc<KeyMaterial>> {
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
    pub(crate) fn forget_keys(&self, vault: &Vault, name: Option<&str>) {
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
    pub(crate) fn with_usable_key<T>(
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
}
