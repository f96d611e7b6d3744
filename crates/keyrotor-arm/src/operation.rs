//! The ARM surface keyrotor knows, as one enum, and the one parser from
//! (method, path) to it. ARM paths are case-insensitive; names keep the
//! spelling the client sent. Variant names follow ARM operationIds so that
//! grepping the REST specs finds the code.

use http::Method;
use keyrotor_types::AccountKind;

/// `/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{type}/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPath {
    pub kind: AccountKind,
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    SubscriptionsList,
    SubscriptionsGet {
        subscription: String,
    },
    ProvidersGet {
        subscription: String,
        namespace: String,
    },
    ProvidersRegister {
        subscription: String,
        namespace: String,
    },
    ResourceGroupsList {
        subscription: String,
    },
    ResourceGroupsCreateOrUpdate {
        subscription: String,
        group: String,
    },
    ResourceGroupsGet {
        subscription: String,
        group: String,
    },
    ResourceGroupsCheckExistence {
        subscription: String,
        group: String,
    },
    ResourceGroupsUpdate {
        subscription: String,
        group: String,
    },
    ResourceGroupsDelete {
        subscription: String,
        group: String,
    },
    AccountsList {
        kind: AccountKind,
        subscription: String,
        group: Option<String>,
    },
    AccountsCreate(AccountPath),
    AccountsUpdate(AccountPath),
    AccountsGet(AccountPath),
    AccountsDelete(AccountPath),
    /// Cosmos `listKeys`, Batch `listKeys` (get_keys), Cognitive `listKeys`.
    AccountsListKeys(AccountPath),
    /// Cosmos `readonlykeys` (GET and POST).
    AccountsListReadOnlyKeys(AccountPath),
    /// Cosmos `regenerateKey`, Batch `regenerateKeys`, Cognitive `regenerateKey`.
    AccountsRegenerateKey(AccountPath),
    /// Cosmos `listConnectionStrings`.
    AccountsListConnectionStrings(AccountPath),
    /// keyrotor extension, every kind: `POST {account}/listKeyUsage`.
    AccountsListKeyUsage(AccountPath),
    /// Cosmos `HEAD /providers/Microsoft.DocumentDB/databaseAccountNames/{name}`.
    CheckNameExists {
        kind: AccountKind,
        name: String,
    },
    /// keyrotor extension: `GET /providers/Keyrotor.Identity/servicePrincipals`.
    PrincipalsList,
    /// keyrotor extension: `POST /providers/Keyrotor.Identity/servicePrincipals`.
    PrincipalsCreate,
    /// keyrotor extension: `DELETE …/servicePrincipals/{clientId}`.
    PrincipalsDelete {
        client_id: String,
    },
    /// keyrotor extension: `POST …/servicePrincipals/{clientId}/addSecret`.
    PrincipalsAddSecret {
        client_id: String,
    },
    /// keyrotor extension: `POST …/servicePrincipals/{clientId}/removeSecret`.
    PrincipalsRemoveSecret {
        client_id: String,
    },
    /// keyrotor extension: `POST /providers/Keyrotor.Identity/signingKeys/rotate`.
    SigningKeysRotate,
    /// keyrotor extension: `GET /providers/Keyrotor.Identity/signingKeys`.
    SigningKeysList,
    /// `GET {scope}/providers/Microsoft.Authorization/roleAssignments`.
    RoleAssignmentsList {
        scope: String,
    },
    /// `PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
    RoleAssignmentsCreate {
        scope: String,
        name: String,
    },
    RoleAssignmentsGet {
        scope: String,
        name: String,
    },
    RoleAssignmentsDelete {
        scope: String,
        name: String,
    },
    /// `GET {scope}/providers/Microsoft.Authorization/roleDefinitions`.
    RoleDefinitionsList {
        scope: String,
    },
    RoleDefinitionsGet {
        scope: String,
        id: String,
    },
    /// Vaults_CreateOrUpdate (also `createMode: recover`).
    VaultsCreate(VaultPath),
    VaultsUpdate(VaultPath),
    VaultsGet(VaultPath),
    VaultsDelete(VaultPath),
    VaultsList {
        subscription: String,
        group: Option<String>,
    },
    VaultsListDeleted {
        subscription: String,
    },
    VaultsGetDeleted {
        subscription: String,
        name: String,
    },
    VaultsPurgeDeleted {
        subscription: String,
        name: String,
    },
    /// ManagedHsms_ListDeleted: `GET /subscriptions/{sub}/providers/Microsoft.KeyVault/deletedManagedHSMs`
    /// (`az keyvault list-deleted` asks for vaults and managed HSMs). keyrotor
    /// has no managed HSMs, so the list is always empty.
    ManagedHsmsListDeleted {
        subscription: String,
    },
    /// Resources_List: `GET /subscriptions/{sub}/resources`, and
    /// Resources_ListByResourceGroup: `GET
    /// /subscriptions/{sub}/resourceGroups/{rg}/resources` (generic view of
    /// accounts and vaults; `$filter` by group, name, location, type, tag).
    ResourcesList {
        subscription: String,
        group: Option<String>,
    },
    /// keyrotor extension: `POST /providers/Keyrotor.Vault/rotationPolicies/run`
    /// rotates every key whose rotation policy is due now (or at `at`, on a
    /// server started with `--test-clock`).
    RotationPoliciesRun,
    /// Azure Monitor `ActivityLogs_List`: `GET /subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values`
    /// (keyrotor's activity log; `$filter` required).
    ActivityLogsList {
        subscription: String,
    },
}

/// Declares [`OperationName`], one fieldless variant per [`Operation`]
/// variant, and [`OperationName::ALL`] from the same list, so no name can be
/// left out of `ALL`. [`Operation::name`] matches every `Operation` variant
/// without a wildcard: a new operation does not compile until it has a name
/// here, and then it is in `ALL` (tests/rbac.rs fails until its authorization
/// table has a request for it).
macro_rules! operation_names {
    ($($name:ident),+ $(,)?) => {
        /// Which [`Operation`] a value is, without its fields.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum OperationName {
            $($name),+
        }

        impl OperationName {
            /// Every operation keyrotor's ARM surface has, in declaration order.
            pub const ALL: &'static [OperationName] = &[$(OperationName::$name),+];

            /// The variant's name (`"AccountsListKeys"`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(OperationName::$name => stringify!($name)),+
                }
            }
        }
    };
}

operation_names!(
    SubscriptionsList,
    SubscriptionsGet,
    ProvidersGet,
    ProvidersRegister,
    ResourceGroupsList,
    ResourceGroupsCreateOrUpdate,
    ResourceGroupsGet,
    ResourceGroupsCheckExistence,
    ResourceGroupsUpdate,
    ResourceGroupsDelete,
    AccountsList,
    AccountsCreate,
    AccountsUpdate,
    AccountsGet,
    AccountsDelete,
    AccountsListKeys,
    AccountsListReadOnlyKeys,
    AccountsRegenerateKey,
    AccountsListConnectionStrings,
    AccountsListKeyUsage,
    CheckNameExists,
    PrincipalsList,
    PrincipalsCreate,
    PrincipalsDelete,
    PrincipalsAddSecret,
    PrincipalsRemoveSecret,
    SigningKeysRotate,
    SigningKeysList,
    RoleAssignmentsList,
    RoleAssignmentsCreate,
    RoleAssignmentsGet,
    RoleAssignmentsDelete,
    RoleDefinitionsList,
    RoleDefinitionsGet,
    VaultsCreate,
    VaultsUpdate,
    VaultsGet,
    VaultsDelete,
    VaultsList,
    VaultsListDeleted,
    VaultsGetDeleted,
    VaultsPurgeDeleted,
    ManagedHsmsListDeleted,
    ResourcesList,
    RotationPoliciesRun,
    ActivityLogsList,
);

/// `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultPath {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
}

/// An account action: the methods it answers and the operation it builds.
type KeyAction = (&'static [Method], fn(AccountPath) -> Operation);

/// Why a path did not map to an implemented operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unrouted {
    /// Not an ARM path at all.
    NoRoute,
    /// A path keyrotor knows but not with this method.
    MethodNotAllowed,
    /// A real ARM operation keyrotor does not implement (501).
    NotImplemented(String),
}

/// ARM resource providers and the account kind behind each.
pub fn provider_kind(namespace: &str, resource_type: &str) -> Option<AccountKind> {
    let ns = namespace.to_ascii_lowercase();
    let ty = resource_type.to_ascii_lowercase();
    match (ns.as_str(), ty.as_str()) {
        ("microsoft.documentdb", "databaseaccounts") => Some(AccountKind::Cosmos),
        ("microsoft.batch", "batchaccounts") => Some(AccountKind::Batch),
        ("microsoft.cognitiveservices", "accounts") => Some(AccountKind::Ai),
        _ => None,
    }
}

/// The provider namespace and type of an account kind, as ARM spells them.
pub fn kind_provider(kind: AccountKind) -> (&'static str, &'static str) {
    keyrotor_core::rbac::provider_of(kind)
}

fn is(seg: &str, lit: &str) -> bool {
    seg.eq_ignore_ascii_case(lit)
}

/// `Microsoft.KeyVault` routes; `None` when the path is not one.
fn parse_vault(m: &Method, s: &[&str]) -> Option<Result<Operation, Unrouted>> {
    let kv = |ns: &str| is(ns, "microsoft.keyvault");
    let not_allowed = Some(Err(Unrouted::MethodNotAllowed));
    match s {
        [sl, sub, rl, rg, pl, ns, vl, rest @ ..]
            if is(sl, "subscriptions")
                && is(rl, "resourcegroups")
                && is(pl, "providers")
                && kv(ns)
                && is(vl, "vaults") =>
        {
            let path = |name: &str| VaultPath {
                subscription: sub.to_string(),
                resource_group: rg.to_string(),
                name: name.to_string(),
            };
            match (rest, m.clone()) {
                ([], Method::GET) => Some(Ok(Operation::VaultsList {
                    subscription: sub.to_string(),
                    group: Some(rg.to_string()),
                })),
                ([], _) => not_allowed,
                ([name], Method::PUT) => Some(Ok(Operation::VaultsCreate(path(name)))),
                ([name], Method::PATCH) => Some(Ok(Operation::VaultsUpdate(path(name)))),
                ([name], Method::GET) => Some(Ok(Operation::VaultsGet(path(name)))),
                ([name], Method::DELETE) => Some(Ok(Operation::VaultsDelete(path(name)))),
                ([_], _) => not_allowed,
                (more, _) => Some(Err(Unrouted::NotImplemented(format!(
                    "Microsoft.KeyVault/vaults/{}",
                    more[1..].join("/")
                )))),
            }
        }
        [sl, sub, pl, ns, rest @ ..]
            if is(sl, "subscriptions") && is(pl, "providers") && kv(ns) =>
        {
            let subscription = sub.to_string();
            match (rest, m.clone()) {
                // The provider itself (GET) and its registration are the
                // generic provider routes'.
                ([], _) => None,
                ([r], _) if is(r, "register") => None,
                ([v], Method::GET) if is(v, "vaults") => Some(Ok(Operation::VaultsList {
                    subscription,
                    group: None,
                })),
                ([d], Method::GET) if is(d, "deletedvaults") => {
                    Some(Ok(Operation::VaultsListDeleted { subscription }))
                }
                ([d], Method::GET) if is(d, "deletedmanagedhsms") => {
                    Some(Ok(Operation::ManagedHsmsListDeleted { subscription }))
                }
                ([l, _loc, d, name], Method::GET)
                    if is(l, "locations") && is(d, "deletedvaults") =>
                {
                    Some(Ok(Operation::VaultsGetDeleted {
                        subscription,
                        name: name.to_string(),
                    }))
                }
                ([l, _loc, d, name, p], Method::POST)
                    if is(l, "locations") && is(d, "deletedvaults") && is(p, "purge") =>
                {
                    Some(Ok(Operation::VaultsPurgeDeleted {
                        subscription,
                        name: name.to_string(),
                    }))
                }
                ([v] | [v, ..], _)
                    if is(v, "vaults") || is(v, "deletedvaults") || is(v, "locations") =>
                {
                    if rest.len() <= 1 || (is(v, "locations") && rest.len() <= 5) {
                        not_allowed
                    } else {
                        Some(Err(Unrouted::NotImplemented(format!(
                            "Microsoft.KeyVault/{}",
                            rest.join("/")
                        ))))
                    }
                }
                _ => Some(Err(Unrouted::NotImplemented(format!(
                    "Microsoft.KeyVault/{}",
                    rest.join("/")
                )))),
            }
        }
        _ => None,
    }
}

impl Operation {
    /// Every operation, by name: [`OperationName::ALL`].
    pub const ALL: &'static [OperationName] = OperationName::ALL;

    /// Which operation this is. Exhaustive on purpose (no wildcard), so a
    /// new variant does not compile until it has a name in
    /// `operation_names!` and with it a place in [`Operation::ALL`].
    pub fn name(&self) -> OperationName {
        match self {
            Operation::SubscriptionsList => OperationName::SubscriptionsList,
            Operation::SubscriptionsGet { .. } => OperationName::SubscriptionsGet,
            Operation::ProvidersGet { .. } => OperationName::ProvidersGet,
            Operation::ProvidersRegister { .. } => OperationName::ProvidersRegister,
            Operation::ResourceGroupsList { .. } => OperationName::ResourceGroupsList,
            Operation::ResourceGroupsCreateOrUpdate { .. } => {
                OperationName::ResourceGroupsCreateOrUpdate
            }
            Operation::ResourceGroupsGet { .. } => OperationName::ResourceGroupsGet,
            Operation::ResourceGroupsCheckExistence { .. } => {
                OperationName::ResourceGroupsCheckExistence
            }
            Operation::ResourceGroupsUpdate { .. } => OperationName::ResourceGroupsUpdate,
            Operation::ResourceGroupsDelete { .. } => OperationName::ResourceGroupsDelete,
            Operation::AccountsList { .. } => OperationName::AccountsList,
            Operation::AccountsCreate(_) => OperationName::AccountsCreate,
            Operation::AccountsUpdate(_) => OperationName::AccountsUpdate,
            Operation::AccountsGet(_) => OperationName::AccountsGet,
            Operation::AccountsDelete(_) => OperationName::AccountsDelete,
            Operation::AccountsListKeys(_) => OperationName::AccountsListKeys,
            Operation::AccountsListReadOnlyKeys(_) => OperationName::AccountsListReadOnlyKeys,
            Operation::AccountsRegenerateKey(_) => OperationName::AccountsRegenerateKey,
            Operation::AccountsListConnectionStrings(_) => {
                OperationName::AccountsListConnectionStrings
            }
            Operation::AccountsListKeyUsage(_) => OperationName::AccountsListKeyUsage,
            Operation::CheckNameExists { .. } => OperationName::CheckNameExists,
            Operation::PrincipalsList => OperationName::PrincipalsList,
            Operation::PrincipalsCreate => OperationName::PrincipalsCreate,
            Operation::PrincipalsDelete { .. } => OperationName::PrincipalsDelete,
            Operation::PrincipalsAddSecret { .. } => OperationName::PrincipalsAddSecret,
            Operation::PrincipalsRemoveSecret { .. } => OperationName::PrincipalsRemoveSecret,
            Operation::SigningKeysRotate => OperationName::SigningKeysRotate,
            Operation::SigningKeysList => OperationName::SigningKeysList,
            Operation::RoleAssignmentsList { .. } => OperationName::RoleAssignmentsList,
            Operation::RoleAssignmentsCreate { .. } => OperationName::RoleAssignmentsCreate,
            Operation::RoleAssignmentsGet { .. } => OperationName::RoleAssignmentsGet,
            Operation::RoleAssignmentsDelete { .. } => OperationName::RoleAssignmentsDelete,
            Operation::RoleDefinitionsList { .. } => OperationName::RoleDefinitionsList,
            Operation::RoleDefinitionsGet { .. } => OperationName::RoleDefinitionsGet,
            Operation::VaultsCreate(_) => OperationName::VaultsCreate,
            Operation::VaultsUpdate(_) => OperationName::VaultsUpdate,
            Operation::VaultsGet(_) => OperationName::VaultsGet,
            Operation::VaultsDelete(_) => OperationName::VaultsDelete,
            Operation::VaultsList { .. } => OperationName::VaultsList,
            Operation::VaultsListDeleted { .. } => OperationName::VaultsListDeleted,
            Operation::VaultsGetDeleted { .. } => OperationName::VaultsGetDeleted,
            Operation::VaultsPurgeDeleted { .. } => OperationName::VaultsPurgeDeleted,
            Operation::ManagedHsmsListDeleted { .. } => OperationName::ManagedHsmsListDeleted,
            Operation::ActivityLogsList { .. } => OperationName::ActivityLogsList,
            Operation::ResourcesList { .. } => OperationName::ResourcesList,
            Operation::RotationPoliciesRun => OperationName::RotationPoliciesRun,
        }
    }

    /// Maps a request to an operation. `segments` are the percent-decoded
    /// path segments without empty ones.
    pub fn parse(method: &Method, segments: &[String]) -> Result<Operation, Unrouted> {
        let s: Vec<&str> = segments.iter().map(String::as_str).collect();
        let m = method;
        let not_allowed = Err(Unrouted::MethodNotAllowed);
        // Microsoft.Authorization is an extension provider: it hangs below
        // any scope (`{scope}/providers/Microsoft.Authorization/...`).
        // The provider itself (`/subscriptions/{sub}/providers/Microsoft.Authorization`
        // and its `register`) is the generic provider routes'.
        let provider_itself = |i: usize| {
            i == 2
                && is(s[0], "subscriptions")
                && match &s[i + 2..] {
                    [] => true,
                    [r] => is(r, "register"),
                    _ => false,
                }
        };
        if let Some(i) = (0..s.len().saturating_sub(1)).find(|&i| {
            is(s[i], "providers") && is(s[i + 1], "microsoft.authorization") && !provider_itself(i)
        }) {
            let scope = format!("/{}", s[..i].join("/"));
            return match (m.clone(), &s[i + 2..]) {
                (Method::GET, [ra]) if is(ra, "roleassignments") => {
                    Ok(Operation::RoleAssignmentsList { scope })
                }
                (Method::PUT, [ra, name]) if is(ra, "roleassignments") => {
                    Ok(Operation::RoleAssignmentsCreate {
                        scope,
                        name: name.to_string(),
                    })
                }
                (Method::GET, [ra, name]) if is(ra, "roleassignments") => {
                    Ok(Operation::RoleAssignmentsGet {
                        scope,
                        name: name.to_string(),
                    })
                }
                (Method::DELETE, [ra, name]) if is(ra, "roleassignments") => {
                    Ok(Operation::RoleAssignmentsDelete {
                        scope,
                        name: name.to_string(),
                    })
                }
                (Method::GET, [rd]) if is(rd, "roledefinitions") => {
                    Ok(Operation::RoleDefinitionsList { scope })
                }
                (Method::GET, [rd, id]) if is(rd, "roledefinitions") => {
                    Ok(Operation::RoleDefinitionsGet {
                        scope,
                        id: id.to_string(),
                    })
                }
                (_, [first] | [first, _])
                    if is(first, "roleassignments") || is(first, "roledefinitions") =>
                {
                    not_allowed
                }
                _ => Err(Unrouted::NotImplemented(format!(
                    "Microsoft.Authorization/{}",
                    s[i + 2..].join("/")
                ))),
            };
        }
        if let Some(op) = parse_vault(m, &s) {
            return op;
        }
        if let [sl, sub, pl, ns, rest @ ..] = s.as_slice() {
            if is(sl, "subscriptions") && is(pl, "providers") && is(ns, "microsoft.insights") {
                return match (rest, m.clone()) {
                    ([et, mg, v], Method::GET)
                        if is(et, "eventtypes") && is(mg, "management") && is(v, "values") =>
                    {
                        Ok(Operation::ActivityLogsList {
                            subscription: sub.to_string(),
                        })
                    }
                    ([et, mg, v], _)
                        if is(et, "eventtypes") && is(mg, "management") && is(v, "values") =>
                    {
                        not_allowed
                    }
                    _ => Err(Unrouted::NotImplemented(format!(
                        "Microsoft.Insights/{}",
                        rest.join("/")
                    ))),
                };
            }
        }
        match s.as_slice() {
            [sub_lit] if is(sub_lit, "subscriptions") => match *m {
                Method::GET => Ok(Operation::SubscriptionsList),
                _ => not_allowed,
            },
            [sub_lit, sub] if is(sub_lit, "subscriptions") => match *m {
                Method::GET => Ok(Operation::SubscriptionsGet {
                    subscription: sub.to_string(),
                }),
                _ => not_allowed,
            },
            [sub_lit, sub, res] if is(sub_lit, "subscriptions") && is(res, "resources") => match *m
            {
                Method::GET => Ok(Operation::ResourcesList {
                    subscription: sub.to_string(),
                    group: None,
                }),
                _ => not_allowed,
            },
            [sub_lit, sub, rg_lit]
                if is(sub_lit, "subscriptions") && is(rg_lit, "resourcegroups") =>
            {
                match *m {
                    Method::GET => Ok(Operation::ResourceGroupsList {
                        subscription: sub.to_string(),
                    }),
                    _ => not_allowed,
                }
            }
            [sub_lit, sub, rg_lit, rg]
                if is(sub_lit, "subscriptions") && is(rg_lit, "resourcegroups") =>
            {
                let (subscription, group) = (sub.to_string(), rg.to_string());
                match *m {
                    Method::PUT => Ok(Operation::ResourceGroupsCreateOrUpdate {
                        subscription,
                        group,
                    }),
                    Method::GET => Ok(Operation::ResourceGroupsGet {
                        subscription,
                        group,
                    }),
                    Method::HEAD => Ok(Operation::ResourceGroupsCheckExistence {
                        subscription,
                        group,
                    }),
                    Method::PATCH => Ok(Operation::ResourceGroupsUpdate {
                        subscription,
                        group,
                    }),
                    Method::DELETE => Ok(Operation::ResourceGroupsDelete {
                        subscription,
                        group,
                    }),
                    _ => not_allowed,
                }
            }
            [sub_lit, sub, rg_lit, rg, res]
                if is(sub_lit, "subscriptions")
                    && is(rg_lit, "resourcegroups")
                    && is(res, "resources") =>
            {
                match *m {
                    Method::GET => Ok(Operation::ResourcesList {
                        subscription: sub.to_string(),
                        group: Some(rg.to_string()),
                    }),
                    _ => not_allowed,
                }
            }
            [sub_lit, _sub, prov_lit, ns]
                if is(sub_lit, "subscriptions") && is(prov_lit, "providers") =>
            {
                match *m {
                    Method::GET => Ok(Operation::ProvidersGet {
                        subscription: s[1].to_string(),
                        namespace: ns.to_string(),
                    }),
                    _ => not_allowed,
                }
            }
            [sub_lit, _sub, prov_lit, ns, reg]
                if is(sub_lit, "subscriptions")
                    && is(prov_lit, "providers")
                    && is(reg, "register") =>
            {
                match *m {
                    Method::POST => Ok(Operation::ProvidersRegister {
                        subscription: s[1].to_string(),
                        namespace: ns.to_string(),
                    }),
                    _ => not_allowed,
                }
            }
            // Subscription-wide list of one resource type.
            [sub_lit, sub, prov_lit, ns, ty]
                if is(sub_lit, "subscriptions") && is(prov_lit, "providers") =>
            {
                match provider_kind(ns, ty) {
                    Some(kind) if *m == Method::GET => Ok(Operation::AccountsList {
                        kind,
                        subscription: sub.to_string(),
                        group: None,
                    }),
                    Some(_) => not_allowed,
                    None => Err(Unrouted::NotImplemented(format!("{ns}/{ty}"))),
                }
            }
            [sub_lit, _, prov_lit, ns, ..]
                if is(sub_lit, "subscriptions") && is(prov_lit, "providers") =>
            {
                Err(Unrouted::NotImplemented(format!(
                    "{ns}/{}",
                    s[4..].join("/")
                )))
            }
            [sub_lit, sub, rg_lit, rg, prov_lit, ns, ty, rest @ ..]
                if is(sub_lit, "subscriptions")
                    && is(rg_lit, "resourcegroups")
                    && is(prov_lit, "providers") =>
            {
                let Some(kind) = provider_kind(ns, ty) else {
                    return Err(Unrouted::NotImplemented(format!("{ns}/{ty}")));
                };
                let path = |name: &str| AccountPath {
                    kind,
                    subscription: sub.to_string(),
                    resource_group: rg.to_string(),
                    name: name.to_string(),
                };
                match rest {
                    [] => match *m {
                        Method::GET => Ok(Operation::AccountsList {
                            kind,
                            subscription: sub.to_string(),
                            group: Some(rg.to_string()),
                        }),
                        _ => not_allowed,
                    },
                    [name] => match *m {
                        Method::PUT => Ok(Operation::AccountsCreate(path(name))),
                        Method::PATCH => Ok(Operation::AccountsUpdate(path(name))),
                        Method::GET => Ok(Operation::AccountsGet(path(name))),
                        Method::DELETE => Ok(Operation::AccountsDelete(path(name))),
                        _ => not_allowed,
                    },
                    [name, action] => {
                        let a = action.to_ascii_lowercase();
                        // (action, methods, operation) for this kind.
                        let known: Option<KeyAction> = match (kind, a.as_str()) {
                            (_, "listkeys") => Some((&[Method::POST], Operation::AccountsListKeys)),
                            (AccountKind::Cosmos, "readonlykeys") => Some((
                                &[Method::GET, Method::POST],
                                Operation::AccountsListReadOnlyKeys,
                            )),
                            (AccountKind::Cosmos | AccountKind::Ai, "regeneratekey")
                            | (AccountKind::Batch, "regeneratekeys") => {
                                Some((&[Method::POST], Operation::AccountsRegenerateKey))
                            }
                            (AccountKind::Cosmos, "listconnectionstrings") => {
                                Some((&[Method::POST], Operation::AccountsListConnectionStrings))
                            }
                            (_, "listkeyusage") => {
                                Some((&[Method::POST], Operation::AccountsListKeyUsage))
                            }
                            _ => None,
                        };
                        match known {
                            Some((methods, make)) if methods.contains(m) => Ok(make(path(name))),
                            Some(_) => not_allowed,
                            None => Err(Unrouted::NotImplemented(format!("{ns}/{ty}/{action}"))),
                        }
                    }
                    [_, more @ ..] => Err(Unrouted::NotImplemented(format!(
                        "{ns}/{ty}/{}",
                        more.join("/")
                    ))),
                }
            }
            [prov_lit, ns, names_lit, name]
                if is(prov_lit, "providers")
                    && is(ns, "microsoft.documentdb")
                    && is(names_lit, "databaseaccountnames") =>
            {
                match *m {
                    Method::HEAD => Ok(Operation::CheckNameExists {
                        kind: AccountKind::Cosmos,
                        name: name.to_string(),
                    }),
                    _ => not_allowed,
                }
            }
            [prov_lit, ns, rest @ ..]
                if is(prov_lit, "providers") && is(ns, "keyrotor.identity") =>
            {
                match (m.clone(), rest) {
                    (Method::GET, [sp]) if is(sp, "serviceprincipals") => {
                        Ok(Operation::PrincipalsList)
                    }
                    (Method::POST, [sp]) if is(sp, "serviceprincipals") => {
                        Ok(Operation::PrincipalsCreate)
                    }
                    (Method::DELETE, [sp, id]) if is(sp, "serviceprincipals") => {
                        Ok(Operation::PrincipalsDelete {
                            client_id: id.to_string(),
                        })
                    }
                    (Method::POST, [sp, id, action])
                        if is(sp, "serviceprincipals") && is(action, "addsecret") =>
                    {
                        Ok(Operation::PrincipalsAddSecret {
                            client_id: id.to_string(),
                        })
                    }
                    (Method::POST, [sp, id, action])
                        if is(sp, "serviceprincipals") && is(action, "removesecret") =>
                    {
                        Ok(Operation::PrincipalsRemoveSecret {
                            client_id: id.to_string(),
                        })
                    }
                    (Method::POST, [sk, action])
                        if is(sk, "signingkeys") && is(action, "rotate") =>
                    {
                        Ok(Operation::SigningKeysRotate)
                    }
                    (Method::GET, [sk]) if is(sk, "signingkeys") => Ok(Operation::SigningKeysList),
                    (_, [first, ..])
                        if is(first, "serviceprincipals") || is(first, "signingkeys") =>
                    {
                        not_allowed
                    }
                    _ => Err(Unrouted::NoRoute),
                }
            }
            [prov_lit, ns, rp, run]
                if is(prov_lit, "providers")
                    && is(ns, "keyrotor.vault")
                    && is(rp, "rotationpolicies")
                    && is(run, "run") =>
            {
                match *m {
                    Method::POST => Ok(Operation::RotationPoliciesRun),
                    _ => not_allowed,
                }
            }
            [prov_lit, ..] if is(prov_lit, "providers") => {
                Err(Unrouted::NotImplemented(s.join("/")))
            }
            _ => Err(Unrouted::NoRoute),
        }
    }

    /// The ARM action a caller needs for this operation (the unit of the
    /// role-based access checks).
    pub fn required_action(&self) -> String {
        let acct = |p: &AccountPath, suffix: &str| {
            let (ns, ty) = kind_provider(p.kind);
            format!("{ns}/{ty}/{suffix}")
        };
        match self {
            Operation::SubscriptionsList | Operation::SubscriptionsGet { .. } => {
                "Microsoft.Resources/subscriptions/read".into()
            }
            Operation::ProvidersGet { .. } => "Microsoft.Resources/providers/read".into(),
            Operation::ProvidersRegister { .. } => {
                "Microsoft.Resources/providers/register/action".into()
            }
            Operation::ResourceGroupsList { .. }
            | Operation::ResourceGroupsGet { .. }
            | Operation::ResourceGroupsCheckExistence { .. } => {
                "Microsoft.Resources/subscriptions/resourceGroups/read".into()
            }
            Operation::ResourceGroupsCreateOrUpdate { .. }
            | Operation::ResourceGroupsUpdate { .. } => {
                "Microsoft.Resources/subscriptions/resourceGroups/write".into()
            }
            Operation::ResourceGroupsDelete { .. } => {
                "Microsoft.Resources/subscriptions/resourceGroups/delete".into()
            }
            Operation::AccountsList { kind, .. } => {
                let (ns, ty) = kind_provider(*kind);
                format!("{ns}/{ty}/read")
            }
            Operation::CheckNameExists { kind, .. } => {
                let (ns, ty) = kind_provider(*kind);
                format!("{ns}/{ty}/read")
            }
            Operation::AccountsCreate(p) | Operation::AccountsUpdate(p) => acct(p, "write"),
            Operation::AccountsGet(p) => acct(p, "read"),
            Operation::AccountsDelete(p) => acct(p, "delete"),
            Operation::AccountsListKeys(p) => acct(p, "listKeys/action"),
            Operation::AccountsListReadOnlyKeys(p) => acct(p, "readonlykeys/action"),
            Operation::AccountsRegenerateKey(p) => match p.kind {
                AccountKind::Batch => acct(p, "regenerateKeys/action"),
                _ => acct(p, "regenerateKey/action"),
            },
            Operation::AccountsListConnectionStrings(p) => acct(p, "listConnectionStrings/action"),
            Operation::AccountsListKeyUsage(p) => acct(p, "listKeyUsage/action"),
            Operation::PrincipalsList => "Keyrotor.Identity/servicePrincipals/read".into(),
            Operation::PrincipalsCreate => "Keyrotor.Identity/servicePrincipals/write".into(),
            // Not a role's to grant: see `owner_checked`.
            Operation::PrincipalsAddSecret { .. } | Operation::PrincipalsRemoveSecret { .. } => {
                "Keyrotor.Identity/servicePrincipals/credentials/write".into()
            }
            Operation::PrincipalsDelete { .. } => {
                "Keyrotor.Identity/servicePrincipals/delete".into()
            }
            Operation::SigningKeysRotate => "Keyrotor.Identity/signingKeys/rotate/action".into(),
            Operation::SigningKeysList => "Keyrotor.Identity/signingKeys/read".into(),
            Operation::RoleAssignmentsList { .. } | Operation::RoleAssignmentsGet { .. } => {
                "Microsoft.Authorization/roleAssignments/read".into()
            }
            Operation::RoleAssignmentsCreate { .. } => {
                "Microsoft.Authorization/roleAssignments/write".into()
            }
            Operation::RoleAssignmentsDelete { .. } => {
                "Microsoft.Authorization/roleAssignments/delete".into()
            }
            Operation::RoleDefinitionsList { .. } | Operation::RoleDefinitionsGet { .. } => {
                "Microsoft.Authorization/roleDefinitions/read".into()
            }
            Operation::VaultsCreate(_) | Operation::VaultsUpdate(_) => {
                "Microsoft.KeyVault/vaults/write".into()
            }
            Operation::VaultsGet(_) | Operation::VaultsList { .. } => {
                "Microsoft.KeyVault/vaults/read".into()
            }
            Operation::VaultsDelete(_) => "Microsoft.KeyVault/vaults/delete".into(),
            Operation::VaultsListDeleted { .. } | Operation::VaultsGetDeleted { .. } => {
                "Microsoft.KeyVault/deletedVaults/read".into()
            }
            Operation::VaultsPurgeDeleted { .. } => {
                "Microsoft.KeyVault/locations/deletedVaults/purge/action".into()
            }
            Operation::ManagedHsmsListDeleted { .. } => {
                "Microsoft.KeyVault/deletedManagedHsms/read".into()
            }
            Operation::RotationPoliciesRun => "Keyrotor.Vault/rotationPolicies/run/action".into(),
            Operation::ActivityLogsList { .. } => {
                "Microsoft.Insights/eventtypes/values/read".into()
            }
            Operation::ResourcesList { .. } => {
                "Microsoft.Resources/subscriptions/resources/read".into()
            }
        }
    }

    /// The ARM scope the operation acts on, against which the caller's role
    /// assignments are evaluated. `None`: every authenticated caller may ask
    /// (the global name check and the role definitions, as in Azure).
    pub fn scope(&self) -> Option<String> {
        let sub = |s: &str| format!("/subscriptions/{s}");
        let group = |s: &str, g: &str| format!("/subscriptions/{s}/resourceGroups/{g}");
        let acct = |p: &AccountPath| {
            let (ns, ty) = kind_provider(p.kind);
            format!(
                "/subscriptions/{}/resourceGroups/{}/providers/{ns}/{ty}/{}",
                p.subscription, p.resource_group, p.name
            )
        };
        Some(match self {
            Operation::SubscriptionsList => "/".into(),
            Operation::SubscriptionsGet { subscription }
            | Operation::ProvidersGet { subscription, .. }
            | Operation::ProvidersRegister { subscription, .. }
            | Operation::ResourceGroupsList { subscription }
            | Operation::AccountsList {
                subscription,
                group: None,
                ..
            } => sub(subscription),
            Operation::ResourceGroupsCreateOrUpdate {
                subscription,
                group: g,
            }
            | Operation::ResourceGroupsGet {
                subscription,
                group: g,
            }
            | Operation::ResourceGroupsCheckExistence {
                subscription,
                group: g,
            }
            | Operation::ResourceGroupsUpdate {
                subscription,
                group: g,
            }
            | Operation::ResourceGroupsDelete {
                subscription,
                group: g,
            }
            | Operation::AccountsList {
                subscription,
                group: Some(g),
                ..
            } => group(subscription, g),
            Operation::AccountsCreate(p)
            | Operation::AccountsUpdate(p)
            | Operation::AccountsGet(p)
            | Operation::AccountsDelete(p)
            | Operation::AccountsListKeys(p)
            | Operation::AccountsListReadOnlyKeys(p)
            | Operation::AccountsRegenerateKey(p)
            | Operation::AccountsListConnectionStrings(p)
            | Operation::AccountsListKeyUsage(p) => acct(p),
            Operation::PrincipalsList
            | Operation::PrincipalsCreate
            | Operation::SigningKeysRotate
            | Operation::SigningKeysList
            | Operation::RotationPoliciesRun => "/".into(),
            // Authorized by ownership in the core, whatever the roles.
            Operation::PrincipalsDelete { .. }
            | Operation::PrincipalsAddSecret { .. }
            | Operation::PrincipalsRemoveSecret { .. } => return None,
            Operation::RoleAssignmentsList { scope }
            | Operation::RoleAssignmentsCreate { scope, .. }
            | Operation::RoleAssignmentsGet { scope, .. }
            | Operation::RoleAssignmentsDelete { scope, .. } => scope.clone(),
            Operation::VaultsCreate(p)
            | Operation::VaultsUpdate(p)
            | Operation::VaultsGet(p)
            | Operation::VaultsDelete(p) => format!(
                "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
                p.subscription, p.resource_group, p.name
            ),
            Operation::VaultsList {
                subscription,
                group: Some(g),
            }
            | Operation::ResourcesList {
                subscription,
                group: Some(g),
            } => group(subscription, g),
            Operation::VaultsList {
                subscription,
                group: None,
            }
            | Operation::VaultsListDeleted { subscription }
            | Operation::ManagedHsmsListDeleted { subscription }
            | Operation::ActivityLogsList { subscription }
            | Operation::ResourcesList {
                subscription,
                group: None,
            }
            | Operation::VaultsGetDeleted { subscription, .. }
            | Operation::VaultsPurgeDeleted { subscription, .. } => sub(subscription),
            Operation::CheckNameExists { .. }
            | Operation::RoleDefinitionsList { .. }
            | Operation::RoleDefinitionsGet { .. } => return None,
        })
    }

    /// The resource an activity-log entry of this operation names: the
    /// resource acted on (an account for its key actions, a role
    /// assignment, a principal), else its scope.
    pub fn resource_id(&self) -> String {
        match self {
            Operation::RoleAssignmentsCreate { scope, name }
            | Operation::RoleAssignmentsGet { scope, name }
            | Operation::RoleAssignmentsDelete { scope, name } => format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/{name}",
                scope.trim_end_matches('/')
            ),
            Operation::PrincipalsDelete { client_id }
            | Operation::PrincipalsAddSecret { client_id }
            | Operation::PrincipalsRemoveSecret { client_id } => {
                format!("/providers/Keyrotor.Identity/servicePrincipals/{client_id}")
            }
            Operation::VaultsGetDeleted { subscription, name }
            | Operation::VaultsPurgeDeleted { subscription, name } => format!(
                "/subscriptions/{subscription}/providers/Microsoft.KeyVault/deletedVaults/{name}"
            ),
            Operation::CheckNameExists { name, .. } => name.clone(),
            _ => self.scope().unwrap_or_else(|| "/".into()),
        }
    }

    /// Whether this operation's success is recorded by the change it makes
    /// (or the key read), so that a failed attempt is recorded too: every
    /// operation whose action is not a read. keyrotor's key-usage report is
    /// an action that reads no key and changes nothing.
    pub fn records_activity(&self) -> bool {
        !self.required_action().ends_with("/read")
            && !matches!(
                self,
                Operation::AccountsListKeyUsage(_)
                    | Operation::ProvidersRegister { .. }
                    | Operation::CheckNameExists { .. }
            )
    }

    /// Operations authorized by who owns their target, not by a role: a
    /// service principal's secrets and its deletion belong to its owners
    /// (its creator) and the bootstrap administrator, and the
    /// administrator's own to nobody through the API (Azure keeps
    /// credential management out of ARM's roles: it is an application-owner
    /// permission). `scope()` is `None` for them; the core decides
    /// (`Keyrotor::add_principal_secret` and its siblings).
    pub fn owner_checked(&self) -> bool {
        matches!(
            self,
            Operation::PrincipalsDelete { .. }
                | Operation::PrincipalsAddSecret { .. }
                | Operation::PrincipalsRemoveSecret { .. }
        )
    }

    /// List operations answer with what the caller may read instead of 403
    /// when the caller has no read right at the list's own scope (ARM does
    /// the same for subscription-wide lists).
    pub fn filters_results(&self) -> bool {
        matches!(
            self,
            Operation::SubscriptionsList
                | Operation::ResourceGroupsList { .. }
                | Operation::AccountsList { .. }
                | Operation::VaultsList { .. }
                | Operation::ResourcesList { .. }
        )
    }
}

/// Whether a request path has a `.` or `..` segment (also percent-encoded,
/// or with a `;` parameter). keyrotor never resolves them: such a path is
/// refused as a whole (400), so no spelling of one resource reaches another.
pub fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|seg| {
        let decoded = percent_encoding::percent_decode_str(seg).decode_utf8_lossy();
        let name = decoded.split(';').next().unwrap_or_default();
        name == "." || name == ".."
    })
}

/// Splits and percent-decodes a path. Refuses encoded slashes and invalid
/// UTF-8 so one segment can never become two (or a different name).
pub fn split_path(path: &str) -> Option<Vec<String>> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|seg| {
            let decoded = percent_encoding::percent_decode_str(seg)
                .decode_utf8()
                .ok()?;
            if decoded.contains('/') || decoded.chars().any(char::is_control) {
                return None;
            }
            Some(decoded.into_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests;
