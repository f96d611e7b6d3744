//! Activity-log entries as Azure Monitor's `EventData`.

use std::collections::BTreeMap;

use keyrotor_core::activity::{
    provider_of, resource_group_of, subscription_of, ActivityRecord, ActivityStatus,
};

use crate::wire::monitor::{EventData, LocalizableString, SenderAuthorization};
use crate::wire::Timestamp;

/// .NET ticks (100 ns since 0001-01-01) at the Unix epoch: Azure's event ids
/// end in the event's ticks.
const TICKS_AT_UNIX_EPOCH: i128 = 621_355_968_000_000_000;

/// The resource type an operation acts on (`Microsoft.DocumentDB/databaseAccounts`
/// for `…/databaseAccounts/regenerateKey/action`).
fn resource_type(operation: &str) -> String {
    let mut parts: Vec<&str> = operation.split('/').collect();
    let drop = if parts.last() == Some(&"action") {
        2
    } else {
        1
    };
    parts.truncate(parts.len().saturating_sub(drop).max(1));
    parts.join("/")
}

/// A GUID-shaped id for the entry: from its chain hash, else its sequence.
fn event_data_id(r: &ActivityRecord) -> String {
    let hex = match r.hash.as_deref() {
        Some(h) if h.len() >= 32 => h[..32].to_string(),
        _ => format!("{:032x}", r.seq),
    };
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The entry as `EventData` (an Administrative event, `EndRequest`).
pub fn event_data(r: &ActivityRecord, tenant_id: &str) -> EventData {
    let e = &r.event;
    let id = event_data_id(r);
    let ticks = e.at.unix_timestamp_nanos() / 100 + TICKS_AT_UNIX_EPOCH;
    let status_text = e.http_status.map(|s| {
        http::StatusCode::from_u16(s)
            .ok()
            .and_then(|c| c.canonical_reason())
            .unwrap_or("")
            .replace(' ', "")
    });
    let mut properties = BTreeMap::new();
    properties.insert("eventCategory".to_string(), "Administrative".to_string());
    properties.insert("entity".to_string(), e.resource_id.clone());
    properties.insert("message".to_string(), e.operation.clone());
    properties.insert("keyrotorAction".to_string(), e.action.clone());
    if !e.detail.is_empty() {
        properties.insert("keyrotorDetail".to_string(), e.detail.clone());
    }
    properties.insert("sequenceNumber".to_string(), r.seq.to_string());
    if let Some(t) = &status_text {
        properties.insert("statusCode".to_string(), t.clone());
    }
    EventData {
        authorization: Some(SenderAuthorization {
            action: Some(e.operation.clone()),
            scope: Some(e.resource_id.clone()),
        }),
        caller: Some(e.actor.clone()),
        channels: Some("Operation".into()),
        category: Some(LocalizableString::new("Administrative")),
        correlation_id: Some(e.correlation_id.clone()),
        description: Some(String::new()),
        event_data_id: Some(id.clone()),
        event_name: Some(LocalizableString {
            value: "EndRequest".into(),
            localized_value: Some("End request".into()),
        }),
        event_timestamp: Some(Timestamp(e.at)),
        id: Some(format!("{}/events/{id}/ticks/{ticks}", e.resource_id)),
        level: Some(
            match e.status {
                ActivityStatus::Succeeded => "Informational",
                ActivityStatus::Failed => "Error",
            }
            .into(),
        ),
        operation_id: Some(e.correlation_id.clone()),
        operation_name: Some(LocalizableString::new(e.operation.clone())),
        properties: Some(properties),
        resource_group_name: resource_group_of(&e.resource_id).map(str::to_string),
        resource_provider_name: Some(LocalizableString::new(provider_of(&e.operation))),
        resource_type: Some(LocalizableString::new(resource_type(&e.operation))),
        resource_id: Some(e.resource_id.clone()),
        status: Some(LocalizableString::new(e.status.as_str())),
        sub_status: Some(match (e.http_status, status_text) {
            (Some(code), Some(text)) => LocalizableString {
                localized_value: Some(format!("{text} (HTTP Status Code: {code})")),
                value: text,
            },
            _ => LocalizableString::new(""),
        }),
        submission_timestamp: Some(Timestamp(e.at)),
        subscription_id: subscription_of(&e.resource_id).map(str::to_string),
        tenant_id: Some(tenant_id.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_of_operations() {
        assert_eq!(
            resource_type("Microsoft.DocumentDB/databaseAccounts/regenerateKey/action"),
            "Microsoft.DocumentDB/databaseAccounts"
        );
        assert_eq!(
            resource_type("Microsoft.KeyVault/vaults/write"),
            "Microsoft.KeyVault/vaults"
        );
        assert_eq!(resource_type("Keyrotor"), "Keyrotor");
    }
}
