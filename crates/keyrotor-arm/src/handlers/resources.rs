//! The generic resource list (`Resources_List`): vaults and accounts.

use axum::http::StatusCode;
use axum::response::Response;
use keyrotor_types::AccountKind;

use super::{ok_json, sub_id};
use crate::dispatch::{Access, Query};
use crate::dto;
use crate::error::ArmResult;
use crate::odata::resource_filter;
use crate::state::ArmState;
use crate::wire::{ids, List};

/// `ResourcesList`: every vault and account the caller may read, optionally
/// of one `resourceType` and one `name`.
pub(super) fn handle_list(
    st: &ArmState,
    access: &Access,
    subscription: &str,
    query: &Query,
) -> ArmResult<Response> {
    let core = &st.core;
    let sub = sub_id(subscription)?;
    let filter = resource_filter(query.filter.as_deref())?;
    let want = |ty: &str| filter.wants_type(ty);
    let mut value = List::new(Vec::new());
    if want(ids::VAULTS) {
        let read = format!("{}/read", ids::VAULTS);
        for v in core.vaults(&sub, None)? {
            let r = dto::vault_summary(&v);
            if access.may_read(&r.id, &read) && filter.wants_name(&r.name) {
                value.value.push(r);
            }
        }
    }
    for kind in [AccountKind::Cosmos, AccountKind::Batch, AccountKind::Ai] {
        let full = ids::account_type(kind);
        if !want(&full) {
            continue;
        }
        let read = format!("{full}/read");
        for a in core.accounts(&st.dir, kind, &sub, None)? {
            let r = dto::account_summary(&a);
            if access.may_read(&r.id, &read) && filter.wants_name(&r.name) {
                value.value.push(r);
            }
        }
    }
    ok_json(StatusCode::OK, &value)
}
