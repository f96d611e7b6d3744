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

/// The `$filter` of the generic resource list, as ARM documents it and the
/// az CLI sends it (`az resource list -g G --name N --resource-type T
/// --location L --tag k=v`): clauses joined by `and`, each one of
/// `resourceGroup eq '…'`, `name eq '…'`, `location eq '…'`,
/// `resourceType eq '…'`, `tagName eq '…'`, `tagValue eq '…'` (with
/// `tagName`), `startswith(tagName, '…')` and `substringof('…', name)`.
/// Values compare case-insensitively, tag values exactly.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ResourceFilter {
    pub(crate) resource_group: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) name_contains: Option<String>,
    pub(crate) location: Option<String>,
    pub(crate) resource_type: Option<String>,
    pub(crate) tag: Option<TagFilter>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TagFilter {
    /// `tagName eq 'k'`, with `tagValue eq 'v'` when given.
    Name { name: String, value: Option<String> },
    /// `startswith(tagName, 'k')`.
    NamePrefix(String),
}

impl ResourceFilter {
    /// Whether a resource of `group`, `name`, `location`, `resource_type`
    /// and `tags` passes.
    pub(crate) fn admits(
        &self,
        group: &str,
        name: &str,
        location: &str,
        resource_type: &str,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> bool {
        let eq = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(have))
        };
        let location_key = |l: &str| -> String {
            l.chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase()
        };
        eq(&self.resource_group, group)
            && eq(&self.name, name)
            && eq(&self.resource_type, resource_type)
            && self
                .location
                .as_deref()
                .is_none_or(|l| location_key(l) == location_key(location))
            && self.name_contains.as_deref().is_none_or(|part| {
                name.to_ascii_lowercase()
                    .contains(&part.to_ascii_lowercase())
            })
            && match &self.tag {
                None => true,
                Some(TagFilter::Name { name, value }) => tags.iter().any(|(k, v)| {
                    k.eq_ignore_ascii_case(name) && value.as_deref().is_none_or(|want| want == v)
                }),
                Some(TagFilter::NamePrefix(prefix)) => tags.keys().any(|k| {
                    k.to_ascii_lowercase()
                        .starts_with(&prefix.to_ascii_lowercase())
                }),
            }
    }
}

/// A quoted OData string (`'it''s'` is `it's`).
fn quoted(s: &str) -> Option<String> {
    let inner = s.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    // A lone quote inside ends the string early: not one literal.
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' && chars.next() != Some('\'') {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

/// `name eq '<value>'` (the name case-insensitive): the value.
fn eq_clause(clause: &str, name: &str) -> Option<String> {
    let (lhs, rhs) = clause.split_once(" eq ")?;
    lhs.trim().eq_ignore_ascii_case(name).then(|| quoted(rhs))?
}

/// `func(<a>, <b>)`: the two arguments, trimmed.
fn call<'a>(clause: &'a str, func: &str) -> Option<(&'a str, &'a str)> {
    let open = clause.find('(')?;
    if !clause[..open].trim().eq_ignore_ascii_case(func) {
        return None;
    }
    let args = clause[open + 1..].trim_end().strip_suffix(')')?;
    let (a, b) = args.split_once(',')?;
    Some((a.trim(), b.trim()))
}

pub(crate) fn resource_filter(filter: Option<&str>) -> ArmResult<ResourceFilter> {
    let mut out = ResourceFilter::default();
    let Some(f) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(out);
    };
    let mut tag_value = None;
    let unsupported = |c: &str| {
        ArmError::InvalidParameter(format!(
            "the $filter clause '{}' is not supported (resourceGroup, name, location, resourceType, tagName and tagValue eq '…', startswith(tagName, '…'), substringof('…', name), joined by 'and')",
            c.chars().take(100).collect::<String>()
        ))
    };
    for clause in f.split(" and ") {
        let c = clause.trim();
        let set = |slot: &mut Option<String>, v: String| -> ArmResult<()> {
            match slot.replace(v) {
                Some(_) => Err(ArmError::InvalidParameter(format!(
                    "the $filter names '{}' twice",
                    c.split_whitespace().next().unwrap_or(c)
                ))),
                None => Ok(()),
            }
        };
        if let Some(v) = eq_clause(c, "resourceGroup") {
            set(&mut out.resource_group, v)?;
        } else if let Some(v) = eq_clause(c, "name") {
            set(&mut out.name, v)?;
        } else if let Some(v) = eq_clause(c, "location") {
            set(&mut out.location, v)?;
        } else if let Some(v) = eq_clause(c, "resourceType") {
            set(&mut out.resource_type, v)?;
        } else if let Some(v) = eq_clause(c, "tagName") {
            if out.tag.is_some() {
                return Err(ArmError::InvalidParameter(
                    "the $filter names a tag twice".into(),
                ));
            }
            out.tag = Some(TagFilter::Name {
                name: v,
                value: None,
            });
        } else if let Some(v) = eq_clause(c, "tagValue") {
            set(&mut tag_value, v)?;
        } else if let Some((field, prefix)) = call(c, "startswith") {
            let prefix = quoted(prefix).filter(|_| field.eq_ignore_ascii_case("tagName"));
            let prefix = prefix.ok_or_else(|| unsupported(c))?;
            if out.tag.is_some() {
                return Err(ArmError::InvalidParameter(
                    "the $filter names a tag twice".into(),
                ));
            }
            out.tag = Some(TagFilter::NamePrefix(prefix));
        } else if let Some((part, field)) = call(c, "substringof") {
            let part = quoted(part).filter(|_| field.eq_ignore_ascii_case("name"));
            set(&mut out.name_contains, part.ok_or_else(|| unsupported(c))?)?;
        } else {
            return Err(unsupported(c));
        }
    }
    if let Some(v) = tag_value {
        match &mut out.tag {
            Some(TagFilter::Name { value, .. }) => *value = Some(v),
            _ => {
                return Err(ArmError::InvalidParameter(
                    "tagValue eq '…' needs tagName eq '…' in the same $filter".into(),
                ))
            }
        }
    }
    Ok(out)
}

/// A time in an activity-log `$filter`: quoted or not, RFC 3339, or
/// without an offset (UTC: az sends Python's naive `isoformat()`).
fn filter_time(v: &str) -> Option<time::OffsetDateTime> {
    let v = v.trim();
    let v = quoted(v).unwrap_or_else(|| v.to_string());
    let rfc = &time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(&v, rfc)
        .or_else(|_| time::OffsetDateTime::parse(&format!("{v}Z"), rfc))
        .ok()
}

/// Azure Monitor's activity-log `$filter`: `eventTimestamp ge <t>` (required)
/// and optionally `eventTimestamp le <t>`, then at most one of
/// `resourceGroupName`, `resourceUri` / `resourceId`, `correlationId`,
/// `resourceProvider` `eq '…'`, and `caller`, `status` `eq '…'` (az adds
/// them), joined by `and`. Anything else is 400.
pub(crate) fn activity_filter(
    filter: Option<&str>,
) -> ArmResult<keyrotor_core::activity::ActivityQuery> {
    use keyrotor_core::activity::ActivityQuery;
    let f = filter.map(str::trim).filter(|f| !f.is_empty()).ok_or_else(|| {
        ArmError::InvalidParameter(
            "the $filter parameter is required and must name at least the start time (eventTimestamp ge '…')".into(),
        )
    })?;
    let unsupported = |c: &str| {
        ArmError::InvalidParameter(format!(
            "the $filter clause '{}' is not supported (eventTimestamp ge/le, and resourceGroupName, resourceUri, resourceId, correlationId, resourceProvider, caller, status eq '…', joined by 'and')",
            c.chars().take(100).collect::<String>()
        ))
    };
    let twice = |c: &str| {
        ArmError::InvalidParameter(format!(
            "the $filter names '{}' twice",
            c.split_whitespace().next().unwrap_or(c)
        ))
    };
    let mut q = ActivityQuery::default();
    let mut selectors = 0;
    for clause in f.split(" and ").flat_map(|c| c.split(" AND ")) {
        let c = clause.trim();
        let mut words = c.splitn(3, ' ');
        let (field, op, value) = match (words.next(), words.next(), words.next()) {
            (Some(f), Some(o), Some(v)) => (f, o, v),
            _ => return Err(unsupported(c)),
        };
        if field.eq_ignore_ascii_case("eventTimestamp") {
            let t = filter_time(value).ok_or_else(|| {
                ArmError::InvalidParameter(format!(
                    "the $filter time '{}' is not an ISO 8601 date and time",
                    value.chars().take(60).collect::<String>()
                ))
            })?;
            let slot = match op.to_ascii_lowercase().as_str() {
                "ge" | "gt" => &mut q.from,
                "le" | "lt" => &mut q.to,
                _ => return Err(unsupported(c)),
            };
            if slot.replace(t).is_some() {
                return Err(twice(c));
            }
            continue;
        }
        if !op.eq_ignore_ascii_case("eq") {
            return Err(unsupported(c));
        }
        let v = quoted(value).ok_or_else(|| unsupported(c))?;
        let (slot, selector) = match field.to_ascii_lowercase().as_str() {
            "resourcegroupname" => (&mut q.resource_group, true),
            "resourceuri" | "resourceid" => (&mut q.resource_id, true),
            "correlationid" => (&mut q.correlation_id, true),
            "resourceprovider" => (&mut q.resource_provider, true),
            "caller" => (&mut q.caller, false),
            "status" => {
                if !v.eq_ignore_ascii_case("succeeded") && !v.eq_ignore_ascii_case("failed") {
                    return Err(ArmError::InvalidParameter(format!(
                        "the $filter status '{}' is not one keyrotor records (Succeeded, Failed)",
                        v.chars().take(60).collect::<String>()
                    )));
                }
                (&mut q.status, false)
            }
            _ => return Err(unsupported(c)),
        };
        if slot.replace(v).is_some() {
            return Err(twice(c));
        }
        if selector {
            selectors += 1;
        }
    }
    if q.from.is_none() {
        return Err(ArmError::InvalidParameter(
            "the $filter must name the start time (eventTimestamp ge '…')".into(),
        ));
    }
    if selectors > 1 {
        return Err(ArmError::InvalidParameter(
            "the $filter may name one of resourceGroupName, resourceUri, correlationId and resourceProvider".into(),
        ));
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_resource_filters_az_sends_parse() {
        let f = resource_filter(Some(
            "resourceGroup eq 'rg1' and name eq 'acct' and resourceType eq 'Microsoft.Batch/batchAccounts'",
        ))
        .expect("parses");
        assert_eq!(f.resource_group.as_deref(), Some("rg1"));
        assert_eq!(f.name.as_deref(), Some("acct"));
        assert_eq!(
            f.resource_type.as_deref(),
            Some("Microsoft.Batch/batchAccounts")
        );
        let f = resource_filter(Some("tagname eq 'env' and tagvalue eq 'it''s'")).expect("parses");
        assert_eq!(
            f.tag,
            Some(TagFilter::Name {
                name: "env".into(),
                value: Some("it's".into())
            })
        );
        let f = resource_filter(Some("startswith(tagname, 'te')")).expect("parses");
        assert_eq!(f.tag, Some(TagFilter::NamePrefix("te".into())));
        let f = resource_filter(Some("substringof('doc', name) and location eq 'westus'"))
            .expect("parses");
        assert_eq!(f.name_contains.as_deref(), Some("doc"));
        assert_eq!(
            resource_filter(None).expect("none"),
            ResourceFilter::default()
        );
    }

    #[test]
    fn other_filters_are_refused_with_a_clear_error() {
        for bad in [
            "name ne 'x'",
            "name eq x",
            "name eq 'a'b'",
            "tagValue eq 'v'",
            "name eq 'a' and name eq 'b'",
            "startswith(name, 'a')",
            "substringof('a', location)",
            "name eq 'a' or name eq 'b'",
        ] {
            let e = resource_filter(Some(bad)).expect_err(bad);
            assert!(matches!(e, ArmError::InvalidParameter(_)), "{bad}");
        }
    }

    #[test]
    fn the_filter_admits_what_it_names() {
        let tags: BTreeMap<String, String> = [("Env".to_string(), "prod".to_string())].into();
        let admits = |f: &str| {
            resource_filter(Some(f)).expect(f).admits(
                "RG1",
                "DocDB",
                "West US",
                "Microsoft.DocumentDB/databaseAccounts",
                &tags,
            )
        };
        assert!(admits("resourceGroup eq 'rg1' and name eq 'docdb'"));
        assert!(admits("location eq 'westus'"));
        assert!(admits(
            "resourceType eq 'microsoft.documentdb/databaseaccounts'"
        ));
        assert!(admits("tagName eq 'env' and tagValue eq 'prod'"));
        assert!(admits("startswith(tagName, 'en')"));
        assert!(admits("substringof('cdb', name)"));
        assert!(!admits("tagName eq 'env' and tagValue eq 'Prod'"));
        assert!(!admits("tagName eq 'team'"));
        assert!(!admits("resourceGroup eq 'rg2'"));
        assert!(!admits("name eq 'doc'"));
    }

    #[test]
    fn the_activity_filters_the_sdk_and_az_send_parse() {
        // azure-mgmt-monitor's documented form (quoted, 7 fraction digits).
        let q = activity_filter(Some(
            "eventTimestamp ge '2014-07-16T04:36:37.6407898Z' and eventTimestamp le '2014-07-20T04:36:37.6407898Z' and resourceGroupName eq 'rg1'",
        ))
        .expect("parses");
        assert_eq!(q.resource_group.as_deref(), Some("rg1"));
        assert_eq!(q.from.map(|t| t.unix_timestamp()), Some(1_405_485_397));
        assert!(q.to.is_some());
        // az: unquoted naive times, resourceId, caller and status.
        let q = activity_filter(Some(
            "eventTimestamp ge 2026-12-08T00:00:00.123456 and eventTimestamp le 2026-12-08T06:00:00 and resourceId eq '/subscriptions/s/resourceGroups/g' and caller eq 'x' and status eq 'Failed'",
        ))
        .expect("parses");
        assert_eq!(
            q.resource_id.as_deref(),
            Some("/subscriptions/s/resourceGroups/g")
        );
        assert_eq!(q.caller.as_deref(), Some("x"));
        assert_eq!(q.status.as_deref(), Some("Failed"));
        let q = activity_filter(Some(
            "eventTimestamp ge '2026-12-08T00:00:00+01:00' and correlationId eq 'c1'",
        ))
        .expect("parses");
        assert_eq!(q.correlation_id.as_deref(), Some("c1"));
        let q = activity_filter(Some(
            "eventTimestamp ge '2026-12-08T00:00:00Z' and resourceProvider eq 'Microsoft.DocumentDB'",
        ))
        .expect("parses");
        assert_eq!(q.resource_provider.as_deref(), Some("Microsoft.DocumentDB"));
    }

    #[test]
    fn other_activity_filters_are_400() {
        for f in [
            None,
            Some(""),
            Some("resourceGroupName eq 'g'"),
            Some("eventTimestamp ge 'yesterday'"),
            Some("eventTimestamp ge '2026-12-08T00:00:00Z' and eventTimestamp ge '2026-12-08T00:00:00Z'"),
            Some("eventTimestamp ge '2026-12-08T00:00:00Z' and level eq 'Error'"),
            Some("eventTimestamp ge '2026-12-08T00:00:00Z' or resourceGroupName eq 'g'"),
            Some("eventTimestamp ge '2026-12-08T00:00:00Z' and resourceGroupName ne 'g'"),
            Some("eventTimestamp ge '2026-12-08T00:00:00Z' and resourceGroupName eq g"),
            Some("eventTimestamp ge '2026-12-08T00:00:00Z' and status eq 'Started'"),
            Some("eventTimestamp ge '2026-12-08T00:00:00Z' and resourceGroupName eq 'g' and correlationId eq 'c'"),
        ] {
            assert!(
                matches!(activity_filter(f), Err(ArmError::InvalidParameter(_))),
                "{f:?}"
            );
        }
    }
}
