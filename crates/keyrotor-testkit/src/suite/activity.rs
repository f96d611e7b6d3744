//! The activity log: one chained entry per change, key read and refused
//! change; the chain verifies, also with two clients appending, and after a
//! retention purge.

use keyrotor_core::activity::{verify_chain, ActivityQuery, ActivityStatus};
use keyrotor_core::Actor;

use super::*;

/// Changes and key reads are entries (with the caller and request details
/// the wire layer gave), the chain verifies, and no key value is in any.
pub fn changes_and_key_reads_are_chained_entries(make: MakeStore<'_>) {
    let tmp = scratch();
    let store = make(&tmp.path().join("db"));
    let env = Env::new(store.clone());
    let a = env.account(AccountKind::Cosmos, "rg", "acct1");
    let id =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/acct1";
    let caller = Actor::with_request(
        "caller-1",
        keyrotor_core::activity::RequestInfo {
            operation: Some("Microsoft.DocumentDB/databaseAccounts/regenerateKey/action".into()),
            resource_id: Some(id.into()),
            correlation_id: Some("corr-1".into()),
        },
    );
    let new = env
        .core
        .regenerate_key(&caller, &a, KeySlot::Primary)
        .expect("regenerate");
    let keys = env.core.read_keys(&caller, &a).expect("read keys");
    env.core
        .record_activity(
            &caller,
            "key.regenerate",
            "t".into(),
            ActivityStatus::Failed,
            Some(409),
        )
        .expect("a refusal recorded");
    let all = env
        .core
        .activity(&ActivityQuery::default(), 1000)
        .expect("entries");
    let all: Vec<AuditEvent> = all.into_iter().map(|r| r.event).collect();
    let mine: Vec<_> = all.iter().filter(|e| e.actor == "caller-1").collect();
    assert_eq!(mine.len(), 3, "{mine:?}");
    assert_eq!(mine[0].action, "key.regenerate");
    assert_eq!(mine[0].status, ActivityStatus::Succeeded);
    assert_eq!(mine[0].resource_id, id);
    assert_eq!(mine[0].correlation_id, "corr-1");
    assert_eq!(mine[1].action, "key.read");
    assert_eq!(mine[2].status, ActivityStatus::Failed);
    assert_eq!(mine[2].http_status, Some(409));
    let by_group = ActivityQuery {
        resource_group: Some("RG".into()),
        ..ActivityQuery::default()
    };
    assert_eq!(
        env.core.activity(&by_group, 1000).expect("entries").len(),
        3
    );
    let text = format!("{all:?}");
    assert!(!text.contains(new.value.expose()));
    assert!(keys.iter().all(|k| !text.contains(k.value.expose())));
    let chain = store.activity_chain().expect("chain");
    assert_eq!(verify_chain(&chain), Ok(chain.entries.len() as u64));
    assert!(chain.entries.len() >= 4);
}

/// Two clients of one database appending at once make one chain.
pub fn two_clients_append_one_chain(make: MakeStore<'_>) {
    let tmp = scratch();
    let path = tmp.path().join("db");
    let envs = [Env::new(make(&path)), Env::new(make(&path))];
    let reader = make(&path);
    let a = envs[0].account(AccountKind::Batch, "rg", "batch1");
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        for env in &envs {
            let (a, barrier) = (&a, &barrier);
            s.spawn(move || {
                barrier.wait();
                for _ in 0..20 {
                    env.core.read_keys(&actor(), a).expect("read keys");
                }
            });
        }
    });
    let chain = reader.activity_chain().expect("chain");
    assert_eq!(verify_chain(&chain), Ok(chain.entries.len() as u64));
    assert!(chain.entries.len() >= 40);
}

/// A retention purge removes old entries and what stays still verifies.
pub fn a_purge_keeps_the_chain_verifiable(make: MakeStore<'_>) {
    let tmp = scratch();
    let store = make(&tmp.path().join("db"));
    let clock = Arc::new(crate::TickingClock::new());
    let env = Env::with_clock(
        store.clone(),
        Arc::new(crate::MemoryLedger::default()),
        clock.clone(),
    );
    let a = env.account(AccountKind::Ai, "rg", "ai1");
    for _ in 0..3 {
        env.core.read_keys(&actor(), &a).expect("read keys");
    }
    let before = store.activity_chain().expect("chain").entries.len();
    clock.advance(time::Duration::days(2));
    env.core.read_keys(&actor(), &a).expect("read keys");
    assert_eq!(env.core.prune_activity(1).expect("pruned"), before as u64);
    let chain = store.activity_chain().expect("chain");
    assert_eq!(chain.entries.len(), 1);
    assert_eq!(verify_chain(&chain), Ok(1));
    env.core.read_keys(&actor(), &a).expect("read keys");
    let chain = store.activity_chain().expect("chain");
    assert_eq!(verify_chain(&chain), Ok(2));
    assert_eq!(env.core.prune_activity(1).expect("nothing to prune"), 0);
}

/// Automatic actions name keyrotor: a break-glass window's end is recorded
/// once (two clients running the check), at the time it ended; a window
/// still open is not.
pub fn break_glass_expiry_is_recorded_once_by_keyrotor(make: MakeStore<'_>) {
    let tmp = scratch();
    let path = tmp.path().join("db");
    let store = make(&path);
    let clock = Arc::new(crate::TickingClock::new());
    let env = Env::with_clock(
        store.clone(),
        Arc::new(crate::MemoryLedger::default()),
        clock.clone(),
    );
    // A second client of the database, on the same clock.
    let other = Env::with_clock(
        make(&path),
        Arc::new(crate::MemoryLedger::default()),
        clock.clone(),
    );
    let g = env.group("rg");
    let ends = env.core.now().unix_timestamp() + 60;
    let spec = |name: &str, until: i64| {
        let mut spec = crate::account_spec();
        spec.settings.disable_local_auth = true;
        spec.settings.local_auth_reenabled_until = Some(until);
        (
            AccountName::parse(AccountKind::Ai, name).expect("a name"),
            spec,
        )
    };
    for (name, until) in [("ai1", ends), ("ai2", ends + 86_400)] {
        let (n, s) = spec(name, until);
        env.core
            .put_account(
                &env.dir,
                &actor(),
                AccountKind::Ai,
                &env.dir.subscription_id,
                &g,
                &n,
                s,
            )
            .expect("an account in break-glass");
    }
    assert_eq!(
        env.core.record_break_glass_expiries(90).expect("checked"),
        0
    );
    clock.advance(time::Duration::seconds(120));
    let counts: Vec<usize> = std::thread::scope(|s| {
        let a = s.spawn(|| env.core.record_break_glass_expiries(90).expect("checked"));
        let b = s.spawn(|| other.core.record_break_glass_expiries(90).expect("checked"));
        vec![
            a.join().expect("the first check"),
            b.join().expect("the second check"),
        ]
    });
    let all: Vec<AuditEvent> = env
        .core
        .activity(&ActivityQuery::default(), 1000)
        .expect("entries")
        .into_iter()
        .map(|r| r.event)
        .collect();
    let expired: Vec<&AuditEvent> = all
        .iter()
        .filter(|e| e.action == "localAuth.breakGlass.expired")
        .collect();
    assert_eq!(expired.len(), 1, "{expired:?} (recorded {counts:?})");
    assert_eq!(counts.iter().sum::<usize>(), 1, "{counts:?}");
    let e = expired[0];
    assert_eq!(e.actor, keyrotor_core::activity::SYSTEM_CALLER);
    assert_eq!(e.at.unix_timestamp(), ends);
    assert!(e
        .resource_id
        .ends_with("/providers/Microsoft.CognitiveServices/accounts/ai1"));
    assert_eq!(
        e.operation,
        "Microsoft.CognitiveServices/accounts/localAuth/breakGlassExpired/action"
    );
    assert_eq!(
        env.core.record_break_glass_expiries(90).expect("checked"),
        0
    );
    let chain = store.activity_chain().expect("chain");
    assert_eq!(verify_chain(&chain), Ok(chain.entries.len() as u64));
}
