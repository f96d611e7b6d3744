//! Cosmos DB for NoSQL data plane: master-key token authentication (read-
//! write and read-only keys) and a minimal, durable resource model:
//! databases, containers, items (create, read, replace, upsert, delete,
//! read feed) and the query subset of `query.rs`.

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::{Request, StatusCode};
use keyrotor_auth::{cosmos as scheme, AuthError};
use keyrotor_core::{Account, DataItem, Error as CoreError, Keyrotor, PutMode};
use keyrotor_types::KeySlot;
use serde_json::{json, Map, Value};

use crate::pipeline::{Credential, Next, Refusal};
use crate::query::{self, QueryError};
use crate::{names, DataPlane, Target, MAX_BODY_BYTES};

mod error;
mod op;
pub(crate) use error::{CosmosError, Unauthenticated};
pub use op::{Op, Selectors};

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

/// Positions in the handler's one header pass.
mod h {
    pub const AUTHORIZATION: usize = 0;
    pub const X_MS_DATE: usize = 1;
    pub const DATE: usize = 2;
    pub const HOST: usize = 3;
    pub const USER_AGENT: usize = 4;
    pub const IS_QUERY: usize = 5;
    pub const IS_QUERY_PLAN: usize = 6;
    pub const IS_UPSERT: usize = 7;
    pub const IF_MATCH: usize = 8;
}

static IS_QUERY: http::HeaderName = http::HeaderName::from_static("x-ms-documentdb-isquery");
static IS_QUERY_PLAN: http::HeaderName =
    http::HeaderName::from_static("x-ms-cosmos-is-query-plan-request");
static IS_UPSERT: http::HeaderName = http::HeaderName::from_static("x-ms-documentdb-is-upsert");

/// The Cosmos DB data plane's part in the request pipeline.
pub(crate) struct Cosmos;

/// Every header the Cosmos handler reads, in one pass over the request's.
static NAMES: [&http::HeaderName; 9] = [
    &keyrotor_auth::AUTHORIZATION,
    &keyrotor_auth::X_MS_DATE,
    &keyrotor_auth::DATE,
    &keyrotor_auth::HOST,
    &keyrotor_auth::USER_AGENT,
    &IS_QUERY,
    &IS_QUERY_PLAN,
    &IS_UPSERT,
    &http::header::IF_MATCH,
];

/// A Cosmos request as read: its one resolved operation (the key check,
/// the role check and the handler all act on it) and its credential.
pub(crate) struct Presented<'r> {
    scan: keyrotor_auth::HeaderScan<'r, 9>,
    method: &'r http::Method,
    path: scheme::ResourcePath<'r>,
    authorization: &'r str,
    /// The AAD token of a `type=aad` token; `None` for a master-key token.
    bearer: Option<String>,
    op: Op,
    if_match: Option<String>,
}

/// A storage operation, with what its answer needs.
pub(crate) struct Serve {
    op: Op,
    if_match: Option<String>,
    self_url: String,
}

impl crate::pipeline::Service for Cosmos {
    type Error = CosmosError;
    type Presented<'r> = Presented<'r>;
    type Op = Serve;

    fn refuse(t: &Target, _req: &Request<Body>, why: Refusal) -> CosmosError {
        match why {
            Refusal::NoAccount => CosmosError::AccountNotFound,
            Refusal::Core(e) => CosmosError::Core(e),
            Refusal::Token(why) => CosmosError::Unauthorized(Unauthenticated::Aad(why)),
            Refusal::NotAuthorized {
                principal,
                action,
                scope,
            } => CosmosError::NotAuthorized {
                account: t.account().to_string(),
                principal,
                action,
                scope,
            },
            Refusal::LocalAuthDisabled => {
                CosmosError::Unauthorized(Unauthenticated::LocalAuthDisabled)
            }
            Refusal::RestoredStateRequiresRotation => CosmosError::RestoredStateRequiresRotation,
        }
    }

    fn present<'r>(t: &'r Target, req: &'r Request<Body>) -> Result<Presented<'r>, CosmosError> {
        use CosmosError::Unauthorized;
        let scan = keyrotor_auth::HeaderScan::new(req.headers(), &NAMES);
        let authorization = match scan.single(h::AUTHORIZATION) {
            Ok(None) => return Err(Unauthorized(Unauthenticated::Missing)),
            Err(e @ AuthError::Duplicate(_)) => {
                return Err(Unauthorized(Unauthenticated::Token(e)))
            }
            Err(_) => return Err(Unauthorized(Unauthenticated::NotText)),
            Ok(Some(v)) => v,
        };
        // A path no resource can have authenticates nothing (401, as for a
        // signature over it).
        let Some(path) = scheme::ResourcePath::parse(t.rest()) else {
            return Err(Unauthorized(Unauthenticated::ResourcePath));
        };
        // A selector header counts once: a repeated one (`True` and `False`)
        // would let two readings of the request disagree.
        let selector = |i: usize| -> Result<bool, AuthError> {
            Ok(scan
                .single(i)?
                .is_some_and(|v| v.eq_ignore_ascii_case("true")))
        };
        let selectors = (|| -> Result<Selectors, AuthError> {
            Ok(Selectors {
                is_query: selector(h::IS_QUERY)?,
                is_query_plan: selector(h::IS_QUERY_PLAN)?,
                is_upsert: selector(h::IS_UPSERT)?,
            })
        })();
        let op = match selectors {
            Ok(sel) => Op::resolve(req.method(), &path, sel),
            Err(e) => return Err(CosmosError::RepeatedHeader(e)),
        };
        // Read in the same pass, a repeated If-Match refused: never first-wins.
        let if_match = match scan.single(h::IF_MATCH) {
            Ok(v) => v.map(str::to_string),
            Err(e) => return Err(CosmosError::RepeatedHeader(e)),
        };
        // A master-key token as the SDKs spell it skips this parse (verify
        // reads it once); anything else takes the general path.
        let bearer = if scheme::is_sdk_master_token(authorization) {
            None
        } else {
            match scheme::parse_token(authorization) {
                Ok(scheme::Token::Master { .. }) => None,
                Ok(scheme::Token::Aad { token }) => Some(token),
                Ok(scheme::Token::Resource) => {
                    return Err(Unauthorized(Unauthenticated::ResourceToken))
                }
                Err(e) => return Err(Unauthorized(Unauthenticated::Token(e))),
            }
        };
        Ok(Presented {
            scan,
            method: req.method(),
            path,
            authorization,
            bearer,
            op,
            if_match,
        })
    }

    async fn serve(
        dp: &Arc<DataPlane>,
        entry: Arc<crate::Entry>,
        _t: Target,
        op: Serve,
        req: Request<Body>,
    ) -> Response {
        match resources(dp, &entry, op.op, op.if_match, req, op.self_url).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        }
    }
}

impl crate::pipeline::Presented for Presented<'_> {
    type Error = CosmosError;
    type Op = Serve;

    fn credential(&self) -> Credential<'_> {
        match &self.bearer {
            Some(token) => Credential::Bearer(token),
            None => Credential::Key,
        }
    }

    fn data_action(&self) -> Cow<'static, str> {
        Cow::Borrowed(self.op.data_action())
    }

    fn verify_key(&self, entry: &crate::Entry, now: i64) -> Result<KeySlot, CosmosError> {
        let signed = self.scan.single(h::X_MS_DATE).and_then(|x_ms_date| {
            Ok(scheme::MasterHeaders {
                authorization: self.authorization,
                x_ms_date,
                date: self.scan.single(h::DATE)?,
            })
        });
        match signed.and_then(|signed| {
            scheme::verify_signed(
                self.method,
                &self.path,
                &signed,
                self.op.access(),
                &entry.keys,
                now,
            )
        }) {
            Ok(v) => Ok(v.slot),
            Err(AuthError::DateOutOfWindow | AuthError::MissingDate) => {
                Err(CosmosError::DateOutOfWindow)
            }
            Err(AuthError::ReadOnlyKey) => Err(CosmosError::ReadOnlyKey),
            Err(e) => Err(CosmosError::Unauthorized(Unauthenticated::Token(e))),
        }
    }

    fn user_agent(&self) -> &str {
        self.scan.first(h::USER_AGENT).unwrap_or("")
    }

    fn finish(self, entry: &crate::Entry, t: &Target) -> Result<Next<Serve>, CosmosError> {
        let host = self.scan.first(h::HOST).unwrap_or("localhost");
        match self.op {
            // The account read (clients send it at start-up and on every
            // location refresh) touches no storage and is answered here from
            // the cached document; so are the answers that need none.
            Op::ReadAccount => Ok(Next::Answer(read_account(entry, t, host))),
            Op::AccountMethodNotAllowed { .. } => Err(CosmosError::MethodNotAllowed),
            Op::NotImplemented { message, .. } => Err(CosmosError::NotImplemented(message.into())),
            op => Ok(Next::Serve(Serve {
                op,
                if_match: self.if_match,
                self_url: format!("https://{host}{}/", t.prefix()),
            })),
        }
    }
}

fn read_account(entry: &crate::Entry, t: &Target, host: &str) -> Response {
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
    r
}

/// Databases, containers, items and queries: read the body, then serve the
/// operation on a blocking thread (SQLite).
async fn resources(
    dp: &Arc<DataPlane>,
    entry: &crate::Entry,
    op: Op,
    if_match: Option<String>,
    req: Request<Body>,
    self_url: String,
) -> Result<Response, CosmosError> {
    let body = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| CosmosError::TooLarge)?;
    let core = dp.core().clone();
    let account = entry.account.clone();
    tokio::task::spawn_blocking(move || serve(&core, &account, op, if_match, &body, &self_url))
        .await
        .map_err(|_| CosmosError::TaskFailed)?
}

/// The 404 of a database, container or item that is not there.
fn not_found() -> CosmosError {
    CosmosError::Core(CoreError::ItemNotFound)
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
fn named_body(
    body: &[u8],
    what: &'static str,
) -> Result<(Map<String, Value>, String), CosmosError> {
    let m = parse_body(body).ok_or(CosmosError::BodyNotObject)?;
    match m.get("id").and_then(Value::as_str).filter(|i| valid_id(i)) {
        Some(id) => {
            let id = id.to_string();
            Ok((m, id))
        }
        None => Err(CosmosError::InvalidId(what)),
    }
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

/// Runs a resolved operation against the account's stored resources.
fn serve(
    core: &Keyrotor,
    account: &Account,
    op: Op,
    if_match: Option<String>,
    body: &[u8],
    self_url: &str,
) -> Result<Response, CosmosError> {
    let b64 = &base64::engine::general_purpose::STANDARD;
    match op {
        Op::ReadAccount => Ok(ok(StatusCode::OK, account_document(account, self_url), &[])),
        Op::AccountMethodNotAllowed { .. } => Err(CosmosError::MethodNotAllowed),
        Op::NotImplemented { message, .. } => Err(CosmosError::NotImplemented(message.into())),
        Op::ListDatabases => {
            let dbs: Vec<Value> = core.items(account, "dbs")?.iter().map(render_db).collect();
            let n = dbs.len();
            Ok(ok(
                StatusCode::OK,
                json!({ "_rid": "", "Databases": dbs, "_count": n }),
                &[("x-ms-item-count", n.to_string())],
            ))
        }
        Op::CreateDatabase => {
            let (mut m, id) = named_body(body, "resource")?;
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
        Op::ReadDatabase { db } => match core.item(account, "dbs", &db)? {
            Some(i) => Ok(ok(StatusCode::OK, render_db(&i), &[])),
            None => Err(not_found()),
        },
        Op::DeleteDatabase { db } => {
            if !core.item_delete(account, "dbs", &db, if_match.as_deref())? {
                return Err(not_found());
            }
            core.items_delete_under(account, &format!("dbs/{db}"))?;
            Ok(strip_body(ok(StatusCode::NO_CONTENT, Value::Null, &[])))
        }
        Op::ListContainers { db } => {
            let Some(db_rid) = database_rid(core, account, &db)? else {
                return Err(not_found());
            };
            let list: Vec<Value> = core
                .items(account, &format!("dbs/{db}/colls"))?
                .iter()
                .map(|i| render_coll(i, &db_rid))
                .collect();
            let n = list.len();
            Ok(ok(
                StatusCode::OK,
                json!({ "_rid": db_rid, "DocumentCollections": list, "_count": n }),
                &[("x-ms-item-count", n.to_string())],
            ))
        }
        Op::CreateContainer { db } => {
            let Some(db_rid) = database_rid(core, account, &db)? else {
                return Err(not_found());
            };
            let (mut m, id) = named_body(body, "resource")?;
            let db_rid_bytes = b64.decode(&db_rid).unwrap_or_default();
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
                &format!("dbs/{db}/colls"),
                &id,
                &Value::Object(m).to_string(),
                &PutMode::Create,
            )?;
            let v = render_coll(&item, &db_rid);
            Ok(ok(StatusCode::CREATED, v.clone(), &etag_header(&v)))
        }
        Op::ReadContainer { db, coll } => {
            let Some(db_rid) = database_rid(core, account, &db)? else {
                return Err(not_found());
            };
            match core.item(account, &format!("dbs/{db}/colls"), &coll)? {
                Some(i) => Ok(ok(StatusCode::OK, render_coll(&i, &db_rid), &[])),
                None => Err(not_found()),
            }
        }
        Op::ReplaceContainer { db, coll } => {
            let Some(db_rid) = database_rid(core, account, &db)? else {
                return Err(not_found());
            };
            let colls = format!("dbs/{db}/colls");
            let Some(current) = core.item(account, &colls, &coll)? else {
                return Err(not_found());
            };
            let Some(mut m) = parse_body(body) else {
                return Err(CosmosError::BodyNotObject);
            };
            m.insert("id".into(), json!(coll));
            m.insert("_rid".into(), json!(rid_of(&current)));
            let item = core.item_put(
                account,
                &colls,
                &coll,
                &Value::Object(m).to_string(),
                &PutMode::Replace { if_match },
            )?;
            Ok(ok(StatusCode::OK, render_coll(&item, &db_rid), &[]))
        }
        Op::DeleteContainer { db, coll } => {
            if database_rid(core, account, &db)?.is_none() {
                return Err(not_found());
            }
            let colls = format!("dbs/{db}/colls");
            if !core.item_delete(account, &colls, &coll, if_match.as_deref())? {
                return Err(not_found());
            }
            core.items_delete_under(account, &format!("{colls}/{coll}"))?;
            Ok(strip_body(ok(StatusCode::NO_CONTENT, Value::Null, &[])))
        }
        Op::ReadPartitionKeyRanges { db, coll } => {
            let Some(c) = container(core, account, &db, &coll)? else {
                return Err(not_found());
            };
            let (db_rid, coll_rid) = (&c.db_rid, &c.coll_rid);
            Ok(ok(
                StatusCode::OK,
                json!({ "_rid": coll_rid, "PartitionKeyRanges": [{
                    "_rid": coll_rid, "id": "0", "_etag": "\"0\"", "minInclusive": "", "maxExclusive": "FF",
                    "ridPrefix": 0, "_self": format!("dbs/{db_rid}/colls/{coll_rid}/pkranges/0/"), "throughputFraction": 1,
                    "status": "online", "parents": [], "_ts": c.ts, "lsn": 1
                }], "_count": 1 }),
                &[("x-ms-item-count", "1".into())],
            ))
        }
        Op::ReadFeed { db, coll } => {
            let Some(c) = container(core, account, &db, &coll)? else {
                return Err(not_found());
            };
            documents(core, account, &c, |_| true)
        }
        Op::QueryPlan { db, coll } => {
            if container(core, account, &db, &coll)?.is_none() {
                return Err(not_found());
            }
            Ok(ok(
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
            ))
        }
        Op::Query { db, coll } => {
            let Some(c) = container(core, account, &db, &coll)? else {
                return Err(not_found());
            };
            let spec: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let Some(sql) = spec.get("query").and_then(Value::as_str) else {
                return Err(CosmosError::QueryBody);
            };
            let mut params = Map::new();
            if let Some(list) = spec.get("parameters").and_then(Value::as_array) {
                for p in list {
                    if let (Some(n), Some(v)) =
                        (p.get("name").and_then(Value::as_str), p.get("value"))
                    {
                        params.insert(n.to_string(), v.clone());
                    }
                }
            }
            let q = match query::parse(sql, &params) {
                Ok(q) => q,
                Err(QueryError::Syntax(m)) => return Err(CosmosError::QuerySyntax(m)),
                Err(QueryError::Unsupported(m)) => {
                    return Err(CosmosError::NotImplemented(m.into()))
                }
            };
            documents(core, account, &c, |d| q.matches(d))
        }
        Op::CreateItem { db, coll } => put_item(core, account, &db, &coll, body, None),
        Op::UpsertItem { db, coll } => put_item(core, account, &db, &coll, body, Some(if_match)),
        Op::ReadItem { db, coll, id } => {
            let Some(c) = container(core, account, &db, &coll)? else {
                return Err(not_found());
            };
            match core.item(account, &c.docs, &id)? {
                Some(i) => {
                    let v = render_doc(&i, &c.db_rid, &c.coll_rid);
                    Ok(ok(StatusCode::OK, v.clone(), &etag_header(&v)))
                }
                None => Err(not_found()),
            }
        }
        Op::ReplaceItem { db, coll, id } => {
            let Some(c) = container(core, account, &db, &coll)? else {
                return Err(not_found());
            };
            let Some(current) = core.item(account, &c.docs, &id)? else {
                return Err(not_found());
            };
            let Some(mut m) = parse_body(body) else {
                return Err(CosmosError::BodyNotObject);
            };
            if m.get("id").and_then(Value::as_str) != Some(id.as_str()) {
                return Err(CosmosError::IdMismatch);
            }
            for k in ["_rid", "_self", "_etag", "_ts", "_attachments"] {
                m.remove(k);
            }
            m.insert("_rid".into(), json!(rid_of(&current)));
            let item = core.item_put(
                account,
                &c.docs,
                &id,
                &Value::Object(m).to_string(),
                &PutMode::Replace { if_match },
            )?;
            let v = render_doc(&item, &c.db_rid, &c.coll_rid);
            Ok(ok(StatusCode::OK, v.clone(), &etag_header(&v)))
        }
        Op::DeleteItem { db, coll, id } => {
            let Some(c) = container(core, account, &db, &coll)? else {
                return Err(not_found());
            };
            if core.item_delete(account, &c.docs, &id, if_match.as_deref())? {
                Ok(strip_body(ok(StatusCode::NO_CONTENT, Value::Null, &[])))
            } else {
                Err(not_found())
            }
        }
    }
}

/// The `_rid` of a database, `None` when it does not exist.
fn database_rid(core: &Keyrotor, account: &Account, db: &str) -> Result<Option<String>, CoreError> {
    Ok(core.item(account, "dbs", db)?.map(|i| rid_of(&i)))
}

/// An existing container: its parent's and its own `_rid`, its timestamp
/// and the collection name of its items.
struct Container {
    db_rid: String,
    coll_rid: String,
    ts: i64,
    docs: String,
}

fn container(
    core: &Keyrotor,
    account: &Account,
    db: &str,
    coll: &str,
) -> Result<Option<Container>, CoreError> {
    let Some(db_rid) = database_rid(core, account, db)? else {
        return Ok(None);
    };
    let Some(c) = core.item(account, &format!("dbs/{db}/colls"), coll)? else {
        return Ok(None);
    };
    Ok(Some(Container {
        db_rid,
        coll_rid: rid_of(&c),
        ts: c.ts,
        docs: format!("dbs/{db}/colls/{coll}/docs"),
    }))
}

/// The documents of a container that `keep` selects, as a feed.
fn documents(
    core: &Keyrotor,
    account: &Account,
    c: &Container,
    keep: impl Fn(&Value) -> bool,
) -> Result<Response, CosmosError> {
    let list: Vec<Value> = core
        .items(account, &c.docs)?
        .iter()
        .map(|i| render_doc(i, &c.db_rid, &c.coll_rid))
        .filter(|d| keep(d))
        .collect();
    let n = list.len();
    Ok(ok(
        StatusCode::OK,
        json!({ "_rid": c.coll_rid, "Documents": list, "_count": n }),
        &[("x-ms-item-count", n.to_string())],
    ))
}

/// Creates an item, or upserts it (`upsert` carries the upsert's `If-Match`).
fn put_item(
    core: &Keyrotor,
    account: &Account,
    db: &str,
    coll: &str,
    body: &[u8],
    upsert: Option<Option<String>>,
) -> Result<Response, CosmosError> {
    let Some(c) = container(core, account, db, coll)? else {
        return Err(not_found());
    };
    let (mut m, id) = named_body(body, "document")?;
    let existing = core.item(account, &c.docs, &id)?;
    let coll_rid_bytes = base64::engine::general_purpose::STANDARD
        .decode(&c.coll_rid)
        .unwrap_or_default();
    let doc_rid = existing
        .as_ref()
        .map(rid_of)
        .unwrap_or_else(|| rid(random_u32(), &coll_rid_bytes));
    for k in ["_rid", "_self", "_etag", "_ts", "_attachments"] {
        m.remove(k);
    }
    m.insert("_rid".into(), json!(doc_rid));
    let is_upsert = upsert.is_some();
    let mode = match upsert {
        Some(if_match) => PutMode::Upsert { if_match },
        None => PutMode::Create,
    };
    let item = core.item_put(account, &c.docs, &id, &Value::Object(m).to_string(), &mode)?;
    let v = render_doc(&item, &c.db_rid, &c.coll_rid);
    let status = if is_upsert && existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(ok(status, v.clone(), &etag_header(&v)))
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
