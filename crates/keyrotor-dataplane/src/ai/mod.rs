//! AI Services / AI Foundry data plane: `api-key` or
//! `Ocp-Apim-Subscription-Key` authentication in front of an upstream HTTP
//! API set on the account (`properties.upstreamUrl`). The credential header
//! is stripped before forwarding; bodies stream both ways.

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, Request};
use keyrotor_auth::AuthError;
use keyrotor_types::KeySlot;

use crate::pipeline::{Credential, Next, Refusal};
use crate::{DataPlane, Target};

mod error;
pub(crate) use error::AiError;

/// Request headers never forwarded upstream (COMPATIBILITY.md lists them):
/// - the credentials (`api-key`, `Ocp-Apim-Subscription-Key`, `Authorization`);
/// - `Host` (the upstream's own is sent) and the hop-by-hop headers of
///   RFC 9110 §7.6.1, plus any header the request's `Connection` names;
/// - method overrides (`X-HTTP-Method-Override`, `X-HTTP-Method`,
///   `X-Method-Override`): an upstream honouring one would run another method
///   than the one authorized (a reader's GET as a POST);
/// - the client's forwarding and rewriting headers (`Forwarded`,
///   `X-Forwarded-*`, `X-Original-*`, `X-Rewrite-URL`, `X-Real-IP`,
///   `X-Host`, `X-Client-IP`): the upstream would take them for keyrotor's,
///   and some frameworks route on them (`X-Original-URL` in Symfony and IIS
///   URL Rewrite) instead of the request line; keyrotor sets
///   `X-Forwarded-For` to the client's address itself.
const STRIPPED_PREFIXES: [&str; 2] = ["x-forwarded-", "x-original-"];

const STRIPPED: [&str; 15] = [
    "api-key",
    "ocp-apim-subscription-key",
    "authorization",
    "host",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "forwarded",
    "x-rewrite-url",
    "x-real-ip",
    "x-host",
    "x-client-ip",
    "x-proxyuser-ip",
    "true-client-ip",
    "client-ip",
];

/// Hop-by-hop headers (RFC 9110 §7.6.1), never relayed either way: each
/// connection is keyrotor's own.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Header names listed in `Connection` (hop-by-hop by declaration).
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect()
}

fn forwardable(headers: &HeaderMap) -> HeaderMap {
    let listed = connection_listed(headers);
    let mut out = HeaderMap::new();
    for (k, v) in headers {
        let name = k.as_str();
        let stripped = STRIPPED.contains(&name)
            || HOP_BY_HOP.contains(&name)
            || STRIPPED_PREFIXES.iter().any(|p| name.starts_with(p))
            || listed.iter().any(|l| l == name);
        if !stripped {
            out.append(k.clone(), v.clone());
        }
    }
    out
}

/// Why a request path cannot be forwarded below the upstream's base path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathRefusal {
    DotSegment,
    EncodedSeparator,
    Backslash,
}

impl PathRefusal {
    fn message(self) -> &'static str {
        match self {
            PathRefusal::DotSegment => "The request path contains a '.' or '..' segment; keyrotor forwards paths below the account's upstream base only and resolves no dot segments.",
            PathRefusal::EncodedSeparator => "The request path contains an encoded '.', '/', '\\' or '%' (%2E, %2F, %5C, %25); keyrotor refuses them rather than guess how the upstream decodes them.",
            PathRefusal::Backslash => "The request path contains a backslash, which some servers take for '/'.",
        }
    }
}

/// Checks the path below the account root before it is appended to the
/// upstream's base path: no segment an upstream could resolve upwards after
/// any decoding or normalisation it may apply. Dot segments (also with a
/// `;` parameter, as servlet containers read `..;`), encoded dots, slashes,
/// backslashes and percent signs (a second decoding would make any of them),
/// and raw backslashes (WHATWG URL parsers treat them as `/`) are refused.
fn check_forwarded_path(rest: &str) -> Result<(), PathRefusal> {
    for seg in rest.split('/') {
        if seg.contains('\\') {
            return Err(PathRefusal::Backslash);
        }
        let b = seg.as_bytes();
        let escaped = b.windows(3).any(|w| {
            w[0] == b'%'
                && matches!(
                    (w[1].to_ascii_lowercase(), w[2].to_ascii_lowercase()),
                    (b'2', b'e' | b'f') | (b'5', b'c') | (b'2', b'5')
                )
        });
        if escaped {
            return Err(PathRefusal::EncodedSeparator);
        }
        let name = seg.split(';').next().unwrap_or(seg);
        if name == "." || name == ".." {
            return Err(PathRefusal::DotSegment);
        }
    }
    Ok(())
}

/// The upstream URL of a request: the upstream's base path and the checked
/// rest, verified once more after the URL parser's own normalisation to
/// name the upstream's host and a path below its base.
fn upstream_url(upstream: &str, rest: &str, query: Option<&str>) -> Option<reqwest::Url> {
    let base = reqwest::Url::parse(upstream).ok()?;
    let path = if rest == "/" { "" } else { rest };
    let joined = match query {
        Some(q) => format!("{upstream}{path}?{q}"),
        None => format!("{upstream}{path}"),
    };
    let url = reqwest::Url::parse(&joined).ok()?;
    let base_path = base.path().trim_end_matches('/');
    let p = url.path();
    let below = p == base_path
        || p.strip_prefix(base_path)
            .is_some_and(|r| r.starts_with('/') || base_path.is_empty());
    let same_origin = url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default();
    (below && same_origin).then_some(url)
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

/// The AI Services data plane's part in the request pipeline.
pub(crate) struct Ai;

/// Every header this handler reads, in one pass over the request's.
static NAMES: [&http::HeaderName; 4] = [
    &keyrotor_auth::api_key::API_KEY,
    &keyrotor_auth::api_key::SUBSCRIPTION_KEY,
    &keyrotor_auth::AUTHORIZATION,
    &keyrotor_auth::USER_AGENT,
];
/// Positions in [`NAMES`].
mod h {
    pub const API_KEY: usize = 0;
    pub const SUBSCRIPTION_KEY: usize = 1;
    pub const AUTHORIZATION: usize = 2;
    pub const USER_AGENT: usize = 3;
}

/// An AI request as read: its method (which decides its data action) and
/// its credential.
pub(crate) struct Presented<'r> {
    method: &'r http::Method,
    scan: keyrotor_auth::HeaderScan<'r, 4>,
}

impl crate::pipeline::Service for Ai {
    type Error = AiError;
    type Presented<'r> = Presented<'r>;
    /// The upstream base URL.
    type Op = String;

    fn refuse(t: &Target, req: &Request<Body>, why: Refusal) -> AiError {
        match why {
            Refusal::NoAccount => AiError::NotFound,
            Refusal::Core(e) => AiError::Core(e),
            Refusal::Token(why) => AiError::InvalidToken(why),
            Refusal::NotAuthorized {
                principal,
                action,
                scope,
            } => AiError::NotAuthorized {
                principal,
                action,
                method: req.method().clone(),
                path: t.rest().to_string(),
                scope,
            },
            Refusal::LocalAuthDisabled => AiError::LocalAuthDisabled,
            Refusal::RestoredStateRequiresRotation => AiError::RestoredStateRequiresRotation,
        }
    }

    fn present<'r>(_t: &'r Target, req: &'r Request<Body>) -> Result<Presented<'r>, AiError> {
        Ok(Presented {
            method: req.method(),
            scan: keyrotor_auth::HeaderScan::new(req.headers(), &NAMES),
        })
    }

    async fn serve(
        dp: &Arc<DataPlane>,
        entry: Arc<crate::Entry>,
        t: Target,
        upstream: String,
        req: Request<Body>,
    ) -> Response {
        match proxy(dp, &entry, &t, req, &upstream).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        }
    }
}

impl crate::pipeline::Presented for Presented<'_> {
    type Error = AiError;
    type Op = String;

    fn credential(&self) -> Credential<'_> {
        // A bearer token counts only without a key header.
        match self
            .scan
            .first(h::AUTHORIZATION)
            .and_then(|v| v.strip_prefix("Bearer "))
            .filter(|_| !self.scan.present(h::API_KEY) && !self.scan.present(h::SUBSCRIPTION_KEY))
        {
            Some(token) => Credential::Bearer(token.trim()),
            None => Credential::Key,
        }
    }

    fn data_action(&self) -> Cow<'static, str> {
        Cow::Borrowed(data_action(self.method))
    }

    fn verify_key(&self, entry: &crate::Entry, _now: i64) -> Result<KeySlot, AiError> {
        let presented = self
            .scan
            .single(h::API_KEY)
            .and_then(|api_key| Ok((api_key, self.scan.single(h::SUBSCRIPTION_KEY)?)));
        match presented.and_then(|(api_key, subscription_key)| {
            keyrotor_auth::api_key::verify_presented(api_key, subscription_key, &entry.keys)
        }) {
            Ok(v) => Ok(v.slot),
            Err(AuthError::Missing) => Err(AiError::MissingKey),
            Err(_) => Err(AiError::InvalidKey),
        }
    }

    fn user_agent(&self) -> &str {
        self.scan.first(h::USER_AGENT).unwrap_or("")
    }

    fn finish(self, entry: &crate::Entry, t: &Target) -> Result<Next<String>, AiError> {
        check_forwarded_path(t.rest()).map_err(AiError::Path)?;
        match entry.account.settings.upstream.as_deref() {
            Some(upstream) => Ok(Next::Serve(upstream.to_string())),
            None => Err(AiError::NotFound),
        }
    }
}

/// Forwards an authenticated request to the account's upstream and streams
/// the answer back.
async fn proxy(
    dp: &Arc<DataPlane>,
    entry: &crate::Entry,
    t: &Target,
    req: Request<Body>,
    upstream: &str,
) -> Result<Response, AiError> {
    let url = upstream_url(upstream, t.rest(), req.uri().query()).ok_or(AiError::OutsideBase)?;
    let (parts, body) = req.into_parts();
    let mut headers = forwardable(&parts.headers);
    if let Some(ip) = t.peer {
        if let Ok(v) = ip.ip().to_string().parse() {
            headers.insert(HeaderName::from_static("x-forwarded-for"), v);
        }
    }
    let client = dp.http.as_ref().ok_or(AiError::Unreachable)?;
    let upstream_req = client
        .request(parts.method, url)
        .headers(headers)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()));
    let resp = upstream_req.send().await.map_err(|e| {
        tracing::warn!(account = %entry.account.name, error = %e, "upstream request failed");
        AiError::Unreachable
    })?;
    let mut out = Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        if !HOP_BY_HOP.contains(&k.as_str()) && k != http::header::CONTENT_LENGTH {
            out = out.header(k, v);
        }
    }
    out.body(Body::from_stream(resp.bytes_stream()))
        .map_err(|_| AiError::NotRelayed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_could_leave_the_base_are_refused() {
        for p in [
            "/../secret",
            "/a/../../secret",
            "/%2e%2e/secret",
            "/.%2e/secret",
            "/%2E%2E/secret",
            "/a/%2e/b",
            "/./x",
            "/..;/secret",
            "/a/..",
            "/a%2fb",
            "/a%2F..%2Fsecret",
            "/a%5c..%5csecret",
            "/%252e%252e/secret",
            "/a\\..\\secret",
        ] {
            assert!(check_forwarded_path(p).is_err(), "{p}");
        }
        for p in [
            "/",
            "/openai/deployments/gpt/chat/completions",
            "/v1/models",
            "/a.b/c..d/...",
            "/a%20b",
            "/.well-known/x",
        ] {
            assert_eq!(check_forwarded_path(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn upstream_urls_stay_below_the_base() {
        let u = |up: &str, rest: &str| upstream_url(up, rest, None).map(|u| u.to_string());
        assert_eq!(
            u("http://h:9/base", "/x/y").as_deref(),
            Some("http://h:9/base/x/y")
        );
        assert_eq!(
            u("http://h:9/base", "/").as_deref(),
            Some("http://h:9/base")
        );
        assert_eq!(u("http://h:9", "/x").as_deref(), Some("http://h:9/x"));
        // What the checks above refuse, the URL check refuses again.
        assert_eq!(u("http://h:9/base", "/../secret"), None);
        assert_eq!(u("http://h:9/base", "/%2e%2e/secret"), None);
        assert_eq!(u("http://h:9/base", "/a\\..\\..\\secret"), None);
        assert_eq!(u("http://h:9/base", "x"), None, "base/x is not below /base");
    }

    #[test]
    fn method_overrides_credentials_and_forwarding_headers_are_stripped() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("x-http-method-override", "POST"),
            ("X-HTTP-Method", "DELETE"),
            ("x-method-override", "PUT"),
            ("api-key", "k"),
            ("authorization", "Bearer t"),
            ("x-forwarded-host", "evil"),
            ("x-forwarded-prefix", "/other"),
            ("x-original-url", "/secret"),
            ("x-rewrite-url", "/secret"),
            ("forwarded", "for=1.2.3.4"),
            ("connection", "keep-alive, X-Secret-Hop"),
            ("x-secret-hop", "1"),
            ("content-type", "application/json"),
            ("x-ms-client-request-id", "abc"),
        ] {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.parse().expect("value"),
            );
        }
        let out = forwardable(&h);
        let names: Vec<&str> = out.keys().map(http::HeaderName::as_str).collect();
        assert_eq!(names, ["content-type", "x-ms-client-request-id"]);
    }
}
