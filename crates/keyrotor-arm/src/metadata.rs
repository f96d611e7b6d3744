//! Unauthenticated discovery documents served beside ARM.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::state::ArmState;
use crate::wire::metadata::{Authentication, CloudMetadata, Suffixes};

/// The cloud metadata document that `az cloud register` reads
/// (`GET {arm}/metadata/endpoints`). No authentication, as in Azure.
pub(crate) async fn metadata_endpoints(State(st): State<Arc<ArmState>>) -> Response {
    let url = st.endpoints.arm().to_string();
    // Where vaults really live (`{vault}.vault.localhost:PORT` by default),
    // so that `az keyvault … --vault-name` reaches this service.
    let vault_suffix = format!("{}{}", st.endpoints.vault_suffix(), st.endpoints.port);
    let doc = CloudMetadata {
        name: "keyrotor".into(),
        portal: url.clone(),
        authentication: Authentication {
            login_endpoint: url.clone(),
            audiences: vec![
                "https://management.core.windows.net/".into(),
                "https://management.azure.com/".into(),
            ],
            tenant: st.dir.tenant_id.clone(),
            identity_provider: "AAD".into(),
        },
        resource_manager: format!("{url}/"),
        batch: "https://batch.core.windows.net/".into(),
        // az sends Graph requests to this URL (trailing slash trimmed) and
        // asks for tokens with it as the resource.
        microsoft_graph_resource_id: st.endpoints.graph_resource(),
        suffixes: Suffixes {
            key_vault_dns: vault_suffix,
            storage: "core.windows.net".into(),
            acr_login_server: "azurecr.io".into(),
            sql_server_hostname: "database.windows.net".into(),
        },
    };
    // Through `Value`, as every answer: keys in sorted order.
    Json(serde_json::to_value(doc).unwrap_or_default()).into_response()
}
