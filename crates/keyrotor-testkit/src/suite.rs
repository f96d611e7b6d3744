//! The store conformance suite: what every backend must do, checked
//! through the core (the invariants users rely on) and through the store
//! traits (the contracts the core relies on). A backend runs it with
//! [`crate::store_suite!`]; cases that read or edit a backend's files
//! directly stay in that backend's own tests.
//!
//! Each case gets `make`, which opens a store on a database at a path;
//! calling it twice with one path gives two clients of one database (two
//! processes, or two nodes), which is how the cases check races and
//! cross-client visibility.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Barrier};

use keyrotor_core::store::{
    AuditEvent, ChangeDomain, LatestVersion, PutMode, ResourceGroup, StoreError, StoredKey,
};
use keyrotor_core::usage::UsageEvent;
use keyrotor_core::vault::{
    ActionType, Collection, IsoDuration, LifetimeAction, ObjectAttributes, Trigger,
};
use keyrotor_core::{AccountSpec, Error, UsageRecorder};
use keyrotor_crypto::vault::{KeySpec, WrapAlg};
use keyrotor_types::{AccountKind, AccountName, KeySlot, ResourceGroupName, Secret};
use proptest::test_runner::{Config, TestRunner};
use time::OffsetDateTime;

use crate::{actor, scratch, Env, MakeStore};

fn audit(action: &str) -> AuditEvent {
    AuditEvent {
        at: OffsetDateTime::now_utc(),
        actor: "suite".into(),
        action: action.into(),
        target: "t".into(),
        detail: String::new(),
    }
}

pub fn initial_keys_are_distinct_and_well_formed(make: MakeStore<'_>) {
    let tmp = scratch();
    let env = Env::new(make(&tmp.path().join("db")));
    let c = env.account(AccountKind::Cosmos, "rg", "acct1");
    let v = env.values(&c);
    assert_eq!(v.len(), 4);
    assert_eq!(v.values().collect::<HashSet<_>>().len(), 4);
    let b = env.account(AccountKind::Batch, "rg", "batch1");
    assert_eq!(env.values(&b).len(), 2);
    let a = env.account(AccountKind::Ai, "rg", "ai1");
    assert!(env.values(&a).values().all(|k| k.len() == 32));
}

pub fn slots_a_kind_lacks_are_refused(make: MakeStore<'_>) {
    let tmp = scratch();
    let env = Env::new(make(&tmp.path().join("db")));
    let b = env.account(AccountKind::Batch, "rg", "batch1");
    let before = env.values(&b);
    assert!(matches!(
        env.core
            .regenerate_key(&actor(), &b, KeySlot::PrimaryReadonly),
        Err(Error::NoSuchKey { .. })
    ));
    assert_eq!(env.values(&b), before);
}

/// Any sequence of regenerations: only the chosen slot changes, its value
/// is new, generations increase by one, and after reopening the database
/// every slot holds the last value and no replaced one.
pub fn regeneration_changes_exactly_one_slot(make: MakeStore<'_>) {
    let mut runner = TestRunner::new(Config::with_cases(24));
    let strategy = proptest::collection::vec(0usize..4, 1..24);
    let result = runner.run(&strategy, |seq| {
        let tmp = scratch();
        let path = tmp.path().join("db");
        let (last, ever) = {
            let env = Env::new(make(&path));
            let a = env.account(AccountKind::Cosmos, "rg", "acct1");
            let mut ever: HashSet<String> = env.values(&a).into_values().collect();
            let mut gens: BTreeMap<KeySlot, u64> = env
                .core
                .key_info(&a)
                .expect("key info")
                .into_iter()
                .map(|k| (k.slot, k.generation))
                .collect();
            for i in seq {
                let slot = KeySlot::ALL[i];
                let before = env.values(&a);
                let info_before = env.core.key_info(&a).expect("key info");
                let info = env
                    .core
                    .regenerate_key(&actor(), &a, slot)
                    .expect("regenerate");
                let after = env.values(&a);
                for s in KeySlot::ALL {
                    if s == slot {
                        proptest::prop_assert_ne!(&after[&s], &before[&s]);
                        proptest::prop_assert!(
                            !ever.contains(&after[&s]),
                            "a replaced value came back"
                        );
                    } else {
                        proptest::prop_assert_eq!(&after[&s], &before[&s]);
                    }
                }
                proptest::prop_assert_eq!(info.generation, gens[&slot] + 1);
                let old_time = info_before
                    .iter()
                    .find(|k| k.slot == slot)
                    .map(|k| k.generated_at);
                proptest::prop_assert!(Some(info.generated_at) > old_time);
                gens.insert(slot, info.generation);
                ever.extend(after.values().cloned());
            }
            (env.values(&a), ever)
        };
        let env = Env::new(make(&path));
        let a = env.find(AccountKind::Cosmos, "acct1");
        proptest::prop_assert_eq!(env.values(&a), last);
        proptest::prop_assert!(ever.len() >= 4);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Each regeneration answers the value its own transaction wrote, also
/// when several race for one slot.
pub fn concurrent_regenerations_answer_their_own_values(make: MakeStore<'_>) {
    let tmp = scratch();
    let env = Arc::new(Env::new(make(&tmp.path().join("db"))));
    let a = env.account(AccountKind::Ai, "rg", "ai-conc");
    let barrier = Arc::new(Barrier::new(6));
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
                            .expect("regenerate");
                        (k.generation, k.value.expose().to_string())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut answered: Vec<(u64, String)> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("thread"))
        .collect();
    answered.sort();
    let gens: Vec<u64> = answered.iter().map(|(g, _)| *g).collect();
    assert_eq!(gens, (2..=31).collect::<Vec<u64>>());
    let distinct: HashSet<&String> = answered.iter().map(|(_, v)| v).collect();
    assert_eq!(distinct.len(), 30, "two regenerations answered one value");
    assert_eq!(
        answered.last().map(|(_, v)| v.as_str()),
        Some(env.values(&a)[&KeySlot::Secondary].as_str())
    );
}

/// Regenerations from two clients of one database (two processes) each
/// get their own generation, with one audit record each; the other slot
/// is untouched.
pub fn concurrent_regenerations_serialize(make: MakeStore<'_>) {
    let tmp = scratch();
    let path = tmp.path().join("db");
    let envs = [
        Arc::new(Env::new(make(&path))),
        Arc::new(Env::new(make(&path))),
    ];
    let a = envs[0].account(AccountKind::Batch, "rg", "batch1");
    let secondary_before = envs[0].values(&a)[&KeySlot::Secondary].clone();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let env = envs[i % 2].clone();
            let a = a.clone();
            std::thread::spawn(move || {
                (0..10)
                    .map(|_| {
                        env.core
                            .regenerate_key(&actor(), &a, KeySlot::Primary)
                            .expect("regenerate")
                            .generation
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut gens: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("thread"))
        .collect();
    gens.sort_unstable();
    assert_eq!(
        gens,
        (2..=81).collect::<Vec<u64>>(),
        "each regeneration got its own generation"
    );
    assert_eq!(envs[1].values(&a)[&KeySlot::Secondary], secondary_before);
    let audits = envs[1].core.audit_events(1000).expect("audit");
    assert_eq!(
        audits
            .iter()
            .filter(|e| e.action == "key.regenerate")
            .count(),
        80
    );
    assert!(audits.iter().all(|e| !e.detail.contains(&secondary_before)));
}

/// The store's regeneration is compare-and-set on the generation.
pub fn regeneration_is_compare_and_set(make: MakeStore<'_>) {
    let tmp = scratch();
    let store = make(&tmp.path().join("db"));
    let env = Env::new(store.clone());
    let a = env.account(AccountKind::Ai, "rg", "ai1");
    let before = env.values(&a);
    let key = |generation| StoredKey {
        slot: KeySlot::Primary,
        generation,
        sealed: vec![1, 2, 3],
        generated_at: OffsetDateTime::now_utc(),
    };
    let seqs = store.change_seqs().expect("seqs");
    assert!(matches!(
        store.rotate_key(a.id, 7, &key(8), &audit("k")),
        Err(StoreError::PreconditionFailed)
    ));
    assert!(matches!(
        store.rotate_key(a.id + 1000, 1, &key(2), &audit("k")),
        Err(StoreError::NotFound)
    ));
    assert_eq!(env.values(&a), before, "a refused write changed nothing");
    assert_eq!(store.change_seqs().expect("seqs"), seqs);
    store
        .rotate_key(a.id, 1, &key(2), &audit("k"))
        .expect("compare-and-set from the current generation");
    let stored = store.keys(a.id).expect("keys");
    let primary = stored
        .iter()
        .find(|k| k.slot == KeySlot::Primary)
        .expect("primary");
    assert_eq!(
        (primary.generation, primary.sealed.as_slice()),
        (2, &[1u8, 2, 3][..])
    );
    assert!(
        store
            .change_seqs()
            .expect("seqs")
            .get(ChangeDomain::Accounts)
            > seqs.get(ChangeDomain::Accounts)
    );
    assert!(matches!(
        store.rotate_key(a.id, 1, &key(3), &audit("k")),
        Err(StoreError::PreconditionFailed)
    ));
}

pub fn deleting_a_group_removes_its_accounts_and_frees_names(make: MakeStore<'_>) {
    let tmp = scratch();
    let env = Env::new(make(&tmp.path().join("db")));
    let a = env.account(AccountKind::Cosmos, "rg", "acct1");
    let old = env.values(&a);
    let g = ResourceGroupName::parse("RG").expect("name");
    assert_eq!(
        env.core
            .delete_group(&env.dir, &actor(), &env.dir.subscription_id, &g)
            .expect("delete"),
        1
    );
    assert!(env
        .core
        .account_by_name(AccountKind::Cosmos, &a.name)
        .expect("read")
        .is_none());
    let again = env.account(AccountKind::Cosmos, "rg", "acct1");
    let new = env.values(&again);
    assert!(new.values().all(|v| !old.values().any(|o| o == v)));
    assert_ne!(again.uid, a.uid);
}

/// `put_group` is one upsert: the first spelling, location and creation
/// time stay; the tags follow the last write; it says whether it created.
pub fn put_group_keeps_the_first_group(make: MakeStore<'_>) {
    let tmp = scratch();
    let store = make(&tmp.path().join("db"));
    let env = Env::new(store.clone());
    let first = ResourceGroup {
        subscription: env.dir.subscription_id.clone(),
        name: ResourceGroupName::parse("My-Group").expect("name"),
        location: "westus".into(),
        tags: BTreeMap::from([("a".into(), "1".into())]),
        created_at: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_000_000),
    };
    let (stored, created) = store.put_group(&first, &audit("g")).expect("create");
    assert!(created);
    assert_eq!(stored, first);
    let second = ResourceGroup {
        name: ResourceGroupName::parse("my-GROUP").expect("name"),
        location: "eastus".into(),
        tags: BTreeMap::from([("b".into(), "2".into())]),
        created_at: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(2_000_000),
        ..first.clone()
    };
    let (stored, created) = store.put_group(&second, &audit("g")).expect("update");
    assert!(!created);
    assert_eq!(
        stored,
        ResourceGroup {
            tags: second.tags.clone(),
            ..first.clone()
        }
    );
    assert_eq!(
        store
            .group(&first.subscription, &second.name)
            .expect("read"),
        Some(stored)
    );
}

/// Identical account PUTs from two clients at once all succeed (never a
/// false "name taken"); exactly one of them created the account.
pub fn identical_puts_from_two_clients_both_succeed(make: MakeStore<'_>) {
    let tmp = scratch();
    let path = tmp.path().join("db");
    let envs = [
        Arc::new(Env::new(make(&path))),
        Arc::new(Env::new(make(&path))),
    ];
    envs[0].group("rg");
    for round in 0..5 {
        let name = format!("acct{round}");
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let (env, barrier, name) = (envs[i % 2].clone(), barrier.clone(), name.clone());
                std::thread::spawn(move || {
                    let g = ResourceGroupName::parse("rg").expect("group");
                    let n = AccountName::parse(AccountKind::Batch, &name).expect("name");
                    barrier.wait();
                    env.core
                        .put_account(
                            &env.dir,
                            &actor(),
                            AccountKind::Batch,
                            &env.dir.subscription_id,
                            &g,
                            &n,
                            AccountSpec {
                                document: format!("{{\"from\":{i}}}"),
                                ..crate::account_spec()
                            },
                        )
                        .map(|(a, created)| (a.uid, created))
                })
            })
            .collect();
        let results: Vec<_> = threads
            .into_iter()
            .map(|t| t.join().expect("thread").expect("every PUT succeeds"))
            .collect();
        assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
        assert_eq!(
            results
                .iter()
                .map(|(uid, _)| uid)
                .collect::<HashSet<_>>()
                .len(),
            1
        );
    }
}

pub fn client_secrets_are_checked(make: MakeStore<'_>) {
    let tmp = scratch();
    let store = make(&tmp.path().join("db"));
    let core = keyrotor_core::Keyrotor::new(
        store,
        crate::root_key(),
        Arc::new(keyrotor_types::SystemClock),
    );
    let (dir, creds) = core.bootstrap().expect("bootstrap");
    let creds = creds.expect("first bootstrap creates credentials");
    assert!(core
        .authenticate_client(&dir.admin_client_id, &creds.client_secret)
        .is_ok());
    let wrong = Secret::new("nope".into());
    assert!(matches!(
        core.authenticate_client(&dir.admin_client_id, &wrong),
        Err(Error::BadCredentials)
    ));
    assert!(matches!(
        core.authenticate_client("unknown", &creds.client_secret),
        Err(Error::BadCredentials)
    ));
    let (dir2, again) = core.bootstrap().expect("bootstrap");
    assert!(again.is_none(), "credentials are created once");
    assert_eq!(dir2.tenant_id, dir.tenant_id);
}

pub fn every_mutation_moves_the_epoch(make: MakeStore<'_>) {
    let tmp = scratch();
    let env = Env::new(make(&tmp.path().join("db")));
    let mut last = env.core.epoch();
    let mut moved = |what: &str| {
        let now = env.core.epoch();
        assert!(now > last, "{what} did not move the epoch");
        last = now;
    };
    let a = env.account(AccountKind::Ai, "rg", "ai1");
    moved("create");
    let g = ResourceGroupName::parse("rg").expect("group");
    let n = AccountName::parse(AccountKind::Ai, "ai1").expect("name");
    let spec = AccountSpec {
        settings: keyrotor_core::AccountSettings {
            upstream: Some("http://x".into()),
            ..Default::default()
        },
        ..crate::account_spec()
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
        .expect("update");
    moved("update");
    let updated = env.find(AccountKind::Ai, "ai1");
    assert_eq!(updated.settings.upstream.as_deref(), Some("http://x"));
    env.core
        .regenerate_key(&actor(), &a, KeySlot::Primary)
        .expect("regenerate");
    moved("regenerate");
    env.core.delete_account(&actor(), &a).expect("delete");
    moved("delete");
}

/// Each kind of change moves its domain's sequence in the store, where
/// every client reads it.
pub fn change_sequences_move_in_the_writing_transaction(make: MakeStore<'_>) {
    let tmp = scratch();
    let store = make(&tmp.path().join("db"));
    let env = Env::new(store.clone());
    let moves = |d: ChangeDomain, what: &str, f: &mut dyn FnMut()| {
        let before = store.change_seqs().expect("seqs").get(d);
        f();
        let after = store.change_seqs().expect("seqs").get(d);
        assert!(
            after > before,
            "{what} did not move the {} sequence",
            d.as_str()
        );
    };
    let a = env.account(AccountKind::Ai, "rg", "ai1");
    moves(ChangeDomain::Accounts, "a regeneration", &mut || {
        env.core
            .regenerate_key(&actor(), &a, KeySlot::Secondary)
            .expect("regenerate");
    });
    let (p, _, _) = env
        .core
        .create_principal(&actor(), "app", None)
        .expect("principal");
    moves(ChangeDomain::Rbac, "a role assignment", &mut || {
        env.core
            .create_role_assignment(
                &env.dir,
                &actor(),
                "11111111-2222-3333-4444-555555555555",
                &format!("/subscriptions/{}", env.dir.subscription_id),
                &p.client_id,
                "Reader",
            )
            .expect("assign");
    });
    moves(ChangeDomain::Identity, "a new principal", &mut || {
        env.core
            .create_principal(&actor(), "app2", None)
            .expect("principal");
    });
    moves(ChangeDomain::Signing, "a new signing key", &mut || {
        env.core
            .rotate_signing_key(time::Duration::hours(1), || {
                Ok(("kid-suite".into(), vec![0u8; 48]))
            })
            .expect("signing key");
    });
    moves(ChangeDomain::Vaults, "a new vault", &mut || {
        env.vault("rg", "kv-suite");
    });
}

/// A reader that flushes before reading usage sees every use recorded
/// before it, also while the background flusher is writing.
pub fn a_flush_before_reading_sees_all_earlier_usage(make: MakeStore<'_>) {
    use std::sync::atomic::{AtomicBool, Ordering};

    let tmp = scratch();
    let env = Arc::new(Env::new(make(&tmp.path().join("db"))));
    let a = env.account(AccountKind::Batch, "rg", "batch1");
    let primary = |env: &Env| {
        env.core
            .key_usage(&a)
            .expect("usage")
            .into_iter()
            .find(|u| u.slot == KeySlot::Primary)
            .expect("primary key usage")
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
        env.core.flush_usage(&recorder).expect("flush");
        let last = primary(&env).last_used.map(OffsetDateTime::unix_timestamp);
        assert_eq!(last, Some(base + i), "use {i} not visible after a flush");
    }
    stop.store(true, Ordering::Relaxed);
    flusher.join().expect("flusher");
}

/// Item writes: every write has a new ETag, the item's number stays, and
/// If-Match and create/replace rules hold (refusals change nothing).
pub fn item_etags_are_unique_and_preconditions_hold(make: MakeStore<'_>) {
    let tmp = scratch();
    let store = make(&tmp.path().join("db"));
    let env = Env::new(store.clone());
    let a = env.account(AccountKind::Cosmos, "rg", "acct1");
    let put = |id: &str, body: &str, mode: PutMode| {
        store.item_put(a.id, "dbs", id, body, &mode, 1_700_000_000)
    };
    let first = put("x", "1", PutMode::Create).expect("create");
    assert!(matches!(
        put("x", "2", PutMode::Create),
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        put("y", "1", PutMode::Replace { if_match: None }),
        Err(StoreError::NotFound)
    ));
    let mut etags = HashSet::from([first.etag.clone()]);
    let mut current = first.clone();
    for i in 0..20 {
        let next = put(
            "x",
            &i.to_string(),
            PutMode::Replace {
                if_match: Some(current.etag.clone()),
            },
        )
        .expect("replace with the current ETag");
        assert_eq!(next.seq, first.seq, "an update keeps the item's number");
        assert!(etags.insert(next.etag.clone()), "an ETag came back");
        current = next;
    }
    assert!(matches!(
        put(
            "x",
            "stale",
            PutMode::Upsert {
                if_match: Some(first.etag.clone())
            }
        ),
        Err(StoreError::PreconditionFailed)
    ));
    assert!(matches!(
        store.item_delete(a.id, "dbs", "x", Some(&first.etag)),
        Err(StoreError::PreconditionFailed)
    ));
    assert_eq!(
        store.item(a.id, "dbs", "x").expect("read").map(|i| i.body),
        Some("19".to_string())
    );
    let other = put("z", "1", PutMode::Upsert { if_match: None }).expect("upsert creates");
    assert!(other.seq > first.seq, "numbers increase");
    assert!(store
        .item_delete(a.id, "dbs", "x", Some(&current.etag))
        .expect("delete"));
    assert!(!store
        .item_delete(a.id, "dbs", "x", None)
        .expect("delete again"));
    assert_eq!(
        store.items_delete_under(a.id, "dbs").expect("delete under"),
        1
    );
}

fn rotate_after(days: &str) -> Vec<LifetimeAction> {
    vec![LifetimeAction {
        trigger: Trigger::AfterCreate(IsoDuration::parse(days).expect("duration")),
        action: ActionType::Rotate,
    }]
}

/// Rotation policies rotate on time, once per due date, with an audit
/// record; old versions stay usable after a reopen; a deleted vault's
/// policies do not run.
pub fn policies_rotate_on_time_once_with_audit(make: MakeStore<'_>) {
    let tmp = scratch();
    let db = tmp.path().join("db");
    let env = Env::new(make(&db));
    let core = &env.core;
    let v = env.vault("rg", "kv1");
    let k1 = core
        .create_key(
            &actor(),
            &v,
            "cmk",
            KeySpec::Oct(256),
            Default::default(),
            "{}".into(),
        )
        .expect("key");
    let wrapped = core
        .key_wrap(&v, &k1, WrapAlg::A256Kw, &[9u8; 32])
        .expect("wrap");
    core.set_rotation_policy(
        &actor(),
        &v,
        "cmk",
        rotate_after("P1Y"),
        IsoDuration::parse("P2Y"),
    )
    .expect("policy");
    let now = OffsetDateTime::now_utc();
    assert!(core.run_rotation_policies(now).expect("run").is_empty());
    let later = now + time::Duration::days(366);
    let done = core.run_rotation_policies(later).expect("run");
    assert_eq!(done.len(), 1);
    assert!(
        core.run_rotation_policies(later).expect("run").is_empty(),
        "rotated twice"
    );
    let audits = core.audit_events(1000).expect("audit");
    assert_eq!(
        audits
            .iter()
            .filter(|e| e.action == "key.rotate.policy")
            .count(),
        1
    );
    let latest = core
        .object(&v, Collection::Keys, "cmk", None)
        .expect("latest");
    assert_eq!(latest.version, done[0].2);
    assert_eq!(
        latest.attributes.expires,
        IsoDuration::parse("P2Y")
            .and_then(|d| d.after(later))
            .map(OffsetDateTime::unix_timestamp)
    );
    drop(env);

    let env = Env::new(make(&db));
    let core = &env.core;
    let v = core.vault_by_name("kv1").expect("read").expect("vault");
    let old = core
        .object(&v, Collection::Keys, "cmk", Some(&k1.version))
        .expect("old version");
    assert_eq!(
        core.key_unwrap(&v, &old, WrapAlg::A256Kw, &wrapped)
            .map(|z| z.to_vec())
            .ok(),
        Some(vec![9u8; 32])
    );
    core.delete_vault(&actor(), &v).expect("delete");
    assert!(core.vault_by_name("kv1").expect("read").is_none());
    let far = later + time::Duration::days(800);
    assert!(core.run_rotation_policies(far).expect("run").is_empty());
}

/// Two runners (two processes on one database) that find a key due at the
/// same moment add one version, not two.
pub fn two_runners_rotate_a_due_key_once(make: MakeStore<'_>) {
    let tmp = scratch();
    let path = tmp.path().join("db");
    let envs = [
        Arc::new(Env::new(make(&path))),
        Arc::new(Env::new(make(&path))),
    ];
    let v = envs[0].vault("rg", "kv1");
    for i in 0..6 {
        let name = format!("k{i}");
        envs[0]
            .core
            .create_key(
                &actor(),
                &v,
                &name,
                KeySpec::Oct(256),
                Default::default(),
                "{}".into(),
            )
            .expect("key");
        envs[0]
            .core
            .set_rotation_policy(&actor(), &v, &name, rotate_after("P7D"), None)
            .expect("policy");
    }
    let later = OffsetDateTime::now_utc() + time::Duration::days(8);
    let barrier = Arc::new(Barrier::new(2));
    let runs: Vec<_> = envs
        .iter()
        .map(|env| {
            let (env, barrier) = (env.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                env.core.run_rotation_policies(later).expect("run")
            })
        })
        .collect();
    let done: Vec<_> = runs
        .into_iter()
        .flat_map(|t| t.join().expect("runner"))
        .collect();
    assert_eq!(done.len(), 6, "each due key rotated once: {done:?}");
    for i in 0..6 {
        let versions = envs[1]
            .core
            .object_versions(&v, Collection::Keys, &format!("k{i}"))
            .expect("versions");
        assert_eq!(versions.len(), 2, "k{i} has {} versions", versions.len());
    }
}

/// A key whose expiry is near the start of the calendar with a
/// `timeBeforeExpiry` policy is never due, and the other keys rotate.
pub fn an_expiry_at_the_end_of_the_calendar_does_not_stall_the_runner(make: MakeStore<'_>) {
    let tmp = scratch();
    let env = Env::new(make(&tmp.path().join("db")));
    let core = &env.core;
    let v1 = env.vault("rg", "kv-a");
    let v2 = env.vault("rg", "kv-b");
    let ancient = OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT).unix_timestamp();
    core.create_key(
        &actor(),
        &v1,
        "evil",
        KeySpec::Oct(256),
        ObjectAttributes {
            enabled: Some(true),
            not_before: None,
            expires: Some(ancient),
        },
        "{}".into(),
    )
    .expect("key");
    let p7d = IsoDuration::parse("P7D").expect("P7D");
    core.set_rotation_policy(
        &actor(),
        &v1,
        "evil",
        vec![LifetimeAction {
            trigger: Trigger::BeforeExpiry(p7d),
            action: ActionType::Rotate,
        }],
        IsoDuration::parse("P1Y"),
    )
    .expect("policy");
    core.create_key(
        &actor(),
        &v2,
        "good",
        KeySpec::Oct(256),
        Default::default(),
        "{}".into(),
    )
    .expect("key");
    core.set_rotation_policy(&actor(), &v2, "good", rotate_after("P7D"), None)
        .expect("policy");
    let later = OffsetDateTime::now_utc() + time::Duration::days(8);
    let done = core.run_rotation_policies(later).expect("the runner runs");
    assert_eq!(
        done.iter()
            .map(|(v, k, _)| (v.as_str(), k.as_str()))
            .collect::<Vec<_>>(),
        [("kv-b", "good")]
    );
}

/// The store refuses a version while the object has a deleted one, and a
/// conditional write whose expected latest version moved.
pub fn object_writes_respect_deletion_and_the_latest_version(make: MakeStore<'_>) {
    let tmp = scratch();
    let store = make(&tmp.path().join("db"));
    let env = Env::new(store.clone());
    let v = env.vault("rg", "kv1");
    let first = env
        .core
        .create_key(
            &actor(),
            &v,
            "k",
            KeySpec::Oct(256),
            Default::default(),
            "{}".into(),
        )
        .expect("key");
    let next = |version: &str| keyrotor_core::vault::VaultObject {
        version: version.into(),
        ..first.clone()
    };
    assert!(matches!(
        store.insert_vault_object(&next("v2"), LatestVersion::Is(None), &audit("o")),
        Err(StoreError::PreconditionFailed)
    ));
    assert!(matches!(
        store.insert_vault_object(&next("v2"), LatestVersion::Is(Some("other")), &audit("o")),
        Err(StoreError::PreconditionFailed)
    ));
    store
        .insert_vault_object(
            &next("v2"),
            LatestVersion::Is(Some(&first.version)),
            &audit("o"),
        )
        .expect("the latest is still the first version");
    assert!(matches!(
        store.insert_vault_object(
            &next("v3"),
            LatestVersion::Is(Some(&first.version)),
            &audit("o")
        ),
        Err(StoreError::PreconditionFailed)
    ));
    let versions = || {
        store
            .vault_objects(v.id, Collection::Keys, Some("k"))
            .expect("versions")
    };
    assert_eq!(
        versions()
            .iter()
            .map(|o| o.version.as_str())
            .collect::<Vec<_>>(),
        [first.version.as_str(), "v2"]
    );
    assert!(store
        .set_objects_deleted(
            v.id,
            Collection::Keys,
            "k",
            Some(OffsetDateTime::now_utc()),
            &audit("d")
        )
        .expect("delete"));
    assert!(
        !store
            .set_objects_deleted(
                v.id,
                Collection::Keys,
                "k",
                Some(OffsetDateTime::now_utc()),
                &audit("d")
            )
            .expect("delete again"),
        "deleting a deleted object changes nothing"
    );
    assert!(matches!(
        store.insert_vault_object(&next("v4"), LatestVersion::Any, &audit("o")),
        Err(StoreError::Conflict)
    ));
    assert_eq!(versions().len(), 2);
}

/// Purges remove only what is still deleted: a recover (or a recover and a
/// new delete) between the check and the purge wins.
pub fn purge_only_what_is_still_deleted(make: MakeStore<'_>) {
    let tmp = scratch();
    let store = make(&tmp.path().join("db"));
    let env = Env::new(store.clone());
    let v = env.vault("rg", "kv1");
    env.core
        .create_key(
            &actor(),
            &v,
            "k",
            KeySpec::Oct(256),
            Default::default(),
            "{}".into(),
        )
        .expect("key");
    assert!(
        !store
            .purge_objects(v.id, Collection::Keys, "k", &audit("p"))
            .expect("purge"),
        "a live object is not purged"
    );
    let t1 = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_000);
    assert!(store
        .set_vault_deleted(v.id, Some(t1), &audit("d"))
        .expect("delete"));
    assert!(store
        .set_vault_deleted(v.id, None, &audit("r"))
        .expect("recover"));
    let t2 = t1 + time::Duration::seconds(1);
    assert!(store
        .set_vault_deleted(v.id, Some(t2), &audit("d"))
        .expect("delete again"));
    assert!(
        !store.purge_vault(v.id, t1, &audit("p")).expect("purge"),
        "the deletion that was checked is not the one in force"
    );
    assert!(store.vault("kv1").expect("read").is_some());
    assert!(store.purge_vault(v.id, t2, &audit("p")).expect("purge"));
    assert!(store.vault("kv1").expect("read").is_none());
    assert!(store
        .vault_objects(v.id, Collection::Keys, None)
        .expect("objects")
        .is_empty());
}

/// A change committed by one client of the database is seen at once by
/// that client and, after one poll of the change sequences, by another
/// (the seam of the cross-node invalidation).
pub fn a_second_client_sees_changes(make: MakeStore<'_>) {
    let tmp = scratch();
    let path = tmp.path().join("db");
    let (a_env, b_env) = (Env::new(make(&path)), Env::new(make(&path)));
    let a = a_env.account(AccountKind::Ai, "rg", "ai1");
    b_env.core.poll_changes().expect("poll");
    let (a_epoch, b_epoch) = (
        a_env.core.change_epoch(ChangeDomain::Accounts),
        b_env.core.change_epoch(ChangeDomain::Accounts),
    );
    let new = a_env
        .core
        .regenerate_key(&actor(), &a, KeySlot::Primary)
        .expect("regenerate");
    assert!(
        a_env.core.change_epoch(ChangeDomain::Accounts) > a_epoch,
        "the committing client"
    );
    assert_eq!(
        b_env.core.change_epoch(ChangeDomain::Accounts),
        b_epoch,
        "not before a poll"
    );
    let moved = b_env.core.poll_changes().expect("poll");
    assert!(moved.contains(&ChangeDomain::Accounts), "{moved:?}");
    assert!(b_env.core.change_epoch(ChangeDomain::Accounts) > b_epoch);
    assert_eq!(
        b_env.values(&a)[&KeySlot::Primary],
        new.value.expose(),
        "the other client reads the new key"
    );
    assert!(
        b_env.core.poll_changes().expect("poll").is_empty(),
        "a change counts once"
    );
}

/// Vault updates are compare-and-set on what was read: a stale write is
/// refused (so "purge protection is never turned off" cannot be undone by
/// a write based on an older read), and identical vault PUTs from two
/// clients all succeed, one creating.
pub fn vault_writes_are_conditional(make: MakeStore<'_>) {
    let tmp = scratch();
    let path = tmp.path().join("db");
    let store = make(&path);
    let env = Env::new(store.clone());
    let v = env.vault("rg", "kv1");
    let protected = keyrotor_core::vault::Vault {
        settings: keyrotor_core::vault::VaultSettings {
            purge_protection: true,
            ..v.settings
        },
        updated_at: v.updated_at + time::Duration::seconds(1),
        ..v.clone()
    };
    store
        .update_vault(&protected, v.updated_at, &audit("u"))
        .expect("update from the current state");
    let stale = keyrotor_core::vault::Vault {
        updated_at: v.updated_at + time::Duration::seconds(2),
        ..v.clone()
    };
    assert!(matches!(
        store.update_vault(&stale, v.updated_at, &audit("u")),
        Err(StoreError::PreconditionFailed)
    ));
    assert!(
        store
            .vault("kv1")
            .expect("read")
            .expect("vault")
            .settings
            .purge_protection,
        "a stale write turned purge protection off"
    );

    let envs = [
        Arc::new(Env::new(make(&path))),
        Arc::new(Env::new(make(&path))),
    ];
    let g = envs[0].group("rg");
    for round in 0..4 {
        let name = keyrotor_types::VaultName::parse(&format!("kv-race{round}")).expect("name");
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let (env, barrier, name, g) = (
                    envs[i % 2].clone(),
                    barrier.clone(),
                    name.clone(),
                    g.clone(),
                );
                std::thread::spawn(move || {
                    barrier.wait();
                    env.core
                        .put_vault(
                            &env.dir,
                            &actor(),
                            &env.dir.subscription_id,
                            &g,
                            &name,
                            crate::vault_spec(),
                        )
                        .map(|(v, created)| (v.uid, created))
                })
            })
            .collect();
        let results: Vec<_> = threads
            .into_iter()
            .map(|t| t.join().expect("thread").expect("every PUT succeeds"))
            .collect();
        assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
        assert_eq!(
            results
                .iter()
                .map(|(uid, _)| uid)
                .collect::<HashSet<_>>()
                .len(),
            1
        );
    }
}
