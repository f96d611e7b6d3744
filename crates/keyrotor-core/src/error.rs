//! The domain errors; the wire layers map each to a status code in one
//! exhaustive table.

use super::*;

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
    /// The caller is no principal of the directory (deleted since its
    /// token was issued): it may not read the directory.
    #[error("'{0}' is not a principal of this directory")]
    NotInDirectory(String),
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
    /// What the request acts on was deleted by another request meanwhile.
    #[error("the resource was deleted by another request meanwhile")]
    Gone,
    /// What the request acts on was changed (or created) by another request
    /// meanwhile; a retry reads the new state.
    #[error("the resource was changed by another request meanwhile; retry the request")]
    ChangedMeanwhile,
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

/// By default a store refusal is a concurrent change the caller can see
/// (404 or 409), never a server fault: a use-case that knows which resource
/// it was maps it more precisely before this applies.
impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Error::Unavailable(e),
            StoreError::NotFound => Error::Gone,
            StoreError::Conflict | StoreError::PreconditionFailed => Error::ChangedMeanwhile,
            StoreError::Corrupt(_) | StoreError::Backend(_) => Error::Storage(e),
        }
    }
}
