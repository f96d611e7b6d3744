//! Cosmos, Batch and AI accounts: the resources themselves (their keys are
//! in `keys.rs`).

use axum::http::StatusCode;
use axum::response::Response;
use keyrotor_core::{AccountSpec, Actor, KeyUsage, LocalAuth};
use keyrotor_types::{AccountKind, AccountName};

use super::{empty, group_name_for_read, ok_json, sub_id};
use crate::dispatch::{Access, Query};
use crate::dto;
use crate::error::{ArmError, ArmResult};
use crate::operation::AccountPath;
use crate::state::ArmState;
use crate::wire::account::StoredAccount;
use crate::wire::{ids, List};

/// `AccountsList`: the accounts of one kind the caller may read, in the
/// subscription or one of its groups.
pub(super) fn handle_list(
    st: &ArmState,
    access: &Access,
    kind: AccountKind,
    subscription: &str,
    group: Option<&str>,
) -> ArmResult<Response> {
    let core = &st.core;
    let dir = &st.dir;
    let sub = sub_id(subscription)?;
    let group = group.map(group_name_for_read).transpose()?;
    let accounts = core.accounts(dir, kind, &sub, group.as_ref())?;
    let read = format!("{}/read", ids::account_type(kind));
    let accounts: Vec<_> = accounts
        .into_iter()
        .filter(|a| {
            access.may_read(
                &keyrotor_core::rbac::account_scope(
                    a.kind,
                    &a.subscription,
                    &a.resource_group,
                    &a.name,
                ),
                &read,
            )
        })
        .collect();
    let mut value = List::new(Vec::with_capacity(accounts.len()));
    for a in &accounts {
        let keys = core.key_info(a)?;
        let usage = if a.kind == AccountKind::Cosmos {
            core.key_usage(a)?
        } else {
            Vec::new()
        };
        value.value.push(dto::account(
            a,
            &keys,
            &usage,
            &st.endpoints,
            &dir.admin_client_id,
            core.unix_now(),
        ));
    }
    ok_json(StatusCode::OK, &value)
}

/// `AccountsCreate` (PUT): validates the kind's required fields and replaces
/// the client's properties.
pub(super) fn handle_create(
    st: &ArmState,
    actor: &Actor,
    p: &AccountPath,
    body: &[u8],
) -> ArmResult<Response> {
    let sub = sub_id(&p.subscription)?;
    let group = group_name_for_read(&p.resource_group)?;
    let name = AccountName::parse(p.kind, &p.name).map_err(keyrotor_core::Error::from)?;
    let mut body = dto::account_put(p.kind, body)?;
    let existing = st.core.account_by_name(p.kind, &name)?;
    let existing = existing
        .as_ref()
        .filter(|a| a.subscription == sub && a.resource_group.key() == group.key());
    if let Some(a) = existing {
        dto::undo_break_glass_view(a, &mut body);
    }
    // A PUT replaces the client's properties; read-only ones are recomputed on read.
    let current_doc = existing.map(|a| StoredAccount {
        properties: None,
        ..dto::stored_document(a)
    });
    let document = dto::merge_document(current_doc, &body)?;
    let settings = dto::settings(p.kind, &document)?;
    let spec = AccountSpec {
        location: body.location.unwrap_or_default(),
        tags: body.tags.unwrap_or_default(),
        document,
        settings,
    };
    let (a, created) = st
        .core
        .put_account(&st.dir, actor, p.kind, &sub, &group, &name, spec)?;
    let status = match (p.kind, created) {
        (AccountKind::Ai, true) => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    ok_json(status, &shown(st, &a, &actor.0)?)
}

/// `AccountsUpdate` (PATCH): merges the body into the stored document; with
/// `guardWindow`, switching key auth off is refused while a key is in use.
pub(super) fn handle_update(
    st: &ArmState,
    actor: &Actor,
    p: &AccountPath,
    body: &[u8],
    query: &Query,
) -> ArmResult<Response> {
    let core = &st.core;
    let a = find_account(st, p)?;
    let mut body = dto::account_request(body)?;
    dto::undo_break_glass_view(&a, &mut body);
    let document = dto::merge_document(Some(dto::stored_document(&a)), &body)?;
    let tags = body.tags.unwrap_or_else(|| a.tags.clone());
    let settings = dto::settings(p.kind, &document)?;
    // Switching key auth off with a guard: refused while a key was
    // used within the window (its clients would break).
    if let Some(window) = query.guard_window(core.now())? {
        let now = core.unix_now();
        if settings.local_auth(now) == LocalAuth::Refused
            && a.settings.local_auth(now) != LocalAuth::Refused
        {
            let guard = keyrotor_core::guard::Guard {
                window,
                recorder: &st.usage,
            };
            core.ensure_idle(&a, a.kind.slots(), guard)?;
        }
    }
    let spec = AccountSpec {
        location: a.location.clone(),
        tags,
        document,
        settings,
    };
    let (a, _) = core.put_account(
        &st.dir,
        actor,
        p.kind,
        &a.subscription,
        &a.resource_group,
        &a.name,
        spec,
    )?;
    ok_json(StatusCode::OK, &shown(st, &a, &actor.0)?)
}

/// `AccountsGet`.
pub(super) fn handle_get(st: &ArmState, p: &AccountPath) -> ArmResult<Response> {
    let a = find_account(st, p)?;
    ok_json(StatusCode::OK, &shown(st, &a, &st.dir.admin_client_id)?)
}

/// `AccountsDelete`: 204 when the account is already gone (the group must
/// exist).
pub(super) fn handle_delete(st: &ArmState, actor: &Actor, p: &AccountPath) -> ArmResult<Response> {
    let sub = sub_id(&p.subscription)?;
    let group = group_name_for_read(&p.resource_group)?;
    st.core.group(&st.dir, &sub, &group)?;
    match find_account(st, p) {
        Ok(a) => {
            st.core.delete_account(actor, &a)?;
            empty(delete_status(p.kind))
        }
        Err(ArmError::Core(keyrotor_core::Error::AccountNotFound { .. })) => {
            empty(StatusCode::NO_CONTENT)
        }
        Err(e) => Err(e),
    }
}

/// `CheckNameExists` (Cosmos HEAD): 200 when the name is taken, else 404.
pub(super) fn handle_check_name_exists(
    st: &ArmState,
    kind: AccountKind,
    name: &str,
) -> ArmResult<Response> {
    let exists = match AccountName::parse(kind, name) {
        Ok(n) => st.core.account_by_name(kind, &n)?.is_some(),
        Err(_) => false,
    };
    empty(if exists {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    })
}

/// Success status of an account DELETE that completed synchronously: one
/// every SDK accepts (Cosmos takes only 202/204).
fn delete_status(kind: AccountKind) -> StatusCode {
    match kind {
        AccountKind::Cosmos => StatusCode::NO_CONTENT,
        AccountKind::Batch | AccountKind::Ai => StatusCode::OK,
    }
}

fn account_name_for_read(p: &AccountPath) -> ArmResult<AccountName> {
    AccountName::parse(p.kind, &p.name).map_err(|_| {
        keyrotor_core::Error::AccountNotFound {
            kind: p.kind,
            name: p.name.chars().take(64).collect(),
        }
        .into()
    })
}

/// The account a path names (404 for names that cannot exist).
pub(super) fn find_account(st: &ArmState, p: &AccountPath) -> ArmResult<keyrotor_core::Account> {
    let sub = sub_id(&p.subscription)?;
    let group = group_name_for_read(&p.resource_group)?;
    let name = account_name_for_read(p)?;
    Ok(st.core.account_in(&st.dir, p.kind, &sub, &group, &name)?)
}

/// One account as ARM answers it: its keys' metadata, (Cosmos) their usage,
/// and the key-auth mode now.
fn shown(
    st: &ArmState,
    a: &keyrotor_core::Account,
    actor: &str,
) -> ArmResult<crate::wire::account::AccountResource> {
    let keys = st.core.key_info(a)?;
    let usage = usage_for(st, a)?;
    Ok(dto::account(
        a,
        &keys,
        &usage,
        &st.endpoints,
        actor,
        st.core.unix_now(),
    ))
}

/// Usage of the account's keys including what is not flushed yet
/// (Cosmos only: its keysMetadata carries last-used times).
fn usage_for(st: &ArmState, a: &keyrotor_core::Account) -> ArmResult<Vec<KeyUsage>> {
    if a.kind != AccountKind::Cosmos {
        return Ok(Vec::new());
    }
    current_usage(st, a)
}

/// Usage of the account's keys, after flushing what is not flushed yet.
pub(super) fn current_usage(st: &ArmState, a: &keyrotor_core::Account) -> ArmResult<Vec<KeyUsage>> {
    if let Err(e) = st.core.flush_usage(&st.usage) {
        tracing::warn!(error = %e, "usage flush before read failed");
    }
    Ok(st.core.key_usage(a)?)
}
