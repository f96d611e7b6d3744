//! Test set-up shared by keyrotor's crates, and the store conformance
//! suite.
//!
//! [`Env`] is a bootstrapped [`Keyrotor`] over any [`Store`], with helpers
//! for the groups, accounts and vaults most tests need; [`store_suite!`]
//! expands to one `#[test]` per case of [`suite`], run by every backend
//! with its own `make_store`.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a failed set-up step is a failed test"
)]

pub mod suite;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use keyrotor_core::ledger::{KeyLedger, MemoryLedger};
use keyrotor_core::vault::{Vault, VaultSettings, VaultSpec};
use keyrotor_core::{Account, AccountSpec, Actor, Directory, Keyrotor, Store};
use keyrotor_crypto::RootKey;
use keyrotor_types::{AccountKind, AccountName, Clock, KeySlot, ResourceGroupName, VaultName};
use time::OffsetDateTime;

/// Opens a store on the database at a path (created on first use; a second
/// call with the same path is a second client of the same database).
pub type MakeStore<'a> = &'a dyn Fn(&Path) -> Arc<dyn Store>;

/// A clock that moves one millisecond each time it is read, so that every
/// event has its own time.
pub struct TickingClock(Mutex<OffsetDateTime>);

impl TickingClock {
    pub fn new() -> Self {
        Self(Mutex::new(OffsetDateTime::now_utc()))
    }
}

impl TickingClock {
    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: time::Duration) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }
}

impl Default for TickingClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TickingClock {
    fn now(&self) -> OffsetDateTime {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += time::Duration::milliseconds(1);
        *t
    }
}

/// The root key every test core uses (tests that reopen a database must
/// use the same one).
pub const ROOT_KEY: [u8; 32] = [7u8; 32];

pub fn root_key() -> Arc<RootKey> {
    Arc::new(RootKey::from_bytes(&ROOT_KEY).expect("root key"))
}

/// A bootstrapped core and its directory.
pub struct Env {
    pub core: Arc<Keyrotor>,
    pub dir: Directory,
}

impl Env {
    /// A core over `store` with a ticking clock and an in-memory ledger.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_ledger(store, Arc::new(MemoryLedger::default()))
    }

    pub fn with_ledger(store: Arc<dyn Store>, ledger: Arc<dyn KeyLedger>) -> Self {
        Self::with_clock(store, ledger, Arc::new(TickingClock::new()))
    }

    pub fn with_clock(
        store: Arc<dyn Store>,
        ledger: Arc<dyn KeyLedger>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let core = Arc::new(Keyrotor::new(store, root_key(), clock).with_ledger(ledger));
        let (dir, _) = core.bootstrap().expect("bootstrap");
        Self { core, dir }
    }

    pub fn group(&self, name: &str) -> ResourceGroupName {
        let g = ResourceGroupName::parse(name).expect("group name");
        self.core
            .put_group(
                &self.dir,
                &actor(),
                &self.dir.subscription_id,
                &g,
                "westus",
                BTreeMap::new(),
            )
            .expect("put group");
        g
    }

    /// Creates (or updates) the account `name` of `kind` in `group`,
    /// creating the group too.
    pub fn account(&self, kind: AccountKind, group: &str, name: &str) -> Account {
        let g = self.group(group);
        let n = AccountName::parse(kind, name).expect("account name");
        self.core
            .put_account(
                &self.dir,
                &actor(),
                kind,
                &self.dir.subscription_id,
                &g,
                &n,
                account_spec(),
            )
            .expect("put account")
            .0
    }

    /// The stored account `name` of `kind`.
    pub fn find(&self, kind: AccountKind, name: &str) -> Account {
        self.core
            .account_by_name(kind, &AccountName::parse(kind, name).expect("name"))
            .expect("read")
            .expect("the account exists")
    }

    /// Every key value of an account, by slot.
    pub fn values(&self, a: &Account) -> BTreeMap<KeySlot, String> {
        self.core
            .list_keys(a)
            .expect("list keys")
            .into_iter()
            .map(|k| (k.slot, k.value.expose().to_string()))
            .collect()
    }

    /// A vault (soft delete 7 days, no purge protection) in `group`.
    pub fn vault(&self, group: &str, name: &str) -> Vault {
        let g = self.group(group);
        self.core
            .put_vault(
                &self.dir,
                &actor(),
                &self.dir.subscription_id,
                &g,
                &VaultName::parse(name).expect("vault name"),
                vault_spec(),
            )
            .expect("put vault")
            .0
    }
}

pub fn actor() -> Actor {
    Actor::new("test")
}

pub fn account_spec() -> AccountSpec {
    AccountSpec {
        location: "westus".into(),
        tags: BTreeMap::new(),
        document: "{}".into(),
        settings: Default::default(),
    }
}

pub fn vault_spec() -> VaultSpec {
    VaultSpec {
        location: "westus".into(),
        tags: BTreeMap::new(),
        document: "{}".into(),
        settings: VaultSettings {
            soft_delete_days: 7,
            purge_protection: false,
        },
    }
}

/// One `#[test]` per case of [`suite`], each on a fresh scratch database
/// opened with `$make` (a `fn(&Path) -> Arc<dyn Store>`).
#[macro_export]
macro_rules! store_suite {
    ($make:path) => {
        $crate::store_suite!(@cases $make;
            initial_keys_are_distinct_and_well_formed,
            slots_a_kind_lacks_are_refused,
            regeneration_changes_exactly_one_slot,
            concurrent_regenerations_answer_their_own_values,
            concurrent_regenerations_serialize,
            regeneration_is_compare_and_set,
            deleting_a_group_removes_its_accounts_and_frees_names,
            put_group_keeps_the_first_group,
            identical_puts_from_two_clients_both_succeed,
            client_secrets_are_checked,
            client_secret_use_is_recorded_at_most_once_a_minute,
            signing_keys_list_which_one_signs,
            every_mutation_moves_the_epoch,
            change_sequences_move_in_the_writing_transaction,
            a_flush_before_reading_sees_all_earlier_usage,
            item_etags_are_unique_and_preconditions_hold,
            policies_rotate_on_time_once_with_audit,
            changes_and_key_reads_are_chained_entries,
            two_clients_append_one_chain,
            a_purge_keeps_the_chain_verifiable,
            break_glass_expiry_is_recorded_once_by_keyrotor,
            two_runners_rotate_a_due_key_once,
            an_expiry_at_the_end_of_the_calendar_does_not_stall_the_runner,
            object_writes_respect_deletion_and_the_latest_version,
            purge_only_what_is_still_deleted,
            a_second_client_sees_changes,
            vault_writes_are_conditional,
            every_account_has_a_current_data_key,
            a_new_current_data_key_seals_new_writes_only,
            sealed_records_are_bound_to_their_place,
        );
    };
    (@cases $make:path; $($case:ident),+ $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::suite::$case(&$make);
            }
        )+
    };
}

/// A scratch directory for a test database (removed on drop).
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("scratch directory")
}
