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
        Some(two_years.after(later).unix_timestamp())
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
