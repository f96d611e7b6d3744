//! Azure Batch data plane: SharedKey authentication and the metadata of
//! applications, pools and jobs. keyrotor runs no compute: pools stay at
//! zero nodes and jobs never run tasks (COMPATIBILITY.md).

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{Method, Request, StatusCode};
use keyrotor_auth::AuthError;
use keyrotor_core::{Error as CoreError, PutMode};
use keyrotor_types::KeySlot;
use serde_json::{json, Map, Value};

use crate::pipeline::{Credential, Next, Refusal};
use crate::{DataPlane, Target, MAX_BODY_BYTES};

mod error;
pub(crate) use error::BatchError;

fn host_of(req: &Request<Body>) -> String {
    req.headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost".into())
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The collections keyrotor stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collection {
    Applications,
    Pools,
    Jobs,
}

impl Collection {
    fn parse(seg: &str) -> Option<Collection> {
        match seg {
            "applications" => Some(Collection::Applications),
            "pools" => Some(Collection::Pools),
            "jobs" => Some(Collection::Jobs),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Collection::Applications => "applications",
            Collection::Pools => "pools",
            Collection::Jobs => "jobs",
        }
    }

    fn not_implemented(self) -> &'static str {
        match self {
            Collection::Applications => "This operation on 'applications' is not implemented by keyrotor (it stores Batch metadata and runs no compute). See COMPATIBILITY.md.",
            Collection::Pools => "This operation on 'pools' is not implemented by keyrotor (it stores Batch metadata and runs no compute). See COMPATIBILITY.md.",
            Collection::Jobs => "This operation on 'jobs' is not implemented by keyrotor (it stores Batch metadata and runs no compute). See COMPATIBILITY.md.",
        }
    }
}

/// A Batch request, resolved once from its method and path: the role check
/// and the handler both act on it (the permission checked is the one of the
/// operation that runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    List(Collection),
    Get(Collection, String),
    /// `POST /pools`, `POST /jobs`.
    Add(Collection),
    /// `DELETE /pools/{id}`, `DELETE /jobs/{id}`.
    Delete(Collection, String),
    /// Not served (501): the collection the path names and the verb.
    NotImplemented {
        collection: &'static str,
        verb: &'static str,
        message: &'static str,
    },
}

impl Op {
    fn resolve(method: &http::Method, rest: &str) -> Op {
        let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let first = segs.first().map(|s| Collection::parse(s));
        match (method, first, segs.as_slice()) {
            (&Method::GET, Some(Some(c)), [_]) => Op::List(c),
            (&Method::GET, Some(Some(c)), [_, id]) => Op::Get(c, (*id).to_string()),
            (&Method::POST, Some(Some(c @ (Collection::Pools | Collection::Jobs))), [_]) => {
                Op::Add(c)
            }
            (&Method::DELETE, Some(Some(c @ (Collection::Pools | Collection::Jobs))), [_, id]) => {
                Op::Delete(c, (*id).to_string())
            }
            (m, Some(Some(c)), _) => Op::NotImplemented {
                collection: c.as_str(),
                verb: verb_of(m),
                message: c.not_implemented(),
            },
            (m, _, _) => Op::NotImplemented {
                collection: "account",
                verb: verb_of(m),
                message:
                    "This Batch operation is not implemented by keyrotor. See COMPATIBILITY.md.",
            },
        }
    }

    /// The data action a bearer token needs:
    /// `Microsoft.Batch/batchAccounts/{collection}/read|write|delete`.
    fn data_action(&self) -> String {
        let (collection, verb) = match self {
            Op::List(c) | Op::Get(c, _) => (c.as_str(), "read"),
            Op::Add(c) => (c.as_str(), "write"),
            Op::Delete(c, _) => (c.as_str(), "delete"),
            Op::NotImplemented {
                collection, verb, ..
            } => (*collection, *verb),
        };
        format!("Microsoft.Batch/batchAccounts/{collection}/{verb}")
    }
}

fn verb_of(method: &http::Method) -> &'static str {
    match *method {
        Method::GET | Method::HEAD => "read",
        Method::DELETE => "delete",
        _ => "write",
    }
}

/// The Batch data plane's part in the request pipeline.
pub(crate) struct Batch;

/// The headers this handler reads besides the signed ones, in one pass
/// (SharedKey's canonicalizer reads those in its own).
static NAMES: [&http::HeaderName; 2] = [&keyrotor_auth::AUTHORIZATION, &keyrotor_auth::USER_AGENT];
/// Positions in [`NAMES`].
mod h {
    pub const AUTHORIZATION: usize = 0;
    pub const USER_AGENT: usize = 1;
}

/// A Batch request as read: its resolved operation and credential.
pub(crate) struct Presented<'r> {
    req: &'r Request<Body>,
    scan: keyrotor_auth::HeaderScan<'r, 2>,
    op: Op,
}

impl crate::pipeline::Service for Batch {
    type Error = BatchError;
    type Presented<'r> = Presented<'r>;
    type Op = Op;

    fn refuse(_t: &Target, _req: &Request<Body>, why: Refusal) -> BatchError {
        match why {
            Refusal::NoAccount => BatchError::AuthenticationFailed(AuthError::WrongAccount),
            Refusal::Core(e) => BatchError::Core(e),
            Refusal::Token(why) => BatchError::InvalidToken(why),
            Refusal::NotAuthorized {
                principal,
                action,
                scope,
            } => BatchError::NotAuthorized {
                principal,
                action,
                scope,
            },
            Refusal::LocalAuthDisabled => BatchError::LocalAuthDisabled,
            Refusal::RestoredStateRequiresRotation => BatchError::RestoredStateRequiresRotation,
        }
    }

    fn present<'r>(t: &'r Target, req: &'r Request<Body>) -> Result<Presented<'r>, BatchError> {
        Ok(Presented {
            req,
            scan: keyrotor_auth::HeaderScan::new(req.headers(), &NAMES),
            op: Op::resolve(req.method(), t.rest()),
        })
    }

    async fn serve(
        dp: &Arc<DataPlane>,
        entry: Arc<crate::Entry>,
        t: Target,
        op: Op,
        req: Request<Body>,
    ) -> Response {
        match resources(dp, &entry, &t, op, req).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        }
    }
}

impl crate::pipeline::Presented for Presented<'_> {
    type Error = BatchError;
    type Op = Op;

    fn credential(&self) -> Credential<'_> {
        match self
            .scan
            .first(h::AUTHORIZATION)
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            Some(token) => Credential::Bearer(token.trim()),
            None => Credential::Key,
        }
    }

    fn data_action(&self) -> Cow<'static, str> {
        Cow::Owned(self.op.data_action())
    }

    fn verify_key(&self, entry: &crate::Entry, now: i64) -> Result<KeySlot, BatchError> {
        keyrotor_auth::shared_key::verify(
            self.req.method(),
            self.req.uri().path(),
            self.req.uri().query(),
            self.req.headers(),
            entry.account.name.as_str(),
            &entry.keys,
            now,
        )
        .map(|v| v.slot)
        .map_err(BatchError::AuthenticationFailed)
    }

    fn user_agent(&self) -> &str {
        self.scan.first(h::USER_AGENT).unwrap_or("")
    }

    fn finish(self, _entry: &crate::Entry, _t: &Target) -> Result<Next<Op>, BatchError> {
        // Operations keyrotor does not implement touch no storage: answer
        // them here, without reading the request or building anything else.
        match self.op {
            Op::NotImplemented { message, .. } => Err(BatchError::NotImplemented(message)),
            op => Ok(Next::Serve(op)),
        }
    }
}

/// Applications, pools and jobs: read the body, then serve the operation on
/// a blocking thread (SQLite).
async fn resources(
    dp: &Arc<DataPlane>,
    entry: &crate::Entry,
    t: &Target,
    op: Op,
    req: Request<Body>,
) -> Result<Response, BatchError> {
    let host = host_of(&req);
    let base = format!("https://{host}{}", t.prefix());
    let body = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| BatchError::TooLarge)?;
    let account = entry.account.clone();
    let core = dp.core().clone();
    let run = move || -> Result<Response, BatchError> {
        match op {
            Op::List(c) => {
                let c = c.as_str();
                let items = core.items(&account, c)?;
                let value: Vec<Value> = items
                    .iter()
                    .filter_map(|i| serde_json::from_str(&i.body).ok())
                    .collect();
                Ok((StatusCode::OK, axum::Json(json!({ "odata.metadata": format!("{base}/$metadata#{c}"), "value": value }))).into_response())
            }
            Op::Get(c, id) => {
                let i = core
                    .item(&account, c.as_str(), &id)?
                    .ok_or(BatchError::NotFound(c))?;
                let v: Value = serde_json::from_str(&i.body).unwrap_or(Value::Null);
                let mut r = (StatusCode::OK, axum::Json(v)).into_response();
                if let Ok(e) = i.etag.parse() {
                    r.headers_mut().insert(http::header::ETAG, e);
                }
                Ok(r)
            }
            Op::Add(coll) => {
                let c = coll.as_str();
                let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(&body) else {
                    return Err(BatchError::InvalidBody);
                };
                let Some(id) = obj.get("id").and_then(Value::as_str).map(str::to_string) else {
                    return Err(BatchError::MissingProperty("id"));
                };
                if !valid_id(&id) {
                    return Err(BatchError::InvalidProperty("id"));
                }
                let required = if coll == Collection::Pools {
                    "vmSize"
                } else {
                    "poolInfo"
                };
                if obj.get(required).is_none_or(Value::is_null) {
                    return Err(BatchError::MissingProperty(required));
                }
                let now = now_rfc3339();
                let url = format!("{base}/{c}/{id}");
                decorate(&mut obj, c, &url, &now);
                let text = Value::Object(obj).to_string();
                let item = core
                    .item_put(&account, c, &id, &text, &PutMode::Create)
                    .map_err(|e| match e {
                        CoreError::ItemExists => BatchError::Exists(coll),
                        e => BatchError::Core(e),
                    })?;
                let mut r = StatusCode::CREATED.into_response();
                let h = r.headers_mut();
                for (k, v) in [
                    ("etag", item.etag.as_str()),
                    ("dataserviceid", url.as_str()),
                    ("location", url.as_str()),
                ] {
                    if let Ok(v) = v.parse() {
                        h.insert(k, v);
                    }
                }
                Ok(r)
            }
            Op::Delete(c, id) => {
                if core.item_delete(&account, c.as_str(), &id, None)? {
                    Ok(StatusCode::ACCEPTED.into_response())
                } else {
                    Err(BatchError::NotFound(c))
                }
            }
            Op::NotImplemented { message, .. } => Err(BatchError::NotImplemented(message)),
        }
    };
    tokio::task::spawn_blocking(run)
        .await
        .map_err(|_| BatchError::TaskFailed)?
}

fn decorate(obj: &mut Map<String, Value>, collection: &str, url: &str, now: &str) {
    obj.insert("url".into(), json!(url));
    obj.insert("creationTime".into(), json!(now));
    obj.insert("lastModified".into(), json!(now));
    obj.insert("state".into(), json!("active"));
    obj.insert("stateTransitionTime".into(), json!(now));
    if collection == "pools" {
        obj.insert("allocationState".into(), json!("steady"));
        obj.insert("allocationStateTransitionTime".into(), json!(now));
        obj.insert("currentDedicatedNodes".into(), json!(0));
        obj.insert("currentLowPriorityNodes".into(), json!(0));
    } else {
        obj.entry("priority").or_insert(json!(0));
        obj.insert("executionInfo".into(), json!({ "startTime": now, "poolId": obj.get("poolInfo").and_then(|p| p.get("poolId")).cloned().unwrap_or(Value::Null) }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The role check and the handler read one resolved operation: every
    /// method and path gets the verb of what runs.
    #[test]
    fn resolved_operations_and_their_actions() {
        let a = |m: Method, p: &str| {
            let op = Op::resolve(&m, p);
            (op.clone(), op.data_action())
        };
        assert_eq!(
            a(Method::GET, "/pools"),
            (
                Op::List(Collection::Pools),
                "Microsoft.Batch/batchAccounts/pools/read".into()
            )
        );
        assert_eq!(
            a(Method::POST, "/jobs"),
            (
                Op::Add(Collection::Jobs),
                "Microsoft.Batch/batchAccounts/jobs/write".into()
            )
        );
        assert_eq!(
            a(Method::DELETE, "/pools/p1").1,
            "Microsoft.Batch/batchAccounts/pools/delete"
        );
        for (m, p, action) in [
            (
                Method::POST,
                "/applications",
                "Microsoft.Batch/batchAccounts/applications/write",
            ),
            (
                Method::PATCH,
                "/pools/p1",
                "Microsoft.Batch/batchAccounts/pools/write",
            ),
            (
                Method::HEAD,
                "/pools",
                "Microsoft.Batch/batchAccounts/pools/read",
            ),
            (
                Method::POST,
                "/Pools",
                "Microsoft.Batch/batchAccounts/account/write",
            ),
            (
                Method::GET,
                "/jobschedules",
                "Microsoft.Batch/batchAccounts/account/read",
            ),
        ] {
            let (op, got) = a(m.clone(), p);
            assert!(matches!(op, Op::NotImplemented { .. }), "{m} {p}: {op:?}");
            assert_eq!(got, action, "{m} {p}");
        }
    }

    #[tokio::test]
    async fn error_body_is_batch_shaped_json() {
        let r = error::body(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Quote \" and backslash \\ in the message.",
            Some(("AuthenticationErrorDetail", "line\nbreak")),
        );
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let id = r
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = axum::body::to_bytes(r.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        let v: Value = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["code"], "AuthenticationFailed");
        assert_eq!(v["message"]["lang"], "en-US");
        let text = v["message"]["value"].as_str().unwrap_or_default();
        let (msg, rest) = text.split_once("\nRequestId:").unwrap_or_default();
        assert_eq!(msg, "Quote \" and backslash \\ in the message.");
        let (rid, time) = rest.split_once("\nTime:").unwrap_or_default();
        assert_eq!(rid, id);
        assert!(
            time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{time}"
        );
        assert_eq!(v["values"][0]["key"], "AuthenticationErrorDetail");
        assert_eq!(v["values"][0]["value"], "line\nbreak");
    }
}
