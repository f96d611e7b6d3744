//! Unauthenticated discovery documents served beside ARM.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::state::ArmState;

/// The cloud metadata document that `az cloud register` reads
/// (`GET {arm}/metadata/endpoints`). No authentication, as in Azure.
pub(crate) async fn metadata_endpoints(State(st): State<Arc<ArmState>>) -> Response {
    let url = st.endpoints.arm();
    // Where vaults really live (`{vault}.vault.localhost:PORT` by default),
    // so that `az keyvault … --vault-name` reaches this service.
    let vault_suffix = format!("{}{}", st.endpoints.vault_suffix(), st.endpoints.port);
    Json(json!({
        "name": "keyrotor",
        "portal": url,
        "authentication": {
            "loginEndpoint": url,
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": st.dir.tenant_id,
            "identityProvider": "AAD"
        },
        "resourceManager": format!("{url}/"),
        "batch": "https://batch.core.windows.net/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "suffixes": {
            "keyVaultDns": vault_suffix,
            "storage": "core.windows.net",
            "acrLoginServer": "azurecr.io",
            "sqlServerHostname": "database.windows.net"
        }
    }))
    .into_response()
}
