//! The directory lookups Graph is served from: principals by object id,
//! application id, service principal name and display name; `getByIds`
//! (order, duplicates, unknown ids, limits); and who may read (any
//! principal that still exists).

use std::sync::Arc;

use keyrotor_core::directory::{PrincipalQuery, MAX_IDS_PER_LOOKUP};
use keyrotor_core::{Actor, Error};
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_testkit::{scratch, Env};

const UNKNOWN: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

#[test]
fn principals_are_found_by_each_name_and_only_members_read() {
    let tmp = scratch();
    let env = Env::new(Arc::new(
        SqliteStore::open(&tmp.path().join("db")).expect("store"),
    ));
    let admin = Actor::new(env.dir.admin_client_id.clone());
    let (p, _, _) = env
        .core
        .create_principal(&admin, "Billing Service", None)
        .expect("principal");
    let id = p.client_id.clone();
    let member = Actor::new(id.clone());

    for q in [
        PrincipalQuery::ObjectId(id.to_uppercase()),
        PrincipalQuery::AppId(id.clone()),
        PrincipalQuery::ServicePrincipalName(id.to_uppercase()),
        PrincipalQuery::DisplayName("billing service".into()),
        PrincipalQuery::DisplayNameStartsWith("Bill".into()),
    ] {
        let found = env.core.find_principals(&member, &q).expect("lookup");
        assert_eq!(found.len(), 1, "{q:?}");
        assert_eq!(
            (found[0].object_id.as_str(), found[0].app_id.as_str()),
            (id.as_str(), id.as_str())
        );
        assert_eq!(found[0].names, std::slice::from_ref(&id));
    }
    for q in [
        PrincipalQuery::AppId(UNKNOWN.into()),
        PrincipalQuery::AppId("not-a-guid".into()),
        PrincipalQuery::ServicePrincipalName("Billing Service".into()),
        PrincipalQuery::DisplayName("Billing".into()),
    ] {
        assert!(
            env.core
                .find_principals(&member, &q)
                .expect("lookup")
                .is_empty(),
            "{q:?}"
        );
    }
    let all = env
        .core
        .find_principals(&member, &PrincipalQuery::All)
        .expect("all");
    assert_eq!(
        all.iter().map(|p| p.object_id.as_str()).collect::<Vec<_>>(),
        [env.dir.admin_client_id.as_str(), id.as_str()],
        "oldest first"
    );

    let one = env
        .core
        .directory_principal(&member, &id.to_uppercase())
        .expect("by id");
    assert_eq!(one.display_name, "Billing Service");
    assert!(matches!(
        env.core.directory_principal(&member, UNKNOWN),
        Err(Error::PrincipalNotFound(_))
    ));
    assert!(matches!(
        env.core.directory_principal(&member, "x"),
        Err(Error::InvalidInput(_))
    ));

    // getByIds: in the order asked, once each, unknown ids left out.
    let ids = [
        id.to_uppercase(),
        UNKNOWN.to_string(),
        env.dir.admin_client_id.clone(),
        id.clone(),
    ];
    let got = env
        .core
        .directory_objects_by_ids(&member, &ids)
        .expect("by ids");
    assert_eq!(
        got.iter().map(|p| p.object_id.as_str()).collect::<Vec<_>>(),
        [id.as_str(), env.dir.admin_client_id.as_str()]
    );
    assert!(matches!(
        env.core
            .directory_objects_by_ids(&member, &[id.clone(), "nope".into()]),
        Err(Error::InvalidInput(_))
    ));
    let too_many = vec![UNKNOWN.to_string(); MAX_IDS_PER_LOOKUP + 1];
    assert!(matches!(
        env.core.directory_objects_by_ids(&member, &too_many),
        Err(Error::InvalidInput(_))
    ));

    // Who reads: principals of the directory only; a deleted one no more.
    for stranger in [Actor::new(UNKNOWN), Actor::new("system")] {
        assert!(matches!(
            env.core.find_principals(&stranger, &PrincipalQuery::All),
            Err(Error::NotInDirectory(_))
        ));
        assert!(matches!(
            env.core.directory_principal(&stranger, &id),
            Err(Error::NotInDirectory(_))
        ));
    }
    env.core.delete_principal(&admin, &id).expect("delete");
    assert!(matches!(
        env.core.directory_objects_by_ids(&member, &ids),
        Err(Error::NotInDirectory(_))
    ));
    assert!(matches!(
        env.core.directory_principal(&admin, &id),
        Err(Error::PrincipalNotFound(_))
    ));
}
