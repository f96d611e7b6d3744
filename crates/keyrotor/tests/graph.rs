//! The Microsoft Graph subset (service principals by id and by `$filter`,
//! `directoryObjects/getByIds`) against the real binary over HTTPS: Graph
//! tokens only (ARM's are refused there, Graph's by ARM), the JSON shapes
//! az reads, Graph's error shape for unknown ids, bad filters and
//! everything not served (501), and a deleted principal's token reading
//! nothing.

mod common;

use common::{api, scratch, sign_in, sign_in_for, Api, Server};
use serde_json::{json, Value};

/// A Graph call as `token` (none when empty): status and body.
async fn graph(
    a: &Api,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut r = a.http.request(
        method,
        format!("{}/graph{path}", a.base.trim_end_matches('/')),
    );
    if !token.is_empty() {
        r = r.bearer_auth(token);
    }
    r = match body {
        Some(b) => r.json(&b),
        None => r.header("content-length", "0"),
    };
    let resp = r.send().await.expect("Graph request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.json().await.unwrap_or(Value::Null), headers)
}

/// Graph's error envelope with `code`, a message and the request ids.
fn assert_graph_error(status: u16, v: &Value, want_status: u16, code: &str) {
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (want_status, Some(code)),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    assert!(
        v["error"]["innerError"]["request-id"].as_str().is_some(),
        "{v}"
    );
    assert!(v["error"]["innerError"]["date"].as_str().is_some(), "{v}");
}

#[test]
fn graph_serves_service_principals_to_graph_tokens_only() {
    let (_tmp, dir, port) = scratch();
    let server = Server::start(&dir, port);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let b = server.bootstrap();
    let s = |k: &str| b[k].as_str().expect("bootstrap field").to_string();
    rt.block_on(async {
        let a = api(&server).await;
        let base = a.base.trim_end_matches('/').to_string();

        // The metadata names the Graph resource; az asks for `{resource}/.default`.
        let meta: Value = a.http.get(format!("{base}/metadata/endpoints?api-version=2022-09-01"))
            .send().await.expect("metadata").json().await.expect("JSON");
        let resource = meta["microsoftGraphResourceId"].as_str().expect("Graph resource").to_string();
        assert_eq!(resource, format!("{base}/graph/"));
        let admin_graph = sign_in_for(&a.http, &b, &s("clientId"), &s("clientSecret"), &format!("{resource}/.default"))
            .await.expect("a token for the Graph resource");

        // A principal to look up.
        let sp_path = format!("{base}/providers/Keyrotor.Identity/servicePrincipals?api-version=2025-06-01");
        let created: Value = a.http.post(&sp_path).bearer_auth(&a.token).json(&json!({"displayName": "graph-app"}))
            .send().await.expect("create").json().await.expect("JSON");
        let app = created["clientId"].as_str().expect("clientId").to_string();
        let secret = created["secret"]["value"].as_str().expect("secret").to_string();
        // Any principal of the tenant reads the directory, with no role.
        let app_graph = sign_in_for(&a.http, &b, &app, &secret, &format!("{resource}/.default")).await.expect("app's Graph token");

        // Authentication first, in Graph's shape: none, ARM's, a bad one.
        let list = "/v1.0/servicePrincipals";
        let (st, v, h) = graph(&a, "", reqwest::Method::GET, list, None).await;
        assert_graph_error(st, &v, 401, "InvalidAuthenticationToken");
        assert!(h.get("request-id").is_some() && h.get("www-authenticate").is_some());
        let (st, v, _) = graph(&a, &a.token, reqwest::Method::GET, list, None).await;
        assert_graph_error(st, &v, 401, "InvalidAuthenticationToken");
        let (st, v, _) = graph(&a, "not-a-jwt", reqwest::Method::GET, "/v1.0/users", None).await;
        assert_graph_error(st, &v, 401, "InvalidAuthenticationToken");
        // ...and ARM refuses Graph's tokens.
        let arm = a.http.get(format!("{base}/subscriptions?api-version=2022-12-01")).bearer_auth(&admin_graph)
            .send().await.expect("ARM");
        assert_eq!(arm.status().as_u16(), 401);
        // Azure's Graph audience is issued and accepted too.
        let azure_graph = sign_in_for(&a.http, &b, &app, &secret, "https://graph.microsoft.com/.default").await.expect("graph.microsoft.com token");
        assert_eq!(graph(&a, &azure_graph, reqwest::Method::GET, list, None).await.0, 200);

        // What az sends to resolve `--assignee <appId>` and for `az ad sp show`.
        let filter = format!("/v1.0/servicePrincipals?$filter=servicePrincipalNames%2Fany%28c%3Ac%20eq%20%27{app}%27%29");
        let (st, v, h) = graph(&a, &app_graph, reqwest::Method::GET, &filter, None).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(h.get("odata-version").and_then(|x| x.to_str().ok()), Some("4.0"));
        assert_eq!(v["@odata.context"], format!("{base}/graph/v1.0/$metadata#servicePrincipals"));
        let found = v["value"].as_array().expect("value");
        assert_eq!(found.len(), 1, "{v}");
        let sp = &found[0];
        assert_eq!((sp["id"].as_str(), sp["appId"].as_str()), (Some(app.as_str()), Some(app.as_str())));
        assert_eq!(sp["displayName"], "graph-app");
        assert_eq!(sp["servicePrincipalNames"], json!([app]));
        assert_eq!(sp["servicePrincipalType"], "Application");
        assert_eq!(sp["appOwnerOrganizationId"], s("tenantId"));
        assert_eq!(sp["accountEnabled"], true);
        assert!(sp.get("passwordCredentials").is_none() && !v.to_string().contains(&secret));
        for (f, n) in [
            (format!("appId%20eq%20%27{}%27", app.to_uppercase()), 1),
            (format!("id eq '{app}'"), 1),
            ("displayName eq 'GRAPH-APP'".to_string(), 1),
            ("startswith(displayName,'graph-')".to_string(), 1),
            ("displayName eq 'nobody'".to_string(), 0),
            ("appId eq 'not-a-guid'".to_string(), 0),
        ] {
            let (st, v, _) = graph(&a, &app_graph, reqwest::Method::GET, &format!("{list}?$filter={f}"), None).await;
            assert_eq!((st, v["value"].as_array().map(Vec::len)), (200, Some(n)), "{f}: {v}");
        }
        let (st, v, _) = graph(&a, &app_graph, reqwest::Method::GET, list, None).await;
        assert_eq!(st, 200);
        let ids: Vec<&str> = v["value"].as_array().expect("value").iter().filter_map(|p| p["id"].as_str()).collect();
        assert!(ids.contains(&app.as_str()) && ids.contains(&s("clientId").as_str()), "{v}");

        // By object id, in any case.
        let (st, v, _) = graph(&a, &app_graph, reqwest::Method::GET, &format!("{list}/{}", app.to_uppercase()), None).await;
        assert_eq!((st, v["id"].as_str()), (200, Some(app.as_str())), "{v}");
        assert_eq!(v["@odata.context"], format!("{base}/graph/v1.0/$metadata#servicePrincipals/$entity"));
        let (st, v, _) = graph(&a, &app_graph, reqwest::Method::GET, &format!("/v1.0/directoryObjects/{app}"), None).await;
        assert_eq!((st, v["@odata.type"].as_str()), (200, Some("#microsoft.graph.servicePrincipal")), "{v}");
        let unknown = "0f8fad5b-d9cb-469f-a165-70867728950e";
        let (st, v, _) = graph(&a, &app_graph, reqwest::Method::GET, &format!("{list}/{unknown}"), None).await;
        assert_graph_error(st, &v, 404, "Request_ResourceNotFound");
        assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains(unknown)), "{v}");
        let (st, v, _) = graph(&a, &app_graph, reqwest::Method::GET, &format!("{list}/not-a-guid"), None).await;
        assert_graph_error(st, &v, 400, "Request_BadRequest");

        // getByIds, as `az role assignment list` sends it: unknown ids are left out.
        let by_ids = "/v1.0/directoryObjects/getByIds";
        let body = json!({"ids": [app, s("clientId"), unknown], "types": ["user", "group", "servicePrincipal", "directoryObjectPartnerReference"]});
        let (st, v, _) = graph(&a, &app_graph, reqwest::Method::POST, by_ids, Some(body)).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["@odata.context"], format!("{base}/graph/v1.0/$metadata#directoryObjects"));
        let got: Vec<(&str, &str)> = v["value"].as_array().expect("value").iter()
            .map(|o| (o["id"].as_str().unwrap_or_default(), o["@odata.type"].as_str().unwrap_or_default())).collect();
        assert_eq!(got, [(app.as_str(), "#microsoft.graph.servicePrincipal"), (s("clientId").as_str(), "#microsoft.graph.servicePrincipal")]);
        let (st, v, _) = graph(&a, &app_graph, reqwest::Method::POST, by_ids, Some(json!({"ids": [app], "types": ["user"]}))).await;
        assert_eq!((st, v["value"].as_array().map(Vec::len)), (200, Some(0)), "{v}");
        for bad in [json!({"ids": ["x"]}), json!({"ids": [app], "types": ["unicorn"]}), json!({"id": [app]}), json!({"ids": vec![unknown; 1001]})] {
            let (st, v, _) = graph(&a, &app_graph, reqwest::Method::POST, by_ids, Some(bad.clone())).await;
            assert_eq!(st, 400, "{bad}: {v}");
            assert!(v["error"]["code"].as_str().is_some_and(|c| c.contains("BadRequest")), "{v}");
        }

        // Filters: unreadable is 400, anything beyond the served forms 501.
        let (st, v, _) = graph(&a, &app_graph, reqwest::Method::GET, &format!("{list}?$filter=appId%20eq%20%27x"), None).await;
        assert_graph_error(st, &v, 400, "BadRequest");
        for path in [
            format!("{list}?$filter=appId%20ne%20%27{app}%27"),
            format!("{list}?$filter=appId%20eq%20%27{app}%27%20or%20true"),
            format!("{list}?$select=id"),
            "/v1.0/users".to_string(),
            "/v1.0/me".to_string(),
            "/v1.0/applications".to_string(),
            format!("{list}/{app}/owners"),
            "/beta/servicePrincipals".to_string(),
        ] {
            let (st, v, _) = graph(&a, &app_graph, reqwest::Method::GET, &path, None).await;
            assert_graph_error(st, &v, 501, "NotImplemented");
        }
        for m in [reqwest::Method::POST, reqwest::Method::PATCH, reqwest::Method::DELETE] {
            let (st, v, _) = graph(&a, &app_graph, m.clone(), &format!("{list}/{app}"), Some(json!({}))).await;
            assert_graph_error(st, &v, 501, "NotImplemented");
        }
        let (st, v, _) = graph(&a, &app_graph, reqwest::Method::GET, "/v9/servicePrincipals", None).await;
        assert_graph_error(st, &v, 400, "BadRequest");
        // A refusal changed nothing: the principal is still there.
        let (st, _, _) = graph(&a, &app_graph, reqwest::Method::GET, &format!("{list}/{app}"), None).await;
        assert_eq!(st, 200);

        // A deleted principal's unexpired Graph token reads nothing.
        let del = a.http.delete(format!("{base}/providers/Keyrotor.Identity/servicePrincipals/{app}?api-version=2025-06-01"))
            .bearer_auth(&a.token).send().await.expect("delete");
        assert!(del.status().is_success(), "{}", del.status());
        let (st, v, _) = graph(&a, &app_graph, reqwest::Method::GET, list, None).await;
        assert_graph_error(st, &v, 403, "Authorization_RequestDenied");
        let (st, v, _) = graph(&a, &admin_graph, reqwest::Method::GET, &format!("{list}/{app}"), None).await;
        assert_graph_error(st, &v, 404, "Request_ResourceNotFound");
        assert!(sign_in(&a.http, &b, &app, &secret).await.is_err());
    });
    assert!(!server.log().contains("panicked"), "{}", server.log());
}
