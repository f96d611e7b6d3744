//! Regeneration invariants of keyrotor-core over the SQLite store:
//! the other slots are untouched, a replaced value never comes back (also
//! after reopening), generations strictly increase, concurrent regenerations
//! serialize, and the database file alone never reveals a key.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use keyrotor_core::{Account, AccountSpec, Actor, Directory, Error, Keyrotor};
use keyrotor_crypto::RootKey;
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_types::{AccountKind, AccountName, Clock, KeySlot, ResourceGroupName};
use time::OffsetDateTime;

/// A clock that moves one millisecond each time it is read.
struct TickingClock(Mutex<OffsetDateTime>);

impl Clock for TickingClock {
    fn now(&self) -> OffsetDateTime {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += time::Duration::milliseconds(1);
        *t
    }
}

struct Env {
    core: Keyrotor,
    dir: Directory,
}

fn root_key_bytes() -> [u8; 32] {
    [7u8; 32]
}

fn open(path: &Path) -> Env {
    open_with(
        path,
        Arc::new(keyrotor_core::ledger::MemoryLedger::default()),
    )
}

fn open_with(path: &Path, ledger: Arc<dyn keyrotor_core::ledger::KeyLedger>) -> Env {
    let store = Arc::new(SqliteStore::open(path).unwrap_or_else(|e| panic!("{e}")));
    let root = Arc::new(RootKey::from_bytes(&root_key_bytes()).unwrap_or_else(|e| panic!("{e}")));
    let clock = Arc::new(TickingClock(Mutex::new(OffsetDateTime::now_utc())));
    let core = Keyrotor::new(store, root, clock).with_ledger(ledger);
    let (dir, _) = core.bootstrap().unwrap_or_else(|e| panic!("{e}"));
    Env { core, dir }
}

fn actor() -> Actor {
    Actor("test".into())
}

fn make_account(env: &Env, kind: AccountKind, group: &str, name: &str) -> Account {
    let g = ResourceGroupName::parse(group).unwrap_or_else(|e| panic!("{e}"));
    env.core
        .put_group(
            &env.dir,
            &actor(),
            &env.dir.subscription_id,
            &g,
            "westus",
            BTreeMap::new(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let n = AccountName::parse(kind, name).unwrap_or_else(|e| panic!("{e}"));
    let spec = AccountSpec {
        location: "westus".into(),
        tags: BTreeMap::new(),
        document: "{}".into(),
        settings: Default::default(),
    };
    env.core
        .put_account(
            &env.dir,
            &actor(),
            kind,
            &env.dir.subscription_id,
            &g,
            &n,
            spec,
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .0
}

fn values(env: &Env, a: &Account) -> BTreeMap<KeySlot, String> {
    env.core
        .list_keys(a)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|k| (k.slot, k.value.expose().to_string()))
        .collect()
}

#[test]
fn initial_keys_are_distinct_and_well_formed() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env = open(&tmp.path().join("db"));
    let c = make_account(&env, AccountKind::Cosmos, "rg", "acct1");
    let v = values(&env, &c);
    assert_eq!(v.len(), 4);
    assert_eq!(v.values().collect::<HashSet<_>>().len(), 4);
    let b = make_account(&env, AccountKind::Batch, "rg", "batch1");
    assert_eq!(values(&env, &b).len(), 2);
    let a = make_account(&env, AccountKind::Ai, "rg", "ai1");
    assert!(values(&env, &a).values().all(|k| k.len() == 32));
}

#[test]
fn slots_a_kind_lacks_are_refused() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env = open(&tmp.path().join("db"));
    let b = make_account(&env, AccountKind::Batch, "rg", "batch1");
    let before = values(&env, &b);
    assert!(matches!(
        env.core
            .regenerate_key(&actor(), &b, KeySlot::PrimaryReadonly),
        Err(Error::NoSuchKey { .. })
    ));
    assert_eq!(values(&env, &b), before);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Any sequence of regenerations: only the chosen slot changes, its
    /// value is new, generations increase by one, and after reopening the
    /// database every slot holds the last value and no replaced one.
    #[test]
    fn regeneration_changes_exactly_one_slot(seq in proptest::collection::vec(0usize..4, 1..24)) {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = tmp.path().join("db");
        let (last, ever, acct_name) = {
            let env = open(&path);
            let a = make_account(&env, AccountKind::Cosmos, "rg", "acct1");
            let mut ever: HashSet<String> = values(&env, &a).into_values().collect();
            let mut gens: BTreeMap<KeySlot, u64> = env.core.key_info(&a).unwrap_or_else(|e| panic!("{e}")).into_iter().map(|k| (k.slot, k.generation)).collect();
            for i in seq {
                let slot = KeySlot::ALL[i];
                let before = values(&env, &a);
                let info_before = env.core.key_info(&a).unwrap_or_else(|e| panic!("{e}"));
                let info = env.core.regenerate_key(&actor(), &a, slot).unwrap_or_else(|e| panic!("{e}"));
                let after = values(&env, &a);
                for s in KeySlot::ALL {
                    if s == slot {
                        proptest::prop_assert_ne!(&after[&s], &before[&s]);
                        proptest::prop_assert!(!ever.contains(&after[&s]), "a replaced value came back");
                    } else {
                        proptest::prop_assert_eq!(&after[&s], &before[&s]);
                    }
                }
                proptest::prop_assert_eq!(info.generation, gens[&slot] + 1);
                let old_time = info_before.iter().find(|k| k.slot == slot).map(|k| k.generated_at);
                proptest::prop_assert!(Some(info.generated_at) > old_time);
                gens.insert(slot, info.generation);
                ever.extend(after.values().cloned());
            }
            (values(&env, &a), ever, a.name.clone())
        };
        let env = open(&path);
        let a = env.core.account_by_name(AccountKind::Cosmos, &acct_name).unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("account lost"));
        proptest::prop_assert_eq!(values(&env, &a), last);
        proptest::prop_assert!(ever.len() >= 4);
    }
}

/// Each regeneration answers the value its own transaction wrote (security
/// finding: the handler read the keys back after committing, so two
/// concurrent regenerations of one slot could answer the same value).
#[test]
fn concurrent_regenerations_answer_their_own_values() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env = Arc::new(open(&tmp.path().join("db")));
    let a = make_account(&env, AccountKind::Ai, "rg", "ai-conc");
    let barrier = Arc::new(std::sync::Barrier::new(6));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let (env, a, barrier) = (env.clone(), a.clone(), barrier.clone());
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| {
                        barrier.wait();
                        let k = env
                            .core
                            .regenerate_key(&actor(), &a, KeySlot::Secondary)
                            .unwrap_or_else(|e| panic!("{e}"));
                        (k.generation, k.value.expose().to_string())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut answered: Vec<(u64, String)> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap_or_else(|_| panic!("thread panicked")))
        .collect();
    answered.sort();
    let gens: Vec<u64> = answered.iter().map(|(g, _)| *g).collect();
    assert_eq!(gens, (2..=31).collect::<Vec<u64>>());
    let distinct: HashSet<&String> = answered.iter().map(|(_, v)| v).collect();
    assert_eq!(distinct.len(), 30, "two regenerations answered one value");
    // The last one answered is the value the slot holds.
    assert_eq!(
        answered.last().map(|(_, v)| v.as_str()),
        Some(values(&env, &a)[&KeySlot::Secondary].as_str())
    );
}

#[test]
fn concurrent_regenerations_serialize() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env = Arc::new(open(&tmp.path().join("db")));
    let a = make_account(&env, AccountKind::Batch, "rg", "batch1");
    let secondary_before = values(&env, &a)[&KeySlot::Secondary].clone();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let env = env.clone();
            let a = a.clone();
            std::thread::spawn(move || {
                (0..10)
                    .map(|_| {
                        env.core
                            .regenerate_key(&actor(), &a, KeySlot::Primary)
                            .unwrap_or_else(|e| panic!("{e}"))
                            .generation
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut gens: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap_or_else(|_| panic!("thread panicked")))
        .collect();
    gens.sort_unstable();
    assert_eq!(
        gens,
        (2..=81).collect::<Vec<u64>>(),
        "each regeneration got its own generation"
    );
    assert_eq!(values(&env, &a)[&KeySlot::Secondary], secondary_before);
    let audits = env
        .core
        .audit_events(1000)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        audits
            .iter()
            .filter(|e| e.action == "key.regenerate")
            .count(),
        80
    );
    assert!(audits.iter().all(|e| !e.detail.contains(&secondary_before)));
}

#[test]
fn database_file_never_reveals_a_key() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = tmp.path().join("db");
    let mut all = Vec::new();
    {
        let env = open(&path);
        let c = make_account(&env, AccountKind::Cosmos, "rg", "acct1");
        let a = make_account(&env, AccountKind::Ai, "rg", "ai1");
        all.extend(values(&env, &c).into_values());
        all.extend(values(&env, &a).into_values());
        env.core
            .regenerate_key(&actor(), &c, KeySlot::Primary)
            .unwrap_or_else(|e| panic!("{e}"));
        all.extend(values(&env, &c).into_values());
    }
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let p = tmp.path().join(format!("db{suffix}"));
        if let Ok(b) = std::fs::read(&p) {
            bytes.extend(b);
        }
    }
    assert!(!bytes.is_empty());
    for key in &all {
        assert!(
            !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
            "a key appears in the database files"
        );
    }
}

#[test]
fn a_sealed_key_moved_to_another_slot_is_refused() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = tmp.path().join("db");
    let env = open(&path);
    let a = make_account(&env, AccountKind::Batch, "rg", "batch1");
    drop(env);
    let conn = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
    conn.execute(
        "UPDATE account_keys SET sealed = (SELECT sealed FROM account_keys WHERE slot = 'primary') WHERE slot = 'secondary'",
        [],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    let env = open(&path);
    assert!(matches!(
        env.core.list_keys(&a),
        Err(Error::KeyMaterialUnavailable(_))
    ));
}

#[test]
fn deleting_a_group_removes_its_accounts_and_frees_names() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env = open(&tmp.path().join("db"));
    let a = make_account(&env, AccountKind::Cosmos, "rg", "acct1");
    let old = values(&env, &a);
    let g = ResourceGroupName::parse("RG").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        env.core
            .delete_group(&env.dir, &actor(), &env.dir.subscription_id, &g)
            .unwrap_or_else(|e| panic!("{e}")),
        1
    );
    assert!(env
        .core
        .account_by_name(AccountKind::Cosmos, &a.name)
        .unwrap_or_else(|e| panic!("{e}"))
        .is_none());
    let again = make_account(&env, AccountKind::Cosmos, "rg", "acct1");
    let new = values(&env, &again);
    assert!(new.values().all(|v| !old.values().any(|o| o == v)));
    assert_ne!(again.uid, a.uid);
}

#[test]
fn client_secrets_are_checked() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store =
        Arc::new(SqliteStore::open(&tmp.path().join("db")).unwrap_or_else(|e| panic!("{e}")));
    let root = Arc::new(RootKey::from_bytes(&root_key_bytes()).unwrap_or_else(|e| panic!("{e}")));
    let core = Keyrotor::new(store, root, Arc::new(keyrotor_types::SystemClock));
    let (dir, creds) = core.bootstrap().unwrap_or_else(|e| panic!("{e}"));
    let creds = creds.unwrap_or_else(|| panic!("first bootstrap creates credentials"));
    assert!(core
        .authenticate_client(&dir.admin_client_id, &creds.client_secret)
        .is_ok());
    let wrong = keyrotor_types::Secret::new("nope".into());
    assert!(matches!(
        core.authenticate_client(&dir.admin_client_id, &wrong),
        Err(Error::BadCredentials)
    ));
    assert!(matches!(
        core.authenticate_client("unknown", &creds.client_secret),
        Err(Error::BadCredentials)
    ));
    let (dir2, again) = core.bootstrap().unwrap_or_else(|e| panic!("{e}"));
    assert!(again.is_none(), "credentials are created once");
    assert_eq!(dir2.tenant_id, dir.tenant_id);
}

#[test]
fn every_mutation_moves_the_epoch() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env = open(&tmp.path().join("db"));
    let mut last = env.core.epoch();
    let mut moved = |what: &str| {
        let now = env.core.epoch();
        assert!(now > last, "{what} did not move the epoch");
        last = now;
    };
    let a = make_account(&env, AccountKind::Ai, "rg", "ai1");
    moved("create");
    let g = ResourceGroupName::parse("rg").unwrap_or_else(|e| panic!("{e}"));
    let n = AccountName::parse(AccountKind::Ai, "ai1").unwrap_or_else(|e| panic!("{e}"));
    let spec = AccountSpec {
        location: "westus".into(),
        tags: BTreeMap::new(),
        document: "{}".into(),
        settings: keyrotor_core::AccountSettings {
            upstream: Some("http://x".into()),
            ..Default::default()
        },
    };
    env.core
        .put_account(
            &env.dir,
            &actor(),
            AccountKind::Ai,
            &env.dir.subscription_id,
            &g,
            &n,
            spec,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    moved("update");
    let updated = env
        .core
        .account_by_name(AccountKind::Ai, &n)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("gone"));
    assert_eq!(updated.settings.upstream.as_deref(), Some("http://x"));
    env.core
        .regenerate_key(&actor(), &a, KeySlot::Primary)
        .unwrap_or_else(|e| panic!("{e}"));
    moved("regenerate");
    env.core
        .delete_account(&actor(), &a)
        .unwrap_or_else(|e| panic!("{e}"));
    moved("delete");
}

/// A reader that flushes before reading usage (the regeneration guard,
/// `listKeyUsage`) sees every use recorded before it, also while the
/// background flusher has just taken that use and is still writing it.
#[test]
fn a_flush_before_reading_sees_all_earlier_usage() {
    use keyrotor_core::usage::UsageEvent;
    use keyrotor_core::UsageRecorder;
    use std::sync::atomic::{AtomicBool, Ordering};

    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env = Arc::new(open(&tmp.path().join("db")));
    let a = make_account(&env, AccountKind::Batch, "rg", "batch1");
    let primary = |env: &Env| {
        env.core
            .key_usage(&a)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .find(|u| u.slot == KeySlot::Primary)
            .unwrap_or_else(|| panic!("no primary key usage"))
    };
    let generation = primary(&env).generation;
    let recorder = Arc::new(UsageRecorder::new());
    let stop = Arc::new(AtomicBool::new(false));
    let flusher = {
        let (env, recorder, stop) = (env.clone(), recorder.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = env.core.flush_usage(&recorder);
            }
        })
    };
    let base = OffsetDateTime::now_utc().unix_timestamp();
    for i in 0..100 {
        recorder.record(&UsageEvent {
            account_id: a.id,
            slot: KeySlot::Primary,
            generation,
            at: base + i,
            user_agent: "t",
            address: std::net::IpAddr::from([127, 0, 0, 1]),
            would_reject: false,
        });
        env.core
            .flush_usage(&recorder)
            .unwrap_or_else(|e| panic!("{e}"));
        let last = primary(&env).last_used.map(OffsetDateTime::unix_timestamp);
        assert_eq!(last, Some(base + i), "use {i} not visible after a flush");
    }
    stop.store(true, Ordering::Relaxed);
    flusher
        .join()
        .unwrap_or_else(|_| panic!("flusher panicked"));
}

fn find(env: &Env, kind: AccountKind, name: &str) -> Account {
    env.core
        .account_by_name(kind, &AccountName::parse(kind, name).expect("name"))
        .expect("read")
        .expect("the account exists")
}

/// A database restored from a backup refuses what was replaced after it:
/// a regenerated slot and every slot of an account deleted since, until
/// regenerated; a regeneration then numbers above the ledger.
#[test]
fn a_restored_database_knows_what_was_replaced_after_its_backup() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (db, copy) = (tmp.path().join("db"), tmp.path().join("restored"));
    let ledger: Arc<dyn keyrotor_core::ledger::KeyLedger> =
        Arc::new(keyrotor_core::ledger::MemoryLedger::default());
    {
        let env = open_with(&db, ledger.clone());
        make_account(&env, AccountKind::Batch, "rg", "gone1");
        make_account(&env, AccountKind::Ai, "rg", "kept1");
    }
    let backup = tmp.path().join("backup");
    std::fs::copy(&db, &backup).expect("backup");
    {
        let env = open_with(&db, ledger.clone());
        let gone = find(&env, AccountKind::Batch, "gone1");
        assert!(env.core.delete_account(&actor(), &gone).expect("delete"));
        let kept = find(&env, AccountKind::Ai, "kept1");
        env.core
            .regenerate_key(&actor(), &kept, KeySlot::Primary)
            .expect("regenerate");
    }
    std::fs::copy(&backup, &copy).expect("restore");
    let env = open_with(&copy, ledger);
    let stale = |a: &Account| -> Vec<KeySlot> {
        env.core
            .list_keys(a)
            .expect("keys")
            .iter()
            .filter(|k| env.core.replaced_after_restore(a, k.slot, k.generation))
            .map(|k| k.slot)
            .collect()
    };
    let gone = find(&env, AccountKind::Batch, "gone1");
    assert_eq!(stale(&gone), [KeySlot::Primary, KeySlot::Secondary]);
    let kept = find(&env, AccountKind::Ai, "kept1");
    assert_eq!(stale(&kept), [KeySlot::Primary]);
    let fresh = env
        .core
        .regenerate_key(&actor(), &kept, KeySlot::Primary)
        .expect("regenerate");
    assert_eq!(fresh.generation, 3, "numbered above the ledger's 2");
    assert!(stale(&kept).is_empty());
    assert_eq!(env.core.restored_slots(&env.dir).expect("report").len(), 1);
}
