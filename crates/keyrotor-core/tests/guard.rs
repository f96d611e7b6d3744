//! The usage guard in front of regeneration and of switching key auth off:
//! a key used within the window is refused, naming its clients, and the
//! refusal changes nothing; this node's unflushed use counts.

use std::sync::Arc;

use keyrotor_core::guard::{Guard, MAX_WINDOW};
use keyrotor_core::usage::UsageEvent;
use keyrotor_core::{Error, UsageRecorder};
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_testkit::{actor, scratch, Env};
use keyrotor_types::{AccountKind, KeySlot};

#[test]
fn a_key_used_within_the_window_is_not_regenerated() {
    let tmp = scratch();
    let env = Env::new(Arc::new(
        SqliteStore::open(&tmp.path().join("db")).expect("store"),
    ));
    let a = env.account(AccountKind::Batch, "rg", "batch1");
    let before = env.values(&a);
    let recorder = UsageRecorder::new();
    let generation = env.core.key_info(&a).expect("info")[0].generation;
    // Recorded, not flushed: the guard flushes this node's use first.
    recorder.record(&UsageEvent {
        account_id: a.id,
        slot: KeySlot::Primary,
        generation,
        at: env.core.unix_now(),
        user_agent: "nightly-job/1.0",
        address: std::net::IpAddr::from([10, 1, 2, 3]),
        would_reject: false,
    });
    let guard = Guard {
        window: time::Duration::minutes(15),
        recorder: &recorder,
    };
    match env
        .core
        .regenerate_key_guarded(&actor(), &a, KeySlot::Primary, Some(guard))
    {
        Err(Error::KeysInUse { kind, window, keys }) => {
            assert_eq!((kind, window), (AccountKind::Batch, guard.window));
            assert_eq!(keys.len(), 1);
            assert_eq!(keys[0].slot, KeySlot::Primary);
            assert_eq!(
                keys[0].clients,
                [("nightly-job/1.0".to_string(), "10.1.2.3".to_string())]
            );
        }
        other => panic!("expected KeysInUse, got {other:?}"),
    }
    assert_eq!(
        env.values(&a),
        before,
        "a refused regeneration changed nothing"
    );
    assert!(matches!(
        env.core.ensure_idle(&a, a.kind.slots(), guard),
        Err(Error::KeysInUse { .. })
    ));
    // The idle key may go; without a guard (force) so may the used one.
    env.core
        .regenerate_key_guarded(&actor(), &a, KeySlot::Secondary, Some(guard))
        .expect("the idle key");
    let forced = env
        .core
        .regenerate_key_guarded(&actor(), &a, KeySlot::Primary, None)
        .expect("forced");
    assert_ne!(forced.value.expose(), before[&KeySlot::Primary]);
    // Use of the replaced value is not use of the new one.
    assert!(env
        .core
        .keys_in_use(&a, a.kind.slots(), guard)
        .expect("check")
        .is_empty());
}

#[test]
fn a_window_the_evidence_cannot_cover_is_refused() {
    let tmp = scratch();
    let env = Env::new(Arc::new(
        SqliteStore::open(&tmp.path().join("db")).expect("store"),
    ));
    let a = env.account(AccountKind::Ai, "rg", "ai1");
    let recorder = UsageRecorder::new();
    for window in [
        MAX_WINDOW + time::Duration::seconds(1),
        time::Duration::seconds(-1),
    ] {
        assert!(matches!(
            env.core.keys_in_use(
                &a,
                a.kind.slots(),
                Guard {
                    window,
                    recorder: &recorder
                }
            ),
            Err(Error::InvalidInput(_))
        ));
    }
    assert!(env
        .core
        .keys_in_use(
            &a,
            a.kind.slots(),
            Guard {
                window: MAX_WINDOW,
                recorder: &recorder
            }
        )
        .expect("the longest window")
        .is_empty());
}
