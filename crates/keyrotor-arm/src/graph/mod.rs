//! The Microsoft Graph subset that `az role assignment` and `az ad sp show`
//! need, served at `{url}/graph/v1.0/…` (the `microsoftGraphResourceId`
//! of `/metadata/endpoints` is `{url}/graph/`): service principals by
//! object id and by `$filter`, `directoryObjects/{id}` and
//! `directoryObjects/getByIds`. Every other Graph request answers 501 in
//! Graph's error shape.
//!
//! Flow: bearer token for a Graph audience (never ARM's) → route → query
//! options → the core's directory lookups (who may read, how principals are
//! found) on the blocking pool → Graph JSON (`wire`). Errors: one table
//! (`error`).

mod error;
pub(crate) mod filter;
pub mod wire;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use keyrotor_core::directory::{DirectoryPrincipal, PrincipalQuery};
use keyrotor_core::Actor;

use crate::error::ArmError;
use crate::state::ArmState;
use error::GraphError;
use wire::{Collection, Entity, GetByIds, ServicePrincipal, SERVICE_PRINCIPAL_TYPE};

/// Where Graph is mounted below the service's URL.
pub const PREFIX: &str = "/graph";

/// The Graph version served.
const VERSION: &str = "v1.0";

/// What a Graph request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum GraphOp {
    ListServicePrincipals,
    GetServicePrincipal(String),
    GetDirectoryObject(String),
    GetByIds,
}

/// Routes the path below `/graph` (method and segments).
fn route(method: &Method, rest: &str) -> Result<GraphOp, GraphError> {
    let mut segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    if segments.len() > 1 && segments.last() == Some(&"") {
        segments.pop();
    }
    let (version, path) = segments.split_first().unwrap_or((&"", &[]));
    match *version {
        VERSION => {}
        "beta" => {
            return Err(GraphError::NotImplemented(
                "keyrotor serves Microsoft Graph v1.0 only, not beta.".into(),
            ))
        }
        other => {
            return Err(GraphError::BadVersion(
                other.chars().take(40).collect::<String>(),
            ))
        }
    }
    let is = |s: &str, name: &str| s.eq_ignore_ascii_case(name);
    let op = match path {
        [sp] if is(sp, "servicePrincipals") && method == Method::GET => {
            Some(GraphOp::ListServicePrincipals)
        }
        [sp, id] if is(sp, "servicePrincipals") && method == Method::GET => {
            Some(GraphOp::GetServicePrincipal((*id).to_string()))
        }
        [d, g] if is(d, "directoryObjects") && is(g, "getByIds") && method == Method::POST => {
            Some(GraphOp::GetByIds)
        }
        [d, id] if is(d, "directoryObjects") && method == Method::GET => {
            Some(GraphOp::GetDirectoryObject((*id).to_string()))
        }
        _ => None,
    };
    op.ok_or_else(|| {
        GraphError::NotImplemented(format!(
            "keyrotor does not implement '{method} /{VERSION}/{}' of Microsoft Graph. Served: GET /servicePrincipals[?$filter=…], GET /servicePrincipals/{{id}}, GET /directoryObjects/{{id}}, POST /directoryObjects/getByIds.",
            path.join("/").chars().take(120).collect::<String>()
        ))
    })
}

/// The OData system query options; the `$` is optional, as in Graph.
const SYSTEM_OPTIONS: [&str; 10] = [
    "filter",
    "select",
    "expand",
    "orderby",
    "top",
    "skip",
    "skiptoken",
    "count",
    "search",
    "format",
];

/// The `$filter` of a request (only the list takes one); any other system
/// query option is not implemented.
fn filter_option(op: &GraphOp, query: Option<&str>) -> Result<Option<String>, GraphError> {
    let mut filter = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let name = k.strip_prefix('$').unwrap_or(&k).to_ascii_lowercase();
        if !SYSTEM_OPTIONS.contains(&name.as_str()) {
            continue; // Graph ignores custom query parameters.
        }
        if name != "filter" || *op != GraphOp::ListServicePrincipals {
            return Err(GraphError::NotImplemented(format!(
                "keyrotor's Microsoft Graph does not implement the query option '${name}' here."
            )));
        }
        if filter.replace(v.into_owned()).is_some() {
            return Err(GraphError::BadRequest(
                "The query specified in the URI is not valid. Query option 'filter' was specified more than once.".into(),
            ));
        }
    }
    Ok(filter)
}

/// The directory object types `getByIds` knows (without the
/// `microsoft.graph.` prefix, compared case-insensitively).
const DIRECTORY_TYPES: [&str; 11] = [
    "directoryObject",
    "user",
    "group",
    "servicePrincipal",
    "application",
    "device",
    "orgContact",
    "directoryRole",
    "administrativeUnit",
    "contract",
    "directoryObjectPartnerReference",
];

/// Whether a `getByIds` body's `types` admits service principals (the
/// only objects keyrotor's directory holds); unknown types are refused.
fn wants_service_principals(types: Option<&[String]>) -> Result<bool, GraphError> {
    let Some(types) = types else {
        return Ok(true);
    };
    let mut wanted = false;
    for t in types {
        let bare = t
            .get(..16)
            .filter(|p| p.eq_ignore_ascii_case("microsoft.graph."))
            .map_or(t.as_str(), |_| &t[16..]);
        let Some(known) = DIRECTORY_TYPES
            .iter()
            .find(|k| k.eq_ignore_ascii_case(bare))
        else {
            return Err(GraphError::BadRequest(format!(
                "Invalid type '{}' in 'types'.",
                t.chars().take(64).collect::<String>()
            )));
        };
        wanted |= matches!(*known, "servicePrincipal" | "directoryObject");
    }
    Ok(wanted)
}

fn render(st: &ArmState, p: DirectoryPrincipal, typed: bool) -> ServicePrincipal {
    ServicePrincipal {
        odata_type: typed.then(|| SERVICE_PRINCIPAL_TYPE.to_string()),
        id: p.object_id,
        deleted_date_time: None,
        account_enabled: true,
        app_display_name: p.display_name.clone(),
        app_id: p.app_id,
        app_owner_organization_id: st.dir.tenant_id.clone(),
        created_date_time: crate::dto::rfc3339(p.created_at),
        display_name: p.display_name,
        service_principal_names: p.names,
        service_principal_type: "Application".into(),
        sign_in_audience: "AzureADMyOrg".into(),
        tags: Vec::new(),
    }
}

fn json<T: serde::Serialize>(body: &T) -> Response {
    // Through `Value`, as every answer: keys in sorted order.
    axum::Json(serde_json::to_value(body).unwrap_or_default()).into_response()
}

/// Runs one routed request against the core (blocking).
fn handle(
    st: &ArmState,
    actor: &Actor,
    op: GraphOp,
    filter: Option<&str>,
    body: &[u8],
) -> Result<Response, GraphError> {
    let context = |what: &str| format!("{}/{VERSION}/$metadata#{what}", st.endpoints.graph());
    match op {
        GraphOp::ListServicePrincipals => {
            let query = match filter {
                Some(f) => filter::parse(f)?,
                None => PrincipalQuery::All,
            };
            let found = st.core.find_principals(actor, &query)?;
            Ok(json(&Collection {
                context: context("servicePrincipals"),
                value: found.into_iter().map(|p| render(st, p, false)).collect(),
            }))
        }
        GraphOp::GetServicePrincipal(id) => {
            let p = st.core.directory_principal(actor, &id)?;
            Ok(json(&Entity {
                context: context("servicePrincipals/$entity"),
                value: render(st, p, false),
            }))
        }
        GraphOp::GetDirectoryObject(id) => {
            let p = st.core.directory_principal(actor, &id)?;
            Ok(json(&Entity {
                context: context("directoryObjects/$entity"),
                value: render(st, p, true),
            }))
        }
        GraphOp::GetByIds => {
            let req: GetByIds = serde_json::from_slice(body).map_err(|e| {
                GraphError::BadRequest(format!(
                    "The request body is not a valid getByIds request ({{\"ids\": [...], \"types\": [...]}}): {e}"
                ))
            })?;
            let wanted = wants_service_principals(req.types.as_deref())?;
            // Looked up either way: the ids and the caller's right to read
            // are checked whatever the types.
            let found = st.core.directory_objects_by_ids(actor, &req.ids)?;
            Ok(json(&Collection {
                context: context("directoryObjects"),
                value: found
                    .into_iter()
                    .filter(|_| wanted)
                    .map(|p| render(st, p, true))
                    .collect(),
            }))
        }
    }
}

/// Entry point for every request below `/graph`.
pub(crate) async fn dispatch(State(st): State<Arc<ArmState>>, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = req
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 100)
        .map_or_else(|| request_id.clone(), str::to_string);
    let mut resp = match dispatch_inner(st, req).await {
        Ok(r) => r,
        Err(e) => e.render(&request_id, &client_request_id),
    };
    let h = resp.headers_mut();
    for (name, value) in [
        ("request-id", request_id.as_str()),
        ("client-request-id", client_request_id.as_str()),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    }
    h.insert("odata-version", HeaderValue::from_static("4.0"));
    resp
}

async fn dispatch_inner(st: Arc<ArmState>, req: Request) -> Result<Response, GraphError> {
    let (parts, body) = req.into_parts();
    // Authenticate first: unauthenticated callers learn nothing about routes.
    let audiences = st.graph_audiences();
    let actor = st
        .authenticate_for(&parts, &audiences)
        .map_err(|e| match e {
            ArmError::MissingToken => GraphError::MissingToken,
            ArmError::InvalidToken(m) => GraphError::InvalidToken(m),
            other => GraphError::Internal(other.to_string()),
        })?;
    if crate::operation::has_dot_segment(parts.uri.path()) {
        return Err(GraphError::BadRequest(
            "The request URI has a '.' or '..' segment.".into(),
        ));
    }
    let rest = parts.uri.path().get(PREFIX.len()..).unwrap_or_default();
    let op = route(&parts.method, rest)?;
    let filter = filter_option(&op, parts.uri.query())?;
    let body = crate::dispatch::read_body(body, crate::MAX_BODY_BYTES)
        .await
        .map_err(|e| match e {
            ArmError::TooLarge(n) => GraphError::TooLarge(n),
            other => GraphError::BadRequest(other.to_string()),
        })?;
    tokio::task::spawn_blocking(move || {
        handle(&st, &Actor::new(actor), op, filter.as_deref(), &body)
    })
    .await
    .map_err(|e| GraphError::Internal(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    #[test]
    fn served_requests_are_routed_and_the_rest_is_501() {
        let get = Method::GET;
        assert_eq!(
            route(&get, "/v1.0/servicePrincipals").ok(),
            Some(GraphOp::ListServicePrincipals)
        );
        assert_eq!(
            route(&get, "/v1.0/serviceprincipals/").ok(),
            Some(GraphOp::ListServicePrincipals)
        );
        assert_eq!(
            route(&get, &format!("/v1.0/servicePrincipals/{ID}")).ok(),
            Some(GraphOp::GetServicePrincipal(ID.into()))
        );
        assert_eq!(
            route(&get, &format!("/v1.0/directoryObjects/{ID}")).ok(),
            Some(GraphOp::GetDirectoryObject(ID.into()))
        );
        assert_eq!(
            route(&Method::POST, "/v1.0/directoryObjects/getByIds").ok(),
            Some(GraphOp::GetByIds)
        );
        for (m, p) in [
            (Method::GET, "/v1.0/users"),
            (Method::GET, "/v1.0/me"),
            (Method::GET, "/v1.0/applications"),
            (Method::POST, "/v1.0/servicePrincipals"),
            (Method::PATCH, &*format!("/v1.0/servicePrincipals/{ID}")),
            (Method::DELETE, &*format!("/v1.0/servicePrincipals/{ID}")),
            (
                Method::GET,
                &*format!("/v1.0/servicePrincipals/{ID}/owners"),
            ),
            (Method::GET, "/v1.0"),
            (Method::GET, "/beta/servicePrincipals"),
        ] {
            let e = route(&m, p).expect_err("not served");
            assert_eq!(e.status_and_code().0.as_u16(), 501, "{m} {p}");
        }
        for p in [
            "",
            "/",
            "/v2.0/servicePrincipals",
            "/V1.0/servicePrincipals",
        ] {
            let e = route(&get, p).expect_err("no such version");
            assert_eq!(e.status_and_code().1, "BadRequest", "{p:?}");
        }
    }

    #[test]
    fn only_the_list_takes_a_filter_and_other_options_are_501() {
        let list = GraphOp::ListServicePrincipals;
        let get = GraphOp::GetServicePrincipal(ID.into());
        assert_eq!(filter_option(&list, None).ok(), Some(None));
        assert_eq!(
            filter_option(&list, Some("$filter=appId%20eq%20%27x%27&api-version=1")).ok(),
            Some(Some("appId eq 'x'".into()))
        );
        assert_eq!(
            filter_option(&list, Some("filter=id eq 'x'")).ok(),
            Some(Some("id eq 'x'".into()))
        );
        for (op, q) in [
            (&list, "$select=id"),
            (&list, "$top=5"),
            (&list, "$count=true"),
            (&get, "$filter=id eq 'x'"),
            (&get, "$select=appId"),
        ] {
            let e = filter_option(op, Some(q)).expect_err("not served");
            assert_eq!(e.status_and_code().0.as_u16(), 501, "{q}");
        }
        let twice = filter_option(&list, Some("$filter=a&$FILTER=b")).expect_err("twice");
        assert_eq!(twice.status_and_code().0.as_u16(), 400);
    }

    #[test]
    fn get_by_ids_types_are_checked() {
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(wants_service_principals(None).expect("no types"));
        let az = t(&[
            "user",
            "group",
            "servicePrincipal",
            "directoryObjectPartnerReference",
        ]);
        assert!(wants_service_principals(Some(&az)).expect("az's types"));
        assert!(
            wants_service_principals(Some(&t(&["microsoft.graph.SERVICEPRINCIPAL"])))
                .expect("prefixed")
        );
        assert!(!wants_service_principals(Some(&t(&["user", "group"]))).expect("users and groups"));
        assert!(wants_service_principals(Some(&t(&["user", "unicorn"]))).is_err());
    }

    #[test]
    fn a_service_principal_renders_as_graph_v1_0_does() {
        let sp = ServicePrincipal {
            odata_type: Some(SERVICE_PRINCIPAL_TYPE.into()),
            id: ID.into(),
            deleted_date_time: None,
            account_enabled: true,
            app_display_name: "billing".into(),
            app_id: ID.into(),
            app_owner_organization_id: "t".into(),
            created_date_time: "2026-12-08T00:00:00Z".into(),
            display_name: "billing".into(),
            service_principal_names: vec![ID.into()],
            service_principal_type: "Application".into(),
            sign_in_audience: "AzureADMyOrg".into(),
            tags: vec![],
        };
        let v = serde_json::to_value(Entity {
            context: "ctx".into(),
            value: sp.clone(),
        })
        .expect("json");
        assert_eq!(v["@odata.context"], "ctx");
        assert_eq!(v["@odata.type"], "#microsoft.graph.servicePrincipal");
        assert_eq!(v["servicePrincipalNames"][0], ID);
        assert_eq!(v["servicePrincipalType"], "Application");
        assert!(v["deletedDateTime"].is_null() && v.get("deletedDateTime").is_some());
        let untyped = ServicePrincipal {
            odata_type: None,
            ..sp
        };
        let v = serde_json::to_value(Collection {
            context: "c".into(),
            value: vec![untyped],
        })
        .expect("json");
        assert!(v["value"][0].get("@odata.type").is_none());
        assert_eq!(v["value"][0]["appId"], ID);
    }
}
