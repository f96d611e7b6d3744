//! The generic resource list (`Resources_List`): vaults and accounts.

use axum::http::StatusCode;
use axum::response::Response;
use keyrotor_types::AccountKind;

use super::{group_name_for_read, ok_json, sub_id};
use crate::dispatch::{Access, Query};
use crate::dto;
use crate::error::ArmResult;
use crate::odata::resource_filter;
use crate::state::ArmState;
use crate::wire::group::GenericResource;
use crate::wire::{ids, List};
use keyrotor_types::ResourceGroupName;

/// `ResourcesList` (and `ListByResourceGroup`): every vault and account the
/// caller may read, in the subscription or one group (which must exist),
/// that passes the `$filter`.
pub(super) fn handle_list(
    st: &ArmState,
    access: &Access,
    subscription: &str,
    group: Option<&str>,
    query: &Query,
) -> ArmResult<Response> {
    let core = &st.core;
    let sub = sub_id(subscription)?;
    let group = group.map(group_name_for_read).transpose()?;
    if let Some(g) = &group {
        // A missing group is ResourceGroupNotFound, not an empty list.
        core.group(&st.dir, &sub, g)?;
    }
    let filter = resource_filter(query.filter.as_deref())?;
    let admits = |r: &GenericResource, g: &ResourceGroupName| {
        filter.admits(g.as_str(), &r.name, &r.location, &r.resource_type, &r.tags)
    };
    let mut value = List::new(Vec::new());
    let read = format!("{}/read", ids::VAULTS);
    for v in core.vaults(&sub, group.as_ref())? {
        let r = dto::vault_summary(&v);
        if admits(&r, &v.resource_group) && access.may_read(&r.id, &read) {
            value.value.push(r);
        }
    }
    for kind in [AccountKind::Cosmos, AccountKind::Batch, AccountKind::Ai] {
        let read = format!("{}/read", ids::account_type(kind));
        for a in core.accounts(&st.dir, kind, &sub, group.as_ref())? {
            let r = dto::account_summary(&a);
            if admits(&r, &a.resource_group) && access.may_read(&r.id, &read) {
                value.value.push(r);
            }
        }
    }
    ok_json(StatusCode::OK, &value)
}
