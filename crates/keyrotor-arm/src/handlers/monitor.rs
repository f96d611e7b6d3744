//! Azure Monitor's activity log (`ActivityLogs_List`): keyrotor's activity
//! entries in the subscription, newest first.

use axum::http::StatusCode;
use axum::response::Response;

use super::{ok_json, sub_id};
use crate::dispatch::{Access, Query};
use crate::dto;
use crate::error::{ArmError, ArmResult};
use crate::odata::activity_filter;
use crate::state::ArmState;
use crate::wire::monitor::{EventDataCollection, SELECTABLE};

/// The most entries one answer carries (keyrotor gives no `nextLink`:
/// narrow the time range to see older ones).
pub(crate) const MAX_EVENTS: usize = 1000;

/// `ActivityLogsList`: the entries the `$filter` selects in the
/// subscription; entries on no subscription (principals, signing keys) too
/// for callers who may read the activity log at `/`.
pub(super) fn handle_list(
    st: &ArmState,
    access: &Access,
    subscription: &str,
    query: &Query,
) -> ArmResult<Response> {
    let sub = sub_id(subscription)?;
    let mut q = activity_filter(query.filter.as_deref())?;
    let select: Option<Vec<&str>> = query.select.as_deref().map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect()
    });
    if let Some(names) = &select {
        if let Some(bad) = names
            .iter()
            .find(|n| !SELECTABLE.iter().any(|s| s.eq_ignore_ascii_case(n)))
        {
            return Err(ArmError::InvalidParameter(format!(
                "the $select property '{}' is not one of {}",
                bad.chars().take(60).collect::<String>(),
                SELECTABLE.join(", ")
            )));
        }
    }
    let tenant_wide = access.may_read("/", "Microsoft.Insights/eventtypes/values/read");
    q.subscription = None;
    let mut records = st.core.activity(&q, usize::MAX)?;
    records.retain(
        |r| match keyrotor_core::activity::subscription_of(&r.event.resource_id) {
            Some(s) => s.eq_ignore_ascii_case(sub.as_str()),
            None => tenant_wide,
        },
    );
    let value = records
        .iter()
        .rev()
        .take(MAX_EVENTS)
        .map(|r| {
            let e = dto::event_data(r, &st.dir.tenant_id);
            match &select {
                Some(names) => e.select(names),
                None => e,
            }
        })
        .collect();
    ok_json(
        StatusCode::OK,
        &EventDataCollection {
            value,
            next_link: None,
        },
    )
}
