//! The token issuer's HTTP face, in Microsoft Entra ID shape: OIDC
//! discovery, JWKS and the OAuth2 client-credentials token endpoint.
//! Errors use the Entra OAuth error body (`error`, `error_description`,
//! `error_codes`, ...), not the ARM envelope.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use keyrotor_types::Secret;
use serde_json::json;

use crate::ArmState;

/// Access-token lifetime.
pub const TOKEN_LIFETIME_SECONDS: i64 = 3600;

fn oauth_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let now = time::OffsetDateTime::now_utc();
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description}"),
        "error_codes": [code],
        "timestamp": crate::dto::rfc3339(now),
        "trace_id": uuid::Uuid::new_v4().to_string(),
        "correlation_id": uuid::Uuid::new_v4().to_string(),
    });
    (status, Json(body)).into_response()
}

fn tenant_not_found(tenant: &str) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        90002,
        &format!(
            "Tenant '{}' not found.",
            tenant.chars().take(64).collect::<String>()
        ),
    )
}

pub async fn openid_configuration(
    State(st): State<Arc<ArmState>>,
    Path(tenant): Path<String>,
) -> Response {
    if !tenant.eq_ignore_ascii_case(&st.dir.tenant_id) {
        return tenant_not_found(&tenant);
    }
    let base = format!("{}/{}", st.endpoints.arm(), st.dir.tenant_id);
    Json(json!({
        "issuer": st.issuer_name(),
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "response_types_supported": ["token"],
        "grant_types_supported": ["client_credentials"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "scopes_supported": ["openid"],
        "tenant_region_scope": null,
        "cloud_instance_name": "keyrotor",
    }))
    .into_response()
}

pub async fn jwks(State(st): State<Arc<ArmState>>, Path(tenant): Path<String>) -> Response {
    if !tenant.eq_ignore_ascii_case(&st.dir.tenant_id) {
        return tenant_not_found(&tenant);
    }
    let issuer = st.issuer();
    Json(issuer.jwks()).into_response()
}

pub async fn authorize(Path(_tenant): Path<String>) -> Response {
    oauth_error(
        StatusCode::NOT_IMPLEMENTED,
        "unsupported_response_type",
        70000,
        "keyrotor issues tokens only through the client_credentials grant at the token endpoint.",
    )
}

/// Maps a requested scope to the audience of the token, if keyrotor serves it.
fn audience_for_scope(st: &ArmState, scope: &str) -> Option<String> {
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let resource_scopes: Vec<&str> = scopes
        .iter()
        .copied()
        .filter(|s| !matches!(*s, "openid" | "profile" | "offline_access"))
        .collect();
    let [one] = resource_scopes.as_slice() else {
        return None;
    };
    let resource = one.strip_suffix("/.default")?;
    st.issues_for(resource).then(|| resource.to_string())
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, Secret)> {
    use base64::Engine as _;
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let dec = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, Secret::new(dec(secret)?)))
}

pub async fn token(
    State(st): State<Arc<ArmState>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !tenant.eq_ignore_ascii_case(&st.dir.tenant_id) {
        return tenant_not_found(&tenant);
    }
    let mut grant = None;
    let mut client_id = None;
    let mut secret = None;
    let mut scope = None;
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "grant_type" => grant = Some(v.into_owned()),
            "client_id" => client_id = Some(v.into_owned()),
            "client_secret" => secret = Some(Secret::new(v.into_owned())),
            "scope" => scope = Some(v.into_owned()),
            _ => {}
        }
    }
    if let Some((id, s)) = basic_credentials(&headers) {
        client_id.get_or_insert(id);
        secret.get_or_insert(s);
    }
    match grant.as_deref() {
        Some("client_credentials") => {}
        Some(_) => return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type. keyrotor supports 'client_credentials'.",
        ),
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        }
    }
    let (Some(client_id), Some(secret)) = (client_id, secret) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the parameters 'client_id' and 'client_secret'.",
        );
    };
    let Some(scope) = scope else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        );
    };
    let Some(audience) = audience_for_scope(&st, &scope) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            500011,
            &format!(
                "The resource principal named '{}' was not found in the tenant. Request one scope ending in '/.default' for a resource keyrotor serves.",
                scope.chars().take(200).collect::<String>()
            ),
        );
    };
    let core = st.core.clone();
    let cid = client_id.clone();
    let auth = tokio::task::spawn_blocking(move || core.authenticate_client(&cid, &secret)).await;
    match auth {
        Ok(Ok(principal)) => {
            let issuer = st.issuer();
            match issuer.issue(
                &st.dir.tenant_id,
                &principal.client_id,
                &audience,
                st.core.now(),
                TOKEN_LIFETIME_SECONDS,
            ) {
                Ok((token, _exp)) => Json(json!({
                    "token_type": "Bearer",
                    "expires_in": TOKEN_LIFETIME_SECONDS - 1,
                    "ext_expires_in": TOKEN_LIFETIME_SECONDS - 1,
                    "access_token": token.expose(),
                }))
                .into_response(),
                Err(e) => {
                    tracing::error!(error = %e, "token signing failed");
                    oauth_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        50000,
                        "The token could not be issued.",
                    )
                }
            }
        }
        Ok(Err(keyrotor_core::Error::BadCredentials)) => {
            tracing::info!(client_id = %client_id.chars().take(64).collect::<String>(), "client authentication failed");
            oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                "Invalid client secret provided, or the application was not found in the directory.",
            )
        }
        // Only storage that did not answer is temporary (a retry may
        // work); anything else is the server's fault, said as such.
        Ok(Err(e @ keyrotor_core::Error::Unavailable(_))) => {
            tracing::error!(error = %e, "client authentication could not complete");
            oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                50001,
                "The service is temporarily unavailable.",
            )
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, source = ?std::error::Error::source(&e).map(ToString::to_string), "client authentication failed on the server");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                50000,
                "The token could not be issued.",
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "authentication task failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                50000,
                "The token could not be issued.",
            )
        }
    }
}
