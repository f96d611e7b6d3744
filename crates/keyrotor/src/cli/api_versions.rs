//! Every api-version the CLI sends, in one place. They are the versions the
//! service implements (and the az CLI and the Azure SDKs send) for each
//! resource provider.

use keyrotor_types::AccountKind;

/// Resource groups (`Microsoft.Resources`).
pub(super) const API_RG: &str = "2025-04-01";
/// keyrotor's own providers: `Keyrotor.Identity` (service principals, the
/// signing key) and `Keyrotor.Vault` (running rotation policies).
pub(super) const API_IDENTITY: &str = "2026-11-01";
/// Role definitions and assignments (`Microsoft.Authorization`).
pub(super) const API_AUTHZ: &str = "2022-04-01";
/// Vault resources (`Microsoft.KeyVault` on ARM).
pub(super) const API_KV_MGMT: &str = "2026-05-15";
/// A vault's data plane (keys, secrets, rotation policies).
pub(super) const API_KV: &str = "2025-07-01";

/// The accounts of a kind (their resource provider's version).
pub(super) fn account(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Cosmos => "2026-03-15",
        AccountKind::Batch => "2025-06-01",
        AccountKind::Ai => "2025-09-01",
    }
}
