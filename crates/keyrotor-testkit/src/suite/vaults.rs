//! Vaults: rotation policies and runners, conditional object and vault
//! writes, purges.

use super::*;

pub(crate) fn rotate_after(days: &str) -> Vec<LifetimeAction> {
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
    let rotations: Vec<_> = audits
        .iter()
        .filter(|e| e.action == "key.rotate.policy")
        .collect();
    assert_eq!(rotations.len(), 1);
    // An automatic action: keyrotor is the caller.
    assert_eq!(rotations[0].actor, keyrotor_core::activity::SYSTEM_CALLER);
    assert_eq!(
        rotations[0].operation,
        "Microsoft.KeyVault/vaults/keys/rotate/action"
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
