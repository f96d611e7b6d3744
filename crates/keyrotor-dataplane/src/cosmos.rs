//! Cosmos DB for NoSQL data plane: master-key token authentication (read-
//! write and read-only keys) and a minimal, durable resource model:
//! databases, containers, items (create, read, replace, upsert, delete,
//! read feed) and the query subset of `query.rs`.

use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::{HeaderMap, Method, Request, StatusCode};
use keyrotor_auth::{cosmos as scheme, AuthError};
use keyrotor_core::{Account, DataItem, Error as CoreError, Keyrotor, PutMode};
use serde_json::{json, Map, Value};

use crate::query::{self, QueryError};
use crate::{names, DataPlane, Target, MAX_BODY_BYTES};

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let activity = crate::activity_id();
    let mut r = crate::json_response(
        status,
        format!(
            r#"{{"code":{},"message":{}}}"#,
            crate::json_str(code),
            crate::json_str(&format!("{message}\r\nActivityId: {}", activity.as_str()))
        ),
    );
    let h = r.headers_mut();
    h.insert(&names::X_MS_ACTIVITY_ID, activity.header());
    h.insert(&names::X_MS_SUBSTATUS, names::ZERO.clone());
    r
}

fn unauthorized(detail: &str) -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        &format!("The input authorization token can't serve the request. The wrong key is being used or the expected payload is not built as per the protocol. {detail}"),
    )
}

fn ok(status: StatusCode, body: Value, extra: &[(&str, String)]) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    let h = r.headers_mut();
    h.insert(&names::X_MS_REQUEST_CHARGE, names::ONE.clone());
    h.insert(&names::X_MS_ACTIVITY_ID, crate::activity_id().header());
    for (k, v) in extra {
        if let (Ok(k), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), v.parse()) {
            h.insert(k, v);
        }
    }
    r
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn is_true(h: &HeaderMap, name: &str) -> bool {
    header(h, name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The Cosmos DB data action a request needs (Azure's names): metadata
/// reads, item reads, queries, item writes, database/container writes.
pub fn data_action(method: &http::Method, rest: &str, headers: &HeaderMap) -> String {
    const P: &str = "Microsoft.DocumentDB/databaseAccounts";
    let (ty, _) = scheme::resource_of(rest).unwrap_or_default();
    let read = scheme::is_read(method, headers);
    let query = *method == http::Method::POST && is_true(headers, "x-ms-documentdb-isquery");
    match (&*ty, read) {
        ("docs", true) if query => format!("{P}/sqlDatabases/containers/executeQuery"),
        ("docs", true) => format!("{P}/sqlDatabases/containers/items/read"),
        (_, true) => format!("{P}/readMetadata"),
        ("docs", false) => {
            let verb = match *method {
                http::Method::PUT => "replace",
                http::Method::DELETE => "delete",
                _ if is_true(headers, "x-ms-documentdb-is-upsert") => "upsert",
                _ => "create",
            };
            format!("{P}/sqlDatabases/containers/items/{verb}")
        }
        ("colls", false) if *method == http::Method::DELETE => {
            format!("{P}/sqlDatabases/containers/delete")
        }
        ("colls", false) => format!("{P}/sqlDatabases/containers/write"),
        (_, false) if *method == http::Method::DELETE => format!("{P}/sqlDatabases/delete"),
        (_, false) => format!("{P}/sqlDatabases/write"),
    }
}

pub async fn handle(dp: &Arc<DataPlane>, t: Target, req: Request<Body>) -> Response {
    let entry = match dp.entry(t.kind, t.account()).await {
        Ok(Some(e)) => e,
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                "NotFound",
                "The database account does not exist.",
            )
        }
        Err(e) => {
            return crate::unavailable(&e, "ServiceUnavailable", |code, message| {
                error(StatusCode::SERVICE_UNAVAILABLE, code, message)
            })
        }
    };
    // Every header this handler reads, in one pass over the request's.
    static NAMES: [&http::HeaderName; 5] = [
        &keyrotor_auth::AUTHORIZATION,
        &keyrotor_auth::X_MS_DATE,
        &keyrotor_auth::DATE,
        &keyrotor_auth::HOST,
        &keyrotor_auth::USER_AGENT,
    ];
    let scan = keyrotor_auth::HeaderScan::new(req.headers(), &NAMES);
    let auth = match scan.single(0) {
        Ok(None) => return unauthorized("Required Header authorization is missing."),
        Err(e @ AuthError::Duplicate(_)) => return unauthorized(&e.to_string()),
        Err(_) => return unauthorized("The authorization header is not valid text."),
        Ok(Some(v)) => v,
    };
    // A master-key token as the SDKs spell it skips this parse (verify reads
    // it once); anything else takes the general path.
    let bearer = if scheme::is_sdk_master_token(auth) {
        None
    } else {
        match scheme::parse_token(auth) {
            Ok(scheme::Token::Master { .. }) => None,
            Ok(scheme::Token::Aad { token }) => Some(token),
            Ok(scheme::Token::Resource) => {
                return unauthorized("Resource tokens are not supported by keyrotor.")
            }
            Err(e) => return unauthorized(&e.to_string()),
        }
    };
    if let Some(token) = bearer {
        let principal = match dp.verify_bearer(t.kind, t.account(), &token) {
            Ok(p) => p,
            Err(why) => {
                return unauthorized(&format!("The AAD token could not be validated: {why}."))
            }
        };
        let action = data_action(req.method(), t.rest(), req.headers());
        if !dp.authorize_data(&entry, &principal, &action) {
            return error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &format!(
                    "Request blocked by Auth {} : Request is blocked because principal [{principal}] does not have required RBAC permissions to perform action [{action}] on resource [{}].",
                    t.account(),
                    DataPlane::scope_of(&entry)
                ),
            );
        }
    } else {
        let now = dp.core().unix_now();
        let signed = scan.single(1).and_then(|x_ms_date| {
            Ok(scheme::MasterHeaders {
                authorization: auth,
                x_ms_date,
                date: scan.single(2)?,
            })
        });
        let verified = match signed.and_then(|signed| {
            scheme::verify_signed(req.method(), t.rest(), &signed, req.headers(), &entry.keys, now)
        }) {
            Ok(v) => v,
            Err(AuthError::DateOutOfWindow | AuthError::MissingDate) => {
                return error(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "The authorization token is not valid at the current time. Please create another token and retry (token start time, expiry and the x-ms-date header must be within 15 minutes of the server's time).",
                )
            }
            Err(AuthError::ReadOnlyKey) => {
                return error(StatusCode::FORBIDDEN, "Forbidden", "The input authorization token can't serve the request: a read-only key cannot authorize writes.")
            }
            Err(e) => return unauthorized(&e.to_string()),
        };
        let user_agent = scan.first(4).unwrap_or("");
        if !dp.admit(&entry, verified.slot, user_agent, t.peer, now) {
            return unauthorized(
                "Local Authorization is disabled. Use an AAD token to authorize all requests.",
            );
        }
    }

    let host = scan.first(3).unwrap_or("localhost");
    // The account read (clients send it at start-up and on every location
    // refresh) touches no storage and is answered here from the cached
    // document; everything else goes to the resource handler.
    if t.rest().split('/').all(str::is_empty) {
        if req.method() != Method::GET {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The account resource only supports GET.",
            );
        }
        let names_this_url = |u: &str| {
            u.strip_prefix("https://")
                .and_then(|r| r.strip_prefix(host))
                .and_then(|r| r.strip_prefix(t.prefix()))
                == Some("/")
        };
        let cached = entry.account_doc.lock().ok().and_then(|c| {
            c.as_ref()
                .filter(|(u, _)| names_this_url(u))
                .map(|(_, b)| b.clone())
        });
        let body = match cached {
            Some(b) => b,
            None => {
                let self_url = format!("https://{host}{}/", t.prefix());
                let b = bytes::Bytes::from(account_document(&entry.account, &self_url).to_string());
                if let Ok(mut c) = entry.account_doc.lock() {
                    *c = Some((self_url, b.clone()));
                }
                b
            }
        };
        let mut r = Response::new(Body::from(body));
        let h = r.headers_mut();
        h.insert(http::header::CONTENT_TYPE, names::APPLICATION_JSON.clone());
        h.insert(&names::X_MS_REQUEST_CHARGE, names::ONE.clone());
        h.insert(&names::X_MS_ACTIVITY_ID, crate::activity_id().header());
        return r;
    }
    let self_url = format!("https://{host}{}/", t.prefix());
    // Boxed: the storage path's future is large and the account read above
    // should not carry (and move) it.
    Box::pin(resources(dp, &entry, &t, req, self_url)).await
}

/// Databases, containers, items and queries: read the body, then serve the
/// operation on a blocking thread (SQLite).
async fn resources(
    dp: &Arc<DataPlane>,
    entry: &crate::Entry,
    t: &Target,
    req: Request<Body>,
    self_url: String,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                "The request body is too large.",
            )
        }
    };
    let segs: Vec<String> = t
        .rest()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let core = dp.core().clone();
    let account = entry.account.clone();
    let result = tokio::task::spawn_blocking(move || {
        serve(
            &core,
            &account,
            &parts.method,
            &parts.headers,
            &segs,
            &body,
            &self_url,
        )
    })
    .await;
    match result {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => core_error(&e),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "The request failed.",
        ),
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn core_error(e: &CoreError) -> Response {
    match e {
        CoreError::ItemExists => error(
            StatusCode::CONFLICT,
            "Conflict",
            "Entity with the specified id already exists in the system.",
        ),
        CoreError::ItemNotFound => error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "Entity with the specified id does not exist in the system.",
        ),
        CoreError::PreconditionFailed => error(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            "Operation cannot be performed because one of the specified precondition is not met.",
        ),
        other => crate::unavailable(other, "ServiceUnavailable", |code, message| {
            error(StatusCode::SERVICE_UNAVAILABLE, code, message)
        }),
    }
}

fn not_found() -> Response {
    core_error(&CoreError::ItemNotFound)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && !id.contains(['/', '\\', '?', '#']) && !id.ends_with(' ')
}

/// A resource id in Cosmos's shape: the parent's id bytes plus 4 of its own.
fn rid(own: u32, parent: &[u8]) -> String {
    let mut b = parent.to_vec();
    b.extend_from_slice(&own.to_le_bytes());
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn random_u32() -> u32 {
    let b = uuid::Uuid::new_v4().into_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Adds the system properties to a stored resource body.
fn system_props(
    mut v: Map<String, Value>,
    item: &DataItem,
    self_link: &str,
    extra: &[(&str, Value)],
) -> Value {
    v.insert(
        "_rid".into(),
        v.get("_rid")
            .cloned()
            .unwrap_or_else(|| json!(rid(u32::try_from(item.seq).unwrap_or(0), &[]))),
    );
    v.insert("_self".into(), json!(self_link));
    v.insert("_etag".into(), json!(item.etag));
    v.insert("_ts".into(), json!(item.ts));
    for (k, val) in extra {
        v.insert((*k).into(), val.clone());
    }
    Value::Object(v)
}

fn parse_body(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// A create body: a JSON object with a valid `id` (`what` names it in the error).
fn named_body(body: &[u8], what: &str) -> Result<(Map<String, Value>, String), Box<Response>> {
    let m = parse_body(body).ok_or_else(|| Box::new(bad_body()))?;
    match m.get("id").and_then(Value::as_str).filter(|i| valid_id(i)) {
        Some(id) => {
            let id = id.to_string();
            Ok((m, id))
        }
        None => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("The {what} id is missing or invalid."),
        ))),
    }
}

fn bad_body() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "The request body must be a JSON object.",
    )
}

/// A stored item's body and its `_rid`.
fn body_and_rid(item: &DataItem) -> (Map<String, Value>, String) {
    let m: Map<String, Value> = serde_json::from_str(&item.body).unwrap_or_default();
    let rid = m
        .get("_rid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    (m, rid)
}

fn render_db(item: &DataItem) -> Value {
    let (m, rid) = body_and_rid(item);
    system_props(
        m,
        item,
        &format!("dbs/{rid}/"),
        &[("_colls", json!("colls/")), ("_users", json!("users/"))],
    )
}

fn render_coll(item: &DataItem, db_rid: &str) -> Value {
    let (m, rid) = body_and_rid(item);
    system_props(
        m,
        item,
        &format!("dbs/{db_rid}/colls/{rid}/"),
        &[
            ("_docs", json!("docs/")),
            ("_sprocs", json!("sprocs/")),
            ("_triggers", json!("triggers/")),
            ("_udfs", json!("udfs/")),
            ("_conflicts", json!("conflicts/")),
        ],
    )
}

fn render_doc(item: &DataItem, db_rid: &str, coll_rid: &str) -> Value {
    let (m, rid) = body_and_rid(item);
    system_props(
        m,
        item,
        &format!("dbs/{db_rid}/colls/{coll_rid}/docs/{rid}/"),
        &[("_attachments", json!("attachments/"))],
    )
}

fn rid_of(item: &DataItem) -> String {
    serde_json::from_str::<Value>(&item.body)
        .ok()
        .and_then(|v| v.get("_rid").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}

fn etag_header(v: &Value) -> Vec<(&'static str, String)> {
    v.get("_etag")
        .and_then(Value::as_str)
        .map(|e| vec![("etag", e.to_string())])
        .unwrap_or_default()
}

fn serve(
    core: &Keyrotor,
    account: &Account,
    method: &Method,
    headers: &HeaderMap,
    segs: &[String],
    body: &[u8],
    self_url: &str,
) -> Result<Response, CoreError> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let if_match = header(headers, "if-match").map(str::to_string);
    match (method.clone(), s.as_slice()) {
        (Method::GET, []) => Ok(ok(StatusCode::OK, account_document(account, self_url), &[])),
        (Method::GET, ["dbs"]) => {
            let dbs: Vec<Value> = core.items(account, "dbs")?.iter().map(render_db).collect();
            let n = dbs.len();
            Ok(ok(
                StatusCode::OK,
                json!({ "_rid": "", "Databases": dbs, "_count": n }),
                &[("x-ms-item-count", n.to_string())],
            ))
        }
        (Method::POST, ["dbs"]) if is_true(headers, "x-ms-documentdb-isquery") => Ok(error(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "Querying databases is not implemented by keyrotor; list them instead.",
        )),
        (Method::POST, ["dbs"]) => {
            let (mut m, id) = match named_body(body, "resource") {
                Ok(x) => x,
                Err(r) => return Ok(*r),
            };
            m.insert("_rid".into(), json!(rid(random_u32(), &[])));
            let item = core.item_put(
                account,
                "dbs",
                &id,
                &Value::Object(m).to_string(),
                &PutMode::Create,
            )?;
            let v = render_db(&item);
            Ok(ok(StatusCode::CREATED, v.clone(), &etag_header(&v)))
        }
        (Method::GET, ["dbs", db]) => match core.item(account, "dbs", db)? {
            Some(i) => Ok(ok(StatusCode::OK, render_db(&i), &[])),
            None => Ok(not_found()),
        },
        (Method::DELETE, ["dbs", db]) => {
            if !core.item_delete(account, "dbs", db, if_match.as_deref())? {
                return Ok(not_found());
            }
            core.items_delete_under(account, &format!("dbs/{db}"))?;
            Ok(strip_body(ok(StatusCode::NO_CONTENT, Value::Null, &[])))
        }
        (method, ["dbs", db, "colls", rest @ ..]) => {
            let Some(db_item) = core.item(account, "dbs", db)? else {
                return Ok(not_found());
            };
            let db_rid = rid_of(&db_item);
            serve_colls(
                core, account, &method, headers, db, &db_rid, rest, body, if_match,
            )
        }
        _ => Ok(error(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "This Cosmos DB operation is not implemented by keyrotor. See COMPATIBILITY.md.",
        )),
    }
}

/// The database account document (`GET /`). Its only location is the URL the
/// client used, so the SDK keeps talking to this endpoint.
fn account_document(account: &Account, self_url: &str) -> Value {
    let loc = json!([{ "name": account.location, "databaseAccountEndpoint": self_url }]);
    json!({
        "_self": "", "id": account.name.as_str(), "_rid": format!("{}.documents.keyrotor", account.name),
        "media": "//media/", "addresses": "//addresses/", "_dbs": "//dbs/",
        "writableLocations": loc, "readableLocations": loc,
        "enableMultipleWriteLocations": false,
        "userReplicationPolicy": { "asyncReplication": false, "minReplicaSetSize": 1, "maxReplicasetSize": 1 },
        "userConsistencyPolicy": { "defaultConsistencyLevel": "Session" },
        "systemReplicationPolicy": { "minReplicaSetSize": 1, "maxReplicasetSize": 1 },
        "readPolicy": { "primaryReadCoefficient": 1, "secondaryReadCoefficient": 1 },
        "queryEngineConfiguration": "{\"maxSqlQueryInputLength\":262144,\"maxJoinsPerSqlQuery\":5,\"maxLogicalAndPerSqlQuery\":500,\"maxLogicalOrPerSqlQuery\":500,\"maxUdfRefPerSqlQuery\":10,\"maxInExpressionItemsCount\":16000,\"queryMaxInMemorySortDocumentCount\":500,\"maxQueryRequestTimeoutFraction\":0.9,\"sqlAllowNonFiniteNumbers\":false,\"sqlAllowAggregateFunctions\":true,\"sqlAllowSubQuery\":true,\"sqlAllowScalarSubQuery\":true,\"allowNewKeywords\":true,\"sqlAllowLike\":true,\"sqlAllowGroupByClause\":true,\"maxSpatialQueryCells\":12,\"spatialMaxGeometryPointCount\":256,\"sqlDisableOptimizationFlags\":0,\"sqlAllowTop\":true,\"enableSpatialIndexing\":true}"
    })
}

fn strip_body(r: Response) -> Response {
    let (p, _) = r.into_parts();
    Response::from_parts(p, Body::empty())
}

#[allow(
    clippy::too_many_arguments,
    reason = "one request's parts, passed down one level"
)]
fn serve_colls(
    core: &Keyrotor,
    account: &Account,
    method: &Method,
    headers: &HeaderMap,
    db: &str,
    db_rid: &str,
    rest: &[&str],
    body: &[u8],
    if_match: Option<String>,
) -> Result<Response, CoreError> {
    let colls = format!("dbs/{db}/colls");
    let db_rid_bytes = base64::engine::general_purpose::STANDARD
        .decode(db_rid)
        .unwrap_or_default();
    match (method.clone(), rest) {
        (Method::GET, []) => {
            let list: Vec<Value> = core
                .items(account, &colls)?
                .iter()
                .map(|i| render_coll(i, db_rid))
                .collect();
            let n = list.len();
            Ok(ok(
                StatusCode::OK,
                json!({ "_rid": db_rid, "DocumentCollections": list, "_count": n }),
                &[("x-ms-item-count", n.to_string())],
            ))
        }
        (Method::POST, []) => {
            let (mut m, id) = match named_body(body, "resource") {
                Ok(x) => x,
                Err(r) => return Ok(*r),
            };
            m.insert("_rid".into(), json!(rid(random_u32(), &db_rid_bytes)));
            m.entry("partitionKey")
                .or_insert(json!({ "paths": ["/id"], "kind": "Hash", "version": 2 }));
            m.entry("indexingPolicy").or_insert(json!({
                "indexingMode": "consistent", "automatic": true,
                "includedPaths": [{ "path": "/*" }], "excludedPaths": [{ "path": "/\"_etag\"/?" }]
            }));
            m.entry("conflictResolutionPolicy").or_insert(json!({ "mode": "LastWriterWins", "conflictResolutionPath": "/_ts", "conflictResolutionProcedure": "" }));
            m.entry("geospatialConfig")
                .or_insert(json!({ "type": "Geography" }));
            let item = core.item_put(
                account,
                &colls,
                &id,
                &Value::Object(m).to_string(),
                &PutMode::Create,
            )?;
            let v = render_coll(&item, db_rid);
            Ok(ok(StatusCode::CREATED, v.clone(), &etag_header(&v)))
        }
        (Method::GET, [c]) => match core.item(account, &colls, c)? {
            Some(i) => Ok(ok(StatusCode::OK, render_coll(&i, db_rid), &[])),
            None => Ok(not_found()),
        },
        (Method::PUT, [c]) => {
            let Some(current) = core.item(account, &colls, c)? else {
                return Ok(not_found());
            };
            let Some(mut m) = parse_body(body) else {
                return Ok(bad_body());
            };
            m.insert("id".into(), json!(c));
            m.insert("_rid".into(), json!(rid_of(&current)));
            let item = core.item_put(
                account,
                &colls,
                c,
                &Value::Object(m).to_string(),
                &PutMode::Replace { if_match },
            )?;
            Ok(ok(StatusCode::OK, render_coll(&item, db_rid), &[]))
        }
        (Method::DELETE, [c]) => {
            if !core.item_delete(account, &colls, c, if_match.as_deref())? {
                return Ok(not_found());
            }
            core.items_delete_under(account, &format!("{colls}/{c}"))?;
            Ok(strip_body(ok(StatusCode::NO_CONTENT, Value::Null, &[])))
        }
        (method, [c, tail @ ..]) => {
            let Some(coll) = core.item(account, &colls, c)? else {
                return Ok(not_found());
            };
            let coll_rid = rid_of(&coll);
            let docs = format!("{colls}/{c}/docs");
            match (method, tail) {
                (Method::GET, ["pkranges"]) => Ok(ok(
                    StatusCode::OK,
                    json!({ "_rid": coll_rid, "PartitionKeyRanges": [{
                        "_rid": coll_rid, "id": "0", "_etag": "\"0\"", "minInclusive": "", "maxExclusive": "FF",
                        "ridPrefix": 0, "_self": format!("dbs/{db_rid}/colls/{coll_rid}/pkranges/0/"), "throughputFraction": 1,
                        "status": "online", "parents": [], "_ts": coll.ts, "lsn": 1
                    }], "_count": 1 }),
                    &[("x-ms-item-count", "1".into())],
                )),
                (Method::GET, ["docs"]) => {
                    let list: Vec<Value> = core.items(account, &docs)?.iter().map(|i| render_doc(i, db_rid, &coll_rid)).collect();
                    let n = list.len();
                    Ok(ok(StatusCode::OK, json!({ "_rid": coll_rid, "Documents": list, "_count": n }), &[("x-ms-item-count", n.to_string())]))
                }
                (Method::POST, ["docs"]) if is_true(headers, "x-ms-cosmos-is-query-plan-request") => Ok(ok(
                    StatusCode::OK,
                    json!({
                        "partitionedQueryExecutionInfoVersion": 2,
                        "queryInfo": {
                            "distinctType": "None", "top": null, "offset": null, "limit": null, "orderBy": [],
                            "orderByExpressions": [], "groupByExpressions": [], "groupByAliases": [], "aggregates": [],
                            "groupByAliasToAggregateType": {}, "rewrittenQuery": "", "hasSelectValue": false,
                            "dCountInfo": null, "hasNonStreamingOrderBy": false
                        },
                        "queryRanges": [{ "min": "", "max": "FF", "isMinInclusive": true, "isMaxInclusive": false }]
                    }),
                    &[],
                )),
                (Method::POST, ["docs"]) if is_true(headers, "x-ms-documentdb-isquery") => {
                    let spec: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                    let Some(sql) = spec.get("query").and_then(Value::as_str) else {
                        return Ok(error(StatusCode::BAD_REQUEST, "BadRequest", "The query body must be {\"query\": \"...\", \"parameters\": [...]}."));
                    };
                    let mut params = Map::new();
                    if let Some(list) = spec.get("parameters").and_then(Value::as_array) {
                        for p in list {
                            if let (Some(n), Some(v)) = (p.get("name").and_then(Value::as_str), p.get("value")) {
                                params.insert(n.to_string(), v.clone());
                            }
                        }
                    }
                    let q = match query::parse(sql, &params) {
                        Ok(q) => q,
                        Err(QueryError::Syntax(m)) => return Ok(error(StatusCode::BAD_REQUEST, "BadRequest", &format!("Syntax error: {m}"))),
                        Err(QueryError::Unsupported(m)) => return Ok(error(StatusCode::NOT_IMPLEMENTED, "NotImplemented", &m)),
                    };
                    let list: Vec<Value> = core
                        .items(account, &docs)?
                        .iter()
                        .map(|i| render_doc(i, db_rid, &coll_rid))
                        .filter(|d| q.matches(d))
                        .collect();
                    let n = list.len();
                    Ok(ok(StatusCode::OK, json!({ "_rid": coll_rid, "Documents": list, "_count": n }), &[("x-ms-item-count", n.to_string())]))
                }
                (Method::POST, ["docs"]) => {
                    let (mut m, id) = match named_body(body, "document") {
                        Ok(x) => x,
                        Err(r) => return Ok(*r),
                    };
                    let upsert = is_true(headers, "x-ms-documentdb-is-upsert");
                    let existing = core.item(account, &docs, &id)?;
                    let coll_rid_bytes = base64::engine::general_purpose::STANDARD.decode(&coll_rid).unwrap_or_default();
                    let doc_rid = existing.as_ref().map(rid_of).unwrap_or_else(|| rid(random_u32(), &coll_rid_bytes));
                    for k in ["_rid", "_self", "_etag", "_ts", "_attachments"] {
                        m.remove(k);
                    }
                    m.insert("_rid".into(), json!(doc_rid));
                    let mode = if upsert { PutMode::Upsert { if_match } } else { PutMode::Create };
                    let item = core.item_put(account, &docs, &id, &Value::Object(m).to_string(), &mode)?;
                    let v = render_doc(&item, db_rid, &coll_rid);
                    let status = if upsert && existing.is_some() { StatusCode::OK } else { StatusCode::CREATED };
                    Ok(ok(status, v.clone(), &etag_header(&v)))
                }
                (Method::GET, ["docs", id]) => match core.item(account, &docs, id)? {
                    Some(i) => {
                        let v = render_doc(&i, db_rid, &coll_rid);
                        Ok(ok(StatusCode::OK, v.clone(), &etag_header(&v)))
                    }
                    None => Ok(not_found()),
                },
                (Method::PUT, ["docs", id]) => {
                    let Some(current) = core.item(account, &docs, id)? else {
                        return Ok(not_found());
                    };
                    let Some(mut m) = parse_body(body) else {
                return Ok(bad_body());
            };
                    if m.get("id").and_then(Value::as_str) != Some(*id) {
                        return Ok(error(StatusCode::BAD_REQUEST, "BadRequest", "The id in the body must match the id in the URL."));
                    }
                    for k in ["_rid", "_self", "_etag", "_ts", "_attachments"] {
                        m.remove(k);
                    }
                    m.insert("_rid".into(), json!(rid_of(&current)));
                    let item = core.item_put(account, &docs, id, &Value::Object(m).to_string(), &PutMode::Replace { if_match })?;
                    let v = render_doc(&item, db_rid, &coll_rid);
                    Ok(ok(StatusCode::OK, v.clone(), &etag_header(&v)))
                }
                (Method::DELETE, ["docs", id]) => {
                    if core.item_delete(account, &docs, id, if_match.as_deref())? {
                        Ok(strip_body(ok(StatusCode::NO_CONTENT, Value::Null, &[])))
                    } else {
                        Ok(not_found())
                    }
                }
                _ => Ok(error(StatusCode::NOT_IMPLEMENTED, "NotImplemented", "This Cosmos DB operation is not implemented by keyrotor. See COMPATIBILITY.md.")),
            }
        }
        _ => Ok(error(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "This Cosmos DB operation is not implemented by keyrotor. See COMPATIBILITY.md.",
        )),
    }
}
