//! The ARM surface keyrotor knows, as one enum, with what each operation
//! needs (its action, scope, resource id); the one parser from (method,
//! path) to it is in `route.rs`. ARM paths are case-insensitive; names keep the
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

mod route;
pub use route::{has_dot_segment, split_path};

#[cfg(test)]
mod tests;
