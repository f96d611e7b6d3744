//! The cloud metadata document (`GET /metadata/endpoints`) that
//! `az cloud register` reads.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudMetadata {
    pub name: String,
    pub portal: String,
    pub authentication: Authentication,
    pub resource_manager: String,
    pub batch: String,
    pub microsoft_graph_resource_id: String,
    pub suffixes: Suffixes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authentication {
    pub login_endpoint: String,
    pub audiences: Vec<String>,
    pub tenant: String,
    pub identity_provider: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suffixes {
    /// Where vaults live (`.vault.localhost:PORT` by default), so that
    /// `az keyvault … --vault-name` reaches this service.
    pub key_vault_dns: String,
    pub storage: String,
    pub acr_login_server: String,
    pub sql_server_hostname: String,
}
