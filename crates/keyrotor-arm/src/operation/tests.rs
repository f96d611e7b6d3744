use super::*;

const SUB: &str = "/subscriptions/00000000-0000-0000-0000-000000000001";

#[test]
fn dot_segments_are_found_in_every_spelling() {
    for p in [
        "/subscriptions/x/resourceGroups/../providers",
        "/subscriptions/./x",
        "/subscriptions/%2e%2e/x",
        "/subscriptions/.%2E/x",
        "/subscriptions/..;a/x",
        "/..",
    ] {
        assert!(has_dot_segment(p), "{p}");
    }
    for p in [
        "/subscriptions/x/resourceGroups/a..b",
        "/",
        "/subscriptions/...",
        "/.well",
    ] {
        assert!(!has_dot_segment(p), "{p}");
    }
}

fn op(method: Method, path: &str) -> Result<Operation, Unrouted> {
    let segs = split_path(path).unwrap_or_default();
    Operation::parse(&method, &segs)
}

/// Example URLs as the official Python SDKs send them (azure-mgmt-resource
/// 26.0.0, azure-mgmt-cosmosdb 10.0.0, azure-mgmt-batch 19.0.0,
/// azure-mgmt-cognitiveservices 14.1.0; conformance/ drives them).
#[test]
fn sdk_example_urls_route() {
    let rg = format!("{SUB}/resourcegroups/rg1");
    assert!(matches!(
        op(Method::PUT, &rg),
        Ok(Operation::ResourceGroupsCreateOrUpdate { .. })
    ));
    assert!(matches!(
        op(Method::HEAD, &rg),
        Ok(Operation::ResourceGroupsCheckExistence { .. })
    ));
    assert!(matches!(
        op(Method::DELETE, &format!("{SUB}/resourceGroups/rg1")),
        Ok(Operation::ResourceGroupsDelete { .. })
    ));
    let cosmos =
        format!("{SUB}/resourceGroups/rg1/providers/Microsoft.DocumentDB/databaseAccounts/acct1");
    assert!(
        matches!(op(Method::PUT, &cosmos), Ok(Operation::AccountsCreate(p)) if p.kind == AccountKind::Cosmos && p.name == "acct1")
    );
    assert!(matches!(
        op(Method::POST, &format!("{cosmos}/listKeys")),
        Ok(Operation::AccountsListKeys(_))
    ));
    assert!(matches!(
        op(Method::GET, &format!("{cosmos}/readonlykeys")),
        Ok(Operation::AccountsListReadOnlyKeys(_))
    ));
    assert!(matches!(
        op(Method::POST, &format!("{cosmos}/regenerateKey")),
        Ok(Operation::AccountsRegenerateKey(_))
    ));
    assert!(matches!(
        op(Method::POST, &format!("{cosmos}/listConnectionStrings")),
        Ok(Operation::AccountsListConnectionStrings(_))
    ));
    let batch = format!("{SUB}/resourceGroups/rg1/providers/Microsoft.Batch/batchAccounts/ba1");
    assert!(
        matches!(op(Method::POST, &format!("{batch}/regenerateKeys")), Ok(Operation::AccountsRegenerateKey(p)) if p.kind == AccountKind::Batch)
    );
    assert_eq!(
        op(Method::POST, &format!("{batch}/regenerateKey")),
        Err(Unrouted::NotImplemented(
            "Microsoft.Batch/batchAccounts/regenerateKey".into()
        ))
    );
    let ai = format!("{SUB}/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts/ai1");
    assert!(
        matches!(op(Method::POST, &format!("{ai}/regenerateKey")), Ok(Operation::AccountsRegenerateKey(p)) if p.kind == AccountKind::Ai)
    );
    assert!(matches!(
        op(
            Method::GET,
            &format!("{SUB}/providers/Microsoft.DocumentDB/databaseAccounts")
        ),
        Ok(Operation::AccountsList { group: None, .. })
    ));
    assert!(matches!(
        op(
            Method::HEAD,
            "/providers/Microsoft.DocumentDB/databaseAccountNames/acct1"
        ),
        Ok(Operation::CheckNameExists { .. })
    ));
}

#[test]
fn case_insensitive_literals_and_unknown_surface() {
    let p = format!(
        "{SUB}/RESOURCEGROUPS/rg1/PROVIDERS/microsoft.documentdb/DATABASEACCOUNTS/a1/LISTKEYS"
    );
    assert!(matches!(
        op(Method::POST, &p),
        Ok(Operation::AccountsListKeys(_))
    ));
    let sql = format!("{SUB}/resourceGroups/rg1/providers/Microsoft.DocumentDB/databaseAccounts/a1/sqlDatabases/db1");
    assert!(matches!(
        op(Method::PUT, &sql),
        Err(Unrouted::NotImplemented(_))
    ));
    assert!(matches!(
        op(
            Method::PUT,
            &format!("{SUB}/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/s1")
        ),
        Err(Unrouted::NotImplemented(_))
    ));
    assert_eq!(op(Method::GET, "/nothing/here"), Err(Unrouted::NoRoute));
    assert_eq!(
        op(Method::POST, &format!("{SUB}/resourcegroups/rg1")),
        Err(Unrouted::MethodNotAllowed)
    );
    assert_eq!(
        op(
            Method::GET,
            &format!("{SUB}/resourceGroups/rg1/providers/Microsoft.Batch/batchAccounts/b/listKeys")
        ),
        Err(Unrouted::MethodNotAllowed)
    );
}

#[test]
fn path_splitting_refuses_smuggled_separators() {
    assert_eq!(
        split_path("/a/b%20c/"),
        Some(vec!["a".to_string(), "b c".to_string()])
    );
    assert_eq!(split_path("/a%2Fb"), None);
    assert_eq!(split_path("/a%0Ab"), None);
    assert_eq!(split_path("/%FF"), None);
}

#[test]
fn operation_names_spell_their_variants() {
    for name in Operation::ALL {
        assert_eq!(format!("{name:?}"), name.as_str());
    }
    assert_eq!(
        op(
            Method::POST,
            &format!("{SUB}/resourceGroups/rg1/providers/Microsoft.Batch/batchAccounts/b/listKeys")
        )
        .map(|o| o.name()),
        Ok(OperationName::AccountsListKeys)
    );
}

#[test]
fn every_operation_declares_an_action() {
    let cosmos =
        format!("{SUB}/resourceGroups/rg1/providers/Microsoft.DocumentDB/databaseAccounts/acct1");
    assert_eq!(
        op(Method::POST, &format!("{cosmos}/listKeys")).map(|o| o.required_action()),
        Ok("Microsoft.DocumentDB/databaseAccounts/listKeys/action".to_string())
    );
}

#[test]
fn every_served_provider_routes_to_the_provider_operations() {
    for (ns, _) in crate::wire::api_versions::PROVIDERS {
        let path = format!("{SUB}/providers/{ns}");
        assert!(
            matches!(op(Method::GET, &path), Ok(Operation::ProvidersGet { .. })),
            "GET {path}"
        );
        assert!(
            matches!(
                op(Method::POST, &format!("{path}/register")),
                Ok(Operation::ProvidersRegister { .. })
            ),
            "POST {path}/register"
        );
    }
}
