//! Subscriptions and resource providers.

use axum::http::StatusCode;
use axum::response::Response;

use super::{ok_json, own_subscription};
use crate::dispatch::Access;
use crate::dto;
use crate::error::ArmResult;
use crate::state::ArmState;
use crate::wire::ids;

/// `SubscriptionsList`: this service's one subscription, if the caller may read it.
pub(super) fn handle_list(st: &ArmState, access: &Access) -> ArmResult<Response> {
    let dir = &st.dir;
    let sub_scope = keyrotor_core::rbac::subscription_scope(&dir.subscription_id);
    let visible = access.may_read(&sub_scope, &format!("{}/read", ids::SUBSCRIPTIONS));
    let value = if visible {
        vec![dto::subscription(dir)]
    } else {
        Vec::new()
    };
    ok_json(StatusCode::OK, &dto::subscriptions(value))
}

/// `SubscriptionsGet`.
pub(super) fn handle_get(st: &ArmState, subscription: &str) -> ArmResult<Response> {
    own_subscription(&st.dir, subscription)?;
    ok_json(StatusCode::OK, &dto::subscription(&st.dir))
}

/// `ProvidersGet` and `ProvidersRegister`. Every provider is registered:
/// keyrotor never asks clients to register one.
pub(super) fn handle_get_provider(
    st: &ArmState,
    subscription: &str,
    namespace: &str,
) -> ArmResult<Response> {
    let sub = own_subscription(&st.dir, subscription)?;
    ok_json(StatusCode::OK, &dto::provider(&sub, namespace))
}
