//! Envelope encryption: every account has data keys (DEKs), one current;
//! every record names the DEK that sealed it and opens only in its place.

use super::*;
use keyrotor_core::store::WrappedBy;

/// Every item and key of `a` as stored: (record, DEK id, sealed bytes).
fn stored_records(store: &Arc<dyn keyrotor_core::Store>, a: i64) -> Vec<(String, String, Vec<u8>)> {
    let mut out: Vec<(String, String, Vec<u8>)> = store
        .keys(a)
        .expect("keys")
        .into_iter()
        .map(|k| (format!("key {}", k.slot), k.dek_id, k.sealed))
        .collect();
    for c in ["dbs", "dbs/d1/colls"] {
        for i in store.items(a, c).expect("items") {
            out.push((format!("item {c}/{}", i.id), i.dek_id, i.sealed));
        }
    }
    out
}

/// A new account has one DEK, current, wrapped by the service root key;
/// its keys name it; nothing stored holds a key or item body in clear, and
/// no `Debug` output shows a wrapped DEK.
pub fn every_account_has_a_current_data_key(make: MakeStore<'_>) {
    let tmp = scratch();
    let store = make(&tmp.path().join("db"));
    let env = Env::new(store.clone());
    let a = env.account(AccountKind::Cosmos, "rg", "dek1");
    let b = env.account(AccountKind::Batch, "rg", "dek2");
    let deks = store.deks(a.id).expect("deks");
    assert_eq!(deks.deks.len(), 1, "{deks:?}");
    let dek = &deks.deks[0];
    assert_eq!(deks.current.as_deref(), Some(dek.id.as_str()));
    assert_eq!(
        dek.wrapped_by,
        WrappedBy::Service {
            root_key_id: crate::root_key().id()
        }
    );
    assert!(dek.wrapped.len() >= 32 + 16, "a wrapped 256-bit key");
    assert!(!format!("{deks:?}").contains(&format!("{:?}", dek.wrapped)));
    let info = env.core.data_keys(&a).expect("data keys");
    assert_eq!(info.len(), 1);
    assert!(info[0].current && info[0].id == dek.id);
    // Another account has its own.
    let other = store.deks(b.id).expect("deks");
    assert_ne!(other.current, deks.current);
    // Records name the DEK; their sealed bytes hold no value in clear.
    env.core
        .item_put(
            &a,
            "dbs",
            "d1",
            r#"{"id":"d1","note":"plain-text-marker"}"#,
            &PutMode::Create,
        )
        .expect("an item");
    let values = env.values(&a);
    for (what, dek_id, sealed) in stored_records(&store, a.id) {
        assert_eq!(dek_id, dek.id, "{what}");
        let text = String::from_utf8_lossy(&sealed);
        assert!(!text.contains("plain-text-marker"), "{what} in clear");
        for v in values.values() {
            assert!(!text.contains(v.as_str()), "{what} holds a key in clear");
        }
    }
    assert!(store.deks(a.id + 1000).expect("deks").deks.is_empty());
}

/// A new current DEK seals new writes at once; records sealed before stay
/// under theirs and stay readable, also by a second client of the database
/// that has not polled yet. Adding a DEK to a gone account, or with an id
/// taken, changes nothing.
pub fn a_new_current_data_key_seals_new_writes_only(make: MakeStore<'_>) {
    let tmp = scratch();
    let path = tmp.path().join("db");
    let store = make(&path);
    let env = Env::new(store.clone());
    let other = Env::new(make(&path));
    let a = env.account(AccountKind::Cosmos, "rg", "dek3");
    let first = store.deks(a.id).expect("deks").current.expect("current");
    let put = |env: &Env, id: &str, body: &str| {
        env.core
            .item_put(&a, "dbs", id, body, &PutMode::Upsert { if_match: None })
            .expect("a write")
    };
    put(&env, "old", r#"{"v":"old"}"#);
    // Warm the second client's cache with the first DEK.
    assert!(other.core.item(&a, "dbs", "old").expect("read").is_some());
    let seqs = store.change_seqs().expect("seqs");
    let second = env
        .core
        .rotate_data_key(&actor(), &a)
        .expect("a new current DEK");
    assert_ne!(second, first);
    assert!(
        store.change_seqs().expect("seqs").get(ChangeDomain::Deks) > seqs.get(ChangeDomain::Deks),
        "a new DEK moves the deks sequence"
    );
    put(&env, "new", r#"{"v":"new"}"#);
    let dek_of = |id: &str| {
        store
            .item(a.id, "dbs", id)
            .expect("read")
            .expect("item")
            .dek_id
    };
    assert_eq!(dek_of("old"), first, "an old record stays under its DEK");
    assert_eq!(
        dek_of("new"),
        second,
        "a new write uses the new DEK at once"
    );
    // A regeneration seals the new value under the current DEK; the other
    // slot stays under the first.
    let before = env.values(&a);
    env.core
        .regenerate_key(&actor(), &a, KeySlot::Primary)
        .expect("regenerate");
    let keys = store.keys(a.id).expect("keys");
    for k in &keys {
        let want = if k.slot == KeySlot::Primary {
            &second
        } else {
            &first
        };
        assert_eq!(&k.dek_id, want, "{:?}", k.slot);
    }
    assert_eq!(
        env.values(&a)[&KeySlot::Secondary],
        before[&KeySlot::Secondary]
    );
    // The second client reads records under a DEK it never saw (before its
    // poll), and writes under the new one once it has polled.
    for (id, v) in [("old", "old"), ("new", "new")] {
        let item = other.core.item(&a, "dbs", id).expect("read").expect("item");
        assert!(item.body.contains(v), "{}", item.body);
    }
    assert_eq!(other.values(&a), env.values(&a));
    other.core.poll_changes().expect("poll");
    put(&other, "third", r#"{"v":3}"#);
    assert_eq!(dek_of("third"), second);
    let info = env.core.data_keys(&a).expect("data keys");
    let ids: Vec<(&str, bool)> = info.iter().map(|d| (d.id.as_str(), d.current)).collect();
    assert_eq!(ids, vec![(first.as_str(), false), (second.as_str(), true)]);
    // Refusals change nothing.
    let dek = store.deks(a.id).expect("deks").deks[0].clone();
    assert!(matches!(
        store.insert_dek(a.id + 1000, &dek, true, &audit("dek")),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.insert_dek(a.id, &dek, true, &audit("dek")),
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.deks(a.id).expect("deks").current.as_deref(),
        Some(second.as_str())
    );
    // Deleting the account removes its DEKs; a write with the account as
    // read before (a concurrent delete) is told it is gone, on either client.
    assert!(env.core.delete_account(&actor(), &a).expect("delete"));
    assert!(store.deks(a.id).expect("deks").deks.is_empty());
    for e in [&env, &other] {
        e.core.poll_changes().expect("poll");
        assert!(matches!(
            e.core.item_put(&a, "dbs", "late", "{}", &PutMode::Create),
            Err(Error::Gone)
        ));
    }
    assert!(matches!(
        env.core.regenerate_key(&actor(), &a, KeySlot::Primary),
        Err(Error::AccountNotFound { .. } | Error::Gone)
    ));
}

/// A sealed record opens only as the record it was sealed for: moved to
/// another item, another account or another key slot it is refused (503
/// material), and so is a record naming another DEK of its account.
pub fn sealed_records_are_bound_to_their_place(make: MakeStore<'_>) {
    let tmp = scratch();
    let store = make(&tmp.path().join("db"));
    let env = Env::new(store.clone());
    let a = env.account(AccountKind::Cosmos, "rg", "dek4");
    let b = env.account(AccountKind::Cosmos, "rg", "dek5");
    let b_values = env.values(&b);
    let body = r#"{"id":"x","v":1}"#;
    env.core
        .item_put(&a, "dbs", "x", body, &PutMode::Create)
        .expect("write");
    let x = store.item(a.id, "dbs", "x").expect("read").expect("x");
    let copy = |account: i64, id: &str, dek_id: &str, blob: &[u8]| {
        store
            .item_put(
                account,
                "dbs",
                id,
                Sealed { dek_id, blob },
                &PutMode::Upsert { if_match: None },
                1_700_000_000,
            )
            .expect("the store writes what it is given")
    };
    let refused = |r: keyrotor_core::Result<Option<keyrotor_core::DataItem>>| {
        matches!(r, Err(Error::KeyMaterialUnavailable(_)))
    };
    // Another item of the same account.
    copy(a.id, "y", &x.dek_id, &x.sealed);
    assert!(
        refused(env.core.item(&a, "dbs", "y")),
        "moved to another id"
    );
    // Another account (naming its own DEK, or the original's).
    let b_dek = store.deks(b.id).expect("deks").current.expect("current");
    copy(b.id, "x", &b_dek, &x.sealed);
    assert!(
        refused(env.core.item(&b, "dbs", "x")),
        "moved to another account"
    );
    // The record relabelled with another DEK of its account.
    let second = env.core.rotate_data_key(&actor(), &a).expect("a new DEK");
    copy(a.id, "x", &second, &x.sealed);
    assert!(refused(env.core.item(&a, "dbs", "x")), "relabelled DEK");
    // Tampered.
    let mut t = x.sealed.clone();
    let mid = t.len() / 2;
    t[mid] ^= 0x01;
    copy(a.id, "x", &x.dek_id, &t);
    assert!(refused(env.core.item(&a, "dbs", "x")), "tampered");
    // Put back as it was: it opens again.
    copy(a.id, "x", &x.dek_id, &x.sealed);
    assert_eq!(
        env.core
            .item(&a, "dbs", "x")
            .expect("read")
            .expect("x")
            .body,
        body
    );
    // A key value moved to the other slot does not open there.
    let keys = store.keys(a.id).expect("keys");
    let primary = keys
        .iter()
        .find(|k| k.slot == KeySlot::Primary)
        .expect("primary");
    let secondary = keys
        .iter()
        .find(|k| k.slot == KeySlot::Secondary)
        .expect("secondary");
    let moved = StoredKey {
        slot: KeySlot::Secondary,
        generation: secondary.generation + 1,
        dek_id: primary.dek_id.clone(),
        sealed: primary.sealed.clone(),
        generated_at: OffsetDateTime::now_utc(),
    };
    store
        .rotate_key(a.id, secondary.generation, &moved, &audit("move"))
        .expect("the store writes what it is given");
    assert!(matches!(
        env.core.list_keys(&a),
        Err(Error::KeyMaterialUnavailable(_))
    ));
    // The other account is untouched.
    assert_eq!(env.values(&b), b_values);
}
