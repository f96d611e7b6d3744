//! Envelope encryption of what keyrotor stores for an account: its data
//! keys (DEKs), wrapped by the service root key (service-managed), and the
//! records sealed under them (access keys, data-plane items), each bound to
//! account uid, record kind, record id and the DEK that sealed it.
//!
//! Unwrapped DEKs are cached per worker thread at the `Deks` change epoch
//! (one unwrapped copy per DEK shared by the threads), so a data-plane
//! request does no store read and no unwrap for its key.

use std::collections::HashMap;

use keyrotor_crypto::envelope::{record_aad, DataKey};

use super::*;
use store::{AccountDeks, StoredDek, WrappedBy};

/// Associated data of an account key: account, slot, generation, DEK.
pub(crate) fn key_aad(account_uid: &str, dek_id: &str, slot: KeySlot, generation: u64) -> Vec<u8> {
    record_aad(&[
        account_uid.as_bytes(),
        b"account-key",
        dek_id.as_bytes(),
        slot.as_str().as_bytes(),
        &generation.to_be_bytes(),
    ])
}

/// Associated data of a data-plane item: account, collection and id, DEK.
pub(crate) fn item_aad(account_uid: &str, dek_id: &str, collection: &str, id: &str) -> Vec<u8> {
    record_aad(&[
        account_uid.as_bytes(),
        b"item",
        dek_id.as_bytes(),
        collection.as_bytes(),
        id.as_bytes(),
    ])
}

/// What a DEK's wrapping under the root key is bound to.
fn dek_context(account_uid: &str, dek_id: &str) -> Vec<u8> {
    format!("keyrotor/dek/v1/{account_uid}/{dek_id}").into_bytes()
}

/// The context account keys were sealed under directly by the root key
/// before envelope encryption (read once, by the upgrade).
fn legacy_key_context(account_uid: &str, slot: KeySlot, generation: u64) -> Vec<u8> {
    format!(
        "keyrotor/account-key/v1/{account_uid}/{}/{generation}",
        slot.as_str()
    )
    .into_bytes()
}

/// A new service-managed DEK for the account: the key, and its stored form.
fn make_dek(root: &RootKey, account_uid: &str, at: OffsetDateTime) -> Result<(StoredDek, DataKey)> {
    let id = keyrotor_crypto::random_guid().map_err(Error::Crypto)?;
    let (key, wrapped) =
        DataKey::generate_wrapped(root, &dek_context(account_uid, &id)).map_err(Error::Crypto)?;
    Ok((
        StoredDek {
            id,
            wrapped,
            wrapped_by: WrappedBy::Service {
                root_key_id: root.id(),
            },
            created_at: at,
        },
        key,
    ))
}

fn unwrap_dek(root: &RootKey, account_uid: &str, d: &StoredDek) -> Result<DataKey> {
    match &d.wrapped_by {
        WrappedBy::Service { .. } => {
            DataKey::unwrap_with(root, &dek_context(account_uid, &d.id), &d.wrapped)
                .map_err(Error::KeyMaterialUnavailable)
        }
    }
}

/// An account's DEKs as one thread caches them: every DEK by id (`None`
/// when it does not unwrap), and the current one.
pub(crate) struct Keyring {
    current: Option<String>,
    keys: Vec<(String, Option<Arc<DataKey>>)>,
}

/// Which DEK an operation needs.
#[derive(Clone, Copy)]
pub(crate) enum Which<'a> {
    /// The account's current one (new writes).
    Current,
    /// The one that sealed a record.
    Id(&'a str),
}

enum Found<'k> {
    Key(&'k str, &'k DataKey),
    /// Known, but its wrapping does not open.
    Unavailable,
    Missing,
}

impl Keyring {
    fn find(&self, which: Which<'_>) -> Found<'_> {
        let id = match which {
            Which::Current => match &self.current {
                Some(c) => c.as_str(),
                None => return Found::Missing,
            },
            Which::Id(id) => id,
        };
        match self.keys.iter().find(|(k, _)| k == id) {
            Some((k, Some(key))) => Found::Key(k, key),
            Some((_, None)) => Found::Unavailable,
            None => Found::Missing,
        }
    }
}

/// The caches of unwrapped DEKs: per thread by account uid, and the one
/// unwrapped copy of each DEK (by id) the threads share, both at the `Deks`
/// change epoch.
#[derive(Default)]
pub(crate) struct DekCache {
    per_thread: keyrotor_types::Snapshot<HashMap<String, Keyring>>,
    unwrapped: std::sync::Mutex<(u64, HashMap<String, Arc<DataKey>>)>,
}

/// Metadata of one DEK of an account (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataKeyInfo {
    pub id: String,
    pub wrapped_by: WrappedBy,
    pub created_at: OffsetDateTime,
    pub current: bool,
}

impl Keyrotor {
    /// Runs `f` with the DEK `which` of the account: from this thread's
    /// cache (no store read, no unwrap), else loaded from the store (a DEK
    /// another node made since this one's last poll is found there too).
    pub(crate) fn with_dek<R>(
        &self,
        account: &Account,
        which: Which<'_>,
        f: impl FnOnce(&str, &DataKey) -> Result<R>,
    ) -> Result<R> {
        let epoch = self.changes.epoch(ChangeDomain::Deks);
        let mut f = Some(f);
        let hit =
            self.deks
                .per_thread
                .read(epoch, |m| match m.get(account.uid.as_str())?.find(which) {
                    Found::Key(id, key) => f.take().map(|f| f(id, key)),
                    Found::Unavailable | Found::Missing => None,
                });
        if let Some(Some(out)) = hit {
            return out;
        }
        let ring = self.load_keyring(account, epoch)?;
        if ring.keys.is_empty() {
            // Every account has a DEK from its creation on: none means it
            // was deleted since the caller read it.
            return Err(Error::Gone);
        }
        let out = match (ring.find(which), f.take()) {
            (Found::Key(id, key), Some(f)) => f(id, key),
            (Found::Unavailable, _) => Err(Error::KeyMaterialUnavailable(
                keyrotor_crypto::Error::Unauthentic,
            )),
            _ => Err(Error::Storage(StoreError::Corrupt(match which {
                Which::Current => "the account has no current data key".into(),
                Which::Id(id) => format!("a record names the unknown data key {id}"),
            }))),
        };
        self.deks
            .per_thread
            .write(epoch, HashMap::new, |m| m.insert(account.uid.clone(), ring));
        out
    }

    fn load_keyring(&self, account: &Account, epoch: u64) -> Result<Keyring> {
        let AccountDeks { current, deks } = self.store.deks(account.id)?;
        let mut shared = self
            .deks
            .unwrapped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if shared.0 < epoch {
            *shared = (epoch, HashMap::new());
        }
        let mut keys = Vec::with_capacity(deks.len());
        for d in deks {
            let key = match shared.1.get(&d.id) {
                Some(k) => Some(k.clone()),
                None => match unwrap_dek(&self.root, &account.uid, &d) {
                    Ok(k) => {
                        let k = Arc::new(k);
                        shared.1.insert(d.id.clone(), k.clone());
                        Some(k)
                    }
                    Err(e) => {
                        tracing::error!(account = %account_target(account), dek = %d.id, error = %e, "a data key could not be unwrapped");
                        None
                    }
                },
            };
            keys.push((d.id, key));
        }
        Ok(Keyring { current, keys })
    }

    /// Seals `plaintext` under the account's current DEK; returns the DEK's
    /// id and the blob. `aad` gets the DEK's id.
    pub(crate) fn seal_current(
        &self,
        account: &Account,
        aad: impl FnOnce(&str) -> Vec<u8>,
        plaintext: &[u8],
    ) -> Result<(String, Vec<u8>)> {
        self.with_dek(account, Which::Current, |id, key| {
            let blob = key.seal(&aad(id), plaintext).map_err(Error::Crypto)?;
            Ok((id.to_string(), blob))
        })
    }

    /// Opens a record sealed under the DEK `dek_id` of the account.
    pub(crate) fn open_record(
        &self,
        account: &Account,
        dek_id: &str,
        aad: &[u8],
        blob: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        self.with_dek(account, Which::Id(dek_id), |_, key| {
            key.open(aad, blob).map_err(Error::KeyMaterialUnavailable)
        })
    }

    /// Opens an item body sealed under the DEK `dek_id` of the account, in
    /// place (an item body is no key material: not zeroized).
    pub(crate) fn open_body(
        &self,
        account: &Account,
        dek_id: &str,
        aad: &[u8],
        blob: Vec<u8>,
    ) -> Result<Vec<u8>> {
        self.with_dek(account, Which::Id(dek_id), |_, key| {
            key.open_owned(aad, blob)
                .map_err(Error::KeyMaterialUnavailable)
        })
    }

    /// A new service-managed DEK for a new account.
    pub(crate) fn new_dek(&self, account: &Account) -> Result<(StoredDek, DataKey)> {
        make_dek(&self.root, &account.uid, self.now())
    }

    /// The account's DEKs (metadata only), oldest first.
    pub fn data_keys(&self, account: &Account) -> Result<Vec<DataKeyInfo>> {
        let AccountDeks { current, deks } = self.store.deks(account.id)?;
        Ok(deks
            .into_iter()
            .map(|d| DataKeyInfo {
                current: current.as_deref() == Some(d.id.as_str()),
                id: d.id,
                wrapped_by: d.wrapped_by,
                created_at: d.created_at,
            })
            .collect())
    }

    /// Makes a new service-managed DEK the account's current one: new
    /// writes are sealed under it at once (on this node; on others within
    /// the change poll), records sealed before stay under theirs and stay
    /// readable. Returns the new DEK's id.
    pub fn rotate_data_key(&self, actor: &Actor, account: &Account) -> Result<String> {
        let (dek, _) = self.new_dek(account)?;
        let audit = self.audit(
            actor,
            "account.dek.rotate",
            account_target(account),
            dek.id.clone(),
        );
        match self.store.insert_dek(account.id, &dek, true, &audit) {
            Ok(()) => {}
            Err(StoreError::NotFound) => {
                return Err(Error::AccountNotFound {
                    kind: account.kind,
                    name: account.name.to_string(),
                })
            }
            Err(e) => return Err(e.into()),
        }
        self.committed(&[ChangeDomain::Deks]);
        Ok(dek.id)
    }
}

/// What a store's schema upgrade needs to bring records written before
/// envelope encryption under it, inside its migration transaction: a fresh
/// DEK per account, items sealed under it, and account keys (sealed
/// directly under the root key before) re-sealed under it, keeping their
/// binding to account, slot and generation.
pub struct LegacyUpgrade {
    root: Arc<RootKey>,
}

impl std::fmt::Debug for LegacyUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LegacyUpgrade(root key {})", self.root.id())
    }
}

impl LegacyUpgrade {
    pub fn new(root: Arc<RootKey>) -> Self {
        Self { root }
    }

    /// A fresh service-managed DEK for the account `account_uid`.
    pub fn new_dek(&self, account_uid: &str, at: OffsetDateTime) -> Result<(StoredDek, DataKey)> {
        make_dek(&self.root, account_uid, at)
    }

    /// An item body sealed under `key` (the DEK `dek_id`).
    pub fn seal_item(
        &self,
        key: &DataKey,
        account_uid: &str,
        dek_id: &str,
        collection: &str,
        id: &str,
        body: &[u8],
    ) -> Result<Vec<u8>> {
        key.seal(&item_aad(account_uid, dek_id, collection, id), body)
            .map_err(Error::Crypto)
    }

    /// An account key sealed under the root key, re-sealed under `key`. A
    /// value sealed under another root key is refused (the upgrade needs
    /// the root key the database was written with); a damaged one, which
    /// opened under no key before, is kept as it is (its account's key stays
    /// unavailable until regenerated, as before).
    pub fn reseal_key(
        &self,
        key: &DataKey,
        account_uid: &str,
        dek_id: &str,
        slot: KeySlot,
        generation: u64,
        legacy: &[u8],
    ) -> Result<Vec<u8>> {
        match self
            .root
            .open(&legacy_key_context(account_uid, slot, generation), legacy)
        {
            Ok(value) => key
                .seal(&key_aad(account_uid, dek_id, slot, generation), &value)
                .map_err(Error::Crypto),
            Err(e @ keyrotor_crypto::Error::WrongRootKey(_)) => {
                Err(Error::KeyMaterialUnavailable(e))
            }
            Err(e) => {
                tracing::warn!(account = %account_uid, slot = %slot, error = %e, "a stored key could not be decrypted; kept as it was (regenerate it)");
                Ok(legacy.to_vec())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_bindings_differ_by_every_part() {
        let base = key_aad("a", "d", KeySlot::Primary, 1);
        for other in [
            key_aad("b", "d", KeySlot::Primary, 1),
            key_aad("a", "e", KeySlot::Primary, 1),
            key_aad("a", "d", KeySlot::Secondary, 1),
            key_aad("a", "d", KeySlot::Primary, 2),
            item_aad("a", "d", "primary", "1"),
        ] {
            assert_ne!(base, other);
        }
        assert_ne!(
            item_aad("a", "d", "c/x", "y"),
            item_aad("a", "d", "c", "x/y")
        );
    }

    #[test]
    fn the_upgrade_reseals_a_legacy_key_under_the_dek_with_its_binding() {
        let root = Arc::new(RootKey::generate().expect("a root key").0);
        let up = LegacyUpgrade::new(root.clone());
        let legacy = root
            .seal(&legacy_key_context("acct", KeySlot::Primary, 3), b"the-key")
            .expect("sealed");
        let (dek, key) = up
            .new_dek("acct", OffsetDateTime::UNIX_EPOCH)
            .expect("a DEK");
        let sealed = up
            .reseal_key(&key, "acct", &dek.id, KeySlot::Primary, 3, &legacy)
            .expect("resealed");
        assert_eq!(
            &key.open(&key_aad("acct", &dek.id, KeySlot::Primary, 3), &sealed)
                .expect("opens under the DEK")[..],
            b"the-key"
        );
        assert!(key
            .open(&key_aad("acct", &dek.id, KeySlot::Secondary, 3), &sealed)
            .is_err());
        // The stored DEK unwraps only for its account.
        assert!(unwrap_dek(&root, "acct", &dek).is_ok());
        assert!(unwrap_dek(&root, "other", &dek).is_err());
        // Another root key: refused, not carried over.
        let other = LegacyUpgrade::new(Arc::new(RootKey::generate().expect("a root key").0));
        assert!(matches!(
            other.reseal_key(&key, "acct", &dek.id, KeySlot::Primary, 3, &legacy),
            Err(Error::KeyMaterialUnavailable(
                keyrotor_crypto::Error::WrongRootKey(_)
            ))
        ));
        // Damaged: kept as it was (it opened under nothing before either).
        let mut damaged = legacy.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert_eq!(
            up.reseal_key(&key, "acct", &dek.id, KeySlot::Primary, 3, &damaged)
                .expect("kept"),
            damaged
        );
    }
}
