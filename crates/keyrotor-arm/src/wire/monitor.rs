//! Azure Monitor's activity log on the wire (`ActivityLogs_List`,
//! api-version 2015-04-01): `EventDataCollection` of `EventData`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// Azure Monitor's api-version of the activity-log list.
pub const ACTIVITY_LOG_API_VERSION: &str = "2015-04-01";

/// `{value, localizedValue}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalizableString {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localized_value: Option<String>,
}

impl LocalizableString {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        Self {
            localized_value: Some(value.clone()),
            value,
        }
    }
}

/// `SenderAuthorization`: the action and scope the caller was authorized for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SenderAuthorization {
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// One activity-log entry (`EventData`). Every field is optional on read:
/// `$select` returns only the properties asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<SenderAuthorization>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<LocalizableString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_data_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_name: Option<LocalizableString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_timestamp: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<LocalizableString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_provider_name: Option<LocalizableString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<LocalizableString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<LocalizableString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_status: Option<LocalizableString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission_timestamp: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// The properties `$select` may name, as the wire spells them (Azure's
/// list, and the other properties of `EventData`).
pub const SELECTABLE: [&str; 25] = [
    "authorization",
    "caller",
    "category",
    "channels",
    "id",
    "resourceType",
    "tenantId",
    "claims",
    "correlationId",
    "description",
    "eventDataId",
    "eventName",
    "eventTimestamp",
    "httpRequest",
    "level",
    "operationId",
    "operationName",
    "properties",
    "resourceGroupName",
    "resourceProviderName",
    "resourceId",
    "status",
    "submissionTimestamp",
    "subStatus",
    "subscriptionId",
];

impl EventData {
    /// Keeps only the properties named (`$select`, already checked against
    /// [`SELECTABLE`]; `claims` and `httpRequest` keyrotor does not record).
    pub fn select(self, names: &[&str]) -> EventData {
        fn keep<T>(names: &[&str], n: &str, v: Option<T>) -> Option<T> {
            v.filter(|_| names.iter().any(|x| x.eq_ignore_ascii_case(n)))
        }
        EventData {
            authorization: keep(names, "authorization", self.authorization),
            caller: keep(names, "caller", self.caller),
            channels: keep(names, "channels", self.channels),
            category: keep(names, "category", self.category),
            correlation_id: keep(names, "correlationId", self.correlation_id),
            description: keep(names, "description", self.description),
            event_data_id: keep(names, "eventDataId", self.event_data_id),
            event_name: keep(names, "eventName", self.event_name),
            event_timestamp: keep(names, "eventTimestamp", self.event_timestamp),
            id: keep(names, "id", self.id),
            level: keep(names, "level", self.level),
            operation_id: keep(names, "operationId", self.operation_id),
            operation_name: keep(names, "operationName", self.operation_name),
            properties: keep(names, "properties", self.properties),
            resource_group_name: keep(names, "resourceGroupName", self.resource_group_name),
            resource_provider_name: keep(
                names,
                "resourceProviderName",
                self.resource_provider_name,
            ),
            resource_type: keep(names, "resourceType", self.resource_type),
            resource_id: keep(names, "resourceId", self.resource_id),
            status: keep(names, "status", self.status),
            sub_status: keep(names, "subStatus", self.sub_status),
            submission_timestamp: keep(names, "submissionTimestamp", self.submission_timestamp),
            subscription_id: keep(names, "subscriptionId", self.subscription_id),
            tenant_id: keep(names, "tenantId", self.tenant_id),
        }
    }
}

/// `EventDataCollection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDataCollection {
    pub value: Vec<EventData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}
