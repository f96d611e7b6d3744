//! Vaults: the resource and its request body.

use super::*;

/// A vault PUT body, read.
pub struct VaultBody {
    request: wv::VaultRequest,
    settings: wv::VaultSettingsRequest,
}

impl VaultBody {
    /// `createMode: recover`: recover the soft-deleted vault instead.
    pub fn recover(&self) -> bool {
        self.settings
            .create_mode
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("recover"))
    }
}

/// Reads a vault PUT body.
pub fn vault_request(body: &[u8]) -> ArmResult<VaultBody> {
    let v = Value::Object(json_object(body)?);
    let parameters: Parameters = &[
        ("properties", "'properties' must be an object"),
        TAGS,
        (
            "properties.softDeleteRetentionInDays",
            "softDeleteRetentionInDays must be an integer between 7 and 90",
        ),
        (
            "properties.enablePurgeProtection",
            "enablePurgeProtection must be a boolean",
        ),
    ];
    let request: wv::VaultRequest = from_json(&v, parameters)?;
    let settings = from_json::<wv::VaultRequest<wv::VaultSettingsRequest>>(&v, parameters)?
        .properties
        .unwrap_or_default();
    Ok(VaultBody { request, settings })
}

/// What a vault PUT asks for. Soft delete is always on (as in Azure
/// today); the retention defaults to 90 days; purge protection stays on
/// once set (the core refuses turning it off).
pub fn vault_spec(
    body: &VaultBody,
    existing: Option<&keyrotor_core::vault::Vault>,
) -> ArmResult<keyrotor_core::vault::VaultSpec> {
    let s = &body.settings;
    if s.enable_soft_delete == Some(false) {
        return Err(ArmError::InvalidParameter(
            "soft delete cannot be disabled (enableSoftDelete must be true)".into(),
        ));
    }
    let days = match s.soft_delete_retention_in_days {
        None => existing.map_or(90, |v| v.settings.soft_delete_days),
        Some(d) if (7..=90).contains(&d) => d,
        Some(_) => {
            return Err(ArmError::InvalidParameter(
                "softDeleteRetentionInDays must be an integer between 7 and 90".into(),
            ))
        }
    };
    let purge_protection = s
        .enable_purge_protection
        .unwrap_or_else(|| existing.is_some_and(|v| v.settings.purge_protection));
    let location = match (&body.request.location, existing) {
        (Some(l), _) => l.clone(),
        (None, Some(v)) => v.location.clone(),
        (None, None) => return Err(ArmError::InvalidParameter("'location' is required".into())),
    };
    let tags = match check_tags(body.request.tags.clone())? {
        Some(t) => t,
        None => existing.map(|v| v.tags.clone()).unwrap_or_default(),
    };
    let mut doc: Map<String, Value> = existing.map(|v| stored(&v.document)).unwrap_or_default();
    let props = body.request.properties.clone().unwrap_or_default();
    doc.extend(view::<wv::StoredVaultProperties>(&props).kept);
    Ok(keyrotor_core::vault::VaultSpec {
        location,
        tags,
        document: Value::Object(doc).to_string(),
        settings: keyrotor_core::vault::VaultSettings {
            soft_delete_days: days,
            purge_protection,
        },
    })
}

pub fn vault_id(v: &keyrotor_core::vault::Vault) -> String {
    ids::vault(
        v.subscription.as_str(),
        v.resource_group.as_str(),
        v.name.as_str(),
    )
}

pub fn vault(v: &keyrotor_core::vault::Vault, ep: &Endpoints, tenant: &str) -> wv::Vault {
    let client: Map<String, Value> = stored(&v.document);
    let mut p: wv::VaultProperties = claim(with_missing(client, &VaultDefaults::default()));
    p.tenant_id = tenant.to_string();
    p.enable_soft_delete = true;
    p.soft_delete_retention_in_days = v.settings.soft_delete_days;
    p.enable_purge_protection = v.settings.purge_protection.then_some(true);
    p.enable_rbac_authorization = true;
    p.vault_uri = ep.vault(v.name.as_str());
    p.provisioning_state = SUCCEEDED.into();
    wv::Vault {
        id: vault_id(v),
        name: v.name.as_str().to_string(),
        resource_type: ids::VAULTS.into(),
        location: v.location.clone(),
        tags: v.tags.clone(),
        properties: p,
    }
}

pub fn deleted_vault(v: &keyrotor_core::vault::Vault) -> wv::DeletedVault {
    wv::DeletedVault {
        id: ids::deleted_vault(v.subscription.as_str(), &v.location, v.name.as_str()),
        name: v.name.as_str().to_string(),
        resource_type: ids::DELETED_VAULTS.into(),
        properties: wv::DeletedVaultProperties {
            vault_id: vault_id(v),
            location: v.location.clone(),
            deletion_date: v.deleted_at.map(Timestamp),
            scheduled_purge_date: v.scheduled_purge().map(Timestamp),
            tags: v.tags.clone(),
            purge_protection_enabled: v.settings.purge_protection,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regenerate_bodies() {
        let slot = |kind, s: &str| regenerate_slot(kind, s.as_bytes()).ok();
        assert_eq!(
            slot(AccountKind::Cosmos, r#"{"keyKind":"primaryReadonly"}"#),
            Some(KeySlot::PrimaryReadonly)
        );
        assert_eq!(
            slot(AccountKind::Batch, r#"{"keyName":"Secondary"}"#),
            Some(KeySlot::Secondary)
        );
        assert_eq!(
            slot(AccountKind::Ai, r#"{"keyName":"Key2"}"#),
            Some(KeySlot::Secondary)
        );
        assert!(slot(AccountKind::Batch, r#"{"keyName":"Key2"}"#).is_none());
        assert!(slot(AccountKind::Cosmos, r#"{"keyKind":"tertiary"}"#).is_none());
        assert!(slot(AccountKind::Cosmos, r#"{"keyKind":5}"#).is_none());
        assert!(slot(AccountKind::Cosmos, "{}").is_none());
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(json_object(b"").is_err());
        assert!(json_object(b"[1]").is_err());
        assert!(json_object(b"{\"a\":").is_err());
        assert!(json_object(b"{}").is_ok());
    }

    #[test]
    fn parameter_paths() {
        assert!(path_matches("tags.*", "tags.a"));
        assert!(path_matches("tags.*", "tags.a.b"));
        assert!(!path_matches("tags.*", "tags"));
        assert!(!path_matches("tags.*", "tagsx.a"));
        assert!(path_matches("properties", "properties"));
        assert!(!path_matches("properties", "properties.x"));
    }
}
