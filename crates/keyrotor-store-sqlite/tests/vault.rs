//! Vault invariants over the SQLite store: rotation policies rotate on time,
//! once per due date, with an audit record; key material survives a reopen
//! and is never in the database file in plain form; a deleted vault's keys
//! are unusable and its policies do not run.

use std::collections::BTreeMap;
use std::sync::Arc;

use keyrotor_core::vault::{
    ActionType, IsoDuration, LifetimeAction, Trigger, VaultSettings, VaultSpec,
};
use keyrotor_core::{Actor, Keyrotor};
use keyrotor_crypto::vault::{KeySpec, WrapAlg};
use keyrotor_crypto::RootKey;
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_types::{ResourceGroupName, Secret, SystemClock, VaultName};
use time::OffsetDateTime;

fn open(path: &std::path::Path) -> (Keyrotor, keyrotor_core::Directory) {
    let store = Arc::new(SqliteStore::open(path).unwrap_or_else(|e| panic!("{e}")));
    let root = Arc::new(RootKey::from_bytes(&[5u8; 32]).unwrap_or_else(|e| panic!("{e}")));
    let core = Keyrotor::new(store, root, Arc::new(SystemClock));
    let (dir, _) = core.bootstrap().unwrap_or_else(|e| panic!("{e}"));
    (core, dir)
}

#[test]
fn policies_rotate_on_time_once_with_audit_and_material_stays_sealed() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = tmp.path().join("db");
    let (core, dir) = open(&db);
    let a = Actor("t".into());
    let g = ResourceGroupName::parse("rg").unwrap_or_else(|e| panic!("{e}"));
    core.put_group(
        &dir,
        &a,
        &dir.subscription_id,
        &g,
        "westus",
        BTreeMap::new(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let name = VaultName::parse("kv1").unwrap_or_else(|e| panic!("{e}"));
    let spec = VaultSpec {
        location: "westus".into(),
        tags: BTreeMap::new(),
        document: "{}".into(),
        settings: VaultSettings {
            soft_delete_days: 7,
            purge_protection: false,
        },
    };
    let (v, created) = core
        .put_vault(&dir, &a, &dir.subscription_id, &g, &name, spec)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(created);
    let k1 = core
        .create_key(
            &a,
            &v,
            "cmk",
            KeySpec::Oct(256),
            Default::default(),
            "{}".into(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let wrapped = core
        .key_wrap(&v, &k1, WrapAlg::A256Kw, &[9u8; 32])
        .unwrap_or_else(|e| panic!("{e}"));
    core.set_secret(
        &a,
        &v,
        "pw",
        &Secret::new("hunter2-very-secret".into()),
        Default::default(),
        "{}".into(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let year = IsoDuration::parse("P1Y").unwrap_or_else(|| panic!());
    core.set_rotation_policy(
        &a,
        &v,
        "cmk",
        vec![LifetimeAction {
            trigger: Trigger::AfterCreate(year),
            action: ActionType::Rotate,
        }],
        IsoDuration::parse("P2Y"),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let now = OffsetDateTime::now_utc();
    assert!(core
        .run_rotation_policies(now)
        .unwrap_or_default()
        .is_empty());
    let later = now + time::Duration::days(366);
    let done = core.run_rotation_policies(later).unwrap_or_default();
    assert_eq!(done.len(), 1);
    assert!(
        core.run_rotation_policies(later)
            .unwrap_or_default()
            .is_empty(),
        "rotated twice"
    );
    let audits = core.audit_events(1000).unwrap_or_default();
    assert_eq!(
        audits
            .iter()
            .filter(|e| e.action == "key.rotate.policy")
            .count(),
        1
    );
    let latest = core
        .object(&v, keyrotor_core::vault::Collection::Keys, "cmk", None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(latest.version, done[0].2);
    let two_years = IsoDuration::parse("P2Y").unwrap_or_else(|| panic!());
    assert_eq!(
        latest.attributes.expires,
        two_years.after(later).map(OffsetDateTime::unix_timestamp)
    );
    drop(core);

    // Reopen: the old version still unwraps; the file holds no plain material.
    let (core, _) = open(&db);
    let v = core
        .vault_by_name("kv1")
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("vault"));
    let old = core
        .object(
            &v,
            keyrotor_core::vault::Collection::Keys,
            "cmk",
            Some(&k1.version),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        core.key_unwrap(&v, &old, WrapAlg::A256Kw, &wrapped)
            .map(|z| z.to_vec())
            .ok(),
        Some(vec![9u8; 32])
    );
    let file = std::fs::read(&db).unwrap_or_default();
    let wal = std::fs::read(tmp.path().join("db-wal")).unwrap_or_default();
    for hay in [&file, &wal] {
        assert!(
            !hay.windows(19).any(|w| w == b"hunter2-very-secret"),
            "a secret is in the database in plain text"
        );
    }

    // A deleted vault: keys unusable, policies do not run.
    core.delete_vault(&a, &v).unwrap_or_else(|e| panic!("{e}"));
    assert!(core.vault_by_name("kv1").ok().flatten().is_none());
    let far = later + time::Duration::days(800);
    assert!(core
        .run_rotation_policies(far)
        .unwrap_or_default()
        .is_empty());
}

/// Issue 13 item 7: a key whose expiry is near the start of the calendar
/// (a Crypto Officer may set `exp` to year -9999) with a `timeBeforeExpiry`
/// policy made the runner panic, so no policy after it ever ran. Now its
/// trigger is never due and the other keys rotate.
#[test]
fn an_expiry_at_the_end_of_the_calendar_does_not_stall_the_runner() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (core, dir) = open(&tmp.path().join("db"));
    let a = Actor("t".into());
    let g = ResourceGroupName::parse("rg").expect("group name");
    core.put_group(
        &dir,
        &a,
        &dir.subscription_id,
        &g,
        "westus",
        BTreeMap::new(),
    )
    .expect("group");
    let spec = |_: ()| VaultSpec {
        location: "westus".into(),
        tags: BTreeMap::new(),
        document: "{}".into(),
        settings: VaultSettings {
            soft_delete_days: 7,
            purge_protection: false,
        },
    };
    let (v1, _) = core
        .put_vault(
            &dir,
            &a,
            &dir.subscription_id,
            &g,
            &VaultName::parse("kv-a").expect("name"),
            spec(()),
        )
        .expect("vault");
    let (v2, _) = core
        .put_vault(
            &dir,
            &a,
            &dir.subscription_id,
            &g,
            &VaultName::parse("kv-b").expect("name"),
            spec(()),
        )
        .expect("vault");
    let ancient = OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT).unix_timestamp();
    core.create_key(
        &a,
        &v1,
        "evil",
        KeySpec::Oct(256),
        keyrotor_core::vault::ObjectAttributes {
            enabled: Some(true),
            not_before: None,
            expires: Some(ancient),
        },
        "{}".into(),
    )
    .expect("key");
    let p7d = IsoDuration::parse("P7D").expect("P7D");
    core.set_rotation_policy(
        &a,
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
        &a,
        &v2,
        "good",
        KeySpec::Oct(256),
        Default::default(),
        "{}".into(),
    )
    .expect("key");
    core.set_rotation_policy(
        &a,
        &v2,
        "good",
        vec![LifetimeAction {
            trigger: Trigger::AfterCreate(p7d),
            action: ActionType::Rotate,
        }],
        None,
    )
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
