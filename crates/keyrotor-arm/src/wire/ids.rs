//! ARM resource types and resource ids (which are also the request paths).
//!
//! The segments are given as they go on the wire: the server passes
//! validated names, the CLI percent-encoded ones. The provider namespace
//! and type of each account kind come from `keyrotor_core::rbac::provider_of`
//! (the core builds the same ids as RBAC scopes).

use keyrotor_types::AccountKind;

pub const SUBSCRIPTIONS: &str = "Microsoft.Resources/subscriptions";
pub const RESOURCE_GROUPS: &str = "Microsoft.Resources/resourceGroups";
pub const KEY_VAULT: &str = "Microsoft.KeyVault";
pub const VAULTS: &str = "Microsoft.KeyVault/vaults";
pub const DELETED_VAULTS: &str = "Microsoft.KeyVault/deletedVaults";
pub const AUTHORIZATION: &str = "Microsoft.Authorization";
pub const ROLE_ASSIGNMENTS: &str = "Microsoft.Authorization/roleAssignments";
pub const ROLE_DEFINITIONS: &str = "Microsoft.Authorization/roleDefinitions";

/// keyrotor's service principals (tenant level).
pub const SERVICE_PRINCIPALS: &str = "/providers/Keyrotor.Identity/servicePrincipals";
/// Starts signing tokens with a new key.
/// keyrotor's token-signing keys (`GET`: the list the JWKS publishes).
pub const SIGNING_KEYS: &str = "/providers/Keyrotor.Identity/signingKeys";
pub const ROTATE_SIGNING_KEY: &str = "/providers/Keyrotor.Identity/signingKeys/rotate";
/// Runs every vault's due key rotation policies.
pub const RUN_ROTATION_POLICIES: &str = "/providers/Keyrotor.Vault/rotationPolicies/run";

/// `Microsoft.DocumentDB/databaseAccounts` and so on.
pub fn account_type(kind: AccountKind) -> String {
    let (ns, ty) = keyrotor_core::rbac::provider_of(kind);
    format!("{ns}/{ty}")
}

pub fn subscription(sub: &str) -> String {
    format!("/subscriptions/{sub}")
}

/// `/subscriptions/{sub}/resourcegroups`: the groups of a subscription.
pub fn groups(sub: &str) -> String {
    format!("/subscriptions/{sub}/resourcegroups")
}

pub fn group(sub: &str, group: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{group}")
}

/// `{scope}/providers/{namespace/type}`: a scope's resources of one type.
fn under(scope: &str, ty: &str) -> String {
    format!("{}/providers/{ty}", scope.trim_end_matches('/'))
}

/// A resource provider of a subscription.
pub fn provider(sub: &str, namespace: &str) -> String {
    under(&subscription(sub), namespace)
}

pub fn account(sub: &str, group: &str, kind: AccountKind, name: &str) -> String {
    format!(
        "{}/{name}",
        under(&self::group(sub, group), &account_type(kind))
    )
}

/// The accounts of a kind in a group, or in the subscription.
pub fn accounts(sub: &str, group: Option<&str>, kind: AccountKind) -> String {
    under(&scope(sub, group), &account_type(kind))
}

pub fn vault(sub: &str, group: &str, name: &str) -> String {
    format!("{}/{name}", under(&self::group(sub, group), VAULTS))
}

/// The vaults of a group, or of the subscription.
pub fn vaults(sub: &str, group: Option<&str>) -> String {
    under(&scope(sub, group), VAULTS)
}

pub fn deleted_vaults(sub: &str) -> String {
    under(&subscription(sub), DELETED_VAULTS)
}

/// A soft-deleted vault (ids name its location, not its group).
pub fn deleted_vault(sub: &str, location: &str, name: &str) -> String {
    format!(
        "{}/locations/{location}/deletedVaults/{name}",
        under(&subscription(sub), KEY_VAULT)
    )
}

/// The role assignments at a scope (`/` is the root).
pub fn role_assignments(scope: &str) -> String {
    under(scope, ROLE_ASSIGNMENTS)
}

pub fn role_assignment(scope: &str, name: &str) -> String {
    format!("{}/{name}", role_assignments(scope))
}

pub fn role_definitions(scope: &str) -> String {
    under(scope, ROLE_DEFINITIONS)
}

pub fn role_definition(scope: &str, id: &str) -> String {
    format!("{}/{id}", role_definitions(scope))
}

/// The last segment of an id (a role definition's GUID, a resource's name).
pub fn last_segment(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or_default()
}

/// The resource group named in a resource id, if any.
pub fn group_of(id: &str) -> Option<&str> {
    let mut segs = id.split('/').skip(1);
    match (segs.next(), segs.next(), segs.next(), segs.next()) {
        (Some(s), Some(_), Some(g), Some(name))
            if is(s, "subscriptions") && is(g, "resourcegroups") =>
        {
            Some(name)
        }
        _ => None,
    }
}

fn is(seg: &str, lit: &str) -> bool {
    seg.eq_ignore_ascii_case(lit)
}

fn scope(sub: &str, group: Option<&str>) -> String {
    match group {
        Some(g) => self::group(sub, g),
        None => subscription(sub),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "0f3c2a1b-4d5e-4f60-8a7b-9c0d1e2f3a4b";

    #[test]
    fn ids_as_arm_spells_them() {
        assert_eq!(
            account(SUB, "rg", AccountKind::Cosmos, "c1"),
            format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/c1")
        );
        assert_eq!(
            accounts(SUB, None, AccountKind::Ai),
            format!("/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/accounts")
        );
        assert_eq!(
            vault(SUB, "rg", "kv"),
            format!(
                "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
            )
        );
        assert_eq!(
            deleted_vault(SUB, "westus", "kv"),
            format!("/subscriptions/{SUB}/providers/Microsoft.KeyVault/locations/westus/deletedVaults/kv")
        );
        assert_eq!(
            role_assignment("/", "g"),
            "/providers/Microsoft.Authorization/roleAssignments/g"
        );
        assert_eq!(
            role_definition(&subscription(SUB), "r"),
            format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/r")
        );
        assert_eq!(
            provider(SUB, "Microsoft.Batch"),
            format!("/subscriptions/{SUB}/providers/Microsoft.Batch")
        );
    }

    #[test]
    fn ids_take_apart() {
        let id = account(SUB, "rg-1", AccountKind::Batch, "b1");
        assert_eq!(group_of(&id), Some("rg-1"));
        assert_eq!(group_of(&subscription(SUB)), None);
        assert_eq!(group_of("/subscriptions/x/resourcegroups/g"), Some("g"));
        assert_eq!(last_segment(&id), "b1");
    }
}
