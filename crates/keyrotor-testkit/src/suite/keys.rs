//! Account keys: regeneration invariants, compare-and-set, usage.

use super::*;

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
    let dek = store
        .deks(a.id)
        .expect("deks")
        .current
        .expect("a current data key");
    let key = |generation| StoredKey {
        slot: KeySlot::Primary,
        generation,
        dek_id: dek.clone(),
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
