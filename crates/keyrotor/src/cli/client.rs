//! One HTTP client for ARM and for a vault's data plane: a base URL and a
//! bearer token; each request names its api-version. Request building,
//! response reading and the mapping of an error status to the ARM / Key
//! Vault error (`(code) message`) exist here only.

use anyhow::{bail, Context, Result};
use keyrotor_arm::wire::error::ErrorResponse;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The service at `base` (ARM, or one vault's data plane), signed in.
pub(super) struct Api {
    http: reqwest::Client,
    base: String,
    token: zeroize::Zeroizing<String>,
}

/// An HTTP client builder as every connection uses it: rustls, a 60 s
/// timeout, and the CA certificate to trust if one is given.
pub(super) fn builder(ca_pem: Option<&[u8]>) -> Result<reqwest::ClientBuilder> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(std::time::Duration::from_secs(60));
    if let Some(pem) = ca_pem {
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(pem)?);
    }
    Ok(builder)
}

impl Api {
    pub(super) fn new(
        http: reqwest::Client,
        base: String,
        token: zeroize::Zeroizing<String>,
    ) -> Self {
        Api { http, base, token }
    }

    /// The base URL, without a trailing slash.
    pub(super) fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request and returns the status and the body: JSON, `null`
    /// when empty, or the text as a JSON string when it is not JSON.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        api: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("{}{path}{sep}api-version={api}", self.base);
        let mut req = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(self.token.as_str());
        req = match body {
            Some(b) => req.json(&b),
            None if method == Method::POST => req.header("content-length", "0"),
            None => req,
        };
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.base))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, value))
    }

    /// [`Api::call`], with a status other than 2xx as an error: `(code)
    /// message` from the ARM / Key Vault error body.
    pub(super) async fn ok(
        &self,
        method: Method,
        path: &str,
        api: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let (status, value) = self.call(method, path, api, body).await?;
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let error = ErrorResponse::deserialize(&value).ok().map(|e| e.error);
        let nonempty = |s: Option<String>, default: &str| {
            s.filter(|s| !s.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        let code = nonempty(error.as_ref().map(|e| e.code.clone()), "Error");
        let message = nonempty(error.map(|e| e.message), "no details");
        if code == "KeyInUse" {
            bail!("refusing: ({code}) {message}\nWith the CLI: `keyrotor keys usage` shows who still uses which key; --force overrides the check.")
        }
        bail!("({code}) {message}")
    }
}

impl Api {
    /// [`Api::ok`], with the answer read as `T`.
    pub(super) async fn ok_as<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        api: &str,
        body: Option<Value>,
    ) -> Result<T> {
        let value = self.ok(method, path, api, body).await?;
        serde_json::from_value(value).with_context(|| format!("unexpected answer from {path}"))
    }
}

/// A request body as JSON.
pub(super) fn body<T: Serialize>(body: &T) -> Result<Option<Value>> {
    Ok(Some(serde_json::to_value(body)?))
}

/// Percent-encodes one path segment (or query value).
pub(super) fn enc(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'(')
        .remove(b')');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}
