//! From (method, path) to an [`Operation`]: the one parser of the ARM
//! surface, and the path checks that run before it.

use http::Method;

use keyrotor_types::AccountKind;

use super::{provider_kind, AccountPath, KeyAction, Operation, Unrouted, VaultPath};

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
