//! Groups, accounts, identities, items, and change sequences seen by a
//! second client.

use super::*;

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

/// Item writes: every write has a new ETag, the item's number stays, and
/// If-Match and create/replace rules hold (refusals change nothing).
pub fn item_etags_are_unique_and_preconditions_hold(make: MakeStore<'_>) {
    let tmp = scratch();
    let store = make(&tmp.path().join("db"));
    let env = Env::new(store.clone());
    let a = env.account(AccountKind::Cosmos, "rg", "acct1");
    let dek = store
        .deks(a.id)
        .expect("deks")
        .current
        .expect("a current data key");
    let put = |id: &str, body: &str, mode: PutMode| {
        let body = Sealed {
            dek_id: &dek,
            blob: body.as_bytes(),
        };
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
        store
            .item(a.id, "dbs", "x")
            .expect("read")
            .map(|i| (i.sealed, i.dek_id)),
        Some((b"19".to_vec(), dek.clone()))
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

/// A clock the case sets.
struct SetClock(std::sync::Mutex<OffsetDateTime>);

impl SetClock {
    fn set(&self, t: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }
}

impl keyrotor_types::Clock for SetClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A client secret knows when it was created and when it last signed in;
/// signing in writes its last use at most once per
/// [`keyrotor_core::SECRET_USE_RESOLUTION`], the store keeps the latest
/// time (never an earlier one) and records nothing for a secret that is
/// gone.
pub fn client_secret_use_is_recorded_at_most_once_a_minute(make: MakeStore<'_>) {
    let tmp = scratch();
    let store = make(&tmp.path().join("db"));
    let t0 = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time");
    let clock = Arc::new(SetClock(std::sync::Mutex::new(t0)));
    let core = keyrotor_core::Keyrotor::new(store.clone(), crate::root_key(), clock.clone());
    core.bootstrap().expect("bootstrap");
    let (p, meta, secret) = core
        .create_principal(&actor(), "app", None)
        .expect("principal");
    assert_eq!(meta.created_at, t0);
    let last_used = || {
        let (_, secrets) = store
            .principal(&p.client_id)
            .expect("read")
            .expect("the principal");
        assert_eq!(secrets.len(), 1);
        assert_eq!(secrets[0].created_at, t0, "the creation time is kept");
        secrets[0].last_used_at
    };
    assert_eq!(last_used(), None, "a new secret was never used");
    let at = |s: i64| t0 + time::Duration::seconds(s);
    clock.set(at(10));
    core.authenticate_client(&p.client_id, &secret)
        .expect("signs in");
    assert_eq!(last_used(), Some(at(10)));
    // Within the resolution: no write.
    clock.set(at(40));
    core.authenticate_client(&p.client_id, &secret)
        .expect("signs in");
    assert_eq!(last_used(), Some(at(10)));
    clock.set(at(70));
    core.authenticate_client(&p.client_id, &secret)
        .expect("signs in");
    assert_eq!(last_used(), Some(at(70)));
    // A failed sign-in is no use.
    clock.set(at(200));
    assert!(core
        .authenticate_client(&p.client_id, &Secret::new("wrong".into()))
        .is_err());
    assert_eq!(last_used(), Some(at(70)));
    // The store contract: never earlier; a missing secret is no error.
    store
        .record_secret_use(&p.client_id, &meta.secret_id, at(5))
        .expect("an earlier use");
    assert_eq!(last_used(), Some(at(70)));
    store
        .record_secret_use(&p.client_id, "no-such-secret", at(300))
        .expect("a secret that is gone");
    store
        .record_secret_use("no-such-principal", &meta.secret_id, at(300))
        .expect("a principal that is gone");
    assert_eq!(last_used(), Some(at(70)));
}

/// The signing-key list names every key without its material, oldest
/// first; each key but the newest is superseded when the next was created.
pub fn signing_keys_list_which_one_signs(make: MakeStore<'_>) {
    let tmp = scratch();
    let store = make(&tmp.path().join("db"));
    let t0 = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time");
    let clock = Arc::new(SetClock(std::sync::Mutex::new(t0)));
    let core = keyrotor_core::Keyrotor::new(store, crate::root_key(), clock.clone());
    assert!(core.signing_key_list().expect("list").is_empty());
    let overlap = time::Duration::hours(2);
    core.rotate_signing_key(overlap, || Ok(("kid-a".into(), vec![1; 32])))
        .expect("first key");
    clock.set(t0 + time::Duration::hours(1));
    core.rotate_signing_key(overlap, || Ok(("kid-b".into(), vec![2; 32])))
        .expect("second key");
    let list = core.signing_key_list().expect("list");
    let got: Vec<(&str, OffsetDateTime, Option<OffsetDateTime>)> = list
        .iter()
        .map(|k| (k.kid.as_str(), k.created_at, k.superseded_at))
        .collect();
    let t1 = t0 + time::Duration::hours(1);
    assert_eq!(
        got,
        vec![("kid-a", t0, Some(t1)), ("kid-b", t1, None)],
        "oldest first, the newest signs"
    );
}
