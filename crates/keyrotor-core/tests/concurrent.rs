//! A request that acts on something another request deleted (or changed)
//! meanwhile answers what the client can see, never a server fault: the
//! store's refusal becomes the domain's not-found, and without a precise
//! mapping `Gone`/`ChangedMeanwhile` (404/409), never `Storage` (500).

use std::sync::Arc;

use keyrotor_core::store::StoreError;
use keyrotor_core::vault::Collection;
use keyrotor_core::Error;
use keyrotor_crypto::vault::KeySpec;
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_testkit::{actor, scratch, Env};

fn env(tmp: &tempfile::TempDir) -> Env {
    Env::new(Arc::new(
        SqliteStore::open(&tmp.path().join("db")).expect("store"),
    ))
}

#[test]
fn updating_a_deleted_object_is_not_found() {
    let tmp = scratch();
    let env = env(&tmp);
    let v = env.vault("rg", "kv1");
    let k = env
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
    // Another request deletes it between this one's read and its write.
    env.core
        .delete_object(&actor(), &v, Collection::Keys, "k")
        .expect("delete");
    assert!(matches!(
        env.core
            .update_object(&actor(), &v, &k, Default::default(), "{}".into()),
        Err(Error::ObjectNotFound(Collection::Keys, _))
    ));
}

#[test]
fn store_refusals_are_never_server_faults_by_default() {
    assert!(matches!(Error::from(StoreError::NotFound), Error::Gone));
    assert!(matches!(
        Error::from(StoreError::Conflict),
        Error::ChangedMeanwhile
    ));
    assert!(matches!(
        Error::from(StoreError::PreconditionFailed),
        Error::ChangedMeanwhile
    ));
    assert!(matches!(
        Error::from(StoreError::Backend("x".into())),
        Error::Storage(_)
    ));
    assert!(matches!(
        Error::from(StoreError::Unavailable("x".into())),
        Error::Unavailable(_)
    ));
}
