//! keyrotor's use-cases. Knows nothing of HTTP, JSON or SQL: it is driven by
//! the wire layers and persists through the [`store::Store`] trait.

pub mod guard;
pub mod ledger;
pub mod rbac;
pub mod store;
pub mod usage;
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
    Account, AccountSettings, AccountSpec, AuditEvent, DataItem, LocalAuth, Principal, PutMode,
    ResourceGroup, Store, StoreError,
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

pub type Result<T> = std::result::Result<T, Error>;

/// Domain errors. The wire layers map each to a status code in one table.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    InvalidName(#[from] NameError),
    #[error("{0}")]
    InvalidInput(String),
    #[error("subscription '{0}' could not be found")]
    SubscriptionNotFound(String),
    #[error("resource group '{0}' could not be found")]
    GroupNotFound(String),
    #[error("{kind} account '{name}' could not be found")]
    AccountNotFound { kind: AccountKind, name: String },
    #[error("{kind} account name '{name}' is already in use")]
    NameTaken { kind: AccountKind, name: String },
    #[error("{kind} accounts have no key '{slot}'")]
    NoSuchKey { kind: AccountKind, slot: KeySlot },
    #[error("an item with this id already exists")]
    ItemExists,
    #[error("the item could not be found")]
    ItemNotFound,
    /// A guarded change found keys used within its window (their clients
    /// would break); nothing changed.
    #[error("{} key(s) of this {kind} account were used within the last {window}; move their clients first", keys.len())]
    KeysInUse {
        kind: AccountKind,
        window: time::Duration,
        keys: Vec<guard::KeyInUse>,
    },
    #[error("the item was changed by another request (ETag mismatch)")]
    PreconditionFailed,
    #[error("service principal or secret '{0}' could not be found")]
    PrincipalNotFound(String),
    #[error("'{actor}' is not an owner of the service principal '{client_id}': only its owners (the principal that created it) and the bootstrap administrator may manage its secrets or delete it")]
    NotPrincipalOwner { actor: String, client_id: String },
    #[error("the bootstrap administrator's secrets and lifecycle cannot be changed through the API; on the server's machine, `keyrotor admin reset-secret` replaces its secret")]
    AdministratorManagedLocally,
    #[error("the role definition '{0}' could not be found")]
    RoleNotFound(String),
    #[error("the role assignment '{0}' could not be found")]
    RoleAssignmentNotFound(String),
    #[error("the role assignment already exists")]
    RoleAssignmentExists,
    #[error("the vault name '{0}' is already in use")]
    VaultNameTaken(String),
    #[error("the vault '{0}' could not be found")]
    VaultNotFound(String),
    #[error("the {0:?} object '{1}' could not be found")]
    ObjectNotFound(vault::Collection, String),
    #[error("'{1}' is deleted but recoverable; recover or purge it before reusing the name")]
    ObjectConflict(vault::Collection, String),
    /// A write conditional on the latest version found another one.
    #[error("'{1}' was changed by another request meanwhile")]
    ObjectChanged(vault::Collection, String),
    #[error("'{0}' is disabled")]
    ObjectDisabled(String),
    #[error("'{0}' is not valid at the current time (expired or not yet valid)")]
    ObjectNotValidNow(String),
    #[error("'{0}' is protected by purge protection until its retention period ends")]
    PurgeProtected(String),
    #[error(transparent)]
    VaultCrypto(keyrotor_crypto::vault::VaultCryptoError),
    #[error("invalid client credentials")]
    BadCredentials,
    #[error("stored key material could not be decrypted")]
    KeyMaterialUnavailable(#[source] keyrotor_crypto::Error),
    #[error("storage is temporarily unavailable")]
    Unavailable(#[source] StoreError),
    #[error("internal storage failure")]
    Storage(#[source] StoreError),
    #[error("cryptographic failure")]
    Crypto(#[source] keyrotor_crypto::Error),
    /// The change was committed, but the key ledger could not record it.
    #[error("the change was committed but the key ledger could not record it")]
    Ledger(#[source] ledger::LedgerError),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Error::Unavailable(e),
            other => Error::Storage(other),
        }
    }
}

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

/// Who asks for a mutation, recorded in the audit log.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

/// The store's change sequences as this process last saw them, and per
/// domain an epoch that moves whenever this process commits a change there
/// or sees the store's sequence move: caches compare the epoch (an atomic
/// load per request), never the store. Kept apart from the sequences so
/// that a change this process committed invalidates its caches even when
/// reading the sequence afterwards fails.
#[derive(Default)]
struct Changes {
    seen: [std::sync::atomic::AtomicU64; 5],
    epoch: [std::sync::atomic::AtomicU64; 5],
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

/// The role-assignment snapshot and the rbac epoch it was built at.
type AuthzSnapshot = Option<(u64, Arc<rbac::Authorizer>)>;

pub struct Keyrotor {
    store: Arc<dyn Store>,
    root: Arc<RootKey>,
    clock: Arc<dyn Clock>,
    /// What this process knows of the store's change sequences, and the
    /// epochs its caches compare ([`Changes`]).
    changes: Changes,
    /// Per worker thread: a shared lock word and reference count written on
    /// every data-plane role check would bounce between the cores.
    authz: keyrotor_types::PerThread<std::sync::RwLock<AuthzSnapshot>>,
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

fn key_context(account: &Account, slot: KeySlot, generation: u64) -> Vec<u8> {
    format!(
        "keyrotor/account-key/v1/{}/{}/{}",
        account.uid,
        slot.as_str(),
        generation
    )
    .into_bytes()
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
            authz: keyrotor_types::PerThread::default(),
            flushing: std::sync::Mutex::new(()),
            admin: std::sync::OnceLock::new(),
            ledger: Arc::new(ledger::MemoryLedger::default()),
            key_cache: std::sync::Mutex::new(std::collections::HashMap::new()),
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

    // ----- role-based access -------------------------------------------------

    /// The current authorization snapshot (rebuilt from the store after any
    /// change to role assignments).
    pub fn authorizer(&self) -> Result<Arc<rbac::Authorizer>> {
        if let Some(snapshot) = self.current_authz() {
            if let Some((_, a)) = snapshot.as_ref() {
                return Ok(a.clone());
            }
        }
        let epoch = self.changes.epoch(ChangeDomain::Rbac);
        let assignments = self.store.role_assignments()?;
        let admin = self.admin.get().map_or("", String::as_str);
        let a = Arc::new(rbac::Authorizer::new(admin, &assignments));
        *self
            .authz
            .local()
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((epoch, a.clone()));
        Ok(a)
    }

    /// Runs `f` with the current [`rbac::Authorizer`] without cloning its
    /// `Arc` (for per-request checks: no reference count that other cores
    /// write too).
    pub fn with_authorizer<R>(&self, f: impl FnOnce(&rbac::Authorizer) -> R) -> Result<R> {
        if let Some(snapshot) = self.current_authz() {
            if let Some((_, a)) = snapshot.as_ref() {
                return Ok(f(a));
            }
        }
        Ok(f(&*self.authorizer()?))
    }

    /// This thread's role snapshot, read-locked, when it is current.
    fn current_authz(&self) -> Option<std::sync::RwLockReadGuard<'_, AuthzSnapshot>> {
        let epoch = self.changes.epoch(ChangeDomain::Rbac);
        let snapshot = self
            .authz
            .local()
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        matches!(&*snapshot, Some((e, _)) if *e == epoch).then_some(snapshot)
    }

    /// Assigns a built-in role (by GUID or name) to a principal at a scope.
    /// `name` is the assignment's GUID. Returns the assignment and whether it
    /// was created (false: the same assignment already existed under `name`).
    pub fn create_role_assignment(
        &self,
        dir: &Directory,
        actor: &Actor,
        name: &str,
        scope: &str,
        principal_id: &str,
        role: &str,
    ) -> Result<(rbac::RoleAssignment, bool)> {
        if uuid_like(name).is_none() {
            return Err(Error::InvalidInput(
                "the role assignment name must be a GUID".into(),
            ));
        }
        let key = rbac::normalize_scope(scope)
            .filter(|k| rbac::valid_assignment_scope(k, &dir.subscription_id))
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "'{}' is not a scope of this service (/, its subscription, a resource group or a resource)",
                    scope.chars().take(200).collect::<String>()
                ))
            })?;
        // Role definition ids may be full ARM ids; the GUID is the last segment.
        let role_key = role.rsplit('/').next().unwrap_or(role);
        let def = rbac::role_by_id(role_key)
            .or_else(|| rbac::role_by_name(role))
            .ok_or_else(|| Error::RoleNotFound(role.chars().take(200).collect()))?;
        if principal_id != dir.admin_client_id && self.store.principal(principal_id)?.is_none() {
            return Err(Error::PrincipalNotFound(
                principal_id.chars().take(64).collect(),
            ));
        }
        let a = rbac::RoleAssignment {
            name: name.to_ascii_lowercase(),
            scope: scope.trim_end_matches('/').to_string(),
            principal_id: principal_id.to_string(),
            role_id: def.id.to_string(),
            created_at: self.now(),
            created_by: actor.0.clone(),
        };
        let a = if a.scope.is_empty() {
            rbac::RoleAssignment {
                scope: "/".into(),
                ..a
            }
        } else {
            a
        };
        let audit = self.audit(
            actor,
            "roleAssignment.create",
            a.name.clone(),
            format!("{} {} at {}", a.principal_id, def.name, a.scope),
        );
        match self.store.insert_role_assignment(&a, &audit) {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                // The name or the (principal, role, scope) triple is taken:
                // a repeated PUT of the same assignment is a success.
                let existing = self.store.role_assignments()?;
                if let Some(same) = existing.iter().find(|x| x.name.eq_ignore_ascii_case(name)) {
                    let unchanged = same.principal_id.eq_ignore_ascii_case(principal_id)
                        && same.role_id.eq_ignore_ascii_case(def.id)
                        && rbac::normalize_scope(&same.scope).as_deref() == Some(key.as_str());
                    return if unchanged {
                        Ok((same.clone(), false))
                    } else {
                        Err(Error::InvalidInput(
                            "role assignments cannot be updated; delete and create it again".into(),
                        ))
                    };
                }
                return Err(Error::RoleAssignmentExists);
            }
            Err(e) => return Err(e.into()),
        }
        self.bump_rbac();
        Ok((a, true))
    }

    pub fn role_assignments(&self) -> Result<Vec<rbac::RoleAssignment>> {
        Ok(self.store.role_assignments()?)
    }

    /// The assignment `name` made at `scope` (an assignment of that name at
    /// another scope is not found there, as in ARM).
    pub fn role_assignment(&self, name: &str, scope: &str) -> Result<rbac::RoleAssignment> {
        let key = rbac::normalize_scope(scope);
        self.store
            .role_assignments()?
            .into_iter()
            .find(|a| a.name.eq_ignore_ascii_case(name) && rbac::normalize_scope(&a.scope) == key)
            .ok_or_else(|| Error::RoleAssignmentNotFound(name.chars().take(64).collect()))
    }

    /// Deletes the assignment `name` at `scope`; returns it, or `None` when
    /// there was none there.
    pub fn delete_role_assignment(
        &self,
        actor: &Actor,
        name: &str,
        scope: &str,
    ) -> Result<Option<rbac::RoleAssignment>> {
        let a = match self.role_assignment(name, scope) {
            Ok(a) => a,
            Err(Error::RoleAssignmentNotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let audit = self.audit(
            actor,
            "roleAssignment.delete",
            a.name.clone(),
            format!("{} {} at {}", a.principal_id, a.role_id, a.scope),
        );
        let deleted = self.store.delete_role_assignment(&a.name, &audit)?;
        self.bump_rbac();
        Ok(deleted.then_some(a))
    }

    fn audit(&self, actor: &Actor, action: &str, target: String, detail: String) -> AuditEvent {
        AuditEvent {
            at: self.now(),
            actor: actor.0.clone(),
            action: action.to_string(),
            target,
            detail,
        }
    }

    /// Creates the tenant, subscription and administrator on first start.
    /// Returns the directory, and the administrator's credentials only when
    /// they were created by this call.
    pub fn bootstrap(&self) -> Result<(Directory, Option<NewCredentials>)> {
        // What the store's change sequences are now: later polls move the
        // epochs only for changes after this.
        self.poll_changes()?;
        let guid = || keyrotor_crypto::random_guid().map_err(Error::Crypto);
        let tenant_id = self.store.init_meta(META_TENANT, &guid()?)?;
        let sub = self.store.init_meta(META_SUBSCRIPTION, &guid()?)?;
        let subscription_id = SubscriptionId::parse(&sub)
            .map_err(|e| Error::Storage(StoreError::Corrupt(e.to_string())))?;
        let mut created = None;
        let admin = match self.store.meta(META_ADMIN)? {
            Some(id) => id,
            None => {
                let client_id = guid()?;
                let secret = keyrotor_crypto::random_secret(32).map_err(Error::Crypto)?;
                let now = self.now();
                self.store.insert_principal(
                    &Principal {
                        client_id: client_id.clone(),
                        display_name: "keyrotor bootstrap administrator".into(),
                        created_at: now,
                        owner: None,
                    },
                    &PrincipalSecret {
                        secret_id: guid()?,
                        verifier: keyrotor_crypto::sha256_hex(secret.expose().as_bytes()),
                        expires_at: None,
                    },
                    &AuditEvent {
                        at: now,
                        actor: "system".into(),
                        action: "principal.create".into(),
                        target: client_id.clone(),
                        detail: "bootstrap administrator".into(),
                    },
                )?;
                let id = self.store.init_meta(META_ADMIN, &client_id)?;
                if id == client_id {
                    created = Some(NewCredentials {
                        client_id: client_id.clone(),
                        client_secret: secret,
                    });
                }
                id
            }
        };
        let _ = self.admin.set(admin.clone());
        self.bump_rbac();
        Ok((
            Directory {
                tenant_id,
                subscription_id,
                admin_client_id: admin,
            },
            created,
        ))
    }

    /// Checks a client id and secret (client-credentials grant).
    pub fn authenticate_client(&self, client_id: &str, secret: &Secret) -> Result<Principal> {
        let verifier = keyrotor_crypto::sha256_hex(secret.expose().as_bytes());
        let found = self.store.principal(client_id)?;
        let now = self.now();
        // Compare against a dummy verifier for unknown clients so the answer
        // takes the same path either way.
        let (principal, secrets) = match found {
            Some(p) => p,
            None => {
                let _ = keyrotor_crypto::ct_eq(verifier.as_bytes(), &[b'0'; 64]);
                return Err(Error::BadCredentials);
            }
        };
        let mut ok = false;
        for s in &secrets {
            let live = s.expires_at.is_none_or(|exp| exp > now);
            ok |= keyrotor_crypto::ct_eq(verifier.as_bytes(), s.verifier.as_bytes()) && live;
        }
        if ok {
            Ok(principal)
        } else {
            Err(Error::BadCredentials)
        }
    }

    // ----- identities --------------------------------------------------------

    fn new_secret(&self, expires_at: Option<OffsetDateTime>) -> Result<(PrincipalSecret, Secret)> {
        let secret = keyrotor_crypto::random_secret(32).map_err(Error::Crypto)?;
        Ok((
            PrincipalSecret {
                secret_id: keyrotor_crypto::random_guid().map_err(Error::Crypto)?,
                verifier: keyrotor_crypto::sha256_hex(secret.expose().as_bytes()),
                expires_at,
            },
            secret,
        ))
    }

    /// Creates a service principal with one client secret; the secret exists
    /// only in the return value.
    pub fn create_principal(
        &self,
        actor: &Actor,
        display_name: &str,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<(Principal, PrincipalSecret, Secret)> {
        let name = display_name.trim();
        if name.is_empty() || name.chars().count() > 120 || name.chars().any(char::is_control) {
            return Err(Error::InvalidInput(
                "display names have 1-120 printable characters".into(),
            ));
        }
        let principal = Principal {
            client_id: keyrotor_crypto::random_guid().map_err(Error::Crypto)?,
            display_name: name.to_string(),
            created_at: self.now(),
            owner: Some(actor.0.clone()),
        };
        let (meta, secret) = self.new_secret(expires_at)?;
        let audit = self.audit(
            actor,
            "principal.create",
            principal.client_id.clone(),
            name.to_string(),
        );
        self.store.insert_principal(&principal, &meta, &audit)?;
        Ok((principal, meta, secret))
    }

    pub fn principals(&self) -> Result<Vec<(Principal, Vec<PrincipalSecret>)>> {
        Ok(self.store.principals()?)
    }

    /// Adds a client secret (for rotating a principal's secret without downtime).
    pub fn add_principal_secret(
        &self,
        actor: &Actor,
        client_id: &str,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<(PrincipalSecret, Secret)> {
        self.check_principal_owner(actor, client_id)?;
        let (meta, secret) = self.new_secret(expires_at)?;
        let audit = self.audit(
            actor,
            "principal.secret.add",
            client_id.to_string(),
            meta.secret_id.clone(),
        );
        self.store.add_principal_secret(client_id, &meta, &audit)?;
        Ok((meta, secret))
    }

    pub fn remove_principal_secret(
        &self,
        actor: &Actor,
        client_id: &str,
        secret_id: &str,
    ) -> Result<()> {
        self.check_principal_owner(actor, client_id)?;
        let audit = self.audit(
            actor,
            "principal.secret.remove",
            client_id.to_string(),
            secret_id.to_string(),
        );
        if self
            .store
            .remove_principal_secret(client_id, secret_id, &audit)?
        {
            Ok(())
        } else {
            Err(Error::PrincipalNotFound(
                format!("{client_id}/{secret_id}")
                    .chars()
                    .take(120)
                    .collect(),
            ))
        }
    }

    /// Deletes a service principal (its owners and the bootstrap
    /// administrator may); the bootstrap administrator cannot be deleted.
    pub fn delete_principal(&self, actor: &Actor, client_id: &str) -> Result<()> {
        self.check_principal_owner(actor, client_id)?;
        let audit = self.audit(
            actor,
            "principal.delete",
            client_id.to_string(),
            String::new(),
        );
        if self.store.delete_principal(client_id, &audit)? {
            self.bump_rbac();
            Ok(())
        } else {
            Err(Error::PrincipalNotFound(
                client_id.chars().take(64).collect(),
            ))
        }
    }

    /// Whether `actor` may manage the secrets of `client_id` or delete it.
    /// Credential management is a privilege of its own, never a role's (as
    /// in Azure, where it is an application-owner permission, not ARM's):
    /// a principal's owner (its creator) and the bootstrap administrator
    /// may; for the administrator itself nobody may through the API (its
    /// secret is reset locally, [`Keyrotor::reset_admin_secret`]), so no
    /// caller can take over or lock out the administrator.
    fn check_principal_owner(&self, actor: &Actor, client_id: &str) -> Result<()> {
        let admin = self.admin.get().map(String::as_str);
        if admin.is_some_and(|a| a.eq_ignore_ascii_case(client_id)) {
            return Err(Error::AdministratorManagedLocally);
        }
        let is_admin = admin.is_some_and(|a| a.eq_ignore_ascii_case(&actor.0));
        let found = self.store.principal(client_id)?;
        let is_owner = found.as_ref().is_some_and(|(p, _)| {
            p.owner
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case(&actor.0))
        });
        if found.is_none() && is_admin {
            return Err(Error::PrincipalNotFound(
                client_id.chars().take(64).collect(),
            ));
        }
        // Nobody owns a principal that does not exist: other callers learn
        // nothing about which client ids exist.
        if is_admin || is_owner {
            Ok(())
        } else {
            Err(Error::NotPrincipalOwner {
                actor: actor.0.chars().take(64).collect(),
                client_id: client_id.chars().take(64).collect(),
            })
        }
    }

    /// Break-glass recovery of a lost or leaked administrator secret, for a
    /// local command that holds the data directory and the root key (never
    /// reachable over the network): checks that the root key opens what is
    /// sealed in this database, then replaces every secret of the bootstrap
    /// administrator with a new one, in one transaction.
    pub fn reset_admin_secret(&self, actor: &Actor) -> Result<NewCredentials> {
        let admin = self.store.meta(META_ADMIN)?.ok_or_else(|| {
            Error::InvalidInput("this database has no bootstrap administrator yet".into())
        })?;
        for k in self.store.signing_keys()? {
            self.root
                .open(&signing_context(&k.kid), &k.sealed_pkcs8)
                .map_err(Error::KeyMaterialUnavailable)?;
        }
        let (meta, secret) = self.new_secret(None)?;
        let audit = self.audit(
            actor,
            "principal.secret.reset",
            admin.clone(),
            meta.secret_id.clone(),
        );
        self.store
            .replace_principal_secrets(&admin, &meta, &audit)
            .map_err(|e| match e {
                StoreError::NotFound => Error::PrincipalNotFound(admin.clone()),
                other => other.into(),
            })?;
        Ok(NewCredentials {
            client_id: admin,
            client_secret: secret,
        })
    }

    /// Adds a new token-signing key (it signs from now on) and drops keys
    /// superseded longer ago than `overlap`, so tokens they signed expire first.
    pub fn rotate_signing_key(
        &self,
        overlap: time::Duration,
        generate: impl FnOnce() -> Result<(String, Vec<u8>)>,
    ) -> Result<Vec<SigningKey>> {
        let (kid, pkcs8) = generate()?;
        let sealed = self
            .root
            .seal(&signing_context(&kid), &pkcs8)
            .map_err(Error::Crypto)?;
        let now = self.now();
        self.store.insert_signing_key(&StoredSigningKey {
            kid,
            sealed_pkcs8: sealed,
            created_at: now,
        })?;
        let stored = self.store.signing_keys()?;
        // Key i is superseded when key i+1 was created.
        for pair in stored.windows(2) {
            if now - pair[1].created_at > overlap {
                self.store.delete_signing_key(&pair[0].kid)?;
            }
        }
        self.committed(&[ChangeDomain::Signing]);
        self.signing_keys(|| Err(Error::InvalidInput("no signing key".into())))
    }

    /// Token-signing keys, creating the first one if none exists.
    pub fn signing_keys(
        &self,
        generate: impl FnOnce() -> Result<(String, Vec<u8>)>,
    ) -> Result<Vec<SigningKey>> {
        let mut stored = self.store.signing_keys()?;
        if stored.is_empty() {
            let (kid, pkcs8) = generate()?;
            let sealed = self
                .root
                .seal(&signing_context(&kid), &pkcs8)
                .map_err(Error::Crypto)?;
            self.store.insert_signing_key(&StoredSigningKey {
                kid,
                sealed_pkcs8: sealed,
                created_at: self.now(),
            })?;
            self.committed(&[ChangeDomain::Signing]);
            stored = self.store.signing_keys()?;
        }
        stored
            .into_iter()
            .map(|k| {
                let pkcs8 = self
                    .root
                    .open(&signing_context(&k.kid), &k.sealed_pkcs8)
                    .map_err(Error::KeyMaterialUnavailable)?;
                Ok(SigningKey {
                    kid: k.kid,
                    pkcs8,
                    created_at: k.created_at,
                })
            })
            .collect()
    }

    // ----- resource groups -------------------------------------------------

    fn check_subscription(&self, dir: &Directory, sub: &SubscriptionId) -> Result<()> {
        if &dir.subscription_id == sub {
            Ok(())
        } else {
            Err(Error::SubscriptionNotFound(sub.to_string()))
        }
    }

    /// Creates or updates a group; returns it and whether it was created.
    pub fn put_group(
        &self,
        dir: &Directory,
        actor: &Actor,
        sub: &SubscriptionId,
        name: &ResourceGroupName,
        location: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(ResourceGroup, bool)> {
        self.check_subscription(dir, sub)?;
        let location = normalize_location(location)?;
        let candidate = ResourceGroup {
            subscription: sub.clone(),
            name: name.clone(),
            location,
            tags,
            created_at: self.now(),
        };
        let audit = self.audit(actor, "group.put", name.to_string(), String::new());
        // One upsert: the store keeps the first spelling, the location and
        // the creation time of a group that exists, as ARM does.
        let (group, created) = self.store.put_group(&candidate, &audit)?;
        self.bump();
        Ok((group, created))
    }

    pub fn group(
        &self,
        dir: &Directory,
        sub: &SubscriptionId,
        name: &ResourceGroupName,
    ) -> Result<ResourceGroup> {
        self.check_subscription(dir, sub)?;
        self.store
            .group(sub, name)?
            .ok_or_else(|| Error::GroupNotFound(name.to_string()))
    }

    pub fn groups(&self, dir: &Directory, sub: &SubscriptionId) -> Result<Vec<ResourceGroup>> {
        self.check_subscription(dir, sub)?;
        Ok(self.store.groups(sub)?)
    }

    /// Deletes a group and every account in it.
    pub fn delete_group(
        &self,
        dir: &Directory,
        actor: &Actor,
        sub: &SubscriptionId,
        name: &ResourceGroupName,
    ) -> Result<usize> {
        self.check_subscription(dir, sub)?;
        let audit = self.audit(actor, "group.delete", name.to_string(), String::new());
        let scope = revocation_scope(&rbac::group_scope(sub, name))?;
        let retired = self
            .store
            .delete_group(sub, name, &scope, &audit)?
            .ok_or_else(|| Error::GroupNotFound(name.to_string()))?;
        self.bump();
        self.bump_rbac();
        self.ledger_retire(&retired)?;
        let accounts: std::collections::BTreeSet<&str> =
            retired.iter().map(|k| k.account_uid.as_str()).collect();
        Ok(accounts.len())
    }

    // ----- accounts --------------------------------------------------------

    /// Creates an account with freshly generated keys, or updates the
    /// properties of an existing one (keys untouched). Returns whether it was created.
    #[allow(
        clippy::too_many_arguments,
        reason = "mirrors the ARM PUT parameters one to one"
    )]
    pub fn put_account(
        &self,
        dir: &Directory,
        actor: &Actor,
        kind: AccountKind,
        sub: &SubscriptionId,
        group: &ResourceGroupName,
        name: &AccountName,
        spec: AccountSpec,
    ) -> Result<(Account, bool)> {
        self.check_subscription(dir, sub)?;
        let spec = AccountSpec {
            location: normalize_location(&spec.location)?,
            ..spec
        };
        let group = self.group(dir, sub, group)?;
        // Read, then a conditional write; a write that finds the account
        // created or deleted meanwhile (by a concurrent PUT or DELETE, on
        // this node or another) reads again, so two identical PUTs both
        // succeed, one creating and one updating.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let retry = attempts < 4;
            if let Some(existing) = self.store.account(kind, name)? {
                if existing.subscription != *sub
                    || existing.resource_group.key() != group.name.key()
                {
                    return Err(Error::NameTaken {
                        kind,
                        name: name.to_string(),
                    });
                }
                let audit = self.audit(
                    actor,
                    "account.update",
                    account_target(&existing),
                    String::new(),
                );
                match self
                    .store
                    .update_account(existing.id, &spec, self.now(), &audit)
                {
                    Ok(()) => {
                        self.bump();
                        let updated = self.account_in(dir, kind, sub, &group.name, name)?;
                        return Ok((updated, false));
                    }
                    Err(StoreError::NotFound) if retry => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            let account = self.new_account(kind, sub, &group.name, name, spec.clone())?;
            let keys = self.initial_keys(&account)?;
            let audit = self.audit(
                actor,
                "account.create",
                account_target(&account),
                String::new(),
            );
            match self.store.insert_account(&account, &keys, &audit) {
                Ok(a) => {
                    self.bump();
                    return Ok((a, true));
                }
                Err(StoreError::Conflict) if retry => continue,
                Err(StoreError::Conflict) => {
                    return Err(Error::NameTaken {
                        kind,
                        name: name.to_string(),
                    })
                }
                Err(StoreError::NotFound) => {
                    return Err(Error::GroupNotFound(group.name.to_string()))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn new_account(
        &self,
        kind: AccountKind,
        sub: &SubscriptionId,
        group: &ResourceGroupName,
        name: &AccountName,
        spec: AccountSpec,
    ) -> Result<Account> {
        let now = self.now();
        Ok(Account {
            id: 0,
            uid: keyrotor_crypto::random_guid().map_err(Error::Crypto)?,
            kind,
            subscription: sub.clone(),
            resource_group: group.clone(),
            name: name.clone(),
            location: spec.location,
            tags: spec.tags,
            document: spec.document,
            settings: spec.settings,
            created_at: now,
            updated_at: now,
        })
    }

    /// Generation 1 of every slot of a new account, sealed to it.
    fn initial_keys(&self, account: &Account) -> Result<Vec<StoredKey>> {
        let mut keys = Vec::new();
        for &slot in account.kind.slots() {
            let value =
                keyrotor_crypto::generate_account_key(account.kind).map_err(Error::Crypto)?;
            let sealed = self
                .root
                .seal_secret(&key_context(account, slot, 1), &value)
                .map_err(Error::Crypto)?;
            keys.push(StoredKey {
                slot,
                generation: 1,
                sealed,
                generated_at: account.created_at,
            });
        }
        Ok(keys)
    }

    /// The account `name` of `kind` in the given group.
    pub fn account_in(
        &self,
        dir: &Directory,
        kind: AccountKind,
        sub: &SubscriptionId,
        group: &ResourceGroupName,
        name: &AccountName,
    ) -> Result<Account> {
        self.check_subscription(dir, sub)?;
        let not_found = || Error::AccountNotFound {
            kind,
            name: name.to_string(),
        };
        let account = self.store.account(kind, name)?.ok_or_else(not_found)?;
        if account.subscription != *sub || account.resource_group.key() != group.key() {
            return Err(not_found());
        }
        Ok(account)
    }

    /// Looks an account up by its globally unique name (data-plane routing).
    pub fn account_by_name(
        &self,
        kind: AccountKind,
        name: &AccountName,
    ) -> Result<Option<Account>> {
        Ok(self.store.account(kind, name)?)
    }

    pub fn accounts(
        &self,
        dir: &Directory,
        kind: AccountKind,
        sub: &SubscriptionId,
        group: Option<&ResourceGroupName>,
    ) -> Result<Vec<Account>> {
        self.check_subscription(dir, sub)?;
        if let Some(g) = group {
            self.group(dir, sub, g)?;
        }
        Ok(self.store.accounts(sub, group, kind)?)
    }

    pub fn delete_account(&self, actor: &Actor, account: &Account) -> Result<bool> {
        let audit = self.audit(
            actor,
            "account.delete",
            account_target(account),
            String::new(),
        );
        let scope = revocation_scope(&rbac::account_scope(
            account.kind,
            &account.subscription,
            &account.resource_group,
            &account.name,
        ))?;
        let retired = self.store.delete_account(account.id, &scope, &audit)?;
        self.bump();
        self.bump_rbac();
        if let Some(keys) = &retired {
            self.ledger_retire(keys)?;
        }
        Ok(retired.is_some())
    }

    // ----- keys ------------------------------------------------------------

    /// Metadata of every key slot of the account.
    pub fn key_info(&self, account: &Account) -> Result<Vec<KeyInfo>> {
        let mut info: Vec<KeyInfo> = self
            .store
            .keys(account.id)?
            .into_iter()
            .map(|k| KeyInfo {
                slot: k.slot,
                generation: k.generation,
                generated_at: k.generated_at,
            })
            .collect();
        info.sort_by_key(|k| k.slot);
        Ok(info)
    }

    /// Every key of the account, decrypted, in slot order.
    pub fn list_keys(&self, account: &Account) -> Result<Vec<AccountKey>> {
        let mut keys = self
            .store
            .keys(account.id)?
            .into_iter()
            .map(|k| {
                let value = self
                    .root
                    .open_secret(&key_context(account, k.slot, k.generation), &k.sealed)
                    .map_err(Error::KeyMaterialUnavailable)?;
                Ok(AccountKey {
                    slot: k.slot,
                    value,
                    generation: k.generation,
                    generated_at: k.generated_at,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        keys.sort_by_key(|k| k.slot);
        Ok(keys)
    }

    /// Replaces the value of one key slot. The other slots are untouched; the
    /// old value is gone once this returns.
    pub fn regenerate_key(
        &self,
        actor: &Actor,
        account: &Account,
        slot: KeySlot,
    ) -> Result<AccountKey> {
        if !account.kind.has_slot(slot) {
            return Err(Error::NoSuchKey {
                kind: account.kind,
                slot,
            });
        }
        let audit = self.audit(
            actor,
            "key.regenerate",
            account_target(account),
            slot.as_str().to_string(),
        );
        let not_found = || Error::AccountNotFound {
            kind: account.kind,
            name: account.name.to_string(),
        };
        // Compare-and-set on the slot's generation: a regeneration that
        // loses a race to another (on this node or another) reads the new
        // state and goes again, so each acknowledged call replaced a value.
        let mut attempts = 0;
        let stored = loop {
            attempts += 1;
            let current = self
                .store
                .keys(account.id)?
                .into_iter()
                .find(|k| k.slot == slot)
                .ok_or_else(not_found)?;
            let current_value = self
                .root
                .open_secret(
                    &key_context(account, slot, current.generation),
                    &current.sealed,
                )
                .map_err(Error::KeyMaterialUnavailable)?;
            // Above anything the ledger knows: after a restore, the slot's
            // next generation is one never used before.
            let floor = self.ledger.latest(&account.uid, slot).unwrap_or(0);
            let generation = current
                .generation
                .max(floor)
                .checked_add(1)
                .ok_or_else(|| Error::Storage(StoreError::Corrupt("key generation".into())))?;
            // A fresh value never equals the value it replaces.
            let value = loop {
                let v =
                    keyrotor_crypto::generate_account_key(account.kind).map_err(Error::Crypto)?;
                if v != current_value {
                    break v;
                }
            };
            let key = StoredKey {
                slot,
                generation,
                sealed: self
                    .root
                    .seal_secret(&key_context(account, slot, generation), &value)
                    .map_err(Error::Crypto)?,
                generated_at: self.now(),
            };
            match self
                .store
                .rotate_key(account.id, current.generation, &key, &audit)
            {
                Ok(()) => break key,
                Err(StoreError::PreconditionFailed) if attempts < 8 => continue,
                Err(StoreError::PreconditionFailed) => {
                    return Err(Error::Unavailable(StoreError::Unavailable(
                        "the key kept changing under concurrent regenerations".into(),
                    )))
                }
                Err(StoreError::NotFound) => return Err(not_found()),
                Err(e) => return Err(e.into()),
            }
        };
        // Before the caller answers: the very next request sees the new key.
        self.bump();
        tracing::info!(account = %account_target(account), slot = %slot, generation = stored.generation, "key regenerated");
        // Acknowledged only once the ledger knows it (an unacknowledged
        // regeneration that stands is what a crash after the commit leaves
        // too: the caller sees an error and the new key is in listKeys).
        self.ledger
            .record(&[ledger::LedgerEntry {
                account_uid: account.uid.clone(),
                slot,
                generation: stored.generation,
            }])
            .map_err(|e| {
                tracing::error!(account = %account_target(account), slot = %slot, error = %e, "key regenerated but not recorded in the key ledger");
                Error::Ledger(e)
            })?;
        // The value this transaction wrote, opened from the row it stored:
        // never a read-back, which a concurrent regeneration of the same
        // slot could have replaced already.
        let value = self
            .root
            .open_secret(
                &key_context(account, slot, stored.generation),
                &stored.sealed,
            )
            .map_err(Error::KeyMaterialUnavailable)?;
        Ok(AccountKey {
            slot,
            value,
            generation: stored.generation,
            generated_at: stored.generated_at,
        })
    }

    // ----- usage -----------------------------------------------------------

    /// Writes what the recorder accumulated; on failure puts it back. One
    /// flush at a time: a caller that flushes before reading usage sees
    /// everything recorded before its call, even with a flush in flight.
    pub fn flush_usage(&self, recorder: &UsageRecorder) -> Result<usize> {
        let _one_at_a_time = self
            .flushing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let deltas = recorder.drain();
        if deltas.is_empty() {
            return Ok(0);
        }
        let prune = self.now().unix_timestamp() - usage::RETENTION_DAYS * 86_400;
        match self.store.apply_usage(&deltas, prune) {
            Ok(()) => Ok(deltas.len()),
            Err(e) => {
                recorder.restore(deltas);
                Err(e.into())
            }
        }
    }

    /// Usage of each key slot of the account. Last use and clients refer to
    /// the slot's current key value; hourly counts cover the slot.
    pub fn key_usage(&self, account: &Account) -> Result<Vec<KeyUsage>> {
        let info = self.key_info(account)?;
        let stored = self.store.usage(account.id)?;
        let ts = |s: i64| OffsetDateTime::from_unix_timestamp(s).ok();
        Ok(info
            .iter()
            .map(|k| {
                let u = stored.iter().find(|u| u.slot == k.slot);
                let current = u.filter(|u| u.generation == k.generation);
                KeyUsage {
                    slot: k.slot,
                    generation: k.generation,
                    would_reject: u.map_or(0, |u| u.would_reject),
                    last_used: current.and_then(|u| u.last_used).and_then(ts),
                    hourly: u
                        .map(|u| {
                            u.hourly
                                .iter()
                                .filter_map(|(h, n)| ts(*h).map(|t| (t, *n)))
                                .collect()
                        })
                        .unwrap_or_default(),
                    clients: current
                        .map(|u| {
                            u.clients
                                .iter()
                                .filter_map(|c| {
                                    ts(c.last_seen).map(|t| {
                                        (c.user_agent.clone(), c.address.clone(), t, c.requests)
                                    })
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            })
            .collect())
    }

    // ----- data-plane items -------------------------------------------------

    pub fn item_put(
        &self,
        account: &Account,
        collection: &str,
        id: &str,
        body: &str,
        mode: &PutMode,
    ) -> Result<DataItem> {
        self.store
            .item_put(
                account.id,
                collection,
                id,
                body,
                mode,
                self.now().unix_timestamp(),
            )
            .map_err(item_error)
    }

    pub fn item(&self, account: &Account, collection: &str, id: &str) -> Result<Option<DataItem>> {
        Ok(self.store.item(account.id, collection, id)?)
    }

    pub fn items(&self, account: &Account, collection: &str) -> Result<Vec<DataItem>> {
        Ok(self.store.items(account.id, collection)?)
    }

    pub fn item_delete(
        &self,
        account: &Account,
        collection: &str,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<bool> {
        self.store
            .item_delete(account.id, collection, id, if_match)
            .map_err(item_error)
    }

    pub fn items_delete_under(&self, account: &Account, prefix: &str) -> Result<u64> {
        Ok(self.store.items_delete_under(account.id, prefix)?)
    }

    pub fn audit_events(&self, limit: usize) -> Result<Vec<AuditEvent>> {
        Ok(self.store.audit_events(limit)?)
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
