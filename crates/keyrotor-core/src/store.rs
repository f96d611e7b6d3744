//! The storage seam. Backends (SQLite now, PostgreSQL later) implement
//! [`Store`]; the core never names a database.

use std::collections::BTreeMap;

use keyrotor_types::{AccountKind, AccountName, KeySlot, ResourceGroupName, SubscriptionId};
use time::OffsetDateTime;

pub type StoreResult<T> = std::result::Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated (the name is taken).
    #[error("already exists")]
    Conflict,
    /// The row to change does not exist (any more).
    #[error("not found")]
    NotFound,
    /// The backend is temporarily unable to answer (locked, unreachable).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A conditional write found another version (an ETag, a key's
    /// generation or an object's latest version moved meanwhile).
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("storage failure: {0}")]
    Backend(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceGroup {
    pub subscription: SubscriptionId,
    pub name: ResourceGroupName,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub created_at: OffsetDateTime,
}

/// An account as stored. `document` is the wire layer's opaque record of the
/// client-supplied properties (kept verbatim so reads echo what was written);
/// the core never interprets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    /// Random identifier, never reused, bound into every sealed key.
    pub uid: String,
    pub kind: AccountKind,
    pub subscription: SubscriptionId,
    pub resource_group: ResourceGroupName,
    pub name: AccountName,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub document: String,
    pub settings: AccountSettings,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Account settings keyrotor itself acts on (the rest of the client's
/// properties live in the opaque `document`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountSettings {
    /// Refuse key authentication on the data plane (`disableLocalAuth`).
    pub disable_local_auth: bool,
    /// Base URL the AI Services data plane forwards authenticated requests to.
    pub upstream: Option<String>,
    /// When set, regenerating a key used within this many minutes is refused (409).
    pub regeneration_guard_minutes: Option<u32>,
    /// With `disable_local_auth`: do not refuse key requests yet, count them
    /// as "would be rejected" (report-only mode).
    pub local_auth_report_only: bool,
    /// Break-glass: key authentication works again until this time (Unix
    /// seconds), then the disabled state applies again by itself.
    pub local_auth_reenabled_until: Option<i64>,
}

/// What the data plane does with a key-authenticated request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalAuth {
    Allowed,
    /// Allowed, but counted as a request that disabling would break.
    WouldReject,
    Refused,
}

/// The key-auth state of an account as people and ARM clients see it: the
/// configured switch together with an active break-glass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalAuthMode {
    /// Key authentication is on.
    Enabled,
    /// Switched off: key requests are refused.
    Disabled,
    /// Switched off in report-only mode: key requests succeed and are
    /// counted as "would be rejected".
    ReportOnly,
    /// Switched off, but re-enabled by break-glass until this time (Unix
    /// seconds); then the switched-off state applies again by itself.
    TemporarilyEnabled { until: i64 },
}

impl LocalAuthMode {
    /// Whether key requests succeed in this mode.
    pub fn accepts_keys(self) -> bool {
        !matches!(self, LocalAuthMode::Disabled)
    }

    /// Whether the configured switch is off (break-glass or not).
    pub fn switched_off(self) -> bool {
        !matches!(self, LocalAuthMode::Enabled)
    }
}

impl AccountSettings {
    /// The key-auth mode at `now` (Unix seconds).
    pub fn local_auth_mode(&self, now: i64) -> LocalAuthMode {
        match self.local_auth_reenabled_until {
            _ if !self.disable_local_auth => LocalAuthMode::Enabled,
            Some(until) if until > now => LocalAuthMode::TemporarilyEnabled { until },
            _ if self.local_auth_report_only => LocalAuthMode::ReportOnly,
            _ => LocalAuthMode::Disabled,
        }
    }

    /// How key authentication is treated at `now` (Unix seconds).
    pub fn local_auth(&self, now: i64) -> LocalAuth {
        match self.local_auth_mode(now) {
            LocalAuthMode::Enabled | LocalAuthMode::TemporarilyEnabled { .. } => LocalAuth::Allowed,
            LocalAuthMode::ReportOnly => LocalAuth::WouldReject,
            LocalAuthMode::Disabled => LocalAuth::Refused,
        }
    }
}

/// Fields of an account to create or replace.
#[derive(Debug, Clone)]
pub struct AccountSpec {
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub document: String,
    pub settings: AccountSettings,
}

/// One sealed key slot as stored: its value sealed under a data key of
/// the account (`dek_id`), bound to account, slot and generation.
#[derive(Clone)]
pub struct StoredKey {
    pub slot: KeySlot,
    /// Strictly increases with each regeneration of the slot; 1 at creation.
    pub generation: u64,
    /// The data key that sealed `sealed`.
    pub dek_id: String,
    pub sealed: Vec<u8>,
    pub generated_at: OffsetDateTime,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("slot", &self.slot)
            .field("generation", &self.generation)
            .field("dek_id", &self.dek_id)
            .field("generated_at", &self.generated_at)
            .finish_non_exhaustive()
    }
}

/// What wraps a data key. Service-managed keys only, for now; a vault key
/// version (customer-managed keys) is another variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WrappedBy {
    /// The service root key, by its public id.
    Service { root_key_id: String },
}

/// A data key (DEK) of an account as stored: only wrapped. Immutable once
/// written (except, later, its wrapping); never reused by another account
/// (the wrapping binds account uid and key id).
#[derive(Clone, PartialEq, Eq)]
pub struct StoredDek {
    /// Random, store-wide unique.
    pub id: String,
    pub wrapped: Vec<u8>,
    pub wrapped_by: WrappedBy,
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for StoredDek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredDek")
            .field("id", &self.id)
            .field("wrapped_by", &self.wrapped_by)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// The data keys of one account, oldest first, and the one that seals new
/// writes (`None` only for an account that has none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountDeks {
    pub current: Option<String>,
    pub deks: Vec<StoredDek>,
}

/// One activity-log entry: exactly one per acknowledged mutation, written in
/// the mutation's transaction; also one per key read and per refused change
/// (`crate::activity`). Never holds key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: OffsetDateTime,
    /// Who: a principal's object/client id, or `keyrotor` for automatic actions.
    pub actor: String,
    /// keyrotor's own name of the action (`key.regenerate`).
    pub action: String,
    pub target: String,
    pub detail: String,
    /// The operation in Azure's form (`Microsoft.DocumentDB/databaseAccounts/regenerateKey/action`).
    pub operation: String,
    /// The ARM resource id (or keyrotor's target when it has none).
    pub resource_id: String,
    pub status: crate::activity::ActivityStatus,
    /// The HTTP status answered, when the entry records a request that failed
    /// or read (mutations record `None`: the change is what is recorded).
    pub http_status: Option<u16>,
    /// The request's correlation id, or a generated one.
    pub correlation_id: String,
}

/// What a cache depends on, by domain; each has a change sequence in the
/// store, moved in the same transaction as every change to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeDomain {
    /// Groups, accounts and their keys (the data planes' account cache).
    Accounts,
    /// Role assignments, and the deletions that revoke them.
    Rbac,
    /// Service principals and their secrets.
    Identity,
    /// Token-signing keys (the token issuer).
    Signing,
    /// Vaults, their objects and rotation policies.
    Vaults,
    /// Accounts' data keys: a new one, which one is current, their removal
    /// (the unwrapped data-key cache).
    Deks,
}

impl ChangeDomain {
    pub const ALL: [ChangeDomain; 6] = [
        ChangeDomain::Accounts,
        ChangeDomain::Rbac,
        ChangeDomain::Identity,
        ChangeDomain::Signing,
        ChangeDomain::Vaults,
        ChangeDomain::Deks,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeDomain::Accounts => "accounts",
            ChangeDomain::Rbac => "rbac",
            ChangeDomain::Identity => "identity",
            ChangeDomain::Signing => "signing",
            ChangeDomain::Vaults => "vaults",
            ChangeDomain::Deks => "deks",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    pub fn index(self) -> usize {
        match self {
            ChangeDomain::Accounts => 0,
            ChangeDomain::Rbac => 1,
            ChangeDomain::Identity => 2,
            ChangeDomain::Signing => 3,
            ChangeDomain::Vaults => 4,
            ChangeDomain::Deks => 5,
        }
    }
}

/// The store's change sequences, one per [`ChangeDomain`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeSeqs([u64; ChangeDomain::ALL.len()]);

impl ChangeSeqs {
    pub fn get(&self, d: ChangeDomain) -> u64 {
        self.0[d.index()]
    }

    pub fn set(&mut self, d: ChangeDomain, seq: u64) {
        self.0[d.index()] = seq;
    }
}

/// A key slot of a deleted account, as it was when deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredKey {
    pub account_uid: String,
    pub slot: KeySlot,
    pub generation: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub client_id: String,
    pub display_name: String,
    pub created_at: OffsetDateTime,
    /// The principal that created it, which may manage its secrets and
    /// delete it (with the bootstrap administrator). `None` for the
    /// administrator and for principals from before owners were recorded.
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalSecret {
    pub secret_id: String,
    /// SHA-256 (hex) of the secret; secrets are 256-bit random, so an unsalted
    /// digest is a sufficient verifier.
    pub verifier: String,
    pub expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// When it last signed in, to about a minute
    /// ([`crate::SECRET_USE_RESOLUTION`]); `None` if never.
    pub last_used_at: Option<OffsetDateTime>,
}

#[derive(Clone)]
pub struct StoredSigningKey {
    pub kid: String,
    pub sealed_pkcs8: Vec<u8>,
    pub created_at: OffsetDateTime,
}

/// One stored data-plane item (a Cosmos database, container or document, a
/// Batch pool, ...): the wire layer's JSON text, sealed under a data key of
/// the account (`dek_id`), bound to account, collection and id. Collection
/// and id are routing metadata, stored in clear (they are the lookup key).
#[derive(Clone, PartialEq, Eq)]
pub struct StoredItem {
    pub collection: String,
    pub id: String,
    /// The data key that sealed `sealed`.
    pub dek_id: String,
    pub sealed: Vec<u8>,
    pub etag: String,
    /// Unix seconds of the last write.
    pub ts: i64,
    /// Store-wide unique, increasing number (basis of resource ids).
    pub seq: i64,
}

impl std::fmt::Debug for StoredItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredItem")
            .field("collection", &self.collection)
            .field("id", &self.id)
            .field("dek_id", &self.dek_id)
            .field("etag", &self.etag)
            .finish_non_exhaustive()
    }
}

/// What an item write stored besides the sealed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemVersion {
    pub etag: String,
    /// Unix seconds of the write.
    pub ts: i64,
    pub seq: i64,
}

/// A record sealed under a data key, as handed to the store.
#[derive(Clone, Copy)]
pub struct Sealed<'a> {
    pub dek_id: &'a str,
    pub blob: &'a [u8],
}

/// How an item write treats an existing item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutMode {
    /// Fails with `Conflict` if the item exists.
    Create,
    /// Fails with `NotFound` if absent, `PreconditionFailed` if `if_match` differs.
    Replace { if_match: Option<String> },
    /// Creates or replaces (`PreconditionFailed` if `if_match` is given and differs).
    Upsert { if_match: Option<String> },
}

/// What an object write expects of the versions already stored. Every
/// write is refused (`Conflict`) while the object has a deleted version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatestVersion<'a> {
    /// Any (a new version is added whatever the latest is).
    Any,
    /// The latest version must still be this one (`None`: no version yet);
    /// otherwise `PreconditionFailed`. What makes two rotation runners on
    /// one database add one version, not two.
    Is(Option<&'a str>),
}

/// Store-wide settings, change sequences and the audit trail.
pub trait MetaStore {
    /// The change sequences (every node reads the same ones).
    fn change_seqs(&self) -> StoreResult<ChangeSeqs>;

    fn meta(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets `key` unless present; returns the value in force afterwards.
    fn init_meta(&self, key: &str, value: &str) -> StoreResult<String>;

    /// The newest `limit` audit records, newest first.
    fn audit_events(&self, limit: usize) -> StoreResult<Vec<AuditEvent>>;

    /// Appends an activity entry that goes with no change (a key read, a
    /// refused change), chained like every other, in its own transaction.
    fn append_activity(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Entries with `from <= at <= to` (either bound optional), oldest first.
    fn activity_between(
        &self,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
    ) -> StoreResult<Vec<crate::activity::ActivityRecord>>;
    /// [`MetaStore::append_activity`] unless an entry with the same action,
    /// target and detail exists, decided in the appending transaction (so
    /// two processes record an automatic action once). True if appended.
    fn append_activity_once(&self, event: &AuditEvent) -> StoreResult<bool>;
    /// The chain as stored, for verification.
    fn activity_chain(&self) -> StoreResult<crate::activity::ActivityChain>;
    /// Removes the entries older than `before`, keeping the hash of the
    /// newest one removed as the chain's new anchor, in one transaction.
    /// Returns how many were removed.
    fn prune_activity(&self, before: OffsetDateTime) -> StoreResult<u64>;
}

/// Resource groups.
pub trait GroupStore {
    /// Creates the group, or replaces the tags of the one stored (its first
    /// spelling, location and creation time stay). Returns the group as
    /// stored afterwards and whether this call created it.
    fn put_group(
        &self,
        group: &ResourceGroup,
        audit: &AuditEvent,
    ) -> StoreResult<(ResourceGroup, bool)>;
    fn group(
        &self,
        sub: &SubscriptionId,
        name: &ResourceGroupName,
    ) -> StoreResult<Option<ResourceGroup>>;
    fn groups(&self, sub: &SubscriptionId) -> StoreResult<Vec<ResourceGroup>>;
    /// Deletes the group, its accounts, and the role assignments at or below
    /// `scope_key` (the group's normalized scope), and soft-deletes its
    /// vaults, in one transaction. Returns the key slots of the accounts it
    /// removed, read in the same transaction (for the key ledger); `None`
    /// if there is no such group.
    fn delete_group(
        &self,
        sub: &SubscriptionId,
        name: &ResourceGroupName,
        scope_key: &str,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Vec<RetiredKey>>>;
}

/// Accounts and their key slots.
pub trait AccountStore {
    /// Creates an account with its first data key (current) and its
    /// initial keys sealed under it. `Conflict` if the name is taken for
    /// that kind; `NotFound` if the group does not exist.
    fn insert_account(
        &self,
        account: &Account,
        dek: &StoredDek,
        keys: &[StoredKey],
        audit: &AuditEvent,
    ) -> StoreResult<Account>;
    /// `NotFound` if the account is gone.
    fn update_account(
        &self,
        id: i64,
        spec: &AccountSpec,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    fn account(&self, kind: AccountKind, name: &AccountName) -> StoreResult<Option<Account>>;
    fn accounts(
        &self,
        sub: &SubscriptionId,
        group: Option<&ResourceGroupName>,
        kind: AccountKind,
    ) -> StoreResult<Vec<Account>>;
    /// Deletes the account and the role assignments at or below `scope_key`
    /// (its normalized scope), in one transaction. Returns its key slots as
    /// they were when deleted, `None` if there was no such account.
    fn delete_account(
        &self,
        id: i64,
        scope_key: &str,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Vec<RetiredKey>>>;

    fn keys(&self, account_id: i64) -> StoreResult<Vec<StoredKey>>;
    /// Replaces one slot's value if its generation is still `expected`
    /// (compare-and-set): `PreconditionFailed` if another regeneration came
    /// first, `NotFound` if the account or slot is gone. `key.generation`
    /// must be above `expected`. The old value is overwritten and
    /// unrecoverable once this returns Ok.
    fn rotate_key(
        &self,
        account_id: i64,
        expected: u64,
        key: &StoredKey,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
}

/// Accounts' data keys (envelope encryption).
pub trait DekStore {
    /// The account's data keys and which one is current (empty if the
    /// account is gone).
    fn deks(&self, account_id: i64) -> StoreResult<AccountDeks>;
    /// Adds a data key to the account; with `make_current`, new writes are
    /// sealed under it from now on (records sealed under the others stay
    /// as they are). Moves the `Deks` change sequence. `NotFound` if the
    /// account is gone, `Conflict` if the id is taken.
    fn insert_dek(
        &self,
        account_id: i64,
        dek: &StoredDek,
        make_current: bool,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
}

/// Service principals, their secrets, and the token-signing keys.
pub trait IdentityStore {
    /// `Conflict` if the client id is taken.
    fn insert_principal(
        &self,
        p: &Principal,
        secret: &PrincipalSecret,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    fn principal(&self, client_id: &str) -> StoreResult<Option<(Principal, Vec<PrincipalSecret>)>>;
    fn principals(&self) -> StoreResult<Vec<(Principal, Vec<PrincipalSecret>)>>;
    /// `NotFound` if the principal does not exist.
    fn add_principal_secret(
        &self,
        client_id: &str,
        secret: &PrincipalSecret,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    fn remove_principal_secret(
        &self,
        client_id: &str,
        secret_id: &str,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Replaces every secret of a principal with one (break-glass recovery).
    /// `NotFound` if the principal does not exist.
    fn replace_principal_secrets(
        &self,
        client_id: &str,
        secret: &PrincipalSecret,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Records that a secret signed in at `at`: its last use becomes `at`
    /// unless it is later already (never decreases). A secret or principal
    /// that is gone is no error (nothing to record).
    fn record_secret_use(
        &self,
        client_id: &str,
        secret_id: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Deletes the principal, its role assignments and what it owns the
    /// management of; false if there was none.
    fn delete_principal(&self, client_id: &str, audit: &AuditEvent) -> StoreResult<bool>;

    fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>>;
    /// `Conflict` if the key id is taken.
    fn insert_signing_key(&self, key: &StoredSigningKey) -> StoreResult<()>;
    fn delete_signing_key(&self, kid: &str) -> StoreResult<()>;
}

/// Role assignments.
pub trait RbacStore {
    /// Conflict when the name is taken or the same (principal, role, scope)
    /// is already assigned.
    fn insert_role_assignment(
        &self,
        a: &crate::rbac::RoleAssignment,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    fn role_assignments(&self) -> StoreResult<Vec<crate::rbac::RoleAssignment>>;
    /// By name (case-insensitive); false if there was none.
    fn delete_role_assignment(&self, name: &str, audit: &AuditEvent) -> StoreResult<bool>;
}

/// A stored rotation policy: the core's text, and when it was first set and
/// last changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    pub vault_id: i64,
    pub name_key: String,
    pub text: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Key vaults, their objects (every version) and key rotation policies.
pub trait VaultStore {
    /// Inserts a vault; Conflict when the name (case-insensitive) is taken.
    fn insert_vault(&self, v: &crate::vault::Vault, audit: &AuditEvent) -> StoreResult<i64>;
    /// Replaces tags, document, purge protection and `updated_at` of a live
    /// vault if it is still as read (`updated_at` = `read_at`: a
    /// compare-and-set, so a rule checked against the read, such as "purge
    /// protection is never turned off", holds); `PreconditionFailed` if it
    /// changed since, `NotFound` if it is gone or deleted.
    fn update_vault(
        &self,
        v: &crate::vault::Vault,
        read_at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// By lower-case name, live or soft-deleted.
    fn vault(&self, name_key: &str) -> StoreResult<Option<crate::vault::Vault>>;
    fn vaults(&self) -> StoreResult<Vec<crate::vault::Vault>>;
    /// Soft-deletes (`Some`) or recovers (`None`) a vault; false if no
    /// vault changed (gone, or already in that state).
    fn set_vault_deleted(
        &self,
        id: i64,
        deleted_at: Option<OffsetDateTime>,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Removes the vault and all its objects, only if it is still the
    /// deletion of `deleted_at` (a concurrent recover, or a recover and a
    /// new delete, wins). False if nothing was purged.
    fn purge_vault(
        &self,
        id: i64,
        deleted_at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Adds a version. `Conflict` if the version exists or the object has a
    /// deleted version; `PreconditionFailed` if `latest` does not hold.
    fn insert_vault_object(
        &self,
        o: &crate::vault::VaultObject,
        latest: LatestVersion<'_>,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Versions of one object (`name_key`) or of all, oldest first.
    fn vault_objects(
        &self,
        vault_id: i64,
        c: crate::vault::Collection,
        name_key: Option<&str>,
    ) -> StoreResult<Vec<crate::vault::VaultObject>>;
    /// Replaces attributes and document of a live version; `NotFound` if
    /// it is gone or deleted.
    fn update_vault_object(
        &self,
        o: &crate::vault::VaultObject,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Soft-deletes (`Some`) or recovers (`None`) every version of an
    /// object; false if no version changed.
    fn set_objects_deleted(
        &self,
        vault_id: i64,
        c: crate::vault::Collection,
        name_key: &str,
        deleted_at: Option<OffsetDateTime>,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Removes every version of an object (and a key's rotation policy),
    /// only if it is still deleted; false if nothing was purged.
    fn purge_objects(
        &self,
        vault_id: i64,
        c: crate::vault::Collection,
        name_key: &str,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Sets a key's policy text; the first time also sets its creation
    /// time. Returns the creation time in force.
    fn put_rotation_policy(
        &self,
        vault_id: i64,
        name_key: &str,
        policy: &str,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<OffsetDateTime>;
    fn rotation_policy(&self, vault_id: i64, name_key: &str) -> StoreResult<Option<StoredPolicy>>;
    /// Every policy, by vault and key name.
    fn rotation_policies(&self) -> StoreResult<Vec<StoredPolicy>>;
}

/// Key usage evidence.
pub trait UsageStore {
    /// Adds usage deltas; drops hourly counts and clients older than
    /// `prune_before` (Unix seconds).
    fn apply_usage(
        &self,
        deltas: &[crate::usage::UsageDelta],
        prune_before: i64,
    ) -> StoreResult<()>;
    /// Per slot, the usage of the generation last recorded for it (last
    /// use and clients of that generation; hourly counts of the slot).
    fn usage(&self, account_id: i64) -> StoreResult<Vec<crate::usage::KeyUsage>>;
}

/// Data-plane items (Cosmos resources, Batch pools and jobs, ...), sealed
/// by the core before they reach the store.
pub trait ItemStore {
    /// Writes a sealed body; `NotFound` also when the account is gone.
    fn item_put(
        &self,
        account_id: i64,
        collection: &str,
        id: &str,
        body: Sealed<'_>,
        mode: &PutMode,
        ts: i64,
    ) -> StoreResult<ItemVersion>;
    fn item(&self, account_id: i64, collection: &str, id: &str) -> StoreResult<Option<StoredItem>>;
    fn items(&self, account_id: i64, collection: &str) -> StoreResult<Vec<StoredItem>>;
    /// False if there was no such item; `PreconditionFailed` if `if_match`
    /// differs.
    fn item_delete(
        &self,
        account_id: i64,
        collection: &str,
        id: &str,
        if_match: Option<&str>,
    ) -> StoreResult<bool>;
    /// Deletes every item whose collection is `prefix` or under `prefix/`;
    /// returns how many.
    fn items_delete_under(&self, account_id: i64, prefix: &str) -> StoreResult<u64>;
}

/// Persistent state: one trait per aggregate, so a backend can be written
/// (and tested with the shared suite) one aggregate at a time. Every method
/// is one atomic transaction; a mutation that carries an [`AuditEvent`]
/// writes it in the same transaction, and every mutation moves the change
/// sequence of each [`ChangeDomain`] it touches in that transaction.
pub trait Store:
    MetaStore
    + GroupStore
    + AccountStore
    + DekStore
    + IdentityStore
    + RbacStore
    + VaultStore
    + UsageStore
    + ItemStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: MetaStore
        + GroupStore
        + AccountStore
        + DekStore
        + IdentityStore
        + RbacStore
        + VaultStore
        + UsageStore
        + ItemStore
        + Send
        + Sync
        + 'static
{
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_auth_modes_follow_the_switch_report_only_and_break_glass() {
        let off = AccountSettings {
            disable_local_auth: true,
            ..AccountSettings::default()
        };
        let now = 1_000;
        assert_eq!(
            AccountSettings::default().local_auth_mode(now),
            LocalAuthMode::Enabled
        );
        assert_eq!(off.local_auth_mode(now), LocalAuthMode::Disabled);
        let report = AccountSettings {
            local_auth_report_only: true,
            ..off.clone()
        };
        assert_eq!(report.local_auth_mode(now), LocalAuthMode::ReportOnly);
        for base in [&off, &report] {
            let glass = AccountSettings {
                local_auth_reenabled_until: Some(now + 60),
                ..base.clone()
            };
            assert_eq!(
                glass.local_auth_mode(now),
                LocalAuthMode::TemporarilyEnabled { until: now + 60 }
            );
            assert_eq!(glass.local_auth(now), LocalAuth::Allowed);
            // At the end, the switched-off state is back by itself.
            assert_eq!(glass.local_auth_mode(now + 60), base.local_auth_mode(now));
        }
        // A break-glass end on an account whose switch is on changes nothing.
        let on = AccountSettings {
            local_auth_reenabled_until: Some(now + 60),
            ..AccountSettings::default()
        };
        assert_eq!(on.local_auth_mode(now), LocalAuthMode::Enabled);
        assert_eq!(off.local_auth(now), LocalAuth::Refused);
        assert_eq!(report.local_auth(now), LocalAuth::WouldReject);
    }
}
