//! Role-based access control in Azure's model: role definitions grant
//! `actions` (control plane) and `dataActions` (data planes) minus their
//! `not*` exclusions; role assignments give a principal a role at a scope
//! (`/`, a subscription, a resource group or a resource) and are inherited by
//! every scope below it. Patterns use `*` as a wildcard and compare
//! case-insensitively, as ARM does.
//!
//! Pure domain logic: no HTTP, no SQL. [`Authorizer`] is an immutable,
//! indexed snapshot of all assignments; a check costs one hash lookup per
//! ancestor scope (at most four) plus the pattern matches of the roles found.

use std::collections::HashMap;

use keyrotor_types::{AccountKind, AccountName, ResourceGroupName, SubscriptionId};
use time::OffsetDateTime;

/// The ARM provider namespace and resource type of an account kind.
pub fn provider_of(kind: AccountKind) -> (&'static str, &'static str) {
    match kind {
        AccountKind::Cosmos => ("Microsoft.DocumentDB", "databaseAccounts"),
        AccountKind::Batch => ("Microsoft.Batch", "batchAccounts"),
        AccountKind::Ai => ("Microsoft.CognitiveServices", "accounts"),
    }
}

pub fn subscription_scope(sub: &SubscriptionId) -> String {
    format!("/subscriptions/{sub}")
}

pub fn group_scope(sub: &SubscriptionId, group: &ResourceGroupName) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{group}")
}

pub fn account_scope(
    kind: AccountKind,
    sub: &SubscriptionId,
    group: &ResourceGroupName,
    name: &AccountName,
) -> String {
    let (ns, ty) = provider_of(kind);
    format!("/subscriptions/{sub}/resourceGroups/{group}/providers/{ns}/{ty}/{name}")
}

/// Whether `scope` (normalized) is one an assignment may name: the root,
/// this service's subscription, a resource group in it, or a resource in a
/// group. Whether the group or resource exists is not checked (ARM does not
/// either).
pub fn valid_assignment_scope(scope: &str, sub: &SubscriptionId) -> bool {
    if scope == "/" {
        return true;
    }
    let segs: Vec<&str> = scope[1..].split('/').collect();
    let own = sub
        .as_str()
        .eq_ignore_ascii_case(segs.get(1).copied().unwrap_or(""));
    match segs.as_slice() {
        ["subscriptions", _] => own,
        ["subscriptions", _, "resourcegroups", _] => own,
        ["subscriptions", _, "resourcegroups", _, "providers", _, _, _] => own,
        _ => false,
    }
}

/// What a role allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    pub actions: &'static [&'static str],
    pub not_actions: &'static [&'static str],
    pub data_actions: &'static [&'static str],
    pub not_data_actions: &'static [&'static str],
}

/// A role definition (all built in; custom roles are not supported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDefinition {
    /// The GUID naming the role (Azure's own GUID where Azure has the role).
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub permissions: Permissions,
}

impl RoleDefinition {
    /// Whether the role grants the control-plane `action`.
    pub fn allows(&self, action: &str) -> bool {
        let p = &self.permissions;
        p.actions.iter().any(|a| matches(a, action))
            && !p.not_actions.iter().any(|a| matches(a, action))
    }

    /// Whether the role grants the data-plane `action`.
    pub fn allows_data(&self, action: &str) -> bool {
        let p = &self.permissions;
        p.data_actions.iter().any(|a| matches(a, action))
            && !p.not_data_actions.iter().any(|a| matches(a, action))
    }
}

const NONE: &[&str] = &[];

const KEY_ACTIONS: &[&str] = &[
    "*/read",
    "Microsoft.DocumentDB/databaseAccounts/listKeys/action",
    "Microsoft.DocumentDB/databaseAccounts/readonlykeys/action",
    "Microsoft.DocumentDB/databaseAccounts/regenerateKey/action",
    "Microsoft.DocumentDB/databaseAccounts/listConnectionStrings/action",
    "Microsoft.DocumentDB/databaseAccounts/listKeyUsage/action",
    "Microsoft.Batch/batchAccounts/listKeys/action",
    "Microsoft.Batch/batchAccounts/regenerateKeys/action",
    "Microsoft.Batch/batchAccounts/listKeyUsage/action",
    "Microsoft.CognitiveServices/accounts/listKeys/action",
    "Microsoft.CognitiveServices/accounts/regenerateKey/action",
    "Microsoft.CognitiveServices/accounts/listKeyUsage/action",
];

const COSMOS_READ: &[&str] = &[
    "Microsoft.DocumentDB/databaseAccounts/readMetadata",
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/executeQuery",
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/readChangeFeed",
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/read",
];
const COSMOS_WRITE: &[&str] = &[
    "Microsoft.DocumentDB/databaseAccounts/readMetadata",
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/*",
];
const DATA_READ: &[&str] = &[
    "Microsoft.DocumentDB/databaseAccounts/readMetadata",
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/executeQuery",
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/readChangeFeed",
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/read",
    "Microsoft.Batch/batchAccounts/*/read",
    "Microsoft.CognitiveServices/accounts/data/read",
];
const DATA_WRITE: &[&str] = &[
    "Microsoft.DocumentDB/databaseAccounts/readMetadata",
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/*",
    "Microsoft.Batch/batchAccounts/*",
    "Microsoft.CognitiveServices/accounts/data/*",
];

/// The built-in roles.
pub static BUILTIN_ROLES: &[RoleDefinition] = &[
    RoleDefinition {
        id: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        name: "Owner",
        description: "Grants full access to manage all resources, including assigning roles.",
        permissions: Permissions {
            actions: &["*"],
            not_actions: NONE,
            data_actions: NONE,
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "b24988ac-6180-42a0-ab88-20f7382dd24c",
        name: "Contributor",
        description: "Grants full access to manage all resources, but not to assign roles.",
        permissions: Permissions {
            actions: &["*"],
            not_actions: &[
                "Microsoft.Authorization/*/Delete",
                "Microsoft.Authorization/*/Write",
                "Microsoft.Authorization/elevateAccess/Action",
                // The tenant's token-signing key is access management too:
                // an Entra setting, never a subscription role's.
                "Keyrotor.Identity/signingKeys/*",
            ],
            data_actions: NONE,
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        name: "Reader",
        description: "View all resources, but make no changes and read no keys.",
        permissions: Permissions {
            actions: &["*/read"],
            not_actions: NONE,
            data_actions: NONE,
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        name: "User Access Administrator",
        description: "Manage role assignments.",
        permissions: Permissions {
            actions: &["*/read", "Microsoft.Authorization/*"],
            not_actions: NONE,
            data_actions: NONE,
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "6b1c3f0e-5d2a-4a8e-9c3e-6b7e1a0f5d01",
        name: "Keyrotor Key Operator",
        description: "Read resources, list and regenerate account keys, and read key usage.",
        permissions: Permissions {
            actions: KEY_ACTIONS,
            not_actions: NONE,
            data_actions: NONE,
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "6b1c3f0e-5d2a-4a8e-9c3e-6b7e1a0f5d02",
        name: "Keyrotor Data Reader",
        description: "Read data on the Cosmos DB, Batch and AI Services data planes.",
        permissions: Permissions {
            actions: NONE,
            not_actions: NONE,
            data_actions: DATA_READ,
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "6b1c3f0e-5d2a-4a8e-9c3e-6b7e1a0f5d03",
        name: "Keyrotor Data Contributor",
        description: "Read and write data on the Cosmos DB, Batch and AI Services data planes.",
        permissions: Permissions {
            actions: NONE,
            not_actions: NONE,
            data_actions: DATA_WRITE,
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "00000000-0000-0000-0000-000000000001",
        name: "Cosmos DB Built-in Data Reader",
        description: "Read Cosmos DB metadata, items and queries.",
        permissions: Permissions {
            actions: NONE,
            not_actions: NONE,
            data_actions: COSMOS_READ,
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "00000000-0000-0000-0000-000000000002",
        name: "Cosmos DB Built-in Data Contributor",
        description: "Read and write Cosmos DB databases, containers and items.",
        permissions: Permissions {
            actions: NONE,
            not_actions: NONE,
            data_actions: COSMOS_WRITE,
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "00482a5a-887f-4fb3-b363-3b7fe8e74483",
        name: "Key Vault Administrator",
        description: "All data-plane operations on keys and secrets of a vault.",
        permissions: Permissions {
            actions: &["Microsoft.KeyVault/*/read"],
            not_actions: NONE,
            data_actions: &["Microsoft.KeyVault/vaults/*"],
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
        name: "Key Vault Crypto Officer",
        description: "All operations on the keys of a vault.",
        permissions: Permissions {
            actions: &["Microsoft.KeyVault/*/read"],
            not_actions: NONE,
            data_actions: &[
                "Microsoft.KeyVault/vaults/keys/*",
                "Microsoft.KeyVault/vaults/deletedKeys/*",
                "Microsoft.KeyVault/vaults/keyrotationpolicies/*",
            ],
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "12338af0-0e69-4776-bea7-57ae8d297424",
        name: "Key Vault Crypto User",
        description: "Read keys and use them (wrap, unwrap, encrypt, decrypt, sign, verify).",
        permissions: Permissions {
            actions: NONE,
            not_actions: NONE,
            data_actions: &[
                "Microsoft.KeyVault/vaults/keys/read",
                "Microsoft.KeyVault/vaults/keys/update/action",
                "Microsoft.KeyVault/vaults/keys/backup/action",
                "Microsoft.KeyVault/vaults/keys/encrypt/action",
                "Microsoft.KeyVault/vaults/keys/decrypt/action",
                "Microsoft.KeyVault/vaults/keys/wrap/action",
                "Microsoft.KeyVault/vaults/keys/unwrap/action",
                "Microsoft.KeyVault/vaults/keys/sign/action",
                "Microsoft.KeyVault/vaults/keys/verify/action",
            ],
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        name: "Key Vault Secrets Officer",
        description: "All operations on the secrets of a vault.",
        permissions: Permissions {
            actions: &["Microsoft.KeyVault/*/read"],
            not_actions: NONE,
            data_actions: &[
                "Microsoft.KeyVault/vaults/secrets/*",
                "Microsoft.KeyVault/vaults/deletedSecrets/*",
            ],
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "4633458b-17de-408a-b874-0445c86b69e6",
        name: "Key Vault Secrets User",
        description: "Read secret values and metadata.",
        permissions: Permissions {
            actions: NONE,
            not_actions: NONE,
            data_actions: &[
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ],
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "a97b65f3-24c7-4388-baec-2e87135dc908",
        name: "Cognitive Services User",
        description: "Use AI Services data planes (all data actions), without reading keys.",
        permissions: Permissions {
            actions: &["Microsoft.CognitiveServices/*/read"],
            not_actions: NONE,
            data_actions: &["Microsoft.CognitiveServices/*"],
            not_data_actions: NONE,
        },
    },
];

/// A built-in role by GUID (case-insensitive).
pub fn role_by_id(id: &str) -> Option<&'static RoleDefinition> {
    BUILTIN_ROLES.iter().find(|r| r.id.eq_ignore_ascii_case(id))
}

/// A built-in role by display name (case-insensitive).
pub fn role_by_name(name: &str) -> Option<&'static RoleDefinition> {
    BUILTIN_ROLES
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(name))
}

/// ARM's pattern match: `*` matches any run of characters (including `/`),
/// everything else compares ASCII case-insensitively.
pub fn matches(pattern: &str, action: &str) -> bool {
    let (p, a) = (pattern.as_bytes(), action.as_bytes());
    let Some(star) = p.iter().position(|&b| b == b'*') else {
        return p.len() == a.len() && p.eq_ignore_ascii_case(a);
    };
    // The literal prefix before the first `*` must match (cheap rejection).
    if a.len() < star || !p[..star].eq_ignore_ascii_case(&a[..star]) {
        return false;
    }
    // Iterative glob with one backtrack point (linear in practice).
    let (mut pi, mut ai) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ai < a.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ai));
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&a[ai]) {
            pi += 1;
            ai += 1;
        } else if let Some((sp, sa)) = star {
            pi = sp + 1;
            ai = sa + 1;
            star = Some((sp, sa + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// A role assignment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    /// The assignment's GUID name.
    pub name: String,
    /// The scope as given (canonical casing of the path), `/` for the root.
    pub scope: String,
    /// The principal's object id (in keyrotor: its client id).
    pub principal_id: String,
    /// GUID of the role definition.
    pub role_id: String,
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

/// Normalizes a scope for comparison: lower case, no trailing slash, `/`
/// for the root. Returns `None` for scopes ARM would not accept (empty
/// segments, not starting with `/`).
pub fn normalize_scope(scope: &str) -> Option<String> {
    if !scope.starts_with('/') {
        return None;
    }
    let trimmed = scope.trim_end_matches('/');
    if trimmed.is_empty() {
        return Some("/".into());
    }
    if trimmed[1..].split('/').any(str::is_empty) || trimmed.chars().any(char::is_control) {
        return None;
    }
    Some(trimmed.to_ascii_lowercase())
}

/// The roles one principal holds, by normalized scope.
#[derive(Debug, Default)]
struct Grants {
    /// Few scopes (the usual case): scanned in order, no hashing.
    list: Vec<(String, Vec<&'static RoleDefinition>)>,
    /// Many scopes: looked up at each ancestor of the requested scope.
    map: Option<HashMap<String, Vec<&'static RoleDefinition>>>,
}

/// Above this many scopes per principal, lookups go through the hash map.
const LINEAR_SCOPES: usize = 16;

/// Whether normalized scope `a` is `b` or one of its ancestors.
pub fn is_ancestor_or_self(a: &str, b: &str) -> bool {
    a == "/" || a == b || (b.starts_with(a) && b.as_bytes().get(a.len()) == Some(&b'/'))
}

/// Indexed snapshot of role assignments.
#[derive(Debug, Default)]
pub struct Authorizer {
    /// principal id (lower case) → the roles it holds, by scope.
    by_principal: HashMap<String, Grants>,
    /// The bootstrap administrator: Owner at `/`, always.
    admin: String,
}

impl Authorizer {
    pub fn new(admin_client_id: &str, assignments: &[RoleAssignment]) -> Self {
        let mut by_principal: HashMap<String, Grants> = HashMap::new();
        for a in assignments {
            let (Some(role), Some(scope)) = (role_by_id(&a.role_id), normalize_scope(&a.scope))
            else {
                continue;
            };
            let g = by_principal
                .entry(a.principal_id.to_ascii_lowercase())
                .or_default();
            match g.list.iter_mut().find(|(s, _)| *s == scope) {
                Some((_, roles)) => roles.push(role),
                None => g.list.push((scope, vec![role])),
            }
        }
        for g in by_principal.values_mut() {
            if g.list.len() > LINEAR_SCOPES {
                g.map = Some(std::mem::take(&mut g.list).into_iter().collect());
            }
        }
        Self {
            by_principal,
            admin: admin_client_id.to_ascii_lowercase(),
        }
    }

    /// Whether `principal` may perform `action` at `scope` (normalized with
    /// [`normalize_scope`]); `data` selects data actions.
    fn check(&self, principal: &str, scope: &str, action: &str, data: bool) -> bool {
        if !data && principal.eq_ignore_ascii_case(&self.admin) {
            return true;
        }
        let grants = if principal.bytes().all(|b| !b.is_ascii_uppercase()) {
            self.by_principal.get(principal)
        } else {
            self.by_principal.get(&principal.to_ascii_lowercase())
        };
        let Some(grants) = grants else {
            return false;
        };
        let permits = |roles: &[&'static RoleDefinition]| {
            roles.iter().any(|r| {
                if data {
                    r.allows_data(action)
                } else {
                    r.allows(action)
                }
            })
        };
        match &grants.map {
            None => grants
                .list
                .iter()
                .any(|(s, roles)| is_ancestor_or_self(s, scope) && permits(roles)),
            Some(map) => {
                let at = |s: &str| map.get(s).is_some_and(|roles| permits(roles));
                if at("/") {
                    return true;
                }
                // Every ancestor at a segment boundary, then the scope itself.
                scope
                    .bytes()
                    .enumerate()
                    .skip(1)
                    .any(|(i, b)| b == b'/' && at(&scope[..i]))
                    || (scope != "/" && at(scope))
            }
        }
    }

    /// Control-plane check.
    pub fn allows(&self, principal: &str, scope: &str, action: &str) -> bool {
        self.check(principal, scope, action, false)
    }

    /// Data-plane check. The bootstrap administrator is not exempt: like an
    /// Azure subscription owner it needs a data role to touch data.
    pub fn allows_data(&self, principal: &str, scope: &str, action: &str) -> bool {
        self.check(principal, scope, action, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matching() {
        assert!(matches("*", "Microsoft.DocumentDB/databaseAccounts/read"));
        assert!(matches(
            "*/read",
            "Microsoft.DocumentDB/databaseAccounts/read"
        ));
        assert!(!matches(
            "*/read",
            "Microsoft.DocumentDB/databaseAccounts/listKeys/action"
        ));
        assert!(matches(
            "microsoft.authorization/*/write",
            "Microsoft.Authorization/roleAssignments/write"
        ));
        assert!(matches(
            "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/*",
            "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/write"
        ));
        assert!(!matches("a*b", "ac"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("abc", "abcd"));
    }

    #[test]
    fn builtins_have_unique_ids_and_names() {
        for (i, a) in BUILTIN_ROLES.iter().enumerate() {
            for b in &BUILTIN_ROLES[i + 1..] {
                assert_ne!(a.id, b.id);
                assert_ne!(a.name, b.name);
            }
        }
    }

    #[test]
    fn reader_cannot_read_keys_and_contributor_cannot_assign() {
        let reader = role_by_name("reader").expect("reader");
        assert!(reader.allows("Microsoft.DocumentDB/databaseAccounts/read"));
        assert!(!reader.allows("Microsoft.DocumentDB/databaseAccounts/listKeys/action"));
        let contrib = role_by_name("Contributor").expect("contributor");
        assert!(contrib.allows("Microsoft.DocumentDB/databaseAccounts/listKeys/action"));
        assert!(!contrib.allows("Microsoft.Authorization/roleAssignments/write"));
        let op = role_by_name("Keyrotor Key Operator").expect("op");
        assert!(op.allows("Microsoft.Batch/batchAccounts/regenerateKeys/action"));
        assert!(!op.allows("Microsoft.Batch/batchAccounts/write"));
    }

    fn assignment(principal: &str, scope: &str, role: &str) -> RoleAssignment {
        RoleAssignment {
            name: format!("{principal}-{scope}-{role}"),
            scope: scope.into(),
            principal_id: principal.into(),
            role_id: role_by_name(role).expect("role").id.into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            created_by: "t".into(),
        }
    }

    #[test]
    fn inheritance_goes_down_only() {
        let sub = "/subscriptions/s1";
        let rg = "/subscriptions/s1/resourceGroups/RG1";
        let acct = "/subscriptions/s1/resourceGroups/RG1/providers/Microsoft.DocumentDB/databaseAccounts/a1";
        let z = Authorizer::new(
            "admin",
            &[
                assignment("p1", rg, "Reader"),
                assignment("p2", acct, "Keyrotor Key Operator"),
            ],
        );
        let n = |s: &str| normalize_scope(s).expect("scope");
        let read = "Microsoft.DocumentDB/databaseAccounts/read";
        assert!(z.allows("p1", &n(acct), read));
        assert!(z.allows(
            "P1",
            &n(rg),
            "Microsoft.Resources/subscriptions/resourceGroups/read"
        ));
        assert!(!z.allows("p1", &n(sub), read));
        // A sibling group whose name shares a prefix inherits nothing.
        assert!(!z.allows("p1", &n("/subscriptions/s1/resourceGroups/RG10"), read));
        assert!(z.allows(
            "p2",
            &n(acct),
            "Microsoft.DocumentDB/databaseAccounts/listKeys/action"
        ));
        assert!(!z.allows(
            "p2",
            &n(rg),
            "Microsoft.DocumentDB/databaseAccounts/listKeys/action"
        ));
        assert!(z.allows(
            "admin",
            &n("/"),
            "Keyrotor.Identity/servicePrincipals/write"
        ));
        assert!(!z.allows_data(
            "admin",
            &n(acct),
            "Microsoft.DocumentDB/databaseAccounts/readMetadata"
        ));
        assert!(!z.allows("nobody", &n(acct), read));
    }

    #[test]
    fn many_scopes_per_principal_use_the_index() {
        let mut v = Vec::new();
        for i in 0..100 {
            v.push(assignment(
                "p",
                &format!("/subscriptions/s1/resourceGroups/g{i}"),
                "Reader",
            ));
        }
        let z = Authorizer::new("admin", &v);
        let read = "Microsoft.DocumentDB/databaseAccounts/read";
        assert!(z.allows(
            "p",
            "/subscriptions/s1/resourcegroups/g42/providers/x/y/z",
            read
        ));
        assert!(!z.allows("p", "/subscriptions/s1/resourcegroups/g420", read));
        assert!(!z.allows("p", "/subscriptions/s1", read));
    }

    #[test]
    fn scopes_normalize() {
        assert_eq!(normalize_scope("/").as_deref(), Some("/"));
        assert_eq!(
            normalize_scope("/Subscriptions/X/").as_deref(),
            Some("/subscriptions/x")
        );
        assert_eq!(normalize_scope("subscriptions/x"), None);
        assert_eq!(normalize_scope("/subscriptions//x"), None);
    }
}
