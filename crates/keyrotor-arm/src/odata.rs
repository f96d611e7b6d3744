//! The OData `$filter` subsets ARM clients send: role assignments and
//! definitions ([`rbac_filter`]) and the generic resource list
//! ([`resource_filter`]).

use crate::error::{ArmError, ArmResult};

/// The OData filters ARM clients send for role assignments and definitions:
/// `atScope()`, `principalId eq '…'`, `roleName eq '…'`, joined by `and`.
#[derive(Default)]
pub(crate) struct RbacFilter {
    pub(crate) at_scope: bool,
    pub(crate) principal: Option<String>,
    pub(crate) role_name: Option<String>,
}

pub(crate) fn rbac_filter(filter: Option<&str>) -> ArmResult<RbacFilter> {
    let mut out = RbacFilter::default();
    let Some(f) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(out);
    };
    for clause in f.split(" and ") {
        let c = clause.trim();
        if c.eq_ignore_ascii_case("atScope()") {
            out.at_scope = true;
            continue;
        }
        let quoted = |prefix: &str| -> Option<String> {
            let rest = c
                .get(..prefix.len())?
                .eq_ignore_ascii_case(prefix)
                .then(|| &c[prefix.len()..])?;
            let v = rest.trim().strip_prefix('\'')?.strip_suffix('\'')?;
            Some(v.to_string())
        };
        if let Some(v) = quoted("principalId eq ") {
            out.principal = Some(v);
        } else if let Some(v) = quoted("roleName eq ") {
            out.role_name = Some(v);
        } else {
            return Err(ArmError::InvalidParameter(format!(
                "the $filter clause '{}' is not supported (atScope(), principalId eq '…', roleName eq '…')",
                c.chars().take(100).collect::<String>()
            )));
        }
    }
    Ok(out)
}

/// The filter of the generic resource list: `resourceType eq '<type>'`
/// and `name eq '<name>'` (what `vaults.list()` and az's subscription-wide
/// vault lookup send), joined by `and`; each at most once.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ResourceFilter {
    /// The type asked for, lower-cased.
    pub(crate) resource_type: Option<String>,
    pub(crate) name: Option<String>,
}

impl ResourceFilter {
    /// Whether resources of type `ty` are wanted (ARM types are case-insensitive).
    pub(crate) fn wants_type(&self, ty: &str) -> bool {
        self.resource_type
            .as_deref()
            .is_none_or(|w| w.eq_ignore_ascii_case(ty))
    }

    /// Whether a resource named `name` is wanted (ARM names are case-insensitive).
    pub(crate) fn wants_name(&self, name: &str) -> bool {
        self.name
            .as_deref()
            .is_none_or(|w| w.eq_ignore_ascii_case(name))
    }
}

pub(crate) fn resource_filter(filter: Option<&str>) -> ArmResult<ResourceFilter> {
    let mut out = ResourceFilter::default();
    let Some(f) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(out);
    };
    let unsupported = || {
        ArmError::InvalidParameter(
            "only $filter=resourceType eq '<type>' and name eq '<name>' (joined by and) are supported"
                .into(),
        )
    };
    for clause in f.split(" and ") {
        let c = clause.trim();
        let quoted = |prefix: &str| -> Option<String> {
            let rest = c
                .get(..prefix.len())?
                .eq_ignore_ascii_case(prefix)
                .then(|| &c[prefix.len()..])?;
            let v = rest.trim().strip_prefix('\'')?.strip_suffix('\'')?;
            // One string literal: a quote inside is doubled.
            (!v.replace("''", "").contains('\'')).then(|| v.replace("''", "'"))
        };
        let (slot, value) = if let Some(v) = quoted("resourceType eq ") {
            (&mut out.resource_type, v.to_ascii_lowercase())
        } else if let Some(v) = quoted("name eq ") {
            (&mut out.name, v)
        } else {
            return Err(unsupported());
        };
        if slot.replace(value).is_some() {
            return Err(unsupported());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_filters_az_and_the_sdks_send() {
        assert_eq!(resource_filter(None).ok(), Some(ResourceFilter::default()));
        assert_eq!(
            resource_filter(Some(" ")).ok(),
            Some(ResourceFilter::default())
        );
        // vaults.list() of azure-mgmt-keyvault.
        let f = resource_filter(Some("resourceType eq 'Microsoft.KeyVault/vaults'"))
            .expect("a type filter");
        assert!(
            f.wants_type("microsoft.keyvault/VAULTS")
                && !f.wants_type("Microsoft.Batch/batchAccounts")
        );
        assert!(f.wants_name("anything"));
        // az keyvault show -n V without -g (_get_resource_group_from_resource_name).
        let f = resource_filter(Some(
            "resourceType eq 'Microsoft.KeyVault/vaults' and name eq 'Contoso-KV'",
        ))
        .expect("type and name");
        assert_eq!(
            f.resource_type.as_deref(),
            Some("microsoft.keyvault/vaults")
        );
        assert!(f.wants_name("contoso-kv") && !f.wants_name("contoso-kv2"));
        let f = resource_filter(Some("name eq 'a''b'")).expect("an escaped quote");
        assert_eq!(f.name.as_deref(), Some("a'b"));
        for bad in [
            "resourceGroup eq 'rg'",
            "name eq 'a' or name eq 'b'",
            "name eq 'a' and name eq 'b'",
            "substringof('kv', name)",
            "resourceType eq Microsoft.KeyVault/vaults",
        ] {
            assert!(
                matches!(
                    resource_filter(Some(bad)),
                    Err(ArmError::InvalidParameter(_))
                ),
                "{bad}"
            );
        }
    }
}
