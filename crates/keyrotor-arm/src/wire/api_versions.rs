//! The api-version of each resource provider: the versions keyrotor
//! implements and the az CLI and the Azure SDKs send, which the CLI sends
//! too. The server accepts any (an `api-version` is required, its value
//! does not change the shapes).

use keyrotor_types::AccountKind;

/// Subscriptions, resource groups, providers and `resources`
/// (`Microsoft.Resources`).
pub const RESOURCES: &str = "2025-04-01";
/// keyrotor's own providers: `Keyrotor.Identity` (service principals, the
/// signing key) and `Keyrotor.Vault` (running rotation policies).
pub const KEYROTOR: &str = "2026-11-01";
/// Role definitions and assignments (`Microsoft.Authorization`).
pub const AUTHORIZATION: &str = "2022-04-01";
/// Vault resources (`Microsoft.KeyVault` on ARM).
pub const KEY_VAULT: &str = "2026-05-15";
/// A vault's data plane (keys, secrets, rotation policies).
pub const KEY_VAULT_DATA: &str = "2025-07-01";
/// Cosmos DB accounts (`Microsoft.DocumentDB`).
pub const COSMOS: &str = "2026-03-15";
/// Batch accounts (`Microsoft.Batch`); their data plane takes the same.
pub const BATCH: &str = "2025-06-01";
/// AI Services accounts (`Microsoft.CognitiveServices`).
pub const COGNITIVE_SERVICES: &str = "2025-09-01";

/// Each resource provider keyrotor serves, with its resource types and the
/// api-version of each (what `GET /subscriptions/{id}/providers/{ns}`
/// lists).
pub const PROVIDERS: &[(&str, &[(&str, &str)])] = &[
    (
        "Microsoft.Resources",
        &[
            ("subscriptions", RESOURCES),
            ("resourceGroups", RESOURCES),
            ("resources", RESOURCES),
            ("providers", RESOURCES),
        ],
    ),
    (
        "Microsoft.DocumentDB",
        &[
            ("databaseAccounts", COSMOS),
            ("databaseAccountNames", COSMOS),
        ],
    ),
    ("Microsoft.Batch", &[("batchAccounts", BATCH)]),
    (
        "Microsoft.CognitiveServices",
        &[("accounts", COGNITIVE_SERVICES)],
    ),
    (
        "Microsoft.KeyVault",
        &[
            ("vaults", KEY_VAULT),
            ("deletedVaults", KEY_VAULT),
            ("locations/deletedVaults", KEY_VAULT),
        ],
    ),
    (
        "Microsoft.Authorization",
        &[
            ("roleAssignments", AUTHORIZATION),
            ("roleDefinitions", AUTHORIZATION),
        ],
    ),
    (
        "Keyrotor.Identity",
        &[("servicePrincipals", KEYROTOR), ("signingKeys", KEYROTOR)],
    ),
    ("Keyrotor.Vault", &[("rotationPolicies", KEYROTOR)]),
];

/// A served provider by its namespace (case-insensitive): its canonical
/// spelling and resource types.
pub fn provider(
    namespace: &str,
) -> Option<(&'static str, &'static [(&'static str, &'static str)])> {
    PROVIDERS
        .iter()
        .find(|(ns, _)| ns.eq_ignore_ascii_case(namespace))
        .copied()
}

/// The api-version of an account kind's resource provider.
pub fn account(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Cosmos => COSMOS,
        AccountKind::Batch => BATCH,
        AccountKind::Ai => COGNITIVE_SERVICES,
    }
}
