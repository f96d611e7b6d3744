//! The generic resource list (`Resources_List`): vaults and accounts.

use axum::http::StatusCode;
use axum::response::Response;
use keyrotor_types::AccountKind;
use serde_json::json;

use super::{ok_json, sub_id};
use crate::dispatch::{Access, Query};
use crate::dto;
use crate::error::ArmResult;
use crate::odata::resource_type_filter;
use crate::state::ArmState;

/// `ResourcesList`: every vault and account the caller may read, optionally
/// of one `resourceType`.
pub(super) fn handle_list(
    st: &ArmState,
    access: &Access,
    subscription: &str,
    query: &Query,
) -> ArmResult<Response> {
    let core = &st.core;
    let sub = sub_id(subscription)?;
    let wanted = resource_type_filter(query.filter.as_deref())?;
    let want = |ty: &str| wanted.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(ty));
    let mut value = Vec::new();
    if want("Microsoft.KeyVault/vaults") {
        for v in core.vaults(&sub, None)? {
            let id = dto::vault_id(&v);
            if access.may_read(&id, "Microsoft.KeyVault/vaults/read") {
                value.push(json!({"id": id, "name": v.name.as_str(), "type": "Microsoft.KeyVault/vaults", "location": v.location, "tags": v.tags}));
            }
        }
    }
    for kind in [AccountKind::Cosmos, AccountKind::Batch, AccountKind::Ai] {
        let (ns, ty) = keyrotor_core::rbac::provider_of(kind);
        let full = format!("{ns}/{ty}");
        if !want(&full) {
            continue;
        }
        for a in core.accounts(&st.dir, kind, &sub, None)? {
            let id = dto::account_id(&a);
            if access.may_read(&id, &format!("{full}/read")) {
                value.push(json!({"id": id, "name": a.name.as_str(), "type": full, "location": a.location, "tags": a.tags}));
            }
        }
    }
    ok_json(StatusCode::OK, json!({ "value": value }))
}
