//! keyrotor's use-cases. Knows nothing of HTTP, JSON or SQL: it is driven by
//! the wire layers and persists through the [`store::Store`] trait.

mod accounts;
pub mod activity;
mod authz;
pub mod directory;
pub mod envelope;
mod error;
mod groups;
pub mod guard;
mod identity;
mod items;
mod keys;
pub mod ledger;
pub mod rbac;
pub mod store;
pub mod usage;
mod usage_evidence;
pub mod vault;

use std::collections::BTreeMap;
use std::sync::Arc;

use keyrotor_crypto::RootKey;
use keyrotor_types::{
    AccountKind, AccountName, Clock, KeySlot, NameError, ResourceGroupName, Secret, SubscriptionId,
};
use time::OffsetDateTime;

pub use store::PrincipalSecret;
pub use store::{
    Account, AccountSettings, AccountSpec, AuditEvent, LocalAuth, LocalAuthMode, Principal,
    PutMode, ResourceGroup, Store, StoreError,
};
pub use store::{ChangeDomain, ChangeSeqs};
// The per-aggregate store traits, in scope for every use-case module.
#[allow(unused_imports, reason = "each module uses some of them")]
pub(crate) use store::{
    AccountStore, GroupStore, IdentityStore, ItemStore, MetaStore, RbacStore, UsageStore,
    VaultStore,
};
use store::{StoredKey, StoredSigningKey};
pub use usage::{KeyUsage, UsageRecorder};

pub use envelope::{DataKeyInfo, LegacyUpgrade};
pub use error::Error;
pub use identity::{SigningKeyInfo, SECRET_USE_RESOLUTION};

pub type Result<T> = std::result::Result<T, Error>;

/// The identity and tenancy the service was bootstrapped with.
#[derive(Debug, Clone)]
pub struct Directory {
    pub tenant_id: String,
    pub subscription_id: SubscriptionId,
    pub admin_client_id: String,
}

/// Credentials created at first start; the secret exists only here.
#[derive(Debug)]
pub struct NewCredentials {
    pub client_id: String,
    pub client_secret: Secret,
}

/// A decrypted account key.
#[derive(Debug, Clone)]
pub struct AccountKey {
    pub slot: KeySlot,
    pub value: Secret,
    pub generation: u64,
    pub generated_at: OffsetDateTime,
}

/// A data-plane item as the wire layer reads and writes it: its JSON text
/// (sealed under a data key of the account while stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataItem {
    pub collection: String,
    pub id: String,
    pub body: String,
    pub etag: String,
    /// Unix seconds of the last write.
    pub ts: i64,
    /// Store-wide unique, increasing number (basis of resource ids).
    pub seq: i64,
}

/// Key metadata without the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub slot: KeySlot,
    pub generation: u64,
    pub generated_at: OffsetDateTime,
}

/// A decrypted token-signing key.
pub struct SigningKey {
    pub kid: String,
    pub pkcs8: zeroize::Zeroizing<Vec<u8>>,
    pub created_at: OffsetDateTime,
}

/// Who asks for an action, and what the wire layer knows of the request
/// (recorded in the activity log).
#[derive(Debug, Clone)]
pub struct Actor(pub String, pub activity::RequestInfo);

/// The store's change sequences as this process last saw them, and per
/// domain an epoch that moves whenever this process commits a change there
/// or sees the store's sequence move: caches compare the epoch (an atomic
/// load per request), never the store. Kept apart from the sequences so
/// that a change this process committed invalidates its caches even when
/// reading the sequence afterwards fails.
#[derive(Default)]
struct Changes {
    seen: [std::sync::atomic::AtomicU64; ChangeDomain::ALL.len()],
    epoch: [std::sync::atomic::AtomicU64; ChangeDomain::ALL.len()],
    observing: std::sync::Mutex<()>,
}

impl Changes {
    fn epoch(&self, d: ChangeDomain) -> u64 {
        self.epoch[d.index()].load(std::sync::atomic::Ordering::Acquire)
    }

    fn advance(&self, d: ChangeDomain) {
        self.epoch[d.index()].fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Moves the epoch of every domain whose sequence differs from the one
    /// last seen.
    fn observe(&self, seqs: &store::ChangeSeqs) -> Vec<ChangeDomain> {
        let _one = self
            .observing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut moved = Vec::new();
        for d in ChangeDomain::ALL {
            let seq = seqs.get(d);
            let seen = &self.seen[d.index()];
            if seen.load(std::sync::atomic::Ordering::Acquire) != seq {
                seen.store(seq, std::sync::atomic::Ordering::Release);
                self.advance(d);
                moved.push(d);
            }
        }
        moved
    }
}

pub struct Keyrotor {
    store: Arc<dyn Store>,
    root: Arc<RootKey>,
    clock: Arc<dyn Clock>,
    /// What this process knows of the store's change sequences, and the
    /// epochs its caches compare ([`Changes`]).
    changes: Changes,
    /// Per worker thread: a shared lock word and reference count written on
    /// every data-plane role check would bounce between the cores.
    /// The role snapshot, built at the rbac epoch.
    authz: keyrotor_types::Snapshot<Arc<rbac::Authorizer>>,
    /// Held across a usage flush's drain and write, so that a reader that
    /// flushes first (the regeneration guard, `listKeyUsage`) waits for a
    /// flush already in flight instead of reading before it committed.
    flushing: std::sync::Mutex<()>,
    /// The bootstrap administrator's client id, known after [`Keyrotor::bootstrap`].
    admin: std::sync::OnceLock<String>,
    /// The newest key generations acknowledged, kept outside the database
    /// (restore protection, [`ledger`]).
    ledger: Arc<dyn ledger::KeyLedger>,
    /// Unsealed, parsed vault key versions (bounded); dropped when their
    /// key or vault is deleted.
    pub(crate) key_cache: std::sync::Mutex<
        std::collections::HashMap<String, Arc<keyrotor_crypto::vault::KeyMaterial>>,
    >,
    /// Unwrapped data keys of the accounts ([`envelope`]), at the `Deks` epoch.
    deks: envelope::DekCache,
}

const META_TENANT: &str = "tenant_id";
const META_SUBSCRIPTION: &str = "subscription_id";
const META_ADMIN: &str = "admin_client_id";

/// The normalized scope under which a deletion revokes role assignments.
/// Never empty: an empty scope key would revoke every assignment, so a
/// scope that does not normalize is refused (and changes nothing).
fn revocation_scope(scope: &str) -> Result<String> {
    rbac::normalize_scope(scope)
        .filter(|s| s.len() > 1)
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "'{}' is not a scope whose role assignments can be revoked",
                scope.chars().take(200).collect::<String>()
            ))
        })
}

fn signing_context(kid: &str) -> Vec<u8> {
    format!("keyrotor/signing-key/v1/{kid}").into_bytes()
}

impl Keyrotor {
    pub fn new(store: Arc<dyn Store>, root: Arc<RootKey>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            root,
            clock,
            changes: Changes::default(),
            authz: keyrotor_types::Snapshot::new(),
            flushing: std::sync::Mutex::new(()),
            admin: std::sync::OnceLock::new(),
            ledger: Arc::new(ledger::MemoryLedger::default()),
            key_cache: std::sync::Mutex::new(std::collections::HashMap::new()),
            deks: envelope::DekCache::default(),
        }
    }

    /// Keeps the key ledger in `ledger` (by default in memory: no
    /// protection across a database restore).
    pub fn with_ledger(mut self, ledger: Arc<dyn ledger::KeyLedger>) -> Self {
        self.ledger = ledger;
        self
    }

    /// Whether the value of `slot` at `generation` was replaced after the
    /// database it comes from was backed up: the ledger knows a newer
    /// generation, so this database was restored from before it. Such a
    /// value authenticates nothing until the slot is regenerated.
    pub fn replaced_after_restore(
        &self,
        account: &Account,
        slot: KeySlot,
        generation: u64,
    ) -> bool {
        self.ledger
            .latest(&account.uid, slot)
            .is_some_and(|newest| newest > generation)
    }

    /// Every account slot that [`Keyrotor::replaced_after_restore`] refuses
    /// (for the start-up report): account target and slots.
    pub fn restored_slots(&self, dir: &Directory) -> Result<Vec<(String, Vec<KeySlot>)>> {
        let mut out = Vec::new();
        for kind in [AccountKind::Cosmos, AccountKind::Batch, AccountKind::Ai] {
            for a in self.store.accounts(&dir.subscription_id, None, kind)? {
                let stale: Vec<KeySlot> = self
                    .store
                    .keys(a.id)?
                    .iter()
                    .filter(|k| self.replaced_after_restore(&a, k.slot, k.generation))
                    .map(|k| k.slot)
                    .collect();
                if !stale.is_empty() {
                    out.push((account_target(&a), stale));
                }
            }
        }
        Ok(out)
    }

    /// Records in the ledger that a deleted account's key values are
    /// replaced (the slots as the deleting transaction read them): a restored
    /// copy of it authenticates nothing until regenerated.
    fn ledger_retire(&self, keys: &[store::RetiredKey]) -> Result<()> {
        let entries: Vec<ledger::LedgerEntry> = keys
            .iter()
            .map(|k| ledger::LedgerEntry {
                account_uid: k.account_uid.clone(),
                slot: k.slot,
                generation: k.generation.saturating_add(1),
            })
            .collect();
        if entries.is_empty() {
            return Ok(());
        }
        self.ledger.record(&entries).map_err(Error::Ledger)
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// [`Keyrotor::now`] in Unix seconds, cheaper (no calendar date).
    pub fn unix_now(&self) -> i64 {
        self.clock.unix_now()
    }

    /// Changes whenever an account or key changed, on this node or (once
    /// [`Keyrotor::poll_changes`] has seen it) on another one sharing the
    /// store: the data planes' account cache compares it.
    pub fn epoch(&self) -> u64 {
        self.changes.epoch(ChangeDomain::Accounts)
    }

    /// Whether the service can serve: the store answers a read (the root
    /// key is loaded, or the core would not exist). For readiness probes.
    pub fn ready(&self) -> Result<()> {
        self.store.change_seqs()?;
        Ok(())
    }

    /// The epoch of one domain's caches (see [`Keyrotor::epoch`]).
    pub fn change_epoch(&self, d: ChangeDomain) -> u64 {
        self.changes.epoch(d)
    }

    /// Reads the store's change sequences and moves the epoch of every
    /// domain another node (or another process on the same database)
    /// changed since the last read. Returns those domains. The server calls
    /// it periodically: that period bounds how late a change committed
    /// elsewhere reaches this node's caches.
    pub fn poll_changes(&self) -> Result<Vec<ChangeDomain>> {
        let seqs = self.store.change_seqs()?;
        Ok(self.changes.observe(&seqs))
    }

    /// After a change this node committed: its caches see it on the very
    /// next request (the epoch moves before the caller answers), and the
    /// store's sequence is recorded so that polling does not count it twice.
    fn committed(&self, domains: &[ChangeDomain]) {
        for d in domains {
            self.changes.advance(*d);
        }
        if let Err(e) = self.poll_changes() {
            tracing::debug!(error = %e, "reading the change sequences after a commit failed");
        }
    }

    fn bump(&self) {
        self.committed(&[ChangeDomain::Accounts]);
    }

    fn bump_rbac(&self) {
        self.committed(&[ChangeDomain::Rbac]);
    }
}

fn item_error(e: StoreError) -> Error {
    match e {
        StoreError::Conflict => Error::ItemExists,
        StoreError::NotFound => Error::ItemNotFound,
        StoreError::PreconditionFailed => Error::PreconditionFailed,
        other => other.into(),
    }
}

fn account_target(a: &Account) -> String {
    format!("{}/{}/{}", a.kind, a.resource_group, a.name)
}

/// Azure location names are compared without spaces and case ("West US" == "westus").
/// `Some(())` when `s` is a GUID (8-4-4-4-12 hex digits).
fn uuid_like(s: &str) -> Option<()> {
    let parts: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    (parts.len() == 5
        && parts
            .iter()
            .zip(lens)
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit())))
    .then_some(())
}

pub fn normalize_location(location: &str) -> Result<String> {
    let l: String = location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    if l.is_empty() || l.len() > 64 || !l.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::InvalidInput(format!(
            "location '{}' is invalid: use a region name such as 'westus'",
            location.chars().take(64).collect::<String>()
        )));
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deletion never revokes under the root or an empty scope key (the
    /// "revoke everything" fallback the review found).
    #[test]
    fn revocation_scopes_are_never_empty() {
        for bad in ["", "/", "subscriptions/x", "relative"] {
            assert!(revocation_scope(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            revocation_scope("/subscriptions/X/resourceGroups/RG")
                .ok()
                .as_deref(),
            Some("/subscriptions/x/resourcegroups/rg")
        );
    }
}
