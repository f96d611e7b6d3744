//! Microsoft Graph v1.0 bodies as serde types: the service principal
//! resource, an entity and a collection with their `@odata.context`, the
//! `getByIds` request, and Graph's error envelope.

use serde::{Deserialize, Serialize};

/// `@odata.type` of a service principal where Graph names it (directory
/// objects of mixed types: `getByIds`, `directoryObjects/{id}`).
pub const SERVICE_PRINCIPAL_TYPE: &str = "#microsoft.graph.servicePrincipal";

/// A `microsoft.graph.servicePrincipal`, with the properties keyrotor has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    pub id: String,
    /// Always null: deleted principals are gone.
    pub deleted_date_time: Option<String>,
    pub account_enabled: bool,
    pub app_display_name: String,
    pub app_id: String,
    /// The tenant the application belongs to.
    pub app_owner_organization_id: String,
    /// RFC 3339, UTC.
    pub created_date_time: String,
    pub display_name: String,
    pub service_principal_names: Vec<String>,
    /// `Application`.
    pub service_principal_type: String,
    /// `AzureADMyOrg`: single-tenant.
    pub sign_in_audience: String,
    pub tags: Vec<String>,
}

/// One entity: `{"@odata.context": …, …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity<T> {
    #[serde(rename = "@odata.context")]
    pub context: String,
    #[serde(flatten)]
    pub value: T,
}

/// A collection: `{"@odata.context": …, "value": […]}` (one page: keyrotor
/// never sends `@odata.nextLink`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection<T> {
    #[serde(rename = "@odata.context")]
    pub context: String,
    pub value: Vec<T>,
}

/// `POST /directoryObjects/getByIds` (the CLI sends it too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetByIds {
    pub ids: Vec<String>,
    /// Resource types to return (`user`, `group`, `servicePrincipal`, …);
    /// every type when absent.
    #[serde(default)]
    pub types: Option<Vec<String>>,
}

/// Graph's error envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(rename = "innerError")]
    pub inner_error: InnerError,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InnerError {
    /// UTC, seconds, no offset (`2026-12-08T01:02:03`), as Graph writes it.
    pub date: String,
    #[serde(rename = "request-id")]
    pub request_id: String,
    #[serde(rename = "client-request-id")]
    pub client_request_id: String,
}
