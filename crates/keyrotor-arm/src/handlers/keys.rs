//! An account's keys: listing, connection strings, regeneration (with the
//! regeneration guard) and keyrotor's key-usage report.

use axum::http::StatusCode;
use axum::response::Response;
use keyrotor_core::Actor;
use keyrotor_types::AccountKind;

use super::accounts::{current_usage, find_account};
use super::{empty, ok_json};
use crate::dispatch::{regeneration_guard, Query};
use crate::dto;
use crate::error::ArmResult;
use crate::operation::AccountPath;
use crate::state::ArmState;

/// `AccountsListKeys`.
/// Every key read is an activity entry (`Keyrotor::read_keys`).
pub(super) fn handle_list(st: &ArmState, actor: &Actor, p: &AccountPath) -> ArmResult<Response> {
    let a = find_account(st, p)?;
    let keys = st.core.read_keys(actor, &a)?;
    ok_json(StatusCode::OK, &dto::keys(&a, &keys))
}

/// `AccountsListReadOnlyKeys` (Cosmos).
pub(super) fn handle_list_read_only(
    st: &ArmState,
    actor: &Actor,
    p: &AccountPath,
) -> ArmResult<Response> {
    let a = find_account(st, p)?;
    let keys = st.core.read_keys(actor, &a)?;
    ok_json(StatusCode::OK, &dto::read_only_keys(&keys))
}

/// `AccountsListConnectionStrings` (Cosmos).
pub(super) fn handle_list_connection_strings(
    st: &ArmState,
    actor: &Actor,
    p: &AccountPath,
) -> ArmResult<Response> {
    let a = find_account(st, p)?;
    let keys = st.core.read_keys(actor, &a)?;
    ok_json(
        StatusCode::OK,
        &dto::connection_strings(&a, &keys, &st.endpoints),
    )
}

/// `AccountsRegenerateKey`, guarded by [`regeneration_guard`].
pub(super) fn handle_regenerate(
    st: &ArmState,
    actor: &Actor,
    p: &AccountPath,
    body: &[u8],
    query: &Query,
) -> ArmResult<Response> {
    let a = find_account(st, p)?;
    let slot = dto::regenerate_slot(p.kind, body)?;
    let guard = regeneration_guard(st, &a, query)?;
    let new = st.core.regenerate_key_guarded(actor, &a, slot, guard)?;
    match p.kind {
        // Cosmos: an LRO that returns no body; completed synchronously.
        AccountKind::Cosmos => empty(StatusCode::OK),
        // Batch and AI return the key pair: the regenerated slot with
        // the value this request wrote (a concurrent regeneration of
        // the same slot answers its own), the other slot as it is now.
        AccountKind::Batch | AccountKind::Ai => {
            let mut keys: Vec<_> = st
                .core
                .list_keys(&a)?
                .into_iter()
                .filter(|k| k.slot != slot)
                .collect();
            keys.push(new);
            ok_json(StatusCode::OK, &dto::keys(&a, &keys))
        }
    }
}

/// `AccountsListKeyUsage` (keyrotor extension): last use per key; with
/// `guardWindow`, the guard's verdict per key too.
pub(super) fn handle_list_usage(
    st: &ArmState,
    p: &AccountPath,
    query: &Query,
) -> ArmResult<Response> {
    let core = &st.core;
    let a = find_account(st, p)?;
    let keys = core.key_info(&a)?;
    let usage = current_usage(st, &a)?;
    let mut v = dto::key_usage(&a, &keys, &usage, core.now());
    // With `guardWindow`: the guard's own verdict per key, the one
    // a regeneration or switching key auth off would reach.
    if let Some(window) = query.guard_window(core.now())? {
        let guard = keyrotor_core::guard::Guard {
            window,
            recorder: &st.usage,
        };
        let in_use = core.keys_in_use(&a, a.kind.slots(), guard)?;
        dto::mark_in_use(&mut v, window, &in_use);
    }
    ok_json(StatusCode::OK, &v)
}
