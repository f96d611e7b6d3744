//! AI Services / AI Foundry data plane: `api-key` or
//! `Ocp-Apim-Subscription-Key` authentication in front of an upstream HTTP
//! API set on the account (`properties.upstreamUrl`). The credential header
//! is stripped before forwarding; bodies stream both ways.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderName, Request, StatusCode};
use keyrotor_auth::AuthError;

use crate::{DataPlane, Target};

/// The AI Services error body: `{"error":{"code","message"}}`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    crate::code_message_error(status, code, message)
}

fn access_denied() -> Response {
    crate::fixed_code_message_error!(StatusCode::UNAUTHORIZED, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.")
}

/// Headers never forwarded upstream: credentials and hop-by-hop headers.
const STRIPPED: [&str; 12] = [
    "api-key",
    "ocp-apim-subscription-key",
    "authorization",
    "host",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn forwardable(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (k, v) in headers {
        if !STRIPPED.contains(&k.as_str()) {
            out.append(k.clone(), v.clone());
        }
    }
    out
}

/// The data action a proxied request needs: reads for safe methods, writes
/// for the rest (an inference POST is a write; see COMPATIBILITY.md).
pub fn data_action(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET | http::Method::HEAD | http::Method::OPTIONS => {
            "Microsoft.CognitiveServices/accounts/data/read"
        }
        _ => "Microsoft.CognitiveServices/accounts/data/write",
    }
}

pub async fn handle(dp: &Arc<DataPlane>, t: Target, req: Request<Body>) -> Response {
    let entry = match dp.entry(t.kind, t.account()).await {
        Ok(Some(e)) => e,
        Ok(None) => {
            return crate::fixed_code_message_error!(
                StatusCode::NOT_FOUND,
                "404",
                "Resource not found"
            )
        }
        Err(e) => {
            return crate::unavailable(&e, "503", |code, message| {
                error(StatusCode::SERVICE_UNAVAILABLE, code, message)
            })
        }
    };
    // Every header this handler reads, in one pass over the request's.
    static NAMES: [&http::HeaderName; 4] = [
        &keyrotor_auth::api_key::API_KEY,
        &keyrotor_auth::api_key::SUBSCRIPTION_KEY,
        &keyrotor_auth::AUTHORIZATION,
        &keyrotor_auth::USER_AGENT,
    ];
    let scan = keyrotor_auth::HeaderScan::new(req.headers(), &NAMES);
    // A bearer token counts only without a key header.
    let bearer = scan
        .first(2)
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|_| !scan.present(0) && !scan.present(1))
        .map(str::trim);
    match bearer {
        Some(token) => {
            let principal = match dp.verify_bearer(t.kind, t.account(), token) {
                Ok(p) => p,
                Err(why) => {
                    return error(
                        StatusCode::UNAUTHORIZED,
                        "401",
                        &format!("Access token validation failed: {why}."),
                    )
                }
            };
            let action = data_action(req.method());
            if !dp.authorize_data(&entry, &principal, action) {
                return error(
                    StatusCode::FORBIDDEN,
                    "PermissionDenied",
                    &format!(
                        "The principal '{principal}' lacks the required data action '{action}' to perform '{} {}' on '{}'.",
                        req.method(),
                        t.rest(),
                        DataPlane::scope_of(&entry)
                    ),
                );
            }
        }
        _ => {
            let presented = scan
                .single(0)
                .and_then(|api_key| Ok((api_key, scan.single(1)?)));
            let verified = match presented.and_then(|(api_key, subscription_key)| {
                keyrotor_auth::api_key::verify_presented(api_key, subscription_key, &entry.keys)
            }) {
                Ok(v) => v,
                Err(AuthError::Missing) => {
                    return crate::fixed_code_message_error!(StatusCode::UNAUTHORIZED, "401", "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.")
                }
                Err(_) => return access_denied(),
            };
            if !dp.admit(
                &entry,
                verified.slot,
                scan.first(3).unwrap_or(""),
                t.peer,
                dp.core().unix_now(),
            ) {
                return crate::fixed_code_message_error!(
                    StatusCode::UNAUTHORIZED,
                    "AuthenticationTypeDisabled",
                    "Key based authentication is disabled for this resource."
                );
            }
        }
    }
    let Some(upstream) = entry.account.settings.upstream.as_deref() else {
        return crate::fixed_code_message_error!(
            StatusCode::NOT_FOUND,
            "404",
            "Resource not found"
        );
    };
    // Boxed: the upstream request's future is large; the paths above should
    // not carry (and move) it.
    Box::pin(proxy(dp, &entry, &t, req, upstream)).await
}

/// Forwards an authenticated request to the account's upstream and streams
/// the answer back.
async fn proxy(
    dp: &Arc<DataPlane>,
    entry: &crate::Entry,
    t: &Target,
    req: Request<Body>,
    upstream: &str,
) -> Response {
    let path = if t.rest() == "/" { "" } else { t.rest() };
    let url = match req.uri().query() {
        Some(q) => format!("{upstream}{path}?{q}"),
        None => format!("{upstream}{path}"),
    };
    let (parts, body) = req.into_parts();
    let mut headers = forwardable(&parts.headers);
    if let Some(ip) = t.peer {
        if let Ok(v) = ip.ip().to_string().parse() {
            headers.insert(HeaderName::from_static("x-forwarded-for"), v);
        }
    }
    let upstream_req = dp
        .http
        .request(parts.method, &url)
        .headers(headers)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()));
    match upstream_req.send().await {
        Ok(resp) => {
            let mut out = Response::builder().status(resp.status());
            for (k, v) in resp.headers() {
                if !STRIPPED.contains(&k.as_str()) && k != http::header::CONTENT_LENGTH {
                    out = out.header(k, v);
                }
            }
            out.body(Body::from_stream(resp.bytes_stream()))
                .unwrap_or_else(|_| {
                    crate::fixed_code_message_error!(
                        StatusCode::BAD_GATEWAY,
                        "502",
                        "The upstream response could not be relayed."
                    )
                })
        }
        Err(e) => {
            tracing::warn!(account = %entry.account.name, error = %e, "upstream request failed");
            crate::fixed_code_message_error!(
                StatusCode::BAD_GATEWAY,
                "502",
                "The upstream service could not be reached."
            )
        }
    }
}
