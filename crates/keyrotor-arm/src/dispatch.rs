//! One ARM request from the wire to its handler: [`arm_dispatch`] reads the
//! body (bounded), authenticates, routes (method, path) to an
//! [`Operation`], checks `api-version`, parses the query the handlers act
//! on, authorizes ([`authorize`]) and runs the handler on the blocking pool;
//! every answer carries the request-id headers.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use keyrotor_core::activity::{ActivityStatus, RequestInfo};
use keyrotor_core::rbac::{normalize_scope, Authorizer};
use keyrotor_core::Actor;

use crate::error::{ArmError, ArmResult};
use crate::handlers::handle;
use crate::operation::{self, Operation, Unrouted};
use crate::state::ArmState;

/// Largest request body accepted by the control plane.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How much of an oversized body is read and discarded before answering 413,
/// so that a client still sending gets the answer instead of a reset.
const DRAIN_LIMIT: usize = 32 * 1024 * 1024;

/// Reads a request body of at most `limit` bytes.
pub(crate) async fn read_body(body: Body, limit: usize) -> ArmResult<bytes::Bytes> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut buf = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ArmError::InvalidRequestContent(format!("the request body could not be read: {e}"))
        })?;
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen > DRAIN_LIMIT {
                break;
            }
            if seen <= limit {
                buf.extend_from_slice(&data);
            }
        }
    }
    if seen > limit {
        return Err(ArmError::TooLarge(limit));
    }
    Ok(buf.freeze())
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.into_owned())
}

/// Entry point for every ARM request.
pub async fn arm_dispatch(State(st): State<Arc<ArmState>>, req: Request) -> Response {
    let client_request_id = req.headers().get("x-ms-client-request-id").cloned();
    let correlation_id = correlation_id(req.headers());
    let mut resp = match arm_dispatch_inner(st, req, correlation_id.clone()).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let request_id = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).ok();
    let h = resp.headers_mut();
    if let Some(id) = request_id {
        h.insert("x-ms-request-id", id);
    }
    if let Ok(id) = HeaderValue::from_str(&correlation_id) {
        h.insert("x-ms-correlation-request-id", id);
    }
    if let Some(id) = client_request_id {
        h.insert("x-ms-client-request-id", id);
    }
    resp
}

/// The request's correlation id, as the activity log records it: the
/// client's `x-ms-correlation-request-id`, else its `x-ms-client-request-id`
/// (a GUID-like token, at most 64 characters, else ignored), else a new one.
fn correlation_id(h: &http::HeaderMap) -> String {
    ["x-ms-correlation-request-id", "x-ms-client-request-id"]
        .iter()
        .filter_map(|n| h.get(*n)?.to_str().ok())
        .map(str::trim)
        .find(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string)
}

async fn arm_dispatch_inner(
    st: Arc<ArmState>,
    req: Request,
    correlation_id: String,
) -> ArmResult<Response> {
    let (parts, body) = req.into_parts();
    if operation::has_dot_segment(parts.uri.path()) {
        return Err(ArmError::DotSegment(
            parts.uri.path().chars().take(200).collect(),
        ));
    }
    let segments = operation::split_path(parts.uri.path())
        .ok_or_else(|| ArmError::NoRoute(parts.uri.path().chars().take(200).collect()))?;
    // Authenticate first: unauthenticated callers learn nothing about routes.
    let actor = st.authenticate(&parts)?;
    let body = read_body(body, MAX_BODY_BYTES).await?;
    let op = Operation::parse(&parts.method, &segments).map_err(|u| match u {
        Unrouted::NoRoute => ArmError::NoRoute(parts.uri.path().chars().take(200).collect()),
        Unrouted::MethodNotAllowed => ArmError::MethodNotAllowed(parts.method.to_string()),
        Unrouted::NotImplemented(what) => ArmError::NotImplemented(what),
    })?;
    if query_param(parts.uri.query(), "api-version").is_none_or(|v| v.is_empty()) {
        return Err(ArmError::MissingApiVersion);
    }
    let is_head = parts.method == Method::HEAD;
    let st2 = st.clone();
    let query = Query {
        force: query_param(parts.uri.query(), "force")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        filter: query_param(parts.uri.query(), "$filter"),
        select: query_param(parts.uri.query(), "$select"),
        guard_window: query_param(parts.uri.query(), "guardWindow"),
    };
    let resp = tokio::task::spawn_blocking(move || {
        let access = authorize(&st2, &actor, &op)?;
        let records = op.records_activity();
        let actor = Actor::with_request(
            actor,
            RequestInfo {
                operation: Some(op.required_action()),
                resource_id: Some(op.resource_id()),
                correlation_id: Some(correlation_id),
            },
        );
        let target = op.resource_id();
        let action = op.name().as_str();
        let answer = handle(&st2, &actor, &access, op, &body, &query);
        if let (Err(e), true) = (&answer, records) {
            // A refused change (or key read) is an entry too; failing to
            // record it does not change the answer.
            let status = e.status_and_code().0.as_u16();
            if let Err(rec) = st2.core.record_activity(
                &actor,
                action,
                target,
                ActivityStatus::Failed,
                Some(status),
            ) {
                tracing::warn!(error = %rec, "a failed request's activity entry was not recorded");
            }
        }
        answer
    })
    .await
    .map_err(|e| ArmError::Internal(e.to_string()))??;
    if is_head {
        let (p, _) = resp.into_parts();
        return Ok(Response::from_parts(p, Body::empty()));
    }
    Ok(resp)
}

/// Query parameters the handlers act on.
pub(crate) struct Query {
    pub(crate) force: bool,
    /// OData `$filter` (role assignments and definitions, the resource
    /// list, the activity log).
    pub(crate) filter: Option<String>,
    /// OData `$select` (the activity log).
    pub(crate) select: Option<String>,
    /// keyrotor's `guardWindow` (an ISO 8601 duration such as `PT15M`):
    /// refuse a regeneration, or switching key auth off, while a key it
    /// affects was used within it (unless `force=true`).
    guard_window: Option<String>,
}

impl Query {
    /// The window the caller asked to guard with, if any (not with force).
    pub(crate) fn guard_window(
        &self,
        now: time::OffsetDateTime,
    ) -> ArmResult<Option<time::Duration>> {
        let Some(text) = self.guard_window.as_deref().filter(|_| !self.force) else {
            return Ok(None);
        };
        let bad = || {
            ArmError::InvalidParameter(format!(
                "'guardWindow' must be an ISO 8601 duration such as PT15M or P7D, at most P{}D",
                keyrotor_core::usage::RETENTION_DAYS
            ))
        };
        let since = keyrotor_core::vault::IsoDuration::parse(text)
            .and_then(|d| d.before(now))
            .ok_or_else(bad)?;
        let window = now - since;
        keyrotor_core::guard::Guard::check_window(window).map_err(|_| bad())?;
        Ok(Some(window))
    }
}

/// The guard of a regeneration: the longer of the account's
/// `regenerationGuardMinutes` and the request's `guardWindow`; none with
/// `force=true`.
pub(crate) fn regeneration_guard<'a>(
    st: &'a ArmState,
    a: &keyrotor_core::Account,
    query: &Query,
) -> ArmResult<Option<keyrotor_core::guard::Guard<'a>>> {
    if query.force {
        return Ok(None);
    }
    let account = a
        .settings
        .regeneration_guard_minutes
        .map(|m| time::Duration::minutes(i64::from(m)));
    let asked = query.guard_window(st.core.now())?;
    Ok(account
        .into_iter()
        .chain(asked)
        .max()
        .map(|window| keyrotor_core::guard::Guard {
            window,
            recorder: &st.usage,
        }))
}

/// What the caller may see of a list it asked for.
pub(crate) enum Access {
    /// Authorized for the operation as asked.
    Full,
    /// A list at a scope where the caller has no read right: only the items
    /// it may read are returned.
    Filtered(Arc<Authorizer>, String),
}

impl Access {
    pub(crate) fn may_read(&self, scope: &str, action: &str) -> bool {
        match self {
            Access::Full => true,
            Access::Filtered(z, who) => {
                normalize_scope(scope).is_some_and(|s| z.allows(who, &s, action))
            }
        }
    }
}

/// Evaluates the caller's role assignments for the operation at its scope
/// (the one place where control-plane permissions are enforced).
fn authorize(st: &ArmState, actor: &str, op: &Operation) -> ArmResult<Access> {
    let Some(scope) = op.scope() else {
        return Ok(Access::Full);
    };
    let action = op.required_action();
    let key = normalize_scope(&scope).ok_or_else(|| ArmError::NoRoute(scope.clone()))?;
    let z = st.core.authorizer()?;
    if z.allows(actor, &key, &action) {
        Ok(Access::Full)
    } else if op.filters_results() {
        Ok(Access::Filtered(z, actor.to_string()))
    } else {
        Err(ArmError::AuthorizationFailed {
            principal: actor.to_string(),
            action,
            scope,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_correlation_id_is_the_clients_when_it_is_a_token() {
        let mut h = http::HeaderMap::new();
        h.insert("x-ms-client-request-id", HeaderValue::from_static("abc-1"));
        assert_eq!(correlation_id(&h), "abc-1");
        h.insert(
            "x-ms-correlation-request-id",
            HeaderValue::from_static("corr-2"),
        );
        assert_eq!(correlation_id(&h), "corr-2");
        // Not a token (spaces, too long): a new GUID instead.
        let mut h = http::HeaderMap::new();
        h.insert(
            "x-ms-correlation-request-id",
            HeaderValue::from_static("a b"),
        );
        let long = "x".repeat(65);
        h.insert(
            "x-ms-client-request-id",
            HeaderValue::from_str(&long).expect("a header value"),
        );
        let id = correlation_id(&h);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }
}
