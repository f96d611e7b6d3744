//! The OData `$filter` subsets ARM clients send: role assignments and
//! definitions ([`rbac_filter`]) and the generic resource list
//! ([`resource_type_filter`]).

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

/// The one filter of the generic resource list, `resourceType eq '<type>'`:
/// the type asked for, lower-cased; `None` without a filter.
pub(crate) fn resource_type_filter(filter: Option<&str>) -> ArmResult<Option<String>> {
    Ok(match filter.map(str::trim) {
        None | Some("") => None,
        Some(f) => {
            let prefix = "resourceType eq ";
            let ty = f
                .get(..prefix.len())
                .filter(|p| p.eq_ignore_ascii_case(prefix))
                .and_then(|_| f[prefix.len()..].trim().strip_prefix('\''))
                .and_then(|t| t.strip_suffix('\''))
                .ok_or_else(|| {
                    ArmError::InvalidParameter(
                        "only $filter=resourceType eq '<type>' is supported".into(),
                    )
                })?;
            Some(ty.to_ascii_lowercase())
        }
    })
}
